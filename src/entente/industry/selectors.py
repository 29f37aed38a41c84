"""Reads of industry security: every list filtered in SQL and audited, every single record fetched
by a ``*_for`` function that answers a forbidden id exactly like a missing one.

Requests for visit are protected records: a reader sees one only if they take part in it
(``services.parties``: the visitor, the visitor's organisation, the two nations' security
authorities, the host organisation once approved) *and* the kernel's ``visible`` lets them read
its label.

Facility security clearances are not labelled records: the status of a site's clearance is
shared between the two nations' security authorities and with the people who must rely on it
(a project officer choosing a contractor, a host site receiving a visit). Kept simple on purpose:
any signed-in person with a nationality and an organisation may read the facility clearances of
the organisations of their own nation and of every nation with which their nation shares an
equivalence table in force (for the UK and Japan: each other). An account without nationality or
organisation reads none, and a nation added as reference data without such a table reads only
its own. Every list is audited all the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from entente.cooperation.models import Project
from entente.core.models import Organisation
from entente.industry.models import VisitRequest, VisitState
from entente.industry.services import IndustryError, parties
from entente.security import audit, reference
from entente.security.kernel import Action, record_listing, visible
from entente.security.models import FacilityClearance
from entente.security.selectors import NotFound, not_found, parse_id, require

PAGE_SIZE = 50
# The longest span the per-day list of approved visits covers at once.
MAX_SPAN_DAYS = 92


# --------------------------------------------------------------------------- facility clearances


def partner_nations(user: Any, on: dt.date | None = None) -> frozenset[str]:
    """The reader's nation and every nation whose markings the equivalence table in force maps
    into the reader's scheme; empty (nothing to read) for an account the kernel denies."""
    nation = getattr(user, "nationality_id", None)
    if not (getattr(user, "is_active", False) and getattr(user, "pk", None) and nation
            and getattr(user, "organisation_id", None)):
        return frozenset()
    protection = reference.protection(on or timezone.localdate())
    partners = {protection.markings[marking].nation
                for marking, reader in protection.seen_as if reader == nation}
    return frozenset(partners | {nation})


def _facilities(user: Any) -> QuerySet[FacilityClearance]:
    return (FacilityClearance.objects
            .filter(organisation__nation_id__in=sorted(partner_nations(user)))
            .select_related("organisation", "level", "storage_level", "granted_by"))


def facility_register(user: Any, *, nation: str = "", on: dt.date | None = None
                      ) -> list[FacilityClearance]:
    """The facility clearances valid on the day (today), by nation, organisation and site."""
    on = on or timezone.localdate()
    queryset = _facilities(user).filter(valid_from__lte=on, valid_until__gte=on)
    if nation:
        queryset = queryset.filter(organisation__nation_id=nation)
    found = list(queryset.order_by("organisation__nation_id", "organisation__code", "site",
                                   "-valid_until", "id"))
    record_listing(user, found, what="security.facilityclearance")  # type: ignore[arg-type]
    return found


def organisation_for(user: Any, code: Any) -> Organisation:
    """An organisation whose facility clearances the reader may read; NotFound otherwise."""
    organisation = (Organisation.objects.filter(
        code=str(code)[:64], nation_id__in=sorted(partner_nations(user))).first()
        if code else None)
    if organisation is None:
        raise not_found(user, Action.VIEW, "core.organisation", code)
    return organisation


def facilities_of(user: Any, organisation: Organisation) -> list[FacilityClearance]:
    """Every facility clearance of the organisation, current and ended, newest first."""
    found = list(_facilities(user).filter(organisation=organisation)
                 .order_by("-valid_until", "-id"))
    record_listing(user, found, what="security.facilityclearance")  # type: ignore[arg-type]
    return found


def _int_id(value: Any) -> int | None:
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def facility_for(user: Any, facility_id: Any) -> FacilityClearance:
    pk = _int_id(facility_id)
    found = _facilities(user).filter(pk=pk).first() if pk else None
    if found is None:
        raise not_found(user, Action.VIEW, "security.facilityclearance", facility_id)
    audit.record("access.view", actor=user, obj=found, allowed=True)
    return found


# --------------------------------------------------------------------------- requests for visit


@dataclass(frozen=True)
class VisitFilter:
    """What a reader may narrow the list of requests by. Every field is optional."""

    state: str = ""
    kind: str = ""
    host: str = ""                    # organisation code
    site: str = ""                    # part of the site's name
    during_from: dt.date | None = None   # visits with a day on or after this one
    during_until: dt.date | None = None  # visits with a day on or before this one
    mine: bool = False                # only the reader's own requests


def visible_visit_queryset(user: Any, where: VisitFilter | None = None
                           ) -> QuerySet[VisitRequest]:
    """The requests the reader takes part in and may view, filtered (not yet audited: callers
    list or count)."""
    where = where or VisitFilter()
    queryset = VisitRequest.objects.filter(parties(user))
    if where.state:
        queryset = queryset.filter(state=where.state)
    if where.kind:
        queryset = queryset.filter(kind=where.kind)
    if where.host:
        queryset = queryset.filter(host__code=where.host)
    if where.site.strip():
        queryset = queryset.filter(site__icontains=where.site.strip())
    if where.during_from:
        queryset = queryset.filter(last_day__gte=where.during_from)
    if where.during_until:
        queryset = queryset.filter(first_day__lte=where.during_until)
    if where.mine:
        queryset = queryset.filter(visitor_id=getattr(user, "pk", None))
    return visible(user, queryset)


