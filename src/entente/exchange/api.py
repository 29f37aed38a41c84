"""JSON API of the exchange: documents, versions, attachments, transmissions, originator requests,
loss reports, notifications and the register. Every read is a selector (kernel-filtered, audited);
every change is a service. A forbidden id and a missing id both answer 404 with the same body."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from ninja import File, Form, Path, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from pydantic import UUID4, Field

from entente.core.api_support import MAX_PAGE, NOT_FOUND
from entente.core.api_support import failing as _failing
from entente.core.models import Organisation
from entente.exchange import selectors, services
from entente.exchange.models import (
    Attachment,
    Document,
    DocumentVersion,
    LossReport,
    OriginatorRequest,
    Transmission,
)
from entente.exchange.services import ExchangeError, IncomingFile
from entente.security import reference
from entente.security.kernel import Action
from entente.security.labels import LabelError, LabelSpec, banner
from entente.security.selectors import NotFound

router = Router(tags=["exchange"])


class Problem(Schema):
    detail: str


class DocumentOut(Schema):
    id: UUID4
    title_en: str
    title_ja: str
    summary_en: str
    summary_ja: str
    label: str
    banner: str
    owner: str
    current_version: int
    compromised: bool
    updated_at: dt.datetime


class DocumentPage(Schema):
    count: int = Field(description="Documents the caller may view that match; a search stops "
                                   "counting at 1,000 (then `count_exact` is false).")
    count_exact: bool
    items: list[DocumentOut]


class AttachmentOut(Schema):
    id: UUID4
    filename: str
    content_type: str
    size: int
    sha256: str


class VersionOut(Schema):
    number: int
    label: str
    banner: str
    note: str
    created_by: str
    created_at: dt.datetime


class VersionDetail(VersionOut):
    body: str
    attachments: list[AttachmentOut]


class DocumentDetail(DocumentOut):
    body: str
    attachments: list[AttachmentOut]
    versions: list[VersionOut]


class TransmissionItemOut(Schema):
    document: UUID4
    version: int
    label: str
    content_sha256: str


class DeliveryOut(Schema):
    """How a transmission to an organisation of a partner nation travels to that nation's node:
    as a package, until the partner node's signed receipt comes back (or it is refused)."""

    partner: str
    state: str = Field(description="queued (waiting to be delivered), receipted, or refused")
    attempts: int
    last_error: str = Field(description="why the last attempt failed; for a refused package, "
                                        "the partner node's reason")
    receipted_at: dt.datetime | None


class TransmissionOut(Schema):
    id: UUID4
    sender: str
    sender_organisation: str
    recipient: str
    channel: str
    reference: str
    sent_at: dt.datetime
    acknowledged_at: dt.datetime | None
    overdue: bool
    items: list[TransmissionItemOut]
    delivery: DeliveryOut | None = Field(description="for a transmission to an organisation of "
                                                     "a partner nation: its delivery to that "
                                                     "nation's node")


class TransmissionIn(Schema):
    documents: list[UUID4] = Field(min_length=1)
    recipient: str
    channel: str = "in_system"
    reference: str = ""


class ReleaseIn(Schema):
    to_nation: str
    reason: str


class DowngradeIn(Schema):
    to_marking: str
    reason: str


class RequestDecisionIn(Schema):
    approve: bool
    note: str = ""


class RequestOut(Schema):
    id: UUID4
    kind: str
    document: UUID4
    state: str
    reason: str
    requested_by: str
    requested_by_name: str = Field(description="for a request made on another nation's node "
                                               "(requested_by is that node's account here): "
                                               "who asked there, by name and organisation")
    requested_at: dt.datetime
    target: str
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str
    from_label: str
    result_label: str | None


class LossReportIn(Schema):
    documents: list[UUID4] = Field(min_length=1)
    description: str


class LossReportUpdate(Schema):
    status: str
    outcome: str = ""
    findings: str = ""


class LossReportOut(Schema):
    id: UUID4
    reported_by: str
    reported_at: dt.datetime
    description: str
    status: str
    outcome: str
    findings: str
    documents: list[UUID4]


