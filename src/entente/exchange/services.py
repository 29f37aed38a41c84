"""Actions on exchanged information. Each runs in one transaction, asks the kernel, and is audited.

Errors a person can act on are raised as ``ExchangeError`` with a message in the active language;
a forbidden or missing object is ``NotFound`` (security.selectors), never a hint that it exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
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
                 copy_from: DocumentVersion | None = None, number: int | None = None,
                 label: Label | None = None, holder: Organisation | None = None,
                 through: Transmission | None = None) -> DocumentVersion:
    """The next version under the document's label, in the owner's register. A copy received
    from another node keeps the ``number`` and ``label`` the originator gave it, and enters the
    register of the organisation that received it (``holder``, ``through`` a transmission)."""
    number = number or (document.versions.order_by("-number").values_list("number", flat=True)
                        .first() or 0) + 1
    version = DocumentVersion(document=document, number=number, label=label or document.label,
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
    if number >= document.current_version:
        document.current_version = number
        document.save(update_fields=["current_version", "label", "updated_at"])
        search.index_document(document, body)
    _hold(holder or document.owner, document, number, timezone.now(), through)
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
    # In name and content order, never by id: the copy on another node has other ids, and
    # must come to the same digest.
    for attachment in version.attachments.order_by("filename", "sha256"):
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
        if _federation().is_partner(recipient.nation_id):
            # The recipient's people are on their own nation's node: the transmission travels
            # there as a package, and their node's signed receipt acknowledges it.
            _federation().queue_transmission(transmission)
        else:
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
        if _federation().is_partner(transmission.recipient.nation_id):
            raise ExchangeError(_("This transmission travels to %(nation)s's node: that node's "
                                  "signed receipt acknowledges it.")
                                % {"nation": transmission.recipient.nation_id})
        transmission.acknowledged_at, transmission.acknowledged_by = timezone.now(), actor
        transmission.save(update_fields=["acknowledged_at", "acknowledged_by"])
        for item in transmission.items.select_related("version"):
            _hold(transmission.recipient, item.version.document, item.version_number,
                  transmission.acknowledged_at, transmission)
        audit.record("transmission.acknowledge", actor=actor, obj=transmission, allowed=True)
        notify([transmission.sender_organisation], "transmission.acknowledged", transmission)
    return transmission


@dataclass(frozen=True)
class ReceivedVersion:
    """One document version as another nation's node sent it (read from a package by
    ``federation.manifests``)."""

    document_id: uuid.UUID
    owner: Organisation
    title_en: str
    title_ja: str
    summary_en: str
    summary_ja: str
    number: int
    label: str  # canonical text, as the originator applied it
    note: str
    content_sha256: str
    body: str
    files: Sequence[IncomingFile]


def receive_transmission(*, node: Any, transmission_id: uuid.UUID,
                         sender_organisation: Organisation, recipient: Organisation,
                         channel: str, reference: str, sent_at: dt.datetime,
                         versions: Sequence[ReceivedVersion],
                         stored: blobs.Collector) -> Transmission:
    """Record a transmission that arrived from another nation's node (``node`` is that node's
    account here). Each version becomes a copy sealed under this node's keys, under the
    originator's label, in the recipient organisation's register; the node's signed receipt is
    the acknowledgement. Runs inside the caller's transaction, which has verified the package;
    an ``ExchangeError`` refuses the whole package."""
    if channel not in Channel.values:
        raise ExchangeError(_("Unknown channel '%(channel)s'.") % {"channel": channel})
    if Transmission.objects.filter(pk=transmission_id).exists():
        raise ExchangeError(_("This transmission was already received."))
    if not versions:
        raise ExchangeError(_("Choose at least one document to send."))
    now = timezone.now()
    transmission = Transmission.objects.create(
        pk=transmission_id, sender=node, sender_organisation=sender_organisation,
        recipient=recipient, channel=channel, reference=reference.strip()[:100],
        sent_at=sent_at, acknowledged_at=now)
    for received in versions:
        version = _received_copy(received, node=node, holder=recipient, through=transmission,
                                 stored=stored)
        TransmissionItem.objects.create(
            transmission=transmission, version=version, document_id_copy=received.document_id,
            version_number=version.number, label_canonical=version.label.canonical,
            content_sha256=received.content_sha256)
    audit.record("transmission.receive", actor=node, obj=transmission, allowed=True,
                 detail={"from": sender_organisation.code, "recipient": recipient.code,
                         "documents": [str(v.document_id) for v in versions]})
    notify([recipient], "transmission.received", transmission)
    return transmission


def _received_copy(received: ReceivedVersion, *, node: Any, holder: Organisation,
                   through: Transmission, stored: blobs.Collector) -> DocumentVersion:
    """The copy here of one version a partner node sent. A node speaks for its own nation's
    documents only: it may bring new documents and versions originated by its nation, owned by
    one of its organisations; a document of any other originator (this nation's own, sent
    back) is accepted only as a version already held here, with the same content."""
    title_en, title_ja = _clean_title(received.title_en, received.title_ja)
    label = make_label(LabelSpec.parse(received.label))
    decision = kernel.may_receive(holder, Document(label=label))
    if not decision:
        raise ExchangeError(_("A document in the package is not releasable to %(nation)s.")
                            % {"nation": holder.nation_id})
    document = Document.objects.select_for_update().select_related("label").filter(
        pk=received.document_id).first()
    own_nation = label.originator_id == node.nationality_id
    if own_nation and received.owner.nation_id != label.originator_id:
        raise ExchangeError(_("A document in the package is owned by an organisation of "
                              "another nation than its originator."))
    if not own_nation and (document is None or not document.versions.filter(
            number=received.number).exists()):
        raise ExchangeError(_("%(node)s's node may send new content only of documents its "
                              "own nation originated.") % {"node": node.nationality_id})
    if document is None:
        document = Document(pk=received.document_id, owner=received.owner, label=label,
                            created_by=node, title_en=title_en, title_ja=title_ja,
                            current_version=received.number)
        document.save(force_insert=True)
    elif document.label.originator_id != label.originator_id:
        raise ExchangeError(_("A document in the package has the id of another document here."))
    existing = document.versions.select_related("label").filter(number=received.number).first()
    if existing is not None:
        # The version as held here, under its own label: never a register line under another.
        if existing.label_id != label.pk or version_digest(existing) != received.content_sha256:
            raise ExchangeError(_("Version %(number)s of a document in the package differs from "
                                  "the one already held here.") % {"number": received.number})
        _hold(holder, document, existing.number, timezone.now(), through)
        return existing
    if received.number >= document.current_version:
        document.label = label
        document.title_en, document.title_ja = title_en, title_ja
        document.summary_en = received.summary_en.strip()
        document.summary_ja = received.summary_ja.strip()
        document.save(update_fields=["label", "title_en", "title_ja", "summary_en",
                                     "summary_ja"])
    version = _new_version(document, actor=node, body=received.body, note=received.note,
                           files=received.files, stored=stored, number=received.number,
                           label=label, holder=holder, through=through)
    if version_digest(version) != received.content_sha256:
        raise ExchangeError(_("A document in the package does not match the content hash its "
                              "sender signed."))
    return version


def receive_request(*, node: Any, kind: str, request_id: uuid.UUID, document_id: uuid.UUID,
                    from_label: str, target: str, reason: str, held_sha256: str,
                    requested_by_name: str) -> OriginatorRequest:
    """A release or downgrade request about one of this node's documents, made on the node of a
    nation it was sent to: it waits here for this nation's security authority, like any other."""
    document = Document.objects.select_related("label").filter(pk=document_id).first()
    sent_there = TransmissionItem.objects.filter(
        document_id_copy=document_id, transmission__recipient__nation_id=node.nationality_id)
    if document is None or document.label.originator_id != settings.NODE_NATION \
            or not sent_there.exists():
        raise ExchangeError(_("No document of this node with that id was sent to %(nation)s.")
                            % {"nation": node.nationality_id})
    if ReleaseRequest.objects.filter(pk=request_id).exists() or \
            DowngradeRequest.objects.filter(pk=request_id).exists():
        raise ExchangeError(_("This request was already received."))
    if not reason.strip():
        raise ExchangeError(_("Say why the release is needed."))
    common = {"pk": request_id, "document": document, "reason": reason.strip(),
              "requested_by": node, "from_label": make_label(LabelSpec.parse(from_label)),
              "held_sha256": held_sha256, "requested_by_name": requested_by_name[:200]}
    request: OriginatorRequest
    if kind == ReleaseRequest.kind:
        nation = Nation.objects.filter(code=target).first()
        if nation is None:
            raise ExchangeError(_("Unknown nation '%(code)s'.") % {"code": target})
        request = ReleaseRequest.objects.create(to_nation=nation, **common)
    elif kind == DowngradeRequest.kind:
        marking = Classification.objects.filter(nation_id=settings.NODE_NATION,
                                                code=target).first()
        if marking is None or marking.level >= document.label.classification.level:
            raise ExchangeError(_("'%(marking)s' is not a current marking of %(nation)s's "
                                  "scheme.") % {"marking": target,
                                                "nation": settings.NODE_NATION})
        request = DowngradeRequest.objects.create(to_classification=marking, **common)
    else:
        raise ExchangeError(_("Unknown request kind '%(kind)s'.") % {"kind": kind})
    audit.record(f"{kind}.request", actor=node, obj=request, allowed=True,
                 detail={"document": str(document.pk), "to": target,
                         "from_node": node.nationality_id, "by": requested_by_name[:200]})
    notify(security_authorities(settings.NODE_NATION), f"{kind}.request", request)
    return request


