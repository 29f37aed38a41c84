#!/usr/bin/env python
"""Benchmark verifying an audit chain of N events with ``entente.security.audit.verify()``.

Why: ``entente audit verify`` walks the whole hash chain and checks every signed checkpoint; an
auditor must be able to run it on a year of events in reasonable time. The chain is built fast
rather than through ``audit.record`` (one locked transaction per event): hashes are computed in
Python with the very functions ``record`` uses (``audit._digest`` / ``audit._fields``) and the rows
bulk-inserted — COPY on PostgreSQL, executemany in batches of 10k on SQLite (the append-only
triggers refuse only UPDATE and DELETE). A signed checkpoint is written every
``AUDIT_CHECKPOINT_EVERY`` events (default 1000), as ``record`` does. The events are a realistic
mix: access decisions with reason and label, some denials, page listings carrying 50 ids, admin
changes.

Reported: build time, verify time and events/s, plus the same query iterated without hashing
(``fetch only``) to split database/ORM time from hashing time. Target: verify < 10 s for
1,000,000 events.

    .venv/bin/python bench/audit_verify.py                       # PostgreSQL, 1,000,000 events
    .venv/bin/python bench/audit_verify.py --db sqlite
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import _benchdb as B

TARGET_S = 10.0
BATCH = 10_000
REASONS = {
    True: "Allowed: clearance, nationality, caveats and communities all satisfied.",
    False: "Denied: no valid clearance dominates GBR/SECRET (protected as JPN/GOKUHI in JPN).",
}
LABELS = ("GBR/SECRET|rel=GBR,JPN|cav=|com=bench-alpha", "JPN/GOKUHI|rel=GBR,JPN|cav=crypto|com=",
          "GBR/OFFICIAL-SENSITIVE|rel=GBR|cav=uk-eyes-only|com=")
ACTORS = [(None, "")] + [(i, f"user{i:03d}") for i in range(1, 200)]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    B.add_db_arguments(p, "audit_verify")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-fetch-only", dest="fetch_only", action="store_false",
                   help="skip the fetch-without-hashing breakdown")
    return p.parse_args()


def events(n: int, seed: int, checkpoints: list[tuple[int, str]],
           every: int) -> Iterator[dict[str, Any]]:
    """The chain, one row dict at a time, hashed exactly as audit.record hashes it."""
    from entente.security import audit

    rng = random.Random(seed)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    prev = audit.GENESIS
    for seq in range(1, n + 1):
        actor_id, actor = ACTORS[rng.randrange(len(ACTORS))]
        kind = rng.random()
        detail: dict[str, Any]
        if kind < 0.01:
            action, allowed = "access.list", True
            object_type, object_id = "security.samplerecord", ""
            reason = "listed through the visibility filter"
            detail = {"ids": [str(uuid.UUID(int=rng.getrandbits(128), version=4))
                              for _ in range(50)]}
        elif kind < 0.02:
            action, allowed, object_type = "admin.change", True, "security.clearance"
            object_id, reason = str(rng.randrange(1, 5000)), ""
            detail = {"repr": f"clearance {seq}", "change": "[{\"changed\": {\"fields\": "
                                                            "[\"Valid until\"]}}]"}
        else:
            action = "access.view"
            allowed = rng.random() < 0.8
            object_type = "security.samplerecord"
            object_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            reason = REASONS[allowed]
            detail = {"rule": "allowed" if allowed else "clearance",
                      "label": LABELS[rng.randrange(len(LABELS))]}
        row = {"seq": seq, "at": start + dt.timedelta(milliseconds=seq * 37,
                                                     microseconds=rng.randrange(1000)),
               "actor_id": actor_id, "actor": actor, "action": action,
               "object_type": object_type, "object_id": object_id, "allowed": allowed,
               "reason": reason, "source": f"10.1.{rng.randrange(256)}.{rng.randrange(256)}",
               "detail": audit.canonical_json(detail)}
        row["prev_hash"] = prev
        row["hash"] = prev = audit._digest(prev, audit._fields(row))
        if every and seq % every == 0:
            checkpoints.append((seq, prev))
        yield row


def build_chain(n: int, seed: int) -> tuple[float, int]:

    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from entente.security import audit
    from entente.security.keystore import keyring
    from entente.security.models import AuditCheckpoint

    every = settings.AUDIT_CHECKPOINT_EVERY
    points: list[tuple[int, str]] = []
    columns = ("seq", "at", "actor_id", "actor", "action", "object_type", "object_id", "allowed",
               "reason", "source", "detail", "prev_hash", "hash")
    start = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            copy_sql = f"COPY security_auditevent ({', '.join(columns)}) FROM STDIN"
            with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
                for row in events(n, seed, points, every):
                    copy.write_row(tuple(row[c] for c in columns))
        else:
            # executemany in batches of 10k, values adapted as Django adapts them for SQLite.
            adapt_at = connection.ops.adapt_datetimefield_value
            insert = (f"INSERT INTO security_auditevent ({', '.join(columns)}) "
                      f"VALUES ({', '.join('%s' for _ in columns)})")
            batch: list[tuple[Any, ...]] = []
            with connection.cursor() as cursor:
                for row in events(n, seed, points, every):
                    row["at"] = adapt_at(row["at"])
                    batch.append(tuple(row[c] for c in columns))
                    if len(batch) == BATCH:
                        cursor.executemany(insert, batch)
                        batch = []
                if batch:
                    cursor.executemany(insert, batch)
        ring = keyring()
        public = ring.signing_public_key().public_bytes_raw().hex()
        signed = []
        for seq, head in points:
            at = timezone.now()
            signed.append(AuditCheckpoint(
                seq=seq, hash=head, at=at, public_key=public,
                signature=ring.sign(audit._checkpoint_message(seq, head, at))))
        AuditCheckpoint.objects.bulk_create(signed, batch_size=1000)
    build_s = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return build_s, len(points)


def fetch_only() -> float:
    """The query verify() runs, iterated the same way, without hashing."""
    from entente.security import audit

    start = time.perf_counter()
    for _ in audit._chain_rows(0, None):
        pass
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
    with B.bench_database(args):
        from entente.security import audit

        env = B.environment()
        print(f"building a chain of {args.events:,} events on {env['db']}...", file=sys.stderr)
        build_s, points = build_chain(args.events, args.seed)
        print(f"built in {build_s:.1f} s; verifying...", file=sys.stderr)
        verify_s, result = B.timed(audit.verify)
        fetch_s = fetch_only() if args.fetch_only else None

        ok = result.ok and result.count == args.events
        met = ok and verify_s < TARGET_S
        print()
        print(f"audit_verify on {env['db_version']} — {args.events:,} events, {points:,} signed "
              "checkpoints")
        print()
        rows = [["build (hash in Python + bulk insert)", build_s, round(args.events / build_s)],
                ["audit.verify()", verify_s, round(args.events / verify_s)]]
        if fetch_s is not None:
            rows.append(["  of which fetch only (one process, same query, no hashing)", fetch_s,
                         round(args.events / fetch_s)])
            rows.append(["  of which hashing/checks (difference)", verify_s - fetch_s, "-"])
        print(B.table(["phase", "seconds", "events/s"], rows))
        print()
        print(f"verify result: {result}")
        print(B.verdict("verify", met, f"{verify_s:.1f} s for {args.events:,} events "
                        f"(target < {TARGET_S:.0f} s{'' if ok else '; CHAIN DID NOT VERIFY'})"))
        B.emit_json({
            "bench": "audit_verify", "env": env, "events": args.events,
            "checkpoints": points, "build_s": round(build_s, 2),
            "build_events_per_s": round(args.events / build_s),
            "verify_s": round(verify_s, 2), "verify_events_per_s": round(args.events / verify_s),
            "fetch_only_s": round(fetch_s, 2) if fetch_s is not None else None,
            "verify_ok": result.ok, "verify_count": result.count, "verify_message": str(result),
            "target_s": TARGET_S, "met": {"verify": met},
        })


if __name__ == "__main__":
    main()
