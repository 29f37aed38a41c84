"""The logistics (ACSA) part of the JSON API, mounted at /api/v1/ by entente.api: orders and their
lifecycle, the agreement's terms, exchange rates, and the ledger's reports.

Every read is a selector (filtered by the kernel in SQL, audited), every change a service. An
order the caller may not view and one that does not exist both answer 404 with the same body, by
id or by number. A request that cannot be done as asked answers 422 with a readable ``detail``
and changes nothing. Money is always an exact decimal string with its currency, never a number;
reports count only the orders the caller may view, so two readers may see different totals.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal, localcontext
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.errors import HttpError

from entente.core.api_support import check_page as _page
from entente.core.api_support import failing as _failing
from entente.core.api_support import not_found as _not_found
from entente.core.models import Nation
from entente.exchange import selectors as exchange_selectors
from entente.logistics import money, selectors, services
from entente.logistics.models import (
    Agreement,
    ExchangeRate,
    Order,
    OrderState,
    Settlement,
    SourceDocument,
)
from entente.logistics.money import MoneyError
from entente.logistics.schemas import (
    AgreementTermsOut,
    EqualValueIn,
    ExchangeRateIn,
    ExchangeRateOut,
    LedgerBalancesOut,
    LedgerHistoryOut,
    LedgerStatementOut,
    OrderAgeingOut,
    OrderDetail,
    OrderIn,
    OrderPage,
    OrderPaymentIn,
    OrderReasonIn,
    OrderReconciliationOut,
    OrderReviseIn,
    OrderStepIn,
    Problem,
    SourceDocumentIn,
    SourceDocumentOut,
)
from entente.logistics.services import LineSpec, LogisticsError
from entente.security import reference
from entente.security.kernel import record_listing
from entente.security.labels import LabelError, LabelSpec, banner
from entente.security.selectors import NotFound

router = Router(tags=["logistics"])
STATEMENT_PAGE, MAX_STATEMENT_PAGE = 1_000, 10_000
RECONCILIATION_PAGE, MAX_RECONCILIATION = 1_000, 10_000
MAX_RATES = 500
MAX_HISTORY_DAYS = 3_660  # ten years of month ends
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
# Errors a person can act on: each says what to change.
ACTIONABLE = (LogisticsError, MoneyError, LabelError)
RESPONSES_STEP = {200: OrderDetail, 404: Problem, 422: Problem}


# --------------------------------------------------------------------------- helpers




def _today() -> dt.date:
    return timezone.localdate()


def _day(value: dt.date | None, name: str) -> dt.date | None:
    """A day a report or record is asked for, within the years a ledger can mean."""
    if value is not None and not FIRST_DAY <= value <= LAST_DAY:
        raise HttpError(422, _("%(name)s must be a day from %(first)s to %(last)s.")
                        % {"name": name, "first": FIRST_DAY.isoformat(),
                           "last": LAST_DAY.isoformat()})
    return value


def _past(on: dt.date | None) -> dt.date | None:
    """A step's day as given: not a day still to come (a record says what happened)."""
    if on is not None and on > _today():
        raise HttpError(422, _("A step is recorded on the day it happened; %(day)s has not "
                               "come yet.") % {"day": on.isoformat()})
    return _day(on, "on")



def _currency(code: str) -> str:
    code = (code or "").strip().upper()
    known = sorted(money.minor_units())
    if code not in known:
        raise HttpError(422, _("Unknown currency '%(code)s'; one of %(codes)s.")
                        % {"code": code, "codes": ", ".join(known)})
    return code


def _nation(code: str, what: str) -> str:
    code = (code or "").strip().upper()
    if not Nation.objects.filter(code=code).exists():
        raise HttpError(422, _("%(what)s: unknown nation '%(code)s'.")
                        % {"what": what, "code": code})
    return code


