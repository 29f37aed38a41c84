"""Exercises, enforced: the states and who moves them, what a proposal must be, units, locations
and milestones, overdue milestones on a fixed clock, and every read and change hiding a SECRET
exercise from a planner without the clearance for it. Adversarial: each rule is tried from the
side that should be refused, and a refusal is checked to leave nothing behind."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from entente.core.models import Nation, Role
from entente.exercises import selectors, services
from entente.exercises.models import (
    Exercise,
    ExerciseState,
    Location,
    MilestoneKind,
    ParticipatingUnit,
    PlanningMilestone,
    StateChange,
)
from entente.exercises.services import ExerciseError, UnitSpec
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent, Label
from entente.security.selectors import NotFound
from entente.testing import make_user, organisation

from .conftest import DAY, OPEN, SECRET, World, exercise

pytestmark = pytest.mark.django_db

S = ExerciseState



def day(n: int) -> dt.date:
    return DAY + dt.timedelta(days=n)


def fresh(obj: Exercise) -> Exercise:
    return Exercise.objects.get(pk=obj.pk)


def states(ex: Exercise) -> list[str]:
    return list(StateChange.objects.filter(exercise=ex).order_by("at", "id")
                .values_list("state", flat=True))


def refusals(action: str, ex: Exercise | None = None) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(action=action, allowed=False)
    if ex is not None:
        events = events.filter(object_id=str(ex.pk))
    return list(events)


def counts() -> dict[str, int]:
    """Everything a proposal or a planning change writes (the audit log aside)."""
    return {model.__name__: model.objects.count() for model in (
        Exercise, Location, ParticipatingUnit, PlanningMilestone, StateChange, Label)}


def to_planning(world: World, ex: Exercise) -> Exercise:
    services.advance(world.jp, ex, S.APPROVED, on=DAY)
    return services.advance(world.uk, ex, S.PLANNING, on=DAY)


def completed(world: World, ex: Exercise) -> Exercise:
    to_planning(world, ex)
    services.advance(world.uk, ex, S.EXECUTING, on=ex.starts_on)
    return services.advance(world.jp, ex, S.COMPLETED, on=ex.ends_on,
                            lessons_learned="Bring more water.")


def officer(username: str = "uk-officer", nation: str = "GBR", **kwargs: Any) -> Any:
    """A cleared member of the planners' organisation who is not an exercise planner."""
    org = organisation("british-army" if nation == "GBR" else "jgsdf", nation)
    return make_user(username, nation, org=org, clearance=kwargs.pop(
        "clearance", "SECRET" if nation == "GBR" else "GOKUHI"), **kwargs)


# --------------------------------------------------------------------------- states


def test_an_exercise_walks_every_state_in_order_and_keeps_its_history(world):
    ex = exercise(world)
    assert (ex.state, states(ex)) == (S.PROPOSED, [S.PROPOSED])
    services.advance(world.jp, ex, S.APPROVED, note=" agreed at the staff talks ", on=day(1))
    services.advance(world.uk, ex, S.PLANNING, on=day(2))
    services.advance(world.jp, ex, S.EXECUTING, on=ex.starts_on)
    done = services.advance(world.uk, ex, S.COMPLETED, on=ex.ends_on,
                            lessons_learned="  Bring more water.  ")
    assert fresh(ex).state == S.COMPLETED and done.lessons_learned == "Bring more water."
    history = list(selectors.history_of(world.uk, ex))
    assert [(h.state, h.on, h.by) for h in history] == [
        (S.PROPOSED, DAY, world.uk), (S.APPROVED, day(1), world.jp),
        (S.PLANNING, day(2), world.uk), (S.EXECUTING, ex.starts_on, world.jp),
        (S.COMPLETED, ex.ends_on, world.uk)]
    assert history[1].note == "agreed at the staff talks"
    for action in ("exercise.propose", "exercise.approved", "exercise.planning",
                   "exercise.executing", "exercise.completed"):
        assert AuditEvent.objects.filter(action=action, object_id=str(ex.pk),
                                         allowed=True).count() == 1, action


@pytest.mark.parametrize("who", ["uk", "uk_uncleared"])
def test_the_proposers_nation_cannot_approve_and_the_refusal_is_audited(world, who):
    ex = exercise(world)
    with pytest.raises(ExerciseError) as refused:
        services.advance(getattr(world, who), ex, S.APPROVED, on=DAY)
    assert str(refused.value) == ("The exercise was proposed by GBR: a planner of the partner "
                                  "nation approves it.")
    assert fresh(ex).state == S.PROPOSED and states(ex) == [S.PROPOSED]
    [event] = refusals("exercise.approved", ex)
    assert event.actor == getattr(world, who).username and event.reason == str(refused.value)


