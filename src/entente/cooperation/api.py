"""JSON API of joint projects and the joint steering panel. Every read is a selector
(kernel-filtered, audited); every change is a service. A project, meeting or item the caller may
not see and one that does not exist both answer 404 with the same body; a request that cannot be
done as asked answers 422 with a readable ``detail``.

There is no endpoint that sets a project's phase: a project moves only when the panel records a
decision that moves it (``POST /panel/agenda-items/{item_id}/decisions``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone
from ninja import Body, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import UUID4, BeforeValidator, Field

from entente.cooperation import selectors, services
from entente.cooperation.models import (
    NEXT_PHASE,
    ActionItem,
    AgendaItem,
    DecisionKind,
    GuideEntry,
    Meeting,
    Milestone,
    Minutes,
    PanelDecision,
    Participant,
    ParticipantRole,
    Phase,
    Project,
)
from entente.cooperation.services import CooperationError
from entente.core.api_support import MAX_PAGE
from entente.core.api_support import check_page as _page
from entente.core.api_support import failing as _failing
from entente.core.api_support import not_found as _not_found
from entente.core.models import Organisation
from entente.exchange.models import Document
from entente.exchange.services import ExchangeError
from entente.security import reference
from entente.security.labels import LabelError, LabelSpec, banner
from entente.security.models import Label
from entente.security.selectors import NotFound

router = Router(tags=["cooperation"])
MAX_ID = 2**63 - 1
DASHBOARD_DAYS, MAX_DASHBOARD_DAYS = 90, 366
LABEL_HELP = "A label in its compact form, e.g. `GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN`."


class Problem(Schema):
    detail: str


def _share_text(value: Any) -> Any:
    if not isinstance(value, str):
        # A float cannot say 33.33 exactly; the service parses the text as a decimal.
        raise ValueError('give each share as a decimal string such as "60.00", not a number')
    return value


ShareText = Annotated[str, BeforeValidator(_share_text)]


# --------------------------------------------------------------------------- schemas: projects


class ProjectOut(Schema):
    id: UUID4
    code: str
    name_en: str
    name_ja: str
    lead_nation: str
    phase: str
    label: str
    banner: str = Field(description="The marking as the caller's nation protects it.")
    owner: str
    updated_at: dt.datetime


class ProjectPage(Schema):
    count: int = Field(description="Projects the caller may view that match the filters.")
    items: list[ProjectOut]


class ProjectDetail(ProjectOut):
    description_en: str
    description_ja: str
    community: str = Field(description="The project's need-to-know community.")
    proposed_by: str
    created_at: dt.datetime
    is_open: bool
    next_phase: str | None = Field(description="The phase a panel decision would move it to.")


class ProposeIn(Schema):
    code: str = Field(max_length=64, description="2 to 63 lower-case letters, digits or hyphens.")
    label: str = Field(max_length=1000, description=LABEL_HELP + " Originated by the caller's "
                       "nation; the project's community is added to it.")
    lead_nation: str = Field(max_length=3)
    name_en: str = Field("", max_length=200)
    name_ja: str = Field("", max_length=200)
    description_en: str = ""
    description_ja: str = ""


class ParticipantOut(Schema):
    organisation: str
    name: str
    nation: str
    kind: str
    role: str
    joined_on: dt.date


class ParticipantIn(Schema):
    organisation: str = Field(max_length=64, description="The organisation's code.")
    role: ParticipantRole


class MemberOut(Schema):
    username: str
    nationality: str | None
    organisation: str | None
    valid_from: dt.date
    valid_until: dt.date


class MemberIn(Schema):
    username: str = Field(max_length=150)
    until: dt.date | None = Field(None, description="Last day of the membership (default: "
                                                    "three years).")


class MilestoneOut(Schema):
    id: int
    title_en: str
    title_ja: str
    due_on: dt.date
    done_on: dt.date | None
    overdue: bool


class MilestoneIn(Schema):
    title_en: str = Field("", max_length=200)
    title_ja: str = Field("", max_length=200)
    due_on: dt.date


class SecurityInstructionOut(Schema):
    revision: int = Field(description="0 while none has been written.")
    text_en: str
    text_ja: str
    updated_by: str | None
    updated_at: dt.datetime | None


class SecurityInstructionIn(Schema):
    text_en: str = ""
    text_ja: str = ""


class GuideEntryOut(Schema):
    id: int
    topic_en: str
    topic_ja: str
    label: str
    banner: str
    is_default: bool


class GuideEntryIn(Schema):
    topic_en: str = Field("", max_length=200)
    topic_ja: str = Field("", max_length=200)
    label: str = Field(max_length=1000, description=LABEL_HELP + " The project's community is "
                                                                 "added to it.")
    is_default: bool = False


class ProjectDocumentOut(Schema):
    id: UUID4
    title_en: str
    title_ja: str
    label: str
    banner: str
    owner: str
    current_version: int
    updated_at: dt.datetime


class ProjectDocumentIn(Schema):
    title_en: str = Field("", max_length=300)
    title_ja: str = Field("", max_length=300)
    summary_en: str = ""
    summary_ja: str = ""
    body: str = ""
    guide_entry: int | None = Field(None, ge=1, le=MAX_ID,
                                    description="The guide entry that labels the document "
                                                "(default: the guide's default entry).")
    label: str | None = Field(None, max_length=1000,
                              description=LABEL_HELP + " Instead of a guide entry; the "
                                                       "project's community is added to it.")


class PhaseChangeOut(Schema):
    from_phase: str
    to_phase: str
    decision: int
    changed_by: str
    changed_at: dt.datetime


class DecisionOut(Schema):
    id: int
    meeting: UUID4
    held_on: dt.date
    item: int
    project: str | None
    kind: str
    to_phase: str
    text: str
    recorded_by: str
    recorded_at: dt.datetime


class FacilityClearanceOut(Schema):
    site: str
    level: str
    storage_level: str | None
    valid_until: dt.date
    granted_by: str


class ContractorOut(Schema):
    organisation: str
    name: str
    nation: str
    kind: str
    role: str
    facility_clearances: list[FacilityClearanceOut]


class PhaseCount(Schema):
    phase: str
    lead_nation: str
    count: int


class UpcomingMilestoneOut(MilestoneOut):
    project: str


class ActionOut(Schema):
    id: int
    meeting: UUID4
    project: str | None
    title: str
    owner: str
    due_on: dt.date
    status: str
    closed_on: dt.date | None
    overdue: bool


class DashboardOut(Schema):
    projects: list[PhaseCount] = Field(description="Visible projects by phase and lead nation.")
    upcoming_milestones: list[UpcomingMilestoneOut] = Field(
        description="Open milestones due within `days` (overdue ones too).")
    overdue_actions: list[ActionOut]


# --------------------------------------------------------------------------- schemas: panel


class PanelMemberOut(Schema):
    username: str
    name: str
    nationality: str | None
    organisation: str | None
    role: str
    valid_from: dt.date
    valid_until: dt.date


class MeetingOut(Schema):
    id: UUID4
    held_on: dt.date
    place: str
    by_video: bool
    label: str
    banner: str
    owner: str


class MeetingPage(Schema):
    count: int
    items: list[MeetingOut]


class MeetingIn(Schema):
    held_on: dt.date
    place: str = Field("", max_length=200)
    by_video: bool = False
    label: str = Field(max_length=1000, description=LABEL_HELP)


class AgendaItemOut(Schema):
    id: int
    position: int
    title_en: str
    title_ja: str
    project: str | None


class AgendaItemIn(Schema):
    title_en: str = Field("", max_length=200)
    title_ja: str = Field("", max_length=200)
    project: str | None = Field(None, max_length=64,
                                description="The project's id or code (default: none); the "
                                            "title defaults to the project's name.")


class PanelDecisionIn(Schema):
    kind: DecisionKind = Field(description="approve-project, approve-phase and cancel move the "
                                           "project at once; reject and defer move nothing.")
    text: str = ""


class ActionIn(Schema):
    title: str = Field(max_length=300)
    owner: str = Field(max_length=150, description="The username of whoever must do it.")
    due_on: dt.date
    project: str | None = Field(None, max_length=64, description="The project's id or code.")


class CloseActionIn(Schema):
    status: Literal["done", "dropped"]


class ApprovalOut(Schema):
    nation: str
    approved_by: str
    approved_at: dt.datetime


class MinutesOut(Schema):
    label: str
    banner: str
    text_en: str
    text_ja: str
    revision: int
    final: bool = Field(description="Approved by a co-chair of each nation.")
    final_at: dt.datetime | None
    updated_at: dt.datetime
    approvals: list[ApprovalOut] = Field(description="Approvals of the current revision.")


class MinutesIn(Schema):
    text_en: str = ""
    text_ja: str = ""
    label: str | None = Field(None, max_length=1000,
                              description=LABEL_HELP + " Default: the meeting's, naming the "
                                                       "communities of the projects on the "
                                                       "agenda. It must cover the meeting's "
                                                       "and those projects' labels.")


class AttendeesIn(Schema):
    usernames: list[str] = Field(max_length=500)


class MeetingDetail(MeetingOut):
    attendees: list[str]
    agenda: list[AgendaItemOut] = Field(description="Items about a project only if the caller "
                                                    "may view the project.")
    decisions: list[DecisionOut]
    actions: list[ActionOut]
    minutes: MinutesOut | None = Field(description="None if there are none yet, or if the "
                                                   "caller may not read them (their own label).")


# --------------------------------------------------------------------------- helpers


def _banner(user: Any, label: Label, protection: reference.Protection | None = None) -> str:
    """The marking as the reader's nation protects it."""
    return banner(label, getattr(user, "nationality_id", None), protection=protection).text()





