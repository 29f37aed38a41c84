"""Server-rendered pages of the exchange. Every read is a selector (kernel-filtered, audited), every
change a service; a forbidden id and a missing id are the same 404 page. Errors a person can act
on (``ExchangeError``, ``LabelError``) are shown on the form, which is re-shown with their input.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from entente.exchange import selectors, services
from entente.exchange.api import attachment_response, register_csv
from entente.exchange.forms import (
    DecisionForm,
    DocumentFilterForm,
    DocumentForm,
    DowngradeRequestForm,
    LossReportForm,
    LossReportUpdateForm,
    ReleaseRequestForm,
    TransmissionForm,
    VersionForm,
)
from entente.exchange.models import (
    Document,
    DocumentVersion,
    OriginatorRequest,
    RequestState,
)
from entente.exchange.services import ExchangeError, IncomingFile
from entente.security import kernel
from entente.security.kernel import Action
from entente.security.labels import LabelError, banner
from entente.security.pages import not_found_is_404, page_banners, reader_nation
from entente.security.selectors import NotFound

GET_POST = require_http_methods(["GET", "POST"])
LIST_LIMIT = 200

# --------------------------------------------------------------------------- helpers


def _done(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect after a successful POST. The upload script (XMLHttpRequest) is told where to go
    instead, so that it is the browser, not the script, that loads the next page (and shows its
    message)."""
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        response = HttpResponse(status=200)
        response["X-Entente-Redirect"] = url
        return response
    return redirect(url)


def _show(request: HttpRequest, template: str, context: dict[str, Any],
          form: Any = None) -> HttpResponse:
    """Render a page; a form with errors answers 400 (the re-shown form keeps the input)."""
    status = 400 if form is not None and form.errors else 200
    return render(request, f"exchange/{template}", context, status=status)


def _incoming(uploads: Sequence[Any]) -> list[IncomingFile]:
    # EncryptingUploadHandler (settings.FILE_UPLOAD_HANDLERS) gives encrypted uploads only.
    return [IncomingFile(u.name or "", u.content_type or "", u.plaintext()) for u in uploads]


def _close(files: Sequence[IncomingFile]) -> None:
    for incoming in files:
        incoming.stream.close()


def _document_choices(request: HttpRequest, ids: Sequence[str]
                      ) -> tuple[list[Document], list[tuple[str, str]]]:
    """Documents named by id (each through the kernel: one not visible is a 404), else the
    reader's most recently updated ones."""
    if ids:
        with not_found_is_404():
            documents = [selectors.document_for(request.user, pk) for pk in dict.fromkeys(ids)]
    else:
        documents = selectors.visible_documents(request.user, limit=selectors.PAGE_SIZE)
    return documents, [(str(d.pk), f"{d.title} [{d.label.canonical}]") for d in documents]


def _version_page(request: HttpRequest, document: Document, version: DocumentVersion,
                  ) -> HttpResponse:
    user = request.user
    return render(request, "exchange/document_detail.html", {
        "document": document, "version": version,
        "is_current": version.number == document.current_version,
        "body": selectors.version_body(version),
        "attachments": selectors.attachments_of(user, version),
        "versions": selectors.versions_of(user, document),
        "banner": banner(version.label, reader_nation(request)),
        "owned": document.owner_id == getattr(user, "organisation_id", None),
        "pdf_available": _pdf_exporter() is not None,
    })


def _pdf_exporter() -> Callable[..., tuple[bytes, Any]] | None:
    """``entente.exchange.pdf.export_pdf`` once it exists; until then the export is not offered."""
    try:
        from entente.exchange import pdf  # type: ignore[attr-defined,unused-ignore]
    except ModuleNotFoundError as exc:
        if exc.name != "entente.exchange.pdf":
            raise
        return None
    return getattr(pdf, "export_pdf", None)


# --------------------------------------------------------------------------- documents