def _locked_request(request_id: uuid.UUID) -> OriginatorRequest | None:
    """The release or downgrade request with this id, locked for update; None if there is none
    (a package from the partner names its request by id alone)."""
    for model in (ReleaseRequest, DowngradeRequest):
        found = model.objects.select_for_update().filter(pk=request_id).first()
        if found is not None:
            return found
    return None


def receive_decision(*, node: Any, request_id: uuid.UUID, approved: bool, note: str,
                     decided_at: dt.datetime, result_label: str | None,
                     result_version: int | None, version_note: str,
                     stored: blobs.Collector) -> OriginatorRequest:
    """The originator's node decided a request made here. Approval writes the new version here
    too: the content this node holds (the request named it by its hash), under the new label
    and with the number the originator gave it."""
    request = _locked_request(request_id)
    if request is None or not request.held_sha256 \
            or request.document.label.originator_id != node.nationality_id:
        raise ExchangeError(_("No request of this node with that id was sent to %(nation)s.")
                            % {"nation": node.nationality_id})
    if request.state == RequestState.WITHDRAWN:
        # Withdrawn here after it was sent: the decision stays on record, changes nothing.
        audit.record(f"{request.kind}.decision-after-withdrawal", actor=node, obj=request,
                     allowed=True, detail={"approved": approved})
        return request
    if request.state != RequestState.SUBMITTED:
        raise ExchangeError(_("This request was already %(state)s.")
                            % {"state": request.get_state_display().lower()})
    if approved:
        if result_label is None or result_version is None:
            raise ExchangeError(_("An approval must carry the new label and version."))
        document = Document.objects.select_for_update().get(pk=request.document_id)
        held = next((v for v in document.versions.all()
                     if version_digest(v) == request.held_sha256), None)
        if held is None or document.versions.filter(number=result_version).exists():
            raise ExchangeError(_("The content this request was made about is no longer here "
                                  "as it was."))
        asked = spec_of(request.from_label)
        if isinstance(request, ReleaseRequest):
            asked = LabelSpec(asked.originator, asked.classification,
                              (*asked.releasable_to, request.to_nation_id), asked.caveats,
                              asked.communities)
        elif isinstance(request, DowngradeRequest):
            asked = LabelSpec(asked.originator, request.to_classification.code,
                              asked.releasable_to, asked.caveats, asked.communities)
        if LabelSpec.parse(result_label).canonical() != asked.canonical():
            raise ExchangeError(_("The approval's new label is not the one this request asked "
                                  "for."))
        label = make_label(asked)
        if result_version >= document.current_version:
            document.label = label
        _new_version(document, actor=node, body=open_for(held, held.body).decode(),
                     note=version_note, files=(), stored=stored, copy_from=held,
                     number=result_version, label=label,
                     holder=request.requested_by.organisation)
        request.result_label = label
    request.state = RequestState.APPROVED if approved else RequestState.REFUSED
    request.decided_by, request.decided_at = node, decided_at
    request.decision_note = note.strip()
    request.save()
    action = Action.RELEASE if request.kind == ReleaseRequest.kind else Action.DOWNGRADE
    audit.record(f"{action.value}.{request.state}", actor=node, obj=request, allowed=True,
                 detail={"document": str(request.document_id), "from_node": node.nationality_id,
                         "label": result_label})
    notify([o for o in [request.requested_by.organisation] if o is not None],
           f"{action.value}.decided", request)
    return request


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
                                                from_label=document.label,
                                                held_sha256=_held_elsewhere(document))
        audit.record("release.request", actor=actor, obj=request, allowed=True,
                     detail={"document": str(document.pk), "to": nation.code})
        _ask_originator(request)
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
                                                  from_label=document.label,
                                                  held_sha256=_held_elsewhere(document))
        audit.record("downgrade.request", actor=actor, obj=request, allowed=True,
                     detail={"document": str(document.pk), "to": target.key})
        _ask_originator(request)
    return request


