"""Reads of orders, the ledger and the reports built on it: always through the kernel's
visibility filter, in SQL, and audited.

An order's parts (lines, events, ledger entries, settlement) are exactly as visible as the order
(``visible(..., label="order__label")``); its source documents are exchange documents with labels
of their own and are listed only where the reader may view them. Balances, statements, ageing and
reconciliation count only the orders the reader may view, so a total never reveals a classified
order: two readers with different clearances may see different totals, and each page says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from entente.logistics import money
from entente.logistics.models import (
    OPEN_STATES,
    Agreement,
    Currency,
    ExchangeRate,
    LedgerEntry,
    Order,
    OrderEvent,
    OrderLine,
    OrderState,
    Settlement,
    SourceDocument,
)
from entente.security import audit
from entente.security.kernel import Action, record_listing, visible
from entente.security.selectors import not_found, parse_id, require

PAGE_SIZE = 50
MAX_LISTED = 500
# Ageing bands: (upper bound in days, inclusive; None for the last, open-ended band).
AGE_BANDS: tuple[tuple[int | None, str], ...] = (
    (30, "0–30"), (60, "31–60"), (90, "61–90"), (180, "91–180"), (None, "181+"))


def _today() -> dt.date:
    return timezone.localdate()


# --------------------------------------------------------------------------- orders


def visible_orders(user: Any, *, state: str = "", requesting: str = "", supplying: str = "",
                   activity: str = "", text: str = "", overdue_on: dt.date | None = None,
                   exercise: Any = None) -> QuerySet[Order]:
    """The orders the user may view, filtered (not yet audited: callers list or count)."""
    queryset = Order.objects.select_related("label", "activity", "exercise",
                                            "requesting_officer", "supplying_officer")
    if state:
        queryset = queryset.filter(state=state)
    if requesting:
        queryset = queryset.filter(requesting_nation_id=requesting)
    if supplying:
        queryset = queryset.filter(supplying_nation_id=supplying)
    if activity:
        queryset = queryset.filter(activity__code=activity)
    if exercise is not None:
        queryset = queryset.filter(exercise=exercise)
    if overdue_on is not None:
        queryset = queryset.filter(overdue(overdue_on))
    if needle := text.strip():
        queryset = queryset.filter(Q(number__icontains=needle)
                                   | Q(exercise__code__icontains=needle)
                                   | Q(exercise__name_en__icontains=needle)
                                   | Q(exercise__name_ja__icontains=needle)
                                   | Q(activity_description__icontains=needle)
                                   | Q(lines__description__icontains=needle)).distinct()
    return visible(user, queryset)


def overdue(on: dt.date) -> Q:
    """Orders whose receipt is signed and whose settlement deadline has passed."""
    return Q(state=OrderState.RECEIVED, settle_by__lt=on)


def list_orders(user: Any, *, offset: int = 0, limit: int = PAGE_SIZE,
                **filters: Any) -> list[Order]:
    orders = list(visible_orders(user, **filters).order_by("-created_at", "id")
                  [offset:offset + limit])
    record_listing(user, orders, what="logistics.order")  # type: ignore[arg-type]
    return orders


def count_orders(user: Any, **filters: Any) -> int:
    return visible_orders(user, **filters).count()


@dataclass(frozen=True)
class ExerciseOrders:
    orders: list[Order]  # the first MAX_LISTED, newest first
    count: int
    totals: dict[str, Decimal]  # every visible order's lines, by currency (cancelled and
    # refused orders left out: nothing was or will be supplied under them)


def orders_of_exercise(user: Any, exercise: Any) -> ExerciseOrders:
    """The ACSA orders raised under an exercise that the reader may view, with their totals."""
    orders = visible_orders(user, exercise=exercise)
    live = orders.exclude(state__in=[OrderState.CANCELLED, OrderState.REFUSED])
    places = money.minor_units()
    totals = money.totals((c, money.summed(t, c, places)) for c, t in (
        OrderLine.objects.filter(order__in=live.values("pk")).order_by()
        .values_list("currency_id").annotate(t=Sum("amount")).values_list("currency_id", "t")))
    shown = list(orders.order_by("-created_at", "id")[:MAX_LISTED])
    record_listing(user, shown, what="logistics.order")  # type: ignore[arg-type]
    return ExerciseOrders(shown, orders.count(), totals)


def order_for(user: Any, key: Any, action: Action = Action.VIEW) -> Order:
    """An order by id or number if the kernel allows ``action``; NotFound otherwise, exactly as
    for an order that does not exist."""
    pk = parse_id(key)
    lookup = Q(pk=pk) if pk else Q(number=str(key).strip()[:40])
    order = (Order.objects.select_related("label", "agreement", "activity", "requesting_officer",
                                          "supplying_officer", "received_by", "owner")
             .filter(lookup).first())
    if order is None:
        raise not_found(user, action, "logistics.order", key)
    require(user, action, order)
    return order


def _parts(user: Any, queryset: QuerySet[Any], order: Order) -> QuerySet[Any]:
    """One order's rows, through the kernel (the filter is applied in SQL even for a reader who
    holds the order already, so a caller that skipped ``order_for`` gets nothing)."""
    return visible(user, queryset.filter(order=order), label="order__label")


def lines_of(user: Any, order: Order) -> QuerySet[OrderLine]:
    return _parts(user, OrderLine.objects.select_related("category", "currency"), order)


def events_of(user: Any, order: Order) -> QuerySet[OrderEvent]:
    return _parts(user, OrderEvent.objects.select_related("by"), order)


def ledger_of(user: Any, order: Order) -> QuerySet[LedgerEntry]:
    return _parts(user, LedgerEntry.objects.all(), order)


def settlement_of(user: Any, order: Order) -> Settlement | None:
    return _parts(user, Settlement.objects.select_related("counter_order"), order).first()


def source_documents_of(user: Any, order: Order) -> QuerySet[SourceDocument]:
    """The order's source documents that the reader may view (each has its own label)."""
    return visible(user, _parts(user, SourceDocument.objects.select_related(
        "document", "document__label", "attached_by"), order), label="document__label")