class NotificationOut(Schema):
    id: int
    kind: str
    object_type: str
    object_id: str
    created_at: dt.datetime
    read: bool


class HoldingOut(Schema):
    document: UUID4
    title: str
    label: str
    version: int
    held_since: dt.datetime
    transmission: UUID4 | None
    received_from: str | None


# --------------------------------------------------------------------------- helpers


def _nation(request: HttpRequest) -> str | None:
    return getattr(request.user, "nationality_id", None)


def _document_out(document: Document, nation: str | None,
                  protection: reference.Protection | None = None) -> dict[str, Any]:
    return {"id": document.pk, "title_en": document.title_en, "title_ja": document.title_ja,
            "summary_en": document.summary_en, "summary_ja": document.summary_ja,
            "label": document.label.canonical,
            "banner": banner(document.label, nation, protection=protection).text(),
            "owner": document.owner.code, "current_version": document.current_version,
            "compromised": document.compromised, "updated_at": document.updated_at}


def _attachment_out(attachment: Attachment) -> dict[str, Any]:
    return {"id": attachment.pk, "filename": attachment.filename,
            "content_type": attachment.content_type, "size": attachment.size,
            "sha256": attachment.sha256}


def _version_out(version: DocumentVersion, nation: str | None) -> dict[str, Any]:
    return {"number": version.number, "label": version.label.canonical,
            "banner": banner(version.label, nation).text(), "note": version.note,
            "created_by": version.created_by.username, "created_at": version.created_at}


def _transmission_out(request: HttpRequest, transmission: Transmission) -> dict[str, Any]:
    cutoff = timezone.now() - dt.timedelta(days=services.acknowledgement_days())
    return {"id": transmission.pk, "sender": transmission.sender.username,
            "sender_organisation": transmission.sender_organisation.code,
            "recipient": transmission.recipient.code, "channel": transmission.channel,
            "reference": transmission.reference, "sent_at": transmission.sent_at,
            "acknowledged_at": transmission.acknowledged_at,
            "overdue": transmission.acknowledged_at is None and transmission.sent_at < cutoff,
            "items": [{"document": item.document_id_copy, "version": item.version_number,
                       "label": item.label_canonical, "content_sha256": item.content_sha256}
                      for item, _version in selectors.items_visible_to(request.user,
                                                                       transmission)],
            "delivery": delivery_out(transmission)}


def delivery_out(transmission: Transmission) -> dict[str, Any] | None:
    """The transmission's delivery to a partner's node, if it travels as a package."""
    from entente.federation.selectors import delivery_of

    package = delivery_of(transmission)
    if package is None:
        return None
    return {"partner": package.partner_id, "state": package.state,
            "attempts": package.attempts, "last_error": package.last_error,
            "receipted_at": package.receipted_at}


def _request_out(request: OriginatorRequest) -> dict[str, Any]:
    return {"id": request.pk, "kind": request.kind, "document": request.document_id,
            "state": request.state, "reason": request.reason,
            "requested_by": request.requested_by.username,
            "requested_by_name": request.requested_by_name, "requested_at": request.requested_at,
            "target": request.target,
            "decided_by": request.decided_by.username if request.decided_by else None,
            "decided_at": request.decided_at, "decision_note": request.decision_note,
            "from_label": request.from_label.canonical,
            "result_label": request.result_label.canonical if request.result_label else None}


def _loss_out(request: HttpRequest, report: LossReport) -> dict[str, Any]:
    return {"id": report.pk, "reported_by": report.reported_by.username,
            "reported_at": report.reported_at, "description": report.description,
            "status": report.status, "outcome": report.outcome, "findings": report.findings,
            "documents": [d.pk for d in selectors.report_documents(request.user, report)]}


