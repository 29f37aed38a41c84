"""JSON API of joint exercises, their planning and staff and academic exchanges (mounted at
/api/v1/ by entente.api). Every read is a selector (kernel-filtered in SQL, audited); every change
is a service. An exercise or milestone the caller may not view and one that does not exist both
answer 404 with the same body; a request that cannot be done as asked answers 422 with a readable
``detail``.

The calendar is JSON for the pages and iCalendar (``/exercises/calendar.ics``) for the reader's
own calendar; the iCalendar holds only events whose label needs no clearance (see
``selectors.ics``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import P, Query, QueryEx, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import UUID4, Field

from entente.core.api_support import check_page as _page
from entente.core.api_support import failing as _failing
from entente.core.api_support import not_found as _not_found
from entente.core.models import Organisation
from entente.exercises import selectors, services
from entente.exercises.models import (
    NEXT_STATE,
    OPEN_STATES,
    ConferenceVisit,
    ExchangeKind,
    Exercise,
    ExerciseKind,
    ExerciseState,
    Location,
    MilestoneKind,
    ParticipatingUnit,
    PlanningMilestone,
    StaffExchange,
    StateChange,
)
from entente.exercises.services import ExerciseError, UnitSpec
from entente.industry import selectors as industry_selectors
from entente.industry.api import VisitOut, visit_row
from entente.industry.models import VisitState
from entente.security import reference
from entente.security.kernel import Action
from entente.security.labels import LabelError, LabelSpec, banner
from entente.security.models import Label
from entente.security.selectors import NotFound, not_found

router = Router(tags=["exercises"])
MAX_ID = 2**63 - 1
MAX_PARTS = 100  # locations or units given with a proposal
LABEL_HELP = "A label in its compact form, e.g. `GBR/OFFICIAL|rel=GBR,JPN`."
CANNOT_LABEL = ("You may not make a request under this label (your clearance, nationality or "
                "communities do not cover it).")


class Problem(Schema):
    detail: str


# --------------------------------------------------------------------------- schemas


class ExerciseOut(Schema):
    id: UUID4
    code: str
    name_en: str
    name_ja: str
    kind: str
    lead_nation: str
    starts_on: dt.date
    ends_on: dt.date
    state: str
    label: str
    banner: str = Field(description="The marking as the caller's nation protects it.")
    owner: str


class ExercisePage(Schema):
    count: int = Field(description="Exercises the caller may view that match the filters.")
    items: list[ExerciseOut]


class ExerciseLocationOut(Schema):
    id: int
    name: str
    nation: str | None


class ExerciseUnitOut(Schema):
    id: int
    nation: str
    unit: str
    personnel: int
    equipment: str


class ExerciseMilestoneOut(Schema):
    id: int
    kind: str
    title: str
    heading: str = Field(description="The title, or the kind's name when there is none.")
    due_on: dt.date
    place: str
    owner: str
    done_on: dt.date | None
    overdue: bool = Field(description="Not done by its date, and the exercise is still open.")


class OverdueExerciseMilestoneOut(ExerciseMilestoneOut):
    exercise: str = Field(description="The exercise's code.")
    exercise_name_en: str
    exercise_name_ja: str


class ExerciseStateChangeOut(Schema):
    state: str
    on: dt.date
    at: dt.datetime
    by: str
    note: str


class ConferenceVisitOut(Schema):
    milestone: int
    visit: VisitOut


class StaffExchangeOut(VisitOut):
    exchange_kind: str = Field(description="staff or academic")
    home: str = Field(description="The code of the person's home organisation.")
    exercise: str | None = Field(description="The exercise's code, if the caller may view it.")


class StaffExchangePage(Schema):
    count: int
    items: list[StaffExchangeOut]


class ExerciseDetail(ExerciseOut):
    objectives_en: str
    objectives_ja: str
    lessons_learned: str
    proposed_by: str
    created_at: dt.datetime
    is_open: bool
    next_state: str | None = Field(description="The one state it may move to next (besides "
                                               "cancelled).")
    locations: list[ExerciseLocationOut]
    units: list[ExerciseUnitOut]
    personnel: dict[str, int] = Field(description="Personnel of the participating units, by "
                                                  "nation.")
    milestones: list[ExerciseMilestoneOut]
    history: list[ExerciseStateChangeOut]
    conference_visits: list[ConferenceVisitOut] = Field(
        description="Requests for visit to attend its milestones that the caller takes part in "
                    "and may view.")
    exchanges: list[StaffExchangeOut] = Field(
        description="Exchanges serving the exercise that the caller takes part in and may view.")


class ExerciseLocationIn(Schema):
    name: str = Field(max_length=200)
    nation: str | None = Field(None, max_length=3, description="The country's code, if any.")


class ExerciseUnitIn(Schema):
    nation: str = Field(max_length=3)
    unit: str = Field(max_length=200)
    personnel: int = Field(ge=0, le=1_000_000)
    equipment: str = Field("", max_length=300)


class ExerciseProposeIn(Schema):
    code: str = Field(max_length=64, description="2 to 63 lower-case letters, digits or hyphens.")
    label: str = Field(max_length=1000, description=LABEL_HELP + " Originated by the caller's "
                                                                 "nation, releasable to the "
                                                                 "partner nation too.")
    kind: ExerciseKind
    lead_nation: str = Field(max_length=3)
    starts_on: dt.date
    ends_on: dt.date
    name_en: str = Field("", max_length=200)
    name_ja: str = Field("", max_length=200)
    objectives_en: str = Field("", max_length=20_000)
    objectives_ja: str = Field("", max_length=20_000)
    locations: list[ExerciseLocationIn] = Field(default_factory=list, max_length=MAX_PARTS)
    units: list[ExerciseUnitIn] = Field(default_factory=list, max_length=MAX_PARTS)


class ExerciseAdvanceIn(Schema):
    to_state: ExerciseState = Field(description="The next state: approved (by a planner of the "
                                                "partner nation), planning, executing (from "
                                                "the first day), completed (from the last day, "
                                                "with the lessons-learned report).")
    note: str = Field("", max_length=2000)
    lessons_learned: str = Field("", max_length=100_000)


class ExerciseCancelIn(Schema):
    reason: str = Field(max_length=2000)


class ExerciseMilestoneIn(Schema):
    kind: MilestoneKind
    due_on: dt.date
    owner: str = Field(max_length=150, description="The username of whoever answers for it; "
                                                   "they must be able to read the exercise.")
    title: str = Field("", max_length=200)
    place: str = Field("", max_length=200)


class ConferenceVisitIn(Schema):
    host: str = Field(max_length=64, description="Code of the host organisation (of the other "
                                                 "nation)")
    site: str = Field(max_length=200)
    level: str = Field(max_length=64, description="A marking of the host nation's scheme, e.g. "
                                                  "JPN/HI or HI")
    label: str = Field(max_length=1000, description="The request's own label. " + LABEL_HELP)
    purpose: str = Field("", max_length=2000,
                         description="Default: the milestone and the exercise.")
    last_day: dt.date | None = Field(None, description="Default: the milestone's day.")


class StaffExchangeIn(Schema):
    kind: ExchangeKind
    host: str = Field(max_length=64, description="Code of the host organisation (of the other "
                                                 "nation)")
    site: str = Field(max_length=200)
    first_day: dt.date
    last_day: dt.date
    purpose: str = Field(max_length=2000)
    level: str = Field(max_length=64, description="A marking of the host nation's scheme, e.g. "
                                                  "JPN/HI or HI")
    label: str = Field(max_length=1000, description="The request's own label. " + LABEL_HELP)
    exercise: str | None = Field(None, max_length=64,
                                 description="Code or id of the exercise it serves, if any.")


class ExerciseCalendarEventOut(Schema):
    uid: str = Field(description="Stable: exercise-…, milestone-… or exchange-….")
    what: str = Field(description="exercise, milestone or exchange")
    title: str
    first_day: dt.date
    last_day: dt.date
    link: str
    label: str
    banner: str
    classified: bool = Field(description="The label needs a clearance: never in the iCalendar "
                                         "export.")
    overdue: bool


# --------------------------------------------------------------------------- rows


def _banner(user: Any, label: Label, protection: reference.Protection | None = None) -> str:
    return banner(label, getattr(user, "nationality_id", None), protection=protection).text()


def _today() -> dt.date:
    return timezone.localdate()


def exercise_row(user: Any, exercise: Exercise,
                 protection: reference.Protection | None = None) -> dict[str, Any]:
    return {"id": exercise.pk, "code": exercise.code, "name_en": exercise.name_en,
            "name_ja": exercise.name_ja, "kind": exercise.kind,
            "lead_nation": exercise.lead_nation_id, "starts_on": exercise.starts_on,
            "ends_on": exercise.ends_on, "state": exercise.state,
            "label": exercise.label.canonical, "banner": _banner(user, exercise.label, protection),
            "owner": exercise.owner.code}


def location_row(location: Location) -> dict[str, Any]:
    return {"id": location.pk, "name": location.name, "nation": location.nation_id}


def unit_row(unit: ParticipatingUnit) -> dict[str, Any]:
    return {"id": unit.pk, "nation": unit.nation_id, "unit": unit.unit,
            "personnel": unit.personnel, "equipment": unit.equipment}


def milestone_row(milestone: PlanningMilestone, exercise_state: str,
                  today: dt.date | None = None) -> dict[str, Any]:
    today = today or _today()
    return {"id": milestone.pk, "kind": milestone.kind, "title": milestone.title,
            "heading": str(milestone.heading), "due_on": milestone.due_on,
            "place": milestone.place, "owner": milestone.owner.username,
            "done_on": milestone.done_on,
            "overdue": (milestone.done_on is None and milestone.due_on < today
                        and exercise_state in OPEN_STATES)}


def overdue_row(milestone: PlanningMilestone, today: dt.date | None = None) -> dict[str, Any]:
    exercise = milestone.exercise
    return {**milestone_row(milestone, exercise.state, today), "exercise": exercise.code,
            "exercise_name_en": exercise.name_en, "exercise_name_ja": exercise.name_ja}


def state_row(change: StateChange) -> dict[str, Any]:
    return {"state": change.state, "on": change.on, "at": change.at, "by": change.by.username,
            "note": change.note}


def exercise_codes(user: Any, ids: set[Any]) -> dict[Any, str]:
    """The codes of the given exercises that the reader may view (one query, audited)."""
    ids = {pk for pk in ids if pk is not None}
    if not ids:
        return {}
    shown = selectors.listed(user, selectors.visible_exercises(user).filter(pk__in=ids),
                             what="exercises.exercise")
    return {e.pk: e.code for e in shown}


def exchange_rows(user: Any, exchanges: list[StaffExchange]) -> list[dict[str, Any]]:
    """Exchanges as data; the exercise an exchange serves is named only if the reader may view
    it, and its project likewise."""
    nation = getattr(user, "nationality_id", None)
    visits = [x.visit for x in exchanges]
    projects = industry_selectors.projects_of(user, visits)
    codes = exercise_codes(user, {x.exercise_id for x in exchanges})
    protection = reference.protection(_today())
    return [{**visit_row(x.visit, nation, projects.get(x.visit.project_id), protection),
             "exchange_kind": x.kind, "home": x.home.code,
             "exercise": codes.get(x.exercise_id)} for x in exchanges]


def conference_rows(user: Any, visits: list[ConferenceVisit]) -> list[dict[str, Any]]:
    nation = getattr(user, "nationality_id", None)
    projects = industry_selectors.projects_of(user, [c.visit for c in visits])
    protection = reference.protection(_today())
    return [{"milestone": c.milestone_id,
             "visit": visit_row(c.visit, nation, projects.get(c.visit.project_id), protection)}
            for c in visits]


def exercise_detail(user: Any, exercise: Exercise) -> dict[str, Any]:
    """The exercise with every part the caller may see (each part read is audited)."""
    today = _today()
    listed = selectors.listed
    locations = listed(user, selectors.locations_of(user, exercise), what="exercises.location")
    units = listed(user, selectors.units_of(user, exercise), what="exercises.participatingunit")
    milestones = listed(user, selectors.milestones_of(user, exercise),
                        what="exercises.planningmilestone")
    history = listed(user, selectors.history_of(user, exercise), what="exercises.statechange")
    conference = listed(user, selectors.conference_visits_of(user, exercise),
                        what="exercises.conferencevisit")
    exchanges = listed(user, selectors.exchanges_of(user, exercise),
                       what="exercises.staffexchange")
    return {**exercise_row(user, exercise),
            "objectives_en": exercise.objectives_en, "objectives_ja": exercise.objectives_ja,
            "lessons_learned": exercise.lessons_learned,
            "proposed_by": exercise.proposed_by.username, "created_at": exercise.created_at,
            "is_open": exercise.is_open, "next_state": NEXT_STATE.get(exercise.state),
            "locations": [location_row(x) for x in locations],
            "units": [unit_row(u) for u in units],
            "personnel": selectors.personnel_by_nation(user, exercise),
            "milestones": [milestone_row(m, exercise.state, today) for m in milestones],
            "history": [state_row(c) for c in history],
            "conference_visits": conference_rows(user, conference),
            "exchanges": exchange_rows(user, exchanges)}


def event_row(user: Any, event: selectors.CalendarEvent,
              protection: reference.Protection | None = None) -> dict[str, Any]:
    return {"uid": event.uid, "what": event.what, "title": event.title,
            "first_day": event.first_day, "last_day": event.last_day, "link": event.link,
            "label": event.label.canonical, "banner": _banner(user, event.label, protection),
            "classified": event.classified, "overdue": event.overdue}


# --------------------------------------------------------------------------- helpers





def host_organisation(code: str) -> Organisation:
    """A host organisation named in a request (which organisations exist is not classified)."""
    host = Organisation.objects.filter(code=code).first()
    if host is None:
        raise ExerciseError(f"Unknown organisation '{code}'.")
    return host


def milestone_of(user: Any, exercise: Exercise, milestone_id: str) -> PlanningMilestone:
    """A milestone of the exercise; NotFound (audited) for a missing, forbidden or impossible
    id alike."""
    text = str(milestone_id).strip()
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID):
        raise not_found(user, Action.VIEW, "exercises.planningmilestone", milestone_id)
    return selectors.milestone_for(user, exercise, text)


def _filters(state: ExerciseState | None, kind: ExerciseKind | None, lead_nation: str, q: str,
             during_from: dt.date | None, during_until: dt.date | None) -> dict[str, Any]:
    return {"state": state.value if state else "", "kind": kind.value if kind else "",
            "lead_nation": lead_nation.strip().upper(), "text": q,
            "during_from": during_from, "during_until": during_until}


# --------------------------------------------------------------------------- exercises
# The fixed paths come before /exercises/{exercise_id}: they are codes no exercise may take.


@router.get("/exercises", response={200: ExercisePage, 422: Problem},
            summary="Joint exercises the caller may view",
            description="Filters by state, type, lead nation, text (`q`: code, names, "
                        "objectives) and a period (`from`, `until`: exercises with a day in "
                        "it); `count` counts only what the caller may view.")
def list_exercises(request: HttpRequest, state: ExerciseState | None = None,
                   kind: ExerciseKind | None = None, lead_nation: str = "", q: str = "",
                   during_from: QueryEx[dt.date | None, P(alias="from")] = None,
                   during_until: QueryEx[dt.date | None, P(alias="until")] = None,
                   offset: Query[int] = 0,
                   limit: Query[int] = selectors.PAGE_SIZE) -> dict[str, Any]:
    _page(offset, limit)
    if during_from and during_until and during_until < during_from:
        raise HttpError(422, "The period ends before it starts.")
    filters = _filters(state, kind, lead_nation, q, during_from, during_until)
    exercises = selectors.list_exercises(request.user, offset=offset, limit=limit, **filters)
    protection = reference.protection(_today())
    return {"count": selectors.count_exercises(request.user, **filters),
            "items": [exercise_row(request.user, e, protection) for e in exercises]}


@router.post("/exercises", response={201: ExerciseDetail, 422: Problem},
             summary="Propose a joint exercise (exercise planners)",
             description="A new exercise in the proposed state, owned by the caller's "
                         "organisation; a planner of the partner nation approves it.")
def propose(request: HttpRequest, payload: ExerciseProposeIn) -> Any:
    try:
        exercise = services.propose_exercise(
            request.user, code=payload.code, label=LabelSpec.parse(payload.label),
            kind=payload.kind.value, lead_nation=payload.lead_nation.strip().upper(),
            starts_on=payload.starts_on, ends_on=payload.ends_on, name_en=payload.name_en,
            name_ja=payload.name_ja, objectives_en=payload.objectives_en,
            objectives_ja=payload.objectives_ja,
            locations=[(x.name, x.nation) for x in payload.locations],
            units=[UnitSpec(u.nation, u.unit, u.personnel, u.equipment) for u in payload.units])
    except (ExerciseError, LabelError) as exc:
        raise _failing(exc) from None
    except NotFound:
        raise HttpError(422, CANNOT_LABEL) from None
    return Status(201, exercise_detail(request.user, exercise))


@router.get("/exercises/overdue", response=list[OverdueExerciseMilestoneOut],
            summary="Planning milestones not done by their date, of open exercises the caller "
                    "may view")
def overdue_milestones(request: HttpRequest) -> list[dict[str, Any]]:
    today = _today()
    rows = selectors.listed(request.user, selectors.overdue_milestones(request.user, today),
                            what="exercises.planningmilestone")
    return [overdue_row(m, today) for m in rows]


@router.get("/exercises/calendar", response={200: list[ExerciseCalendarEventOut], 422: Problem},
            summary="Exercises, milestones and exchanges with a day between start and end",
            description=f"At most {selectors.MAX_CALENDAR_DAYS} days at once; only what the "
                        "caller may view (classified events too, with their banner).")
def calendar(request: HttpRequest, start: dt.date, end: dt.date) -> Any:
    try:
        events = selectors.calendar(request.user, start, end)
    except ValueError as exc:
        raise _failing(exc) from None
    protection = reference.protection(_today())
    return [event_row(request.user, e, protection) for e in events]


@router.get("/exercises/calendar.ics", response={200: None, 422: Problem},
            summary="The calendar as iCalendar (text/calendar), unclassified events only",
            description="For the caller's own calendar, outside Entente's protection: only "
                        "events the caller may view whose label needs no clearance. The export "
                        "is audited.")
def calendar_ics(request: HttpRequest, start: dt.date, end: dt.date) -> Any:
    try:
        data = selectors.ics(request.user, start, end)
    except ValueError as exc:
        raise _failing(exc) from None
    response = HttpResponse(data, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="entente-exercises-'
                                       f'{start.isoformat()}-{end.isoformat()}.ics"')
    response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- exchanges


@router.get("/exercises/exchanges", response={200: StaffExchangePage, 422: Problem},
            summary="Staff and academic exchanges the caller takes part in and may view",
            description="An exchange is a request for visit of kind exchange; `from` and "
                        "`until` keep those with a day in the period.")
def list_exchanges(request: HttpRequest, state: VisitState | None = None,
                   kind: ExchangeKind | None = None,
                   during_from: QueryEx[dt.date | None, P(alias="from")] = None,
                   during_until: QueryEx[dt.date | None, P(alias="until")] = None,
                   offset: Query[int] = 0,
                   limit: Query[int] = selectors.PAGE_SIZE) -> dict[str, Any]:
    _page(offset, limit)
    rows = selectors.visible_exchanges(request.user, state=state.value if state else "",
                                       kind=kind.value if kind else "",
                                       during_from=during_from, during_until=during_until)
    shown = selectors.listed(request.user, rows[offset:offset + limit],
                             what="exercises.staffexchange", limit=limit)
    return {"count": rows.count(), "items": exchange_rows(request.user, shown)}


@router.post("/exercises/exchanges", response={201: StaffExchangeOut, 422: Problem},
             summary="Ask for a staff or academic exchange posting at an organisation of the "
                     "other nation",
             description="A request for visit of kind exchange: the caller's own security "
                         "authority assures their clearance, the host nation's approves.")
def request_exchange(request: HttpRequest, payload: StaffExchangeIn) -> Any:
    user = request.user
    try:
        exercise = None
        if payload.exercise:
            try:
                exercise = selectors.exercise_for(user, payload.exercise)
            except NotFound:
                raise ExerciseError("No exercise you may view has this code.") from None
        exchange = services.request_exchange(
            user, kind=payload.kind.value, host=host_organisation(payload.host), site=payload.site,
            first_day=payload.first_day, last_day=payload.last_day, purpose=payload.purpose,
            level=payload.level, label=LabelSpec.parse(payload.label), exercise=exercise)
    except (ExerciseError, LabelError) as exc:
        raise _failing(exc) from None
    except NotFound:
        raise HttpError(422, CANNOT_LABEL) from None
    return Status(201, exchange_rows(user, [exchange])[0])


# --------------------------------------------------------------------------- one exercise


@router.get("/exercises/{exercise_id}", response={200: ExerciseDetail, 404: Problem},
            summary="An exercise, by id or code, with its locations, units, milestones, "
                    "history, and the visits and exchanges the caller may see")
def get_exercise(request: HttpRequest, exercise_id: str) -> Any:
    try:
        return exercise_detail(request.user, selectors.exercise_for(request.user, exercise_id))
    except NotFound:
        return _not_found()


@router.post("/exercises/{exercise_id}/advance",
             response={200: ExerciseDetail, 404: Problem, 422: Problem},
             summary="Move the exercise to its next state (exercise planners)")
def advance(request: HttpRequest, exercise_id: str, payload: ExerciseAdvanceIn) -> Any:
    try:
        exercise = selectors.exercise_for(request.user, exercise_id)
        moved = services.advance(request.user, exercise, payload.to_state.value,
                                 note=payload.note, lessons_learned=payload.lessons_learned)
    except NotFound:
        return _not_found()
    except ExerciseError as exc:
        raise _failing(exc) from None
    return exercise_detail(request.user, moved)


@router.post("/exercises/{exercise_id}/cancel",
             response={200: ExerciseDetail, 404: Problem, 422: Problem},
             summary="Cancel the exercise, with a reason, before it completes (exercise "
                     "planners)")
def cancel(request: HttpRequest, exercise_id: str, payload: ExerciseCancelIn) -> Any:
    try:
        exercise = selectors.exercise_for(request.user, exercise_id)
        cancelled = services.cancel_exercise(request.user, exercise, payload.reason)
    except NotFound:
        return _not_found()
    except ExerciseError as exc:
        raise _failing(exc) from None
    return exercise_detail(request.user, cancelled)


@router.post("/exercises/{exercise_id}/locations",
             response={201: ExerciseLocationOut, 404: Problem, 422: Problem},
             summary="Add a location (exercise planners)")
def add_location(request: HttpRequest, exercise_id: str, payload: ExerciseLocationIn) -> Any:
    try:
        exercise = selectors.exercise_for(request.user, exercise_id)
        location = services.add_location(request.user, exercise, payload.name, payload.nation)
    except NotFound:
        return _not_found()
    except ExerciseError as exc:
        raise _failing(exc) from None
    return Status(201, location_row(location))


@router.post("/exercises/{exercise_id}/units",
             response={200: ExerciseUnitOut, 404: Problem, 422: Problem},
             summary="Add a participating unit, or change its numbers if it is listed "
                     "(exercise planners)",
             description="A unit is known by its nation and name; its nation must be one the "
                         "exercise is releasable to.")
def set_unit(request: HttpRequest, exercise_id: str, payload: ExerciseUnitIn) -> Any:
    try:
        exercise = selectors.exercise_for(request.user, exercise_id)
        unit = services.set_unit(request.user, exercise, UnitSpec(
            payload.nation, payload.unit, payload.personnel, payload.equipment))
    except NotFound:
        return _not_found()
    except ExerciseError as exc:
        raise _failing(exc) from None
    return unit_row(unit)


@router.post("/exercises/{exercise_id}/milestones",
             response={201: ExerciseMilestoneOut, 404: Problem, 422: Problem},
             summary="Add a planning conference or other milestone (exercise planners)",
             description="The owner must be someone who may read the exercise; an unknown "
                         "username is refused with the same message.")
def add_milestone(request: HttpRequest, exercise_id: str, payload: ExerciseMilestoneIn) -> Any:
    user = request.user
    try:
        exercise = selectors.exercise_for(user, exercise_id)
        # None for an unknown username: the service refuses it exactly as a person who may not
        # read the exercise, so the answer does not tell whether the account exists.
        owner = get_user_model().objects.filter(username=payload.owner).first()
        milestone = services.add_milestone(user, exercise, kind=payload.kind.value,
                                           due_on=payload.due_on, owner=owner,
                                           title=payload.title, place=payload.place)
    except NotFound:
        return _not_found()
    except ExerciseError as exc:
        raise _failing(exc) from None
    return Status(201, milestone_row(milestone, exercise.state))


@router.post("/exercises/{exercise_id}/milestones/{milestone_id}/done",
             response={200: ExerciseMilestoneOut, 404: Problem, 422: Problem},
             summary="Mark a milestone done today (exercise planners)")
def complete_milestone(request: HttpRequest, exercise_id: str, milestone_id: str) -> Any:
    user = request.user
    try:
        exercise = selectors.exercise_for(user, exercise_id)
        milestone = milestone_of(user, exercise, milestone_id)
        done = services.complete_milestone(user, milestone)
    except NotFound:
        return _not_found()
    except ExerciseError as exc:
        raise _failing(exc) from None
    return milestone_row(done, exercise.state)


@router.post("/exercises/{exercise_id}/milestones/{milestone_id}/visits",
             response={201: ConferenceVisitOut, 404: Problem, 422: Problem},
             summary="Ask to attend a planning conference: a request for visit from its day",
             description="A one-time request for visit to the host organisation (of the other "
                         "nation), assured and approved as any request for visit.")
def request_conference_visit(request: HttpRequest, exercise_id: str, milestone_id: str,
                             payload: ConferenceVisitIn) -> Any:
    user = request.user
    try:
        exercise = selectors.exercise_for(user, exercise_id)
        milestone = milestone_of(user, exercise, milestone_id)
    except NotFound:
        return _not_found()
    try:
        visit = services.request_conference_visit(
            user, milestone, host=host_organisation(payload.host), site=payload.site,
            level=payload.level, label=LabelSpec.parse(payload.label), purpose=payload.purpose,
            last_day=payload.last_day)
    except (ExerciseError, LabelError) as exc:
        raise _failing(exc) from None
    except NotFound:
        raise HttpError(422, CANNOT_LABEL) from None
    return Status(201, {"milestone": milestone.pk,
                        "visit": visit_row(visit, getattr(user, "nationality_id", None))})
