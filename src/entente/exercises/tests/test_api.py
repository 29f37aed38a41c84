"""The exercises API end to end, with the real users of conftest's `world`: an exercise proposed,
planned and approved through the API, another walked to completion; a SECRET exercise that the
uncleared planner cannot tell from one that does not exist, on every endpoint (list, count,
detail, changes, overdue milestones, calendar and its iCalendar export); staff exchanges as
requests for visit; refusals that answer 422 with a sentence and write nothing.

The conftest's exercises run from 2026-05-01 (proposed on its fixed clock, 2026-03-02), so the
API, which works on today's date, can execute and complete them; exercises proposed here start
after today."""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from typing import Any

import pytest
from django.utils import timezone
from icalendar import Calendar
from ninja import Schema

from entente.api import api
from entente.exercises import api as exercises_api
from entente.exercises import services
from entente.exercises.models import (
    ConferenceVisit,
    Exercise,
    ExerciseState,
    Location,
    MilestoneKind,
    ParticipatingUnit,
    PlanningMilestone,
    StaffExchange,
    StateChange,
)
from entente.exercises.selectors import MAX_CALENDAR_DAYS
from entente.industry.models import VisitKind, VisitRequest
from entente.security.models import AuditEvent
from entente.testing import verified_client

from .conftest import DAY, SECRET, exercise

pytestmark = pytest.mark.django_db

BASE = "/api/v1/exercises"
LABEL = "GBR/OFFICIAL|rel=GBR,JPN"



def today() -> dt.date:
    return timezone.localdate()


def days(n: int) -> str:
    return (today() + dt.timedelta(days=n)).isoformat()


def _send(client, method: str, path: str, data: Any = None):
    body = json.dumps(data) if data is not None else ""
    return getattr(client, method)(path, body, content_type="application/json")


def ok(client, method: str, path: str, data: Any = None, status: int = 200) -> Any:
    response = _send(client, method, path, data)
    assert response.status_code == status, (path, response.status_code, response.content)
    return response.json() if response.content else None


def problem(client, method: str, path: str, data: Any = None) -> str:
    response = _send(client, method, path, data)
    assert response.status_code == 422, (path, response.status_code, response.content)
    return response.json()["detail"]


def proposal(**changes: Any) -> dict[str, Any]:
    return {"code": "pacific-shield", "label": LABEL, "kind": "hadr", "lead_nation": "GBR",
            "starts_on": days(30), "ends_on": days(39), "name_en": "Pacific Shield",
            "name_ja": "パシフィック・シールド", "objectives_en": "Relief after an earthquake.",
            "locations": [{"name": "Camp Fuji", "nation": "JPN"}, {"name": "HQ afloat"}],
            "units": [{"nation": "GBR", "unit": "3 Commando Brigade", "personnel": 250,
                       "equipment": "2 landing craft"},
                      {"nation": "JPN", "unit": "Amphibious Rapid Deployment Brigade",
                       "personnel": 300}], **changes}


def _counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (
        Exercise, Location, ParticipatingUnit, PlanningMilestone, StateChange, ConferenceVisit,
        StaffExchange, VisitRequest))


def _uids(response) -> set[str]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/calendar")
    return {str(event["uid"]) for event in Calendar.from_ical(response.content).walk("VEVENT")}


# --------------------------------------------------------------------------- the lifecycle


