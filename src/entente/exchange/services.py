"""Actions on exchanged information. Each runs in one transaction, asks the kernel, and is audited.

Errors a person can act on are raised as ``ExchangeError`` with a message in the active language;
a forbidden or missing object is ``NotFound`` (security.selectors), never a hint that it exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from entente.core.models import Nation, Organisation, OrganisationKind
from entente.exchange import search
from entente.exchange.models import (
    Attachment,
    Channel,
    Document,
    DocumentVersion,
    DowngradeRequest,
    Holding,
    InvestigationStatus,
    LossReport,
    Notification,
    OriginatorRequest,
    Outcome,
    ReleaseRequest,
    RequestState,
    Transmission,
    TransmissionItem,
)
from entente.security import audit, blobs, kernel
from entente.security.kernel import Action
from entente.security.labels import LabelSpec, make_label, spec_of
from entente.security.models import Classification, Label
from entente.security.selectors import NotFound, require
from entente.security.services import open_for, seal_for


class ExchangeError(ValueError):
    """A request that cannot be done as asked; the message says why, for the person asking."""


@dataclass(frozen=True)
class IncomingFile:
    """A file to attach: its plaintext arrives as a stream and is encrypted as it is read."""

    filename: str
    content_type: str
    stream: BinaryIO


def _clean_title(title_en: str, title_ja: str) -> tuple[str, str]:
    title_en, title_ja = title_en.strip(), title_ja.strip()
    if not (title_en or title_ja):
        raise ExchangeError(_("A document needs a title in English or Japanese."))
    return title_en, title_ja


def _store_attachments(version: DocumentVersion, files: Iterable[IncomingFile],
                       stored: blobs.Collector) -> list[Attachment]:
    out = []
    for incoming in files:
        name = incoming.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]
        if not name:
            raise ExchangeError(_("An attachment needs a file name."))
        attachment = Attachment(version=version, label=version.label, owner=version.owner,
                                filename=name,
                                content_type=(incoming.content_type or
                                              "application/octet-stream")[:120])
        blob = stored(blobs.store(attachment, incoming.stream, max_size=max_upload_bytes()))
        attachment.blob_name, attachment.envelope = blob.name, blob.envelope
        attachment.size, attachment.sha256 = blob.size, blob.sha256
        attachment.save(force_insert=True)
        out.append(attachment)
    return out


def max_upload_bytes() -> int:
    return int(getattr(settings, "ENTENTE_MAX_UPLOAD_BYTES", 2 * 1024**3))


def _new_version(document: Document, *, actor: Any, body: str, note: str,
                 files: Iterable[IncomingFile], stored: blobs.Collector,
                 copy_from: DocumentVersion | None = None) -> DocumentVersion:
    number = (document.versions.order_by("-number").values_list("number", flat=True).first()
              or 0) + 1
    version = DocumentVersion(document=document, number=number, label=document.label,
                              owner=document.owner, note=note.strip()[:300], created_by=actor)
    version.body = seal_for(version, body.encode())
    version.save(force_insert=True)
    if copy_from is not None:
        # Content is bound to its version's label, so carrying it over is a re-encryption
        # (streamed, constant memory), never a copy of ciphertext.
        for old in copy_from.attachments.all():
            with blobs.reader(old, old.blob_name, bytes(old.envelope)) as plaintext:
                _store_attachments(version, [IncomingFile(old.filename, old.content_type,
                                                          plaintext)], stored)
    _store_attachments(version, files, stored)
    document.current_version = number
    document.save(update_fields=["current_version", "label", "updated_at"])
    search.index_document(document, body)
    _hold(document.owner, document, number, timezone.now(), None)
    return version


def _hold(organisation: Organisation, document: Document, number: int, since: dt.datetime,
          transmission: Transmission | None) -> None:
    Holding.objects.get_or_create(organisation=organisation, document=document,
                                  version_number=number,
                                  defaults={"held_since": since, "transmission": transmission})


def create_document(*, actor: Any, label: LabelSpec, title_en: str = "", title_ja: str = "",
                    summary_en: str = "", summary_ja: str = "", body: str = "",
                    files: Sequence[IncomingFile] = ()) -> Document:
    """A new document owned by the actor's organisation, with version 1.

    Files are encrypted while they are read; if anything fails, nothing is left behind: no row,
    no encrypted blob (and the plaintext was never on disk)."""
    title_en, title_ja = _clean_title(title_en, title_ja)
    if label.originator != actor.nationality_id:
        raise ExchangeError(_("New documents are originated by your own nation (%(code)s).")
                            % {"code": actor.nationality_id})
    with blobs.cleanup_on_error() as stored, audit.atomic():
        document = Document(owner=actor.organisation, label=make_label(label), created_by=actor,
                            title_en=title_en, title_ja=title_ja,
                            summary_en=summary_en.strip(), summary_ja=summary_ja.strip())
        # One cannot create what one could not then edit: same nation rules, same clearance.
        require(actor, Action.EDIT, document)
        document.save(force_insert=True)
        _new_version(document, actor=actor, body=body, note="", files=files, stored=stored)
        audit.record("document.create", actor=actor, obj=document, allowed=True,
                     detail={"label": document.label.canonical, "files": len(files)})
    return document


def add_version(*, actor: Any, document: Document, body: str, note: str = "",
                files: Sequence[IncomingFile] = (), keep_attachments: bool = True
                ) -> DocumentVersion:
    """A new version; the previous ones stay as they were."""
    with blobs.cleanup_on_error() as stored, audit.atomic():
        document = Document.objects.select_for_update().select_related("label").get(
            pk=document.pk)
        require(actor, Action.EDIT, document)
        previous = document.versions.get(number=document.current_version)
        version = _new_version(document, actor=actor, body=body, note=note, files=files,
                               stored=stored, copy_from=previous if keep_attachments else None)
        audit.record("document.version", actor=actor, obj=document, allowed=True,
                     detail={"version": version.number, "files": len(files)})
    return version


def version_digest(version: DocumentVersion) -> str:
    """SHA-256 over a version's plaintext body and its attachments' plaintext hashes: what a
    recipient checks that it received."""
    digest = hashlib.sha256(b"entente-version-v1\0")
    digest.update(hashlib.sha256(open_for(version, version.body)).digest())
    for attachment in version.attachments.order_by("filename", "id"):
        digest.update(attachment.filename.encode() + b"\0" + bytes.fromhex(attachment.sha256))
    return digest.hexdigest()


# --------------------------------------------------------------------------- transmissions


def transmit(*, actor: Any, documents: Sequence[Document], recipient: Organisation,
             channel: str = Channel.IN_SYSTEM, reference: str = "") -> Transmission:
    """Send the current versions of documents to an organisation of another nation."""
    if not documents:
        raise ExchangeError(_("Choose at least one document to send."))
    if channel not in Channel.values:
        raise ExchangeError(_("Unknown channel '%(channel)s'.") % {"channel": channel})
    if recipient.nation_id == actor.nationality_id:
        raise ExchangeError(_("A transmission goes to an organisation of another nation."))
    with audit.atomic():
        transmission = Transmission.objects.create(
            sender=actor, sender_organisation=actor.organisation, recipient=recipient,
            channel=channel, reference=reference.strip()[:100], sent_at=timezone.now())
        for document in documents:
            require(actor, Action.EXPORT, document)
            decision = kernel.may_receive(recipient, document)
            audit.record("transmission.check", actor=actor, obj=document,
                         allowed=decision.allowed, reason=decision.reason("en"),
                         detail={"recipient": recipient.code})
            if not decision:
                raise ExchangeError(
                    _("“%(title)s” is not releasable to %(nation)s: ask the originator's "
                      "security authority for a release first.")
                    % {"title": document.title, "nation": recipient.nation_id})
            version = document.versions.get(number=document.current_version)
            TransmissionItem.objects.create(
                transmission=transmission, version=version, document_id_copy=document.pk,
                version_number=version.number, label_canonical=version.label.canonical,
                content_sha256=version_digest(version))
        audit.record("transmission.send", actor=actor, obj=transmission, allowed=True,
                     detail={"recipient": recipient.code, "channel": channel,
                             "documents": [str(d.pk) for d in documents]})
        notify([recipient], "transmission.received", transmission)
    return transmission


def acknowledge(*, actor: Any, transmission: Transmission) -> Transmission:
    """The recipient organisation confirms receipt; the documents enter its register."""
    with audit.atomic():
        transmission = Transmission.objects.select_for_update().get(pk=transmission.pk)
        if actor.organisation_id != transmission.recipient_id:
            audit.record("transmission.acknowledge", actor=actor, obj=transmission,
                         allowed=False, reason="not of the recipient organisation")
            raise NotFound
        if transmission.acknowledged_at is not None:
            raise ExchangeError(_("This transmission was already acknowledged."))
        transmission.acknowledged_at, transmission.acknowledged_by = timezone.now(), actor
        transmission.save(update_fields=["acknowledged_at", "acknowledged_by"])
        for item in transmission.items.select_related("version"):
            _hold(transmission.recipient, item.version.document, item.version_number,
                  transmission.acknowledged_at, transmission)
        audit.record("transmission.acknowledge", actor=actor, obj=transmission, allowed=True)
        notify([transmission.sender_organisation], "transmission.acknowledged", transmission)
    return transmission


def acknowledgement_days() -> int:
    return int(getattr(settings, "ENTENTE_ACKNOWLEDGE_WITHIN_DAYS", 14))


# --------------------------------------------------------------------------- originator control


def security_authorities(*nations: str) -> list[Organisation]:
    """The national security authorities of these nations."""
    return list(Organisation.objects.filter(kind=OrganisationKind.NATIONAL_SECURITY_AUTHORITY,
                                            nation_id__in=set(nations)))


def notify(organisations: Iterable[Organisation], kind: str, obj: Any) -> None:
    """Put an item in each organisation's inbox: what happened to which record, no title."""
    Notification.objects.bulk_create(
        Notification(organisation=o, kind=kind, object_type=obj._meta.label_lower,
                     object_id=str(obj.pk)) for o in organisations)


