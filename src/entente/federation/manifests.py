"""What a package says, and what it does here: the manifests of each kind of package, built from
the exchange's records on the sending node and applied through the exchange's services on the
receiving one. Everything read from a manifest is checked for type and size before it is used;
a manifest that does not fit is refused whole (``ManifestError``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from entente.core.models import Organisation
from entente.exchange import services as exchange
from entente.exchange.models import (
    DowngradeRequest,
    OriginatorRequest,
    ReleaseRequest,
    RequestState,
    Transmission,
)
from entente.federation.models import PackageKind
from entente.federation.package import Package, PartSource
from entente.security import blobs, reference
from entente.security.labels import LabelSpec
from entente.security.services import open_for


class ManifestError(ValueError):
    """The manifest does not say what this kind of package must say."""


@dataclass
class Built:
    manifest: dict[str, Any]
    parts: list[PartSource] = field(default_factory=list)


@dataclass
class Applied:
    """What a package did here, for the receipt and the inbound record."""

    transmission: Transmission | None = None
    subject_id: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    by: str = ""  # who acted on the other node, by name, for the audit log


def _person(user: Any) -> dict[str, str]:
    return {"username": user.username, "name": user.get_full_name() or user.username,
            "organisation": user.organisation.code if user.organisation else ""}


# --------------------------------------------------------------------------- building


def for_transmission(transmission: Transmission) -> Built:
    built = Built({})
    documents = []
    for item in transmission.items.select_related("version__document__owner",
                                                  "version__label"):
        version, document = item.version, item.version.document
        body_part = f"body:{version.pk}"
        built.parts.append((body_part, _body_opener(version)))
        files = []
        for attachment in version.attachments.order_by("filename", "sha256"):
            name = f"file:{attachment.pk}"
            built.parts.append((name, _attachment_opener(attachment)))
            files.append({"part": name, "filename": attachment.filename,
                          "content_type": attachment.content_type, "size": attachment.size,
                          "sha256": attachment.sha256})
        documents.append({
            "id": str(document.pk), "owner": document.owner.code,
            "title_en": document.title_en, "title_ja": document.title_ja,
            "summary_en": document.summary_en, "summary_ja": document.summary_ja,
            "version": {"number": version.number, "label": item.label_canonical,
                        "note": version.note, "content_sha256": item.content_sha256,
                        "body": body_part, "files": files},
        })
    built.manifest = {
        "transmission": {
            "id": str(transmission.pk), "sender": _person(transmission.sender),
            "sender_organisation": transmission.sender_organisation.code,
            "recipient": transmission.recipient.code, "channel": transmission.channel,
            "reference": transmission.reference, "sent_at": transmission.sent_at.isoformat()},
        "documents": documents,
    }
    return built


def _body_opener(version: Any) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(open_for(version, version.body))


def _attachment_opener(attachment: Any) -> Callable[[], Any]:
    return lambda: blobs.reader(attachment, attachment.blob_name, bytes(attachment.envelope))


def for_request(request: OriginatorRequest) -> Built:
    target = (request.to_nation_id if isinstance(request, ReleaseRequest)
              else request.to_classification.code if isinstance(request, DowngradeRequest)
              else "")
    return Built({"request": {
        "id": str(request.pk), "kind": request.kind, "document": str(request.document_id),
        "from_label": request.from_label.canonical, "target": target, "reason": request.reason,
        "held_sha256": request.held_sha256, "requested_by": _person(request.requested_by),
        "requested_at": request.requested_at.isoformat()}})


def for_decision(request: OriginatorRequest) -> Built:
    version = None
    if request.result_label is not None:
        version = request.document.versions.get(number=request.document.current_version)
    return Built({"decision": {
        "request": str(request.pk), "kind": request.kind,
        "approved": request.state == RequestState.APPROVED,
        "note": request.decision_note,
        "decided_at": (request.decided_at or timezone.now()).isoformat(),
        "decided_by": _person(request.decided_by) if request.decided_by else {},
        "result_label": request.result_label.canonical if request.result_label else None,
        "result_version": version.number if version else None,
        "version_note": version.note if version else ""}})


def for_withdrawal(request: OriginatorRequest) -> Built:
    return Built({"withdrawal": {
        "request": str(request.pk), "kind": request.kind,
        "withdrawn_at": (request.decided_at or timezone.now()).isoformat()}})


# --------------------------------------------------------------------------- applying


def apply(kind: str, package: Package, manifest: dict[str, Any], *, node: Any,
          stored: blobs.Collector) -> Applied:
    """Do here what the package says; raises ``ManifestError`` or ``ExchangeError`` to refuse."""
    if kind == PackageKind.TRANSMISSION:
        return _apply_transmission(package, _dict(manifest, "transmission"),
                                   _list(manifest, "documents"), node=node, stored=stored)
    if kind in (PackageKind.RELEASE_REQUEST, PackageKind.DOWNGRADE_REQUEST):
        return _apply_request(kind, _dict(manifest, "request"), node=node)
    if kind == PackageKind.WITHDRAWAL:
        return _apply_withdrawal(_dict(manifest, "withdrawal"), node=node)
    return _apply_decision(_dict(manifest, "decision"), node=node, stored=stored)


def _apply_transmission(package: Package, head: dict[str, Any], documents: list[Any], *,
                        node: Any, stored: blobs.Collector) -> Applied:
    recipient = Organisation.objects.filter(code=_str(head, "recipient", 64),
                                            nation_id=settings.NODE_NATION).first()
    if recipient is None:
        raise ManifestError(_("The recipient organisation is not one of %(nation)s's "
                              "organisations on this node.") % {"nation": settings.NODE_NATION})
    sender_org = Organisation.objects.filter(code=_str(head, "sender_organisation", 64),
                                             nation_id=node.nationality_id).first()
    if sender_org is None:
        raise ManifestError(_("The sending organisation is not in the partner's directory here."))
    with contextlib.ExitStack() as files:
        versions = [_received_version(package, _as_dict(d, "document"), node, files)
                    for d in documents]
        transmission = exchange.receive_transmission(
            node=node, transmission_id=_uuid(head, "id"), sender_organisation=sender_org,
            recipient=recipient, channel=_str(head, "channel", 20),
            reference=_str(head, "reference", 100), sent_at=_when(head, "sent_at"),
            versions=versions, stored=stored)
    protection = reference.protection(timezone.localdate())
    items = []
    for item in transmission.items.select_related("version__label"):
        seen = protection.as_seen_by(item.version.label.classification_id, settings.NODE_NATION)
        items.append({"document": str(item.document_id_copy), "version": item.version_number,
                      "content_sha256": item.content_sha256,
                      "protected_as": seen.key if seen else None})
    if any(i["protected_as"] is None for i in items):
        raise ManifestError(_("A document's marking has no equivalent in %(nation)s's scheme "
                              "in the table in force, so it could not be protected here.")
                            % {"nation": settings.NODE_NATION})
    return Applied(transmission=transmission, items=items, by=_named(_dict(head, "sender")))


def _received_version(package: Package, data: dict[str, Any], node: Any,
                      files: contextlib.ExitStack) -> exchange.ReceivedVersion:
    version = _dict(data, "version")
    owner = Organisation.objects.filter(code=_str(data, "owner", 64)).first()
    if owner is None:
        raise ManifestError(_("A document's owner organisation is not known here."))
    label = _str(version, "label", 512)
    LabelSpec.parse(label)  # LabelError refuses the package, with its message
    with package.part(_str(version, "body", 60)) as body:
        text = body.read(16 * 1024 * 1024 + 1)
    if len(text) > 16 * 1024 * 1024:
        raise ManifestError(_("A document's body is too large."))
    incoming = []
    for entry in _list(version, "files"):
        entry = _as_dict(entry, "file")
        stream = files.enter_context(package.part(_str(entry, "part", 60)))
        incoming.append(exchange.IncomingFile(_str(entry, "filename", 255),
                                              _str(entry, "content_type", 120), stream))
    try:
        body_text = text.decode()
    except UnicodeDecodeError:
        raise ManifestError(_("A document's body is not UTF-8 text.")) from None
    return exchange.ReceivedVersion(
        document_id=_uuid(data, "id"), owner=owner, title_en=_str(data, "title_en", 300),
        title_ja=_str(data, "title_ja", 300), summary_en=_str(data, "summary_en", 20000),
        summary_ja=_str(data, "summary_ja", 20000), number=_int(version, "number"),
        label=label, note=_str(version, "note", 300),
        content_sha256=_str(version, "content_sha256", 64), body=body_text, files=incoming)


def _apply_request(kind: str, data: dict[str, Any], *, node: Any) -> Applied:
    expected = ReleaseRequest.kind if kind == PackageKind.RELEASE_REQUEST else DowngradeRequest.kind
    if _str(data, "kind", 20) != expected:
        raise ManifestError(_("The request's kind does not match the package's."))
    by = _named(_dict(data, "requested_by"))
    request = exchange.receive_request(
        node=node, kind=expected, request_id=_uuid(data, "id"),
        document_id=_uuid(data, "document"), from_label=_str(data, "from_label", 512),
        target=_str(data, "target", 40), reason=_str(data, "reason", 20000),
        held_sha256=_str(data, "held_sha256", 64),
        requested_by_name=by)
    return Applied(subject_id=str(request.pk), by=by)


def _apply_decision(data: dict[str, Any], *, node: Any, stored: blobs.Collector) -> Applied:
    result_label = data.get("result_label")
    if result_label is not None and not isinstance(result_label, str):
        raise ManifestError(_("The decision's new label or version is malformed."))
    result_version = (None if data.get("result_version") is None
                      else _int(data, "result_version"))
    approved = data.get("approved")
    if not isinstance(approved, bool):
        raise ManifestError(_("The decision says neither approved nor refused."))
    request = exchange.receive_decision(
        node=node, request_id=_uuid(data, "request"), approved=approved,
        note=_str(data, "note", 20000), decided_at=_when(data, "decided_at"),
        result_label=result_label, result_version=result_version,
        version_note=_str(data, "version_note", 300), stored=stored)
    return Applied(subject_id=str(request.pk), by=_named(_as_dict(data.get("decided_by"),
                                                                  "decided_by")))


def _apply_withdrawal(data: dict[str, Any], *, node: Any) -> Applied:
    request = exchange.receive_withdrawal(
        node=node, request_id=_uuid(data, "request"), kind=_str(data, "kind", 20),
        withdrawn_at=_when(data, "withdrawn_at"))
    return Applied(subject_id=str(request.pk), by=request.requested_by_name)


# --------------------------------------------------------------------------- checked reads


def _named(person: dict[str, Any]) -> str:
    """``Ben Okafor (gbr-des)``: a person of the other node, as this node records them."""
    if not person:
        return ""
    return f"{_str(person, 'name', 150)} ({_str(person, 'organisation', 64)})"


def _as_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(_("The manifest's %(field)s is not an object.") % {"field": what})
    return value


def _dict(data: dict[str, Any], key: str) -> dict[str, Any]:
    return _as_dict(data.get(key), key)


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or len(value) > 1000:
        raise ManifestError(_("The manifest's %(field)s is not a list (of at most 1,000).")
                            % {"field": key})
    return value


def _str(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key)
    if not isinstance(value, str) or len(value) > limit or "\0" in value:
        raise ManifestError(_("The manifest's %(field)s is missing or malformed.")
                            % {"field": key})
    return value


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if type(value) is not int or not 1 <= value <= 2**31 - 1:
        raise ManifestError(_("The manifest's %(field)s is not a positive whole number.")
                            % {"field": key})
    return value


def _uuid(data: dict[str, Any], key: str) -> uuid.UUID:
    try:
        return uuid.UUID(_str(data, key, 40))
    except ValueError:
        raise ManifestError(_("The manifest's %(field)s is not an id.") % {"field": key}) from None


def _when(data: dict[str, Any], key: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(_str(data, key, 40))
    except ValueError:
        raise ManifestError(_("The manifest's %(field)s is not a time.") % {"field": key}) from None
    if value.tzinfo is None:
        raise ManifestError(_("The manifest's %(field)s has no time zone.") % {"field": key})
    return value

