"""Exact money: ``Decimal`` amounts with their currency, rounded once, half to even, to the
currency's minor unit (pence, yen). Sums are never rounded: the total of exact line amounts is
exact. Conversion uses the rate of the day (the latest rate on or before it; a reverse rate is
derived by division at 28 significant digits, then rounded once)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from django.db.models import Q
from django.utils.translation import gettext as _

from entente.logistics.models import Currency, ExchangeRate


class MoneyError(ValueError):
    """An amount or conversion that cannot be done; the message says why."""


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def minor_units() -> dict[str, int]:
    return dict(Currency.objects.values_list("code", "minor_units"))


def rounded(amount: Decimal, places: int) -> Decimal:
    """``amount`` to ``places`` decimal places, half to even (banker's rounding, as ledgers do)."""
    with localcontext() as ctx:
        ctx.prec = 40
        return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def line_amount(quantity: Decimal, unit_price: Decimal, places: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40  # 16 + 20 digits: the product is exact before the one rounding
        return rounded(quantity * unit_price, places)


def summed(total: Decimal | float | int | None, currency: str,
           places: dict[str, int]) -> Decimal:
    """A sum the database made of amounts in one currency, exact. Every amount on record (a
    line's, a ledger entry's) is a whole number of the currency's minor unit, so their sum is
    too; but SQLite adds decimals as binary floating point and may answer 471262635.459999 for
    .46. Rounding to the minor unit restores the exact sum while it has at most 15 significant
    digits (PostgreSQL's sums are exact already, and unchanged by this)."""
    return rounded(Decimal(str(total or 0)), places[currency])


def totals(amounts: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """Exact sums per currency, in currency order."""
    sums: dict[str, Decimal] = {}
    for currency, amount in amounts:
        sums[currency] = sums.get(currency, Decimal(0)) + amount
    return dict(sorted(sums.items()))


def rate_on(base: str, quote: str, on: dt.date) -> Decimal:
    """How many ``quote`` one ``base`` is worth on the day: the latest rate of the pair (either
    way round) recorded on or before it."""
    if base == quote:
        return Decimal(1)
    row = (ExchangeRate.objects.filter(Q(base_id=base, quote_id=quote)
                                       | Q(base_id=quote, quote_id=base), day__lte=on)
           .order_by("-day", "-recorded_at").values_list("base_id", "rate").first())
    if row is None:
        raise MoneyError(_("There is no exchange rate between %(base)s and %(quote)s on or "
                           "before %(day)s; record one first.")
                         % {"base": base, "quote": quote, "day": on.isoformat()})
    found_base, rate = row
    if found_base == base:
        return rate
    with localcontext() as ctx:
        ctx.prec = 28
        return Decimal(1) / rate


def convert(amount: Decimal, base: str, quote: str, on: dt.date,
            places: dict[str, int] | None = None) -> Decimal:
    """``amount`` of ``base`` in ``quote`` at the rate of the day, rounded once."""
    if base == quote:
        return amount
    places = places or minor_units()
    with localcontext() as ctx:
        ctx.prec = 40
        return rounded(amount * rate_on(base, quote, on), places[quote])


def in_one_currency(sums: dict[str, Decimal], quote: str, on: dt.date,
                    places: dict[str, int] | None = None) -> Decimal:
    """The sum of amounts in several currencies, each converted at the day's rate."""
    places = places or minor_units()
    return sum((convert(amount, currency, quote, on, places)
                for currency, amount in sums.items()), Decimal(0))