def _user(username: str) -> Any:
    """A person named in a request (who the officers are is not classified)."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise HttpError(422, _("No user '%(name)s'.") % {"name": username})
    return user


def amount_text(amount: Decimal, places: int | None) -> str:
    """An exact amount as text: at the currency's minor unit when that is exact (10200.00,
    480000), else every digit it has (a unit price of ¥0.5 stays 0.5); never -0."""
    with localcontext() as ctx:
        ctx.prec = 60
        value = amount
        if places is not None:
            at_minor = amount.quantize(Decimal(1).scaleb(-places))
            value = at_minor if at_minor == amount else amount.normalize()
        else:
            value = amount.normalize()
        if value == 0:
            value = abs(value)
        return f"{value:f}"


def money_out(amount: Decimal, currency: str, places: dict[str, int]) -> dict[str, str]:
    return {"amount": amount_text(amount, places.get(currency)), "currency": currency}


def moneys(sums: dict[str, Decimal], places: dict[str, int]) -> list[dict[str, str]]:
    return [money_out(amount, currency, places) for currency, amount in sorted(sums.items())]


def _banner(user: Any, order: Order, protection: reference.Protection | None = None) -> str:
    return banner(order.label, getattr(user, "nationality_id", None),
                  protection=protection).text()


def order_out(user: Any, order: Order, today: dt.date,
              protection: reference.Protection | None = None) -> dict[str, Any]:
    return {"id": order.pk, "number": order.number, "label": order.label.canonical,
            "banner": _banner(user, order, protection), "state": order.state,
            "requesting": order.requesting_nation_id, "supplying": order.supplying_nation_id,
            "activity": order.activity.code if order.activity else None,
            "exercise": order.exercise.code if order.exercise else None,
            "settlement_method": order.settlement_method,
            "created_at": order.created_at, "requested_on": order.requested_on,
            "settle_by": order.settle_by,
            "overdue": bool(order.state == OrderState.RECEIVED and order.settle_by
                            and order.settle_by < today)}


def _settlement_out(user: Any, settlement: Settlement) -> dict[str, Any]:
    counter = None
    if settlement.counter_order_id is not None:  # its number only if the reader may view it
        counter = (selectors.visible_orders(user).filter(pk=settlement.counter_order_id)
                   .values_list("number", flat=True).first())
    return {"method": settlement.method, "reference": settlement.reference,
            "to_return": settlement.to_return, "return_due": settlement.return_due,
            "returned_on": settlement.returned_on, "counter_order": counter,
            "settled_on": settlement.settled_on,
            "recorded_by": settlement.recorded_by.username}


def source_document_out(attached: SourceDocument) -> dict[str, Any]:
    document = attached.document
    return {"document": document.pk, "kind": attached.kind, "title": document.title,
            "label": document.label.canonical, "attached_by": attached.attached_by.username,
            "attached_at": attached.attached_at}


def order_detail(user: Any, order: Order) -> dict[str, Any]:
    """The order with its parts, each read through the kernel."""
    places = money.minor_units()
    lines = list(selectors.lines_of(user, order))
    events = list(selectors.events_of(user, order))
    settlement = selectors.settlement_of(user, order)
    documents = selectors.listed(user, selectors.source_documents_of(user, order),
                                 what="logistics.sourcedocument")
    owed = money.totals(selectors.ledger_of(user, order).values_list("currency_id", "amount"))
    missing: list[str] = []
    if order.state in (OrderState.DRAFTED, OrderState.REQUESTED):
        # (The accepting officer becomes the authorised officer if none was named.)
        missing = [str(m) for m in services.missing_data(order, for_acceptance=False)]
    return {
        **order_out(user, order, _today()),
        "agreement": order.agreement.code, "owner": order.owner.code,
        "activity_name": order.activity.name if order.activity else "",
        "activity_description": order.activity_description,
        "delivery_place": order.delivery_place, "wanted_by": order.wanted_by,
        "requesting_officer": order.requesting_officer.username,
        "supplying_officer": (order.supplying_officer.username if order.supplying_officer
                              else None),
        "provided_on": order.provided_on, "received_on": order.received_on,
        "received_by": order.received_by.username if order.received_by else None,
        "settled_on": order.settled_on, "closed_on": order.closed_on, "missing": missing,
        "lines": [{"position": line.position, "category": line.category.code,
                   "category_name": line.category.name, "description": line.description,
                   "quantity": amount_text(line.quantity, None), "unit": line.unit,
                   "unit_price": money_out(line.unit_price, line.currency_id, places),
                   "amount": money_out(line.amount, line.currency_id, places)}
                  for line in lines],
        "totals": moneys(money.totals((line.currency_id, line.amount) for line in lines),
                         places),
        "owed": moneys({c: a for c, a in owed.items() if a}, places),
        "events": [{"state": e.state, "on": e.on, "at": e.at, "by": e.by.username,
                    "note": e.note} for e in events],
        "settlement": _settlement_out(user, settlement) if settlement else None,
        "source_documents": [source_document_out(d) for d in documents],
    }


def _line_specs(lines: Iterable[Any]) -> list[LineSpec]:
    return [LineSpec(category=line.category, description=line.description,
                     quantity=line.quantity, unit=line.unit, unit_price=line.unit_price,
                     currency=line.currency) for line in lines]


def _cursor(order: Order) -> str:
    raw = json.dumps([order.created_at.isoformat(), str(order.pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        created, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        created_at = dt.datetime.fromisoformat(created)
        if created_at.tzinfo is None:
            raise ValueError(cursor)
        return created_at, uuid.UUID(pk)
    except (ValueError, TypeError, AttributeError):
        raise HttpError(422, "after is not a cursor this API issued; use the Link header of "
                             "the previous page.") from None


def _next_link(request: HttpRequest, response: HttpResponse, **changes: Any) -> None:
    query = {k: v for k, v in request.GET.items() if k not in ("offset", "after")}
    query.update({k: str(v) for k, v in changes.items()})
    response["Link"] = f'<{request.path}?{urlencode(query)}>; rel="next"'


def _orders_page(request: HttpRequest, response: HttpResponse, filters: dict[str, Any],
                 offset: int, limit: int, after: str | None) -> dict[str, Any]:
    """A page of orders newest first: by keyset (``after``, from the Link header) or offset."""
    _page(offset, limit)
    if after is not None and offset:
        raise HttpError(422, "Use either after or offset, not both.")
    user = request.user
    queryset = selectors.visible_orders(user, **filters)
    if after is not None:
        created, pk = _after(after)
        queryset = queryset.filter(Q(created_at__lt=created) | Q(created_at=created, pk__gt=pk))
    orders = list(queryset.order_by("-created_at", "id")[offset:offset + limit])
    record_listing(user, orders, what="logistics.order")  # type: ignore[arg-type]
    if len(orders) == limit:
        _next_link(request, response, limit=limit, after=_cursor(orders[-1]))
    today = _today()
    protection = reference.protection(today)
    return {"count": selectors.count_orders(user, **filters),
            "items": [order_out(user, o, today, protection) for o in orders]}


def _step(request: HttpRequest, order_id: str, act: Callable[[Order], Order]) -> Any:
    """Find the order as the caller may see it, do the step, answer the order as it is now."""
    try:
        order = selectors.order_for(request.user, order_id)
        changed = act(order)
    except NotFound:
        return _not_found()
    except ACTIONABLE as exc:
        raise _failing(exc) from None
    return order_detail(request.user, changed)


# --------------------------------------------------------------------------- orders


@router.get("/logistics/orders", response={200: OrderPage, 422: Problem},
            summary="Orders the caller may view, newest first",
            description="Filters by state, requesting and supplying party (nation codes), "
                        "activity code, text (`q`: number, exercise, activity, line "
                        "descriptions) and `overdue` (receipt signed, settlement deadline "
                        "passed). `count` counts only what the caller may view. Follow the "
                        "`Link: <…>; rel=\"next\"` header (keyset cursor) for the next page; "
                        "`offset` also works but costs more the deeper it goes.")
def list_orders(request: HttpRequest, response: HttpResponse, state: OrderState | None = None,
                requesting: str = "", supplying: str = "", activity: str = "", q: str = "",
                overdue: bool = False, offset: Query[int] = 0,
                limit: Query[int] = selectors.PAGE_SIZE,
                after: Query[str | None] = None) -> dict[str, Any]:
    filters = {"state": state.value if state else "", "requesting": requesting.strip().upper(),
               "supplying": supplying.strip().upper(), "activity": activity.strip(), "text": q,
               "overdue_on": _today() if overdue else None}
    return _orders_page(request, response, filters, offset, limit, after)


@router.post("/logistics/orders", response={201: OrderDetail, 422: Problem},
             summary="Draft an order to the other party (a logistics officer)",
             description="The order may be incomplete; it is checked when it is requested. "
                         "Lines are priced exactly: send quantities and prices as decimal "
                         "strings.")
def draft_order(request: HttpRequest, payload: OrderIn) -> Any:
    user = request.user
    try:
        officer = (_user(payload.supplying_officer) if payload.supplying_officer else None)
        order = services.draft_order(
            user, supplying_nation=payload.supplying_nation.strip().upper(),
            label=LabelSpec.parse(payload.label), activity=payload.activity or None,
            activity_description=payload.activity_description, exercise=payload.exercise or None,
            settlement_method=payload.settlement_method.value if payload.settlement_method
            else "", delivery_place=payload.delivery_place, wanted_by=payload.wanted_by,
            supplying_officer=officer, lines=_line_specs(payload.lines), on=_past(payload.on))
    except ACTIONABLE as exc:
        raise _failing(exc) from None
    except NotFound:
        raise HttpError(422, _("You may not draft an order under this label (your clearance, "
                               "nationality or communities do not cover it).")) from None
    return Status(201, order_detail(user, order))


@router.get("/logistics/orders/{order_id}", response={200: OrderDetail, 404: Problem},
            summary="An order, by id or number, with its lines, totals, events, settlement and "
                    "the source documents the caller may view")
def get_order(request: HttpRequest, order_id: str) -> Any:
    try:
        return order_detail(request.user, selectors.order_for(request.user, order_id))
    except NotFound:
        return _not_found()


@router.patch("/logistics/orders/{order_id}", response=RESPONSES_STEP,
              summary="Revise a draft (the requesting officer)",
              description="Only the fields sent change; `lines`, if sent, replaces all the "
                          "lines. The label and the parties never change; a requested order "
                          "is what was asked.")
def revise_draft(request: HttpRequest, order_id: str, payload: OrderReviseIn) -> Any:
    sent = payload.model_dump(exclude_unset=True)
    sent.pop("lines", None)
    lines = _line_specs(payload.lines) if payload.lines is not None else None
    changes: dict[str, Any] = {}
    for name, value in sent.items():
        if name == "settlement_method":
            changes[name] = payload.settlement_method.value if payload.settlement_method else ""
        elif name == "supplying_officer":
            changes[name] = _user(value) if value else None
        elif name == "activity":
            changes[name] = value or None
        elif name == "wanted_by":
            changes[name] = value
        else:
            changes[name] = value or ""
    return _step(request, order_id,
                 lambda o: services.revise_draft(request.user, o, lines=lines, **changes))


@router.post("/logistics/orders/{order_id}/request", response=RESPONSES_STEP,
             summary="Send the draft to the supplying party (the requesting officer)",
             description="Refused, naming what is missing, until the order has its activity, "
                         "settlement method and priced lines.")
def request_order(request: HttpRequest, order_id: str, payload: OrderStepIn | None = None) -> Any:
    step = payload or OrderStepIn()
    return _step(request, order_id,
                 lambda o: services.request_order(request.user, o, _past(step.on)))


@router.post("/logistics/orders/{order_id}/accept", response=RESPONSES_STEP,
             summary="Agree to provide (a logistics officer of the supplying party)")
def accept_order(request: HttpRequest, order_id: str, payload: OrderStepIn | None = None) -> Any:
    step = payload or OrderStepIn()
    return _step(request, order_id, lambda o: services.accept_order(
        request.user, o, _past(step.on), step.note))


@router.post("/logistics/orders/{order_id}/refuse", response=RESPONSES_STEP,
             summary="Refuse a requested order, with a reason (the supplying party)")
def refuse_order(request: HttpRequest, order_id: str, payload: OrderReasonIn) -> Any:
    return _step(request, order_id, lambda o: services.refuse_order(
        request.user, o, payload.reason, _past(payload.on)))


@router.post("/logistics/orders/{order_id}/cancel", response=RESPONSES_STEP,
             summary="Cancel, with a reason, before it is provided (the requesting party)",
             description="The order and its history stay on record.")
def cancel_order(request: HttpRequest, order_id: str, payload: OrderReasonIn) -> Any:
    return _step(request, order_id, lambda o: services.cancel_order(
        request.user, o, payload.reason, _past(payload.on)))


@router.post("/logistics/orders/{order_id}/provide", response=RESPONSES_STEP,
             summary="Record that the supplies or services were provided (the supplying party)")
def record_provision(request: HttpRequest, order_id: str, payload: OrderStepIn | None = None) -> Any:
    step = payload or OrderStepIn()
    return _step(request, order_id, lambda o: services.record_provision(
        request.user, o, _past(step.on), step.note))


@router.post("/logistics/orders/{order_id}/receipt", response=RESPONSES_STEP,
             summary="Sign for what was provided (a logistics officer of the requesting party)",
             description="From this day the requesting party owes the order's total in each "
                         "currency, to be settled within the agreement's period for the "
                         "order's settlement method (`settle_by`).")
def sign_receipt(request: HttpRequest, order_id: str, payload: OrderStepIn | None = None) -> Any:
    step = payload or OrderStepIn()
    return _step(request, order_id, lambda o: services.sign_receipt(
        request.user, o, _past(step.on), step.note))


@router.post("/logistics/orders/{order_id}/payment", response=RESPONSES_STEP,
             summary="Record the reimbursement in currency (the supplying party)",
             description="The ledger is credited back what the receipt debited.")
def record_payment(request: HttpRequest, order_id: str, payload: OrderPaymentIn) -> Any:
    return _step(request, order_id, lambda o: services.record_payment(
        request.user, o, payload.reference, _past(payload.on)))


@router.post("/logistics/orders/{order_id}/return", response=RESPONSES_STEP,
             summary="Record the replacement in kind as returned (the supplying party)")
def record_return(request: HttpRequest, order_id: str, payload: OrderStepIn | None = None) -> Any:
    step = payload or OrderStepIn()
    return _step(request, order_id, lambda o: services.record_return(
        request.user, o, _past(step.on), step.note))


@router.post("/logistics/orders/{order_id}/exchange", response=RESPONSES_STEP,
             summary="Settle two received orders against each other (exchange of equal value)",
             description="`counter_order` runs in the other direction between the same "
                         "parties; their totals, converted at the day's rate, may differ by no "
                         "more than the agreement allows. Both are settled.")
def exchange_equal_value(request: HttpRequest, order_id: str, payload: EqualValueIn) -> Any:
    user = request.user

    def act(order: Order) -> Order:
        try:
            counter = selectors.order_for(user, payload.counter_order)
        except NotFound:
            raise LogisticsError(_("No order you may view has this id or number: "
                                   "%(key)s.") % {"key": payload.counter_order}) from None
        return services.exchange_equal_value(user, order, counter, _past(payload.on))[0]

    return _step(request, order_id, act)


@router.post("/logistics/orders/{order_id}/close", response=RESPONSES_STEP,
             summary="Close a settled order (either party)",
             description="Only with its signed receipt, delivery note and invoice attached. "
                         "Nothing changes it after.")
def close_order(request: HttpRequest, order_id: str, payload: OrderStepIn | None = None) -> Any:
    step = payload or OrderStepIn()
    return _step(request, order_id,
                 lambda o: services.close_order(request.user, o, _past(step.on)))


@router.post("/logistics/orders/{order_id}/documents",
             response={201: SourceDocumentOut, 404: Problem, 422: Problem},
             summary="Attach an exchange document as a source document (either party)")
def attach_document(request: HttpRequest, order_id: str, payload: SourceDocumentIn) -> Any:
    user = request.user
    try:
        order = selectors.order_for(user, order_id)
    except NotFound:
        return _not_found()
    try:
        try:
            document = exchange_selectors.document_for(user, payload.document)
        except NotFound:
            raise LogisticsError(_("No document you may view has this id.")) from None
        attached = services.attach_document(user, order, payload.kind.value, document)
    except NotFound:
        return _not_found()
    except ACTIONABLE as exc:
        raise _failing(exc) from None
    return Status(201, source_document_out(attached))


@router.get("/logistics/overdue", response={200: OrderPage, 422: Problem},
            summary="Orders overdue for settlement on a day (default today)",
            description="Receipt signed, not settled by the agreement's deadline; only orders "
                        "the caller may view. Paged like `/logistics/orders`.")
def overdue_orders(request: HttpRequest, response: HttpResponse, on: dt.date | None = None,
                   offset: Query[int] = 0, limit: Query[int] = selectors.PAGE_SIZE,
                   after: Query[str | None] = None) -> dict[str, Any]:
    return _orders_page(request, response, {"overdue_on": _day(on, "on") or _today()}, offset,
                        limit, after)


# --------------------------------------------------------------------------- terms and rates


@router.get("/logistics/terms", response=AgreementTermsOut,
            summary="The cross-servicing agreements' terms and currencies (not classified)",
            description="Parties, eligible activities, categories of supplies and services "
                        "(ineligible ones too, and the activities a category is restricted "
                        "to) and how many days each settlement method allows.")
def terms(request: HttpRequest) -> dict[str, Any]:
    def agreement_out(agreement: Agreement) -> dict[str, Any]:
        def names(row: Any) -> dict[str, str]:
            return {"code": row.code, "name_en": row.name_en, "name_ja": row.name_ja}

        return {**names(agreement),
                "parties": sorted(p.code for p in agreement.parties.all()),
                "in_force_from": agreement.in_force_from,
                "equal_value_tolerance_percent": amount_text(
                    agreement.equal_value_tolerance_percent, 2),
                "activities": [names(a) for a in agreement.activities.all()],
                "categories": [{**names(c), "eligible": c.eligible,
                                "allowed_for": [a.code for a in c.allowed_for.all()]}
                               for c in agreement.categories.all()],
                "settlement": [{"method": t.method, "days": t.days}
                               for t in agreement.terms.all()]}

    return {"currencies": [{"code": c.code, "name_en": c.name_en, "name_ja": c.name_ja,
                            "minor_units": c.minor_units} for c in selectors.currencies()],
            "agreements": [agreement_out(a) for a in selectors.agreements()]}


def rate_out(rate: ExchangeRate) -> dict[str, Any]:
    return {"day": rate.day, "base": rate.base_id, "quote": rate.quote_id,
            "rate": amount_text(rate.rate, None), "source": rate.source,
            "recorded_by": rate.recorded_by.username if rate.recorded_by else None}


@router.get("/logistics/rates", response={200: list[ExchangeRateOut], 422: Problem},
            summary="The most recent exchange rates (on or before `on`, if given)")
def list_rates(request: HttpRequest, on: dt.date | None = None,
               limit: Query[int] = 30) -> list[dict[str, Any]]:
    if not 1 <= limit <= MAX_RATES:
        raise HttpError(422, f"limit must be between 1 and {MAX_RATES}.")
    _day(on, "on")
    return [rate_out(r) for r in selectors.rates(on, limit).select_related("recorded_by")]


@router.post("/logistics/rates", response={201: ExchangeRateOut, 422: Problem},
             summary="Record the day's exchange rate of a pair (a logistics officer)",
             description="1 `base` = `rate` `quote`. A day's rate, once recorded, is kept: "
                         "reports already issued used it.")
def record_rate(request: HttpRequest, payload: ExchangeRateIn) -> Any:
    try:
        rate = services.record_rate(request.user, day=_day(payload.day, "day") or _today(),
                                    base=payload.base, quote=payload.quote, rate=payload.rate,
                                    source=payload.source)
    except ACTIONABLE as exc:
        raise _failing(exc) from None
    return Status(201, rate_out(rate))


# --------------------------------------------------------------------------- reports


@router.get("/logistics/balances", response={200: LedgerBalancesOut, 422: Problem},
            summary="What each party owes the other at the end of a day",
            description="By currency and converted into `reporting` at the day's rate, summed "
                        "from the ledger entries of the orders the caller may view only.")
def balances(request: HttpRequest, on: dt.date | None = None,
             reporting: str = "GBP") -> dict[str, Any]:
    reporting, on = _currency(reporting), _day(on, "on") or _today()
    places = money.minor_units()
    rows = selectors.balances(request.user, on=on, reporting=reporting)
    return {"on": on, "reporting": reporting, "balances": [
        {"debtor": b.debtor, "creditor": b.creditor, "amounts": moneys(b.amounts, places),
         "converted": (money_out(b.converted, reporting, places) if b.converted is not None
                       else None)} for b in rows]}


@router.get("/logistics/statement", response={200: LedgerStatementOut, 422: Problem},
            summary="Statement of account between two parties for a period",
            description="What `a` owed `b` at the start, the period's debits and credits, and "
                        "what is owed at the end, by currency and converted into `reporting`; "
                        "then the period's entries in order, `limit` at a time (at most "
                        "10,000; follow the `Link` header). Orders the caller may view only.")
def statement(request: HttpRequest, response: HttpResponse, a: str, b: str, start: dt.date,
              end: dt.date, reporting: str = "GBP", offset: Query[int] = 0,
              limit: Query[int] = STATEMENT_PAGE) -> dict[str, Any]:
    _page(offset, limit, MAX_STATEMENT_PAGE)
    _day(start, "start")
    _day(end, "end")
    a, b, reporting = _nation(a, "a"), _nation(b, "b"), _currency(reporting)
    if a == b:
        raise HttpError(422, _("A statement is between two different parties."))
    if end < start:
        raise HttpError(422, _("The period ends (%(end)s) before it starts (%(start)s).")
                        % {"end": end.isoformat(), "start": start.isoformat()})
    places = money.minor_units()
    account = selectors.statement(request.user, a, b, start, end, reporting)
    rows = list(account.entries.values_list("on", "order__number", "kind", "currency_id",
                                            "signed")[offset:offset + limit])
    truncated = offset + len(rows) < account.entry_count
    if truncated:
        _next_link(request, response, offset=offset + len(rows), limit=limit)

    def converted(value: Decimal | None) -> dict[str, str] | None:
        return money_out(value, reporting, places) if value is not None else None

    return {"a": a, "b": b, "start": start, "end": end, "reporting": reporting,
            "opening": moneys(account.opening, places), "debits": moneys(account.debits, places),
            "credits": moneys(account.credits, places), "closing": moneys(account.closing, places),
            "opening_converted": converted(account.opening_converted),
            "closing_converted": converted(account.closing_converted),
            "entry_count": account.entry_count, "offset": offset, "limit": limit,
            "truncated": truncated,
            "entries": [{"on": day, "order": number, "kind": kind,
                         "amount": money_out(amount, currency, places)}
                        for day, number, kind, currency, amount in rows]}


@router.get("/logistics/ageing", response={200: OrderAgeingOut, 422: Problem},
            summary="Open orders by age band and party, with their value by currency",
            description="Age: days since the order was requested (drafted, if not yet). Orders "
                        "the caller may view only.")
def ageing(request: HttpRequest, on: dt.date | None = None) -> dict[str, Any]:
    on = _day(on, "on") or _today()
    places = money.minor_units()
    return {"on": on, "bands": [label for _days, label in selectors.AGE_BANDS],
            "rows": [{"band": r.band, "requesting": r.requesting, "supplying": r.supplying,
                      "orders": r.orders, "amounts": moneys(r.amounts, places)}
                     for r in selectors.ageing(request.user, on)]}


@router.get("/logistics/reconciliation", response={200: OrderReconciliationOut, 422: Problem},
            summary="Each order as both sides recorded it, and what does not agree",
            description="Orders the caller may view (drafted between `start` and `end`, if "
                        "given), with the disagreements an auditor looks for: provided but no "
                        "receipt after 30 days, a ledger that does not match the order's "
                        "total, settled but still owing, closed without its source documents, "
                        "settlement overdue.")
def reconciliation(request: HttpRequest, start: dt.date | None = None,
                   end: dt.date | None = None, on: dt.date | None = None,
                   limit: Query[int] = RECONCILIATION_PAGE) -> dict[str, Any]:
    if not 1 <= limit <= MAX_RECONCILIATION:
        raise HttpError(422, f"limit must be between 1 and {MAX_RECONCILIATION:,}.")
    _day(start, "start")
    _day(end, "end")
    if start and end and end < start:
        raise HttpError(422, _("The period ends (%(end)s) before it starts (%(start)s).")
                        % {"end": end.isoformat(), "start": start.isoformat()})
    on = _day(on, "on") or _today()
    user = request.user
    places = money.minor_units()
    rows = selectors.reconciliation(user, start=start, end=end, on=on, limit=limit)
    protection = reference.protection(_today())
    return {"on": on, "start": start, "end": end, "limit": limit,
            "truncated": len(rows) >= limit,
            "rows": [{"order": order_out(user, r.order, on, protection),
                      "totals": moneys(r.totals, places), "owed": moneys(r.owed, places),
                      "requesting_side": r.requesting_side, "supplying_side": r.supplying_side,
                      "problems": [str(p) for p in r.problems]} for r in rows]}


@router.get("/logistics/balance-history", response={200: LedgerHistoryOut, 422: Problem},
            summary="What `debtor` owed `creditor` at each month's end of a period",
            description="For a chart: by currency, at each month's end and on `end` (at most "
                        "ten years). Orders the caller may view only.")
def balance_history(request: HttpRequest, debtor: str, creditor: str, start: dt.date,
                    end: dt.date) -> dict[str, Any]:
    debtor, creditor = _nation(debtor, "debtor"), _nation(creditor, "creditor")
    if debtor == creditor:
        raise HttpError(422, _("A balance is between two different parties."))
    _day(start, "start")
    _day(end, "end")
    if end < start or (end - start).days > MAX_HISTORY_DAYS:
        raise HttpError(422, _("The period must end on or after its start, and last at most "
                               "ten years."))
    places = money.minor_units()
    points = selectors.balance_history(request.user, debtor, creditor, start, end)
    return {"debtor": debtor, "creditor": creditor, "start": start, "end": end,
            "points": [{"day": p.day, "amounts": moneys(p.amounts, places)} for p in points]}
