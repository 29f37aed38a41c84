"""The append-only, hash-chained audit log.

Each event stores the SHA-256 of its predecessor, so editing, inserting or deleting a row breaks
the chain at that row; the database refuses UPDATE and DELETE outright (migration 0002), and signed
checkpoints pin the head so that cutting off the tail is detectable too.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, connections, models, transaction
from django.db.models import Max
from django.utils import timezone

from entente.security.keystore import keyring
from entente.security.models import AuditCheckpoint, AuditEvent

GENESIS = "0" * 64
_LOCK_KEY = 0x656E7465  # "ente": one advisory lock for the whole chain on PostgreSQL
_source: contextvars.ContextVar[str] = contextvars.ContextVar("audit_source", default="")
# Denials recorded inside the innermost ``audit.atomic()`` block (None outside any).
_denials: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar(
    "audit_denials", default=None)

_HASHED = ("seq", "at", "actor_id", "actor", "action", "object_type", "object_id", "allowed",
           "reason", "source", "detail")


@contextlib.contextmanager
def source(value: str) -> Iterator[None]:
    """Say where the actions in this block come from (a client address, ``cli``, ``demo``)."""
    token = _source.set(value)
    try:
        yield
    finally:
        _source.reset(token)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _micros(at: dt.datetime | str | int) -> int:
    """Microseconds since 1970 UTC, from whatever form the database gave: an integer (computed
    in SQL), SQLite's naive UTC text, or a datetime."""
    if isinstance(at, int):
        return at
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    return ((at if at.tzinfo else at.replace(tzinfo=dt.UTC)) - _EPOCH) // _MICROSECOND


def _fields(row: dict[str, Any]) -> list[Any]:
    """The hashed fields in fixed order; ``at`` as an integer, ``detail`` as its canonical text."""
    fields = [row[k] for k in _HASHED]
    fields[1] = _micros(row["at"])
    if not isinstance(fields[-1], str):
        fields[-1] = canonical_json(fields[-1])
    return fields


def _digest(prev_hash: str, fields: list[Any]) -> str:
    body = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _lock_chain() -> None:
    # SQLite needs nothing here: its transactions BEGIN IMMEDIATE (settings), which already
    # serialises writers between processes.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


@contextlib.contextmanager
def atomic() -> Iterator[None]:
    """``transaction.atomic()`` that never loses a denial.

    A service asks the kernel inside its transaction; when the answer is no it raises, and the
    rollback would take the audited denial with it. Here every denial recorded in the block is
    written again once the block has rolled back (into the enclosing block, if any, which keeps
    it the same way). Use this, not ``transaction.atomic()``, around any work that decides."""
    token = _denials.set([])
    try:
        with transaction.atomic():
            yield
    except BaseException:
        lost = _denials.get() or []
        _denials.reset(token)
        for event in lost:
            record(**event)
        raise
    _denials.reset(token)


def record(action: str, *, actor: Any = None, obj: models.Model | None = None,
           object_type: str = "", object_id: str = "", allowed: bool | None = None,
           reason: str = "", detail: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event. Runs in its own savepoint and, when called outside a transaction, commits
    at once — so a denial is on record even if the request that caused it then fails."""
    if obj is not None:
        object_type, object_id = obj._meta.label_lower, str(obj.pk)
    pending = _denials.get()
    if allowed is False and pending is not None:
        pending.append({"action": action, "actor": actor, "object_type": object_type,
                        "object_id": object_id, "allowed": allowed, "reason": reason,
                        "detail": {**(detail or {}), "rolled_back": True}})
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        seq = last["seq"] + 1 if last else 1
        prev = last["hash"] if last else GENESIS
        # Cut to the columns' sizes here, once: an over-long value (a 150-character username
        # typed at sign-in) must never make the audit write fail and the event be lost.
        row = {
            "seq": seq, "at": timezone.now(), "actor_id": getattr(actor, "pk", None),
            "actor": (getattr(actor, "username", "") or "")[:150], "action": action[:40],
            "object_type": object_type[:80], "object_id": str(object_id)[:80],
            "allowed": allowed, "reason": str(reason), "source": _source.get()[:80],
            "detail": canonical_json(detail or {}),
        }
        event = AuditEvent(prev_hash=prev, hash=_digest(prev, _fields(row)), **row)
        event.save(force_insert=True)
        if settings.AUDIT_CHECKPOINT_EVERY and seq % settings.AUDIT_CHECKPOINT_EVERY == 0:
            _write_checkpoint(seq, event.hash)
    return event


def _checkpoint_message(seq: int, head: str, at: dt.datetime) -> bytes:
    return f"entente-audit-checkpoint/v1\n{seq}\n{head}\n{at.astimezone(dt.UTC).isoformat()}".encode()


def _write_checkpoint(seq: int, head: str) -> AuditCheckpoint:
    ring = keyring()
    at = timezone.now()
    return AuditCheckpoint.objects.create(
        seq=seq, hash=head, at=at, signature=ring.sign(_checkpoint_message(seq, head, at)),
        public_key=ring.signing_public_key().public_bytes_raw().hex())


def checkpoint() -> AuditCheckpoint | None:
    """Sign the current head (run it from cron as well; record() also does every N events)."""
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        if last is None:
            return None
        existing = AuditCheckpoint.objects.filter(seq=last["seq"]).first()
        return existing or _write_checkpoint(last["seq"], last["hash"])


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    checkpoints: int
    broken_at: int | None = None
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.count} events, {self.checkpoints} signed checkpoints verified."
        return f"BROKEN at event {self.broken_at}: {self.problem}"


def _chain_rows(after: int, upto: int | None, batch: int = 20000) -> Iterator[tuple[Any, ...]]:
    """Events with ``after < seq <= upto`` in order, in keyset batches straight from the cursor:
    the ORM's per-row model machinery would cost more than the hashing itself."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    quoted = [connection.ops.quote_name(c) for c in (*_HASHED, "prev_hash", "hash")]
    # The timestamp is what makes the driver slow (a Python-level time-zone loader on
    # PostgreSQL, a Python converter on SQLite); have it as an integer or raw text instead.
    if connection.vendor == "postgresql":
        quoted[1] = "ROUND(EXTRACT(EPOCH FROM at) * 1000000)::bigint"
    else:
        quoted[1] = "at || ''"
    columns = ", ".join(quoted)
    # Only our own quoted identifiers are interpolated; the values are parameters.
    sql = (f"SELECT {columns} FROM {table} WHERE seq > %s AND seq <= %s "  # noqa: S608
           "ORDER BY seq LIMIT %s")
    last, end = after, upto if upto is not None else 2**62
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [last, end, batch])
            rows = cursor.fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]