def _user(username: str) -> Any:
    """A person named in a request (who sits on the panel or takes part is not classified)."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise HttpError(422, f"No user '{username}'.")
    return user


def project_out(user: Any, project: Project,
                 protection: reference.Protection | None = None) -> dict[str, Any]:
    return {"id": project.pk, "code": project.code, "name_en": project.name_en,
            "name_ja": project.name_ja, "lead_nation": project.lead_nation_id,
            "phase": project.phase, "label": project.label.canonical,
            "banner": _banner(user, project.label, protection),
            "owner": project.owner.code, "updated_at": project.updated_at}


def project_detail(user: Any, project: Project) -> dict[str, Any]:
    return {**project_out(user, project), "description_en": project.description_en,
            "description_ja": project.description_ja, "community": project.community.code,
            "proposed_by": project.proposed_by.username, "created_at": project.created_at,
            "is_open": project.is_open, "next_phase": NEXT_PHASE.get(project.phase)}


def milestone_out(milestone: Milestone, today: dt.date) -> dict[str, Any]:
    return {"id": milestone.pk, "title_en": milestone.title_en, "title_ja": milestone.title_ja,
            "due_on": milestone.due_on, "done_on": milestone.done_on,
            "overdue": milestone.is_overdue(today)}


def guide_out(user: Any, entry: GuideEntry) -> dict[str, Any]:
    return {"id": entry.pk, "topic_en": entry.topic_en, "topic_ja": entry.topic_ja,
            "label": entry.label.canonical, "banner": _banner(user, entry.label),
            "is_default": entry.is_default}


def document_out(user: Any, document: Document) -> dict[str, Any]:
    return {"id": document.pk, "title_en": document.title_en, "title_ja": document.title_ja,
            "label": document.label.canonical, "banner": _banner(user, document.label),
            "owner": document.owner.code, "current_version": document.current_version,
            "updated_at": document.updated_at}


def shares_of(user: Any, project: Project) -> dict[str, str]:
    rows = selectors.listed(user, selectors.cost_shares_of(user, project),
                            what="cooperation.costshare")
    return {share.nation_id: f"{share.percent:f}" for share in rows}


def decision_out(decision: PanelDecision) -> dict[str, Any]:
    item = decision.item
    return {"id": decision.pk, "meeting": item.meeting_id, "held_on": item.meeting.held_on,
            "item": item.pk, "project": item.project.code if item.project else None,
            "kind": decision.kind, "to_phase": decision.to_phase, "text": decision.text,
            "recorded_by": decision.recorded_by.username, "recorded_at": decision.recorded_at}


def action_out(action: ActionItem, today: dt.date) -> dict[str, Any]:
    return {"id": action.pk, "meeting": action.meeting_id,
            "project": action.project.code if action.project else None, "title": action.title,
            "owner": action.owner.username, "due_on": action.due_on, "status": action.status,
            "closed_on": action.closed_on, "overdue": action.is_overdue(today)}


def agenda_out(item: AgendaItem) -> dict[str, Any]:
    return {"id": item.pk, "position": item.position, "title_en": item.title_en,
            "title_ja": item.title_ja, "project": item.project.code if item.project else None}


def meeting_out(user: Any, meeting: Meeting,
                 protection: reference.Protection | None = None) -> dict[str, Any]:
    return {"id": meeting.pk, "held_on": meeting.held_on, "place": meeting.place,
            "by_video": meeting.by_video, "label": meeting.label.canonical,
            "banner": _banner(user, meeting.label, protection), "owner": meeting.owner.code}


def minutes_out(user: Any, minutes: Minutes) -> dict[str, Any]:
    return {"label": minutes.label.canonical, "banner": _banner(user, minutes.label),
            "text_en": minutes.text_en, "text_ja": minutes.text_ja,
            "revision": minutes.revision, "final": minutes.is_final,
            "final_at": minutes.final_at, "updated_at": minutes.updated_at,
            "approvals": [{"nation": a.nation_id, "approved_by": a.approved_by.username,
                           "approved_at": a.approved_at}
                          for a in selectors.approvals_of(user, minutes)]}


def participant_out(participant: Participant) -> dict[str, Any]:
    organisation = participant.organisation
    return {"organisation": organisation.code, "name": organisation.name,
            "nation": organisation.nation_id, "kind": organisation.kind,
            "role": participant.role, "joined_on": participant.joined_on}


def participants_of(user: Any, project: Project) -> list[dict[str, Any]]:
    return [participant_out(p) for p in selectors.listed(
        user, selectors.participants_of(user, project), what="cooperation.participant")]


def phase_history_of(user: Any, project: Project) -> list[dict[str, Any]]:
    return [{"from_phase": c.from_phase, "to_phase": c.to_phase, "decision": c.decision_id,
             "changed_by": c.changed_by.username, "changed_at": c.changed_at}
            for c in selectors.listed(user, selectors.phase_history_of(user, project),
                                      what="cooperation.phasechange")]


def decisions_about(user: Any, project: Project) -> list[dict[str, Any]]:
    return [decision_out(d) for d in selectors.listed(
        user, selectors.decisions_about(user, project).select_related(
            "item__project", "recorded_by"), what="cooperation.paneldecision")]


def contractors_of(user: Any, project: Project) -> list[dict[str, Any]]:
    return [{**participant_out(p), "facility_clearances": [
        {"site": c.site, "level": c.level.key,
         "storage_level": c.storage_level.key if c.storage_level else None,
         "valid_until": c.valid_until, "granted_by": c.granted_by.code} for c in clearances]}
        for p, clearances in selectors.cleared_contractors(user, project)]


def dashboard_of(user: Any, days: int = DASHBOARD_DAYS) -> dict[str, Any]:
    today = timezone.localdate()
    milestones = selectors.listed(user, selectors.upcoming_milestones(user, within_days=days),
                                  what="cooperation.milestone", limit=MAX_PAGE)
    actions = selectors.listed(user, selectors.actions_for(user, overdue_on=today),
                               what="cooperation.actionitem", limit=MAX_PAGE)
    return {"projects": [{"phase": r["phase"], "lead_nation": r["lead_nation_id"],
                          "count": r["count"]}
                         for r in selectors.projects_by_phase_and_nation(user)],
            "upcoming_milestones": [{**milestone_out(m, today), "project": m.project.code}
                                    for m in milestones],
            "overdue_actions": [action_out(a, today) for a in actions]}


def panel_of(user: Any) -> list[dict[str, Any]]:
    """Today's seats on the steering panel (who sits on it is not classified)."""
    return [{"username": s.user.username, "name": s.user.get_full_name(),
             "nationality": s.user.nationality_id,
             "organisation": s.user.organisation.code if s.user.organisation else None,
             "role": s.role, "valid_from": s.valid_from, "valid_until": s.valid_until}
            for s in selectors.listed(user, selectors.panel_members(),
                                      what="cooperation.panelmember")]


