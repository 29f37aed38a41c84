"""Server-rendered pages of industry security: facility clearances (the register of valid ones,
each organisation's history, grant and revoke) and requests for visit (list, new request, the
request with its assure / approve / refuse / withdraw actions, approved visits per day and site).

Every read is a selector (filtered in SQL, audited), every change a service; a forbidden id and a
missing id are the same 404 page. Errors a person can act on are shown on the form, which is
re-shown with their input and answers 400.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from entente.industry import selectors, services
from entente.industry.forms import (
    ByDayForm,
    DecisionForm,
    FacilityGrantForm,
    FacilityRegisterFilterForm,
    ReasonForm,
    VisitFilterForm,
    VisitRequestForm,
)
from entente.industry.models import VisitRequest, VisitState
from entente.industry.services import IndustryError
from entente.security.labels import LabelError, banner
from entente.security.pages import not_found_is_404, page_banners, reader_nation
from entente.security.selectors import NotFound

GET_POST = require_http_methods(["GET", "POST"])


def _show(request: HttpRequest, template: str, context: dict[str, Any],
          form: Any = None) -> HttpResponse:
    status = 400 if form is not None and form.errors else 200
    return render(request, f"industry/{template}", context, status=status)


# --------------------------------------------------------------------------- facility clearances


@require_GET
def facility_register(request: HttpRequest) -> HttpResponse:
    partners = sorted(selectors.partner_nations(request.user))
    form = FacilityRegisterFilterForm(request.GET, nations=partners)
    nation = form.cleaned_data["nation"] if form.is_valid() else ""
    facilities = selectors.facility_register(request.user, nation=nation)
    return render(request, "industry/facility_register.html", {
        "form": form, "facilities": facilities, "today": timezone.localdate()})


@GET_POST
def organisation_facilities(request: HttpRequest, code: str) -> HttpResponse:
    user = request.user
    with not_found_is_404():
        organisation = selectors.organisation_for(user, code)
    may_grant = (organisation.needs_facility_clearance
                 and services.authority_nation(user) == organisation.nation_id)
    form = FacilityGrantForm(request.POST or None, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.grant_facility_clearance(
                user, organisation, data["site"], data["level"], data["storage_level"] or None,
                data["valid_from"], data["valid_until"])
        except IndustryError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Facility clearance granted."))
            return redirect("industry:organisation_facilities", organisation.code)
    today = timezone.localdate()
    facilities = selectors.facilities_of(user, organisation)
    return _show(request, "organisation_facilities.html", {
        "organisation": organisation, "today": today, "may_grant": may_grant,
        "form": form if may_grant or form.errors else None,
        "rows": [(f, f.is_valid_on(today), may_grant and f.valid_until >= today)
                 for f in facilities],
        "revoke_form": ReasonForm(),
    }, form)


@require_POST
def facility_revoke(request: HttpRequest, facility_id: str) -> HttpResponse:
    with not_found_is_404():
        facility = selectors.facility_for(request.user, facility_id)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.revoke_facility_clearance(request.user, facility, reason)
    except IndustryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Facility clearance revoked: it ended yesterday."))
    return redirect("industry:organisation_facilities", facility.organisation.code)


# --------------------------------------------------------------------------- requests for visit


@require_GET
def visit_list(request: HttpRequest) -> HttpResponse:
    form = VisitFilterForm(request.GET)
    where = selectors.VisitFilter()
    if form.is_valid():
        data = form.cleaned_data
        where = selectors.VisitFilter(
            state=data["state"], kind=data["kind"], host=data["host"], site=data["site"],
            during_from=data["during_from"], during_until=data["during_until"],
            mine=data["mine"])
    total = selectors.count_visits(request.user, where)
    pages = max(1, math.ceil(total / selectors.PAGE_SIZE))
    try:
        page = min(max(1, int(request.GET.get("page", "1"))), pages)
    except ValueError:
        page = 1
    visits = selectors.list_visits(request.user, where,
                                   offset=(page - 1) * selectors.PAGE_SIZE)
    marking = page_banners(request)
    return render(request, "industry/visit_list.html", {
        "form": form, "total": total, "page": page, "pages": pages,
        "previous": page - 1 if page > 1 else None, "next": page + 1 if page < pages else None,
        "rows": [(v, marking(v.label)) for v in visits],
    })


@GET_POST
def visit_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = VisitRequestForm(request.POST or None, user=user,
                            partners=selectors.partner_nations(user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            project = None
            if data["project"].strip():
                try:
                    project = selectors.project_by_key(user, data["project"])
                except NotFound:
                    raise IndustryError(_("No project you may view has this code.")) from None
            visit = services.request_visit(
                user, host=data["host"], site=data["site"], kind=data["kind"],
                first_day=data["first_day"], last_day=data["last_day"],
                purpose=data["purpose"], level=data["level"], label=form.label_spec(),
                project=project, emergency_reason=data["emergency_reason"])
        except (IndustryError, LabelError) as exc:
            form.add_error(None, str(exc))
        except NotFound:
            form.add_error(None, _("You may not make a request under this label: your "
                                   "clearance, nationality or communities do not cover it."))
        else:
            messages.success(request, _("Request for visit submitted. Your security authority "
                                        "will assure your clearance."))
            return redirect("industry:visit", visit.pk)
    return _show(request, "visit_form.html", {"form": form}, form)


def _visit_page(request: HttpRequest, visit: VisitRequest, form: DecisionForm | None = None,
                status: int = 200) -> HttpResponse:
    user = request.user
    authority = services.authority_nation(user)
    may_decide = visit.is_open and authority == visit.host.nation_id
    return render(request, "industry/visit_detail.html", {
        "visit": visit, "banner": banner(visit.label, reader_nation(request)),
        "project": selectors.project_of(user, visit),
        "may_assure": (visit.state == VisitState.SUBMITTED
                       and authority == visit.visitor.nationality_id),
        "may_decide": may_decide,
        "may_withdraw": visit.is_open and visit.visitor_id == user.pk,
        "may_review": (visit.state == VisitState.APPROVED and visit.approved_until is not None
                       and visit.approved_until < visit.last_day
                       and authority == visit.host.nation_id),
        "problem": (services.approval_problem(visit)
                    if may_decide and visit.state == VisitState.ASSURED else None),
        "form": form or DecisionForm(),
    }, status=status)


@require_GET
def visit_detail(request: HttpRequest, visit_id: str) -> HttpResponse:
    with not_found_is_404():
        visit = selectors.visit_for(request.user, visit_id)
    return _visit_page(request, visit)


def _step(request: HttpRequest, visit_id: str,
          act: Callable[[Any, VisitRequest, str], VisitRequest], done: str) -> HttpResponse:
    with not_found_is_404():
        visit = selectors.visit_for(request.user, visit_id)
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                act(request.user, visit, form.cleaned_data["reason"])
            except IndustryError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, done)
                return redirect("industry:visit", visit.pk)
    # The service changed nothing (its transaction rolled back); ``visit`` is as it was read.
    return _visit_page(request, visit, form, status=400)


@require_POST
def visit_assure(request: HttpRequest, visit_id: str) -> HttpResponse:
    return _step(request, visit_id, lambda u, v, _r: services.assure_visit(u, v),
                 _("Clearance assured. The host nation's security authority will decide."))


@require_POST
def visit_approve(request: HttpRequest, visit_id: str) -> HttpResponse:
    return _step(request, visit_id, services.approve_visit,
                 _("Visit approved. The host organisation has been informed."))


@require_POST
def visit_review(request: HttpRequest, visit_id: str) -> HttpResponse:
    return _step(request, visit_id, lambda u, v, _r: services.review_visit(u, v),
                 _("Visit reviewed: the approval holds for another year."))


@require_POST
def visit_refuse(request: HttpRequest, visit_id: str) -> HttpResponse:
    return _step(request, visit_id, services.refuse_visit, _("Visit refused."))


@require_POST
def visit_withdraw(request: HttpRequest, visit_id: str) -> HttpResponse:
    return _step(request, visit_id, lambda u, v, _r: services.withdraw_visit(u, v),
                 _("Request withdrawn."))


@require_GET
def visits_by_day(request: HttpRequest) -> HttpResponse:
    form = ByDayForm(request.GET)
    first, last = form.span()
    data = form.cleaned_data if form.is_valid() else {}
    days: list[selectors.DayVisits] = []
    error = None
    try:
        days = selectors.approved_by_day(request.user, first, last, host=data.get("host", ""),
                                         site=data.get("site", ""))
    except IndustryError as exc:
        error = str(exc)
    marking = page_banners(request)
    return render(request, "industry/visits_by_day.html", {
        "form": form, "first": first, "last": last, "error": error,
        "days": [(d.day, [(s, [(v, marking(v.label)) for v in s.visits]) for s in d.sites])
                 for d in days],
    }, status=400 if error else 200)
