"""Reads of exchanged information: always through the kernel's visibility filter, always audited.

Every list is filtered in SQL by ``kernel.visible`` before it is sliced or counted, so neither a
page, a count nor a search result can reveal a document the reader may not see; every single
object is fetched by ``*_for`` functions that answer a forbidden id exactly like a missing one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from entente.exchange import search
from entente.exchange.models import (
    Attachment,
    Document,
    DocumentVersion,
    DowngradeRequest,
    Holding,
    LossReport,
    Notification,
    OriginatorRequest,
    ReleaseRequest,
    Transmission,
)
from entente.exchange.services import acknowledgement_days
from entente.security import audit, blobs, kernel
from entente.security.kernel import Action, record_listing, visible
from entente.security.selectors import NotFound, not_found, parse_id
from entente.security.services import open_for

PAGE_SIZE = 50
# A search stops counting here. Counting 100,000 matches of a common word costs seconds and tells
# the reader no more than "narrow the search" (GitHub's search stops at 1,000 results too).
SEARCH_COUNT_LIMIT = 1_000


@dataclass(frozen=True)
class DocumentFilter:
    """What a reader may narrow a listing or search by. Every field is optional."""

    text: str = ""
    originator: str = ""
    classification: str = ""          # a marking code of the originator's scheme
    owner: str = ""                   # organisation code
    updated_from: dt.date | None = None
    updated_until: dt.date | None = None
    compromised: bool | None = None


def _one_of(user: Any, queryset: QuerySet[Any], object_type: str, object_id: Any) -> Any:
    """The row of a reader-scoped queryset with this id (audited as viewed), else NotFound."""
    pk = parse_id(object_id)
    found = queryset.filter(pk=pk).first() if pk else None
    if found is None:
        raise not_found(user, Action.VIEW, object_type, object_id)
    audit.record("access.view", actor=user, obj=found, allowed=True)
    return found


@dataclass(frozen=True)
class DocumentCount:
    """How many documents a reader's listing holds. ``exact`` is False when a search stopped
    counting at ``SEARCH_COUNT_LIMIT`` (``value``): there are more."""

    value: int
    exact: bool = True

    def __str__(self) -> str:
        return f"{self.value:,}" if self.exact else f"{self.value:,}+"


def visible_document_queryset(user: Any, where: DocumentFilter | None = None, *,
                              walk: bool | None = None, walk_from: float | None = None
                              ) -> QuerySet[Document]:
    """The filtered, visible documents as a queryset (not yet audited: callers list or count).
    ``walk`` and ``walk_from`` go to ``search.matching`` (how a text search is written for
    PostgreSQL)."""
    where = where or DocumentFilter()
    queryset = Document.objects.all()
    if where.originator:
        queryset = queryset.filter(label__originator_id=where.originator)
    if where.classification:
        queryset = queryset.filter(label__classification__code=where.classification)
    if where.owner:
        queryset = queryset.filter(owner__code=where.owner)
    if where.updated_from:
        queryset = queryset.filter(updated_at__date__gte=where.updated_from)
    if where.updated_until:
        queryset = queryset.filter(updated_at__date__lte=where.updated_until)
    if where.compromised is not None:
        queryset = queryset.filter(compromised=where.compromised)
    if where.text.strip():
        queryset = search.matching(queryset, where.text, walk=walk, walk_from=walk_from)
    return visible(user, queryset)


def visible_documents(user: Any, where: DocumentFilter | None = None, *, offset: int = 0,
                      limit: int = PAGE_SIZE) -> list[Document]:
    queryset = (visible_document_queryset(user, where)
                .select_related("label", "label__classification", "owner")
                .prefetch_related("label__caveats", "label__releasable_to")
                .order_by("-updated_at", "id"))
    documents = list(queryset[offset:offset + limit])
    record_listing(user, documents, what="exchange.document")  # type: ignore[arg-type]
    return documents


def count_visible_documents(user: Any, where: DocumentFilter | None = None) -> DocumentCount:
    """How many documents the listing holds for this reader; a search counts up to
    ``SEARCH_COUNT_LIMIT``."""
    where = where or DocumentFilter()
    queryset = visible_document_queryset(user, where, walk_from=search.COUNT_WALK_FROM)
    if not where.text.strip():
        return DocumentCount(queryset.count())
    value = queryset[:SEARCH_COUNT_LIMIT + 1].count()
    return DocumentCount(min(value, SEARCH_COUNT_LIMIT), exact=value <= SEARCH_COUNT_LIMIT)


def document_for(user: Any, document_id: Any, action: Action = Action.VIEW) -> Document:
    pk = parse_id(document_id)
    document = (Document.objects.select_related("label", "owner").filter(pk=pk).first()
                if pk else None)
    if document is None:
        raise not_found(user, action, "exchange.document", document_id)
    if not kernel.decide(user, action, document):
        raise NotFound
    return document


def versions_of(user: Any, document: Document) -> list[DocumentVersion]:
    """The history a reader may see: versions under a label they may not view are left out."""
    versions = list(visible(user, document.versions.select_related("label", "created_by"))
                    .order_by("-number"))
    record_listing(user, versions, what="exchange.documentversion")  # type: ignore[arg-type]
    return versions


def version_for(user: Any, document: Document, number: int | None = None,
                action: Action = Action.VIEW) -> DocumentVersion:
    if number is None:
        number = document.current_version
    version = document.versions.select_related("label").filter(number=number).first()
    if version is None:
        raise not_found(user, action, "exchange.documentversion", f"{document.pk}/{number}")
    if not kernel.decide(user, action, version):
        raise NotFound
    return version


def version_body(version: DocumentVersion) -> str:
    """Only for a version obtained from ``version_for`` (which decided and audited the read)."""
    return open_for(version, version.body).decode()


def attachments_of(user: Any, version: DocumentVersion) -> list[Attachment]:
    return list(visible(user, version.attachments.all()).order_by("filename", "id"))


def attachment_for(user: Any, attachment_id: Any, action: Action = Action.EXPORT) -> Attachment:
    pk = parse_id(attachment_id)
    attachment = (Attachment.objects.select_related("label", "version", "version__document")
                  .filter(pk=pk).first() if pk else None)
    if attachment is None:
        raise not_found(user, action, "exchange.attachment", attachment_id)
    if not kernel.decide(user, action, attachment):
        raise NotFound
    return attachment


def attachment_plaintext(attachment: Attachment) -> Iterator[bytes]:
    """Only for an attachment obtained from ``attachment_for``."""
    return blobs.open_stream(attachment, attachment.blob_name, bytes(attachment.envelope))


# --------------------------------------------------------------------------- transmissions


def transmissions_for(user: Any) -> QuerySet[Transmission]:
    """Transmissions the reader's organisation sent or received. Their items are shown only
    where the reader may view the version (``items_visible_to``)."""
    org = getattr(user, "organisation_id", None)
    return (Transmission.objects.filter(Q(sender_organisation_id=org) | Q(recipient_id=org))
            .select_related("sender_organisation", "recipient", "sender", "acknowledged_by")
            .order_by("-sent_at", "id"))


def overdue_transmissions(user: Any, now: dt.datetime | None = None) -> QuerySet[Transmission]:
    cutoff = (now or timezone.now()) - dt.timedelta(days=acknowledgement_days())
    return transmissions_for(user).filter(acknowledged_at__isnull=True, sent_at__lt=cutoff)


def transmission_for(user: Any, transmission_id: Any) -> Transmission:
    found: Transmission = _one_of(user, transmissions_for(user), "exchange.transmission",
                                  transmission_id)
    return found


def items_visible_to(user: Any, transmission: Transmission) -> list[tuple[Any, DocumentVersion]]:
    versions = {v.pk: v for v in visible(
        user, DocumentVersion.objects.filter(pk__in=transmission.items.values("version_id"))
        .select_related("document", "label"))}
    return [(item, versions[item.version_id]) for item in transmission.items.all()
            if item.version_id in versions]


# --------------------------------------------------------------------------- requests, reports


def _authority_nation(user: Any) -> str | None:
    return kernel.Subject.of(user).authority_for


def release_requests_for(user: Any) -> QuerySet[ReleaseRequest]:
    """Requests the reader made, and those their nation's authority must decide, on documents
    they may view."""
    return _requests(user, ReleaseRequest.objects.select_related("to_nation"))


def downgrade_requests_for(user: Any) -> QuerySet[DowngradeRequest]:
    return _requests(user, DowngradeRequest.objects.select_related("to_classification"))


def _requests(user: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
    nation = _authority_nation(user)
    mine = Q(requested_by_id=user.pk)
    if nation:
        mine |= Q(from_label__originator_id=nation)
    return queryset.filter(mine, document__in=visible(user, Document.objects.all())) \
        .select_related("document", "requested_by", "decided_by").order_by("-requested_at")


REQUEST_KINDS: dict[str, type[OriginatorRequest]] = {"release": ReleaseRequest,
                                                     "downgrade": DowngradeRequest}


def requests_for(user: Any, limit: int = PAGE_SIZE) -> list[OriginatorRequest]:
    """Release and downgrade requests together, newest first."""
    both: list[OriginatorRequest] = [*release_requests_for(user)[:limit],
                                     *downgrade_requests_for(user)[:limit]]
    return sorted(both, key=lambda r: r.requested_at, reverse=True)[:limit]


def request_for(user: Any, kind: str, request_id: Any) -> OriginatorRequest:
    """One request of either kind that the reader may see; NotFound otherwise, as for any id."""
    model = REQUEST_KINDS.get(kind)
    if model is None:
        raise not_found(user, Action.VIEW, f"exchange.{kind}request", request_id)
    found: OriginatorRequest = _one_of(user, _requests(user, model._default_manager.all()),
                                       model._meta.label_lower, request_id)
    return found


def loss_reports_for(user: Any) -> QuerySet[LossReport]:
    """The reader's own reports; for a national security authority, every report that touches
    its nation (a document it originated, or a reporter of its nation)."""
    nation = _authority_nation(user)
    mine = Q(reported_by_id=user.pk)
    if nation:
        mine |= Q(documents__label__originator_id=nation) | Q(reported_by__nationality_id=nation)
    return (LossReport.objects.filter(mine).distinct().select_related("reported_by")
            .order_by("-reported_at"))


def loss_report_for(user: Any, report_id: Any) -> LossReport:
    found: LossReport = _one_of(user, loss_reports_for(user), "exchange.lossreport", report_id)
    return found


def report_documents(user: Any, report: LossReport) -> list[Document]:
    return list(visible(user, report.documents.all()).select_related("label"))


def notifications_for(user: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    org = getattr(user, "organisation_id", None)
    if org is None:
        return Notification.objects.none()
    queryset = Notification.objects.filter(organisation_id=org)
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset.order_by("-created_at", "-id")


# --------------------------------------------------------------------------- register


def register_of(user: Any) -> QuerySet[Holding]:
    """The reader's organisation's holdings, limited to documents the reader may view (a muster
    by someone not cleared for everything shows what they may check, nothing more)."""
    org = getattr(user, "organisation_id", None)
    if org is None:
        return Holding.objects.none()
    return (Holding.objects.filter(organisation_id=org,
                                   document__in=visible(user, Document.objects.all()))
            .select_related("document", "document__label", "transmission",
                            "transmission__sender_organisation")
            .order_by("document__title_en", "document__title_ja", "-version_number"))