def meeting_detail(user: Any, meeting: Meeting) -> dict[str, Any]:
    """The meeting record as the caller may see it: items, decisions and actions about a
    project they may not view are left out; minutes only under their own label."""
    today = timezone.localdate()
    minutes = selectors.minutes_of(user, meeting)
    agenda = selectors.listed(user, selectors.agenda_of(user, meeting),
                              what="cooperation.agendaitem")
    decisions = selectors.listed(user, selectors.decisions_of(user, meeting),
                                 what="cooperation.paneldecision")
    actions = selectors.listed(user, selectors.actions_for(user, meeting=meeting),
                               what="cooperation.actionitem")
    return {**meeting_out(user, meeting),
            "attendees": list(meeting.attendees.order_by("username")
                              .values_list("username", flat=True)),
            "agenda": [agenda_out(i) for i in agenda],
            "decisions": [decision_out(d) for d in decisions],
            "actions": [action_out(a, today) for a in actions],
            "minutes": minutes_out(user, minutes) if minutes else None}


# --------------------------------------------------------------------------- projects


@router.get("/projects", response={200: ProjectPage, 422: Problem},
            summary="Joint projects the caller may view",
            description="Filters by phase, lead nation and text (`q`: code, names, "
                        "descriptions); `count` counts only what the caller may view.")