def test_a_japanese_proposal_is_approved_by_the_british_planner_only(world):
    ex = services.propose_exercise(
        world.jp, code="pacific-bond", label=LabelSpec("JPN", "GOKUHI", ("GBR", "JPN")),
        kind="neo", lead_nation="JPN", starts_on=day(30), ends_on=day(35), name_ja="太平洋の絆",
        on=DAY)
    with pytest.raises(ExerciseError, match="proposed by JPN"):
        services.advance(world.jp, ex, S.APPROVED, on=DAY)
    assert services.advance(world.uk, ex, S.APPROVED, on=DAY).state == S.APPROVED


WRONG_TARGETS: dict[str, list[str]] = {
    S.PROPOSED: [S.PROPOSED, S.PLANNING, S.EXECUTING, S.COMPLETED, S.CANCELLED, "bogus", ""],
    S.APPROVED: [S.PROPOSED, S.APPROVED, S.EXECUTING, S.COMPLETED],
    S.PLANNING: [S.APPROVED, S.PLANNING, S.COMPLETED],
    S.EXECUTING: [S.PLANNING, S.EXECUTING],
}


def test_a_state_cannot_be_skipped_repeated_or_reversed(world):
    ex = exercise(world)
    for reached, after in ((S.PROPOSED, S.APPROVED), (S.APPROVED, S.PLANNING),
                           (S.PLANNING, S.EXECUTING), (S.EXECUTING, None)):
        before = states(ex)
        for target in WRONG_TARGETS[reached]:
            with pytest.raises(ExerciseError, match="it can only become") as refused:
                services.advance(world.jp, ex, target, on=ex.ends_on, lessons_learned="Done.")
            assert fresh(ex).state == reached and states(ex) == before, target
            assert refusals(f"exercise.{target}", ex), target
        if after:
            services.advance(world.jp, ex, after, on=ex.starts_on)
    assert str(refused.value) == ("Exercise vigilant-isles is executing; it can only become "
                                  "completed next.")


def test_executing_not_before_the_first_day(world):
    ex = to_planning(world, exercise(world))
    with pytest.raises(ExerciseError, match="starts on 2026-05-01; it cannot be executing"):
        services.advance(world.uk, ex, S.EXECUTING, on=ex.starts_on - dt.timedelta(days=1))
    assert fresh(ex).state == S.PLANNING
    assert services.advance(world.uk, ex, S.EXECUTING, on=ex.starts_on).state == S.EXECUTING


def test_completed_not_before_the_last_day_and_only_with_lessons_learned(world):
    ex = to_planning(world, exercise(world))
    services.advance(world.uk, ex, S.EXECUTING, on=ex.starts_on)
    with pytest.raises(ExerciseError, match="ends on 2026-05-10; it cannot be completed"):
        services.advance(world.uk, ex, S.COMPLETED, on=ex.ends_on - dt.timedelta(days=1),
                         lessons_learned="Early.")
    for empty in ("", "   \n "):
        with pytest.raises(ExerciseError, match="with its lessons-learned report"):
            services.advance(world.uk, ex, S.COMPLETED, on=ex.ends_on, lessons_learned=empty)
    ex = fresh(ex)
    assert ex.state == S.EXECUTING and ex.lessons_learned == ""
    assert services.advance(world.uk, ex, S.COMPLETED, on=ex.ends_on + dt.timedelta(days=3),
                            lessons_learned="Late but done.").state == S.COMPLETED


@pytest.mark.parametrize("reached", [S.PROPOSED, S.APPROVED, S.PLANNING, S.EXECUTING])
def test_cancelled_with_a_reason_from_any_open_state(world, reached):
    ex = exercise(world)
    path = [S.APPROVED, S.PLANNING, S.EXECUTING]
    for state in path[:path.index(reached) + 1] if reached != S.PROPOSED else []:
        services.advance(world.jp, ex, state, on=ex.starts_on)
    for empty in ("", "  "):
        with pytest.raises(ExerciseError, match="Say why the exercise is cancelled"):
            services.cancel_exercise(world.uk, ex, empty, on=DAY)
    assert fresh(ex).state == reached
    services.cancel_exercise(world.uk, ex, "  Typhoon season.  ", on=day(5))
    assert fresh(ex).state == S.CANCELLED
    last = StateChange.objects.filter(exercise=ex).order_by("-at", "-id").first()
    assert (last.state, last.note, last.on, last.by) == (S.CANCELLED, "Typhoon season.", day(5),
                                                         world.uk)


