"""Reads of projects and of the steering panel's records: always through the kernel's visibility
filter, in SQL, and audited.

A project's parts are as visible as the project (``visible(..., label="project__label")``); an
agenda item, decision or action about a project needs both the meeting and the project; minutes
carry their own label. An id the reader may not see answers exactly like one that names nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from entente.cooperation.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    CostShare,
    GuideEntry,
    Meeting,
    Milestone,
    Minutes,
    MinutesApproval,
    PanelDecision,
    PanelMember,
    Participant,
    Phase,
    PhaseChange,
    Project,
    ProjectDocument,
    SecurityInstruction,
)
from entente.core.models import FACILITY_CLEARED_KINDS
from entente.exchange.models import Document
from entente.security import audit
from entente.security.kernel import Action, record_listing, visible
from entente.security.models import FacilityClearance, Membership
from entente.security.selectors import NotFound, not_found, parse_id, require

PAGE_SIZE = 50
MAX_LISTED = 500  # the most rows of one project's part or one meeting's part shown at once


def visible_projects(user: Any, *, phase: str = "", lead_nation: str = "",
                     text: str = "") -> QuerySet[Project]:
    """The projects the user may view, filtered (not yet audited: callers list or count)."""
    queryset = Project.objects.select_related("label", "lead_nation", "owner")
    if phase:
        queryset = queryset.filter(phase=phase)
    if lead_nation:
        queryset = queryset.filter(lead_nation_id=lead_nation)
    if text.strip():
        needle = text.strip()
        queryset = queryset.filter(Q(code__icontains=needle) | Q(name_en__icontains=needle)
                                   | Q(name_ja__icontains=needle)
                                   | Q(description_en__icontains=needle)
                                   | Q(description_ja__icontains=needle))
    return visible(user, queryset)


def list_projects(user: Any, *, offset: int = 0, limit: int = PAGE_SIZE,
                  **filters: str) -> list[Project]:
    projects = list(visible_projects(user, **filters).order_by("code")[offset:offset + limit])
    record_listing(user, projects, what="cooperation.project")  # type: ignore[arg-type]
    return projects


def count_projects(user: Any, **filters: str) -> int:
    return visible_projects(user, **filters).count()


def listed(user: Any, rows: QuerySet[Any], *, what: str, limit: int = MAX_LISTED) -> list[Any]:
    """A listing of rows already filtered by the kernel, shown and so audited (one event)."""
    shown = list(rows[:limit])
    record_listing(user, shown, what=what)
    return shown


def project_for(user: Any, key: Any, action: Action = Action.VIEW) -> Project:
    """A project by id or code if the kernel allows ``action``; NotFound otherwise."""
    pk = parse_id(key)
    lookup = Q(pk=pk) if pk else Q(code=str(key)[:64])
    project = (Project.objects.select_related("label", "lead_nation", "owner", "community")
               .filter(lookup).first())
    if project is None:
        raise not_found(user, action, "cooperation.project", key)
    require(user, action, project)
    return project


def _parts(user: Any, queryset: QuerySet[Any], project: Project) -> QuerySet[Any]:
    """The rows of one project's part, through the kernel (a reader of the project may read
    them; the filter is still applied in SQL, so a caller that skipped ``project_for`` gets
    nothing)."""
    return visible(user, queryset.filter(project=project), label="project__label")


def participants_of(user: Any, project: Project) -> QuerySet[Participant]:
    return _parts(user, Participant.objects.select_related("organisation"), project)


def participant_for(user: Any, project: Project, organisation: str) -> Participant:
    """One participant of the project, by its organisation's code."""
    found = participants_of(user, project).filter(organisation__code=organisation[:64]).first()
    if found is None:
        raise not_found(user, Action.VIEW, "cooperation.participant", organisation)
    return found


def cost_shares_of(user: Any, project: Project) -> QuerySet[CostShare]:
    return _parts(user, CostShare.objects.select_related("nation"), project)


def milestones_of(user: Any, project: Project) -> QuerySet[Milestone]:
    return _parts(user, Milestone.objects.all(), project)


def guide_of(user: Any, project: Project) -> QuerySet[GuideEntry]:
    return _parts(user, GuideEntry.objects.select_related("label"), project)


def guide_entry_for(user: Any, project: Project, entry_id: Any) -> GuideEntry:
    """One line of the project's classification guide (of this project only)."""
    pk = _int_id(entry_id)
    found = guide_of(user, project).filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise not_found(user, Action.VIEW, "cooperation.guideentry", entry_id)
    return found