def list_projects(request: HttpRequest, phase: Phase | None = None, lead_nation: str = "",
                  q: str = "", offset: Query[int] = 0,
                  limit: Query[int] = selectors.PAGE_SIZE) -> dict[str, Any]:
    _page(offset, limit)
    filters = {"phase": phase.value if phase else "", "lead_nation": lead_nation, "text": q}
    projects = selectors.list_projects(request.user, offset=offset, limit=limit, **filters)
    protection = reference.protection(timezone.localdate())
    return {"count": selectors.count_projects(request.user, **filters),
            "items": [project_out(request.user, p, protection) for p in projects]}


@router.post("/projects", response={201: ProjectDetail, 422: Problem},
             summary="Propose a joint project",
             description="A new project in the proposal phase, owned by the caller's "
                         "organisation, with its own need-to-know community (the caller and the "
                         "steering panel become members).")
def propose(request: HttpRequest, payload: ProposeIn) -> Status:
    try:
        project = services.propose_project(
            actor=request.user, code=payload.code, label=LabelSpec.parse(payload.label),
            lead_nation=payload.lead_nation, name_en=payload.name_en, name_ja=payload.name_ja,
            description_en=payload.description_en, description_ja=payload.description_ja)
    except (CooperationError, LabelError) as exc:
        raise _failing(exc) from None
    except NotFound:
        raise HttpError(422, "You may not propose a project under this label (your "
                             "clearance, nationality or communities do not cover it).") from None
    return Status(201, project_detail(request.user, project))