def _with_parts(queryset: QuerySet[VisitRequest]) -> QuerySet[VisitRequest]:
    return (queryset.select_related("label", "label__classification", "visitor", "host", "owner",
                                    "level")
            .prefetch_related("label__caveats", "label__releasable_to"))


def list_visits(user: Any, where: VisitFilter | None = None, *, offset: int = 0,
                limit: int = PAGE_SIZE) -> list[VisitRequest]:
    visits = list(_with_parts(visible_visit_queryset(user, where))
                  .order_by("-requested_at", "id")[offset:offset + limit])
    record_listing(user, visits, what="industry.visitrequest")  # type: ignore[arg-type]
    return visits


def count_visits(user: Any, where: VisitFilter | None = None) -> int:
    return visible_visit_queryset(user, where).count()


def visit_for(user: Any, visit_id: Any, action: Action = Action.VIEW) -> VisitRequest:
    """One request the reader takes part in and the kernel lets them view; NotFound (audited)
    for a missing id and a forbidden one alike."""
    pk = parse_id(visit_id)
    visit = (_with_parts(VisitRequest.objects.all()).select_related(
        "assured_by", "assured_level", "decided_by").filter(pk=pk).first() if pk else None)
    if visit is None:
        raise not_found(user, action, "industry.visitrequest", visit_id)
    if not VisitRequest.objects.filter(parties(user), pk=visit.pk).exists():
        audit.record(f"access.{action.value}", actor=user, obj=visit, allowed=False,
                     reason="not a party to this request for visit")
        raise NotFound
    require(user, action, visit)
    return visit


def project_of(user: Any, visit: VisitRequest) -> Project | None:
    """The visit's project, if any and if the reader may view it (the project is named to those
    who may read it, to no one else)."""
    if visit.project_id is None:
        return None
    project = visible(user, Project.objects.filter(pk=visit.project_id)).first()
    if project is not None:
        audit.record("access.view", actor=user, obj=project, allowed=True)
    return project


def projects_of(user: Any, visits: list[VisitRequest]) -> dict[Any, Project]:
    """The projects of listed visits that the reader may view, by id (one query, audited)."""
    ids = {v.project_id for v in visits if v.project_id is not None}
    if not ids:
        return {}
    projects = list(visible(user, Project.objects.filter(pk__in=ids)))
    record_listing(user, projects, what="cooperation.project")  # type: ignore[arg-type]
    return {p.pk: p for p in projects}


def project_by_key(user: Any, key: str) -> Project:
    """A project by code or id that the reader may view; NotFound (audited) otherwise."""
    pk = parse_id(key)
    lookup = Q(pk=pk) if pk else Q(code=str(key).strip()[:64])
    project = Project.objects.select_related("label").filter(lookup).first()
    if project is None:
        raise not_found(user, Action.VIEW, "cooperation.project", key)
    require(user, Action.VIEW, project)
    return project


@dataclass(frozen=True)
class SiteVisits:
    host: Organisation
    site: str
    visits: list[VisitRequest]


@dataclass(frozen=True)
class DayVisits:
    day: dt.date
    sites: list[SiteVisits]

    @property
    def count(self) -> int:
        return sum(len(s.visits) for s in self.sites)


def approved_by_day(user: Any, first: dt.date, last: dt.date, *, host: str = "",
                    site: str = "") -> list[DayVisits]:
    """For each day from ``first`` to ``last`` (at most ``MAX_SPAN_DAYS``), the approved visits
    that cover it, grouped by host organisation and site. The visits are chosen in SQL (approved,
    overlapping the span, taking part, visible); they are only grouped by day here."""
    if last < first:
        raise IndustryError(_("The last day cannot be before the first day."))
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        raise IndustryError(_("Show at most %(days)d days at once.") % {"days": MAX_SPAN_DAYS})
    # Only the days an approval (or its yearly review) covers count as approved.
    queryset = VisitRequest.objects.filter(parties(user), state=VisitState.APPROVED,
                                           first_day__lte=last, approved_until__gte=first)
    if host:
        queryset = queryset.filter(host__code=host)
    if site.strip():
        queryset = queryset.filter(site__icontains=site.strip())
    visits = list(_with_parts(visible(user, queryset))
                  .order_by("host__nation_id", "host__code", "site", "visitor__username", "id"))
    record_listing(user, visits, what="industry.visitrequest")  # type: ignore[arg-type]
    days = []
    for offset in range((last - first).days + 1):
        day = first + dt.timedelta(days=offset)
        sites: dict[tuple[int, str], SiteVisits] = {}
        for visit in visits:
            if visit.first_day <= day <= (visit.approved_until or visit.first_day):
                key = (visit.host_id, visit.site)
                if key not in sites:
                    sites[key] = SiteVisits(visit.host, visit.site, [])
                sites[key].visits.append(visit)
        days.append(DayVisits(day, list(sites.values())))
    return days
