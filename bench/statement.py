#!/usr/bin/env python
"""Benchmark the ACSA statement of account (and balances, ageing) over N orders.

Why: a statement between the two parties for a period sums and lists the ledger entries of every
order the reader may view, through ``kernel.visible`` (``label="order__label"``), and the CSV
export reads every entry. With ~3 years of cross-servicing that is ~100,000 orders; the
statement must still come back in under 2 s.

This loads ``--orders`` labelled ``Order`` rows straight into the tables (COPY on PostgreSQL,
``executemany`` on SQLite), drafted over ``--years`` years up to today, in a realistic mix of
states (older orders mostly closed or settled, recent ones open; some received orders overdue),
each with 1-4 lines in GBP or JPY (mostly the supplying party's currency), a receipt ledger entry
per currency for every order whose receipt is signed and a settlement entry for every settled or
closed one, and a GBP/JPY rate for every day. Labels are the bench labels of ``_benchdb``
(``make_bench_labels``) that are releasable to both parties, as an order's must be:
``--common-share`` of the orders (default 80 %) carry their nation's plain marking (GBR OFFICIAL,
JPN TORIATSUKAI-CHUI), the rest any of them (every marking, CRYPTO, the three communities).
Order events and settlements are not loaded: none of the measured reads uses them.

Then, for a cleared reader (GBR SECRET, one community) and an uncleared one (GBR, no clearance),
``--repeat`` times each (after ``--warmup`` runs):

* statement: ``selectors.statement(user, "GBR", "JPN", start, end)`` over the whole period and
  every row read through ``Statement.rows()`` (the call and the rows are also given apart), and
  the same for the last year;
* csv: what the CSV export does, if ``entente/logistics/reports.py`` is there: the statement, the
  marking of the orders it includes (as the view computes it) and every line of
  ``reports.statement_csv`` (the marking query also apart);
* ``selectors.balances(user, today)`` and ``selectors.ageing(user, today)``.

Target: the statement (call + every row) of the full period under 2 s, p50, on PostgreSQL.
``--explain`` prints EXPLAIN (ANALYZE, BUFFERS) of every SELECT the full
statement runs, with its time, for the cleared reader (the sub-plans folded: the label-set
subquery of ``kernel.visible`` runs once over the small label tables).

    .venv/bin/python bench/statement.py --orders 100000 --explain   # PostgreSQL
    .venv/bin/python bench/statement.py --db sqlite --orders 5000 --repeat 5
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import _benchdb as B

STATEMENT_TARGET_S = 2.0
SQLITE_BATCH = 5_000
CURRENCY_OF = {"GBR": "GBP", "JPN": "JPY"}
OTHER = {"GBR": "JPN", "JPN": "GBR"}
PLAIN_MARKING = {"GBR": "OFFICIAL", "JPN": "TORIATSUKAI-CHUI"}
TERM_DAYS = {"reimbursement": 90, "replacement": 365, "equal-value": 365}
METHODS = (("reimbursement", 70), ("replacement", 20), ("equal-value", 10))
ACTIVITIES = (("bilateral-training", 55), ("routine", 20), ("disaster-response", 8),
              ("humanitarian-relief", 7), ("un-peacekeeping", 5), ("international-operation", 5))
# States by the order's age: (younger than, days) -> weights. Older orders have run their course.
STATE_MIX: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] = (
    (30, (("drafted", 15), ("requested", 25), ("accepted", 20), ("provided", 15),
          ("received", 20), ("cancelled", 3), ("refused", 2))),
    (180, (("requested", 2), ("accepted", 5), ("provided", 8), ("received", 30),
           ("settled", 25), ("closed", 25), ("cancelled", 3), ("refused", 2))),
    (10**6, (("provided", 1), ("received", 6), ("settled", 15), ("closed", 71),
             ("cancelled", 4), ("refused", 3))),
)
UNITS = ("litres", "meals", "nights", "hours", "days", "sets", "trips", "movements", "items")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    B.add_db_arguments(p, "statement")
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--years", type=float, default=3.0, help="orders drafted over this many years")
    p.add_argument("--common-share", type=float, default=0.8,
                   help="share of orders under their nation's plain marking")
    p.add_argument("--repeat", type=int, default=10, help="timed repetitions per measurement")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--explain", action="store_true",
                   help="EXPLAIN ANALYZE every SELECT of the full statement (cleared reader)")
    return p.parse_args()


# --------------------------------------------------------------------------- the world


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def order_labels() -> dict[str, tuple[Any, list[Any]]]:
    """Per nation: (its plain label, every bench label it originates releasable to both)."""
    from entente.security.labels import LabelSpec, make_label

    both = {"GBR", "JPN"}
    labels: dict[str, tuple[Any, list[Any]]] = {}
    bench = [label for label in B.make_bench_labels()
             if set(label.releasable_to.values_list("code", flat=True)) == both]
    for nation in ("GBR", "JPN"):
        plain = make_label(LabelSpec(nation, PLAIN_MARKING[nation], ("GBR", "JPN")))
        labels[nation] = (plain, [label for label in bench if label.originator_id == nation])
    return labels


def make_users(orgs: dict[str, Any]) -> dict[str, Any]:
    from entente import testing
    from entente.core.models import Role, User

    testing.make_user("gbr-log", "GBR", org=orgs["GBR"], clearance="SECRET",
                      communities=["bench-alpha"], roles=[Role.LOGISTICS_OFFICER])
    testing.make_user("jpn-log", "JPN", org=orgs["JPN"], clearance="GOKUHI",
                      roles=[Role.LOGISTICS_OFFICER])
    testing.make_user("gbr-uncleared", "GBR", org=orgs["GBR"], roles=[Role.LOGISTICS_OFFICER])
    # As a request sees them: fresh from the database, organisation loaded lazily.
    return {u: User.objects.get(username=u) for u in ("gbr-log", "jpn-log", "gbr-uncleared")}


def _rounded(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal("0.01") if currency == "GBP" else Decimal(1),
                          rounding=ROUND_HALF_EVEN)


def generate(n: int, today: dt.date, years: float, common_share: float, seed: int,
             world: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]],
                                                      list[dict[str, Any]]]]:
    """(order, its lines, its ledger entries) as column dicts, oldest first."""
    rng = random.Random(seed)
    span = int(365 * years)
    ages = sorted((rng.randrange(span) for _ in range(n)), reverse=True)
    numbers: dict[tuple[str, int], int] = {}
    activities, categories = world["activities"], world["categories"]
    for age in ages:
        requesting = rng.choice(("GBR", "JPN"))
        supplying = OTHER[requesting]
        plain, others = world["labels"][requesting]
        label = plain if rng.random() < common_share else rng.choice(others)
        drafted = today - dt.timedelta(days=age)
        state = _weighted(rng, next(mix for below, mix in STATE_MIX if age < below))
        method = _weighted(rng, METHODS)
        key = (requesting, drafted.year)
        numbers[key] = numbers.get(key, 0) + 1

        def after(day: dt.date, lo: int, hi: int) -> dt.date:
            return min(day + dt.timedelta(days=rng.randint(lo, hi)), today)

        requested = provided = received = settle_by = settled = closed = None
        if state != "drafted":
            requested = after(drafted, 0, 3)
        if state in ("provided", "received", "settled", "closed"):
            provided = after(requested, 2, 20)
        if state in ("received", "settled", "closed"):
            received = after(provided, 0, 3)
            settle_by = received + dt.timedelta(days=TERM_DAYS[method])
        if state in ("settled", "closed"):
            settled = after(received, 10, 120)
        if state == "closed":
            closed = after(settled, 0, 30)
        order_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        officers = world["officers"]
        order = {
            "id": order_id, "label_id": label.pk, "owner_id": world["orgs"][requesting].pk,
            "agreement_id": world["agreement"].pk,
            "number": f"{requesting}-{drafted.year}-{numbers[key]:05d}",
            "requesting_nation_id": requesting, "supplying_nation_id": supplying,
            "activity_id": activities[_weighted(rng, ACTIVITIES)].pk,
            "activity_description": f"Exercise {rng.randrange(40):02d}",
            "requesting_officer_id": officers[requesting].pk,
            "supplying_officer_id": (officers[supplying].pk
                                     if state not in ("drafted", "requested") else None),
            "settlement_method": method, "delivery_place": "", "wanted_by": None,
            "state": state,
            "created_at": dt.datetime.combine(drafted, dt.time(), tzinfo=dt.UTC)
            + dt.timedelta(seconds=rng.randrange(86_400)),
            "requested_on": requested, "provided_on": provided, "received_on": received,
            "received_by_id": officers[requesting].pk if received else None,
            "settle_by": settle_by, "settled_on": settled, "closed_on": closed,
            "overdue_flagged_on": None,
        }
        lines, sums = [], {}
        for position in range(1, rng.randint(1, 4) + 1):
            currency = (CURRENCY_OF[supplying] if rng.random() < 0.85
                        else CURRENCY_OF[requesting])
            quantity = Decimal(rng.randint(1, 500))
            price = (Decimal(rng.randint(100, 200_000)).scaleb(-2) if currency == "GBP"
                     else Decimal(rng.randint(100, 300_000)))
            amount = _rounded(quantity * price, currency)
            sums[currency] = sums.get(currency, Decimal(0)) + amount
            lines.append({"order_id": order_id, "position": position,
                          "category_id": rng.choice(categories).pk,
                          "description": f"Line {position} of {order['number']}",
                          "quantity": quantity, "unit": rng.choice(UNITS), "unit_price": price,
                          "currency_id": currency, "amount": amount})
        entries = []
        recorded = order["created_at"]
        for currency, total in sorted(sums.items()):
            if received:
                entries.append({"order_id": order_id, "debtor_id": requesting,
                                "creditor_id": supplying, "currency_id": currency,
                                "amount": total, "on": received, "kind": "receipt",
                                "recorded_at": recorded})
            if settled:
                entries.append({"order_id": order_id, "debtor_id": requesting,
                                "creditor_id": supplying, "currency_id": currency,
                                "amount": -total, "on": settled, "kind": "settlement",
                                "recorded_at": recorded})
        yield order, lines, entries


def rates(today: dt.date, days: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed + 1)
    rate = Decimal("190")
    now = dt.datetime.now(dt.UTC)
    for back in range(days, -1, -1):
        rate = min(max(rate + Decimal(rng.randint(-150, 150)).scaleb(-2), Decimal(150)),
                   Decimal(210))
        yield {"day": today - dt.timedelta(days=back), "base_id": "GBP", "quote_id": "JPY",
               "rate": rate, "source": "bench", "recorded_by_id": None, "recorded_at": now}


class Writer:
    """Rows into a model's table: COPY on PostgreSQL; executemany in batches on SQLite, each value
    prepared by its field as Django would save it. The columns are the model's own (its id when
    the row gives one), so a field added to the model does not break the load: a row that does
    not name it writes its default, or NULL, or "" for text."""

    def __init__(self, stack: contextlib.ExitStack, cursor: Any, model: Any,
                 sample: dict[str, Any]) -> None:
        from django.db import connection
        from django.db.models import NOT_PROVIDED

        self.fields = [f for f in model._meta.concrete_fields
                       if f.attname in sample or not f.primary_key]
        self.defaults = {}
        for f in self.fields:
            if f.attname in sample:
                continue
            if f.default is not NOT_PROVIDED:
                self.defaults[f.attname] = f.get_default()
            elif f.null:
                self.defaults[f.attname] = None
            elif f.get_internal_type() in ("CharField", "TextField", "SlugField"):
                self.defaults[f.attname] = ""
            else:
                raise SystemExit(f"{model.__name__}.{f.name} has no value in the bench rows and "
                                 "no default: teach bench/statement.py about it")
        self.count = 0
        table = connection.ops.quote_name(model._meta.db_table)
        quoted = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        if connection.vendor == "postgresql":
            self.copy = stack.enter_context(cursor.cursor.copy(
                f"COPY {table} ({quoted}) FROM STDIN"))
        else:
            self.copy = None
            self.cursor = cursor
            self.insert = (f"INSERT INTO {table} ({quoted}) "
                           f"VALUES ({', '.join('%s' for _ in self.fields)})")
            self.batch: list[tuple[Any, ...]] = []

    def write(self, row: dict[str, Any]) -> None:
        from django.db import connection

        self.count += 1
        values = [row[f.attname] if f.attname in row else self.defaults[f.attname]
                  for f in self.fields]
        if self.copy is not None:
            self.copy.write_row(values)
            return
        self.batch.append(tuple(f.get_db_prep_save(v, connection)
                                for f, v in zip(self.fields, values, strict=True)))
        if len(self.batch) >= SQLITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.copy is None and self.batch:
            self.cursor.executemany(self.insert, self.batch)
            self.batch = []


def load(args: argparse.Namespace, today: dt.date, world: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection, transaction

    from entente.logistics.models import ExchangeRate, LedgerEntry, Order, OrderLine

    start = time.perf_counter()
    counts: dict[str, Any] = {"states": {}, "orderline": 0, "ledgerentry": 0, "exchangerate": 0}
    # COPY streams one table at a time: lines and entries are kept back (small tuples) while the
    # orders stream, then written in turn.
    lines_rows: list[dict[str, Any]] = []
    ledger_rows: list[dict[str, Any]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        with contextlib.ExitStack() as stack:
            orders: Writer | None = None
            for order, lines, entries in generate(args.orders, today, args.years,
                                                  args.common_share, args.seed, world):
                orders = orders or Writer(stack, cursor, Order, order)
                orders.write(order)
                lines_rows += lines
                ledger_rows += entries
                counts["states"][order["state"]] = counts["states"].get(order["state"], 0) + 1
            if orders is not None:
                orders.flush()
        for model, rows in ((OrderLine, lines_rows), (LedgerEntry, ledger_rows),
                            (ExchangeRate, list(rates(today, int(365 * args.years) + 30,
                                                      args.seed)))):
            if not rows:
                continue
            with contextlib.ExitStack() as stack:
                writer = Writer(stack, cursor, model, rows[0])
                for row in rows:
                    writer.write(row)
                writer.flush()
            counts[model._meta.model_name] = writer.count
    counts["load_s"] = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    counts["load_analyze_s"] = time.perf_counter() - start
    return counts


# --------------------------------------------------------------------------- measuring


def repeat(run: Callable[[], Any], args: argparse.Namespace) -> tuple[list[float], Any]:
    seconds, result = [], None
    for i in range(args.warmup + args.repeat):
        t, result = B.timed(run)
        if i >= args.warmup:
            seconds.append(t)
    return seconds, result


def statement_parts(user: Any, start: dt.date, end: dt.date,
                    args: argparse.Namespace) -> dict[str, Any]:
    """The full statement (call + every row), the call alone and the rows alone."""
    from entente.logistics import selectors

    total, call, read = [], [], []
    rows = 0
    for i in range(args.warmup + args.repeat):
        t0 = time.perf_counter()
        st = selectors.statement(user, "GBR", "JPN", start, end)
        t1 = time.perf_counter()
        rows = sum(1 for _ in st.rows())
        t2 = time.perf_counter()
        if i >= args.warmup:
            call.append(t1 - t0)
            read.append(t2 - t1)
            total.append(t2 - t0)
    return {"rows": rows, "entry_count": st.entry_count, "total": B.summary_ms(total),
            "call": B.summary_ms(call), "rows_read": B.summary_ms(read),
            "closing": {c: str(v) for c, v in st.closing.items()}}



def report_marking(user: Any, statement: Any) -> Any:
    """The marking of a statement's files, as the CSV and PDF exports compute it."""
    from entente.logistics import reports

    return reports.statement_marking(user, statement)[1]