def totals_of(user: Any, order: Order) -> dict[str, Decimal]:
    return money.totals(lines_of(user, order).values_list("currency_id", "amount"))


def totals_by_order(user: Any, orders: list[Order]) -> dict[Any, dict[str, Decimal]]:
    """Each listed order's total by currency, in one query through the kernel."""
    sums: dict[Any, dict[str, Decimal]] = {}
    places = money.minor_units()
    rows = (visible(user, OrderLine.objects.filter(order__in=[o.pk for o in orders]),
                    label="order__label")
            .order_by().values_list("order_id", "currency_id").annotate(t=Sum("amount"))
            .values_list("order_id", "currency_id", "t"))
    for order_id, currency, total in rows:
        sums.setdefault(order_id, {})[currency] = money.summed(total, currency, places)
    return sums


def listed(user: Any, rows: QuerySet[Any], *, what: str, limit: int = MAX_LISTED) -> list[Any]:
    """A listing of rows already filtered by the kernel, shown and so audited (one event)."""
    shown = list(rows[:limit])
    record_listing(user, shown, what=what)
    return shown


# --------------------------------------------------------------------------- money


def orders_in_ledger(user: Any, *, pair: tuple[str, str] | None = None,
                     until: dt.date | None = None) -> QuerySet[Order]:
    """The orders the user may view that have ledger entries (between the pair, up to the day):
    those a balance or statement sums."""
    entries = LedgerEntry.objects.all()
    if pair is not None:
        a, b = pair
        entries = entries.filter(Q(debtor_id=a, creditor_id=b) | Q(debtor_id=b, creditor_id=a))
    if until is not None:
        entries = entries.filter(on__lte=until)
    return visible(user, Order.objects.filter(pk__in=entries.values("order_id")))


def _visible_ledger(user: Any) -> QuerySet[LedgerEntry]:
    return visible(user, LedgerEntry.objects.all(), label="order__label")


@dataclass(frozen=True)
class Balance:
    debtor: str
    creditor: str
    amounts: dict[str, Decimal]  # currency → amount owed
    converted: Decimal | None  # all of it in the reporting currency, at the day's rate
    reporting: str


def _sums(entries: QuerySet[LedgerEntry]) -> dict[tuple[str, str], dict[str, Decimal]]:
    sums: dict[tuple[str, str], dict[str, Decimal]] = {}
    places = money.minor_units()
    for debtor, creditor, currency, amount in (
            entries.order_by().values_list("debtor_id", "creditor_id", "currency_id")
            .annotate(total=Sum("amount")).values_list("debtor_id", "creditor_id",
                                                       "currency_id", "total")):
        sums.setdefault((debtor, creditor), {})[currency] = money.summed(amount, currency,
                                                                         places)
    return sums


def _converted(amounts: dict[str, Decimal], reporting: str, on: dt.date,
               places: dict[str, int]) -> Decimal | None:
    try:
        return money.in_one_currency(amounts, reporting, on, places)
    except money.MoneyError:
        return None  # no rate yet: the page shows the amounts by currency only