def request_release(*, actor: Any, document: Document, to_nation: str,
                    reason: str) -> ReleaseRequest:
    if not reason.strip():
        raise ExchangeError(_("Say why the release is needed."))
    with audit.atomic():
        require(actor, Action.VIEW, document)
        nation = Nation.objects.filter(code=to_nation).first()
        if nation is None:
            raise ExchangeError(_("Unknown nation '%(code)s'.") % {"code": to_nation})
        if kernel.facts_of(document).releasable_to >= {nation.code}:
            raise ExchangeError(_("The document is already releasable to %(code)s.")
                                % {"code": nation.code})
        request = ReleaseRequest.objects.create(document=document, to_nation=nation,
                                                reason=reason.strip(), requested_by=actor,
                                                from_label=document.label)
        audit.record("release.request", actor=actor, obj=request, allowed=True,
                     detail={"document": str(document.pk), "to": nation.code})
        notify(security_authorities(document.label.originator_id), "release.request", request)
    return request


def request_downgrade(*, actor: Any, document: Document, to_marking: str,
                      reason: str) -> DowngradeRequest:
    if not reason.strip():
        raise ExchangeError(_("Say why the downgrade is needed."))
    with audit.atomic():
        require(actor, Action.VIEW, document)
        current = document.label.classification
        target = Classification.objects.filter(nation_id=current.nation_id,
                                               code=to_marking).first()
        retired = target is not None and target.retired_on is not None \
            and target.retired_on <= timezone.localdate()
        if target is None or retired:
            raise ExchangeError(_("'%(marking)s' is not a current marking of %(nation)s's "
                                  "scheme.") % {"marking": to_marking,
                                                "nation": current.nation_id})
        if target.level >= current.level:
            raise ExchangeError(_("%(target)s is not lower than %(current)s.")
                                % {"target": target.key, "current": current.key})
        request = DowngradeRequest.objects.create(document=document, to_classification=target,
                                                  reason=reason.strip(), requested_by=actor,
                                                  from_label=document.label)
        audit.record("downgrade.request", actor=actor, obj=request, allowed=True,
                     detail={"document": str(document.pk), "to": target.key})
        notify(security_authorities(document.label.originator_id), "downgrade.request", request)
    return request


