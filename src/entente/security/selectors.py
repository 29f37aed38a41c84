"""Reads of protected records: always through the kernel's visibility filter, always audited."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q

from entente.security import audit
from entente.security.kernel import Action, decide, record_listing, visible
from entente.security.models import SampleRecord
from entente.security.services import open_for


class NotFound(LookupError):
    """A record that does not exist and one the reader may not see answer exactly alike."""


PAGE_SIZE = 50


def visible_records(user: Any, *, offset: int = 0, after: tuple[str, uuid.UUID] | None = None,
                    limit: int = PAGE_SIZE) -> list[SampleRecord]:
    """One page of what the user may see, filtered and sliced in the database.

    ``after`` (the title and id of the last record of the previous page) is keyset pagination:
    the database starts at that point in the listing index, so page 1,000 costs what page 1 does,
    where an offset makes it read and discard every visible row before it."""
    # The label's parts are prefetched because every listed record is shown with its banner.
    queryset = (SampleRecord.objects.select_related("label", "owner")
                .prefetch_related("label__caveats", "label__releasable_to").order_by("title", "id"))
    if after is not None:
        title, last_id = after
        # title >= … first: the one bound an index range scan can start from (the OR alone,
        # lacking row-value comparison in the ORM, makes PostgreSQL read from the beginning).
        queryset = queryset.filter(Q(title__gte=title),
                                   Q(title__gt=title) | Q(id__gt=last_id))
    records = list(visible(user, queryset)[offset:offset + limit])
    record_listing(user, records, what="security.samplerecord")  # type: ignore[arg-type]
    return records


def parse_id(value: Any) -> uuid.UUID | None:
    """A record id from user input, or None if it cannot be one (then: not found, as any)."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def not_found(user: Any, action: Action, object_type: str, object_id: Any) -> NotFound:
    """The audited answer for an id that names nothing; the caller raises it."""
    # Asking for what is not there is on record too: probing for ids is worth seeing.
    audit.record(f"access.{action.value}", actor=user, object_type=object_type,
                 object_id=str(object_id)[:80], allowed=False, reason="no such record")
    return NotFound()


def require(user: Any, action: Action, obj: Any) -> None:
    """The kernel's decision on ``obj``, audited; a denial raises NotFound, so that it looks
    exactly like a missing object."""
    if not decide(user, action, obj):
        raise NotFound


def record_for(user: Any, record_id: Any, action: Action = Action.VIEW) -> SampleRecord:
    """The record if the kernel allows ``action``; NotFound for missing *and* forbidden alike."""
    pk = parse_id(record_id)
    record = SampleRecord.objects.select_related("label", "owner").filter(pk=pk).first() if pk else None
    if record is None:
        raise not_found(user, action, "security.samplerecord", pk or record_id)
    require(user, action, record)
    return record


def record_with_body(user: Any, record_id: Any) -> tuple[SampleRecord, str]:
    record = record_for(user, record_id)
    return record, open_for(record, record.body).decode()
