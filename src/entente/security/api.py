from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import UUID4

from entente.security import reference
from entente.security.labels import banner
from entente.security.models import SampleRecord
from entente.security.selectors import PAGE_SIZE, NotFound, record_with_body, visible_records

router = Router(tags=["records"])
MAX_PAGE = 200


class RecordOut(Schema):
    id: UUID4
    title: str
    label: str
    banner: str
    owner: str


class RecordDetail(RecordOut):
    body: str


class Problem(Schema):
    detail: str


def _out(record: SampleRecord, reader_nation: str | None,
         protection: reference.Protection | None = None) -> dict[str, object]:
    return {"id": record.pk, "title": record.title, "label": record.label.canonical,
            "banner": banner(record.label, reader_nation, protection=protection).text(),
            "owner": record.owner.code}


def _cursor(record: SampleRecord) -> str:
    raw = json.dumps([record.title, str(record.pk)], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        title, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(title), uuid.UUID(pk)
    except (ValueError, TypeError):
        raise HttpError(422, "after is not a cursor this API issued; use the Link header of "
                             "the previous page.") from None


@router.get("/records", response={200: list[RecordOut], 422: Problem},
            summary="Records the caller may view",
            description="Pages of at most `limit` records in title order. Follow the `Link: "
                        "<…>; rel=\"next\"` header (keyset cursor) for the next page; `offset` "
                        "also works but costs more the deeper it goes.")
def list_records(request: HttpRequest, response: HttpResponse, offset: Query[int] = 0,
                 limit: Query[int] = PAGE_SIZE,
                 after: Query[str | None] = None) -> list[dict[str, object]]:
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise HttpError(422, f"offset must be ≥ 0 and limit between 1 and {MAX_PAGE}.")
    if after is not None and offset:
        raise HttpError(422, "Use either after or offset, not both.")
    records = visible_records(request.user, offset=offset, limit=limit,
                              after=_after(after) if after is not None else None)
    if len(records) == limit:
        query = urlencode({"limit": limit, "after": _cursor(records[-1])})
        response["Link"] = f'<{request.path}?{query}>; rel="next"'
    nation = request.user.nationality_id  # type: ignore[union-attr]
    protection = reference.protection(timezone.localdate())
    return [_out(r, nation, protection) for r in records]


@router.get("/records/{record_id}", response={200: RecordDetail, 404: Problem},
            summary="One record, with its decrypted body")
def get_record(request: HttpRequest, record_id: str) -> dict[str, object]:
    try:
        record, body = record_with_body(request.user, record_id)
    except NotFound:
        raise HttpError(404, "Not found.") from None
    return {**_out(record, request.user.nationality_id), "body": body}  # type: ignore[union-attr]
