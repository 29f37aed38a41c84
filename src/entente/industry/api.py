"""The industry part of the JSON API (mounted at /api/v1/ by entente.api): facility security
clearances and requests for visit. Every read is a selector (filtered in SQL, audited), every
change a service; a forbidden id and a missing id both answer 404 with the same body."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import UUID4, Field

from entente.core.api_support import MAX_PAGE
from entente.core.api_support import failing as _failing
from entente.core.api_support import not_found as _not_found
from entente.core.models import Organisation
from entente.industry import selectors, services
from entente.industry.models import VisitKind, VisitRequest
from entente.industry.services import IndustryError
from entente.security import reference
from entente.security.labels import LabelError, LabelSpec, banner
from entente.security.models import FacilityClearance
from entente.security.selectors import NotFound

router = Router(tags=["industry"])


class Problem(Schema):
    detail: str


class FacilityOut(Schema):
    id: int
    organisation: str
    organisation_name: str
    nation: str
    site: str
    level: str
    storage_level: str | None
    valid_from: dt.date
    valid_until: dt.date
    granted_by: str
    valid_today: bool


class FacilityIn(Schema):
    site: str
    level: str = Field(description="A marking of the organisation's nation's scheme, e.g. SECRET")
    storage_level: str | None = Field(
        default=None, description="Empty: the site may not hold classified material.")
    valid_from: dt.date | None = Field(default=None, description="Default: today.")
    valid_until: dt.date


class RevokeIn(Schema):
    reason: str = ""


class VisitIn(Schema):
    host: str = Field(description="Code of the host organisation (of the other nation)")
    site: str
    kind: str = Field(description="one_time, recurring or emergency")
    first_day: dt.date
    last_day: dt.date
    purpose: str
    level: str = Field(description="A marking of the host nation's scheme, e.g. JPN/HI or HI")
    label: str = Field(description="The request's own label, e.g. "
                                   "'GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN'")
    project: str | None = Field(default=None, description="Code or id of a project")
    emergency_reason: str = ""


class VisitOut(Schema):
    id: UUID4
    label: str
    banner: str
    visitor: str
    visitor_nation: str
    visitor_organisation: str
    host: str
    site: str
    kind: str
    first_day: dt.date
    last_day: dt.date
    purpose: str
    emergency_reason: str
    level: str
    project: str | None = Field(description="The project's code, if the caller may view it")
    state: str
    requested_at: dt.datetime
    assured_by: str | None
    assured_at: dt.datetime | None
    assured_level: str | None
    assured_until: dt.date | None
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str
    approved_until: dt.date | None = Field(
        description="The last day the approval holds; a longer recurring visit is reviewed "
                    "yearly by the host's security authority")


class VisitPage(Schema):
    count: int
    items: list[VisitOut]


class NoteIn(Schema):
    note: str = ""


class ReasonIn(Schema):
    reason: str


class SiteOut(Schema):
    host: str
    site: str
    visits: list[VisitOut]


class DayOut(Schema):
    day: dt.date
    sites: list[SiteOut]


# --------------------------------------------------------------------------- helpers


def facility_row(facility: FacilityClearance, today: dt.date | None = None) -> dict[str, Any]:
    today = today or timezone.localdate()
    return {"id": facility.pk, "organisation": facility.organisation.code,
            "organisation_name": facility.organisation.name,
            "nation": facility.organisation.nation_id, "site": facility.site,
            "level": facility.level.key,
            "storage_level": facility.storage_level.key if facility.storage_level else None,
            "valid_from": facility.valid_from, "valid_until": facility.valid_until,
            "granted_by": facility.granted_by.code, "valid_today": facility.is_valid_on(today)}


def visit_row(visit: VisitRequest, nation: str | None, project: Any = None,
              protection: reference.Protection | None = None) -> dict[str, Any]:
    """A request as data. ``project`` is given only when the reader may view it."""
    return {"id": visit.pk, "label": visit.label.canonical,
            "banner": banner(visit.label, nation, protection=protection).text(),
            "visitor": visit.visitor.username, "visitor_nation": visit.visitor.nationality_id,
            "visitor_organisation": visit.owner.code, "host": visit.host.code,
            "site": visit.site, "kind": visit.kind, "first_day": visit.first_day,
            "last_day": visit.last_day, "purpose": visit.purpose,
            "emergency_reason": visit.emergency_reason, "level": visit.level.key,
            "project": project.code if project is not None else None, "state": visit.state,
            "requested_at": visit.requested_at,
            "assured_by": visit.assured_by.username if visit.assured_by else None,
            "assured_at": visit.assured_at,
            "assured_level": visit.assured_level.key if visit.assured_level else None,
            "assured_until": visit.assured_until,
            "decided_by": visit.decided_by.username if visit.decided_by else None,
            "decided_at": visit.decided_at, "reason": visit.reason,
            "approved_until": visit.approved_until}


def _nation(request: HttpRequest) -> str | None:
    return getattr(request.user, "nationality_id", None)


def _detail(request: HttpRequest, visit: VisitRequest) -> dict[str, Any]:
    return visit_row(visit, _nation(request), selectors.project_of(request.user, visit))




# --------------------------------------------------------------------------- facility clearances


@router.get("/industry/facility-clearances", response=list[FacilityOut],
            summary="Register of facility security clearances valid today",
            description="Shared between the two nations' security authorities: any signed-in "
                        "person reads those of their own nation's organisations and of the "
                        "nations their nation shares an equivalence table with.")
def facility_register(request: HttpRequest, nation: str = "") -> list[dict[str, Any]]:
    today = timezone.localdate()
    return [facility_row(f, today)
            for f in selectors.facility_register(request.user, nation=nation, on=today)]


@router.get("/industry/organisations/{code}/facility-clearances",
            response={200: list[FacilityOut], 404: Problem},
            summary="An organisation's facility clearances, current and ended")
def organisation_facilities(request: HttpRequest, code: str) -> Any:
    try:
        organisation = selectors.organisation_for(request.user, code)
    except NotFound:
        return _not_found()
    return [facility_row(f) for f in selectors.facilities_of(request.user, organisation)]


@router.post("/industry/organisations/{code}/facility-clearances",
             response={201: FacilityOut, 404: Problem, 422: Problem},
             summary="Grant a facility clearance (the organisation's national security "
                     "authority)")
def grant_facility(request: HttpRequest, code: str, payload: FacilityIn) -> Any:
    try:
        organisation = selectors.organisation_for(request.user, code)
        facility = services.grant_facility_clearance(
            request.user, organisation, payload.site, payload.level,
            payload.storage_level or None, payload.valid_from, payload.valid_until)
    except NotFound:
        return _not_found()
    except IndustryError as exc:
        raise _failing(exc) from None
    return Status(201, facility_row(facility))


@router.post("/industry/facility-clearances/{facility_id}/revoke",
             response={200: FacilityOut, 404: Problem, 422: Problem},
             summary="Revoke a facility clearance: it ends yesterday")
def revoke_facility(request: HttpRequest, facility_id: str, payload: RevokeIn) -> Any:
    try:
        facility = selectors.facility_for(request.user, facility_id)
        revoked = services.revoke_facility_clearance(request.user, facility, payload.reason)
    except NotFound:
        return _not_found()
    except IndustryError as exc:
        raise _failing(exc) from None
    return facility_row(revoked)


# --------------------------------------------------------------------------- requests for visit


@router.get("/industry/visits", response={200: VisitPage, 422: Problem},
            summary="Requests for visit the caller takes part in and may view")
def list_visits(request: HttpRequest, state: str = "", kind: str = "", host: str = "",
                site: str = "", during_from: dt.date | None = None,
                during_until: dt.date | None = None, mine: bool = False,
                offset: Query[int] = 0, limit: Query[int] = selectors.PAGE_SIZE) -> Any:
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise HttpError(422, f"offset must be ≥ 0 and limit between 1 and {MAX_PAGE}.")
    where = selectors.VisitFilter(state=state, kind=kind, host=host, site=site,
                                  during_from=during_from, during_until=during_until, mine=mine)
    visits = selectors.list_visits(request.user, where, offset=offset, limit=limit)
    projects = selectors.projects_of(request.user, visits)
    protection = reference.protection(timezone.localdate())
    return {"count": selectors.count_visits(request.user, where),
            "items": [visit_row(v, _nation(request), projects.get(v.project_id), protection)
                      for v in visits]}


@router.post("/industry/visits", response={201: VisitOut, 422: Problem},
             summary="Ask to visit a site of the other nation")
def request_visit(request: HttpRequest, payload: VisitIn) -> Any:
    user = request.user
    host = Organisation.objects.filter(code=payload.host).first()
    if host is None:
        raise HttpError(422, f"Unknown organisation '{payload.host}'.")
    if payload.kind not in VisitKind.values:
        raise HttpError(422, f"kind must be one of {', '.join(VisitKind.values)}.")
    try:
        project = None
        if payload.project:
            try:
                project = selectors.project_by_key(user, payload.project)
            except NotFound:
                raise IndustryError(_("No project you may view has this code.")) from None
        visit = services.request_visit(
            user, host=host, site=payload.site, kind=payload.kind,
            first_day=payload.first_day, last_day=payload.last_day, purpose=payload.purpose,
            level=payload.level, label=LabelSpec.parse(payload.label), project=project,
            emergency_reason=payload.emergency_reason)
    except (IndustryError, LabelError) as exc:
        raise _failing(exc) from None
    except NotFound:
        raise HttpError(422, "You may not make a request under this label (your clearance, "
                             "nationality or communities do not cover it).") from None
    return Status(201, _detail(request, visit))


@router.get("/industry/visits/by-day", response={200: list[DayOut], 422: Problem},
            summary="Approved visits for each day of a span (at most 92 days), by host and site")
def visits_by_day(request: HttpRequest, first: dt.date, last: dt.date | None = None,
                  host: str = "", site: str = "") -> Any:
    try:
        days = selectors.approved_by_day(request.user, first, last or first, host=host,
                                         site=site)
    except IndustryError as exc:
        raise _failing(exc) from None
    protection = reference.protection(timezone.localdate())
    nation = _nation(request)
    projects = selectors.projects_of(
        request.user, list({v.pk: v for d in days for s in d.sites for v in s.visits}.values()))
    return [{"day": d.day,
             "sites": [{"host": s.host.code, "site": s.site,
                        "visits": [visit_row(v, nation, projects.get(v.project_id), protection)
                                   for v in s.visits]} for s in d.sites]}
            for d in days]


@router.get("/industry/visits/{visit_id}", response={200: VisitOut, 404: Problem})
def get_visit(request: HttpRequest, visit_id: str) -> Any:
    try:
        return _detail(request, selectors.visit_for(request.user, visit_id))
    except NotFound:
        return _not_found()


def _step(request: HttpRequest, visit_id: str, act: Any) -> Any:
    try:
        visit = selectors.visit_for(request.user, visit_id)
        return _detail(request, act(visit))
    except NotFound:
        return _not_found()
    except IndustryError as exc:
        raise _failing(exc) from None


@router.post("/industry/visits/{visit_id}/assure",
             response={200: VisitOut, 404: Problem, 422: Problem},
             summary="Assure the visitor's clearance (the visitor's nation's security "
                     "authority)")
def assure_visit(request: HttpRequest, visit_id: str) -> Any:
    return _step(request, visit_id, lambda v: services.assure_visit(request.user, v))


@router.post("/industry/visits/{visit_id}/approve",
             response={200: VisitOut, 404: Problem, 422: Problem},
             summary="Approve an assured request (the host nation's security authority)")
def approve_visit(request: HttpRequest, visit_id: str, payload: NoteIn) -> Any:
    return _step(request, visit_id,
                 lambda v: services.approve_visit(request.user, v, payload.note))


@router.post("/industry/visits/{visit_id}/review",
             response={200: VisitOut, 404: Problem, 422: Problem},
             summary="Review an approved recurring visit for another year (the host nation's "
                     "security authority)")
def review_visit(request: HttpRequest, visit_id: str) -> Any:
    return _step(request, visit_id, lambda v: services.review_visit(request.user, v))


@router.post("/industry/visits/{visit_id}/refuse",
             response={200: VisitOut, 404: Problem, 422: Problem},
             summary="Refuse a request, with a reason (the host nation's security authority)")
def refuse_visit(request: HttpRequest, visit_id: str, payload: ReasonIn) -> Any:
    return _step(request, visit_id,
                 lambda v: services.refuse_visit(request.user, v, payload.reason))


@router.post("/industry/visits/{visit_id}/withdraw",
             response={200: VisitOut, 404: Problem, 422: Problem},
             summary="Withdraw a request not yet decided (the visitor)")
def withdraw_visit(request: HttpRequest, visit_id: str) -> Any:
    return _step(request, visit_id, lambda v: services.withdraw_visit(request.user, v))