def every_change(world: World, ex: Exercise) -> dict[str, Any]:
    """Each service that changes an exercise, ready to be tried on it (valid otherwise)."""
    unit = ParticipatingUnit.objects.filter(exercise=ex).order_by("id")[0]
    milestone = PlanningMilestone.objects.filter(exercise=ex).order_by("id")[0]
    return {
        "advance": lambda who: services.advance(who, ex, S.EXECUTING, on=ex.ends_on),
        "complete": lambda who: services.advance(who, ex, S.COMPLETED, on=ex.ends_on,
                                                 lessons_learned="More."),
        "cancel": lambda who: services.cancel_exercise(who, ex, "Changed plans.", on=DAY),
        "location": lambda who: services.add_location(who, ex, "Camp Fuji", "JPN"),
        "unit": lambda who: services.set_unit(who, ex, UnitSpec("GBR", "3 Commando", 50)),
        "unit-update": lambda who: services.set_unit(
            who, ex, UnitSpec("GBR", "16 Air Assault Brigade", 1)),
        "unit-remove": lambda who: services.remove_unit(who, unit),
        "milestone": lambda who: services.add_milestone(
            who, ex, kind=MilestoneKind.FINAL, due_on=ex.starts_on, owner=world.uk),
        "milestone-done": lambda who: services.complete_milestone(who, milestone, on=DAY),
    }


CHANGES = ["advance", "complete", "cancel", "location", "unit", "unit-update", "unit-remove",
           "milestone", "milestone-done"]


def snapshot(ex: Exercise) -> tuple[Any, ...]:
    ex = fresh(ex)
    return (ex.state, ex.lessons_learned, states(ex),
            list(Location.objects.filter(exercise=ex).values_list("name", "nation")),
            list(ParticipatingUnit.objects.filter(exercise=ex).values_list(
                "nation", "unit", "personnel", "equipment")),
            list(PlanningMilestone.objects.filter(exercise=ex).values_list("kind", "done_on")))


# Each refusal rolls back, so one exercise serves to try every change in turn.


@pytest.mark.parametrize("ending", ["completed", "cancelled"])
def test_nothing_changes_a_completed_or_cancelled_exercise(world, ending):
    ex = exercise(world)
    services.add_milestone(world.uk, ex, kind=MilestoneKind.MAIN, due_on=day(30), owner=world.jp)
    if ending == "completed":
        completed(world, ex)
    else:
        services.cancel_exercise(world.jp, ex, "No ships available.", on=DAY)
    before = snapshot(ex)
    changes = every_change(world, ex)
    for change in CHANGES:
        with pytest.raises(ExerciseError, match=f"is {ending}: it can no longer change"):
            changes[change](world.uk)
        assert snapshot(ex) == before, change
    assert AuditEvent.objects.filter(allowed=False, object_id=str(ex.pk),
                                     action__startswith="exercise.").count() == len(CHANGES)


def test_an_uncleared_planner_of_the_partner_side_is_not_told_who_proposed(world):
    secret = exercise(world, "quiet-harbour", label=SECRET)
    # Not "proposed by GBR", not "can only become": nothing that says the exercise exists.
    for target in (S.APPROVED, S.PLANNING):
        with pytest.raises(NotFound):
            services.advance(world.uk_uncleared, secret, target, on=DAY)
    assert fresh(secret).state == S.PROPOSED
    assert not refusals("exercise.approved") and not refusals("exercise.planning")


@pytest.mark.parametrize("reached", [S.PLANNING, S.EXECUTING])
def test_a_planner_without_the_clearance_gets_not_found_from_every_change(world, reached):
    secret = exercise(world, "quiet-harbour", label=SECRET)
    services.add_milestone(world.uk, secret, kind=MilestoneKind.MAIN, due_on=day(30),
                           owner=world.jp)
    services.advance(world.jp, secret, S.APPROVED, on=DAY)
    services.advance(world.jp, secret, S.PLANNING, on=DAY)
    if reached == S.EXECUTING:
        services.advance(world.jp, secret, S.EXECUTING, on=secret.starts_on)
    before = snapshot(secret)
    changes = every_change(world, secret)
    for change in CHANGES:
        with pytest.raises(NotFound):  # not ExerciseError: nothing says the exercise exists
            changes[change](world.uk_uncleared)
        assert snapshot(secret) == before, change