@require_GET
def document_list(request: HttpRequest) -> HttpResponse:
    form = DocumentFilterForm(request.GET)
    where = selectors.DocumentFilter()
    if form.is_valid():
        data = form.cleaned_data
        where = selectors.DocumentFilter(
            text=data["q"], originator=data["originator"],
            classification=data["classification"], owner=data["owner"],
            updated_from=data["updated_from"], updated_until=data["updated_until"])
    total = selectors.count_visible_documents(request.user, where)
    pages = max(1, math.ceil(total.value / selectors.PAGE_SIZE))
    try:
        page = min(max(1, int(request.GET.get("page", "1"))), pages)
    except ValueError:
        page = 1
    documents = selectors.visible_documents(request.user, where,
                                            offset=(page - 1) * selectors.PAGE_SIZE)
    marking = page_banners(request)
    return render(request, "exchange/document_list.html", {
        "form": form, "total": total, "page": page, "pages": pages,
        "previous": page - 1 if page > 1 else None, "next": page + 1 if page < pages else None,
        "rows": [(d, marking(d.label)) for d in documents],
    })


@GET_POST
def document_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = DocumentForm(request.POST or None, request.FILES or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        files = _incoming(data["attachments"])
        try:
            document = services.create_document(
                actor=user, label=form.label_spec(), title_en=data["title_en"],
                title_ja=data["title_ja"], summary_en=data["summary_en"],
                summary_ja=data["summary_ja"], body=data["body"], files=files)
        except (ExchangeError, LabelError) as exc:
            form.add_error(None, str(exc))
        except NotFound:
            form.add_error(None, _("You may not create a document under this label: your "
                                   "clearance, nationality or communities do not cover it."))
        else:
            messages.success(request, _("Document created."))
            return _done(request, reverse("exchange:document", args=[document.pk]))
        finally:
            _close(files)
    return _show(request, "document_form.html", {"form": form}, form)


@require_GET
def document_detail(request: HttpRequest, document_id: str) -> HttpResponse:
    with not_found_is_404():
        document = selectors.document_for(request.user, document_id)
        version = selectors.version_for(request.user, document)
    return _version_page(request, document, version)


@require_GET
def version_detail(request: HttpRequest, document_id: str, number: int) -> HttpResponse:
    with not_found_is_404():
        document = selectors.document_for(request.user, document_id)
        if number < 1:  # version_for reads 0 as "the current one"
            raise NotFound
        version = selectors.version_for(request.user, document, number)
    return _version_page(request, document, version)


@GET_POST
def version_create(request: HttpRequest, document_id: str) -> HttpResponse:
    user = request.user
    with not_found_is_404():
        document = selectors.document_for(user, document_id, Action.EDIT)
        current = selectors.version_for(user, document)
    if request.method == "POST":
        form = VersionForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            files = _incoming(data["attachments"])
            try:
                with not_found_is_404():
                    version = services.add_version(
                        actor=user, document=document, body=data["body"], note=data["note"],
                        files=files, keep_attachments=data["keep_attachments"])
            except (ExchangeError, LabelError) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Version %(number)d saved.")
                                 % {"number": version.number})
                return _done(request, reverse("exchange:document", args=[document.pk]))
            finally:
                _close(files)
    else:
        form = VersionForm(initial={"body": selectors.version_body(current),
                                    "keep_attachments": True})
    return _show(request, "version_form.html", {
        "form": form, "document": document, "banner": banner(document.label, reader_nation(request))},
        form)


@require_GET
def attachment_download(request: HttpRequest, attachment_id: str) -> HttpResponseBase:
    with not_found_is_404():
        attachment = selectors.attachment_for(request.user, attachment_id)
    return attachment_response(attachment, reader_nation(request))


@require_POST
def document_pdf(request: HttpRequest, document_id: str) -> HttpResponse:
    """A numbered PDF copy of the current version (POST: every export is a recorded copy)."""
    export_pdf = _pdf_exporter()
    with not_found_is_404():
        if export_pdf is None:
            raise NotFound
        document = selectors.document_for(request.user, document_id, Action.EXPORT)
        version = selectors.version_for(request.user, document, action=Action.EXPORT)
        try:
            content, number = export_pdf(reader=request.user, document=document,
                                         version=version,
                                         body=selectors.version_body(version))
        except (ExchangeError, LabelError) as exc:
            messages.error(request, str(exc))
            return redirect("exchange:document", document.pk)
    response = HttpResponse(content, content_type="application/pdf")
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in str(number))
    response["Content-Disposition"] = f'attachment; filename="{document.pk}-export-{safe}.pdf"'
    response["X-Entente-Label"] = version.label.canonical
    response["X-Entente-Banner"] = banner(version.label, reader_nation(request)).text()
    response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- transmissions


