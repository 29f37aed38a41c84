"""Actions on joint exercises and staff exchanges. Each runs in one ``audit.atomic()``
transaction, asks the kernel, and is audited.

Who may do what, beyond the kernel's reading rules:
  * an exercise planner proposes an exercise (labelled by their own nation, releasable to the
    other) and plans it: locations, participating units, milestones;
  * an exercise is approved by an exercise planner of the *other* nation — both nations agree to
    the programme — and then moves on one state at a time (planning, executing on or after its
    first day, completed on or after its last day with a lessons-learned report), or is
    cancelled with a reason before it completes;
  * a planning conference needs requests for visit of the people who attend (``industry``), and
    a staff or academic exchange is a request for visit of kind "exchange": both go through the
    same clearance check, by the same security authorities. Such a request names its exercise
    (its purpose, its link), so it is labelled at least as protectively as the exercise, and none
    is made for an exercise that is over.

Errors a person can act on are ``ExerciseError`` with a message in the active language; an
exercise the actor may not view is ``NotFound``, exactly like one that does not exist. Every
service takes ``on`` (the day it happens, today by default) so tests run on a fixed clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from entente.core.models import Nation, Organisation, Role
from entente.exercises.models import (
    NEXT_STATE,
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
from entente.industry import services as industry
from entente.industry.models import VisitKind, VisitRequest
from entente.security import audit, kernel
from entente.security.kernel import Action
from entente.security.labels import LabelSpec, make_label, spec_of
from entente.security.models import Classification
from entente.security.selectors import NotFound, parse_id, require

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
RESERVED_CODES = frozenset({"new", "calendar", "exchanges", "overdue", "calendar.ics"})
MAX_DAYS = 366  # an exercise longer than a year is a programme, not an exercise
PLANNING_HORIZON_DAYS = 3653  # ten years: beyond that a date is a typing error


class ExerciseError(ValueError):
    """A request that cannot be done as asked; the message says why, for the person asking."""


@dataclass(frozen=True)
class UnitSpec:
    nation: str
    unit: str
    personnel: int | str
    equipment: str = ""


def _today() -> dt.date:
    return timezone.localdate()


def _refuse(action: str, actor: Any, message: str, obj: Any = None) -> ExerciseError:
    """Audit a refusal (kept through the rollback) and return the error to raise."""
    audit.record(action, actor=actor, obj=obj,
                 object_type="" if obj is not None else "exercises.exercise", allowed=False,
                 reason=message)
    return ExerciseError(message)


def _planner(actor: Any, action: str, obj: Any = None) -> None:
    if not (getattr(actor, "is_active", False) and actor.has_role(Role.EXERCISE_PLANNER)):
        raise _refuse(action, actor, _("Only exercise planners may do this."), obj)


def _readable_by(actor: Any, obj: Any) -> None:
    """One cannot create what one could not then read: say why, in the reader's language."""
    decision = kernel.decide(actor, Action.VIEW, obj)
    if not decision:
        raise ExerciseError(_("You could not read a record with this label: %(reason)s")
                            % {"reason": decision.reason(get_language() or "en")})


def _locked(actor: Any, exercise: Exercise, action: str, *, open_only: bool = True,
            planner: bool = True) -> Exercise:
    """The exercise, locked for the change and read afresh (the caller's copy may be stale)."""
    locked = (Exercise.objects.select_for_update(of=("self",)).select_related("label")
              .get(pk=exercise.pk))
    require(actor, Action.VIEW, locked)  # NotFound, as for one that does not exist
    if planner:
        _planner(actor, action, locked)
    if open_only and not locked.is_open:
        raise _refuse(action, actor, _("Exercise %(code)s is %(state)s: it can no longer "
                                       "change.") % {"code": locked.code,
                                                     "state": locked.get_state_display().lower()},
                      locked)
    return locked


def _protects(actor: Any, visit: VisitRequest, exercise: Exercise, action: str) -> None:
    """Whoever may read a request for visit about an exercise learns which exercise (its code and
    name are in the purpose and the link): the request's label must cover the exercise's."""
    if not kernel.covers(visit.label, exercise.label):
        raise _refuse(action, actor, _(
            "The label %(label)s does not protect the request as well as exercise %(code)s is "
            "protected: give a label at least as protective as the exercise's.")
            % {"label": visit.label.canonical, "code": exercise.code}, exercise)