def balances(user: Any, on: dt.date | None = None, reporting: str = "GBP") -> list[Balance]:
    """What each party owes the other at the end of the day, by currency and converted, from the
    ledger entries of the orders the user may view (audited as one read)."""
    on = on or _today()
    places = money.minor_units()
    sums = _sums(_visible_ledger(user).filter(on__lte=on))
    audit.record("logistics.balances", actor=user, allowed=True,
                 reason="ledger summed through the visibility filter",
                 detail={"on": on.isoformat(), "pairs": len(sums)})
    return [Balance(debtor, creditor, dict(sorted(amounts.items())),
                    _converted(amounts, reporting, on, places), reporting)
            for (debtor, creditor), amounts in sorted(sums.items())]


@dataclass
class Statement:
    """A statement of account between two parties for a period: what ``a`` owed ``b`` at the
    start (negative: ``b`` owed ``a``), every entry in the period, and what is owed at the end,
    by currency and converted at the rate of the last day."""

    a: str
    b: str
    start: dt.date
    end: dt.date
    reporting: str
    opening: dict[str, Decimal]
    closing: dict[str, Decimal]
    debits: dict[str, Decimal]  # a owes b more
    credits: dict[str, Decimal]  # a owes b less
    entry_count: int
    opening_converted: Decimal | None
    closing_converted: Decimal | None
    entries: QuerySet[Any] = field(repr=False)  # annotated with "signed"

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """(day, order number, kind, currency, amount as a owes b) for each entry, in order,
        read in chunks so that a statement of a hundred thousand orders stays small in memory."""
        yield from self.entries.values_list("on", "order__number", "kind", "currency_id",
                                            "signed").iterator(chunk_size=5000)


def _owed(a: str, b: str) -> Any:
    """An entry's amount as what ``a`` owes ``b``: positive when a is the debtor."""
    return Case(When(debtor_id=a, then=F("amount")), default=-F("amount"))


def statement(user: Any, a: str, b: str, start: dt.date, end: dt.date,
              reporting: str = "GBP") -> Statement:
    if end < start:
        raise ValueError("the period ends before it starts")
    places = money.minor_units()
    between = _visible_ledger(user).filter(Q(debtor_id=a, creditor_id=b)
                                           | Q(debtor_id=b, creditor_id=a))
    signed = between.annotate(signed=_owed(a, b))
    in_period = Q(on__gte=start, on__lte=end)
    more = Q(debtor_id=a, amount__gt=0) | Q(debtor_id=b, amount__lt=0)  # a owes b more
    # One pass over the reader's ledger for all four figures (four queries read it four times:
    # 0.5 s of a 100,000-order statement).
    sums = (signed.filter(on__lte=end).order_by().values("currency_id").annotate(
        opening=Sum("signed", filter=Q(on__lt=start)),
        debits=Sum("signed", filter=in_period & more),
        credits=Sum(-F("signed"), filter=in_period & ~more),
        entries=Count("id", filter=in_period)).order_by("currency_id"))
    opening: dict[str, Decimal] = {}
    debits: dict[str, Decimal] = {}
    credits: dict[str, Decimal] = {}
    count = 0
    for row in sums:
        currency = row["currency_id"]
        for figure, into in (("opening", opening), ("debits", debits), ("credits", credits)):
            if row[figure] is not None:
                into[currency] = money.summed(row[figure], currency, places)
        count += row["entries"]
    zero = Decimal(0)
    closing = {c: opening.get(c, zero) + debits.get(c, zero) - credits.get(c, zero)
               for c in sorted({*opening, *debits, *credits})}
    period = signed.filter(in_period)
    audit.record("logistics.statement", actor=user, allowed=True,
                 reason="ledger read through the visibility filter",
                 detail={"a": a, "b": b, "start": start.isoformat(), "end": end.isoformat(),
                         "entries": count})
    # One statement, one rate (the last day's), opening included: at the start's rate the
    # converted opening and closing would differ by a rate change no entry explains.
    return Statement(a, b, start, end, reporting, opening, closing, debits, credits, count,
                     _converted(opening, reporting, end, places) if opening else zero,
                     _converted(closing, reporting, end, places) if closing else zero,
                     period.order_by("on", "id"))


def rates(on: dt.date | None = None, limit: int = 30) -> QuerySet[ExchangeRate]:
    """The most recent rates (rates are not classified)."""
    queryset = ExchangeRate.objects.select_related("base", "quote")
    if on is not None:
        queryset = queryset.filter(day__lte=on)
    return queryset.order_by("-day", "base", "quote")[:limit]


def currencies() -> QuerySet[Currency]:
    return Currency.objects.all()