def _overdue(sent_at: dt.datetime, acknowledged_at: dt.datetime | None) -> bool:
    cutoff = timezone.now() - dt.timedelta(days=services.acknowledgement_days())
    return acknowledged_at is None and sent_at < cutoff


@require_GET
def transmission_list(request: HttpRequest) -> HttpResponse:
    from entente.federation.selectors import delivery_of, with_deliveries

    org = getattr(request.user, "organisation_id", None)
    overdue = set(selectors.overdue_transmissions(request.user).values_list("pk", flat=True))
    transmissions = with_deliveries(selectors.transmissions_for(request.user))
    rows = [(t, t.pk in overdue, t.recipient_id == org, delivery_of(t))
            for t in transmissions[:LIST_LIMIT]]
    return render(request, "exchange/transmission_list.html", {"rows": rows})


@GET_POST
def transmission_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    posted = request.method == "POST"
    ids = request.POST.getlist("candidate") if posted else request.GET.getlist("document")
    documents, choices = _document_choices(request, ids)
    form = TransmissionForm(request.POST if posted else None, user=user, documents=choices,
                            initial={"documents": [str(d.pk) for d in documents] if ids else []})
    if posted and form.is_valid():
        data = form.cleaned_data
        chosen = [d for d in documents if str(d.pk) in set(data["documents"])]
        try:
            with not_found_is_404():
                transmission = services.transmit(
                    actor=user, documents=chosen, recipient=data["recipient"],
                    channel=data["channel"], reference=data["reference"])
        except (ExchangeError, LabelError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Sent to %(recipient)s.")
                             % {"recipient": transmission.recipient.name})
            return redirect("exchange:transmission", transmission.pk)
    marking = page_banners(request)
    return _show(request, "transmission_form.html", {
        "form": form, "candidates": [(d, marking(d.label)) for d in documents]}, form)


@require_GET
def transmission_detail(request: HttpRequest, transmission_id: str) -> HttpResponse:
    with not_found_is_404():
        transmission = selectors.transmission_for(request.user, transmission_id)
    marking = page_banners(request)
    items = [(item, version, marking(version.label))
             for item, version in selectors.items_visible_to(request.user, transmission)]
    from entente.federation.selectors import arrival_of, delivery_of

    org = getattr(request.user, "organisation_id", None)
    delivery = delivery_of(transmission)
    return render(request, "exchange/transmission_detail.html", {
        "transmission": transmission, "items": items,
        "overdue": _overdue(transmission.sent_at, transmission.acknowledged_at),
        # One that travels to a partner's node is acknowledged by that node's signed receipt.
        "may_acknowledge": transmission.recipient_id == org and delivery is None
        and transmission.acknowledged_at is None,
        "delivery": delivery, "arrival": arrival_of(transmission) if delivery is None else None,
    })


@require_POST
def transmission_acknowledge(request: HttpRequest, transmission_id: str) -> HttpResponse:
    with not_found_is_404():
        transmission = selectors.transmission_for(request.user, transmission_id)
        try:
            services.acknowledge(actor=request.user, transmission=transmission)
        except ExchangeError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Receipt acknowledged; the documents are now in your "
                                        "organisation's register."))
    return redirect("exchange:transmission", transmission.pk)


# --------------------------------------------------------------------------- originator control