@pytest.mark.parametrize("reached", [S.PLANNING, S.EXECUTING])
def test_only_exercise_planners_change_an_exercise(world, reached):
    ex = exercise(world)
    services.add_milestone(world.uk, ex, kind=MilestoneKind.MAIN, due_on=day(30), owner=world.jp)
    to_planning(world, ex)
    if reached == S.EXECUTING:
        services.advance(world.jp, ex, S.EXECUTING, on=ex.starts_on)
    somebody = officer()
    before = snapshot(ex)
    changes = every_change(world, ex)
    for change in CHANGES:
        with pytest.raises(ExerciseError, match="Only exercise planners may do this"):
            changes[change](somebody)
        assert snapshot(ex) == before, change
    assert AuditEvent.objects.filter(allowed=False, actor=somebody.username,
                                     object_id=str(ex.pk)).count() == len(CHANGES)


def test_a_lapsed_or_inactive_planner_is_no_planner(world):
    ex = exercise(world)
    world.jp.role_grants.filter(role=Role.EXERCISE_PLANNER).update(valid_until=DAY)
    with pytest.raises(ExerciseError, match="Only exercise planners"):
        services.advance(world.jp, ex, S.APPROVED, on=DAY)
    world.uk.is_active = False
    world.uk.save()
    with pytest.raises((ExerciseError, NotFound)):
        services.cancel_exercise(world.uk, ex, "Gone.", on=DAY)
    assert fresh(ex).state == S.PROPOSED


# --------------------------------------------------------------------------- proposing


def propose(world: World, who: Any = None, **changes: Any) -> Exercise:
    arguments: dict[str, Any] = {
        "code": "steel-lotus", "label": OPEN, "kind": "hadr", "lead_nation": "GBR",
        "starts_on": day(10), "ends_on": day(14), "name_en": "Steel Lotus", "name_ja": "",
        "locations": [("Sennybridge", "GBR")],
        "units": [UnitSpec("GBR", "1 Rifles", 120), UnitSpec("JPN", "15th Brigade", 80)],
        "on": DAY}
    arguments.update(changes)
    return services.propose_exercise(who or world.uk, **arguments)


def test_a_proposal_is_written_whole(world):
    ex = propose(world, code="  Steel-LOTUS ", name_en="  Steel Lotus ",
                 objectives_ja=" 共同 ", locations=[("Sennybridge", "gbr"), ("  ", None),
                                                    ("Camp Fuji", None)])
    ex = fresh(ex)
    assert (ex.code, ex.name_en, ex.objectives_ja, ex.state) == (
        "steel-lotus", "Steel Lotus", "共同", S.PROPOSED)
    assert ex.label.canonical == "GBR/OFFICIAL|rel=GBR,JPN|cav=|com="
    assert (ex.owner, ex.proposed_by, ex.lead_nation_id) == (
        world.uk.organisation, world.uk, "GBR")
    assert list(selectors.locations_of(world.uk, ex).values_list("name", "nation")) == [
        ("Sennybridge", "GBR"), ("Camp Fuji", None)]
    assert selectors.personnel_by_nation(world.jp, ex) == {"GBR": 120, "JPN": 80}
    assert (str(ex), ex.name, ex.objectives, ex.is_open) == ("steel-lotus", "Steel Lotus", "共同",
                                                            True)
    assert [str(u) for u in selectors.units_of(world.uk, ex)] == ["GBR 1 Rifles",
                                                                  "JPN 15th Brigade"]
    assert [str(x) for x in selectors.locations_of(world.uk, ex)] == ["Sennybridge", "Camp Fuji"]
    assert [str(h) for h in selectors.history_of(world.uk, ex)] == [f"{ex.pk} → proposed"]