def test_an_exercise_is_proposed_planned_and_approved_over_the_api(world):
    uk, jp = verified_client(world.uk), verified_client(world.jp)
    made = ok(uk, "post", BASE, proposal(), 201)
    path = f"{BASE}/pacific-shield"
    assert (made["code"], made["state"], made["label"], made["owner"], made["proposed_by"]) == (
        "pacific-shield", "proposed", "GBR/OFFICIAL|rel=GBR,JPN|cav=|com=", "british-army",
        "uk-plan")
    assert made["next_state"] == "approved" and made["is_open"]
    assert [(x["name"], x["nation"]) for x in made["locations"]] == [
        ("Camp Fuji", "JPN"), ("HQ afloat", None)]
    assert made["personnel"] == {"GBR": 250, "JPN": 300}
    assert [h["state"] for h in made["history"]] == ["proposed"]
    assert ok(jp, "get", f"{BASE}/{made['id']}") == ok(jp, "get", path)  # by id or by code

    # Planning: a location, a unit added and another's numbers changed, a conference.
    location = ok(uk, "post", f"{path}/locations", {"name": "Yokosuka", "nation": "jpn"}, 201)
    assert (location["name"], location["nation"]) == ("Yokosuka", "JPN")
    ok(uk, "post", f"{path}/units", {"nation": "GBR", "unit": "RFA Argus", "personnel": 80})
    changed = ok(jp, "post", f"{path}/units", {
        "nation": "JPN", "unit": "Amphibious Rapid Deployment Brigade", "personnel": 320,
        "equipment": "AAV7"})
    assert (changed["personnel"], changed["equipment"]) == (320, "AAV7")
    conference = ok(uk, "post", f"{path}/milestones", {
        "kind": "main", "due_on": days(10), "owner": "jp-plan", "place": "Ichigaya"}, 201)
    assert (conference["heading"], conference["owner"], conference["overdue"]) == (
        "Main planning conference", "jp-plan", False)
    visit = ok(uk, "post", f"{path}/milestones/{conference['id']}/visits", {
        "host": "jgsdf", "site": "Ichigaya", "level": "HI", "label": LABEL}, 201)
    assert visit["milestone"] == conference["id"]
    assert (visit["visit"]["kind"], visit["visit"]["first_day"], visit["visit"]["state"]) == (
        VisitKind.ONE_TIME, days(10), "submitted")
    assert "Main planning conference" in visit["visit"]["purpose"]

    # Approval is the partner nation's; then one state at a time.
    advance = f"{path}/advance"
    assert problem(uk, "post", advance, {"to_state": "approved"}) == (
        "The exercise was proposed by GBR: a planner of the partner nation approves it.")
    assert problem(jp, "post", advance, {"to_state": "planning"}) == (
        "Exercise pacific-shield is proposed; it can only become approved next.")
    approved = ok(jp, "post", advance, {"to_state": "approved", "note": "Agreed in Tokyo."})
    assert approved["state"] == "approved" and approved["history"][-1] == {
        **approved["history"][-1], "state": "approved", "by": "jp-plan",
        "note": "Agreed in Tokyo.", "on": today().isoformat()}
    assert ok(uk, "post", advance, {"to_state": "planning"})["state"] == "planning"
    assert problem(uk, "post", advance, {"to_state": "executing"}) == (
        f"The exercise starts on {days(30)}; it cannot be executing before.")
    done = ok(jp, "post", f"{path}/milestones/{conference['id']}/done")
    assert done["done_on"] == today().isoformat()
    assert problem(jp, "post", f"{path}/milestones/{conference['id']}/done") == (
        f"This milestone was done on {today().isoformat()}.")

    detail = ok(jp, "get", path)
    assert detail["state"] == "planning" and detail["next_state"] == "executing"
    assert detail["personnel"] == {"GBR": 330, "JPN": 320}
    assert [(u["nation"], u["unit"]) for u in detail["units"]] == [
        ("GBR", "3 Commando Brigade"), ("GBR", "RFA Argus"),
        ("JPN", "Amphibious Rapid Deployment Brigade")]
    assert [x["name"] for x in detail["locations"]] == ["Camp Fuji", "HQ afloat", "Yokosuka"]
    assert [h["state"] for h in detail["history"]] == ["proposed", "approved", "planning"]
    assert [(m["id"], m["done_on"]) for m in detail["milestones"]] == [
        (conference["id"], today().isoformat())]
    # The visit is the visitor's and the security authorities': the partner planner, who is
    # none of them, does not see it; the British planner does.
    assert detail["conference_visits"] == []
    assert [c["visit"]["id"] for c in ok(uk, "get", path)["conference_visits"]] == [
        visit["visit"]["id"]]

    # Listing, with every filter.
    def codes(query: str) -> tuple[int, list[str]]:
        page = ok(jp, "get", f"{BASE}?{query}")
        return page["count"], [e["code"] for e in page["items"]]

    assert codes("state=planning&kind=hadr&lead_nation=gbr&q=Shield") == (1, ["pacific-shield"])
    assert codes(f"from={days(39)}&until={days(60)}") == (1, ["pacific-shield"])
    assert codes(f"from={days(40)}") == (0, [])
    assert codes("state=approved") == codes("kind=neo") == codes("q=nothing") == (0, [])
    assert AuditEvent.objects.filter(action="exercise.approved", actor="jp-plan",
                                     allowed=True).exists()