def _files(request: HttpRequest, files: list[UploadedFile] | None) -> list[IncomingFile]:
    if unexpected := sorted(set(request.FILES) - {"files"}):
        # A file sent under another name would otherwise be dropped without a word.
        raise HttpError(422, f"Send files in the 'files' field, not {', '.join(unexpected)}.")
    out = []
    for upload in files or []:
        # EncryptingUploadHandler (settings.FILE_UPLOAD_HANDLERS) gives encrypted uploads only.
        stream = upload.plaintext()  # type: ignore[attr-defined]
        out.append(IncomingFile(upload.name or "", upload.content_type or "", stream))
    return out


def _documents(request: HttpRequest, ids: list[uuid.UUID], action: Action) -> list[Document]:
    return [selectors.document_for(request.user, pk, action) for pk in ids]



# --------------------------------------------------------------------------- documents


@router.get("/documents", response={200: DocumentPage, 422: Problem},
            summary="Documents the caller may view",
            description="Search (`q`, English or Japanese) and filters; `count` counts only "
                        "what the caller may view.")
def list_documents(request: HttpRequest, q: str = "", originator: str = "",
                   classification: str = "", owner: str = "",
                   updated_from: dt.date | None = None, updated_until: dt.date | None = None,
                   compromised: bool | None = None, offset: Query[int] = 0,
                   limit: Query[int] = selectors.PAGE_SIZE) -> dict[str, Any]:
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise HttpError(422, f"offset must be ≥ 0 and limit between 1 and {MAX_PAGE}.")
    where = selectors.DocumentFilter(text=q, originator=originator,
                                     classification=classification, owner=owner,
                                     updated_from=updated_from, updated_until=updated_until,
                                     compromised=compromised)
    documents = selectors.visible_documents(request.user, where, offset=offset, limit=limit)
    protection = reference.protection(timezone.localdate())
    count = selectors.count_visible_documents(request.user, where)
    return {"count": count.value, "count_exact": count.exact,
            "items": [_document_out(d, _nation(request), protection) for d in documents]}


@router.post("/documents", response={201: DocumentDetail, 422: Problem},
             summary="Create a document (multipart: fields and files)")
def create_document(request: HttpRequest, label: Form[str], title_en: Form[str] = "",
                    title_ja: Form[str] = "", summary_en: Form[str] = "",
                    summary_ja: Form[str] = "", body: Form[str] = "",
                    files: File[list[UploadedFile]] = None,  # type: ignore[assignment]
                    ) -> Status:
    try:
        document = services.create_document(
            actor=request.user, label=LabelSpec.parse(label), title_en=title_en,
            title_ja=title_ja, summary_en=summary_en, summary_ja=summary_ja, body=body,
            files=_files(request, files))
    except (LabelError, ExchangeError) as exc:
        raise _failing(exc) from None
    except NotFound:
        raise HttpError(422, "You may not create a document under this label (your clearance, "
                             "nationality or communities do not cover it).") from None
    return Status(201, _detail(request, document))


def _detail(request: HttpRequest, document: Document) -> dict[str, Any]:
    version = selectors.version_for(request.user, document)
    return {**_document_out(document, _nation(request)),
            "body": selectors.version_body(version),
            "attachments": [_attachment_out(a) for a in
                            selectors.attachments_of(request.user, version)],
            "versions": [_version_out(v, _nation(request))
                         for v in selectors.versions_of(request.user, document)]}


@router.get("/documents/{document_id}", response={200: DocumentDetail, 404: Problem})
def get_document(request: HttpRequest, document_id: str) -> Any:
    try:
        return _detail(request, selectors.document_for(request.user, document_id))
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})


@router.get("/documents/{document_id}/versions/{number}",
            response={200: VersionDetail, 404: Problem})
def get_version(request: HttpRequest, document_id: str, number: int) -> Any:
    try:
        document = selectors.document_for(request.user, document_id)
        version = selectors.version_for(request.user, document, number) if number > 0 else None
        if version is None:
            raise NotFound
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    return {**_version_out(version, _nation(request)), "body": selectors.version_body(version),
            "attachments": [_attachment_out(a) for a in
                            selectors.attachments_of(request.user, version)]}


@router.post("/documents/{document_id}/versions",
             response={201: VersionDetail, 404: Problem, 422: Problem})