REFUSED_PROPOSALS: list[tuple[dict[str, Any], str | None]] = [
    ({"code": "a"}, "An exercise code is 2 to 63"),
    ({"code": "-steel"}, "An exercise code is 2 to 63"),
    ({"code": "steel_lotus"}, "An exercise code is 2 to 63"),
    ({"code": "steel lotus"}, "An exercise code is 2 to 63"),
    ({"code": "x" * 64}, "An exercise code is 2 to 63"),
    ({"code": ""}, "An exercise code is 2 to 63"),
    ({"code": "new"}, "An exercise code is 2 to 63"),
    ({"code": "Calendar"}, "An exercise code is 2 to 63"),
    ({"code": "overdue"}, "An exercise code is 2 to 63"),
    ({"code": "exchanges"}, "An exercise code is 2 to 63"),
    # A code that reads as an id would be looked up as an id and never found by its code.
    ({"code": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}, "An exercise code is 2 to 63"),
    ({"code": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}, "An exercise code is 2 to 63"),
    ({"name_en": "", "name_ja": "  "}, "needs a name in English or Japanese"),
    ({"name_en": "x" * 201}, "A name has at most 200 characters"),
    ({"name_ja": "訓" * 201}, "A name has at most 200 characters"),
    ({"kind": "invasion"}, "Unknown type of exercise 'invasion'; one of peacekeeping, hadr"),
    ({"kind": ""}, "Unknown type of exercise"),
    ({"lead_nation": "XYZ"}, "Unknown lead nation XYZ"),
    ({"lead_nation": "gbr"}, "Unknown lead nation gbr"),
    ({"ends_on": day(9)}, "cannot end before it starts"),
    ({"ends_on": day(10 + 366)}, "lasts at most 366 days"),
    ({"starts_on": day(-1)}, "cannot start in the past"),
    ({"label": LabelSpec("JPN", "TORIATSUKAI-CHUI", ("GBR", "JPN"))},
     "labelled by your own nation \\(GBR\\)"),
    ({"label": LabelSpec("GBR", "OFFICIAL", ("GBR",))}, "releasable to the partner nation"),
    ({"label": LabelSpec("GBR", "OFFICIAL", ())}, "releasable to the partner nation"),
    ({"units": [UnitSpec("FRA", "2e REP", 10)]}, "FRA's units cannot take part"),
    ({"units": [UnitSpec("", "Nobody's", 10)]}, "\\?'s units cannot take part"),
    ({"units": [UnitSpec("GBR", "  ", 10)]}, "Name each participating unit"),
    ({"units": [UnitSpec("GBR", "x" * 201, 10)]}, "Name each participating unit"),
    ({"units": [UnitSpec("GBR", "1 Rifles", "many")]}, "must be a whole number"),
    ({"units": [UnitSpec("GBR", "1 Rifles", "1.5")]}, "must be a whole number"),
    ({"units": [UnitSpec("GBR", "1 Rifles", -1)]}, "between 0 and 1,000,000"),
    ({"units": [UnitSpec("GBR", "1 Rifles", 1_000_001)]}, "between 0 and 1,000,000"),
    ({"units": [UnitSpec("GBR", "1 Rifles", 1), UnitSpec("gbr", " 1 Rifles", 2)]},
     "1 Rifles of GBR is listed twice"),
    ({"units": [UnitSpec("GBR", "1 Rifles", 1, "x" * 301)]}, "at most 300 characters"),
    ({"locations": [("x" * 201, None)]}, "A location has at most 200 characters"),
    ({"locations": [("Atlantis", "ATL")]}, "Unknown country ATL"),
    ({"label": SECRET, "code": "quiet-harbour"}, None),  # by world.uk_uncleared, below
]


def test_a_proposal_is_refused_with_a_reason_and_nothing_is_written(world):
    exercise(world, "existing")
    before = counts()
    for changes, message in REFUSED_PROPOSALS:
        who = world.uk_uncleared if message is None else world.uk
        with pytest.raises(ExerciseError, match=message or
                           "You could not read a record with this label: Denied: no valid "
                           "clearance dominates GBR/SECRET"):
            propose(world, who, **changes)
        assert counts() == before, changes


def test_a_duplicate_code_is_refused_in_any_case(world):
    exercise(world, "existing")
    before = counts()
    with pytest.raises(ExerciseError, match="with the code existing already exists"):
        propose(world, code=" EXISTING ")
    assert counts() == before


def test_lengths_and_days_at_the_limits_are_accepted(world):
    propose(world, code="ab", starts_on=DAY, ends_on=day(365), name_en="x" * 200,
            units=[UnitSpec("jpn", "u" * 200, "1000000", "e" * 300), UnitSpec("GBR", "z", 0)])
    propose(world, code="c" * 63)
    ex = Exercise.objects.get(code="ab")
    assert (ex.ends_on - ex.starts_on).days + 1 == 366
    assert selectors.personnel_by_nation(world.uk, ex) == {"GBR": 0, "JPN": 1_000_000}