def test_an_exercise_executes_and_completes_with_its_lessons(world):
    walked = exercise(world)  # 2026-05-01 to 2026-05-10: today is after it
    uk, jp = verified_client(world.uk), verified_client(world.jp)
    path = f"{BASE}/{walked.code}"
    ok(jp, "post", f"{path}/advance", {"to_state": "approved"})
    for state in ("planning", "executing"):
        assert ok(uk, "post", f"{path}/advance", {"to_state": state})["state"] == state
    assert problem(uk, "post", f"{path}/advance", {"to_state": "completed"}) == (
        "An exercise is completed with its lessons-learned report.")
    completed = ok(uk, "post", f"{path}/advance", {
        "to_state": "completed", "lessons_learned": "Bring more water."})
    assert (completed["state"], completed["lessons_learned"], completed["is_open"],
            completed["next_state"]) == ("completed", "Bring more water.", False, None)
    assert problem(uk, "post", f"{path}/cancel", {"reason": "Too late"}) == (
        f"Exercise {walked.code} is completed: it can no longer change.")
    assert Exercise.objects.get(pk=walked.pk).state == ExerciseState.COMPLETED

    other = exercise(world, "second-wave")
    assert problem(uk, "post", f"{BASE}/second-wave/cancel", {"reason": " "}) == (
        "Say why the exercise is cancelled.")
    cancelled = ok(uk, "post", f"{BASE}/{other.pk}/cancel", {"reason": "Typhoon season"})
    assert cancelled["state"] == "cancelled"
    assert cancelled["history"][-1]["note"] == "Typhoon season"


def test_overdue_milestones(world):
    late = exercise(world)
    services.add_milestone(world.uk, late, kind=MilestoneKind.INITIAL, due_on=DAY,
                           owner=world.jp)
    kept = services.add_milestone(world.uk, late, kind=MilestoneKind.FINAL,
                                  due_on=DAY + dt.timedelta(days=30), owner=world.uk)
    services.complete_milestone(world.uk, kept, on=DAY)
    rows = ok(verified_client(world.jp), "get", f"{BASE}/overdue")
    assert [(r["exercise"], r["kind"], r["owner"], r["overdue"]) for r in rows] == [
        (late.code, "initial", "jp-plan", True)]
    assert [m["overdue"] for m in ok(verified_client(world.jp), "get",
                                     f"{BASE}/{late.code}")["milestones"]] == [True, False]
    services.cancel_exercise(world.uk, late, "Called off")  # a closed exercise is overdue no more
    assert ok(verified_client(world.jp), "get", f"{BASE}/overdue") == []


# --------------------------------------------------------------------------- need to know


def _exercise_requests(key: str, milestone: int) -> list[tuple[str, str, Any]]:
    """Every operation on one exercise, with a body a cleared planner would get done."""
    path = f"{BASE}/{key}"
    return [
        ("get", path, None),
        ("post", f"{path}/advance", {"to_state": "approved"}),
        ("post", f"{path}/cancel", {"reason": "Probe"}),
        ("post", f"{path}/locations", {"name": "Probe"}),
        ("post", f"{path}/units", {"nation": "GBR", "unit": "Probe", "personnel": 1}),
        ("post", f"{path}/milestones", {"kind": "main", "due_on": "2026-05-01",
                                        "owner": "uk-plan"}),
        ("post", f"{path}/milestones/{milestone}/done", None),
        ("post", f"{path}/milestones/{milestone}/visits",
         {"host": "jgsdf", "site": "Probe", "level": "HI", "label": LABEL}),
    ]