def add_version(request: HttpRequest, document_id: str, body: Form[str] = "",
                note: Form[str] = "", keep_attachments: Form[bool] = True,
                files: File[list[UploadedFile]] = None,  # type: ignore[assignment]
                ) -> Any:
    try:
        document = selectors.document_for(request.user, document_id, Action.EDIT)
        version = services.add_version(actor=request.user, document=document, body=body,
                                       note=note, files=_files(request, files),
                                       keep_attachments=keep_attachments)
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    except ExchangeError as exc:
        raise _failing(exc) from None
    return Status(201, {**_version_out(version, _nation(request)), "body": body,
                        "attachments": [_attachment_out(a) for a in version.attachments.all()]})


@router.get("/attachments/{attachment_id}", response={200: None, 404: Problem},
            summary="Download an attachment (decrypted as it is sent)")
def download_attachment(request: HttpRequest, attachment_id: str) -> Any:
    try:
        attachment = selectors.attachment_for(request.user, attachment_id)
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    return attachment_response(attachment, _nation(request))


def attachment_response(attachment: Attachment, nation: str | None) -> StreamingHttpResponse:
    """The download, with the label in headers (files cannot carry a banner of their own)."""
    response = StreamingHttpResponse(selectors.attachment_plaintext(attachment),
                                     content_type=attachment.content_type)
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = _disposition(attachment.filename)
    response["X-Entente-Label"] = attachment.label.canonical
    response["X-Entente-Banner"] = banner(attachment.label, nation).text()
    response["Cache-Control"] = "no-store"
    return response


def _disposition(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@router.get("/documents/{document_id}/pdf", response={200: None, 404: Problem},
            summary="PDF export, marked on every page; numbered per reader and audited")
def export_pdf(request: HttpRequest, document_id: str, version: int = 0) -> Any:
    try:
        document = selectors.document_for(request.user, document_id, Action.EXPORT)
        found = selectors.version_for(request.user, document, version or None, Action.EXPORT)
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    return pdf_response(request, document, found)


def pdf_response(request: HttpRequest, document: Document,
                 version: DocumentVersion) -> HttpResponse:
    from entente.exchange import pdf

    data, number = pdf.export_pdf(reader=request.user, document=document, version=version,
                                  body=selectors.version_body(version))
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{document.pk}-v{version.number}-export{number}.pdf"')
    response["X-Entente-Label"] = version.label.canonical
    response["Cache-Control"] = "no-store"
    return response


@router.get("/documents/{document_id}/label", response={200: None, 404: Problem},
            summary="STANAG 4774 label of the current version, bound (4778-style) to its content")
def export_label(request: HttpRequest, document_id: str) -> Any:
    from entente.exchange import interchange

    try:
        document = selectors.document_for(request.user, document_id, Action.EXPORT)
        version = selectors.version_for(request.user, document, None, Action.EXPORT)
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    label_xml = interchange.label_to_xml(version.label, created=version.created_at,
                                         originator_id=document.owner.code)
    binding = interchange.bind(services.version_digest(version), label_xml)
    return HttpResponse(binding, content_type="application/xml")


class LabelCheckOut(Schema):
    label: str


@router.post("/labels/verify", response={200: LabelCheckOut, 422: Problem},
             summary="Import a bound STANAG 4774 label: refused unless its signature verifies "
                     "and it is bound to this content hash")
def verify_label(request: HttpRequest, binding: File[UploadedFile],
                 content_sha256: Form[str]) -> Any:
    from entente.exchange import interchange

    with binding.plaintext() as stream:  # type: ignore[attr-defined]
        data = stream.read(1024 * 1024 + 1)
    try:
        spec = interchange.verify_binding(data, content_sha256.strip().lower())
    except interchange.InterchangeError as exc:
        raise _failing(exc) from None
    return {"label": spec.canonical()}


# --------------------------------------------------------------------------- transmissions


@router.get("/transmissions", response=list[TransmissionOut])
def list_transmissions(request: HttpRequest, overdue: bool = False) -> list[dict[str, Any]]:
    queryset = (selectors.overdue_transmissions(request.user) if overdue
                else selectors.transmissions_for(request.user))
    return [_transmission_out(request, t) for t in queryset[:MAX_PAGE]]


@router.post("/transmissions", response={201: TransmissionOut, 404: Problem, 422: Problem})
def send(request: HttpRequest, payload: TransmissionIn) -> Any:
    recipient = Organisation.objects.filter(code=payload.recipient).first()
    if recipient is None:
        raise HttpError(422, f"Unknown organisation '{payload.recipient}'.")
    try:
        transmission = services.transmit(
            actor=request.user, documents=_documents(request, payload.documents, Action.VIEW),
            recipient=recipient, channel=payload.channel, reference=payload.reference)
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    except ExchangeError as exc:
        raise _failing(exc) from None
    return Status(201, _transmission_out(request, transmission))


@router.get("/transmissions/{transmission_id}", response={200: TransmissionOut, 404: Problem})
def get_transmission(request: HttpRequest, transmission_id: str) -> Any:
    try:
        return _transmission_out(request, selectors.transmission_for(request.user,
                                                                     transmission_id))
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})


