"""Server-rendered pages of joint projects and the joint steering panel. Every read is a selector
(kernel-filtered in SQL); every list shown is audited; every change is a service. A forbidden id
and a missing id are the same 404 page. Errors a person can act on (``CooperationError``,
``LabelError``) are shown on the form, which is re-shown on its page with the input kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from entente.cooperation import selectors, services
from entente.cooperation.forms import (
    ActionForm,
    AgendaItemForm,
    AttendanceForm,
    CostSharesForm,
    DecisionForm,
    GuideEntryForm,
    MeetingForm,
    MemberForm,
    MilestoneForm,
    MinutesForm,
    ParticipantForm,
    ProjectDocumentForm,
    ProjectFilterForm,
    ProjectForm,
    SecurityInstructionForm,
    user_named,
)
from entente.cooperation.models import (
    ActionStatus,
    Meeting,
    Minutes,
    PanelRole,
    Phase,
    Project,
)
from entente.cooperation.services import CooperationError
from entente.core.models import Nation, Role
from entente.security.kernel import record_listing
from entente.security.labels import LabelError, banner
from entente.security.pages import not_found_is_404, page_banners, reader_nation
from entente.security.selectors import NotFound

GET_POST = require_http_methods(["GET", "POST"])
LIST_LIMIT = 200
PART_LIMIT = 500  # the most rows of one part of a project or meeting shown on its page
# Paths under /projects/ that are pages, not project codes: such a project is linked by its id.
RESERVED_KEYS = frozenset({"new", "dashboard"})

# --------------------------------------------------------------------------- helpers


def _listed(user: Any, rows: Any, what: str) -> list[Any]:
    """A kernel-filtered queryset rendered as a list: fetched once (at most ``PART_LIMIT``
    rows) and audited as shown."""
    objects: list[Model] = list(rows[:PART_LIMIT])
    record_listing(user, objects, what=what)
    return objects


def project_key(project: Project) -> str:
    return str(project.pk) if project.code in RESERVED_KEYS else project.code


def project_url(project: Project) -> str:
    return reverse("cooperation:project", args=[project_key(project)])


def _error(form: forms.Form, exc: Exception) -> None:
    """Show a service's error on the form: a label error on its label field, if it has one."""
    field = "label" if isinstance(exc, LabelError) and "label" in form.fields else None
    form.add_error(field, str(exc))


def _may_manage(user: Any) -> bool:
    return bool(user.has_role(Role.PROJECT_OFFICER) or user.has_role(Role.SECURITY_OFFICER))


def _panel_role(user: Any) -> str | None:
    seat = services.panel_seat(user)
    return seat.role if seat is not None else None


def _visible_project_choices(user: Any) -> list[tuple[str, str]]:
    """The projects the user may view, for a choice on a form (audited as a listing)."""
    return [(p.code, f"{p.code} — {p.name}")
            for p in selectors.list_projects(user, limit=LIST_LIMIT)]


def _chosen_project(user: Any, code: str) -> Project | None:
    return selectors.project_for(user, code) if code else None


# --------------------------------------------------------------------------- projects


@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    form = ProjectFilterForm(request.GET)
    phase = lead_nation = text = ""
    if form.is_valid():
        data = form.cleaned_data
        phase, lead_nation, text = data["phase"], data["lead_nation"], data["q"]
    total = selectors.visible_projects(request.user, phase=phase, lead_nation=lead_nation,
                                       text=text).count()
    pages = max(1, math.ceil(total / selectors.PAGE_SIZE))
    try:
        page = min(max(1, int(request.GET.get("page", "1"))), pages)
    except ValueError:
        page = 1
    projects = selectors.list_projects(request.user, offset=(page - 1) * selectors.PAGE_SIZE,
                                       phase=phase, lead_nation=lead_nation, text=text)
    marking = page_banners(request)
    return render(request, "cooperation/project_list.html", {
        "form": form, "total": total, "page": page, "pages": pages,
        "previous": page - 1 if page > 1 else None, "next": page + 1 if page < pages else None,
        "rows": [(p, marking(p.label), project_url(p)) for p in projects],
    })