def test_a_secret_exercise_is_invisible_to_the_uncleared_planner(world):
    visible = exercise(world)
    secret = exercise(world, "quiet-harbour", label=SECRET)
    for shown in (visible, secret):
        services.add_milestone(world.uk, shown, kind=MilestoneKind.INITIAL, due_on=DAY,
                               owner=world.uk)
    hidden_milestone = PlanningMilestone.objects.get(exercise=secret)
    before = _counts()
    probes = AuditEvent.objects.filter(actor="uk-plan2", allowed=False).count()
    uncleared, cleared = verified_client(world.uk_uncleared), verified_client(world.uk)

    # Every operation on the exercise answers as for one that does not exist.
    for key, missing_key in ((secret.code, "no-such-exercise"),
                             (str(secret.pk), str(uuid.uuid4()))):
        for (method, path, data), (_, missing_path, _) in zip(
                _exercise_requests(key, hidden_milestone.pk),
                _exercise_requests(missing_key, hidden_milestone.pk), strict=True):
            forbidden = _send(uncleared, method, path, data)
            missing = _send(uncleared, method, missing_path, data)
            assert forbidden.status_code == missing.status_code == 404, (method, path)
            assert forbidden.content == missing.content == b'{"detail": "Not found."}', path
    assert _counts() == before
    assert Exercise.objects.get(pk=secret.pk).state == ExerciseState.PROPOSED
    assert AuditEvent.objects.filter(actor="uk-plan2", allowed=False).count() - probes >= 16

    # Lists, counts, overdue milestones and the calendar hold nothing of it.
    listing = ok(uncleared, "get", BASE)
    assert (listing["count"], [e["code"] for e in listing["items"]]) == (1, [visible.code])
    assert ok(uncleared, "get", f"{BASE}?q=quiet") == {"count": 0, "items": []}
    assert ok(uncleared, "get", f"{BASE}?state=proposed")["count"] == 1
    assert [r["exercise"] for r in ok(uncleared, "get", f"{BASE}/overdue")] == [visible.code]
    span = f"start={DAY.isoformat()}&end={(DAY + dt.timedelta(days=120)).isoformat()}"
    events = ok(uncleared, "get", f"{BASE}/calendar?{span}")
    visible_uids = {f"exercise-{visible.pk}",
                    f"milestone-{PlanningMilestone.objects.get(exercise=visible).pk}"}
    assert {e["uid"] for e in events} == visible_uids
    assert "quiet" not in json.dumps(events)
    assert _uids(uncleared.get(f"{BASE}/calendar.ics?{span}")) == {
        f"{uid}@entente" for uid in visible_uids}

    # The cleared planner sees it everywhere, but never in the iCalendar export (classified).
    assert ok(cleared, "get", BASE)["count"] == 2
    assert ok(cleared, "get", f"{BASE}/quiet-harbour")["banner"].startswith("GBR SECRET")
    assert {r["exercise"] for r in ok(cleared, "get", f"{BASE}/overdue")} == {
        visible.code, secret.code}
    events = {e["uid"]: e for e in ok(cleared, "get", f"{BASE}/calendar?{span}")}
    assert set(events) == visible_uids | {f"exercise-{secret.pk}",
                                          f"milestone-{hidden_milestone.pk}"}
    assert events[f"exercise-{secret.pk}"]["classified"] is True
    assert events[f"milestone-{hidden_milestone.pk}"]["overdue"] is True
    assert _uids(cleared.get(f"{BASE}/calendar.ics?{span}")) == {
        f"{uid}@entente" for uid in visible_uids}
    assert AuditEvent.objects.filter(action="exercises.calendar.export", actor="uk-plan").exists()