@router.post("/transmissions/{transmission_id}/acknowledge",
             response={200: TransmissionOut, 404: Problem, 422: Problem})
def acknowledge(request: HttpRequest, transmission_id: str) -> Any:
    try:
        transmission = services.acknowledge(
            actor=request.user,
            transmission=selectors.transmission_for(request.user, transmission_id))
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    except ExchangeError as exc:
        raise _failing(exc) from None
    return _transmission_out(request, transmission)


# --------------------------------------------------------------------------- originator control

@router.post("/documents/{document_id}/release-requests",
             response={201: RequestOut, 404: Problem, 422: Problem})
def ask_release(request: HttpRequest, document_id: str, payload: ReleaseIn) -> Any:
    try:
        document = selectors.document_for(request.user, document_id)
        made = services.request_release(actor=request.user, document=document,
                                        to_nation=payload.to_nation, reason=payload.reason)
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    except ExchangeError as exc:
        raise _failing(exc) from None
    return Status(201, _request_out(made))


@router.post("/documents/{document_id}/downgrade-requests",
             response={201: RequestOut, 404: Problem, 422: Problem})
def ask_downgrade(request: HttpRequest, document_id: str, payload: DowngradeIn) -> Any:
    try:
        document = selectors.document_for(request.user, document_id)
        made = services.request_downgrade(actor=request.user, document=document,
                                          to_marking=payload.to_marking, reason=payload.reason)
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    except ExchangeError as exc:
        raise _failing(exc) from None
    return Status(201, _request_out(made))


@router.get("/requests", response=list[RequestOut],
            summary="Release and downgrade requests the caller made or must decide")
def list_requests(request: HttpRequest) -> list[dict[str, Any]]:
    return [_request_out(r) for r in selectors.requests_for(request.user, MAX_PAGE)]


@router.post("/requests/{kind}/{request_id}/decision",
             response={200: RequestOut, 404: Problem, 422: Problem})
def decide(request: HttpRequest, kind: str, request_id: str, payload: RequestDecisionIn) -> Any:
    try:
        asked = selectors.request_for(request.user, kind, request_id)
        decided = services.decide_request(actor=request.user, request=asked,
                                          approve=payload.approve, note=payload.note)
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    except (ExchangeError, LabelError) as exc:
        raise _failing(exc) from None
    return _request_out(decided)


@router.post("/requests/{kind}/{request_id}/withdraw",
             response={200: RequestOut, 404: Problem, 422: Problem})
def withdraw(request: HttpRequest, kind: str, request_id: str) -> Any:
    try:
        asked = selectors.request_for(request.user, kind, request_id)
        withdrawn = services.withdraw_request(actor=request.user, request=asked)
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    except ExchangeError as exc:
        raise _failing(exc) from None
    return _request_out(withdrawn)


# --------------------------------------------------------------------------- loss or compromise