def _relabel(document: Document, spec: LabelSpec, *, actor: Any, note: str) -> Label:
    """A new version under the new label, content carried over; old versions keep theirs."""
    with blobs.cleanup_on_error() as stored:
        previous = document.versions.get(number=document.current_version)
        body = open_for(previous, previous.body).decode()
        document.label = make_label(spec)
        _new_version(document, actor=actor, body=body, note=note, files=(), stored=stored,
                     copy_from=previous)
    return document.label


def decide_request(*, actor: Any, request: OriginatorRequest, approve: bool,
                   note: str = "") -> OriginatorRequest:
    """Approve or refuse; only the originator nation's security authority may (the kernel's
    release/downgrade rule). Approval makes the new label; until then the kernel keeps denying."""
    action = Action.RELEASE if request.kind == ReleaseRequest.kind else Action.DOWNGRADE
    with audit.atomic():
        request = type(request)._default_manager.select_for_update().get(pk=request.pk)
        document = Document.objects.select_for_update().select_related("label").get(
            pk=request.document_id)
        require(actor, action, document)
        if request.state != RequestState.SUBMITTED:
            raise ExchangeError(_("This request was already %(state)s.")
                                % {"state": request.get_state_display().lower()})
        if document.label_id != request.from_label_id:
            raise ExchangeError(_("The document's label changed since this request was made; "
                                  "refuse it and ask for a new one."))
        if approve:
            spec = spec_of(document.label)
            if isinstance(request, ReleaseRequest):
                spec = LabelSpec(spec.originator, spec.classification,
                                 (*spec.releasable_to, request.to_nation_id), spec.caveats,
                                 spec.communities)
                what = _("Released to %(code)s") % {"code": request.to_nation_id}
            else:
                assert isinstance(request, DowngradeRequest)
                spec = LabelSpec(spec.originator, request.to_classification.code,
                                 spec.releasable_to, spec.caveats, spec.communities)
                what = _("Downgraded to %(key)s") % {"key": request.to_classification.key}
            request.result_label = _relabel(document, spec, actor=actor, note=what)
        request.state = RequestState.APPROVED if approve else RequestState.REFUSED
        request.decided_by, request.decided_at = actor, timezone.now()
        request.decision_note = note.strip()
        request.save()
        audit.record(f"{action.value}.{request.state}", actor=actor, obj=request, allowed=True,
                     detail={"document": str(document.pk),
                             "label": request.result_label.canonical if request.result_label
                             else None})
        notify([o for o in [request.requested_by.organisation] if o is not None],
                f"{action.value}.decided", request)
    return request