def test_a_milestone_owner_who_cannot_read_it_and_no_such_user_are_refused_alike(world):
    secret = exercise(world, "quiet-harbour", label=SECRET)
    cleared = verified_client(world.uk)
    path = f"{BASE}/{secret.code}/milestones"
    answers = [_send(cleared, "post", path, {"kind": "main", "due_on": "2026-05-01",
                                             "owner": owner})
               for owner in ("uk-plan2", "nobody-at-all")]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].content == answers[1].content == (
        b'{"detail": "The owner must be someone who may read the exercise."}')
    assert not PlanningMilestone.objects.exists()
    made = ok(cleared, "post", path, {"kind": "main", "due_on": "2026-05-01", "owner": "jp-plan"},
              201)
    assert made["owner"] == "jp-plan"


def test_milestone_ids_that_name_nothing_are_not_found(world):
    first, second = exercise(world), exercise(world, "second-wave")
    milestone = services.add_milestone(world.uk, first, kind=MilestoneKind.MAIN, due_on=DAY,
                                       owner=world.uk)
    uk = verified_client(world.uk)
    for key in (str(milestone.pk + 1000), "x", "-1", "0", "99999999999999999999999", "1e3"):
        response = _send(uk, "post", f"{BASE}/{first.code}/milestones/{key}/done")
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}, key
    # A milestone of another exercise is not one of this one.
    assert _send(uk, "post", f"{BASE}/{second.code}/milestones/{milestone.pk}/done"
                 ).status_code == 404
    assert PlanningMilestone.objects.get().done_on is None


# --------------------------------------------------------------------------- exchanges


def test_a_staff_exchange_is_a_request_for_visit(world):
    shown, secret = exercise(world), exercise(world, "quiet-harbour", label=SECRET)
    uk = verified_client(world.uk)
    body = {"kind": "staff", "host": "jgsdf", "site": "Camp Asaka", "first_day": days(10),
            "last_day": days(190), "purpose": "Liaison officer", "level": "HI", "label": LABEL}
    made = ok(uk, "post", f"{BASE}/exchanges", {**body, "exercise": shown.code}, 201)
    assert (made["kind"], made["exchange_kind"], made["home"], made["exercise"], made["state"],
            made["level"], made["visitor"]) == (
        "exchange", "staff", "british-army", shown.code, "submitted", "JPN/HI", "uk-plan")
    on_secret = ok(uk, "post", f"{BASE}/exchanges", {
        **body, "kind": "academic", "label": "GBR/SECRET|rel=GBR,JPN",
        "exercise": str(secret.pk)}, 201)
    assert (on_secret["exercise"], on_secret["banner"]) == (
        secret.code, "GBR SECRET REL GBR/JPN")

    # Everyone who takes part and may view an exchange sees it, with its exercise.
    page = ok(uk, "get", f"{BASE}/exchanges")
    assert page["count"] == 2 and {x["id"]: x["exercise"] for x in page["items"]} == {
        made["id"]: shown.code, on_secret["id"]: secret.code}
    colleague = ok(verified_client(world.uk_uncleared), "get", f"{BASE}/exchanges")
    assert (colleague["count"], [x["id"] for x in colleague["items"]]) == (1, [made["id"]])
    assert [x["id"] for x in ok(verified_client(world.jp_so), "get",
                                f"{BASE}/exchanges?kind=academic")["items"]] == [on_secret["id"]]
    assert ok(uk, "get", f"{BASE}/exchanges?from={days(200)}") == {"count": 0, "items": []}
    assert ok(uk, "get", f"{BASE}/exchanges?state=approved") == {"count": 0, "items": []}
    assert [x["id"] for x in ok(uk, "get", f"{BASE}/{shown.code}")["exchanges"]] == [
        made["id"]]
    span = f"start={days(0)}&end={days(30)}"
    assert {e["uid"] for e in ok(uk, "get", f"{BASE}/calendar?{span}")} == {
        f"exchange-{made['id']}", f"exchange-{on_secret['id']}"}
    assert _uids(uk.get(f"{BASE}/calendar.ics?{span}")) == {f"exchange-{made['id']}@entente"}

    # An exercise one may not view is refused exactly as one that does not exist.
    before = _counts()
    colleague_client = verified_client(world.uk_uncleared)
    assert problem(colleague_client, "post", f"{BASE}/exchanges",
                   {**body, "exercise": secret.code}) == problem(
        colleague_client, "post", f"{BASE}/exchanges", {**body, "exercise": "no-such"}) == (
        "No exercise you may view has this code.")
    assert problem(uk, "post", f"{BASE}/exchanges", {**body, "host": "no-such-org"}) == (
        "Unknown organisation 'no-such-org'.")
    assert "releasable to the host nation (JPN)" in problem(
        uk, "post", f"{BASE}/exchanges", {**body, "label": "GBR/OFFICIAL|rel=GBR"})
    assert _counts() == before