def test_only_a_planner_with_a_nationality_and_an_organisation_proposes(world):
    before = counts()
    with pytest.raises(ExerciseError, match="Only exercise planners may do this"):
        propose(world, officer())
    assert refusals("exercise.propose")
    rootless = world.uk
    rootless.organisation = None
    with pytest.raises(ExerciseError, match="no nationality or organisation"):
        propose(world, rootless)
    assert counts() == before


def test_the_lead_nation_and_every_unit_must_be_within_the_label(world):
    """With a third nation on record (reference data allows one), a label releasable to GBR and
    JPN only keeps that nation out of the lead and out of the units."""
    Nation.objects.create(code="AUS", name_en="Australia")
    before = counts()
    with pytest.raises(ExerciseError, match="lead nation must be one the exercise is releasable"):
        propose(world, lead_nation="AUS")
    with pytest.raises(ExerciseError, match="AUS's units cannot take part: the exercise is not "
                                            "releasable to AUS"):
        propose(world, units=[UnitSpec("AUS", "2nd Commando Regiment", 40)])
    assert counts() == before
    assert propose(world, lead_nation="JPN").lead_nation_id == "JPN"


# --------------------------------------------------------------------------- units and places


def test_set_unit_adds_then_updates_and_personnel_is_summed_by_nation(world):
    ex = exercise(world)
    assert selectors.personnel_by_nation(world.uk, ex) == {"GBR": 400, "JPN": 300}
    added = services.set_unit(world.jp, ex, UnitSpec("jpn", " 12th Brigade ", "150", "UH-60JA"))
    assert (added.nation_id, added.unit, added.personnel) == ("JPN", "12th Brigade", 150)
    assert selectors.personnel_by_nation(world.uk, ex) == {"GBR": 400, "JPN": 450}
    updated = services.set_unit(world.uk, ex, UnitSpec("JPN", "12th Brigade", 90))
    assert updated.pk == added.pk and updated.equipment == ""
    assert ParticipatingUnit.objects.filter(exercise=ex).count() == 3
    assert selectors.personnel_by_nation(world.uk, ex) == {"GBR": 400, "JPN": 390}
    assert [e.details["created"] for e in AuditEvent.objects.filter(
        action="exercise.unit", object_id=str(ex.pk)).order_by("seq")] == [True, False]
    services.remove_unit(world.uk, updated)
    assert selectors.personnel_by_nation(world.uk, ex) == {"GBR": 400, "JPN": 300}
    with pytest.raises(ExerciseError, match="between 0 and 1,000,000"):
        services.set_unit(world.uk, ex, UnitSpec("GBR", "16 Air Assault Brigade", -5))
    with pytest.raises(ExerciseError, match="FRA's units cannot take part"):
        services.set_unit(world.uk, ex, UnitSpec("FRA", "2e REP", 10))
    assert selectors.personnel_by_nation(world.uk, ex) == {"GBR": 400, "JPN": 300}


def test_locations_are_named_and_in_a_known_country(world):
    ex = exercise(world)
    services.add_location(world.jp, ex, " Camp Fuji ", "jpn")
    services.add_location(world.jp, ex, "At sea")
    for name, nation, message in (("  ", None, "Name the location"),
                                  ("x" * 201, None, "at most 200 characters"),
                                  ("Atlantis", "ATL", "Unknown country ATL")):
        with pytest.raises(ExerciseError, match=message):
            services.add_location(world.jp, ex, name, nation)
    assert list(selectors.locations_of(world.uk, ex).values_list("name", "nation")) == [
        ("Salisbury Plain", "GBR"), ("Camp Fuji", "JPN"), ("At sea", None)]


# --------------------------------------------------------------------------- milestones


def test_a_milestone_owner_must_be_able_to_read_the_exercise_and_is_not_told_why(world):
    secret = exercise(world, "quiet-harbour", label=SECRET)
    kept = services.add_milestone(world.uk, secret, kind=MilestoneKind.INITIAL, due_on=day(5),
                                  owner=world.jp, place=" Ichigaya ")
    assert (kept.owner, kept.place, kept.heading) == (world.jp, "Ichigaya",
                                                      "Initial planning conference")
    messages = []
    for owner in (world.uk_uncleared, None):
        with pytest.raises(ExerciseError) as refused:
            services.add_milestone(world.uk, secret, kind=MilestoneKind.MAIN, due_on=day(6),
                                   owner=owner)
        messages.append(str(refused.value))
    # The same words whoever the owner is: the actor learns nothing of anyone's clearance.
    assert messages == ["The owner must be someone who may read the exercise."] * 2
    assert not any(word in messages[0].lower() for word in ("clearance", "secret", "denied"))
    assert len(refusals("exercise.milestone", secret)) == 2
    assert list(selectors.milestones_of(world.uk, secret)) == [kept]