def _originated_elsewhere(document: Document) -> bool:
    """A copy received from another nation's node: its originator decides on that node."""
    return document.label.originator_id != settings.NODE_NATION and _federation().is_partner(
        document.label.originator_id)


def _held_elsewhere(document: Document) -> str:
    if not _originated_elsewhere(document):
        return ""
    return version_digest(document.versions.get(number=document.current_version))


def _ask_originator(request: OriginatorRequest) -> None:
    """The originator's security authority decides: here, or on its own node (a package)."""
    if request.held_sha256:
        _federation().queue_request(request)
    else:
        notify(security_authorities(request.document.label.originator_id),
               f"{request.kind}.request", request)


def _federation() -> Any:
    # Federation builds on the exchange; the exchange only hands it what must travel.
    from entente.federation import services as federation

    return federation


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
        if approve and request.held_sha256 and request.held_sha256 != version_digest(
                document.versions.get(number=document.current_version)):
            raise ExchangeError(_("The requester holds an earlier version of this document: "
                                  "refuse the request, or send them the current version first."))
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
        if request.held_sha256:
            _federation().queue_decision(request)
        else:
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
        if request.held_sha256:
            # Asked of the originator's own node (``_ask_originator``): tell it too, so its
            # security authority does not go on to decide what nobody asks for any more.
            _federation().queue_withdrawal(request)
    return request