@router.get("/projects/{project_id}", response={200: ProjectDetail, 404: Problem},
            summary="A project, by id or code, with its label and banner")
def get_project(request: HttpRequest, project_id: str) -> Any:
    try:
        return project_detail(request.user, selectors.project_for(request.user, project_id))
    except NotFound:
        return _not_found()


@router.get("/projects/{project_id}/participants",
            response={200: list[ParticipantOut], 404: Problem},
            summary="Organisations taking part in the project")
def list_participants(request: HttpRequest, project_id: str) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
    except NotFound:
        return _not_found()
    return participants_of(request.user, project)


@router.post("/projects/{project_id}/participants",
             response={201: ParticipantOut, 404: Problem, 422: Problem},
             summary="Add an organisation to the project",
             description="A company or university needs a valid facility security clearance "
                         "at the level the project's classification guide requires.")
def add_participant(request: HttpRequest, project_id: str, payload: ParticipantIn) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
        organisation = Organisation.objects.filter(code=payload.organisation).first()
        if organisation is None:
            raise HttpError(422, f"Unknown organisation '{payload.organisation}'.")
        participant = services.add_participant(actor=request.user, project=project,
                                               organisation=organisation,
                                               role=payload.role.value)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return Status(201, participant_out(participant))


@router.delete("/projects/{project_id}/participants/{organisation}",
               response={204: None, 404: Problem, 422: Problem},
               summary="Remove an organisation from the project",
               description="Its people lose their membership of the project's community today.")
def remove_participant(request: HttpRequest, project_id: str, organisation: str) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
        participant = selectors.participant_for(request.user, project, organisation)
        services.remove_participant(actor=request.user, participant=participant)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return Status(204, None)


def member_out(membership: Any) -> dict[str, Any]:
    user = membership.user
    return {"username": user.username, "nationality": user.nationality_id,
            "organisation": user.organisation.code if user.organisation else None,
            "valid_from": membership.valid_from, "valid_until": membership.valid_until}


@router.get("/projects/{project_id}/members", response={200: list[MemberOut], 404: Problem},
            summary="Current members of the project's need-to-know community")
def list_members(request: HttpRequest, project_id: str) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
        rows = selectors.listed(request.user, selectors.members_of(request.user, project),
                                what="security.membership")
    except NotFound:
        return _not_found()
    return [member_out(m) for m in rows]


@router.post("/projects/{project_id}/members",
             response={201: MemberOut, 404: Problem, 422: Problem},
             summary="Grant a person need-to-know of the project",
             description="People of a company or university need their organisation to take "
                         "part in the project.")
def add_member(request: HttpRequest, project_id: str, payload: MemberIn) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
        membership = services.add_member(actor=request.user, project=project,
                                         user=_user(payload.username), until=payload.until)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return Status(201, member_out(membership))


@router.delete("/projects/{project_id}/members/{username}",
               response={204: None, 404: Problem, 422: Problem},
               summary="End a person's need-to-know of the project today")
def remove_member(request: HttpRequest, project_id: str, username: str) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
        services.remove_member(actor=request.user, project=project, user=_user(username))
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return Status(204, None)


@router.get("/projects/{project_id}/cost-shares",
            response={200: dict[str, str], 404: Problem},
            summary="Cost shares by nation, in per cent, as decimal strings",
            description='Nation → share, e.g. `{"GBR": "60.00", "JPN": "40.00"}`; empty while '
                        "none are set.")
def get_cost_shares(request: HttpRequest, project_id: str) -> Any:
    try:
        return shares_of(request.user, selectors.project_for(request.user, project_id))
    except NotFound:
        return _not_found()


@router.put("/projects/{project_id}/cost-shares",
            response={200: dict[str, str], 404: Problem, 422: Problem},
            summary="Replace the cost shares",
            description="A JSON object of nation → share in per cent as a decimal string with "
                        "at most two decimal places (never a float), e.g. "
                        '`{"GBR": "60.00", "JPN": "40.00"}`. The shares must add up to exactly '
                        "100; otherwise nothing changes.")
def set_cost_shares(request: HttpRequest, project_id: str,
                    payload: Body[dict[str, ShareText]]) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
        services.set_cost_shares(actor=request.user, project=project, shares=payload)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return shares_of(request.user, project)