def _request_rows(request: HttpRequest, failed: OriginatorRequest | None = None,
                  failed_form: DecisionForm | None = None) -> list[dict[str, Any]]:
    user = request.user
    authority = kernel.Subject.of(user).authority_for
    rows = []
    for item in selectors.requests_for(user, LIST_LIMIT):
        open_ = item.state == RequestState.SUBMITTED
        is_failed = failed is not None and failed.pk == item.pk
        rows.append({
            "request": item, "kind": item.kind, "target": item.target,
            "may_decide": open_ and authority == item.from_label.originator_id,
            "may_withdraw": open_ and item.requested_by_id == user.pk,
            "form": failed_form if is_failed and failed_form is not None else DecisionForm(
                prefix=str(item.pk)),
        })
    return rows


@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    return render(request, "exchange/request_list.html", {"rows": _request_rows(request)})


@require_POST
def request_decide(request: HttpRequest, kind: str, request_id: str) -> HttpResponse:
    with not_found_is_404():
        item = selectors.request_for(request.user, kind, request_id)
        form = DecisionForm(request.POST, prefix=str(item.pk))
        decision = request.POST.get("decision")
        if form.is_valid() and decision in {"approve", "refuse"}:
            try:
                services.decide_request(actor=request.user, request=item,
                                        approve=decision == "approve",
                                        note=form.cleaned_data["note"])
            except (ExchangeError, LabelError) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Request approved.") if decision == "approve"
                                 else _("Request refused."))
                return redirect("exchange:requests")
        elif form.is_valid():
            form.add_error(None, _("Choose Approve or Refuse."))
    return render(request, "exchange/request_list.html",
                  {"rows": _request_rows(request, item, form)}, status=400)


@require_POST
def request_withdraw(request: HttpRequest, kind: str, request_id: str) -> HttpResponse:
    with not_found_is_404():
        item = selectors.request_for(request.user, kind, request_id)
        try:
            services.withdraw_request(actor=request.user, request=item)
        except ExchangeError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Request withdrawn."))
    return redirect("exchange:requests")


@GET_POST
def release_request_create(request: HttpRequest, document_id: str) -> HttpResponse:
    with not_found_is_404():
        document = selectors.document_for(request.user, document_id)
    already = {n.pk for n in document.label.releasable_to.all()}
    form = ReleaseRequestForm(request.POST or None, already=already)
    if request.method == "POST" and form.is_valid():
        try:
            with not_found_is_404():
                services.request_release(actor=request.user, document=document,
                                         to_nation=form.cleaned_data["to_nation"],
                                         reason=form.cleaned_data["reason"])
        except ExchangeError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Release requested; the originator's security "
                                        "authority will decide."))
            return redirect("exchange:requests")
    return _show(request, "request_form.html", {
        "form": form, "document": document, "kind": "release",
        "banner": banner(document.label, reader_nation(request))}, form)


@GET_POST
def downgrade_request_create(request: HttpRequest, document_id: str) -> HttpResponse:
    with not_found_is_404():
        document = selectors.document_for(request.user, document_id)
    form = DowngradeRequestForm(request.POST or None, current=document.label.classification)
    if request.method == "POST" and form.is_valid():
        try:
            with not_found_is_404():
                services.request_downgrade(actor=request.user, document=document,
                                           to_marking=form.cleaned_data["to_marking"],
                                           reason=form.cleaned_data["reason"])
        except ExchangeError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Downgrade requested; the originator's security "
                                        "authority will decide."))
            return redirect("exchange:requests")
    return _show(request, "request_form.html", {
        "form": form, "document": document, "kind": "downgrade",
        "banner": banner(document.label, reader_nation(request))}, form)


# --------------------------------------------------------------------------- loss or compromise


@require_GET
def loss_report_list(request: HttpRequest) -> HttpResponse:
    return render(request, "exchange/loss_report_list.html",
                  {"reports": selectors.loss_reports_for(request.user)[:LIST_LIMIT]})


