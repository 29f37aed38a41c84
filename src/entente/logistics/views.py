"""Server-rendered pages of the ACSA logistics ledger: orders (list, new, draft, the order with the
steps its reader may take), overdue orders, and the reports (balances with their chart, ageing,
reconciliation, statement of account as a page, CSV and PDF), and exchange rates.

Every read is a selector (filtered by the kernel in SQL, audited); every change is a service. A
forbidden id and a missing id are the same 404 page. Errors a person can act on
(``LogisticsError``, ``LabelError``…) are shown on the form that caused them, which is shown
again with what was typed (the page then answers 400); a step that worked redirects (POST,
redirect, GET). Totals on every page count only the orders the reader may view, and say so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from entente.exchange import selectors as exchange_selectors
from entente.exchange.pdf import PdfFontMissing
from entente.exchange.services import ExchangeError, IncomingFile
from entente.logistics import money, reports, selectors, services
from entente.logistics.forms import (
    BLANK_LINES,
    AttachForm,
    ConfirmForm,
    DayForm,
    ExchangeForm,
    NewOrderForm,
    NoteForm,
    OrderEditForm,
    OrderFilterForm,
    PaymentForm,
    PeriodForm,
    RateForm,
    ReasonForm,
    ReportingForm,
    StatementForm,
    UploadForm,
    agreements_of,
    line_formset,
)
from entente.logistics.models import (
    CANCELLABLE_STATES,
    FINAL_STATES,
    OPEN_STATES,
    LedgerEntry,
    Order,
    OrderState,
    SettlementMethod,
)
from entente.logistics.services import MAX_LINES, LogisticsError
from entente.security import audit
from entente.security.kernel import visible
from entente.security.labels import LabelError, banner
from entente.security.pages import not_found_is_404, page_banners, reader_nation
from entente.security.selectors import NotFound

GET_POST = require_http_methods(["GET", "POST"])
OVERDUE_LIMIT = 500
RECONCILIATION_LIMIT = 1000
STATEMENT_PAGE_ROWS = 500  # entries shown on the statement page; the CSV and PDF have more
HISTORY_MONTHS = 12
LABEL_REFUSED = gettext_lazy("You may not use this label: your clearance, nationality or "
                             "communities do not cover it.")

# --------------------------------------------------------------------------- helpers


def order_url(order: Order) -> str:
    return reverse("logistics:order", args=[order.pk])


def _today() -> dt.date:
    return timezone.localdate()


def _page(request: HttpRequest, total: int, size: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / size))
    try:
        page = min(max(1, int(request.GET.get("page", "1"))), pages)
    except ValueError:
        page = 1
    return page, pages


def _sides(user: Any, order: Order) -> tuple[bool, bool]:
    """Whether the user is a logistics officer of the requesting, and of the supplying party."""
    return (services.is_officer_of(user, order.requesting_nation_id),
            services.is_officer_of(user, order.supplying_nation_id))


def _is_overdue(order: Order, today: dt.date) -> bool:
    return bool(order.state == OrderState.RECEIVED and order.settle_by
                and order.settle_by < today)


def _report_marking(request: HttpRequest, orders: QuerySet[Order]) -> reports.Marking | None:
    return reports.report_marking(request.user, orders)


def _marking_note(marking: reports.Marking | None) -> str:
    if marking is None:
        return _("This report includes no order you may view.")
    if marking.exact:
        return _("Marked as the one security label of the orders it includes.")
    return _("Marked with the highest marking among the %(count)d security labels of the orders "
             "it includes (as your nation protects them), with every caveat any of them "
             "carries, releasable only where all of them are.") % {"count": marking.labels}


def _pair(user: Any) -> tuple[str, str] | None:
    """The two parties a chart or statement is about by default: the reader's nation first."""
    nation = getattr(user, "nationality_id", None)
    agreements = agreements_of(nation)
    if not agreements:
        return None
    parties = sorted(agreements[0].parties.values_list("code", flat=True),
                     key=lambda code: (code != nation, code))
    return (parties[0], parties[1]) if len(parties) == 2 else None