def agreements() -> QuerySet[Agreement]:
    return Agreement.objects.prefetch_related("parties", "activities", "categories",
                                              "categories__allowed_for", "terms")


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class AgeingRow:
    band: str
    requesting: str
    supplying: str
    orders: int
    amounts: dict[str, Decimal]


def _age_band(on: dt.date) -> Case:
    """The band of an open order's age: days since it was requested (drafted, if not yet)."""
    whens = []
    for index, (days, _label) in enumerate(AGE_BANDS):
        if days is not None:
            whens.append(When(Q(requested_on__gte=on - dt.timedelta(days=days))
                              | Q(requested_on__isnull=True,
                                  created_at__date__gte=on - dt.timedelta(days=days)),
                              then=Value(index)))
    return Case(*whens, default=Value(len(AGE_BANDS) - 1), output_field=IntegerField())


def ageing(user: Any, on: dt.date | None = None) -> list[AgeingRow]:
    """Open orders by age band and party, with their value by currency (orders the user may
    view; one read, audited)."""
    on = on or _today()
    orders = visible(user, Order.objects.filter(state__in=OPEN_STATES)).annotate(
        band=_age_band(on))
    counts = {(b, r, s): n for b, r, s, n in orders.order_by().values_list(
        "band", "requesting_nation_id", "supplying_nation_id").annotate(n=Count("id"))
        .values_list("band", "requesting_nation_id", "supplying_nation_id", "n")}
    amounts: dict[tuple[int, str, str], dict[str, Decimal]] = {}
    line_sums = (OrderLine.objects.filter(order__in=orders.values("pk")).annotate(
        band=_age_band_of_line(on)).order_by()
        .values_list("band", "order__requesting_nation_id", "order__supplying_nation_id",
                     "currency_id").annotate(total=Sum("amount"))
        .values_list("band", "order__requesting_nation_id", "order__supplying_nation_id",
                     "currency_id", "total"))
    places = money.minor_units()
    for band, requesting, supplying, currency, total in line_sums:
        amounts.setdefault((band, requesting, supplying), {})[currency] = money.summed(
            total, currency, places)
    audit.record("logistics.ageing", actor=user, allowed=True,
                 reason="open orders counted through the visibility filter",
                 detail={"on": on.isoformat(), "orders": sum(counts.values())})
    return [AgeingRow(AGE_BANDS[band][1], requesting, supplying, count,
                      dict(sorted(amounts.get((band, requesting, supplying), {}).items())))
            for (band, requesting, supplying), count in sorted(counts.items())]


def _age_band_of_line(on: dt.date) -> Case:
    whens = []
    for index, (days, _label) in enumerate(AGE_BANDS):
        if days is not None:
            since = on - dt.timedelta(days=days)
            whens.append(When(Q(order__requested_on__gte=since)
                              | Q(order__requested_on__isnull=True,
                                  order__created_at__date__gte=since), then=Value(index)))
    return Case(*whens, default=Value(len(AGE_BANDS) - 1), output_field=IntegerField())


@dataclass(frozen=True)
class ReconciliationRow:
    """One order as each side has recorded it, and what does not agree."""

    order: Order
    totals: dict[str, Decimal]
    owed: dict[str, Decimal]  # what the ledger still shows owed for it
    requesting_side: str  # the requesting side's last record
    supplying_side: str
    problems: tuple[str, ...]


