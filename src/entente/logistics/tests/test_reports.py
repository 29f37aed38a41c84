"""The ledger and the reports built on it: balances are the sum of the entries, settled orders net
to zero, statements and histories add up, and a classified order is in no report a reader who may
not view it gets, down to the last penny."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import Any

import pytest

from entente.logistics import selectors, services
from entente.logistics.models import LedgerEntry, LedgerKind, Order, OrderState, SettlementMethod
from entente.logistics.services import LineSpec
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.security.selectors import NotFound

from .conftest import DAY, FUEL, MEALS, SECRET, UNCLASSIFIED, attach_sources, order_in

pytestmark = pytest.mark.django_db

S = OrderState
M = SettlementMethod
JAPANESE = LabelSpec("JPN", "TORIATSUKAI-CHUI", ("GBR", "JPN"))
JAPANESE_SECRET = LabelSpec("JPN", "GOKUHI", ("GBR", "JPN"))
ZERO = Decimal(0)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def sum_by(rows: Any) -> dict[Any, Decimal]:
    sums: dict[Any, Decimal] = {}
    for key, amount in rows:
        sums[key] = sums.get(key, ZERO) + amount
    return sums


# --------------------------------------------------------------------------- the ledger


def random_orders(world: Any, rng: random.Random, count: int) -> tuple[list[Order], set[Any]]:
    """Orders both ways, some classified, each walked to a random state on a random day."""
    orders, classified = [], set()
    for n in range(count):
        japanese = rng.random() < 0.4
        requester, supplier = (world.jp, world.uk) if japanese else (world.uk, world.jp)
        secret = rng.random() < 0.3
        label = ((JAPANESE_SECRET if secret else JAPANESE) if japanese
                 else (SECRET if secret else UNCLASSIFIED))
        lines = [LineSpec(rng.choice(["pol", "food", "water", "transportation"]), f"item {n}.{k}",
                          str(rng.randint(1, 5000)), "each",
                          str(Decimal(rng.randint(1, 10**6)).scaleb(-rng.choice([0, 2, 4]))),
                          rng.choice(["GBP", "JPY"]))
                 for k in range(rng.randint(1, 3))]
        method = rng.choice([M.REIMBURSEMENT, M.REIMBURSEMENT, M.REPLACEMENT])
        target = rng.choice([S.DRAFTED, S.REQUESTED, S.ACCEPTED, S.PROVIDED, S.RECEIVED,
                             S.RECEIVED, S.SETTLED, S.SETTLED, S.SETTLED, S.REFUSED,
                             S.CANCELLED])
        on = DAY + days(rng.randint(-60, 60))
        walk_to = {S.SETTLED: S.RECEIVED, S.REFUSED: S.REQUESTED,
                   S.CANCELLED: S.ACCEPTED}.get(target, target)
        order = order_in(world, walk_to, label=label, lines=lines, method=method,
                         requester=requester, supplier=supplier, on=on)
        later = on + days(rng.randint(0, 120))
        if target == S.SETTLED and method == M.REIMBURSEMENT:
            services.record_payment(supplier, order, f"REF {n}", later)
        elif target == S.SETTLED:
            services.record_return(supplier, order, later)
        elif target == S.REFUSED:
            services.refuse_order(supplier, order, "None to spare", on)
        elif target == S.CANCELLED:
            services.cancel_order(requester, order, "Not needed", on)
        orders.append(order)
        if secret:
            classified.add(order.pk)
    return orders, classified


def test_balances_are_the_sum_of_the_ledger_for_every_reader_and_day(world):
    orders, classified = random_orders(world, random.Random(20260302), 22)
    entries = list(LedgerEntry.objects.values_list("order_id", "debtor", "creditor", "currency",
                                                   "amount", "on"))
    assert entries and classified  # the seed gives a real mix
    for order in orders:
        order.refresh_from_db()
        mine = sum_by((c, a) for o, _d, _c, c, a, _on in entries if o == order.pk)
        if order.state in (S.SETTLED, S.CLOSED):
            assert mine and all(a == 0 for a in mine.values()), order  # settled nets to zero
        elif order.state == S.RECEIVED:
            assert mine == services.order_totals(order)
        else:
            assert mine == {}, order  # nothing is owed before a receipt is signed
    for viewer, hidden in ((world.uk, set()), (world.jp, set()), (world.uk_uncleared, classified)):
        for on in (DAY - days(61), DAY, DAY + days(45), DAY + days(400)):
            expected = {}
            for (debtor, creditor, currency), total in sum_by(
                    ((d, c, cur), a) for o, d, c, cur, a, day in entries
                    if o not in hidden and day <= on).items():
                expected.setdefault((debtor, creditor), {})[currency] = total
            got = selectors.balances(viewer, on)
            assert {(b.debtor, b.creditor): b.amounts for b in got} == expected, (viewer, on)
            for balance in got:
                assert all(type(a) is Decimal for a in balance.amounts.values())
                # Converted at 190 (the only rate): pounds plus yen / 190, rounded once.
                assert balance.converted == balance.amounts.get("GBP", ZERO) + (
                    balance.amounts.get("JPY", ZERO) / 190).quantize(Decimal("0.01"))
    assert AuditEvent.objects.filter(action="logistics.balances", allowed=True).count() == 12


def test_a_settled_order_nets_to_zero_and_the_pair_owes_nothing(world):
    order = order_in(world, S.RECEIVED)
    [owed] = selectors.balances(world.jp, DAY)
    assert (owed.debtor, owed.creditor, owed.amounts) == (
        "GBR", "JPN", {"GBP": Decimal("10200.00"), "JPY": Decimal("480000")})
    assert owed.converted == Decimal("12726.32")  # £10,200 + ¥480,000 / 190
    services.record_payment(world.jp, order, "BACS 1", DAY + days(5))
    assert selectors.balances(world.uk, DAY + days(4))[0].amounts == owed.amounts
    [settled] = selectors.balances(world.uk, DAY + days(5))
    assert settled.amounts == {"GBP": 0, "JPY": 0} and settled.converted == 0
    assert list(selectors.ledger_of(world.uk, order).values_list("kind", "on")) == [
        (LedgerKind.RECEIPT, DAY), (LedgerKind.RECEIPT, DAY),
        (LedgerKind.SETTLEMENT, DAY + days(5)), (LedgerKind.SETTLEMENT, DAY + days(5))]


def test_a_balance_without_a_rate_is_shown_by_currency_only(world):
    order_in(world, S.RECEIVED, on=dt.date(2025, 12, 1))
    [early] = selectors.balances(world.uk, dt.date(2025, 12, 31))  # the first rate is 1 January
    assert early.amounts == {"GBP": Decimal("10200"), "JPY": Decimal("480000")}
    assert early.converted is None
    [in_yen] = selectors.balances(world.uk, DAY, reporting="JPY")
    assert in_yen.converted == Decimal("2418000")  # £10,200 × 190 + ¥480,000


# --------------------------------------------------------------------------- statement, history


@pytest.fixture
def accounts(world) -> dict[str, Order]:
    """A: UK owes, received 15 January, paid 31 March. B: UK owes, received 10 March.
    C: Japan owes £1,000, received 5 February. D: UK owes, received 2 April (after March).
    Rates: 190 from 1 January, 200 from 31 March."""
    rations = LineSpec("food", "Rations", "100", "meals", "10", "GBP")
    a = order_in(world, S.RECEIVED, on=dt.date(2026, 1, 15))
    b = order_in(world, S.RECEIVED, on=dt.date(2026, 3, 10))
    c = order_in(world, S.RECEIVED, requester=world.jp, supplier=world.uk, label=JAPANESE,
                 lines=[rations], on=dt.date(2026, 2, 5))
    d = order_in(world, S.RECEIVED, lines=[FUEL], on=dt.date(2026, 4, 2))
    services.record_payment(world.jp, a, "BACS A", dt.date(2026, 3, 31))
    services.record_rate(world.uk, day=dt.date(2026, 3, 31), base="GBP", quote="JPY", rate="200")
    return {"a": a, "b": b, "c": c, "d": d}


def test_a_statement_for_a_period(world, accounts):
    a, b = accounts["a"], accounts["b"]
    march = selectors.statement(world.uk, "GBR", "JPN", dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert march.opening == {"GBP": Decimal("9200"), "JPY": Decimal("480000")}  # A less C
    assert march.debits == {"GBP": Decimal("10200"), "JPY": Decimal("480000")}  # B
    assert march.credits == {"GBP": Decimal("10200"), "JPY": Decimal("480000")}  # A paid
    assert march.closing == {"GBP": Decimal("9200"), "JPY": Decimal("480000")}
    assert march.entry_count == 4
    # Converted at the rate of the period's last day (200), opening and closing alike, so the
    # converted figures move only by the period's entries.
    assert march.closing_converted == Decimal("11600.00")  # £9,200 + ¥480,000 / 200
    assert march.opening_converted == Decimal("11600.00")
    assert list(march.rows()) == [
        (dt.date(2026, 3, 10), b.number, LedgerKind.RECEIPT, "GBP", Decimal("10200")),
        (dt.date(2026, 3, 10), b.number, LedgerKind.RECEIPT, "JPY", Decimal("480000")),
        (dt.date(2026, 3, 31), a.number, LedgerKind.SETTLEMENT, "GBP", Decimal("-10200")),
        (dt.date(2026, 3, 31), a.number, LedgerKind.SETTLEMENT, "JPY", Decimal("-480000"))]
    # The other way round: what Japan owes the UK, every sign reversed.
    theirs = selectors.statement(world.jp, "JPN", "GBR", dt.date(2026, 3, 1),
                                 dt.date(2026, 3, 31))
    assert theirs.opening == {c: -v for c, v in march.opening.items()}
    assert theirs.debits == march.credits and theirs.credits == march.debits
    assert [row[4] for row in theirs.rows()] == [-row[4] for row in march.rows()]
    # The year so far: January's receipt, C and the rest are in the period, D after it.
    year = selectors.statement(world.uk, "GBR", "JPN", dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert year.opening == {} and year.opening_converted == 0
    assert year.debits == {"GBP": Decimal("20400"), "JPY": Decimal("960000")}
    assert year.credits == {"GBP": Decimal("11200"), "JPY": Decimal("480000")}
    assert year.closing == march.closing and year.entry_count == 7
    assert [row[1] for row in year.rows()][:3] == [a.number, a.number, accounts["c"].number]
    with pytest.raises(ValueError, match="ends before it starts"):
        selectors.statement(world.uk, "GBR", "JPN", dt.date(2026, 3, 2), dt.date(2026, 3, 1))
    assert AuditEvent.objects.filter(action="logistics.statement").count() == 3


def test_consecutive_statements_follow_on(world, accounts):
    february = selectors.statement(world.uk, "GBR", "JPN", dt.date(2026, 2, 1),
                                   dt.date(2026, 2, 28))
    march = selectors.statement(world.uk, "GBR", "JPN", dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    april = selectors.statement(world.uk, "GBR", "JPN", dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    assert february.closing == march.opening and march.closing == april.opening
    assert april.closing == {"GBP": Decimal("19400"), "JPY": Decimal("480000")}  # + D
    for each in (february, march, april):
        for currency in each.closing:
            assert each.closing[currency] == (each.opening.get(currency, ZERO)
                                              + each.debits.get(currency, ZERO)
                                              - each.credits.get(currency, ZERO))


def test_the_balance_history_month_by_month(world, accounts):
    history = selectors.balance_history(world.uk, "GBR", "JPN", dt.date(2026, 1, 20),
                                        dt.date(2026, 4, 15))
    assert [(p.day, p.amounts) for p in history] == [
        (dt.date(2026, 1, 31), {"GBP": Decimal("10200"), "JPY": Decimal("480000")}),
        (dt.date(2026, 2, 28), {"GBP": Decimal("9200"), "JPY": Decimal("480000")}),
        (dt.date(2026, 3, 31), {"GBP": Decimal("9200"), "JPY": Decimal("480000")}),
        (dt.date(2026, 4, 15), {"GBP": Decimal("19400"), "JPY": Decimal("480000")})]
    # Each point is the balance of that day.
    for point in history:
        pairs = {(b.debtor, b.creditor): b.amounts
                 for b in selectors.balances(world.uk, point.day)}
        ours, theirs = pairs.get(("GBR", "JPN"), {}), pairs.get(("JPN", "GBR"), {})
        assert point.amounts == {c: ours.get(c, ZERO) - theirs.get(c, ZERO)
                                 for c in {*ours, *theirs}}
    reverse = selectors.balance_history(world.jp, "JPN", "GBR", dt.date(2026, 1, 20),
                                        dt.date(2026, 4, 15))
    assert [{c: -v for c, v in p.amounts.items()} for p in reverse] == [p.amounts
                                                                        for p in history]
    # One day, and a period that ends on a month's last day.
    assert [p.day for p in selectors.balance_history(world.uk, "GBR", "JPN", dt.date(2026, 2, 1),
                                                     dt.date(2026, 3, 31))] == [
        dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    [one] = selectors.balance_history(world.uk, "GBR", "JPN", DAY, DAY)
    assert one.day == DAY and one.amounts == {"GBP": Decimal("9200"), "JPY": Decimal("480000")}


# --------------------------------------------------------------------------- ageing, reconciliation


def test_ageing_counts_open_orders_by_age_and_value(world):
    on = dt.date(2026, 6, 30)
    requested = {dt.date(2026, 6, 20): "0–30", dt.date(2026, 5, 31): "0–30",
                 dt.date(2026, 5, 30): "31–60", dt.date(2026, 4, 10): "61–90",
                 dt.date(2026, 2, 1): "91–180", dt.date(2025, 12, 1): "181+"}
    for day in requested:
        order_in(world, S.ACCEPTED, on=day)
    refused = order_in(world, S.REQUESTED, on=dt.date(2026, 6, 20))
    services.refuse_order(world.jp, refused, "No", dt.date(2026, 6, 21))
    theirs = order_in(world, S.RECEIVED, requester=world.jp, supplier=world.uk, label=JAPANESE,
                      lines=[MEALS], on=dt.date(2026, 6, 1))
    rows = selectors.ageing(world.uk, on)
    fuel_and_meals = {"GBP": Decimal("10200"), "JPY": Decimal("480000")}
    assert [(r.band, r.requesting, r.supplying, r.orders, r.amounts) for r in rows] == [
        ("0–30", "GBR", "JPN", 2, {"GBP": Decimal("20400"), "JPY": Decimal("960000")}),
        ("0–30", "JPN", "GBR", 1, {"JPY": Decimal("480000")}),
        ("31–60", "GBR", "JPN", 1, fuel_and_meals),
        ("61–90", "GBR", "JPN", 1, fuel_and_meals),
        ("91–180", "GBR", "JPN", 1, fuel_and_meals),
        ("181+", "GBR", "JPN", 1, fuel_and_meals)]
    assert theirs.state == S.RECEIVED


def test_reconciliation_names_what_does_not_agree(world):
    provided = order_in(world, S.PROVIDED)
    received = order_in(world, S.RECEIVED)
    settled = order_in(world, S.RECEIVED)
    services.record_payment(world.jp, settled, "BACS 1", DAY + days(1))
    closed = order_in(world, S.RECEIVED)
    services.record_payment(world.jp, closed, "BACS 2", DAY + days(1))
    attach_sources(world.uk, closed)
    services.close_order(world.uk, closed, DAY + days(2))
    draft = order_in(world, S.DRAFTED)

    def rows(on: dt.date) -> dict[str, Any]:
        return {r.order.number: r for r in selectors.reconciliation(world.jp, on=on)}

    now = rows(DAY + days(30))
    assert all(r.problems == () for r in now.values())
    assert now[received.number].owed == {"GBP": Decimal("10200"), "JPY": Decimal("480000")}
    assert now[received.number].totals == now[received.number].owed
    assert now[settled.number].owed == {} and now[closed.number].owed == {}
    assert now[draft.number].owed == {} and now[draft.number].totals == now[settled.number].totals
    assert now[provided.number].requesting_side == f"requested {DAY}"
    assert now[provided.number].supplying_side == f"provided {DAY}"
    assert now[settled.number].requesting_side == f"receipt signed {DAY}"
    assert now[settled.number].supplying_side == f"settled {DAY + days(1)}"
    later = rows(DAY + days(91))
    assert later[provided.number].problems == ("provided 91 days ago, receipt not signed",)
    assert later[received.number].problems == (f"settlement overdue since {DAY + days(90)}",)
    assert later[settled.number].problems == () and later[closed.number].problems == ()
    assert set(later) == {o.number for o in (provided, received, settled, closed, draft)}


# --------------------------------------------------------------------------- classified orders


@pytest.fixture
def classified(world) -> dict[str, Order]:
    """An ordinary order received; a SECRET one received; a SECRET one paid and closed; a
    SECRET draft. Everything the uncleared officer may see is the first."""
    plain = order_in(world, S.RECEIVED)
    secret_line = LineSpec("pol", "Special fuel for Operation Kestrel", "1000", "litres", "2.00",
                           "GBP")
    secret = order_in(world, S.RECEIVED, label=SECRET, lines=[secret_line, MEALS])
    paid = order_in(world, S.RECEIVED, label=SECRET, lines=[secret_line],
                    on=DAY - days(10))
    services.record_payment(world.jp, paid, "BACS S", DAY)
    attach_sources(world.uk, paid, label=SECRET)
    services.close_order(world.uk, paid, DAY)
    draft = order_in(world, S.DRAFTED, label=SECRET, lines=[secret_line])
    return {"plain": plain, "secret": secret, "paid": paid, "draft": draft}


def test_a_non_cleared_officer_sees_no_classified_order_anywhere(world, classified):
    stranger, plain = world.uk_uncleared, classified["plain"]
    hidden = [classified[k] for k in ("secret", "paid", "draft")]
    later = DAY + days(200)
    # Listings and counts, with and without filters.
    assert list(selectors.visible_orders(stranger)) == [plain]
    assert selectors.list_orders(stranger) == [plain]
    assert selectors.count_orders(stranger) == 1
    assert selectors.count_orders(stranger, text="Kestrel") == 0
    assert selectors.count_orders(stranger, state=S.CLOSED) == 0
    assert selectors.count_orders(stranger, overdue_on=later) == 1
    assert list(selectors.visible_orders(stranger, overdue_on=later)) == [plain]
    for order in hidden:
        assert selectors.count_orders(stranger, text=order.number) == 0
        # By id or by number: not found, exactly as an id that names nothing.
        for key in (order.pk, order.number):
            with pytest.raises(NotFound):
                selectors.order_for(stranger, key)
        # Its parts, even to a caller who holds the order already.
        assert not selectors.lines_of(stranger, order).exists()
        assert not selectors.events_of(stranger, order).exists()
        assert not selectors.ledger_of(stranger, order).exists()
        assert selectors.settlement_of(stranger, order) is None
        assert not selectors.source_documents_of(stranger, order).exists()
        assert selectors.totals_of(stranger, order) == {}
    with pytest.raises(NotFound):
        selectors.order_for(stranger, uuid.uuid4())
    # Money: only the ordinary order's.
    [owed] = selectors.balances(stranger, later)
    assert owed.amounts == {"GBP": Decimal("10200"), "JPY": Decimal("480000")}
    statement = selectors.statement(stranger, "GBR", "JPN", DAY - days(30), later)
    assert statement.debits == owed.amounts and statement.credits == {}
    assert statement.closing == owed.amounts and statement.entry_count == 2
    assert {row[1] for row in statement.rows()} == {plain.number}
    assert [p.amounts for p in selectors.balance_history(stranger, "GBR", "JPN",
                                                         dt.date(2026, 2, 1), DAY)] == [
        {}, {"GBP": Decimal("10200"), "JPY": Decimal("480000")}]
    assert [(r.orders, r.amounts) for r in selectors.ageing(stranger, DAY)] == [(1, owed.amounts)]
    assert [r.order for r in selectors.reconciliation(stranger, on=later)] == [plain]
    # No audit record of a listing names a classified order for this reader either.
    for event in AuditEvent.objects.filter(actor=stranger.username, action="access.list"):
        assert not {str(o.pk) for o in hidden} & set(event.details["ids"])


def test_the_cleared_officers_of_both_sides_see_every_order(world, classified):
    every = {o.pk for o in classified.values()}
    later = DAY + days(200)
    for reader in (world.uk, world.jp):
        assert {o.pk for o in selectors.list_orders(reader)} == every
        assert selectors.count_orders(reader, text="Kestrel") == 3
        for order in classified.values():
            assert selectors.order_for(reader, order.number) == order
            assert selectors.lines_of(reader, order).exists()
        assert selectors.totals_of(reader, classified["secret"]) == {"GBP": Decimal("2000.00"),
                                                                     "JPY": Decimal("480000")}
        assert selectors.source_documents_of(reader, classified["paid"]).count() == 3
        [owed] = selectors.balances(reader, later)
        assert owed.amounts == {"GBP": Decimal("12200"), "JPY": Decimal("960000")}
        statement = selectors.statement(reader, "GBR", "JPN", DAY - days(30), later)
        assert statement.debits == {"GBP": Decimal("14200"), "JPY": Decimal("960000")}
        assert statement.credits == {"GBP": Decimal("2000")}
        assert sum(r.orders for r in selectors.ageing(reader, DAY)) == 3
        assert len(selectors.reconciliation(reader, on=later)) == 4


def test_database_sums_are_exact_to_the_penny_on_every_database(world):
    """SQLite adds decimals as binary floating point: 3,000 entries of £0.10 and £471,262,635.46
    must still sum to exactly £471,262,935.46 in balances and statements (they did not before:
    .459999…)."""
    order = order_in(world, OrderState.RECEIVED, lines=(FUEL,))
    LedgerEntry.objects.filter(order=order).delete()
    entries = [LedgerEntry(order=order, debtor_id="GBR", creditor_id="JPN", currency_id="GBP",
                           amount=Decimal("0.10"), on=DAY, kind=LedgerKind.RECEIPT)
               for _ in range(3000)]
    entries.append(LedgerEntry(order=order, debtor_id="GBR", creditor_id="JPN",
                               currency_id="GBP", amount=Decimal("471262635.46"), on=DAY,
                               kind=LedgerKind.RECEIPT))
    LedgerEntry.objects.bulk_create(entries)
    exact = Decimal("471262935.46")
    [balance] = selectors.balances(world.uk, DAY)
    assert balance.amounts == {"GBP": exact} and str(balance.amounts["GBP"]) == "471262935.46"
    account = selectors.statement(world.uk, "GBR", "JPN", DAY, DAY)
    assert account.debits == account.closing == {"GBP": exact} and account.entry_count == 3001