@GET_POST
def project_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProjectForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            project = services.propose_project(
                actor=user, code=data["code"], label=data["label"],
                lead_nation=data["lead_nation"], name_en=data["name_en"],
                name_ja=data["name_ja"], description_en=data["description_en"],
                description_ja=data["description_ja"])
        except (CooperationError, LabelError) as exc:
            _error(form, exc)
        except NotFound:
            form.add_error("label", _("You may not propose a project under this label: your "
                                      "clearance, nationality or communities do not cover it."))
        else:
            messages.success(request, _("Project proposed. The steering panel decides whether "
                                        "to approve it."))
            return redirect(project_url(project))
    status = 400 if form.errors else 200
    return render(request, "cooperation/project_form.html", {"form": form}, status=status)


def _project_page(request: HttpRequest, project: Project,
                  bound: dict[str, forms.Form] | None = None) -> HttpResponse:
    """The project page; ``bound`` holds a form that failed, shown in its place with its input
    and errors (the page then answers 400)."""
    user = request.user
    today = timezone.localdate()
    marking = page_banners(request)
    participants = _listed(user, selectors.participants_of(user, project),
                           "cooperation.participant")
    contractors = selectors.cleared_contractors(user, project)
    record_listing(user, [c for _p, cs in contractors for c in cs],
                   what="security.facilityclearance")
    shares = _listed(user, selectors.cost_shares_of(user, project), "cooperation.costshare")
    milestones = _listed(user, selectors.milestones_of(user, project), "cooperation.milestone")
    guide = _listed(user, selectors.guide_of(user, project), "cooperation.guideentry")
    history = _listed(user, selectors.phase_history_of(user, project), "cooperation.phasechange")
    members = _listed(user, selectors.members_of(user, project), "security.membership")
    decisions = _listed(user, selectors.decisions_about(user, project),
                        "cooperation.paneldecision")
    documents = selectors.documents_of(user, project)  # audited by the selector
    instruction = selectors.security_instruction_of(user, project)
    # A phase change names its decision, whose meeting has a label of its own: the meeting and
    # the decision are shown only to a reader of both (decisions_about checks both labels).
    seen_decisions = {d.pk for d in decisions}
    may_manage = _may_manage(user)
    page_forms: dict[str, forms.Form] = {}
    if may_manage:
        page_forms = {
            "participant": ParticipantForm(auto_id="participant_%s"),
            "member": MemberForm(auto_id="member_%s"),
            "shares": CostSharesForm(auto_id="shares_%s", initial={
                s.nation_id: s.percent for s in shares}),
            "milestone": MilestoneForm(auto_id="milestone_%s"),
            "instruction": SecurityInstructionForm(auto_id="psi_%s", initial={
                "text_en": instruction.text_en, "text_ja": instruction.text_ja}
                if instruction else None),
            "guide": GuideEntryForm(auto_id="guide_%s"),
        }
    page_forms.update(bound or {})
    failed = next(iter(bound), None) if bound else None
    context = {
        "project": project, "key": project_key(project),
        "banner": banner(project.label, reader_nation(request)),
        "participants": participants,
        "contractors": contractors,
        "shares": shares,
        "milestones": [(m, m.is_overdue(today)) for m in milestones],
        "guide": [(g, marking(g.label)) for g in guide],
        "history": [(c, c.decision_id in seen_decisions) for c in history],
        "members": members,
        "decisions": decisions,
        "documents": [(d, marking(d.label)) for d in documents],
        "instruction": instruction,
        "may_manage": may_manage,
        "forms": page_forms,
        "failed": failed,
        "today": today,
    }
    return render(request, "cooperation/project_detail.html", context,
                  status=400 if bound else 200)


@require_GET
def project_detail(request: HttpRequest, key: str) -> HttpResponse:
    with not_found_is_404():
        project = selectors.project_for(request.user, key)
    return _project_page(request, project)


def _project_form_post(request: HttpRequest, key: str, name: str, form: forms.Form,
                       act: Callable[[Project, dict[str, Any]], str],
                       anchor: str) -> HttpResponse:
    """Run one of the project page's forms: on success a message and back to the page; on an
    error the page again with this form, its input and the error."""
    with not_found_is_404():
        project = selectors.project_for(request.user, key)
        if form.is_valid():
            try:
                message = act(project, form.cleaned_data)
            except (CooperationError, LabelError) as exc:
                _error(form, exc)
            else:
                messages.success(request, message)
                return redirect(f"{project_url(project)}#{anchor}")
    return _project_page(request, project, {name: form})


