#!/usr/bin/env python
"""Benchmark listing one page of visible records out of N labelled records.

Why: every list page goes through ``kernel.visible`` (the label-set filter as SQL). It must cost
little more than the same page unfiltered. This loads ``--records`` SampleRecord rows spread over
~150 labels (both nations, every marking, caveats, three communities), creates users of different
standing, and times, for page 1 and a deep page (``--deep-offset``), ``--page-size`` rows:

* unfiltered: ``list(SampleRecord.objects.order_by(...)[o:o+50])``
* filtered:   ``list(kernel.visible(user, <same qs>)[o:o+50])`` — one query: the user's standing
  and the equivalence table in force are read inside it, so nothing is computed beforehand

and ``count()`` both ways. Record bodies are a dummy ``b"x"``: body encryption is not what is
measured here (see encrypt_stream.py). Targets: filtered/unfiltered p50 <= 1.3 and filtered
p50 < 50 ms. If no index serves the ordering, the index it would need is reported (this script
adds no migration); ``--what-if-index`` creates that index in the throwaway bench database only
and measures again, to show what it would change.

    .venv/bin/python bench/list_visible.py                       # PostgreSQL, 1,000,000 records
    .venv/bin/python bench/list_visible.py --db sqlite --records 20000 --repeat 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import uuid
from typing import Any

import _benchdb as B

RATIO_TARGET = 1.3
P50_TARGET_MS = 50.0
BATCH = 10_000
ORDERINGS = {"created": ("created_at", "id"), "title": ("title", "id")}
WORDS = ("logistics", "exercise", "tempest", "falcon", "harbour", "kestrel", "sensor", "tanker",
         "frigate", "radar", "survey", "convoy", "training", "liaison", "maintenance", "supply")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    B.add_db_arguments(p, "list_visible")
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=30, help="timed repetitions per query (>= 30)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--count-repeat", type=int, default=10, help="repetitions of count()")
    p.add_argument("--page-size", type=int, default=50)
    p.add_argument("--deep-offset", type=int, default=10_000)
    p.add_argument("--order", choices=sorted(ORDERINGS), default="title",
                   help="title = (title, id), the application's listing order and index; "
                        "created = (created_at, id)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of page 1")
    p.add_argument("--what-if-index", action="store_true",
                   help="afterwards create the missing ordering index in the bench DB and re-measure")
    return p.parse_args()


# --------------------------------------------------------------------------- loading


def load_records(n: int, labels: list[Any], orgs: dict[str, Any], seed: int) -> float:
    """Insert n records: COPY on PostgreSQL, bulk_create in batches of 10k on SQLite."""
    from django.db import connection, transaction

    from entente.security.models import SampleRecord

    rng = random.Random(seed)
    plan = [(label.pk, orgs[label.originator_id].pk) for label in labels]
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    def rows() -> Any:
        for i in range(n):
            label_id, owner_id = plan[rng.randrange(len(plan))]
            yield (uuid.UUID(int=rng.getrandbits(128), version=4),
                   f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i:07d}",
                   base + dt.timedelta(seconds=i, microseconds=rng.randrange(1_000_000)),
                   label_id, owner_id)

    start = time.perf_counter()
    if connection.vendor == "postgresql":
        copy_sql = ("COPY security_samplerecord (id, title, body, created_at, label_id, owner_id) "
                    "FROM STDIN")
        with transaction.atomic(), connection.cursor() as cursor, \
                cursor.cursor.copy(copy_sql) as copy:
            for rid, title, at, label_id, owner_id in rows():
                copy.write_row((rid, title, b"x", at, label_id, owner_id))
    else:
        # auto_now_add overrides created_at on bulk_create: rows get their insertion time.
        batch: list[SampleRecord] = []
        with transaction.atomic():
            for rid, title, _at, label_id, owner_id in rows():
                batch.append(SampleRecord(id=rid, title=title, body=b"x", label_id=label_id,
                                          owner_id=owner_id))
                if len(batch) == BATCH:
                    SampleRecord.objects.bulk_create(batch)
                    batch = []
            if batch:
                SampleRecord.objects.bulk_create(batch)
    load_s = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return load_s


def make_users() -> dict[str, Any]:
    from entente import testing
    from entente.core.models import User

    testing.make_user("gbr-secret", "GBR", clearance="SECRET", communities=["bench-alpha"])
    testing.make_user("jpn-gokuhi", "JPN", clearance="GOKUHI")
    testing.make_user("gbr-uncleared", "GBR")
    # As a request sees them: fresh from the database, organisation loaded lazily.
    return {u: User.objects.get(username=u) for u in ("gbr-secret", "jpn-gokuhi", "gbr-uncleared")}


# --------------------------------------------------------------------------- indexes


def ordering_index(columns: tuple[str, ...]) -> str | None:
    """Name of an index whose leading columns are the ordering, else None."""
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "security_samplerecord")
    for name, info in constraints.items():
        cols = tuple(info.get("columns") or ())
        if info.get("index") and cols[: len(columns)] == columns:
            return name
        if info.get("index") and columns[-1] == "id" and cols[: len(columns) - 1] == columns[:-1]:
            return name
    return None


# --------------------------------------------------------------------------- measuring


def measure(users: dict[str, Any], order: tuple[str, ...], args: argparse.Namespace,
            tag: str) -> list[dict[str, Any]]:
    from entente.security import kernel
    from entente.security.models import SampleRecord

    size = args.page_size
    results = []
    for name, user in users.items():
        for offset in (0, args.deep_offset):
            unfiltered, filtered = [], []
            rows_seen = 0
            for rep in range(args.warmup + args.repeat):
                # Interleaved, so cache and planner effects hit all alike. A fresh queryset each
                # time: a sliced queryset caches its result.
                t_unf, _ = B.timed(lambda o=offset: list(
                    SampleRecord.objects.order_by(*order)[o:o + size]))
                t_fil, page = B.timed(lambda o=offset, u=user: list(
                    kernel.visible(u, SampleRecord.objects.order_by(*order))[o:o + size]))
                if rep >= args.warmup:
                    unfiltered.append(t_unf)
                    filtered.append(t_fil)
                rows_seen = len(page)
            unf, fil = B.summary_ms(unfiltered), B.summary_ms(filtered)
            results.append({
                "phase": tag, "user": name, "offset": offset, "rows": rows_seen,
                "unfiltered": unf, "filtered": fil,
                "ratio_p50": round(fil["p50_ms"] / unf["p50_ms"], 3) if unf["p50_ms"] else None,
            })
            print(f"  [{tag}] {name:14s} offset {offset:>6}: unfiltered p50 {unf['p50_ms']:.2f} "
                  f"ms, filtered p50 {fil['p50_ms']:.2f} ms", file=sys.stderr)
    return results


def measure_keyset(users: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """The page after the ``deep_offset``-th visible record, reached by keyset cursor as the API's
    ``after=`` does (same Q as selectors.visible_records), versus the unfiltered page at the same
    depth reached the same way."""
    from django.db.models import Q

    from entente.security import kernel
    from entente.security.models import SampleRecord

    size, out = args.page_size, []
    base = SampleRecord.objects.order_by("title", "id")
    for name, user in users.items():
        anchor = kernel.visible(user, base)[args.deep_offset - 1:args.deep_offset].get()
        after = Q(title__gte=anchor.title) & (Q(title__gt=anchor.title) | Q(id__gt=anchor.id))
        unf_anchor = base[args.deep_offset - 1:args.deep_offset].get()
        unf_after = (Q(title__gte=unf_anchor.title)
                     & (Q(title__gt=unf_anchor.title) | Q(id__gt=unf_anchor.id)))
        unfiltered, filtered = [], []
        for rep in range(args.warmup + args.repeat):
            t_unf, _ = B.timed(lambda q=unf_after: list(base.filter(q)[:size]))
            t_fil, page = B.timed(lambda q=after, u=user: list(
                kernel.visible(u, base.filter(q))[:size]))
            if rep >= args.warmup:
                unfiltered.append(t_unf)
                filtered.append(t_fil)
        unf, fil = B.summary_ms(unfiltered), B.summary_ms(filtered)
        out.append({"user": name, "after_visible_row": args.deep_offset, "rows": len(page),
                    "unfiltered": unf, "filtered": fil,
                    "ratio_p50": round(fil["p50_ms"] / unf["p50_ms"], 3)})
    return out


def measure_counts(users: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    from entente.security import kernel
    from entente.security.models import SampleRecord

    out = []
    reps = max(args.count_repeat, 1)
    unf_s, total = [], 0
    for _ in range(reps):
        t, total = B.timed(lambda: SampleRecord.objects.count())
        unf_s.append(t)
    for name, user in users.items():
        fil_s, visible_n = [], 0
        for _ in range(reps):
            def run(u: Any = user) -> int:
                return kernel.visible(u, SampleRecord.objects.all()).count()
            t, visible_n = B.timed(run)
            fil_s.append(t)
        unf, fil = B.summary_ms(unf_s), B.summary_ms(fil_s)
        out.append({"user": name, "total": total, "visible": visible_n,
                    "visible_fraction": round(visible_n / total, 4) if total else 0,
                    "unfiltered": unf, "filtered": fil,
                    "ratio_p50": round(fil["p50_ms"] / unf["p50_ms"], 3) if unf["p50_ms"] else None})
    return out


def explain(users: dict[str, Any], order: tuple[str, ...], size: int) -> None:
    from django.db import connection

    from entente.security import kernel
    from entente.security.models import SampleRecord

    user = next(iter(users.values()))
    qs_unf = SampleRecord.objects.order_by(*order)[:size]
    qs_fil = kernel.visible(user, SampleRecord.objects.order_by(*order))[:size]
    options = {"analyze": True} if connection.vendor == "postgresql" else {}
    for what, qs in (("unfiltered", qs_unf), ("filtered", qs_fil)):
        print(f"--- EXPLAIN {what} page 1 ({next(iter(users))}) ---")
        print(qs.explain(**options))


def print_pages(results: list[dict[str, Any]]) -> None:
    rows = [[r["phase"], r["user"], r["offset"], r["rows"], r["unfiltered"]["p50_ms"],
             r["unfiltered"]["p95_ms"], r["filtered"]["p50_ms"], r["filtered"]["p95_ms"],
             r["ratio_p50"]] for r in results]
    print(B.table(["phase", "user", "offset", "rows", "unf p50", "unf p95", "filt p50",
                   "filt p95", "ratio p50"], rows))


def main() -> None:
    args = parse_args()
    if args.repeat < 30:
        print(f"note: --repeat {args.repeat} is below the 30 the figures call for", file=sys.stderr)
    order = ORDERINGS[args.order]
    with B.bench_database(args):
        from django.db import connection

        env = B.environment()
        labels = B.make_bench_labels()
        orgs = B.organisations()
        print(f"loading {args.records:,} records over {len(labels)} labels on {env['db']}...",
              file=sys.stderr)
        load_s = load_records(args.records, labels, orgs, args.seed)
        users = make_users()
        index = ordering_index(order)
        table_name = "security_samplerecord"
        needed = (f"CREATE INDEX ON {table_name} ({', '.join(order)})" if index is None else None)

        pages = measure(users, order, args, "as-is")
        counts = measure_counts(users, args)
        keyset = measure_keyset(users, args)
        if args.explain:
            explain(users, order, args.page_size)

        what_if: list[dict[str, Any]] = []
        if args.what_if_index and needed:
            with connection.cursor() as cursor:
                t0 = time.perf_counter()
                cursor.execute(f"CREATE INDEX bench_whatif_order ON {table_name} "
                               f"({', '.join(order)})")
                cursor.execute(f"ANALYZE {table_name}")
                index_s = time.perf_counter() - t0
            print(f"what-if index built in {index_s:.1f} s", file=sys.stderr)
            what_if = measure(users, order, args, "what-if-index")
            if args.explain:
                explain(users, order, args.page_size)

        print()
        print(f"list_visible on {env['db_version']} — {args.records:,} records, {len(labels)} "
              f"labels, page {args.page_size}, order_by{order}, {args.repeat} reps (times in ms)")
        print(f"load: {load_s:.1f} s ({args.records / load_s:,.0f} rows/s; "
              f"{'COPY' if env['db'] == 'postgresql' else 'bulk_create 10k'}; body = b'x', "
              "encryption not measured)")
        print(f"ordering index: {index or 'NONE — needs: ' + str(needed)}")
        print()
        print_pages(pages + what_if)
        print()
        print(B.table(["keyset page user", "after row", "rows", "unf p50", "filt p50", "filt p95",
                       "ratio p50"],
                      [[k["user"], f"{k['after_visible_row']:,}", k["rows"],
                        k["unfiltered"]["p50_ms"], k["filtered"]["p50_ms"],
                        k["filtered"]["p95_ms"], k["ratio_p50"]] for k in keyset]))
        print()
        print(B.table(["count(*) user", "visible", "fraction", "unf p50", "filt p50", "filt p95",
                       "ratio p50"],
                      [[c["user"], c["visible"], c["visible_fraction"], c["unfiltered"]["p50_ms"],
                        c["filtered"]["p50_ms"], c["filtered"]["p95_ms"], c["ratio_p50"]]
                       for c in counts]))
        print()
        worst_ratio = max(r["ratio_p50"] or 0 for r in pages)
        worst_p50 = max(r["filtered"]["p50_ms"] for r in pages)
        ratio_met, p50_met = worst_ratio <= RATIO_TARGET, worst_p50 < P50_TARGET_MS
        print(B.verdict("ratio", ratio_met,
                        f"worst filtered/unfiltered p50 {worst_ratio:.2f} (target <= {RATIO_TARGET})"))
        print(B.verdict("latency", p50_met,
                        f"worst filtered p50 {worst_p50:.1f} ms (target < {P50_TARGET_MS:.0f} ms)"))
        load_met = load_s < 180 or args.records < 1_000_000
        print(B.verdict("load", load_met, f"{load_s:.1f} s for {args.records:,} rows "
                        "(target < ~180 s for 1M)"))
        if what_if:
            wr = max(r["ratio_p50"] or 0 for r in what_if)
            wp = max(r["filtered"]["p50_ms"] for r in what_if)
            print(f"(what-if with {needed}: worst ratio {wr:.2f}, worst filtered p50 {wp:.1f} ms"
                  " — hypothetical, not the application's schema)")
        B.emit_json({
            "bench": "list_visible", "env": env, "records": args.records, "labels": len(labels),
            "order_by": list(order), "page_size": args.page_size, "repeat": args.repeat,
            "load_s": round(load_s, 2), "ordering_index": index, "index_needed": needed,
            "pages": pages, "counts": counts, "keyset": keyset, "what_if_index": what_if,
            "targets": {"ratio_p50_max": RATIO_TARGET, "filtered_p50_ms_max": P50_TARGET_MS},
            "worst_ratio_p50": worst_ratio, "worst_filtered_p50_ms": worst_p50,
            "met": {"ratio": ratio_met, "latency": p50_met, "load": load_met},
        })


if __name__ == "__main__":
    main()