# --------------------------------------------------------------------------- the list


@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    today = _today()
    form = OrderFilterForm(request.GET)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {"state": data["state"], "requesting": data["requesting"],
                   "supplying": data["supplying"], "activity": data["activity"],
                   "text": data["q"], "overdue_on": today if data["overdue"] else None}
    total = selectors.count_orders(user, **filters)
    page, pages = _page(request, total, selectors.PAGE_SIZE)
    orders = selectors.list_orders(user, offset=(page - 1) * selectors.PAGE_SIZE, **filters)
    totals = selectors.totals_by_order(user, orders)
    places = money.minor_units()
    marking = page_banners(request)
    return render(request, "logistics/order_list.html", {
        "form": form, "total": total, "page": page, "pages": pages,
        "previous": page - 1 if page > 1 else None, "next": page + 1 if page < pages else None,
        "rows": [(o, marking(o.label), order_url(o), _is_overdue(o, today),
                  reports.amounts(totals.get(o.pk, {}), places)) for o in orders],
        "may_draft": services.is_officer_of(user, getattr(user, "nationality_id", None) or ""),
    })


@require_GET
def overdue(request: HttpRequest) -> HttpResponse:
    """Orders whose settlement is overdue: both parties' officers see the same flag."""
    user = request.user
    today = _today()
    total = selectors.count_orders(user, overdue_on=today)
    orders = selectors.list_orders(user, overdue_on=today, limit=OVERDUE_LIMIT)
    orders.sort(key=lambda o: (o.settle_by or today, o.number))
    totals = selectors.totals_by_order(user, orders)
    places = money.minor_units()
    marking = page_banners(request)
    return render(request, "logistics/overdue.html", {
        "total": total, "limit": OVERDUE_LIMIT, "today": today,
        "rows": [(o, marking(o.label), order_url(o),
                  (today - o.settle_by).days if o.settle_by else 0,
                  reports.amounts(totals.get(o.pk, {}), places)) for o in orders],
    })


# --------------------------------------------------------------------------- new and draft


def _more_rows(data: QueryDict) -> QueryDict:
    """The same input with a few more blank line rows (the "More lines" button: no script)."""
    more = data.copy()
    try:
        count = int(more.get("lines-TOTAL_FORMS", "0"))
    except ValueError:
        count = 0
    more["lines-TOTAL_FORMS"] = str(min(max(count, 0) + BLANK_LINES, MAX_LINES))
    return more


@GET_POST
def order_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    agreements = agreements_of(getattr(user, "nationality_id", None))
    posted = request.method == "POST"
    adding = posted and "more_lines" in request.POST
    data = (_more_rows(request.POST) if adding else request.POST) if posted else None
    # From an exercise's page: the new order is raised under it.
    form = NewOrderForm(data, user=user, initial={"exercise": request.GET.get("exercise", "")})
    lines = line_formset(data, agreements=agreements)
    if posted and not adding and form.is_valid() & lines.is_valid():
        try:
            order = services.draft_order(user, supplying_nation=form.cleaned_data[
                "supplying_nation"], label=form.label_spec(), lines=lines.specs(),
                **form.order_values())
        except (LogisticsError, LabelError) as exc:
            form.add_error(None, str(exc))
        except NotFound:
            form.add_error(None, str(LABEL_REFUSED))
        else:
            messages.success(request, _("Order %(number)s drafted. Request it when it is "
                                        "complete.") % {"number": order.number})
            return redirect(order_url(order))
    failed = posted and not adding
    status = 400 if failed and (form.errors or not lines.is_valid()) else 200
    return render(request, "logistics/order_form.html", {
        "form": form, "lines": lines, "order": None, "no_agreement": not agreements,
    }, status=status)