def csv_parts(user: Any, start: dt.date, end: dt.date,
              args: argparse.Namespace) -> dict[str, Any]:
    from entente.logistics import money, reports, selectors

    def export() -> int:
        st = selectors.statement(user, "GBR", "JPN", start, end)
        mark = report_marking(user, st)
        return sum(len(line) for line in reports.statement_csv(st, mark, money.minor_units()))

    total, size = repeat(export, args)
    account = selectors.statement(user, "GBR", "JPN", start, end)
    marking, _ = repeat(lambda: report_marking(user, account), args)
    return {"bytes": size, "total": B.summary_ms(total), "marking": B.summary_ms(marking)}


class Captured:
    """The SQL a block runs, with its parameters and execution time (fetches not included)."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, Any, float]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append((sql, params, time.perf_counter() - t0))


def explain(user: Any, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    from django.db import connection

    from entente.logistics import selectors

    captured = Captured()
    with connection.execute_wrapper(captured):
        st = selectors.statement(user, "GBR", "JPN", start, end)
        sum(1 for _ in st.rows())
    plans = []
    for sql, params, seconds in captured.queries:
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = "\n".join(r[0] for r in cursor.fetchall())
        short = compact(plan)
        plans.append({"sql": sql[:300], "execute_ms": round(seconds * 1000, 1), "plan": short})
        print(f"--- {seconds * 1000:.1f} ms: {sql[:160]}...\n{short}\n")
    return plans


def compact(plan: str) -> str:
    """The plan without the insides of its sub-plans (the label-set subquery of
    ``kernel.visible``, which runs once over the small label tables, is most of any plan)."""
    out, hidden_below = [], None
    for line in plan.splitlines():
        indent = len(line) - len(line.lstrip())
        if hidden_below is not None and indent > hidden_below:
            continue
        hidden_below = None
        text = line.strip()
        if text.startswith(("SubPlan", "InitPlan")):
            hidden_below = indent
            line += "  (…)"
        out.append(line)
    return "\n".join(out)


def main() -> None:
    args = parse_args()
    with B.bench_database(args):
        from django.db import connection
        from django.utils import timezone

        from entente.logistics import selectors
        from entente.logistics.models import Activity, Agreement, Category

        env = B.environment()
        today = timezone.localdate()
        orgs = B.organisations()
        users = make_users(orgs)
        agreement = Agreement.objects.get(code="acsa-gbr-jpn")
        world = {
            "labels": order_labels(), "orgs": orgs, "agreement": agreement,
            "officers": {"GBR": users["gbr-log"], "JPN": users["jpn-log"]},
            "activities": {a.code: a for a in Activity.objects.filter(agreement=agreement)},
            "categories": list(Category.objects.filter(agreement=agreement, eligible=True)
                               .exclude(code="ammunition")),
        }
        print(f"loading {args.orders:,} orders on {env['db']}...", file=sys.stderr)
        loaded = load(args, today, world)
        print(f"loaded in {loaded['load_s']:.1f} s: {loaded}", file=sys.stderr)

        readers = {"cleared (GBR SECRET)": users["gbr-log"],
                   "uncleared (GBR)": users["gbr-uncleared"]}
        full_start = today - dt.timedelta(days=int(365 * args.years) + 1)
        year_start = today - dt.timedelta(days=365)
        has_reports = importlib.util.find_spec("entente.logistics.reports") is not None
        results: dict[str, Any] = {}
        for name, user in readers.items():
            visible_orders = selectors.visible_orders(user).count()
            r: dict[str, Any] = {"visible_orders": visible_orders}
            r["statement_full"] = statement_parts(user, full_start, today, args)
            print(f"  {name}: statement full p50 {r['statement_full']['total']['p50_ms']:.0f} ms",
                  file=sys.stderr)
            r["statement_year"] = statement_parts(user, year_start, today, args)
            if has_reports:
                r["csv_full"] = csv_parts(user, full_start, today, args)
            seconds, found = repeat(lambda u=user: selectors.balances(u, today), args)
            r["balances"] = {**B.summary_ms(seconds), "pairs": len(found)}
            seconds, found = repeat(lambda u=user: selectors.ageing(u, today), args)
            r["ageing"] = {**B.summary_ms(seconds), "rows": len(found),
                           "orders": sum(row.orders for row in found)}
            results[name] = r
            print(f"  {name}: done", file=sys.stderr)

        plans: list[dict[str, Any]] = []
        if args.explain and connection.vendor == "postgresql":
            plans = explain(users["gbr-log"], full_start, today)

        print()
        print(f"statement on {env['db_version']} — {args.orders:,} orders over {args.years:g} "
              f"years, {loaded['orderline']:,} lines, {loaded['ledgerentry']:,} ledger entries, "
              f"{args.repeat} reps after {args.warmup} warm-up (times in ms)")
        print(f"load: {loaded['load_s']:.1f} s ({'COPY' if env['db'] == 'postgresql' else 'executemany'}), "
              f"+ ANALYZE {loaded['load_analyze_s'] - loaded['load_s']:.1f} s; states: "
              + ", ".join(f"{s} {n:,}" for s, n in sorted(loaded["states"].items())))
        print()
        rows = []
        for name, r in results.items():
            for what in ("statement_full", "statement_year"):
                s = r[what]
                rows.append([name, what.replace("_", " "), s["rows"], s["total"]["p50_ms"],
                             s["total"]["p95_ms"], s["call"]["p50_ms"], s["rows_read"]["p50_ms"]])
            if "csv_full" in r:
                c = r["csv_full"]
                rows.append([name, "csv full (statement+marking+lines)", c["bytes"],
                             c["total"]["p50_ms"], c["total"]["p95_ms"], "", ""])
                rows.append([name, "  of which marking", "", c["marking"]["p50_ms"],
                             c["marking"]["p95_ms"], "", ""])
            rows.append([name, "balances", r["balances"]["pairs"], r["balances"]["p50_ms"],
                         r["balances"]["p95_ms"], "", ""])
            rows.append([name, "ageing", r["ageing"]["orders"], r["ageing"]["p50_ms"],
                         r["ageing"]["p95_ms"], "", ""])
        print(B.table(["reader", "measurement", "rows/bytes", "p50", "p95", "call p50",
                       "rows p50"], rows))
        print("visible orders: " + ", ".join(f"{n} {r['visible_orders']:,}"
                                             for n, r in results.items()))
        if not has_reports:
            print("(entente/logistics/reports.py absent: CSV not measured)")
        print()
        worst = max(r["statement_full"]["total"]["p50_ms"] for r in results.values())
        detail = (f"worst full-period statement p50 {worst:,.0f} ms for {args.orders:,} orders "
                  f"(target < {STATEMENT_TARGET_S * 1000:,.0f} ms on PostgreSQL)")
        met: bool | None = None
        if env["db"] == "postgresql":
            met = worst < STATEMENT_TARGET_S * 1000
            print(B.verdict("statement", met, detail))
        else:
            print(f"(no target on SQLite) {detail}")
        B.emit_json({
            "bench": "statement", "env": env, "orders": args.orders, "years": args.years,
            "repeat": args.repeat, "load": {k: (round(v, 2) if isinstance(v, float) else v)
                                            for k, v in loaded.items()},
            "results": results, "plans": plans,
            "targets": {"statement_p50_ms_max": STATEMENT_TARGET_S * 1000},
            "worst_statement_p50_ms": worst, "met": {"statement": met},
        })
        if met is False:
            sys.exit(1)


if __name__ == "__main__":
    main()