def receive_withdrawal(*, node: Any, request_id: uuid.UUID, kind: str,
                       withdrawn_at: dt.datetime) -> OriginatorRequest:
    """The partner's node says a request it sent here was withdrawn by its requester. Still
    waiting here: it is closed, and this nation's security authority told. Already decided: the
    decision stands (it is on its way back, where it changes nothing) and the late withdrawal
    is put on record."""
    request = _locked_request(request_id)
    if request is None or request.requested_by_id != node.pk or request.kind != kind:
        raise ExchangeError(_("No request from %(nation)s's node with that id is here.")
                            % {"nation": node.nationality_id})
    detail = {"document": str(request.document_id), "from_node": node.nationality_id,
              "by": request.requested_by_name}
    if request.state == RequestState.SUBMITTED:
        request.state, request.decided_at = RequestState.WITHDRAWN, withdrawn_at
        request.save(update_fields=["state", "decided_at"])
        audit.record("request.withdraw", actor=node, obj=request, allowed=True, detail=detail)
        notify(security_authorities(settings.NODE_NATION), "request.withdrawn", request)
    elif request.state != RequestState.WITHDRAWN:
        audit.record("request.withdrawal-after-decision", actor=node, obj=request,
                     allowed=True, detail={**detail, "state": request.state})
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