@GET_POST
def loss_report_create(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    ids = request.POST.getlist("candidate") if posted else request.GET.getlist("document")
    documents, choices = _document_choices(request, ids)
    form = LossReportForm(request.POST if posted else None, documents=choices,
                          initial={"documents": [str(d.pk) for d in documents] if ids else []})
    if posted and form.is_valid():
        chosen = [d for d in documents if str(d.pk) in set(form.cleaned_data["documents"])]
        try:
            with not_found_is_404():
                report = services.report_loss(actor=request.user, documents=chosen,
                                              description=form.cleaned_data["description"])
        except ExchangeError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Reported. Both nations' security authorities have "
                                        "been notified."))
            return redirect("exchange:loss_report", report.pk)
    marking = page_banners(request)
    return _show(request, "loss_report_form.html", {
        "form": form, "candidates": [(d, marking(d.label)) for d in documents]}, form)


@GET_POST
def loss_report_detail(request: HttpRequest, report_id: str) -> HttpResponse:
    user = request.user
    with not_found_is_404():
        report = selectors.loss_report_for(user, report_id)
    may_update = services.is_security_authority(user)
    form = None
    if may_update:
        form = LossReportUpdateForm(request.POST or None, initial={
            "status": report.status, "outcome": report.outcome, "findings": report.findings})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                with not_found_is_404():
                    services.update_loss_report(actor=user, report=report, status=data["status"],
                                                outcome=data["outcome"],
                                                findings=data["findings"])
            except ExchangeError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Report updated."))
                return redirect("exchange:loss_report", report.pk)
    elif request.method == "POST":
        raise Http404
    marking = page_banners(request)
    documents = [(d, marking(d.label)) for d in selectors.report_documents(user, report)]
    return _show(request, "loss_report_detail.html",
                 {"report": report, "documents": documents, "form": form}, form)


# --------------------------------------------------------------------------- inbox, register


NOTIFICATION_TEXT = {
    "transmission.received": gettext_lazy("Documents were sent to your organisation."),
    "transmission.acknowledged": gettext_lazy("A transmission your organisation sent was acknowledged."),
    "release.request": gettext_lazy("A release request awaits your authority's decision."),
    "downgrade.request": gettext_lazy("A downgrade request awaits your authority's decision."),
    "release.decided": gettext_lazy("A release request was decided."),
    "downgrade.decided": gettext_lazy("A downgrade request was decided."),
    "request.withdrawn": gettext_lazy("A request awaiting your authority's decision was "
                                      "withdrawn by its requester."),
    "loss.report": gettext_lazy("A loss or compromise was reported."),
    "visit.submitted": gettext_lazy("A request for visit awaits your authority's clearance assurance."),
    "visit.assured": gettext_lazy("A request for visit awaits your authority's decision."),
    "visit.approved": gettext_lazy("A visit to your organisation was approved."),
    "visit.decided": gettext_lazy("A request for visit was decided."),
    "visit.reviewed": gettext_lazy("An approved visit was reviewed for another year."),
    "package.refused": gettext_lazy("A partner's node refused a package this node sent."),
}


def _notification_link(object_type: str, object_id: str) -> str:
    if object_type == "exchange.transmission":
        return reverse("exchange:transmission", args=[object_id])
    if object_type == "exchange.lossreport":
        return reverse("exchange:loss_report", args=[object_id])
    if object_type in {"exchange.releaserequest", "exchange.downgraderequest"}:
        return reverse("exchange:requests")
    if object_type == "industry.visitrequest":
        return reverse("industry:visit", args=[object_id])
    if object_type == "federation.outboundpackage":
        return reverse("federation:sent", args=[object_id])
    return ""


@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    rows = [(n, str(NOTIFICATION_TEXT.get(n.kind, n.kind)),
             _notification_link(n.object_type, n.object_id))
            for n in selectors.notifications_for(request.user)[:LIST_LIMIT]]
    return render(request, "exchange/notification_list.html", {"rows": rows})


@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = selectors.notifications_for(request.user).filter(pk=notification_id).first()
    if notification is None:
        raise Http404
    with not_found_is_404():
        services.mark_read(actor=request.user, notification=notification)
    return redirect("exchange:notifications")


@require_GET
def register(request: HttpRequest) -> HttpResponse:
    return render(request, "exchange/register.html",
                  {"holdings": selectors.register_of(request.user)})


@require_GET
def register_download(request: HttpRequest) -> HttpResponse:
    return register_csv(request)
