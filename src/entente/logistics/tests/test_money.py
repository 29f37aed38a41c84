"""Exact money, checked against an independent oracle: rational arithmetic (``Fraction``) and
rounding half to even written out by hand, never ``Decimal``'s own quantize."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entente.logistics import money, services
from entente.logistics.models import LedgerEntry, OrderLine, OrderState
from entente.logistics.services import LineSpec, LogisticsError

from .conftest import DAY, order_in

PLACES = {"GBP": 2, "JPY": 0}
PURE = settings(max_examples=100, deadline=None)
WITH_DB = settings(max_examples=12, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow])


def half_even(value: Fraction, places: int) -> Fraction:
    """The oracle: ``value`` rounded to ``places`` decimals, a tie to the even neighbour."""
    scaled = value * 10**places
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        floor += 1
    return Fraction(floor, 10**places)


def decimals(max_digits: int, places: int, *, minimum: int = 0) -> st.SearchStrategy[Decimal]:
    """Decimals as the model columns hold them: at most ``places`` decimals, below
    10^(max_digits - places); halves of a penny and of a yen (ties to round, times a whole
    quantity) are drawn often on purpose."""
    scale, whole = 10**places, 10**(max_digits - places)
    half = scale // 2
    ints = st.one_of(st.integers(minimum, whole * scale - 1),
                     st.integers(0, whole - 1).map(lambda n: n * scale + half),  # ¥x.5
                     st.integers(0, whole - 1).map(lambda n: n * scale // 100 + half // 100),
                     st.integers(minimum, 10**4))
    return ints.filter(lambda n: n >= minimum).map(lambda n: Decimal(n).scaleb(-places))


QUANTITIES = decimals(8, 4, minimum=1)  # up to 9,999.9999 … 10^4 units: realistic orders
PRICES = decimals(10, 4)
CURRENCY = st.sampled_from(sorted(PLACES))


# --------------------------------------------------------------------------- pure functions


@PURE
@given(st.integers(-10**20, 10**20), st.integers(0, 10), st.integers(0, 4))
def test_rounded_is_half_to_even_exactly(digits, scale, places):
    amount = Decimal(digits).scaleb(-scale)
    result = money.rounded(amount, places)
    assert isinstance(result, Decimal)
    assert Fraction(result) == half_even(Fraction(amount), places)
    assert result.as_tuple().exponent == -places  # expressed in the minor unit, always


def test_rounded_ties_go_to_the_even_neighbour():
    assert [money.rounded(Decimal(v), 2) for v in ("0.125", "0.135", "-0.125", "2.675")] == [
        Decimal("0.12"), Decimal("0.14"), Decimal("-0.12"), Decimal("2.68")]
    assert [money.rounded(Decimal(v), 0) for v in ("0.5", "1.5", "2.5", "1234567.5")] == [
        Decimal("0"), Decimal("2"), Decimal("2"), Decimal("1234568")]
    # A line's amount is rounded the same way, once: 3 sheets at ¥0.5, 1 litre at £0.125.
    assert money.line_amount(Decimal("3"), Decimal("0.5"), 0) == Decimal("2")
    assert money.line_amount(Decimal("5"), Decimal("0.5"), 0) == Decimal("2")
    assert money.line_amount(Decimal("1"), Decimal("0.125"), 2) == Decimal("0.12")
    assert money.line_amount(Decimal("0.5"), Decimal("0.25"), 2) == Decimal("0.12")


@PURE
@given(decimals(16, 4, minimum=1), decimals(20, 4), st.sampled_from([0, 2, 3, 4]))
def test_a_line_amount_is_the_exact_product_rounded_once_half_to_even(quantity, price, places):
    """Any quantity and price the columns allow, however long: no digit lost before the one
    rounding (a 28-digit context would lose some of a 36-digit product)."""
    amount = money.line_amount(quantity, price, places)
    assert isinstance(amount, Decimal)
    assert Fraction(amount) == half_even(Fraction(quantity) * Fraction(price), places)


@PURE
@given(st.lists(st.tuples(CURRENCY, QUANTITIES, PRICES), max_size=40))
def test_totals_are_the_exact_sums_of_line_amounts_per_currency(lines):
    amounts = [(currency, money.line_amount(q, p, PLACES[currency])) for currency, q, p in lines]
    sums = money.totals(amounts)
    assert list(sums) == sorted({currency for currency, _ in amounts})
    for currency, total in sums.items():
        assert isinstance(total, Decimal)
        assert Fraction(total) == sum(Fraction(a) for c, a in amounts if c == currency)
        # Whole pence, whole yen: a sum of minor units is a number of minor units.
        assert total == total.quantize(Decimal(1).scaleb(-PLACES[currency]))
    # Nothing lost across currencies: every minor unit of every line is in one total.
    assert sum(int(total.scaleb(PLACES[c])) for c, total in sums.items()) == sum(
        int(a.scaleb(PLACES[c])) for c, a in amounts)


def test_no_float_anywhere():
    """A float cannot hold 0.1; the functions keep Decimal in, Decimal out."""
    amount = money.line_amount(Decimal("3"), Decimal("0.1"), 2)
    assert amount == Decimal("0.30") and type(amount) is Decimal
    sums = money.totals([("GBP", Decimal("0.10"))] * 3)
    assert sums == {"GBP": Decimal("0.30")} and type(sums["GBP"]) is Decimal
    assert sum([0.1] * 3) != 0.3  # what a float would have said


# --------------------------------------------------------------------------- the rate of the day


APRIL = Decimal("0.00540541")  # 1/185 as its column keeps it (8 decimal places)


@pytest.fixture
def rates(world):
    """GBP→JPY: 190 from 1 January (the world's), 200 from 1 March; from 1 April a rate recorded
    the other way round, JPY→GBP."""
    services.record_rate(world.uk, day=dt.date(2026, 3, 1), base="GBP", quote="JPY", rate="200")
    services.record_rate(world.jp, day=dt.date(2026, 4, 1), base="jpy", quote="gbp", rate=APRIL)
    return world


def gbp_in_jpy(day: dt.date) -> Fraction:
    """The oracle's rate of the day, exact."""
    if day < dt.date(2026, 3, 1):
        return Fraction(190)
    if day < dt.date(2026, 4, 1):
        return Fraction(200)
    return 1 / Fraction(APRIL)


@pytest.mark.django_db
def test_the_rate_of_the_day_is_the_latest_on_or_before_it(rates):
    on = dt.date
    assert money.rate_on("GBP", "JPY", on(2026, 2, 28)) == Decimal("190")
    assert money.rate_on("GBP", "JPY", on(2026, 3, 1)) == Decimal("200")
    assert money.rate_on("GBP", "JPY", on(2026, 3, 31)) == Decimal("200")
    assert money.rate_on("GBP", "GBP", on(1999, 1, 1)) == 1
    with pytest.raises(money.MoneyError, match="no exchange rate between GBP and JPY on or "
                                               "before 2025-12-31"):
        money.rate_on("GBP", "JPY", on(2025, 12, 31))
    # The reverse rate is derived: 1 / 200, at 28 significant digits, rounded only after use.
    assert money.rate_on("JPY", "GBP", on(2026, 3, 2)) == Decimal("0.005")
    assert money.convert(Decimal("1938000"), "JPY", "GBP", on(2026, 2, 1)) == Decimal("10200.00")
    assert money.convert(Decimal("10200.00"), "GBP", "JPY", on(2026, 3, 2)) == Decimal("2040000")
    # From April the latest rate was recorded JPY→GBP: the GBP→JPY one is derived from it.
    assert money.rate_on("JPY", "GBP", on(2026, 4, 1)) == APRIL
    assert money.rate_on("GBP", "JPY", on(2026, 4, 1)) == Decimal(1) / APRIL
    assert money.convert(Decimal("100.00"), "GBP", "JPY", on(2026, 5, 1)) == Decimal("18500")
    assert money.convert(Decimal("7.77"), "GBP", "GBP", on(1999, 1, 1)) == Decimal("7.77")
    # Several currencies in one: each converted at the day's rate and rounded, then summed.
    assert money.in_one_currency({"GBP": Decimal("10.00"), "JPY": Decimal("1001")}, "GBP",
                                 on(2026, 3, 2)) == Decimal("15.00")  # ¥1,001 = £5.005 → 5.00


@pytest.mark.django_db
def test_a_days_rate_is_recorded_once_either_way_round(world):
    with pytest.raises(LogisticsError, match="already recorded for 2026-01-01"):
        services.record_rate(world.jp, day=dt.date(2026, 1, 1), base="JPY", quote="GBP",
                             rate="0.005")
    for base, quote, rate, message in (("GBP", "GBP", "1", "two different currencies"),
                                       ("GBP", "USD", "1", "two different currencies"),
                                       ("GBP", "JPY", "0", "more than zero"),
                                       ("GBP", "JPY", "-5", "more than zero"),
                                       ("GBP", "JPY", "1.123456789", "at most 8 decimal places")):
        with pytest.raises(LogisticsError, match=message):
            services.record_rate(world.uk, day=dt.date(2026, 2, 1), base=base, quote=quote,
                                 rate=rate)
    with pytest.raises(LogisticsError, match="Only a logistics officer"):
        services.record_rate(world.jp_planner, day=dt.date(2026, 2, 1), base="GBP", quote="JPY",
                             rate="191")


@pytest.mark.django_db
@WITH_DB
@given(pence=st.integers(0, 10**14), yen=st.integers(0, 10**14),
       day=st.dates(dt.date(2026, 1, 1), dt.date(2026, 6, 30)))
def test_conversion_is_the_exact_product_at_the_days_rate_rounded_once(rates, pence, yen, day):
    gbp, jpy = Decimal(pence).scaleb(-2), Decimal(yen)
    rate = gbp_in_jpy(day)
    in_yen = money.convert(gbp, "GBP", "JPY", day, PLACES)
    in_pounds = money.convert(jpy, "JPY", "GBP", day, PLACES)
    assert type(in_yen) is Decimal and type(in_pounds) is Decimal
    assert Fraction(in_yen) == half_even(Fraction(gbp) * rate, 0)
    assert Fraction(in_pounds) == half_even(Fraction(jpy) / rate, 2)
    # Totals across currencies: each one converted once, nothing else lost or added.
    both = money.in_one_currency({"GBP": gbp, "JPY": jpy}, "GBP", day, PLACES)
    assert both == gbp + in_pounds
    assert money.in_one_currency({"GBP": gbp, "JPY": jpy}, "JPY", day, PLACES) == jpy + in_yen


@pytest.mark.django_db
@WITH_DB
@given(st.lists(st.tuples(CURRENCY, QUANTITIES, decimals(8, 4, minimum=1)),
                min_size=1, max_size=6))
def test_orders_and_the_ledger_keep_every_penny_and_yen(world, lines):
    """Through the database and back: the lines, the order's totals and the receipt's ledger
    entries are the exact amounts computed in Python, as Decimal, on SQLite and PostgreSQL."""
    specs = [LineSpec("pol", f"Line {n}", str(q), "l", str(p), c)
             for n, (c, q, p) in enumerate(lines)]
    order = order_in(world, OrderState.RECEIVED, lines=specs, on=DAY)
    expected = money.totals((c, money.line_amount(q, p, PLACES[c])) for c, q, p in lines)
    stored = list(OrderLine.objects.filter(order=order).values_list("amount", flat=True))
    assert all(type(a) is Decimal for a in stored)
    assert services.order_totals(order) == expected
    ledger = dict(LedgerEntry.objects.filter(order=order).values_list("currency", "amount"))
    assert ledger == {c: a for c, a in expected.items()}
    assert all(type(a) is Decimal for a in ledger.values())