# --------------------------------------------------------------------------- refusals


def test_bad_input_answers_422_with_a_sentence_and_writes_nothing(world):
    uk = verified_client(world.uk)
    existing = exercise(world)
    before = _counts()
    refused = {
        "label": ("GBR/NO-SUCH|rel=GBR,JPN", None),
        "code": ("Not A Code", "An exercise code is 2 to 63 lower-case letters"),
        "ends_on": (days(20), "An exercise cannot end before it starts."),
        "lead_nation": ("USA", "Unknown lead nation USA."),
    }
    for field, (value, expected) in refused.items():
        detail = problem(uk, "post", BASE, proposal(**{field: value}))
        assert detail and (expected is None or detail.startswith(expected)), (field, detail)
    for changes, expected in (
            ({"starts_on": days(-1)}, "A new exercise cannot start in the past."),
            ({"label": "GBR/OFFICIAL|rel=GBR"}, "A joint exercise must be releasable to the "
                                                "partner nation as well as to your own."),
            ({"label": "JPN/HI|rel=GBR,JPN"}, "New exercises are labelled by your own nation "
                                              "(GBR)."),
            ({"code": existing.code}, f"An exercise with the code {existing.code} already "
                                      "exists."),
            ({"code": "calendar"}, "An exercise code is 2 to 63"),
            ({"name_en": "", "name_ja": ""}, "An exercise needs a name in English or Japanese."),
            ({"locations": [{"name": "Atlantis", "nation": "ATL"}]}, "Unknown country ATL."),
            ({"units": [{"nation": "GBR", "unit": "A", "personnel": 1},
                        {"nation": "GBR", "unit": "A", "personnel": 2}]},
             "A of GBR is listed twice.")):
        assert problem(uk, "post", BASE, proposal(**changes)).startswith(expected), changes
    # Validation of the request itself: one readable sentence too.
    for changes in ({"kind": "war"}, {"starts_on": "2026-13-01"},
                    {"units": [{"nation": "GBR", "unit": "A", "personnel": -1}]}):
        assert problem(uk, "post", BASE, proposal(**changes))
    # Not a planner.
    assert problem(verified_client(world.uk_so), "post", BASE, proposal()) == (
        "Only exercise planners may do this.")
    path = f"{BASE}/{existing.code}"
    assert problem(uk, "post", f"{path}/advance", {"to_state": "completed"}) == (
        f"Exercise {existing.code} is proposed; it can only become approved next.")
    assert problem(uk, "post", f"{path}/advance", {"to_state": "sideways"})
    assert problem(uk, "post", f"{path}/milestones", {
        "kind": "other", "due_on": "2026-05-01", "owner": "uk-plan"}) == (
        "Give the milestone a title.")
    assert problem(uk, "post", f"{path}/milestones", {
        "kind": "main", "due_on": "2027-01-01", "owner": "uk-plan"}).startswith(
        "A milestone falls on or before the exercise's last day")
    assert problem(uk, "post", f"{path}/units", {
        "nation": "USA", "unit": "Marines", "personnel": 5}) == (
        "USA's units cannot take part: the exercise is not releasable to USA.")
    assert problem(uk, "post", f"{path}/locations", {"name": "Moon", "nation": "XXX"}) == (
        "Unknown country XXX.")
    assert problem(uk, "post", f"{path}/locations", {"name": "  "}) == "Name the location."
    # Paging, periods and the calendar's span.
    for query in ("offset=-1", "limit=0", "limit=201", f"from={days(5)}&until={days(1)}",
                  "from=yesterday"):
        assert problem(uk, "get", f"{BASE}?{query}"), query
    for endpoint in ("calendar", "calendar.ics"):
        assert problem(uk, "get", f"{BASE}/{endpoint}?start={days(0)}"
                                  f"&end={days(MAX_CALENDAR_DAYS + 1)}") == (
            f"A calendar covers at most {MAX_CALENDAR_DAYS} days at once.")
        assert problem(uk, "get", f"{BASE}/{endpoint}?start={days(5)}&end={days(0)}") == (
            "The period ends before it starts.")
        assert problem(uk, "get", f"{BASE}/{endpoint}?start=2026-02-30&end={days(1)}")
        assert problem(uk, "get", f"{BASE}/{endpoint}")
    assert _counts() == before
    assert Exercise.objects.get().state == ExerciseState.PROPOSED