def _text(value: str, limit: int, message: str) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise ExerciseError(message)
    return value


def _units(label: LabelSpec, specs: Sequence[UnitSpec]) -> list[ParticipatingUnit]:
    units = []
    seen = set()
    for spec in specs:
        nation, name = (spec.nation or "").strip().upper(), (spec.unit or "").strip()
        if not name or len(name) > 200:
            raise ExerciseError(_("Name each participating unit (at most 200 characters)."))
        if nation not in {label.originator, *label.releasable_to}:
            raise ExerciseError(_("%(nation)s's units cannot take part: the exercise is not "
                                  "releasable to %(nation)s.") % {"nation": nation or "?"})
        try:
            personnel = int(str(spec.personnel).strip())
        except ValueError:
            raise ExerciseError(_("The personnel of %(unit)s must be a whole number.")
                                % {"unit": name}) from None
        if personnel < 0 or personnel > 1_000_000:
            raise ExerciseError(_("The personnel of %(unit)s must be between 0 and 1,000,000.")
                                % {"unit": name})
        if (nation, name) in seen:
            raise ExerciseError(_("%(unit)s of %(nation)s is listed twice.")
                                % {"unit": name, "nation": nation})
        seen.add((nation, name))
        units.append(ParticipatingUnit(nation_id=nation, unit=name, personnel=personnel,
                                       equipment=_text(spec.equipment, 300, _(
                                           "Equipment is described in at most 300 "
                                           "characters."))))
    return units


# --------------------------------------------------------------------------- exercises