def phase_history_of(user: Any, project: Project) -> QuerySet[PhaseChange]:
    """The phase changes, each naming its decision by id only: the decision's text and meeting
    are the meeting's too, so read them through ``decisions_about`` (both labels checked)."""
    return _parts(user, PhaseChange.objects.select_related("changed_by"), project)


def security_instruction_of(user: Any, project: Project) -> SecurityInstruction | None:
    return _parts(user, SecurityInstruction.objects.all(), project).first()


def documents_of(user: Any, project: Project) -> list[Document]:
    """The project's documents the user may view (each also through its own label)."""
    documents = list(visible(user, Document.objects.filter(
        pk__in=ProjectDocument.objects.filter(project=project).values("document_id")))
        .select_related("label", "owner").order_by("-updated_at", "id"))
    record_listing(user, documents, what="exchange.document")  # type: ignore[arg-type]
    return documents


def members_of(user: Any, project: Project, on: dt.date | None = None
               ) -> QuerySet[Membership]:
    """Current members of the project's community (to a reader of the project)."""
    on = on or timezone.localdate()
    require(user, Action.VIEW, project)
    return (Membership.objects.filter(community=project.community, valid_from__lte=on,
                                      valid_until__gte=on)
            .select_related("user", "user__organisation").order_by("user__username"))


def cleared_contractors(user: Any, project: Project, on: dt.date | None = None
                        ) -> list[tuple[Participant, list[FacilityClearance]]]:
    """The project's companies and universities with their facility clearances valid on the
    day: the list both security authorities keep for the project."""
    on = on or timezone.localdate()
    participants = list(participants_of(user, project)
                        .filter(organisation__kind__in=FACILITY_CLEARED_KINDS))
    by_org: dict[int, list[FacilityClearance]] = {}
    for clearance in (FacilityClearance.objects
                      .filter(organisation__in=[p.organisation_id for p in participants],
                              valid_from__lte=on, valid_until__gte=on)
                      .select_related("level", "storage_level", "granted_by")):
        by_org.setdefault(clearance.organisation_id, []).append(clearance)
    record_listing(user, participants, what="cooperation.participant")  # type: ignore[arg-type]
    return [(p, by_org.get(p.organisation_id, [])) for p in participants]


def projects_by_phase_and_nation(user: Any) -> list[dict[str, Any]]:
    """How many visible projects each (phase, lead nation) holds: counted in SQL."""
    return list(visible_projects(user).order_by().values("phase", "lead_nation_id")
                .annotate(count=Count("pk")).order_by("lead_nation_id", "phase"))


def proposals_awaiting_the_panel(user: Any, on: dt.date | None = None) -> QuerySet[Project]:
    """Proposals the user may view that are on the agenda of no meeting from the day on: what
    the panel's secretary has yet to put before the panel."""
    on = on or timezone.localdate()
    return (visible_projects(user, phase=Phase.PROPOSAL)
            .exclude(agenda_items__meeting__held_on__gte=on).order_by("created_at", "code"))


def upcoming_milestones(user: Any, *, within_days: int = 90,
                        on: dt.date | None = None) -> QuerySet[Milestone]:
    """Open milestones due from today (overdue ones too) up to ``within_days`` ahead."""
    on = on or timezone.localdate()
    return visible(user, Milestone.objects.filter(
        done_on__isnull=True, due_on__lte=on + dt.timedelta(days=within_days))
        .select_related("project"), label="project__label").order_by("due_on", "id")


# --------------------------------------------------------------------------- the panel


def panel_members(on: dt.date | None = None) -> QuerySet[PanelMember]:
    """The panel's composition on the day: who sits on it is not classified."""
    on = on or timezone.localdate()
    return (PanelMember.objects.filter(valid_from__lte=on, valid_until__gte=on)
            .select_related("user", "user__nationality", "user__organisation"))


def visible_meetings(user: Any) -> QuerySet[Meeting]:
    return visible(user, Meeting.objects.select_related("label", "owner"))


def list_meetings(user: Any, *, offset: int = 0, limit: int = PAGE_SIZE) -> list[Meeting]:
    meetings = list(visible_meetings(user).order_by("-held_on", "id")[offset:offset + limit])
    record_listing(user, meetings, what="cooperation.meeting")  # type: ignore[arg-type]
    return meetings