@router.get("/projects/{project_id}/milestones",
            response={200: list[MilestoneOut], 404: Problem}, summary="The project's milestones")
def list_milestones(request: HttpRequest, project_id: str) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
    except NotFound:
        return _not_found()
    today = timezone.localdate()
    return [milestone_out(m, today) for m in selectors.listed(
        request.user, selectors.milestones_of(request.user, project),
        what="cooperation.milestone")]


@router.post("/projects/{project_id}/milestones",
             response={201: MilestoneOut, 404: Problem, 422: Problem}, summary="Add a milestone")
def add_milestone(request: HttpRequest, project_id: str, payload: MilestoneIn) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
        milestone = services.add_milestone(actor=request.user, project=project,
                                           due_on=payload.due_on, title_en=payload.title_en,
                                           title_ja=payload.title_ja)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return Status(201, milestone_out(milestone, timezone.localdate()))


@router.post("/projects/{project_id}/milestones/{milestone_id}/done",
             response={200: MilestoneOut, 404: Problem, 422: Problem},
             summary="Mark a milestone done",
             description="`done_on`: the day it was done (default today; never in the future).")
def complete_milestone(request: HttpRequest, project_id: str, milestone_id: str,
                       done_on: Query[dt.date | None] = None) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
        milestone = selectors.milestone_for(request.user, milestone_id, project)
        done = services.complete_milestone(actor=request.user, milestone=milestone,
                                           done_on=done_on)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return milestone_out(done, timezone.localdate())


def instruction_out(user: Any, project: Project) -> dict[str, Any]:
    psi = selectors.security_instruction_of(user, project)
    if psi is None:
        return {"revision": 0, "text_en": "", "text_ja": "", "updated_by": None,
                "updated_at": None}
    return {"revision": psi.revision, "text_en": psi.text_en, "text_ja": psi.text_ja,
            "updated_by": psi.updated_by.username, "updated_at": psi.updated_at}


@router.get("/projects/{project_id}/security-instruction",
            response={200: SecurityInstructionOut, 404: Problem},
            summary="The programme security instruction (revision 0: none yet)")
def get_security_instruction(request: HttpRequest, project_id: str) -> Any:
    try:
        return instruction_out(request.user, selectors.project_for(request.user, project_id))
    except NotFound:
        return _not_found()


@router.put("/projects/{project_id}/security-instruction",
            response={200: SecurityInstructionOut, 404: Problem, 422: Problem},
            summary="Write a new revision of the programme security instruction")
def set_security_instruction(request: HttpRequest, project_id: str,
                             payload: SecurityInstructionIn) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
        services.set_security_instruction(actor=request.user, project=project,
                                          text_en=payload.text_en, text_ja=payload.text_ja)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return instruction_out(request.user, project)


@router.get("/projects/{project_id}/guide", response={200: list[GuideEntryOut], 404: Problem},
            summary="The project security classification guide")
def list_guide(request: HttpRequest, project_id: str) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
    except NotFound:
        return _not_found()
    return [guide_out(request.user, e) for e in selectors.listed(
        request.user, selectors.guide_of(request.user, project), what="cooperation.guideentry")]


@router.post("/projects/{project_id}/guide",
             response={201: GuideEntryOut, 404: Problem, 422: Problem},
             summary="Add a line to the classification guide")
def add_guide_entry(request: HttpRequest, project_id: str, payload: GuideEntryIn) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
        entry = services.add_guide_entry(actor=request.user, project=project,
                                         label=LabelSpec.parse(payload.label),
                                         topic_en=payload.topic_en, topic_ja=payload.topic_ja,
                                         is_default=payload.is_default)
    except NotFound:
        return _not_found()
    except (CooperationError, LabelError) as exc:
        raise _failing(exc) from None
    return Status(201, guide_out(request.user, entry))


@router.get("/projects/{project_id}/documents",
            response={200: list[ProjectDocumentOut], 404: Problem},
            summary="The project's documents the caller may view",
            description="Each document also keeps its own label.")
def list_project_documents(request: HttpRequest, project_id: str) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
    except NotFound:
        return _not_found()
    return [document_out(request.user, d) for d in selectors.documents_of(request.user, project)]


@router.post("/projects/{project_id}/documents",
             response={201: ProjectDocumentOut, 404: Problem, 422: Problem},
             summary="Create a project document, labelled from the classification guide",
             description="Labelled by `guide_entry`, else by `label`, else by the guide's "
                         "default entry; the label always names the project's community. The "
                         "document is an exchange document (`/documents/{id}`).")