@GET_POST
def order_edit(request: HttpRequest, key: str) -> HttpResponse:
    user = request.user
    with not_found_is_404():
        order = selectors.order_for(user, key)
    if order.state != OrderState.DRAFTED:
        messages.error(request, _("Order %(number)s is no longer a draft: it cannot be "
                                  "changed.") % {"number": order.number})
        return redirect(order_url(order))
    posted = request.method == "POST"
    adding = posted and "more_lines" in request.POST
    data = (_more_rows(request.POST) if adding else request.POST) if posted else None
    current = [{"category": line.category.code, "description": line.description,
                "quantity": reports.number_text(line.quantity), "unit": line.unit,
                "unit_price": reports.number_text(line.unit_price),
                "currency": line.currency_id}
               for line in selectors.lines_of(user, order)]
    form = OrderEditForm(data, agreement=order.agreement, user=user, initial={
        "activity": order.activity.code if order.activity else "",
        "activity_description": order.activity_description,
        "exercise": order.exercise.code if order.exercise else "",
        "settlement_method": order.settlement_method, "delivery_place": order.delivery_place,
        "wanted_by": order.wanted_by, "supplying_officer": order.supplying_officer})
    lines = line_formset(data, agreements=[order.agreement], initial=current)
    if posted and not adding and form.is_valid() & lines.is_valid():
        try:
            with not_found_is_404():
                services.revise_draft(user, order, lines=lines.specs(), **form.order_values())
        except LogisticsError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Draft %(number)s saved.") % {"number": order.number})
            return redirect(order_url(order))
    failed = posted and not adding
    status = 400 if failed and (form.errors or not lines.is_valid()) else 200
    return render(request, "logistics/order_form.html", {
        "form": form, "lines": lines, "order": order,
        "banner": banner(order.label, reader_nation(request)),
    }, status=status)


# --------------------------------------------------------------------------- the order page


@dataclass(frozen=True)
class Step:
    """One action of the order page: its form, the service it runs, and its words."""

    form: type[forms.Form]
    run: Callable[[Any, Order, Any], str]  # (user, order, valid form) → the success message
    title: Promise
    button: Promise
    secondary: bool = False
    multipart: bool = False


def _request(user: Any, order: Order, form: Any) -> str:
    services.request_order(user, order)
    return _("Order %(number)s requested: the supplying party has been told.") % {
        "number": order.number}


def _accept(user: Any, order: Order, form: Any) -> str:
    services.accept_order(user, order, note=form.cleaned_data["note"])
    return _("Order %(number)s accepted.") % {"number": order.number}


def _refuse(user: Any, order: Order, form: Any) -> str:
    services.refuse_order(user, order, form.cleaned_data["reason"])
    return _("Order %(number)s refused.") % {"number": order.number}


def _provide(user: Any, order: Order, form: Any) -> str:
    services.record_provision(user, order, note=form.cleaned_data["note"])
    return _("Provision of order %(number)s recorded.") % {"number": order.number}


def _receipt(user: Any, order: Order, form: Any) -> str:
    done = services.sign_receipt(user, order, note=form.cleaned_data["note"])
    return _("Receipt signed: order %(number)s is to be settled by %(day)s.") % {
        "number": order.number, "day": done.settle_by.isoformat() if done.settle_by else "—"}


def _payment(user: Any, order: Order, form: Any) -> str:
    services.record_payment(user, order, form.cleaned_data["reference"])
    return _("Payment recorded: order %(number)s is settled.") % {"number": order.number}


def _return(user: Any, order: Order, form: Any) -> str:
    services.record_return(user, order, note=form.cleaned_data["note"])
    return _("Return recorded: order %(number)s is settled.") % {"number": order.number}


def _exchange(user: Any, order: Order, form: Any) -> str:
    number = form.cleaned_data["counter_order"].strip()
    try:
        counter = selectors.order_for(user, number)
    except NotFound:
        raise LogisticsError(_("No order you may view has the number %(number)s.")
                             % {"number": number}) from None
    services.exchange_equal_value(user, order, counter)
    return _("Orders %(a)s and %(b)s settled by exchange of equal value.") % {
        "a": order.number, "b": counter.number}


