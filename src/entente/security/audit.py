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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from entente.security.keystore import keyring
from entente.security.models import AuditCheckpoint, AuditEvent

GENESIS = "0" * 64
_LOCK_KEY = 0x656E7465  # "ente": one advisory lock for the whole chain on PostgreSQL
_source: contextvars.ContextVar[str] = contextvars.ContextVar("audit_source", default="")

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


def record(action: str, *, actor: Any = None, obj: models.Model | None = None,
           object_type: str = "", object_id: str = "", allowed: bool | None = None,
           reason: str = "", detail: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event. Runs in its own savepoint and, when called outside a transaction, commits
    at once — so a denial is on record even if the request that caused it then fails."""
    if obj is not None:
        object_type, object_id = obj._meta.label_lower, str(obj.pk)
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        seq = last["seq"] + 1 if last else 1
        prev = last["hash"] if last else GENESIS
        row = {
            "seq": seq, "at": timezone.now(), "actor_id": getattr(actor, "pk", None),
            "actor": getattr(actor, "username", "") or "", "action": action,
            "object_type": object_type, "object_id": object_id, "allowed": allowed,
            "reason": str(reason), "source": _source.get(),
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


def _chain_rows(batch: int = 20000) -> Iterator[tuple[Any, ...]]:
    """Every event in order, in keyset batches straight from the cursor: the ORM's per-row model
    machinery would cost more than the hashing itself."""
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
    sql = f"SELECT {columns} FROM {table} WHERE seq > %s ORDER BY seq LIMIT %s"  # noqa: S608
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [last, batch])
            rows = cursor.fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]


def verify() -> Verification:
    """Walk the chain in order; report the first broken or missing link."""
    checkpoints = {c.seq: c for c in AuditCheckpoint.objects.all()}
    public_hex = keyring().signing_public_key().public_bytes_raw().hex()
    expected_seq, prev, count = 1, GENESIS, 0
    for seq, at, *rest, prev_hash, stored_hash in _chain_rows():
        if seq != expected_seq:
            return Verification(False, count, 0, expected_seq,
                                f"event {expected_seq} is missing (next present is {seq}).")
        if prev_hash != prev:
            return Verification(False, count, 0, seq, "its link to the previous event is broken.")
        if _digest(prev, [seq, _micros(at), *rest]) != stored_hash:
            return Verification(False, count, 0, seq, "its content does not match its hash.")
        point = checkpoints.get(seq)
        if point is not None and point.hash != stored_hash:
            return Verification(False, count, 0, seq, "it differs from the signed checkpoint.")
        prev, expected_seq, count = stored_hash, seq + 1, count + 1
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