def test_a_milestone_falls_on_or_before_the_last_day(world):
    ex = exercise(world)
    with pytest.raises(ExerciseError, match="on or before the exercise's last day \\(2026-05-10"):
        services.add_milestone(world.uk, ex, kind=MilestoneKind.FINAL,
                               due_on=ex.ends_on + dt.timedelta(days=1), owner=world.uk)
    on_last = services.add_milestone(world.uk, ex, kind=MilestoneKind.OTHER, title="Hot wash-up",
                                     due_on=ex.ends_on, owner=world.jp)
    assert on_last.heading == "Hot wash-up"
    for kind, title, message in (("banquet", "", "Unknown kind of milestone 'banquet'"),
                                 (MilestoneKind.OTHER, "  ", "Give the milestone a title"),
                                 (MilestoneKind.MAIN, "t" * 201, "at most 200 characters")):
        with pytest.raises(ExerciseError, match=message):
            services.add_milestone(world.uk, ex, kind=kind, title=title, due_on=day(1),
                                   owner=world.uk)
    assert PlanningMilestone.objects.filter(exercise=ex).count() == 1


def test_a_milestone_is_completed_once(world):
    ex = exercise(world)
    milestone = services.add_milestone(world.uk, ex, kind=MilestoneKind.MAIN, due_on=day(20),
                                       owner=world.jp)
    done = services.complete_milestone(world.jp, milestone, on=day(19))
    assert done.done_on == day(19)
    with pytest.raises(ExerciseError, match="This milestone was done on 2026-03-21"):
        services.complete_milestone(world.uk, milestone, on=day(21))
    assert PlanningMilestone.objects.get(pk=milestone.pk).done_on == day(19)


# --------------------------------------------------------------------------- overdue


def test_overdue_milestones_on_a_fixed_clock(world):
    ex = exercise(world)
    due = day(20)
    milestone = services.add_milestone(world.uk, ex, kind=MilestoneKind.MAIN, due_on=due,
                                       owner=world.jp)
    other = exercise(world, "second-one")
    services.add_milestone(world.uk, other, kind=MilestoneKind.INITIAL, due_on=due,
                           owner=world.uk)
    secret = exercise(world, "quiet-harbour", label=SECRET)
    hidden = services.add_milestone(world.uk, secret, kind=MilestoneKind.FINAL, due_on=due,
                                    owner=world.uk)

    def overdue(user: Any, on: dt.date) -> set[int]:
        return {m.pk for m in selectors.overdue_milestones(user, on=on)}

    assert overdue(world.uk, due) == set()
    late = due + dt.timedelta(days=1)
    assert milestone.pk in overdue(world.uk, late) and hidden.pk in overdue(world.uk, late)
    assert hidden.pk not in overdue(world.uk_uncleared, late)
    assert milestone.pk in overdue(world.uk_uncleared, late)
    services.complete_milestone(world.jp, milestone, on=late + dt.timedelta(days=3))
    assert milestone.pk not in overdue(world.uk, late + dt.timedelta(days=10))
    # An exercise that is over has nothing overdue any more.
    services.cancel_exercise(world.uk, other, "Budget.", on=late)
    completed(world, secret)
    assert overdue(world.uk, late + dt.timedelta(days=365)) == set()


# --------------------------------------------------------------------------- reads