@dataclass(frozen=True)
class _Walk:
    count: int
    broken_at: int | None = None
    problem: str = ""


def _walk(first: int, last: int | None, prev: str, checkpoints: dict[int, str]) -> _Walk:
    """Verify events first..last (to the end when ``last`` is None), starting from ``prev``."""
    expected_seq, count = first, 0
    for seq, at, *rest, prev_hash, stored_hash in _chain_rows(first - 1, last):
        if seq != expected_seq:
            return _Walk(count, expected_seq,
                         f"event {expected_seq} is missing (next present is {seq}).")
        if prev_hash != prev:
            return _Walk(count, seq, "its link to the previous event is broken.")
        if _digest(prev, [seq, _micros(at), *rest]) != stored_hash:
            return _Walk(count, seq, "its content does not match its hash.")
        if checkpoints.get(seq, stored_hash) != stored_hash:
            return _Walk(count, seq, "it differs from the signed checkpoint.")
        prev, expected_seq, count = stored_hash, seq + 1, count + 1
    if last is not None and expected_seq <= last:
        return _Walk(count, expected_seq, f"event {expected_seq} is missing.")
    return _Walk(count)


def _walk_in_child(args: tuple[int, int | None, str, dict[int, str]]) -> _Walk:
    return _walk(*args)


PARALLEL_MIN = 200_000


def _parallel_ok(head: int, workers: int, parallel_min: int) -> bool:
    # Each worker opens its own connection, so the data must be committed and reachable from
    # another process: not inside a transaction, not an in-memory SQLite database.
    in_memory = connection.vendor == "sqlite" and getattr(connection, "is_in_memory_db", bool)()
    return (workers > 1 and head >= parallel_min and not in_memory
            and not connection.in_atomic_block)


def verify(*, workers: int | None = None, parallel_min: int = PARALLEL_MIN) -> Verification:
    """Walk the chain in order; report the first broken or missing link. A long chain is cut
    into one range per CPU and the ranges are hashed in parallel: each starts from the stored
    hash of the event before it, which the previous range verifies."""
    checkpoints = {c.seq: c for c in AuditCheckpoint.objects.all()}
    public_hex = keyring().signing_public_key().public_bytes_raw().hex()
    pinned = {seq: c.hash for seq, c in checkpoints.items()}
    head = AuditEvent.objects.aggregate(head=Max("seq"))["head"] or 0
    workers = workers or min(os.cpu_count() or 1, 4)
    if _parallel_ok(head, workers, parallel_min):
        cuts = [1 + head * i // workers for i in range(workers)]
        stored = dict(AuditEvent.objects.filter(seq__in=[c - 1 for c in cuts[1:]])
                      .values_list("seq", "hash"))
        jobs = [(start, (cuts[i + 1] - 1) if i + 1 < workers else None,
                 stored.get(start - 1, "") if start > 1 else GENESIS, pinned)
                for i, start in enumerate(cuts)]
        connections.close_all()  # children must not share the parent's socket
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            walks = list(pool.map(_walk_in_child, jobs))
    else:
        walks = [_walk(1, None, GENESIS, pinned)]
    count = 0
    for walk in walks:
        count += walk.count
        if walk.broken_at is not None:
            return Verification(False, count, 0, walk.broken_at, walk.problem)
    for point in checkpoints.values():
        if point.seq > count:
            return Verification(False, count, 0, count + 1,
                                f"the log ends at {count} but checkpoint {point.seq} was signed; "
                                "events were removed from the end.")
        try:
            if point.public_key != public_hex:
                raise InvalidSignature
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(point.public_key)).verify(
                bytes(point.signature), _checkpoint_message(point.seq, point.hash, point.at))
        except (InvalidSignature, ValueError):
            return Verification(False, count, 0, point.seq,
                                "the signature of its checkpoint does not verify with this "
                                "node's key.")
    return Verification(True, count, len(checkpoints))