def withdraw_request(*, actor: Any, request: OriginatorRequest) -> OriginatorRequest:
    with audit.atomic():
        request = type(request)._default_manager.select_for_update().get(pk=request.pk)
        if request.requested_by_id != actor.pk:
            audit.record("request.withdraw", actor=actor, obj=request, allowed=False,
                         reason="not the requester")
            raise NotFound
        if request.state != RequestState.SUBMITTED:
            raise ExchangeError(_("Only a submitted request can be withdrawn."))
        request.state = RequestState.WITHDRAWN
        request.decided_at = timezone.now()
        request.save(update_fields=["state", "decided_at"])
        audit.record("request.withdraw", actor=actor, obj=request, allowed=True)
    return request


# --------------------------------------------------------------------------- loss or compromise


def report_loss(*, actor: Any, documents: Sequence[Document], description: str) -> LossReport:
    """Anyone may report; both nations' security authorities are told, documents flagged."""
    if not documents:
        raise ExchangeError(_("Name at least one document."))
    if not description.strip():
        raise ExchangeError(_("Describe what happened."))
    with audit.atomic():
        for document in documents:
            require(actor, Action.VIEW, document)
        report = LossReport.objects.create(reported_by=actor, description=description.strip())
        report.documents.set(documents)
        Document.objects.filter(pk__in=[d.pk for d in documents]).update(compromised=True)
        audit.record("loss.report", actor=actor, obj=report, allowed=True,
                     detail={"documents": [str(d.pk) for d in documents]})
        nations = {d.label.originator_id for d in documents} | {actor.nationality_id}
        notify(security_authorities(*nations), "loss.report", report)
    return report


def is_security_authority(user: Any) -> bool:
    return kernel.Subject.of(user).authority_for is not None


def update_loss_report(*, actor: Any, report: LossReport, status: str, outcome: str = "",
                       findings: str = "") -> LossReport:
    if status not in InvestigationStatus.values or outcome not in Outcome.values:
        raise ExchangeError(_("Unknown status or outcome."))
    if status == InvestigationStatus.CLOSED and not outcome:
        raise ExchangeError(_("A closed investigation needs an outcome."))
    with audit.atomic():
        report = LossReport.objects.select_for_update().get(pk=report.pk)
        if not is_security_authority(actor):
            audit.record("loss.update", actor=actor, obj=report, allowed=False,
                         reason="not a security officer of a national security authority")
            raise NotFound
        report.status, report.outcome = status, outcome
        report.findings = findings.strip()
        report.save()
        audit.record("loss.update", actor=actor, obj=report, allowed=True,
                     detail={"status": status, "outcome": outcome})
    return report


def mark_read(*, actor: Any, notification: Notification) -> None:
    if notification.organisation_id != actor.organisation_id:
        raise NotFound
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=timezone.now())