def test_every_read_hides_a_secret_exercise_from_the_planner_without_the_clearance(world):
    open_one = exercise(world)
    secret = exercise(world, "quiet-harbour", label=SECRET)
    services.add_milestone(world.uk, secret, kind=MilestoneKind.MAIN, due_on=day(3),
                           owner=world.jp)
    services.add_milestone(world.uk, open_one, kind=MilestoneKind.MAIN, due_on=day(3),
                           owner=world.jp)
    cleared, uncleared = world.uk, world.uk_uncleared
    assert [e.code for e in selectors.list_exercises(cleared)] == ["quiet-harbour",
                                                                   "vigilant-isles"]
    assert [e.code for e in selectors.list_exercises(uncleared)] == ["vigilant-isles"]
    assert selectors.count_exercises(uncleared) == 1 and selectors.count_exercises(cleared) == 2
    assert selectors.count_exercises(uncleared, text="quiet") == 0
    assert selectors.count_exercises(cleared, text="quiet") == 1
    assert not selectors.visible_exercises(uncleared, state=S.PROPOSED, kind="hadr",
                                           lead_nation="GBR").filter(pk=secret.pk).exists()
    assert selectors.exercise_for(cleared, secret.code) == secret
    assert selectors.exercise_for(cleared, str(secret.pk)) == secret
    assert selectors.exercise_for(world.jp, secret.pk) == secret  # GOKUHI sees GBR SECRET
    for key in (secret.code, str(secret.pk), secret.pk, uuid.uuid4(), "no-such-exercise", ""):
        with pytest.raises(NotFound):
            selectors.exercise_for(uncleared, key)
    assert AuditEvent.objects.filter(actor=uncleared.username, allowed=False,
                                     object_id=str(secret.pk)).count() == 3
    for read in (selectors.locations_of, selectors.units_of, selectors.milestones_of,
                 selectors.history_of):
        assert list(read(uncleared, secret)) == [], read.__name__
        assert list(read(cleared, secret)), read.__name__
        assert list(read(uncleared, open_one)), read.__name__
    assert selectors.personnel_by_nation(uncleared, secret) == {}
    assert {m.exercise_id for m in selectors.overdue_milestones(uncleared, on=day(30))} == {
        open_one.pk}
    assert {m.exercise_id for m in selectors.overdue_milestones(cleared, on=day(30))} == {
        open_one.pk, secret.pk}
    milestone = PlanningMilestone.objects.get(exercise=secret)
    with pytest.raises(NotFound):
        selectors.milestone_for(uncleared, secret, milestone.pk)
    assert selectors.milestone_for(cleared, secret, milestone.pk) == milestone
    elsewhere = PlanningMilestone.objects.get(exercise=open_one)
    for key in ("x", -1, 10 ** 6, 10 ** 30, "", None, elsewhere.pk):
        with pytest.raises(NotFound):
            selectors.milestone_for(cleared, secret, key)


def test_an_exercise_found_by_code_is_found_whatever_its_code_looks_like(world):
    ex = exercise(world, "20260501")
    assert selectors.exercise_for(world.uk, "20260501") == ex
    assert selectors.exercise_for(world.uk, f" {ex.code} ") == ex


def test_the_listing_filters(world):
    exercise(world)
    late = exercise(world, "late-one", starts_in=200, kind="neo")
    cancelled = exercise(world, "cancelled-one", starts_in=100)
    services.cancel_exercise(world.uk, cancelled, "No.", on=DAY)
    codes = lambda **f: [e.code for e in selectors.list_exercises(world.uk, **f)]  # noqa: E731
    assert codes(kind="neo") == ["late-one"]
    assert codes(state=S.CANCELLED) == ["cancelled-one"]
    assert codes(during_from=late.starts_on) == ["late-one"]
    assert codes(during_until=day(69)) == ["vigilant-isles"]
    assert codes(during_from=day(69), during_until=day(69)) == ["vigilant-isles"]
    assert codes(during_from=day(70), during_until=day(99)) == []
    assert codes(text="共同訓練") == ["vigilant-isles", "cancelled-one", "late-one"]
    assert codes(limit=1, offset=1) == ["cancelled-one"]
    assert codes(lead_nation="JPN") == []



def test_an_exercise_is_proposed_at_most_ten_years_ahead(world):
    """A date typed as 9999-12-31 is refused with a sentence, not carried into the calendar
    (whose all-day events end the day after the last day)."""
    far = DAY + dt.timedelta(days=3654)
    with pytest.raises(ExerciseError, match="at most ten years ahead"):
        services.propose_exercise(world.uk, code="far-off", label=OPEN, kind="airlift",
                                  lead_nation="GBR", starts_on=far, ends_on=far,
                                  name_en="Far off", on=DAY)
    assert not Exercise.objects.filter(code="far-off").exists()


def test_a_milestone_id_is_plain_digits(world):
    drill = exercise(world)
    done = services.add_milestone(world.uk, drill, kind="main", due_on=DAY + dt.timedelta(days=9),
                                  owner=world.jp)
    assert selectors.milestone_for(world.uk, drill, str(done.pk)) == done
    for probe in (f" {done.pk}", f"{done.pk}_0", "٧", str(2**63), "0", "-1"):
        with pytest.raises(NotFound):
            selectors.milestone_for(world.uk, drill, probe)