def _attach(user: Any, order: Order, form: Any) -> str:
    try:
        document = exchange_selectors.document_for(user, form.cleaned_data["document"].strip())
    except NotFound:
        raise LogisticsError(_("No document you may view has this id.")) from None
    services.attach_document(user, order, form.cleaned_data["kind"], document)
    return _("Source document attached.")


def _upload(user: Any, order: Order, form: Any) -> str:
    upload = form.cleaned_data["file"]
    # EncryptingUploadHandler (settings.FILE_UPLOAD_HANDLERS) gives encrypted uploads only.
    incoming = IncomingFile(upload.name or "", upload.content_type or "", upload.plaintext())
    data = form.cleaned_data
    try:
        services.upload_document(user, order, data["kind"], label=form.label_spec(),
                                 title_en=data["title_en"], title_ja=data["title_ja"],
                                 files=[incoming])
    except NotFound:
        raise LogisticsError(str(LABEL_REFUSED)) from None
    finally:
        incoming.stream.close()
    return _("Source document uploaded and attached.")


def _close(user: Any, order: Order, form: Any) -> str:
    services.close_order(user, order)
    return _("Order %(number)s closed.") % {"number": order.number}


def _cancel(user: Any, order: Order, form: Any) -> str:
    services.cancel_order(user, order, form.cleaned_data["reason"])
    return _("Order %(number)s cancelled.") % {"number": order.number}


STEPS: dict[str, Step] = {
    "request": Step(ConfirmForm, _request, gettext_lazy("Request the order"),
                    gettext_lazy("Send the request to the supplying party")),
    "accept": Step(NoteForm, _accept, gettext_lazy("Accept the order"),
                   gettext_lazy("Accept")),
    "refuse": Step(ReasonForm, _refuse, gettext_lazy("Refuse the order, saying why"),
                   gettext_lazy("Refuse"), secondary=True),
    "provide": Step(NoteForm, _provide,
                    gettext_lazy("Record that the supplies or services were provided"),
                    gettext_lazy("Record provision")),
    "receipt": Step(NoteForm, _receipt,
                    gettext_lazy("Sign the receipt for what was provided"),
                    gettext_lazy("Sign the receipt")),
    "payment": Step(PaymentForm, _payment, gettext_lazy("Record the payment received"),
                    gettext_lazy("Record payment")),
    "return": Step(NoteForm, _return,
                   gettext_lazy("Record that the replacement in kind was returned"),
                   gettext_lazy("Record return")),
    "exchange": Step(ExchangeForm, _exchange,
                     gettext_lazy("Settle by exchange of equal value against another order"),
                     gettext_lazy("Exchange")),
    "attach": Step(AttachForm, _attach,
                   gettext_lazy("Attach a source document from the exchange"),
                   gettext_lazy("Attach")),
    "upload": Step(UploadForm, _upload, gettext_lazy("Upload a source document"),
                   gettext_lazy("Upload and attach"), multipart=True),
    "close": Step(ConfirmForm, _close, gettext_lazy("Close the settled order"),
                  gettext_lazy("Close the order")),
    "cancel": Step(ReasonForm, _cancel, gettext_lazy("Cancel the order, saying why"),
                   gettext_lazy("Cancel the order"), secondary=True),
}


def _available(user: Any, order: Order) -> list[str]:
    """The steps the user may take on the order in its state (the services decide anyway)."""
    requesting, supplying = _sides(user, order)
    state, method = order.state, order.settlement_method
    steps = []
    if requesting and state == OrderState.DRAFTED:
        steps.append("request")
    if supplying and state == OrderState.REQUESTED:
        steps += ["accept", "refuse"]
    if supplying and state == OrderState.ACCEPTED:
        steps.append("provide")
    if requesting and state == OrderState.PROVIDED:
        steps.append("receipt")
    if state == OrderState.RECEIVED:
        if supplying and method == SettlementMethod.REIMBURSEMENT:
            steps.append("payment")
        if supplying and method == SettlementMethod.REPLACEMENT:
            steps.append("return")
        if (requesting or supplying) and method == SettlementMethod.EQUAL_VALUE:
            steps.append("exchange")
    if (requesting or supplying) and state == OrderState.SETTLED:
        steps.append("close")
    if (requesting or supplying) and state not in FINAL_STATES:
        steps += ["attach", "upload"]
    if requesting and state in CANCELLABLE_STATES:
        steps.append("cancel")
    return steps