@require_POST
def participant_add(request: HttpRequest, key: str) -> HttpResponse:
    def act(project: Project, data: dict[str, Any]) -> str:
        services.add_participant(actor=request.user, project=project,
                                 organisation=data["organisation"], role=data["role"])
        return _("%(org)s now takes part.") % {"org": data["organisation"].name}

    return _project_form_post(request, key, "participant",
                              ParticipantForm(request.POST, auto_id="participant_%s"), act,
                              "participants")


@require_POST
def participant_remove(request: HttpRequest, key: str, participant_id: int) -> HttpResponse:
    user = request.user
    with not_found_is_404():
        project = selectors.project_for(user, key)
        participant = (selectors.participants_of(user, project).filter(pk=participant_id)
                       .first())
        if participant is None:
            raise Http404
        try:
            services.remove_participant(actor=user, participant=participant)
        except CooperationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("%(org)s no longer takes part; its people's need-to-know "
                                        "of the project has ended.")
                             % {"org": participant.organisation.name})
    return redirect(f"{project_url(project)}#participants")


@require_POST
def member_add(request: HttpRequest, key: str) -> HttpResponse:
    def act(project: Project, data: dict[str, Any]) -> str:
        membership = services.add_member(actor=request.user, project=project,
                                         user=data["username"], until=data["until"])
        return _("%(user)s has need-to-know of the project until %(until)s.") % {
            "user": data["username"].username, "until": membership.valid_until.isoformat()}

    return _project_form_post(request, key, "member",
                              MemberForm(request.POST, auto_id="member_%s"), act, "members")


@require_POST
def member_remove(request: HttpRequest, key: str) -> HttpResponse:
    user = request.user
    with not_found_is_404():
        project = selectors.project_for(user, key)
        person = user_named(request.POST.get("username", ""))
        if person is None or not selectors.members_of(user, project).filter(
                user=person).exists():
            messages.error(request, _("That person is not a member of this project."))
        else:
            try:
                services.remove_member(actor=user, project=project, user=person)
            except CooperationError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("%(user)s no longer has need-to-know of the "
                                            "project.") % {"user": person.username})
    return redirect(f"{project_url(project)}#members")


@require_POST
def cost_shares(request: HttpRequest, key: str) -> HttpResponse:
    form = CostSharesForm(request.POST, auto_id="shares_%s")

    def act(project: Project, data: dict[str, Any]) -> str:
        services.set_cost_shares(actor=request.user, project=project, shares=form.shares())
        return _("Cost shares saved.")

    return _project_form_post(request, key, "shares", form, act, "shares")


@require_POST
def milestone_add(request: HttpRequest, key: str) -> HttpResponse:
    def act(project: Project, data: dict[str, Any]) -> str:
        services.add_milestone(actor=request.user, project=project, due_on=data["due_on"],
                               title_en=data["title_en"], title_ja=data["title_ja"])
        return _("Milestone added.")

    return _project_form_post(request, key, "milestone",
                              MilestoneForm(request.POST, auto_id="milestone_%s"), act,
                              "milestones")


@require_POST
def milestone_done(request: HttpRequest, key: str, milestone_id: str) -> HttpResponse:
    user = request.user
    with not_found_is_404():
        project = selectors.project_for(user, key)
        milestone = selectors.milestone_for(user, milestone_id)
        if milestone.project_id != project.pk:
            raise Http404
        if milestone.done_on is not None:
            messages.error(request, _("That milestone is already done."))
        else:
            try:
                services.complete_milestone(actor=user, milestone=milestone)
            except CooperationError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("Milestone done."))
    return redirect(f"{project_url(project)}#milestones")


@require_POST
def security_instruction(request: HttpRequest, key: str) -> HttpResponse:
    def act(project: Project, data: dict[str, Any]) -> str:
        psi = services.set_security_instruction(actor=request.user, project=project,
                                                text_en=data["text_en"],
                                                text_ja=data["text_ja"])
        return _("Security instruction saved (revision %(revision)d).") % {
            "revision": psi.revision}

    return _project_form_post(request, key, "instruction",
                              SecurityInstructionForm(request.POST, auto_id="psi_%s"), act,
                              "instruction")