def reconciliation(user: Any, *, start: dt.date | None = None, end: dt.date | None = None,
                   on: dt.date | None = None, limit: int = 10_000) -> list[ReconciliationRow]:
    """Every order the user may view (drafted in the period, if given) with its state as each
    side recorded it, and the disagreements an auditor looks for: supplies provided but no
    receipt signed after 30 days, a ledger that does not match the order's total, a settled
    order still owing, a closed order without its source documents."""
    on = on or _today()
    orders = visible(user, Order.objects.select_related("label", "activity"))
    if start:
        orders = orders.filter(created_at__date__gte=start)
    if end:
        orders = orders.filter(created_at__date__lte=end)
    orders = orders.annotate(
        documents=Count("source_documents__kind", distinct=True),
    ).order_by("requesting_nation_id", "number")
    shown = list(orders[:limit])
    ids = [o.pk for o in shown]
    places = money.minor_units()
    line_totals: dict[Any, dict[str, Decimal]] = {}
    for order_id, currency, total in (OrderLine.objects.filter(order_id__in=ids).order_by()
                                      .values_list("order_id", "currency_id")
                                      .annotate(t=Sum("amount"))
                                      .values_list("order_id", "currency_id", "t")):
        line_totals.setdefault(order_id, {})[currency] = money.summed(total, currency, places)
    owed: dict[Any, dict[str, Decimal]] = {}
    debited: dict[Any, dict[str, Decimal]] = {}
    for order_id, currency, kind, total in (
            LedgerEntry.objects.filter(order_id__in=ids).order_by()
            .values_list("order_id", "currency_id", "kind").annotate(t=Sum("amount"))
            .values_list("order_id", "currency_id", "kind", "t")):
        total = money.summed(total, currency, places)
        current = owed.setdefault(order_id, {})
        current[currency] = current.get(currency, Decimal(0)) + total
        if kind == "receipt":
            debited.setdefault(order_id, {})[currency] = total
    rows = []
    for order in shown:
        totals = dict(sorted(line_totals.get(order.pk, {}).items()))
        still = {c: a for c, a in sorted(owed.get(order.pk, {}).items()) if a}
        problems = []
        if (order.state == OrderState.PROVIDED and order.provided_on
                and (on - order.provided_on).days > 30):
            problems.append(_("provided %(days)d days ago, receipt not signed")
                            % {"days": (on - order.provided_on).days})
        if order.received_on and debited.get(order.pk, {}) != {c: a for c, a in totals.items()
                                                                if a}:
            problems.append(_("ledger does not match the order's total"))
        if order.state in (OrderState.SETTLED, OrderState.CLOSED) and still:
            problems.append(_("settled but the ledger still shows an amount owed"))
        if order.state == OrderState.CLOSED and order.documents < 3:
            problems.append(_("closed without all its source documents"))
        if order.state == OrderState.RECEIVED and order.settle_by and order.settle_by < on:
            problems.append(_("settlement overdue since %(day)s")
                            % {"day": order.settle_by.isoformat()})
        rows.append(ReconciliationRow(order, totals, still, _requesting_side(order),
                                      _supplying_side(order), tuple(problems)))
    record_listing(user, shown, what="logistics.order")  # type: ignore[arg-type]
    return rows


def _requesting_side(order: Order) -> str:
    if order.received_on:
        return _("receipt signed %(day)s") % {"day": order.received_on.isoformat()}
    if order.requested_on:
        return _("requested %(day)s") % {"day": order.requested_on.isoformat()}
    return str(order.get_state_display())


def _supplying_side(order: Order) -> str:
    if order.settled_on:
        return _("settled %(day)s") % {"day": order.settled_on.isoformat()}
    if order.provided_on:
        return _("provided %(day)s") % {"day": order.provided_on.isoformat()}
    if order.state in (OrderState.ACCEPTED, OrderState.REFUSED):
        return str(order.get_state_display())
    return "—"


@dataclass(frozen=True)
class BalancePoint:
    day: dt.date
    amounts: dict[str, Decimal]  # debtor owes creditor, by currency, at the end of the day


def balance_history(user: Any, debtor: str, creditor: str, start: dt.date, end: dt.date,
                    ) -> list[BalancePoint]:
    """What ``debtor`` owes ``creditor`` at each month's end from ``start`` to ``end`` (and on
    ``end``), for a chart: monthly sums in SQL, running totals here (a few dozen numbers)."""
    if end < start:
        raise ValueError("the period ends before it starts")
    entries = _visible_ledger(user).filter(
        Q(debtor_id=debtor, creditor_id=creditor) | Q(debtor_id=creditor, creditor_id=debtor))
    signed = entries.annotate(signed=_owed(debtor, creditor))
    places = money.minor_units()
    opening = {c: money.summed(t, c, places) for c, t in (
        signed.filter(on__lt=start).order_by().values_list("currency_id")
        .annotate(t=Sum("signed")).values_list("currency_id", "t"))}
    days = _month_ends(start, end)
    running = dict(opening)
    points = []
    previous = start - dt.timedelta(days=1)
    for day in days:
        for currency, total in (signed.filter(on__gt=previous, on__lte=day).order_by()
                                .values_list("currency_id").annotate(t=Coalesce(
                                    Sum("signed"), Value(Decimal(0))))
                                .values_list("currency_id", "t")):
            running[currency] = (running.get(currency, Decimal(0))
                                 + money.summed(total, currency, places))
        points.append(BalancePoint(day, dict(sorted(running.items()))))
        previous = day
    audit.record("logistics.history", actor=user, allowed=True,
                 reason="ledger summed through the visibility filter",
                 detail={"debtor": debtor, "creditor": creditor, "start": start.isoformat(),
                         "end": end.isoformat()})
    return points


def _month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    days = []
    day = start
    while True:
        following = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        month_end = following - dt.timedelta(days=1)
        if month_end >= end:
            days.append(end)
            return days
        days.append(month_end)
        day = following