def create_project_document(request: HttpRequest, project_id: str,
                            payload: ProjectDocumentIn) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
        entry = (selectors.guide_entry_for(request.user, project, payload.guide_entry)
                 if payload.guide_entry is not None else None)
    except NotFound:
        return _not_found()
    try:
        document = services.create_project_document(
            actor=request.user, project=project, guide_entry=entry,
            label=LabelSpec.parse(payload.label) if payload.label is not None else None,
            title_en=payload.title_en, title_ja=payload.title_ja,
            summary_en=payload.summary_en, summary_ja=payload.summary_ja, body=payload.body)
    except (CooperationError, ExchangeError, LabelError) as exc:
        raise _failing(exc) from None
    except NotFound:
        raise HttpError(422, "You may not create a document under this label (your clearance, "
                             "nationality or communities do not cover it).") from None
    return Status(201, document_out(request.user, document))


@router.get("/projects/{project_id}/phases", response={200: list[PhaseChangeOut], 404: Problem},
            summary="The project's phase history",
            description="Each change names the panel decision it was made under.")
def phase_history(request: HttpRequest, project_id: str) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
    except NotFound:
        return _not_found()
    return phase_history_of(request.user, project)


@router.get("/projects/{project_id}/decisions", response={200: list[DecisionOut], 404: Problem},
            summary="Decisions of the steering panel about the project",
            description="Only those of meetings the caller may also view.")
def project_decisions(request: HttpRequest, project_id: str) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
    except NotFound:
        return _not_found()
    return decisions_about(request.user, project)


@router.get("/projects/{project_id}/contractors", response={200: list[ContractorOut],
                                                            404: Problem},
            summary="The project's companies and universities and their facility clearances",
            description="The list both national security authorities keep for the project: "
                        "facility clearances valid today.")
def cleared_contractors(request: HttpRequest, project_id: str) -> Any:
    try:
        project = selectors.project_for(request.user, project_id)
    except NotFound:
        return _not_found()
    return contractors_of(request.user, project)


@router.get("/cooperation/dashboard", response={200: DashboardOut, 422: Problem},
            summary="Projects by phase and nation, upcoming milestones, overdue actions",
            description="Counts and lists of what the caller may view only.")
def dashboard(request: HttpRequest, days: Query[int] = DASHBOARD_DAYS) -> dict[str, Any]:
    if not 0 <= days <= MAX_DASHBOARD_DAYS:
        raise HttpError(422, f"days must be between 0 and {MAX_DASHBOARD_DAYS}.")
    return dashboard_of(request.user, days)


# --------------------------------------------------------------------------- the panel


@router.get("/panel/members", response=list[PanelMemberOut],
            summary="The joint steering panel today (its composition is not classified)")
def panel_members(request: HttpRequest) -> list[dict[str, Any]]:
    return panel_of(request.user)


@router.get("/panel/meetings", response={200: MeetingPage, 422: Problem},
            summary="Meetings of the steering panel the caller may view")
def list_meetings(request: HttpRequest, offset: Query[int] = 0,
                  limit: Query[int] = selectors.PAGE_SIZE) -> dict[str, Any]:
    _page(offset, limit)
    meetings = selectors.list_meetings(request.user, offset=offset, limit=limit)
    protection = reference.protection(timezone.localdate())
    return {"count": selectors.visible_meetings(request.user).count(),
            "items": [meeting_out(request.user, m, protection) for m in meetings]}


@router.post("/panel/meetings", response={201: MeetingDetail, 422: Problem},
             summary="Schedule a meeting (co-chairs and secretary)")
def schedule_meeting(request: HttpRequest, payload: MeetingIn) -> Any:
    try:
        meeting = services.schedule_meeting(actor=request.user, held_on=payload.held_on,
                                            label=LabelSpec.parse(payload.label),
                                            place=payload.place, by_video=payload.by_video)
    except (CooperationError, LabelError) as exc:
        raise _failing(exc) from None
    except NotFound:
        raise HttpError(422, "You may not schedule a meeting under this label (your clearance, "
                             "nationality or communities do not cover it).") from None
    return Status(201, meeting_detail(request.user, meeting))


@router.get("/panel/meetings/{meeting_id}", response={200: MeetingDetail, 404: Problem},
            summary="A meeting with its agenda, decisions, actions and minutes")
def get_meeting(request: HttpRequest, meeting_id: str) -> Any:
    try:
        return meeting_detail(request.user, selectors.meeting_for(request.user, meeting_id))
    except NotFound:
        return _not_found()


@router.put("/panel/meetings/{meeting_id}/attendees",
            response={200: MeetingDetail, 404: Problem, 422: Problem},
            summary="Record who attended (co-chairs and secretary)")