def propose_exercise(actor: Any, *, code: str, label: LabelSpec, kind: str, lead_nation: str,
                     starts_on: dt.date, ends_on: dt.date, name_en: str = "", name_ja: str = "",
                     objectives_en: str = "", objectives_ja: str = "",
                     locations: Sequence[tuple[str, str | None]] = (),
                     units: Sequence[UnitSpec] = (), on: dt.date | None = None) -> Exercise:
    """A new exercise in the proposed state. ``locations`` are (name, nation code or None)."""
    on = on or _today()
    _planner(actor, "exercise.propose")
    nation = getattr(actor, "nationality_id", None)
    if not nation or getattr(actor, "organisation_id", None) is None:
        raise ExerciseError(_("Your account has no nationality or organisation on record."))
    code = (code or "").strip().lower()
    # A code that parses as an id would be looked up as that id (``selectors.exercise_for``),
    # never by its code: such a code is as unusable as a reserved one.
    if not CODE.match(code) or code in RESERVED_CODES or parse_id(code) is not None:
        raise ExerciseError(_("An exercise code is 2 to 63 lower-case letters, digits or "
                              "hyphens, starting with a letter or digit."))
    name_en = _text(name_en, 200, _("A name has at most 200 characters."))
    name_ja = _text(name_ja, 200, _("A name has at most 200 characters."))
    if not (name_en or name_ja):
        raise ExerciseError(_("An exercise needs a name in English or Japanese."))
    if kind not in ExerciseKind.values:
        raise ExerciseError(_("Unknown type of exercise '%(kind)s'; one of %(kinds)s.")
                            % {"kind": kind, "kinds": ", ".join(ExerciseKind.values)})
    if not Nation.objects.filter(code=lead_nation).exists():
        raise ExerciseError(_("Unknown lead nation %(code)s.") % {"code": lead_nation})
    if ends_on < starts_on:
        raise ExerciseError(_("An exercise cannot end before it starts."))
    if (ends_on - starts_on).days + 1 > MAX_DAYS:
        raise ExerciseError(_("An exercise lasts at most %(days)d days.") % {"days": MAX_DAYS})
    if starts_on < on:
        raise ExerciseError(_("A new exercise cannot start in the past."))
    if starts_on > on + dt.timedelta(days=PLANNING_HORIZON_DAYS):
        raise ExerciseError(_("An exercise is proposed at most ten years ahead."))
    if label.originator != nation:
        raise ExerciseError(_("New exercises are labelled by your own nation (%(code)s).")
                            % {"code": nation})
    if not set(label.releasable_to) - {nation}:
        raise ExerciseError(_("A joint exercise must be releasable to the partner nation as well "
                              "as to your own."))
    if lead_nation not in {nation, *label.releasable_to}:
        raise ExerciseError(_("The lead nation must be one the exercise is releasable to."))
    if Exercise.objects.filter(code=code).exists():
        raise ExerciseError(_("An exercise with the code %(code)s already exists.")
                            % {"code": code})
    built_units = _units(label, units)
    places = [(_text(name, 200, _("A location has at most 200 characters.")), where)
              for name, where in locations]
    with audit.atomic():
        exercise = Exercise(code=code, name_en=name_en, name_ja=name_ja, kind=kind,
                            lead_nation_id=lead_nation, starts_on=starts_on, ends_on=ends_on,
                            objectives_en=(objectives_en or "").strip(),
                            objectives_ja=(objectives_ja or "").strip(), proposed_by=actor,
                            owner=actor.organisation, label=make_label(label))
        _readable_by(actor, exercise)
        exercise.save(force_insert=True)
        for name, where in places:
            if name:
                _add_location(exercise, name, where)
        for unit in built_units:
            unit.exercise = exercise
        ParticipatingUnit.objects.bulk_create(built_units)
        StateChange.objects.create(exercise=exercise, state=ExerciseState.PROPOSED, on=on,
                                   by=actor)
        audit.record("exercise.propose", actor=actor, obj=exercise, allowed=True, detail={
            "code": code, "label": exercise.label.canonical, "kind": kind,
            "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()})
    return exercise


def _add_location(exercise: Exercise, name: str, nation: str | None) -> Location:
    nation = (nation or "").strip().upper() or None
    if nation and not Nation.objects.filter(code=nation).exists():
        raise ExerciseError(_("Unknown country %(code)s.") % {"code": nation})
    return Location.objects.create(exercise=exercise, name=name, nation_id=nation)


def advance(actor: Any, exercise: Exercise, to_state: str, *, note: str = "",
            lessons_learned: str = "", on: dt.date | None = None) -> Exercise:
    """Move the exercise one state on (see the module's docstring for who and when)."""
    on = on or _today()
    action = f"exercise.{to_state}"
    with audit.atomic():
        exercise = _locked(actor, exercise, action)
        if NEXT_STATE.get(exercise.state) != to_state:
            raise _refuse(action, actor, _(
                "Exercise %(code)s is %(state)s; it can only become %(next)s next.")
                % {"code": exercise.code, "state": exercise.get_state_display().lower(),
                   "next": ExerciseState(NEXT_STATE[exercise.state]).label.lower()}, exercise)
        fields = ["state"]
        if to_state == ExerciseState.APPROVED:
            proposer = exercise.proposed_by.nationality_id
            if actor.nationality_id == proposer:
                raise _refuse(action, actor, _(
                    "The exercise was proposed by %(nation)s: a planner of the partner nation "
                    "approves it.") % {"nation": proposer}, exercise)
        if to_state == ExerciseState.EXECUTING and on < exercise.starts_on:
            raise ExerciseError(_("The exercise starts on %(day)s; it cannot be executing "
                                  "before.") % {"day": exercise.starts_on.isoformat()})
        if to_state == ExerciseState.COMPLETED:
            lessons_learned = (lessons_learned or "").strip()
            if on < exercise.ends_on:
                raise ExerciseError(_("The exercise ends on %(day)s; it cannot be completed "
                                      "before.") % {"day": exercise.ends_on.isoformat()})
            if not lessons_learned:
                raise ExerciseError(_("An exercise is completed with its lessons-learned "
                                      "report."))
            exercise.lessons_learned = lessons_learned
            fields.append("lessons_learned")
        exercise.state = to_state
        exercise.save(update_fields=fields)
        StateChange.objects.create(exercise=exercise, state=to_state, on=on, by=actor,
                                   note=(note or "").strip())
        audit.record(action, actor=actor, obj=exercise, allowed=True,
                     detail={"code": exercise.code, "on": on.isoformat()})
    return exercise


def cancel_exercise(actor: Any, exercise: Exercise, reason: str,
                    on: dt.date | None = None) -> Exercise:
    on = on or _today()
    reason = (reason or "").strip()
    if not reason:
        raise ExerciseError(_("Say why the exercise is cancelled."))
    with audit.atomic():
        exercise = _locked(actor, exercise, "exercise.cancel")
        exercise.state = ExerciseState.CANCELLED
        exercise.save(update_fields=["state"])
        StateChange.objects.create(exercise=exercise, state=ExerciseState.CANCELLED, on=on,
                                   by=actor, note=reason)
        audit.record("exercise.cancel", actor=actor, obj=exercise, allowed=True,
                     detail={"code": exercise.code, "reason": reason})
    return exercise


def add_location(actor: Any, exercise: Exercise, name: str,
                 nation: str | None = None) -> Location:
    name = _text(name, 200, _("A location has at most 200 characters."))
    if not name:
        raise ExerciseError(_("Name the location."))
    with audit.atomic():
        exercise = _locked(actor, exercise, "exercise.location")
        location = _add_location(exercise, name, nation)
        audit.record("exercise.location", actor=actor, obj=exercise, allowed=True,
                     detail={"name": name, "nation": location.nation_id})
    return location


def set_unit(actor: Any, exercise: Exercise, spec: UnitSpec) -> ParticipatingUnit:
    """Add a participating unit, or change its numbers if it is already listed."""
    with audit.atomic():
        exercise = _locked(actor, exercise, "exercise.unit")
        [built] = _units(spec_of(exercise.label), [spec])
        unit, created = ParticipatingUnit.objects.update_or_create(
            exercise=exercise, nation_id=built.nation_id, unit=built.unit,
            defaults={"personnel": built.personnel, "equipment": built.equipment})
        audit.record("exercise.unit", actor=actor, obj=exercise, allowed=True, detail={
            "nation": unit.nation_id, "unit": unit.unit, "personnel": unit.personnel,
            "created": created})
    return unit


def remove_unit(actor: Any, unit: ParticipatingUnit) -> None:
    with audit.atomic():
        exercise = _locked(actor, unit.exercise, "exercise.unit.remove")
        audit.record("exercise.unit.remove", actor=actor, obj=exercise, allowed=True,
                     detail={"nation": unit.nation_id, "unit": unit.unit})
        unit.delete()


# --------------------------------------------------------------------------- milestones


def add_milestone(actor: Any, exercise: Exercise, *, kind: str, due_on: dt.date, owner: Any,
                  title: str = "", place: str = "") -> PlanningMilestone:
    """A planning conference or other milestone. Its owner must be able to read the exercise."""
    if kind not in MilestoneKind.values:
        raise ExerciseError(_("Unknown kind of milestone '%(kind)s'; one of %(kinds)s.")
                            % {"kind": kind, "kinds": ", ".join(MilestoneKind.values)})
    title = _text(title, 200, _("A title has at most 200 characters."))
    place = _text(place, 200, _("A place has at most 200 characters."))
    if kind == MilestoneKind.OTHER and not title:
        raise ExerciseError(_("Give the milestone a title."))
    with audit.atomic():
        exercise = _locked(actor, exercise, "exercise.milestone")
        if owner is None or not kernel.decide(owner, Action.VIEW, exercise):
            # The owner's standing is not the actor's to learn: one message for both cases.
            raise _refuse("exercise.milestone", actor, _(
                "The owner must be someone who may read the exercise."), exercise)
        if due_on > exercise.ends_on:
            raise ExerciseError(_("A milestone falls on or before the exercise's last day "
                                  "(%(day)s).") % {"day": exercise.ends_on.isoformat()})
        milestone = PlanningMilestone.objects.create(exercise=exercise, kind=kind, title=title,
                                                     due_on=due_on, place=place, owner=owner)
        audit.record("exercise.milestone", actor=actor, obj=exercise, allowed=True, detail={
            "milestone": milestone.pk, "kind": kind, "due_on": due_on.isoformat(),
            "owner": owner.username})
    return milestone


def complete_milestone(actor: Any, milestone: PlanningMilestone,
                       on: dt.date | None = None) -> PlanningMilestone:
    on = on or _today()
    with audit.atomic():
        exercise = _locked(actor, milestone.exercise, "exercise.milestone.done")
        milestone = PlanningMilestone.objects.select_for_update().get(pk=milestone.pk)
        if milestone.done_on is not None:
            raise ExerciseError(_("This milestone was done on %(day)s.")
                                % {"day": milestone.done_on.isoformat()})
        milestone.done_on = on
        milestone.save(update_fields=["done_on"])
        audit.record("exercise.milestone.done", actor=actor, obj=exercise, allowed=True,
                     detail={"milestone": milestone.pk, "on": on.isoformat()})
    return milestone


def request_conference_visit(actor: Any, milestone: PlanningMilestone, *, host: Organisation,
                             site: str, level: Classification | str, label: LabelSpec,
                             purpose: str = "", last_day: dt.date | None = None,
                             ) -> VisitRequest:
    """The actor asks to attend a planning conference at ``host``: a one-time request for visit
    (industry), from the conference's day, linked to it."""
    with audit.atomic():
        # Anyone who may read the exercise may ask to attend, but not once it is over.
        exercise = _locked(actor, milestone.exercise, "exercise.conference.visit",
                           planner=False)
        purpose = (purpose or "").strip() or (_("%(milestone)s of exercise %(exercise)s")
                                              % {"milestone": milestone.heading,
                                                 "exercise": exercise.name})
        try:
            visit = industry.request_visit(
                actor, host=host, site=site, kind=VisitKind.ONE_TIME,
                first_day=milestone.due_on, last_day=last_day or milestone.due_on,
                purpose=purpose, level=level, label=label)
        except industry.IndustryError as exc:
            raise ExerciseError(str(exc)) from None
        _protects(actor, visit, exercise, "exercise.conference.visit")
        ConferenceVisit.objects.create(milestone=milestone, visit=visit)
        audit.record("exercise.conference.visit", actor=actor, obj=exercise, allowed=True,
                     detail={"milestone": milestone.pk, "visit": str(visit.pk)})
    return visit


# --------------------------------------------------------------------------- exchanges


def request_exchange(actor: Any, *, kind: str, host: Organisation, site: str,
                     first_day: dt.date, last_day: dt.date, purpose: str,
                     level: Classification | str, label: LabelSpec,
                     exercise: Exercise | None = None) -> StaffExchange:
    """The actor asks to spend a posting at ``host`` as an exchange of staff or academics. It is
    a request for visit of kind "exchange" (industry): the actor's own security authority
    assures their clearance, the host nation's approves, with the same checks as a visit."""
    if kind not in ExchangeKind.values:
        raise ExerciseError(_("Unknown kind of exchange '%(kind)s'; one of %(kinds)s.")
                            % {"kind": kind, "kinds": ", ".join(ExchangeKind.values)})
    with audit.atomic():
        if exercise is not None:
            try:
                exercise = _locked(actor, exercise, "exchange.request", planner=False)
            except NotFound:
                raise ExerciseError(_("No exercise you may view has this code.")) from None
        try:
            visit = industry.request_visit(
                actor, host=host, site=site, kind=VisitKind.EXCHANGE, first_day=first_day,
                last_day=last_day, purpose=purpose, level=level, label=label, as_exchange=True)
        except industry.IndustryError as exc:
            raise ExerciseError(str(exc)) from None
        if exercise is not None:
            _protects(actor, visit, exercise, "exchange.request")
        exchange = StaffExchange.objects.create(visit=visit, kind=kind, home=actor.organisation,
                                                exercise=exercise)
        audit.record("exchange.request", actor=actor, obj=visit, allowed=True, detail={
            "kind": kind, "home": actor.organisation.code, "host": host.code,
            "exercise": exercise.code if exercise else None})
    return exchange