@require_POST
def guide_add(request: HttpRequest, key: str) -> HttpResponse:
    def act(project: Project, data: dict[str, Any]) -> str:
        services.add_guide_entry(actor=request.user, project=project, label=data["label"],
                                 topic_en=data["topic_en"], topic_ja=data["topic_ja"],
                                 is_default=data["is_default"])
        return _("Guide entry added.")

    return _project_form_post(request, key, "guide",
                              GuideEntryForm(request.POST, auto_id="guide_%s"), act, "guide")


@GET_POST
def project_document_create(request: HttpRequest, key: str) -> HttpResponse:
    user = request.user
    with not_found_is_404():
        project = selectors.project_for(user, key)
    entries = _listed(user, selectors.guide_of(user, project), "cooperation.guideentry")
    choices = [(str(e.pk), f"{e.topic} [{e.label.canonical}]") for e in entries]
    form = ProjectDocumentForm(request.POST or None, guide=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        entry = next((e for e in entries if str(e.pk) == data["guide_entry"]), None)
        try:
            document = services.create_project_document(
                actor=user, project=project, guide_entry=entry, label=data["label"],
                title_en=data["title_en"], title_ja=data["title_ja"],
                summary_en=data["summary_en"], summary_ja=data["summary_ja"],
                body=data["body"])
        except (CooperationError, LabelError) as exc:
            _error(form, exc)
        except NotFound:
            form.add_error(None, _("You may not create a document under this label: your "
                                   "clearance, nationality or communities do not cover it."))
        else:
            messages.success(request, _("Document created."))
            return redirect("exchange:document", document.pk)
    return render(request, "cooperation/project_document_form.html", {
        "form": form, "project": project, "project_url": project_url(project),
        "banner": banner(project.label, reader_nation(request)),
    }, status=400 if form.errors else 200)


# --------------------------------------------------------------------------- dashboard


PHASE_ORDER = [value for value, _label in Phase.choices]
CHART_BAR = 22       # height of one bar (px)
CHART_GAP = 6        # between bars of one phase
CHART_GROUP_GAP = 14  # between phases
CHART_LEFT = 190     # room for the phase names
CHART_WIDTH = 420    # of the longest bar
CHART_COLOURS = 4    # bar classes nation-0 … nation-3 in cooperation.css


def _chart(counts: list[dict[str, Any]]) -> dict[str, Any]:
    """Projects by phase and lead nation as a grouped bar chart (inline SVG geometry) and as a
    table: the same numbers both ways, for those who cannot see the chart."""
    nations = sorted({row["lead_nation_id"] for row in counts})
    by_cell = {(row["phase"], row["lead_nation_id"]): row["count"] for row in counts}
    phases = [p for p in PHASE_ORDER if any((p, n) in by_cell for n in nations)]
    top = max(by_cell.values(), default=0)
    names = {n.code: n.name for n in Nation.objects.filter(code__in=nations)}
    labels = dict(Phase.choices)
    groups, y = [], 0
    for phase in phases:
        bars = []
        for index, nation in enumerate(nations):
            count = by_cell.get((phase, nation), 0)
            if count:
                width = max(2, round(CHART_WIDTH * count / top))
                bars.append({"nation": nation, "count": count, "y": y, "width": width,
                             "x": CHART_LEFT, "text_x": CHART_LEFT + width + 6,
                             "text_y": y + CHART_BAR - 6,
                             "colour": f"nation-{index % CHART_COLOURS}"})
                y += CHART_BAR + CHART_GAP
        groups.append({"phase": phase, "label": labels[phase], "bars": bars,
                       "label_y": bars[0]["y"] + CHART_BAR - 6})
        y += CHART_GROUP_GAP
    table = [{"phase": p, "label": labels[p],
              "cells": [(n, by_cell.get((p, n), 0)) for n in nations],
              "total": sum(by_cell.get((p, n), 0) for n in nations)} for p in phases]
    return {
        "groups": groups, "table": table, "height": max(y, 1),
        "width": CHART_LEFT + CHART_WIDTH + 60,
        "nations": [(n, names.get(n, n), f"nation-{i % CHART_COLOURS}")
                    for i, n in enumerate(nations)],
        "totals": [(n, sum(c for (p, m), c in by_cell.items() if m == n)) for n in nations],
        "total": sum(by_cell.values()),
    }


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    milestones = _listed(user, selectors.upcoming_milestones(user, on=today),
                         "cooperation.milestone")
    actions = _listed(user, selectors.actions_for(user, overdue_on=today),
                      "cooperation.actionitem")
    return render(request, "cooperation/dashboard.html", {
        "chart": _chart(selectors.projects_by_phase_and_nation(user)),
        "milestones": [(m, m.is_overdue(today), project_url(m.project)) for m in milestones],
        "actions": [(a, project_url(a.project) if a.project else None) for a in actions],
        "today": today,
    })


# --------------------------------------------------------------------------- the panel


def _panel_composition() -> dict[str, Any]:
    seats = list(selectors.panel_members())
    chairs = sorted((s for s in seats if s.role == PanelRole.CO_CHAIR),
                    key=lambda s: (s.user.nationality_id or "", s.user.username))
    return {
        "chairs": chairs,
        "secretaries": [s for s in seats if s.role == PanelRole.SECRETARY],
        "members": sorted((s for s in seats if s.role == PanelRole.MEMBER),
                          key=lambda s: (s.user.nationality_id or "", s.user.username)),
    }


@require_GET
def panel(request: HttpRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    marking = page_banners(request)
    meetings = selectors.list_meetings(user, limit=LIST_LIMIT)
    actions = _listed(user, selectors.actions_for(user, overdue_on=today),
                      "cooperation.actionitem")
    role = _panel_role(user)
    officer = role in (PanelRole.CO_CHAIR, PanelRole.SECRETARY)
    proposals = _listed(user, selectors.proposals_awaiting_the_panel(user, today),
                        "cooperation.project")
    return render(request, "cooperation/panel.html", {
        "proposals": [(p, project_url(p), marking(p.label)) for p in proposals],
        **_panel_composition(),
        "meetings": [(m, marking(m.label)) for m in meetings],
        "actions": [(a, project_url(a.project) if a.project else None) for a in actions],
        "officer": officer,
        "form": MeetingForm(auto_id="meeting_%s") if officer else None,
        "today": today,
    })


@GET_POST
def meeting_create(request: HttpRequest) -> HttpResponse:
    form = MeetingForm(request.POST or None, auto_id="meeting_%s")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            meeting = services.schedule_meeting(actor=request.user, held_on=data["held_on"],
                                                label=data["label"], place=data["place"],
                                                by_video=data["by_video"])
        except (CooperationError, LabelError) as exc:
            _error(form, exc)
        except NotFound:
            form.add_error("label", _("You may not schedule a meeting under this label: your "
                                      "clearance, nationality or communities do not cover it."))
        else:
            messages.success(request, _("Meeting scheduled."))
            return redirect("cooperation:meeting", meeting.pk)
    return render(request, "cooperation/meeting_form.html", {"form": form},
                  status=400 if form.errors else 200)


def _meeting_page(request: HttpRequest, meeting: Meeting,
                  bound: dict[str, forms.Form] | None = None) -> HttpResponse:
    """The meeting page; ``bound`` holds a form that failed (key ``decision-<item id>`` for a
    decision), shown in its place with its input and errors (the page then answers 400)."""
    user = request.user
    today = timezone.localdate()
    marking = page_banners(request)
    agenda = _listed(user, selectors.agenda_of(user, meeting), "cooperation.agendaitem")
    decisions = _listed(user, selectors.decisions_of(user, meeting),
                        "cooperation.paneldecision")
    actions = _listed(user, selectors.actions_for(user, meeting=meeting),
                      "cooperation.actionitem")
    attendees = list(meeting.attendees.select_related("organisation").order_by("username"))
    minutes: Minutes | None = selectors.minutes_of(user, meeting)
    approvals = []
    if minutes is not None:
        approvals = _listed(user, selectors.approvals_of(user, minutes),
                            "cooperation.minutesapproval")
    role = _panel_role(user)
    officer = role in (PanelRole.CO_CHAIR, PanelRole.SECRETARY)
    bound = bound or {}
    page_forms: dict[str, forms.Form] = {}
    if officer:
        projects = _visible_project_choices(user)
        page_forms = {
            "attendance": AttendanceForm(auto_id="attendance_%s", initial={
                "usernames": " ".join(u.username for u in attendees)}),
            "agenda": AgendaItemForm(auto_id="agenda_%s", projects=projects),
            "action": ActionForm(auto_id="action_%s", projects=projects),
        }
        if minutes is None or not minutes.is_final:
            page_forms["minutes"] = MinutesForm(auto_id="minutes_%s", initial={
                "text_en": minutes.text_en, "text_ja": minutes.text_ja} if minutes else None)
    page_forms.update(bound)
    by_item: dict[int, list[Any]] = {}
    for decision in decisions:
        by_item.setdefault(decision.item_id, []).append(decision)
    items = []
    for item in agenda:
        key = f"decision-{item.pk}"
        form = page_forms.get(key) or (DecisionForm(auto_id=f"decision{item.pk}_%s")
                                       if officer else None)
        items.append({"item": item, "name": key, "decisions": by_item.get(item.pk, []),
                      "marking": marking(item.project.label) if item.project else None,
                      "project_url": project_url(item.project) if item.project else None,
                      "form": form})
    # Minutes are final once every nation with a current co-chair has approved the revision.
    chairs = _panel_composition()["chairs"]
    given = {a.nation_id: a for a in approvals}
    approval_rows = [(nation, given.get(nation))
                     for nation in sorted({c.user.nationality_id for c in chairs} | set(given))]
    may_approve = (minutes is not None and not minutes.is_final and role == PanelRole.CO_CHAIR
                   and reader_nation(request) not in given)
    return render(request, "cooperation/meeting_detail.html", {
        "meeting": meeting,
        "banner": banner(meeting.label, reader_nation(request)),
        "attendees": attendees,
        "items": items,
        "actions": [(a, a.is_overdue(today),
                     project_url(a.project) if a.project else None,
                     a.status == ActionStatus.OPEN and (officer or a.owner_id == user.pk))
                    for a in actions],
        "minutes": minutes,
        "minutes_marking": marking(minutes.label) if minutes else None,
        "approvals": approval_rows,
        "may_approve": may_approve,
        "officer": officer,
        "forms": page_forms,
        "failed": next(iter(bound), None),
    }, status=400 if bound else 200)


@require_GET
def meeting_detail(request: HttpRequest, meeting_id: str) -> HttpResponse:
    with not_found_is_404():
        meeting = selectors.meeting_for(request.user, meeting_id)
    return _meeting_page(request, meeting)


def _meeting_form_post(request: HttpRequest, meeting_id: str, name: str,
                       make_form: Callable[[Meeting], forms.Form],
                       act: Callable[[Meeting, dict[str, Any]], str],
                       anchor: str) -> HttpResponse:
    with not_found_is_404():
        meeting = selectors.meeting_for(request.user, meeting_id)
        form = make_form(meeting)
        if form.is_valid():
            try:
                message = act(meeting, form.cleaned_data)
            except (CooperationError, LabelError) as exc:
                _error(form, exc)
            else:
                messages.success(request, message)
                return redirect(f"{reverse('cooperation:meeting', args=[meeting.pk])}#{anchor}")
    return _meeting_page(request, meeting, {name: form})


def _project_choice_form(request: HttpRequest, form_class: type[Any], prefix: str
                         ) -> Callable[[Meeting], forms.Form]:
    def make(meeting: Meeting) -> forms.Form:
        form: forms.Form = form_class(request.POST, auto_id=f"{prefix}_%s",
                                      projects=_visible_project_choices(request.user))
        return form
    return make


@require_POST
def attendance(request: HttpRequest, meeting_id: str) -> HttpResponse:
    def act(meeting: Meeting, data: dict[str, Any]) -> str:
        services.record_attendance(actor=request.user, meeting=meeting,
                                   attendees=data["usernames"])
        return _("Attendance recorded.")

    return _meeting_form_post(
        request, meeting_id, "attendance",
        lambda meeting: AttendanceForm(request.POST, auto_id="attendance_%s"), act, "attendees")


@require_POST
def agenda_add(request: HttpRequest, meeting_id: str) -> HttpResponse:
    def act(meeting: Meeting, data: dict[str, Any]) -> str:
        services.add_agenda_item(actor=request.user, meeting=meeting, title_en=data["title_en"],
                                 title_ja=data["title_ja"],
                                 project=_chosen_project(request.user, data["project"]))
        return _("Agenda item added.")

    return _meeting_form_post(request, meeting_id, "agenda",
                              _project_choice_form(request, AgendaItemForm, "agenda"), act,
                              "agenda")


@require_POST
def decision_add(request: HttpRequest, meeting_id: str, item_id: str) -> HttpResponse:
    user = request.user
    with not_found_is_404():
        meeting = selectors.meeting_for(user, meeting_id)
        item = selectors.agenda_item_for(user, item_id)
        if item.meeting_id != meeting.pk:
            raise Http404
    form = DecisionForm(request.POST, auto_id=f"decision{item.pk}_%s")
    if form.is_valid():
        try:
            with not_found_is_404():
                decision = services.record_decision(actor=user, item=item,
                                                    kind=form.cleaned_data["kind"],
                                                    text=form.cleaned_data["text"])
        except (CooperationError, LabelError) as exc:
            _error(form, exc)
        else:
            message = _("Decision recorded.")
            if decision.to_phase:
                message = _("Decision recorded: the project is now in the %(phase)s phase.") % {
                    "phase": decision.get_to_phase_display()}
            messages.success(request, message)
            return redirect(f"{reverse('cooperation:meeting', args=[meeting.pk])}"
                            f"#item-{item.pk}")
    return _meeting_page(request, meeting, {f"decision-{item.pk}": form})


@require_POST
def action_add(request: HttpRequest, meeting_id: str) -> HttpResponse:
    def act(meeting: Meeting, data: dict[str, Any]) -> str:
        services.add_action(actor=request.user, meeting=meeting, title=data["title"],
                            owner=data["owner"], due_on=data["due_on"],
                            project=_chosen_project(request.user, data["project"]))
        return _("Action added.")

    return _meeting_form_post(request, meeting_id, "action",
                              _project_choice_form(request, ActionForm, "action"), act,
                              "actions")


@require_POST
def action_close(request: HttpRequest, meeting_id: str, action_id: str) -> HttpResponse:
    user = request.user
    with not_found_is_404():
        meeting = selectors.meeting_for(user, meeting_id)
        action = selectors.action_for(user, action_id)
        if action.meeting_id != meeting.pk:
            raise Http404
        try:
            services.close_action(actor=user, action=action,
                                  status=request.POST.get("status", ""))
        except CooperationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Action closed."))
    return redirect(f"{reverse('cooperation:meeting', args=[meeting.pk])}#actions")


@require_POST
def minutes_write(request: HttpRequest, meeting_id: str) -> HttpResponse:
    def act(meeting: Meeting, data: dict[str, Any]) -> str:
        minutes = services.write_minutes(actor=request.user, meeting=meeting,
                                         text_en=data["text_en"], text_ja=data["text_ja"],
                                         label=data["label"])
        return _("Minutes saved (revision %(revision)d); approvals start again.") % {
            "revision": minutes.revision}

    return _meeting_form_post(
        request, meeting_id, "minutes",
        lambda meeting: MinutesForm(request.POST, auto_id="minutes_%s"), act, "minutes")


@require_POST
def minutes_approve(request: HttpRequest, meeting_id: str) -> HttpResponse:
    user = request.user
    with not_found_is_404():
        meeting = selectors.meeting_for(user, meeting_id)
        minutes = selectors.minutes_of(user, meeting)
        if minutes is None:
            raise Http404
        try:
            services.approve_minutes(actor=user, minutes=minutes)
        except CooperationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The minutes are final.") if minutes.is_final
                             else _("Approval recorded; the minutes are not final yet."))
    return redirect(f"{reverse('cooperation:meeting', args=[meeting.pk])}#minutes")