def _step_form(name: str, user: Any, order: Order, data: Any = None,
               files: Any = None) -> forms.Form:
    form_class = STEPS[name].form
    if form_class is UploadForm:
        return UploadForm(data, files, user=user, auto_id=f"{name}_%s",
                          parties=(order.requesting_nation_id, order.supplying_nation_id))
    return form_class(data, auto_id=f"{name}_%s")


def _order_page(request: HttpRequest, order: Order,
                bound: dict[str, forms.Form] | None = None) -> HttpResponse:
    """The order page; ``bound`` holds a step's form that failed, shown in its place with what
    was typed and the error (the page then answers 400)."""
    user = request.user
    today = _today()
    places = money.minor_units()
    marking = page_banners(request)
    lines = selectors.listed(user, selectors.lines_of(user, order), what="logistics.orderline")
    events = selectors.listed(user, selectors.events_of(user, order),
                              what="logistics.orderevent")
    ledger = selectors.listed(user, selectors.ledger_of(user, order),
                              what="logistics.ledgerentry")
    documents = selectors.listed(user, selectors.source_documents_of(user, order),
                                 what="logistics.sourcedocument")
    settlement = selectors.settlement_of(user, order)
    counter = None
    if settlement is not None and settlement.counter_order_id:
        # The counter order has a label of its own: named only to a reader who may view it.
        counter = visible(user, Order.objects.filter(pk=settlement.counter_order_id)).first()
    requesting, supplying = _sides(user, order)
    names = _available(user, order)
    bound = bound or {}
    for name in bound:
        if name not in names:
            names.append(name)
    steps = [{"name": name, "step": STEPS[name],
              "form": bound.get(name) or _step_form(name, user, order),
              "url": reverse("logistics:order_action", args=[order.pk, name])}
             for name in names]
    missing = []
    if order.state in (OrderState.DRAFTED, OrderState.REQUESTED):
        missing = services.missing_data(order,
                                        for_acceptance=order.state == OrderState.REQUESTED)
    return render(request, "logistics/order_detail.html", {
        "order": order,
        "banner": banner(order.label, reader_nation(request)),
        "lines": [(line, reports.number_text(line.quantity),
                   reports.number_text(line.unit_price),
                   reports.amount_text(line.amount, line.currency_id, places))
                  for line in lines],
        "totals": reports.amounts(money.totals((line.currency_id, line.amount)
                                               for line in lines), places),
        "events": events,
        "ledger": [(entry, reports.amount_text(entry.amount, entry.currency_id, places))
                   for entry in ledger],
        "settlement": settlement,
        "counter": counter,
        "counter_url": order_url(counter) if counter else None,
        "documents": [(d, marking(d.document.label)) for d in documents],
        "overdue": _is_overdue(order, today),
        "missing": missing,
        "may_edit": requesting and order.state == OrderState.DRAFTED,
        "is_party": requesting or supplying,
        "steps": steps,
        "failed": next(iter(bound), None),
        "today": today,
    }, status=400 if bound else 200)


@require_GET
def order_detail(request: HttpRequest, key: str) -> HttpResponse:
    with not_found_is_404():
        order = selectors.order_for(request.user, key)
    return _order_page(request, order)


@require_POST
def order_action(request: HttpRequest, key: str, action: str) -> HttpResponse:
    step = STEPS.get(action)
    if step is None:
        raise Http404
    user = request.user
    with not_found_is_404():
        order = selectors.order_for(user, key)
    form = _step_form(action, user, order, request.POST, request.FILES)
    if form.is_valid():
        try:
            with not_found_is_404():
                message = step.run(user, order, form)
        except (LogisticsError, LabelError, ExchangeError, money.MoneyError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, message)
            return redirect(f"{order_url(order)}#history")
    # The service changed nothing (its transaction rolled back): the order is as it was read.
    return _order_page(request, order, {action: form})


