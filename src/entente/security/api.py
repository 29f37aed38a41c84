from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import UUID4

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


def _out(record: SampleRecord, reader_nation: str | None) -> dict[str, object]:
    return {"id": record.pk, "title": record.title, "label": record.label.canonical,
            "banner": banner(record.label, reader_nation).text(), "owner": record.owner.code}


@router.get("/records", response=list[RecordOut], summary="Records the caller may view")
def list_records(request: HttpRequest, offset: Query[int] = 0,
                 limit: Query[int] = PAGE_SIZE) -> list[dict[str, object]]:
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise HttpError(422, f"offset must be ≥ 0 and limit between 1 and {MAX_PAGE}.")
    nation = request.user.nationality_id  # type: ignore[union-attr]
    return [_out(r, nation) for r in visible_records(request.user, offset=offset, limit=limit)]


@router.get("/records/{record_id}", response={200: RecordDetail, 404: Problem},
            summary="One record, with its decrypted body")
def get_record(request: HttpRequest, record_id: str) -> dict[str, object]:
    try:
        record, body = record_with_body(request.user, record_id)
    except NotFound:
        raise HttpError(404, "Not found.") from None
    return {**_out(record, request.user.nationality_id), "body": body}  # type: ignore[union-attr]