def test_the_exercises_operations_are_in_the_contract():
    schema = api.get_openapi_schema()
    paths = {path: operations for path, operations in schema["paths"].items()
             if any("exercises" in o.get("tags", []) for o in operations.values())}
    assert set(paths) == {
        "/api/v1/exercises", "/api/v1/exercises/overdue", "/api/v1/exercises/calendar",
        "/api/v1/exercises/calendar.ics", "/api/v1/exercises/exchanges",
        "/api/v1/exercises/{exercise_id}", "/api/v1/exercises/{exercise_id}/advance",
        "/api/v1/exercises/{exercise_id}/cancel", "/api/v1/exercises/{exercise_id}/locations",
        "/api/v1/exercises/{exercise_id}/units", "/api/v1/exercises/{exercise_id}/milestones",
        "/api/v1/exercises/{exercise_id}/milestones/{milestone_id}/done",
        "/api/v1/exercises/{exercise_id}/milestones/{milestone_id}/visits"}
    ids = [o["operationId"] for operations in schema["paths"].values()
           for o in operations.values()]
    assert len(ids) == len(set(ids))
    listing = {p["name"] for p in paths["/api/v1/exercises"]["get"]["parameters"]}
    assert {"state", "kind", "lead_nation", "q", "from", "until", "offset", "limit"} <= listing


def test_the_exercises_schemas_are_described_by_their_own_fields():
    """The document keys its schemas by class name: a class of another app with the same name
    (cooperation's ``MilestoneOut``, say) would silently replace one description by the other.
    No schema of this API shares its name with another app's (but ``Problem``, the same
    everywhere), and each is described by its own fields."""
    mine = {name: cls for name, cls in vars(exercises_api).items()
            if isinstance(cls, type) and issubclass(cls, Schema)
            and cls.__module__ == exercises_api.__name__}
    for module_name, module in sorted(sys.modules.items()):
        if (module_name.startswith("entente.") and module_name.endswith((".api", ".schemas"))
                and module is not exercises_api):
            shared = {name for name, cls in vars(module).items()
                      if isinstance(cls, type) and issubclass(cls, Schema)
                      and cls.__module__ == module_name} & set(mine)
            assert shared <= {"Problem"}, (module_name, shared)
    components = api.get_openapi_schema()["components"]["schemas"]
    for name, cls in mine.items():
        fields = {f.alias or field for field, f in cls.model_fields.items()}
        assert set(components[name].get("properties", {})) == fields, name