def meeting_for(user: Any, meeting_id: Any) -> Meeting:
    pk = parse_id(meeting_id)
    meeting = visible_meetings(user).filter(pk=pk).first() if pk else None
    if meeting is None:
        # Missing or forbidden: one answer. A forbidden one is decided (and audited) too.
        existing = Meeting.objects.filter(pk=pk).first() if pk else None
        if existing is not None:
            require(user, Action.VIEW, existing)
        raise not_found(user, Action.VIEW, "cooperation.meeting", meeting_id)
    audit.record("access.view", actor=user, obj=meeting, allowed=True)
    return meeting


def _int_id(value: Any) -> int | None:
    """A row number from user input, or None if it cannot be one (then: not found, as any)."""
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def _about_visible_projects(user: Any, queryset: QuerySet[Any], project: str = "project"
                            ) -> QuerySet[Any]:
    """Rows about no project, or about one the user may view."""
    return queryset.filter(Q(**{f"{project}__isnull": True})
                           | Q(**{f"{project}__in": visible(user, Project.objects.all())}))


def agenda_of(user: Any, meeting: Meeting) -> QuerySet[AgendaItem]:
    items = visible(user, AgendaItem.objects.filter(meeting=meeting).select_related("project"),
                    label="meeting__label")
    return _about_visible_projects(user, items).order_by("position")


def decisions_of(user: Any, meeting: Meeting) -> QuerySet[PanelDecision]:
    decisions = visible(user, PanelDecision.objects.filter(item__meeting=meeting)
                        .select_related("item", "item__project", "recorded_by"),
                        label="item__meeting__label")
    return _about_visible_projects(user, decisions, "item__project").order_by("recorded_at", "id")


def decisions_about(user: Any, project: Project) -> QuerySet[PanelDecision]:
    decisions = visible(user, PanelDecision.objects.filter(item__project=project)
                        .select_related("item__meeting"), label="item__project__label")
    return visible(user, decisions, label="item__meeting__label").order_by("recorded_at", "id")


def actions_for(user: Any, *, meeting: Meeting | None = None, overdue_on: dt.date | None = None,
                owner: Any = None) -> QuerySet[ActionItem]:
    """Action items the user may view: of one meeting, or open and overdue on a day, or of one
    owner; an action about a project also needs the project."""
    queryset = ActionItem.objects.select_related("owner", "project", "meeting")
    if meeting is not None:
        queryset = queryset.filter(meeting=meeting)
    if overdue_on is not None:
        queryset = queryset.filter(status=ActionStatus.OPEN, due_on__lt=overdue_on)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    queryset = visible(user, queryset, label="meeting__label")
    return _about_visible_projects(user, queryset).order_by("due_on", "id")


def minutes_of(user: Any, meeting: Meeting) -> Minutes | None:
    """The meeting's minutes if they exist and the user may read them (their own label)."""
    minutes = Minutes.objects.select_related("label").filter(meeting=meeting).first()
    if minutes is None:
        return None
    try:
        require(user, Action.VIEW, minutes)
    except NotFound:
        return None
    return minutes


def approvals_of(user: Any, minutes: Minutes) -> QuerySet[MinutesApproval]:
    """The approvals of the minutes' current revision (as visible as the minutes)."""
    return visible(user, MinutesApproval.objects.filter(minutes=minutes,
                                                        revision=minutes.revision)
                   .select_related("approved_by"), label="minutes__label").order_by(
        "approved_at", "id")


def action_for(user: Any, action_id: Any) -> ActionItem:
    pk = _int_id(action_id)
    found = actions_for(user).filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise not_found(user, Action.VIEW, "cooperation.actionitem", action_id)
    return found


def agenda_item_for(user: Any, item_id: Any) -> AgendaItem:
    pk = _int_id(item_id)
    item = (_about_visible_projects(user, visible(
        user, AgendaItem.objects.select_related("meeting", "project"), label="meeting__label"))
        .filter(pk=pk).first() if pk is not None else None)
    if item is None:
        raise not_found(user, Action.VIEW, "cooperation.agendaitem", item_id)
    return item


def milestone_for(user: Any, milestone_id: Any, project: Project | None = None) -> Milestone:
    """A milestone the user may view (of ``project``, if given)."""
    pk = _int_id(milestone_id)
    queryset = Milestone.objects.select_related("project")
    if project is not None:
        queryset = queryset.filter(project=project)
    found = (visible(user, queryset, label="project__label").filter(pk=pk).first()
             if pk is not None else None)
    if found is None:
        raise not_found(user, Action.VIEW, "cooperation.milestone", milestone_id)
    return found