@router.post("/loss-reports", response={201: LossReportOut, 404: Problem, 422: Problem})
def report_loss(request: HttpRequest, payload: LossReportIn) -> Any:
    try:
        report = services.report_loss(
            actor=request.user, documents=_documents(request, payload.documents, Action.VIEW),
            description=payload.description)
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    except ExchangeError as exc:
        raise _failing(exc) from None
    return Status(201, _loss_out(request, report))


@router.get("/loss-reports", response=list[LossReportOut])
def list_loss_reports(request: HttpRequest) -> list[dict[str, Any]]:
    return [_loss_out(request, r) for r in selectors.loss_reports_for(request.user)[:MAX_PAGE]]


@router.get("/loss-reports/{report_id}", response={200: LossReportOut, 404: Problem})
def get_loss_report(request: HttpRequest, report_id: str) -> Any:
    try:
        return _loss_out(request, selectors.loss_report_for(request.user, report_id))
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})


@router.patch("/loss-reports/{report_id}", response={200: LossReportOut, 404: Problem,
                                                    422: Problem})
def update_loss_report(request: HttpRequest, report_id: str, payload: LossReportUpdate) -> Any:
    try:
        report = services.update_loss_report(
            actor=request.user, report=selectors.loss_report_for(request.user, report_id),
            status=payload.status, outcome=payload.outcome, findings=payload.findings)
    except NotFound:
        return Status(404, {"detail": NOT_FOUND})
    except ExchangeError as exc:
        raise _failing(exc) from None
    return _loss_out(request, report)


# --------------------------------------------------------------------------- inbox, register


@router.get("/notifications", response=list[NotificationOut])
def list_notifications(request: HttpRequest, unread: bool = False) -> list[dict[str, Any]]:
    return [{"id": n.pk, "kind": n.kind, "object_type": n.object_type,
             "object_id": n.object_id, "created_at": n.created_at, "read": n.read_at is not None}
            for n in selectors.notifications_for(request.user, unread_only=unread)[:MAX_PAGE]]


@router.post("/notifications/{notification_id}/read",
             response={204: None, 404: Problem, 422: Problem})
def read_notification(request: HttpRequest,
                      notification_id: int = Path(..., ge=1, le=2**63 - 1)) -> Any:
    notification = selectors.notifications_for(request.user).filter(pk=notification_id).first()
    if notification is None:
        return Status(404, {"detail": NOT_FOUND})
    services.mark_read(actor=request.user, notification=notification)
    return Status(204, None)


@router.get("/register", response=list[HoldingOut],
            summary="The caller's organisation's register of classified holdings")
def register(request: HttpRequest) -> list[dict[str, Any]]:
    return [holding_row(h) for h in selectors.register_of(request.user)]


def holding_row(holding: Any) -> dict[str, Any]:
    transmission = holding.transmission
    return {"document": holding.document_id, "title": holding.document.title,
            "label": holding.document.label.canonical, "version": holding.version_number,
            "held_since": holding.held_since,
            "transmission": transmission.pk if transmission else None,
            "received_from": transmission.sender_organisation.code if transmission else None}


def register_csv(request: HttpRequest) -> HttpResponse:
    """The register as CSV (also a page link); the export itself is audited."""
    import csv
    import io

    from entente.security import audit

    rows = [holding_row(h) for h in selectors.register_of(request.user)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["document", "title", "label", "version", "held_since", "transmission",
                     "received_from"])
    for row in rows:
        writer.writerow([row["document"], row["title"], row["label"], row["version"],
                         row["held_since"].isoformat(), row["transmission"] or "",
                         row["received_from"] or ""])
    audit.record("register.export", actor=request.user, object_type="exchange.holding",
                 allowed=True, detail={"rows": len(rows)})
    response = HttpResponse(buffer.getvalue().encode("utf-8-sig"),
                            content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="register.csv"'
    return response


@router.get("/register.csv", response={200: None}, summary="The register as CSV")
def register_csv_api(request: HttpRequest) -> HttpResponse:
    return register_csv(request)