# --------------------------------------------------------------------------- reports


def _months_before(day: dt.date, months: int) -> dt.date:
    month = day.month - months
    year = day.year
    while month <= 0:
        month += 12
        year -= 1
    return dt.date(year, month, 1)


@require_GET
def balances(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ReportingForm(request.GET)
    on, reporting = form.values()
    places = money.minor_units()
    rows = selectors.balances(user, on, reporting)
    pair = _pair(user)
    chart = None
    history: list[dict[str, Any]] = []
    if pair is not None:
        points = []
        for point in selectors.balance_history(user, pair[0], pair[1],
                                               _months_before(on, HISTORY_MONTHS - 1), on):
            try:
                value: Decimal | None = money.in_one_currency(point.amounts, reporting,
                                                              point.day, places)
            except money.MoneyError:
                value = None
            points.append((point.day, value))
            history.append({"day": point.day, "amounts": reports.amounts(point.amounts, places),
                            "converted": reports.amount_text(value, reporting, places)})
        chart = reports.balance_chart(points, reporting, places)
    marking = _report_marking(request, selectors.orders_in_ledger(user, until=on))
    return render(request, "logistics/balances.html", {
        "form": form, "on": on, "reporting": reporting, "pair": pair,
        "rows": [(b, reports.amounts(b.amounts, places),
                  reports.amount_text(b.converted, reporting, places)
                  if b.converted is not None else None) for b in rows],
        "chart": chart, "history": history,
        "banner": marking.banner if marking else None,
        "marking_note": _marking_note(marking),
    })


@require_GET
def ageing(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = DayForm(request.GET)
    on = (form.cleaned_data.get("on") if form.is_valid() else None) or _today()
    places = money.minor_units()
    rows = selectors.ageing(user, on)
    marking = _report_marking(request, visible(user, Order.objects.filter(
        state__in=OPEN_STATES)))
    return render(request, "logistics/ageing.html", {
        "form": form, "on": on,
        "rows": [(r, reports.amounts(r.amounts, places)) for r in rows],
        "total": sum(r.orders for r in rows),
        "banner": marking.banner if marking else None,
        "marking_note": _marking_note(marking),
    })


@require_GET
def reconciliation(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = PeriodForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    places = money.minor_units()
    rows = selectors.reconciliation(user, start=data.get("start"), end=data.get("end"),
                                    limit=RECONCILIATION_LIMIT)
    marking = page_banners(request)
    labels = reports.labels_with_parts({r.order.label_id for r in rows})
    highest = reports.highest_marking(labels, reader_nation(request))
    return render(request, "logistics/reconciliation.html", {
        "form": form, "limit": RECONCILIATION_LIMIT,
        "rows": [(r, marking(r.order.label), order_url(r.order),
                  reports.amounts(r.totals, places), reports.amounts(r.owed, places))
                 for r in rows],
        "problems": sum(1 for r in rows if r.problems),
        "banner": highest.banner if highest else None,
        "marking_note": _marking_note(highest),
    }, status=200 if form.is_valid() or not form.is_bound else 400)


def _statement(request: HttpRequest) -> tuple[StatementForm, selectors.Statement | None,
                                              reports.Marking | None]:
    """The statement the query asks for (the defaults when it asks nothing)."""
    user = request.user
    form = StatementForm(user=user, data=None)
    defaults = {name: field.initial for name, field in form.fields.items()
                if field.initial is not None}
    form = StatementForm({**defaults, **request.GET.dict()}, user=user)
    if not form.is_valid():
        return form, None, None
    data = form.cleaned_data
    statement = selectors.statement(user, data["a"], data["b"], data["start"], data["end"],
                                    data["reporting"])
    marking = _report_marking(request, selectors.orders_in_ledger(user, pair=(data["a"], data["b"]),
                                                         until=data["end"]))
    return form, statement, marking


def _file_name(statement: selectors.Statement, extension: str) -> str:
    return (f"statement-{statement.a}-{statement.b}-{statement.start.isoformat()}-"
            f"{statement.end.isoformat()}.{extension}")


@require_GET
def statement(request: HttpRequest) -> HttpResponse:
    form, found, marking = _statement(request)
    places = money.minor_units()
    context: dict[str, Any] = {"form": form, "statement": found,
                               "banner": marking.banner if marking else None,
                               "marking_note": _marking_note(marking)}
    if found is not None:
        kinds = dict(LedgerEntry._meta.get_field("kind").choices or [])
        reporting = found.reporting

        def converted(value: Decimal | None) -> str | None:
            return reports.amount_text(value, reporting, places) if value is not None else None

        context.update({
            "opening": reports.amounts(found.opening, places),
            "debits": reports.amounts(found.debits, places),
            "credits": reports.amounts(found.credits, places),
            "closing": reports.amounts(found.closing, places),
            "opening_converted": converted(found.opening_converted),
            "closing_converted": converted(found.closing_converted),
            "entries": [(day, number, kinds.get(kind, kind), currency,
                         reports.amount_text(signed, currency, places))
                        for day, number, kind, currency, signed in itertools.islice(
                            found.rows(), STATEMENT_PAGE_ROWS)],
            "shown_limit": STATEMENT_PAGE_ROWS,
        })
    return render(request, "logistics/statement.html", context,
                  status=200 if found is not None else 400)


@require_GET
def statement_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    _form, found, marking = _statement(request)
    if found is None:
        return statement(request)
    mark = reports.file_banner(found, marking, reader_nation(request))
    audit.record("logistics.statement_export", actor=request.user, allowed=True,
                 object_type="logistics.statement",
                 detail={"format": "csv", "a": found.a, "b": found.b,
                         "start": found.start.isoformat(), "end": found.end.isoformat(),
                         "entries": found.entry_count, "marking": mark.text()})
    response = StreamingHttpResponse(
        reports.statement_csv(found, mark, money.minor_units()),
        content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_file_name(found, "csv")}"'
    response["X-Entente-Banner"] = mark.text()
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def statement_pdf(request: HttpRequest) -> HttpResponse:
    _form, found, marking = _statement(request)
    if found is None:
        return statement(request)
    mark = reports.file_banner(found, marking, reader_nation(request))
    try:
        content = reports.statement_pdf(statement=found, marking=mark, reader=request.user,
                                        places=money.minor_units(),
                                        marking_note=_marking_note(marking))
    except PdfFontMissing as exc:
        messages.error(request, str(exc))
        return redirect(f"{reverse('logistics:statement')}?{request.GET.urlencode()}")
    audit.record("logistics.statement_export", actor=request.user, allowed=True,
                 object_type="logistics.statement",
                 detail={"format": "pdf", "a": found.a, "b": found.b,
                         "start": found.start.isoformat(), "end": found.end.isoformat(),
                         "entries": found.entry_count, "marking": mark.text(),
                         "sha256": hashlib.sha256(content).hexdigest()})
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_file_name(found, "pdf")}"'
    response["X-Entente-Banner"] = mark.text()
    response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- exchange rates


@GET_POST
def rates(request: HttpRequest) -> HttpResponse:
    user = request.user
    nation = getattr(user, "nationality_id", None) or ""
    may_record = services.is_officer_of(user, nation)
    form = RateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            recorded = services.record_rate(user, day=data["day"], base=data["base"],
                                            quote=data["quote"], rate=data["rate"],
                                            source=data["source"])
        except LogisticsError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Rate recorded: on %(day)s one %(base)s is worth "
                                        "%(rate)s %(quote)s.")
                             % {"day": recorded.day.isoformat(), "base": recorded.base_id,
                                "rate": reports.number_text(recorded.rate),
                                "quote": recorded.quote_id})
            return redirect("logistics:rates")
    return render(request, "logistics/rates.html", {
        "form": form if may_record or form.is_bound else None,
        "rates": [(r, reports.number_text(r.rate)) for r in selectors.rates(limit=100)],
    }, status=400 if form.errors else 200)
