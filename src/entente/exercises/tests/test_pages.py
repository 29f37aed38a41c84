"""The exercises pages end to end, signed in with password and TOTP: an exercise proposed through
the form, approved by the partner nation's planner, planned, executed and completed through the
page; input the services refuse is shown with what was typed and writes nothing; a SECRET
exercise is invisible to an uncleared planner on every page (a 404 like any unknown id) and
visible to a cleared one; exchanges and conference visits are requests for visit; the calendar
month and its unclassified-only iCalendar file."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from entente.exercises import selectors, services
from entente.exercises.models import (
    ConferenceVisit,
    Exercise,
    ExerciseKind,
    ExerciseState,
    Location,
    ParticipatingUnit,
    PlanningMilestone,
    StaffExchange,
    StateChange,
)
from entente.exercises.services import UnitSpec
from entente.industry.models import VisitKind, VisitRequest
from entente.security.models import AuditEvent
from entente.testing import verified_client

from .conftest import OPEN, SECRET

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return timezone.localdate()


def days(n: int) -> dt.date:
    return today() + dt.timedelta(days=n)


def url(name: str, *args: object) -> str:
    return reverse(f"exercises:{name}", args=args)


def html_of(response) -> str:
    return response.content.decode()


def proposal(**fields):
    """The proposal form as a browser posts it: two of three location rows and two of three unit
    rows filled in, one blank row each."""
    data = {
        "code": "pacific-shield", "name_en": "Pacific Shield", "name_ja": "太平洋の盾",
        "kind": ExerciseKind.HADR, "lead_nation": "GBR",
        "starts_on": today().isoformat(), "ends_on": today().isoformat(),
        "objectives_en": "Practise disaster relief together.", "objectives_ja": "",
        "classification": "OFFICIAL", "releasable_to": ["GBR", "JPN"],
        "locations-TOTAL_FORMS": "3", "locations-INITIAL_FORMS": "0",
        "locations-0-name": "Salisbury Plain", "locations-0-nation": "GBR",
        "locations-1-name": "Camp Fuji", "locations-1-nation": "JPN",
        "locations-2-name": "", "locations-2-nation": "",
        "units-TOTAL_FORMS": "3", "units-INITIAL_FORMS": "0",
        "units-0-nation": "GBR", "units-0-unit": "16 Air Assault Brigade",
        "units-0-personnel": "400", "units-0-equipment": "4 Chinook",
        "units-1-nation": "JPN", "units-1-unit": "1st Airborne Brigade",
        "units-1-personnel": "300", "units-1-equipment": "2 CH-47J",
        "units-2-nation": "", "units-2-unit": "", "units-2-personnel": "",
        "units-2-equipment": "",
    }
    data.update(fields)
    return data


def propose(world, code: str, *, label=OPEN, starts_in: int = 5, length: int = 3) -> Exercise:
    """An exercise proposed by the British planner today (the pages' clock)."""
    starts = days(starts_in)
    return services.propose_exercise(
        world.uk, code=code, label=label, kind=ExerciseKind.NEO, lead_nation="GBR",
        starts_on=starts, ends_on=starts + dt.timedelta(days=length - 1),
        name_en=f"Exercise {code}", objectives_en="Evacuate civilians.",
        locations=[("Akrotiri", "GBR")],
        units=[UnitSpec("GBR", "Royal Marines", 120, "LCU Mk10")], on=today())


def test_an_exercise_through_the_pages_from_proposal_to_completion(world):
    uk, jp = verified_client(world.uk), verified_client(world.jp)
    page = uk.get(url("exercise_new"))
    assert page.status_code == 200
    assert 'name="units-TOTAL_FORMS"' in html_of(page) and "JPN" in html_of(page)

    response = uk.post(url("exercise_new"), proposal())
    assert response.status_code == 302, html_of(response)
    exercise = Exercise.objects.get()
    assert response["Location"] == url("exercise", "pacific-shield")
    assert (exercise.state, exercise.label.canonical, exercise.proposed_by) == (
        ExerciseState.PROPOSED, "GBR/OFFICIAL|rel=GBR,JPN|cav=|com=", world.uk)
    assert sorted(Location.objects.values_list("name", "nation_id")) == [
        ("Camp Fuji", "JPN"), ("Salisbury Plain", "GBR")]
    assert sorted(ParticipatingUnit.objects.values_list("nation_id", "unit", "personnel")) == [
        ("GBR", "16 Air Assault Brigade", 400), ("JPN", "1st Airborne Brigade", 300)]

    detail = html_of(uk.get(response["Location"]))
    assert detail.count('<div class="label-banner"') == 2            # top and bottom
    for text in ("Pacific Shield", "太平洋の盾", "Disaster relief", "Salisbury Plain",
                 "4 Chinook", "2 CH-47J", "Practise disaster relief together.",
                 "In all: 700 personnel", "awaits the approval"):
        assert text in detail, text
    assert "Approve the exercise" not in detail

    # The proposing nation cannot approve its own proposal, even by posting.
    refused = uk.post(url("approve", "pacific-shield"), {"note": ""})
    assert refused.status_code == 400
    assert "a planner of the partner nation approves it" in html_of(refused)
    assert Exercise.objects.get().state == ExerciseState.PROPOSED

    assert "Approve the exercise" in html_of(jp.get(url("exercise", "pacific-shield")))
    approved = jp.post(url("approve", "pacific-shield"), {"note": "Agreed at the staff talks"})
    assert approved.status_code == 302
    assert approved["Location"] == url("exercise", "pacific-shield") + "#state"
    assert Exercise.objects.get().state == ExerciseState.APPROVED

    assert uk.post(url("plan", "pacific-shield"), {"note": ""}).status_code == 302
    assert Exercise.objects.get().state == ExerciseState.PLANNING

    added = uk.post(url("milestone_add", "pacific-shield"), {
        "kind": "final", "title": "", "due_on": today().isoformat(), "place": "Camp Fuji",
        "owner": "jp-plan"})
    assert added.status_code == 302
    milestone = PlanningMilestone.objects.get()
    assert (milestone.kind, milestone.owner, milestone.done_on) == ("final", world.jp, None)
    assert uk.post(url("milestone_done", "pacific-shield", milestone.pk)).status_code == 302
    assert PlanningMilestone.objects.get().done_on == today()

    assert uk.post(url("execute", "pacific-shield"), {"note": "H-hour"}).status_code == 302
    assert Exercise.objects.get().state == ExerciseState.EXECUTING
    page = html_of(uk.get(url("exercise", "pacific-shield")))
    assert "Complete the exercise" in page and "Lessons-learned report" in page

    no_report = uk.post(url("complete", "pacific-shield"), {"lessons_learned": "  "})
    assert no_report.status_code == 400
    assert "completed with its lessons-learned report" in html_of(no_report)
    assert Exercise.objects.get().state == ExerciseState.EXECUTING

    done = uk.post(url("complete", "pacific-shield"),
                   {"lessons_learned": "Radio nets must be agreed before deployment."})
    assert done.status_code == 302
    exercise = Exercise.objects.get()
    assert exercise.state == ExerciseState.COMPLETED
    assert exercise.lessons_learned == "Radio nets must be agreed before deployment."
    assert list(StateChange.objects.values_list("state", "by__username", "note")) == [
        ("proposed", "uk-plan", ""), ("approved", "jp-plan", "Agreed at the staff talks"),
        ("planning", "uk-plan", ""), ("executing", "uk-plan", "H-hour"),
        ("completed", "uk-plan", "")]

    final = html_of(uk.get(url("exercise", "pacific-shield")))
    assert "Radio nets must be agreed before deployment." in final
    assert 'id="form-cancel"' not in final and "Add a location" not in final
    assert "Mark done" not in final


def test_steps_follow_the_dates_and_the_state(world):
    exercise = propose(world, "late-start", starts_in=10)
    services.advance(world.jp, exercise, ExerciseState.APPROVED)
    services.advance(world.uk, exercise, ExerciseState.PLANNING)
    uk = verified_client(world.uk)
    page = html_of(uk.get(url("exercise", "late-start")))
    assert "Start execution" not in page and "Execution can start on the first day" in page
    early = uk.post(url("execute", "late-start"), {"note": ""})
    assert early.status_code == 400 and "cannot be executing before" in html_of(early)
    assert Exercise.objects.get().state == ExerciseState.PLANNING

    cancelled = uk.post(url("cancel", "late-start"), {"reason": "Typhoon season"})
    assert cancelled.status_code == 302
    assert Exercise.objects.get().state == ExerciseState.CANCELLED
    assert StateChange.objects.filter(state="cancelled", note="Typhoon season").exists()
    again = uk.post(url("plan", "late-start"), {"note": ""})
    assert again.status_code == 400 and "can no longer change" in html_of(again)


def test_bad_input_keeps_what_was_typed_and_writes_nothing(world):
    uk = verified_client(world.uk)
    backwards = uk.post(url("exercise_new"), proposal(
        name_en="Typed name", ends_on=days(-1).isoformat()))
    assert backwards.status_code == 400
    html = html_of(backwards)
    assert "An exercise cannot end before it starts." in html
    for typed in ("Typed name", "Salisbury Plain", "16 Air Assault Brigade", "4 Chinook",
                  'value="400"', "Practise disaster relief together."):
        assert typed in html, typed

    not_a_number = uk.post(url("exercise_new"), proposal(**{"units-1-personnel": "lots"}))
    assert not_a_number.status_code == 400
    assert 'value="lots"' in html_of(not_a_number)

    half_row = uk.post(url("exercise_new"), proposal(**{"units-2-unit": "Signals troop"}))
    assert half_row.status_code == 400
    assert "Needed on a row that is filled in." in html_of(half_row)
    assert "Signals troop" in html_of(half_row)

    reserved = uk.post(url("exercise_new"), proposal(code="calendar"))
    assert reserved.status_code == 400 and "lower-case letters" in html_of(reserved)
    own_only = uk.post(url("exercise_new"), proposal(releasable_to=["GBR"]))
    assert own_only.status_code == 400
    assert "releasable to the partner nation" in html_of(own_only)

    more = uk.post(url("exercise_new"), proposal(more_rows="1", name_en="Still here"))
    assert more.status_code == 200
    assert 'name="units-5-unit"' in html_of(more) and "Still here" in html_of(more)
    assert not Exercise.objects.exists() and not ParticipatingUnit.objects.exists()

    not_a_planner = verified_client(world.uk_so).post(url("exercise_new"),
                                                      proposal(code="by-an-officer"))
    assert not_a_planner.status_code == 400
    assert "Only exercise planners may do this." in html_of(not_a_planner)
    assert not Exercise.objects.exists()

    # On the exercise page: each form keeps its own input, next to the form.
    propose(world, "quiet-harbour", label=SECRET)
    unknown_owner = uk.post(url("milestone_add", "quiet-harbour"), {
        "kind": "other", "title": "Logistics recce", "due_on": days(2).isoformat(),
        "place": "Brize Norton", "owner": "nobody"})
    assert unknown_owner.status_code == 400
    html = html_of(unknown_owner)
    assert "The owner must be someone who may read the exercise." in html
    assert "Logistics recce" in html and "Brize Norton" in html
    assert 'id="form-milestone" open' in html
    uncleared_owner = uk.post(url("milestone_add", "quiet-harbour"), {
        "kind": "other", "title": "Logistics recce", "due_on": days(2).isoformat(),
        "place": "", "owner": "uk-plan2"})
    assert "The owner must be someone who may read the exercise." in html_of(uncleared_owner)
    no_reason = uk.post(url("cancel", "quiet-harbour"), {"reason": ""})
    assert no_reason.status_code == 400 and "Say why the exercise is cancelled." in html_of(
        no_reason)
    foreign_unit = uk.post(url("unit_set", "quiet-harbour"), {
        "nation": "JPN", "unit": "Ship", "personnel": "-4", "equipment": "DDH"})
    assert foreign_unit.status_code == 400 and 'value="-4"' in html_of(foreign_unit)
    assert not PlanningMilestone.objects.exists()
    assert Exercise.objects.get().state == ExerciseState.PROPOSED
    assert ParticipatingUnit.objects.count() == 1


def test_units_and_locations_are_added_and_updated_on_the_page(world):
    propose(world, "island-reach")
    uk = verified_client(world.uk)
    assert uk.post(url("location_add", "island-reach"),
                   {"name": "Okinawa", "nation": "JPN"}).status_code == 302
    assert uk.post(url("unit_set", "island-reach"), {
        "nation": "JPN", "unit": "15th Brigade", "personnel": "250",
        "equipment": "UH-60JA"}).status_code == 302
    assert uk.post(url("unit_set", "island-reach"), {
        "nation": "GBR", "unit": "Royal Marines", "personnel": "150",
        "equipment": "LCU Mk10"}).status_code == 302       # already listed: updated
    assert sorted(ParticipatingUnit.objects.values_list("nation_id", "unit", "personnel")) == [
        ("GBR", "Royal Marines", 150), ("JPN", "15th Brigade", 250)]
    page = html_of(uk.get(url("exercise", "island-reach")))
    assert "Okinawa" in page and "UH-60JA" in page and "In all: 400 personnel" in page
    assert 'id="units-GBR"' in page and 'id="units-JPN"' in page
    unit = ParticipatingUnit.objects.get(nation_id="JPN")
    assert uk.post(url("unit_remove", "island-reach", unit.pk)).status_code == 302
    assert not ParticipatingUnit.objects.filter(pk=unit.pk).exists()
    assert uk.post(url("unit_remove", "island-reach", 999999)).status_code == 404


def test_a_secret_exercise_is_invisible_to_the_uncleared_planner_on_every_page(world):
    open_one = propose(world, "open-door")
    secret = propose(world, "quiet-harbour", label=SECRET)
    for exercise in (open_one, secret):
        services.add_milestone(world.uk, exercise, kind="initial", due_on=days(-3),
                               owner=world.uk, place="Northwood")
    month = days(5).strftime("%Y-%m")
    start, end = days(5).replace(day=1), days(40)

    uncleared = verified_client(world.uk_uncleared)
    listing = html_of(uncleared.get(url("exercises")))
    assert "open-door" in listing and "quiet-harbour" not in listing
    assert '<p class="meta" id="total">1 exercise</p>' in listing
    assert "quiet-harbour" not in html_of(uncleared.get(url("exercises"), {"q": "quiet"}))

    forbidden = uncleared.get(url("exercise", "quiet-harbour"))
    by_id = uncleared.get(url("exercise", secret.pk))
    missing = uncleared.get(url("exercise", "no-such-exercise"))
    random_id = uncleared.get(url("exercise", uuid.uuid4()))
    assert {r.status_code for r in (forbidden, by_id, missing, random_id)} == {404}
    assert forbidden.content == missing.content == random_id.content == by_id.content
    assert b"quiet-harbour" not in forbidden.content
    for step in ("approve", "plan", "cancel", "location_add", "unit_set", "milestone_add",
                 "conference_visit"):
        assert uncleared.post(url(step, "quiet-harbour"), {"reason": "x"}).status_code == 404
    milestone = PlanningMilestone.objects.get(exercise=secret)
    assert uncleared.post(url("milestone_done", "quiet-harbour", milestone.pk)).status_code \
        == 404
    assert uncleared.post(url("milestone_done", "open-door", milestone.pk)).status_code == 404
    assert PlanningMilestone.objects.get(pk=milestone.pk).done_on is None

    overdue = html_of(uncleared.get(url("overdue")))
    assert "open-door" in overdue and "quiet-harbour" not in overdue
    calendar = html_of(uncleared.get(url("calendar"), {"month": month}))
    assert "Exercise open-door" in calendar and "quiet-harbour" not in calendar
    feed = uncleared.get(url("calendar_ics"), {"start": start.isoformat(),
                                               "end": end.isoformat()})
    uids = {str(c["uid"]) for c in Calendar.from_ical(feed.content).walk("VEVENT")}
    assert f"exercise-{open_one.pk}@entente" in uids
    assert not {f"exercise-{secret.pk}@entente", f"milestone-{milestone.pk}@entente"} & uids
    assert AuditEvent.objects.filter(actor=world.uk_uncleared, allowed=False,
                                     object_id=str(secret.pk)).exists()

    cleared = verified_client(world.uk)
    listing = html_of(cleared.get(url("exercises")))
    assert "open-door" in listing and "quiet-harbour" in listing
    assert '<p class="meta" id="total">2 exercises</p>' in listing
    detail = cleared.get(url("exercise", "quiet-harbour"))
    assert detail.status_code == 200
    assert html_of(detail).count('<div class="label-banner"') == 2
    assert "SECRET" in html_of(detail)
    overdue = html_of(cleared.get(url("overdue")))
    assert "open-door" in overdue and "quiet-harbour" in overdue
    calendar = html_of(cleared.get(url("calendar"), {"month": month}))
    assert "Exercise quiet-harbour" in calendar and "event-exercise classified" in calendar
    # The cleared planner's file is unclassified too: the SECRET exercise stays on the page.
    feed = cleared.get(url("calendar_ics"), {"start": start.isoformat(),
                                             "end": end.isoformat()})
    uids = {str(c["uid"]) for c in Calendar.from_ical(feed.content).walk("VEVENT")}
    assert f"exercise-{open_one.pk}@entente" in uids
    assert f"exercise-{secret.pk}@entente" not in uids


def test_overdue_milestones_are_flagged(world):
    exercise = propose(world, "slow-burn")
    late = services.add_milestone(world.uk, exercise, kind="main", due_on=days(-2),
                                  owner=world.jp)
    services.add_milestone(world.uk, exercise, kind="final", due_on=days(3), owner=world.uk)
    uk = verified_client(world.uk)
    page = html_of(uk.get(url("exercise", "slow-burn")))
    assert page.count("<strong class=\"flag\">overdue</strong>") == 1
    assert f'<tr class="milestone overdue" id="milestone-{late.pk}">' in page
    overdue = html_of(uk.get(url("overdue")))
    assert "Main planning conference" in overdue and "Final planning conference" not in overdue
    assert '<strong class="flag">2</strong>' in overdue
    calendar = html_of(uk.get(url("calendar"), {"month": days(-2).strftime("%Y-%m")}))
    assert "event-milestone overdue" in calendar


def test_the_calendar_month_and_its_ics_file(world):
    exercise = propose(world, "month-view", starts_in=1, length=2)
    uk = verified_client(world.uk)
    first = days(1).replace(day=1)
    page = uk.get(url("calendar"), {"month": first.strftime("%Y-%m")})
    html = html_of(page)
    assert page.status_code == 200 and "<script" not in html and "style=" not in html
    assert f'id="day-{days(1).isoformat()}"' in html
    assert f'href="{url("exercise", "month-view")}"' in html
    assert "only unclassified events" in html
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    ics = f'{url("calendar_ics")}?start={first.isoformat()}&amp;end={last.isoformat()}'
    assert ics in html
    following = (first + dt.timedelta(days=32)).replace(day=1).strftime("%Y-%m")
    assert f'href="?month={following}"' in html
    assert uk.get(url("calendar"), {"month": "not-a-month"}).status_code == 200

    response = uk.get(url("calendar_ics"), {"start": first.isoformat(),
                                            "end": last.isoformat()})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert (f'filename="entente-calendar-{first.isoformat()}-{last.isoformat()}.ics"'
            in response["Content-Disposition"])
    feed = Calendar.from_ical(response.content)
    [event] = [c for c in feed.walk("VEVENT")]
    assert str(event["uid"]) == f"exercise-{exercise.pk}@entente"
    assert str(event["summary"]) == "Exercise month-view"
    assert event.decoded("dtstart") == days(1)

    assert uk.get(url("calendar_ics"), {"start": "soon"}).status_code == 400
    too_long = uk.get(url("calendar_ics"), {"start": first.isoformat(),
                                            "end": (first + dt.timedelta(days=500)).isoformat()})
    assert too_long.status_code == 400


def test_an_exchange_is_requested_on_the_form_and_approved_as_a_visit(world):
    exercise = propose(world, "bridge-builder")
    uk = verified_client(world.uk)
    form = uk.get(url("exchange_new"), {"exercise": "bridge-builder"})
    assert form.status_code == 200 and 'value="bridge-builder"' in html_of(form)
    data = {"kind": "staff", "host": "jgsdf", "site": "Camp Asaka",
            "first_day": days(20).isoformat(), "last_day": days(400).isoformat(),
            "purpose": "Liaison officer for the exercise", "level": "JPN/HI",
            "classification": "OFFICIAL-SENSITIVE", "releasable_to": ["GBR", "JPN"],
            "exercise": "bridge-builder"}
    unknown = uk.post(url("exchange_new"), {**data, "exercise": "no-such"})
    assert unknown.status_code == 400
    assert "No exercise you may view has this code." in html_of(unknown)
    assert "Liaison officer for the exercise" in html_of(unknown)
    assert not StaffExchange.objects.exists() and not VisitRequest.objects.exists()

    response = uk.post(url("exchange_new"), data)
    assert response.status_code == 302, html_of(response)
    exchange = StaffExchange.objects.get()
    assert response["Location"] == reverse("industry:visit", args=[exchange.visit_id])
    assert (exchange.kind, exchange.exercise, exchange.visit.kind) == (
        "staff", exercise, VisitKind.EXCHANGE)

    listing = html_of(uk.get(url("exchanges")))
    assert reverse("industry:visit", args=[exchange.visit_id]) in listing
    assert url("exercise", "bridge-builder") in listing
    page = html_of(uk.get(url("exercise", "bridge-builder")))
    assert reverse("industry:visit", args=[exchange.visit_id]) in page
    calendar = html_of(uk.get(url("calendar"), {"month": days(20).strftime("%Y-%m")}))
    assert f'href="{reverse("industry:visit", args=[exchange.visit_id])}"' in calendar


def test_a_conference_visit_is_requested_from_the_exercise_page(world):
    exercise = propose(world, "main-event", starts_in=30)
    milestone = services.add_milestone(world.uk, exercise, kind="main", due_on=days(10),
                                       owner=world.uk, place="Camp Zama")
    uk = verified_client(world.uk)
    page = html_of(uk.get(url("exercise", "main-event")))
    assert "Request a visit to attend a conference" in page
    data = {"milestone": str(milestone.pk), "host": "jgsdf", "site": "Camp Zama",
            "last_day": "", "level": "JPN/HI", "purpose": "",
            "classification": "OFFICIAL", "releasable_to": ["GBR", "JPN"]}
    wrong = uk.post(url("conference_visit", "main-event"), {**data, "releasable_to": ["GBR"]})
    assert wrong.status_code == 400
    assert "releasable to the host nation (JPN)" in html_of(wrong)
    assert 'id="form-visit" open' in html_of(wrong)
    assert not ConferenceVisit.objects.exists()
    assert uk.post(url("conference_visit", "main-event"), data).status_code == 302
    link = ConferenceVisit.objects.get()
    assert (link.milestone, link.visit.first_day, link.visit.kind) == (
        milestone, days(10), VisitKind.ONE_TIME)
    page = html_of(uk.get(url("exercise", "main-event")))
    assert f'href="{reverse("industry:visit", args=[link.visit_id])}"' in page


def test_the_list_filters_pages_and_counts(world, monkeypatch):
    for code in ("alpha-one", "bravo-two", "charlie-three"):
        propose(world, code)
    services.advance(world.jp, Exercise.objects.get(code="bravo-two"), ExerciseState.APPROVED)
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    uk = verified_client(world.uk)
    first = html_of(uk.get(url("exercises")))
    assert '<p class="meta" id="total">3 exercises</p>' in first
    assert "alpha-one" in first and "bravo-two" in first and "charlie-three" not in first
    assert "Page 1 of 2" in first and 'href="?page=2"' in first
    second = html_of(uk.get(url("exercises"), {"page": "2"}))
    assert "charlie-three" in second and "alpha-one" not in second
    approved = html_of(uk.get(url("exercises"), {"state": "approved"}))
    assert "bravo-two" in approved and "alpha-one" not in approved
    assert '<p class="meta" id="total">1 exercise</p>' in approved
    by_text = html_of(uk.get(url("exercises"), {"q": "charlie", "kind": "neo",
                                                "lead_nation": "GBR"}))
    assert "charlie-three" in by_text and "alpha-one" not in by_text
    assert "charlie-three" not in html_of(uk.get(url("exercises"), {"kind": "hadr"}))
    assert "charlie-three" not in html_of(uk.get(url("exercises"), {"lead_nation": "JPN"}))
    # Every row carries its label's marking.
    assert first.count('<div class="marking-small">') == 2


def test_the_pages_speak_japanese(world):
    propose(world, "nihongo")
    jp = verified_client(world.jp)
    jp.post(reverse("set_language"), {"language": "ja", "next": "/"})
    for address in (url("exercises"), url("exercise", "nihongo"), url("overdue"),
                    url("calendar"), url("exchanges"), url("exchange_new"),
                    url("exercise_new")):
        response = jp.get(address)
        assert response.status_code == 200, address
        assert '<html lang="ja">' in html_of(response), address