def record_attendance(request: HttpRequest, meeting_id: str, payload: AttendeesIn) -> Any:
    try:
        meeting = selectors.meeting_for(request.user, meeting_id)
        people = [_user(name) for name in dict.fromkeys(payload.usernames)]
        services.record_attendance(actor=request.user, meeting=meeting, attendees=people)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return meeting_detail(request.user, meeting)


@router.post("/panel/meetings/{meeting_id}/agenda",
             response={201: AgendaItemOut, 404: Problem, 422: Problem},
             summary="Add an agenda item (co-chairs and secretary)")
def add_agenda_item(request: HttpRequest, meeting_id: str, payload: AgendaItemIn) -> Any:
    try:
        meeting = selectors.meeting_for(request.user, meeting_id)
        project = (selectors.project_for(request.user, payload.project)
                   if payload.project is not None else None)
        item = services.add_agenda_item(actor=request.user, meeting=meeting,
                                        title_en=payload.title_en, title_ja=payload.title_ja,
                                        project=project)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return Status(201, agenda_out(item))


@router.post("/panel/agenda-items/{item_id}/decisions",
             response={201: DecisionOut, 404: Problem, 422: Problem},
             summary="Record the panel's decision on an agenda item (co-chairs and secretary)",
             description="approve-project (a proposal), approve-phase (the next phase) and "
                         "cancel move the item's project at once, under this decision, and only "
                         "once; this is the only way a project changes phase.")
def record_decision(request: HttpRequest, item_id: str, payload: PanelDecisionIn) -> Any:
    try:
        item = selectors.agenda_item_for(request.user, item_id)
        decision = services.record_decision(actor=request.user, item=item,
                                            kind=payload.kind.value, text=payload.text)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return Status(201, decision_out(decision))


@router.post("/panel/meetings/{meeting_id}/actions",
             response={201: ActionOut, 404: Problem, 422: Problem},
             summary="Record an action item (co-chairs and secretary)")
def add_action(request: HttpRequest, meeting_id: str, payload: ActionIn) -> Any:
    try:
        meeting = selectors.meeting_for(request.user, meeting_id)
        project = (selectors.project_for(request.user, payload.project)
                   if payload.project is not None else None)
        action = services.add_action(actor=request.user, meeting=meeting, title=payload.title,
                                     owner=_user(payload.owner), due_on=payload.due_on,
                                     project=project)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return Status(201, action_out(action, timezone.localdate()))


@router.post("/panel/actions/{action_id}/close",
             response={200: ActionOut, 404: Problem, 422: Problem},
             summary="Close an action as done or dropped (its owner, or a panel officer)")
def close_action(request: HttpRequest, action_id: str, payload: CloseActionIn) -> Any:
    try:
        action = selectors.action_for(request.user, action_id)
        closed = services.close_action(actor=request.user, action=action,
                                       status=payload.status)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return action_out(closed, timezone.localdate())


@router.put("/panel/meetings/{meeting_id}/minutes",
            response={200: MinutesOut, 404: Problem, 422: Problem},
            summary="Write or revise the minutes (co-chairs and secretary)",
            description="A new revision withdraws the approvals given so far; final minutes "
                        "no longer change.")
def write_minutes(request: HttpRequest, meeting_id: str, payload: MinutesIn) -> Any:
    try:
        meeting = selectors.meeting_for(request.user, meeting_id)
    except NotFound:
        return _not_found()
    try:
        minutes = services.write_minutes(
            actor=request.user, meeting=meeting, text_en=payload.text_en,
            text_ja=payload.text_ja,
            label=LabelSpec.parse(payload.label) if payload.label is not None else None)
    except (CooperationError, LabelError) as exc:
        raise _failing(exc) from None
    except NotFound:
        raise HttpError(422, "You may not write minutes under this label (your clearance, "
                             "nationality or communities do not cover it).") from None
    return minutes_out(request.user, minutes)


@router.post("/panel/meetings/{meeting_id}/minutes/approve",
             response={200: MinutesOut, 404: Problem, 422: Problem},
             summary="Approve the minutes for the co-chair's nation",
             description="The minutes are final once a co-chair of each nation has approved "
                         "the same revision. `revision`: the one the co-chair read (refused if "
                         "the minutes have changed since).")
def approve_minutes(request: HttpRequest, meeting_id: str,
                    revision: Query[int | None] = None) -> Any:
    if revision is not None and not 1 <= revision <= MAX_ID:
        raise HttpError(422, "revision must be a positive number.")
    try:
        meeting = selectors.meeting_for(request.user, meeting_id)
        minutes = selectors.minutes_of(request.user, meeting)
        if minutes is None:
            raise NotFound
        approved = services.approve_minutes(actor=request.user, minutes=minutes,
                                            revision=revision)
    except NotFound:
        return _not_found()
    except CooperationError as exc:
        raise _failing(exc) from None
    return minutes_out(request.user, approved)

