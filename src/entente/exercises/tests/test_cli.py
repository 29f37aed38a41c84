"""`entente exercises` as a named user: the same services and selectors as the web and the API,
the same refusals, `--json` as the API answers, and a SECRET exercise that the uncleared planner
cannot tell from a missing one, not even by the exit status."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from icalendar import Calendar

from entente.exercises import services
from entente.exercises.models import (
    Exercise,
    ExerciseState,
    Location,
    MilestoneKind,
    ParticipatingUnit,
    PlanningMilestone,
    StaffExchange,
    StateChange,
)
from entente.industry.models import VisitRequest
from entente.security.models import AuditEvent

from .conftest import DAY, SECRET, exercise

pytestmark = pytest.mark.django_db

LABEL = "GBR/OFFICIAL|rel=GBR,JPN"


def days(n: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


def run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("exercises", *args, stdout=out, stderr=err)
    assert err.getvalue() == ""
    return out.getvalue()


def run_json(*args: str):
    return json.loads(run(*args, "--json"))


def failing(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("exercises", *args, stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""
    return str(caught.value), caught.value.returncode


def _counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (
        Exercise, Location, ParticipatingUnit, PlanningMilestone, StateChange, StaffExchange,
        VisitRequest))


PROPOSE = ("propose", "--as", "uk-plan", "--code", "pacific-shield", "--kind", "hadr",
           "--lead-nation", "gbr", "--label", LABEL, "--name-en", "Pacific Shield",
           "--name-ja", "パシフィック・シールド", "--objectives-en", "Relief after an earthquake.",
           "--location", "Camp Fuji@JPN", "--location", "HQ afloat",
           "--unit", "GBR:3 Commando Brigade:250:Landing craft: 2",
           "--unit", "JPN:Amphibious Rapid Deployment Brigade:300")


def test_an_exercise_from_proposal_to_planning_on_the_command_line(world):
    made = run_json(*PROPOSE, "--starts", days(30), "--ends", days(39))
    assert (made["code"], made["state"], made["label"], made["lead_nation"]) == (
        "pacific-shield", "proposed", "GBR/OFFICIAL|rel=GBR,JPN|cav=|com=", "GBR")
    assert [(x["name"], x["nation"]) for x in made["locations"]] == [
        ("Camp Fuji", "JPN"), ("HQ afloat", None)]
    assert [(u["unit"], u["personnel"], u["equipment"]) for u in made["units"]] == [
        ("3 Commando Brigade", 250, "Landing craft: 2"),
        ("Amphibious Rapid Deployment Brigade", 300, "")]
    assert made["personnel"] == {"GBR": 250, "JPN": 300}
    assert made["starts_on"] == days(30)  # dates as the API's JSON has them

    assert failing("advance", "pacific-shield", "--to", "approved", "--as", "uk-plan") == (
        "The exercise was proposed by GBR: a planner of the partner nation approves it.", 2)
    assert "exercise pacific-shield: approved" in run(
        "advance", "pacific-shield", "--to", "approved", "--note", "Agreed", "--as", "jp-plan")
    assert run_json("advance", "pacific-shield", "--to", "planning", "--as", "uk-plan")[
        "state"] == "planning"
    message, code = failing("advance", "pacific-shield", "--to", "executing", "--as", "uk-plan")
    assert code == 2 and message == (
        f"The exercise starts on {days(30)}; it cannot be executing before.")

    milestone = run_json("milestone", "pacific-shield", "--kind", "main", "--due", days(10),
                         "--owner", "jp-plan", "--place", "Ichigaya", "--as", "uk-plan")
    assert (milestone["heading"], milestone["owner"], milestone["done_on"]) == (
        "Main planning conference", "jp-plan", None)
    text = run("milestone-done", "pacific-shield", str(milestone["id"]), "--as", "jp-plan")
    assert f"milestone {milestone['id']} of pacific-shield done on {days(0)}" in text
    assert failing("milestone-done", "pacific-shield", str(milestone["id"]),
                   "--as", "jp-plan") == (f"This milestone was done on {days(0)}.", 2)
    assert failing("milestone-done", "pacific-shield", "999999", "--as", "jp-plan") == (
        "Not found.", 1)

    shown = run("show", "pacific-shield", "--as", "jp-plan", "--language", "ja")
    assert "パシフィック・シールド  (pacific-shield" in shown and "GBR 250, JPN 300" in shown
    assert "Camp Fuji" in shown and "Ichigaya" in shown and "Agreed" in shown
    assert shown.startswith("GBR OFFICIAL")
    listing = run_json("exercises", "--as", "jp-plan", "--state", "planning", "--q", "shield",
                       "--from", days(39))
    assert listing["count"] == 1 and [e["code"] for e in listing["items"]] == ["pacific-shield"]
    assert "1 of 1 exercise(s) you may view." in run("exercises", "--as", "jp-plan")
    assert run_json("exercises", "--as", "jp-plan", "--until", days(29)) == {
        "count": 0, "items": []}

    cancelled = run_json("cancel", "pacific-shield", "--reason", "Typhoon", "--as", "uk-plan")
    assert (cancelled["state"], cancelled["history"][-1]["note"]) == ("cancelled", "Typhoon")
    assert AuditEvent.objects.filter(action="exercise.cancel", source="cli",
                                     allowed=True).exists()


def test_an_exercise_completes_with_the_lessons_file(world, tmp_path):
    walked = exercise(world)  # 2026-05-01 to 2026-05-10: today is after it
    run("advance", walked.code, "--to", "approved", "--as", "jp-plan")
    for state in ("planning", "executing"):
        run("advance", walked.code, "--to", state, "--as", "uk-plan")
    assert failing("advance", walked.code, "--to", "completed", "--as", "uk-plan") == (
        "An exercise is completed with its lessons-learned report.", 2)
    message, code = failing("advance", walked.code, "--to", "completed", "--lessons-file",
                            str(tmp_path / "missing.txt"), "--as", "uk-plan")
    assert code == 2 and message.startswith(f"Cannot read {tmp_path / 'missing.txt'}")
    lessons = tmp_path / "lessons.txt"
    lessons.write_text("水を多めに。\nBring more water.\n", encoding="utf-8")
    done = run_json("advance", walked.code, "--to", "completed", "--lessons-file", str(lessons),
                    "--as", "uk-plan")
    assert (done["state"], done["lessons_learned"]) == (
        "completed", "水を多めに。\nBring more water.")
    assert "Lessons learned:" in run("show", walked.code, "--as", "jp-plan")
    assert Exercise.objects.get().state == ExerciseState.COMPLETED


def test_a_secret_exercise_is_not_found_by_the_uncleared_planner(world, tmp_path):
    visible = exercise(world)
    secret = exercise(world, "quiet-harbour", label=SECRET)
    for shown in (visible, secret):
        services.add_milestone(world.uk, shown, kind=MilestoneKind.INITIAL, due_on=DAY,
                               owner=world.uk)
    hidden = PlanningMilestone.objects.get(exercise=secret)
    before = _counts()
    for key in ("quiet-harbour", str(secret.pk), "no-such-exercise",
                "00000000-0000-4000-8000-000000000000"):
        assert failing("show", key, "--as", "uk-plan2") == ("Not found.", 1), key
        assert failing("advance", key, "--to", "approved", "--as", "uk-plan2") == (
            "Not found.", 1)
        assert failing("cancel", key, "--reason", "x", "--as", "uk-plan2") == ("Not found.", 1)
        assert failing("milestone", key, "--kind", "main", "--due", "2026-05-01", "--owner",
                       "uk-plan", "--as", "uk-plan2") == ("Not found.", 1)
        assert failing("milestone-done", key, str(hidden.pk), "--as", "uk-plan2") == (
            "Not found.", 1)
    assert _counts() == before

    listing = run_json("exercises", "--as", "uk-plan2")
    assert (listing["count"], [e["code"] for e in listing["items"]]) == (1, [visible.code])
    assert "quiet-harbour" not in run("exercises", "--as", "uk-plan2")
    assert [r["exercise"] for r in run_json("overdue", "--as", "uk-plan2")] == [visible.code]
    start, end = DAY.isoformat(), (DAY + dt.timedelta(days=120)).isoformat()
    events = run_json("calendar", "--from", start, "--until", end, "--as", "uk-plan2")
    expected = {f"exercise-{visible.pk}",
                f"milestone-{PlanningMilestone.objects.get(exercise=visible).pk}"}
    assert {e["uid"] for e in events} == expected
    assert "quiet" not in run("calendar", "--from", start, "--until", end, "--as", "uk-plan2")
    # The cleared planner sees it, on the calendar too, but the export leaves it out.
    assert {e["uid"] for e in run_json("calendar", "--from", start, "--until", end,
                                       "--as", "uk-plan")} == expected | {
        f"exercise-{secret.pk}", f"milestone-{hidden.pk}"}
    feed = tmp_path / "exercises.ics"
    assert run("calendar", "--from", start, "--until", end, "--ics", str(feed),
               "--as", "uk-plan") == f"2 unclassified event(s) written to {feed}\n"
    uids = {str(e["uid"]) for e in Calendar.from_ical(feed.read_bytes()).walk("VEVENT")}
    assert uids == {f"{uid}@entente" for uid in expected}
    assert AuditEvent.objects.filter(action="exercises.calendar.export", actor="uk-plan",
                                     source="cli").exists()


def test_the_milestone_owner_is_refused_alike_whether_unknown_or_uncleared(world):
    exercise(world, "quiet-harbour", label=SECRET)
    answers = {failing("milestone", "quiet-harbour", "--kind", "main", "--due", "2026-05-01",
                       "--owner", owner, "--as", "uk-plan") for owner in ("uk-plan2", "nobody")}
    assert answers == {("The owner must be someone who may read the exercise.", 2)}
    assert not PlanningMilestone.objects.exists()


def test_exchanges_on_the_command_line(world):
    shown, secret = exercise(world), exercise(world, "quiet-harbour", label=SECRET)
    base = ("request-exchange", "--as", "uk-plan", "--host", "jgsdf", "--site", "Camp Asaka",
            "--from", days(10), "--until", days(190), "--purpose", "Liaison officer",
            "--level", "HI", "--label", LABEL)
    made = run_json(*base, "--kind", "staff", "--exercise", shown.code)
    assert (made["kind"], made["exchange_kind"], made["exercise"], made["state"]) == (
        "exchange", "staff", shown.code, "submitted")
    other = run_json(*base, "--kind", "academic", "--exercise", secret.code, "--label",
                     "GBR/SECRET|rel=GBR,JPN")
    assert {r["id"]: r["exercise"] for r in run_json("exchanges", "--as", "uk-plan")} == {
        made["id"]: shown.code, other["id"]: secret.code}
    assert [r["id"] for r in run_json("exchanges", "--as", "uk-plan2")] == [made["id"]]
    assert [r["id"] for r in run_json("exchanges", "--as", "jp-so", "--kind", "academic")] == [
        other["id"]]
    assert "Camp Asaka" in run("exchanges", "--as", "uk-plan")

    before = _counts()
    uncleared = tuple(a if a != "uk-plan" else "uk-plan2" for a in base)
    assert failing(*uncleared, "--kind", "staff", "--exercise", secret.code) == failing(
        *uncleared, "--kind", "staff", "--exercise", "no-such") == (
        "No exercise you may view has this code.", 2)
    assert failing(*base, "--kind", "staff", "--label", "GBR/NO-SUCH|rel=GBR,JPN")[1] == 2
    message, code = failing(*base, "--kind", "staff", "--label", "GBR/OFFICIAL|rel=GBR")
    assert code == 2 and "releasable to the host nation (JPN)" in message
    assert failing(*base, "--kind", "staff", "--host", "nowhere") == (
        "Unknown organisation 'nowhere'.", 2)
    assert _counts() == before


def test_refusals_exit_2_with_the_reason_and_write_nothing(world):
    before = _counts()
    for extra, expected in (
            (("--starts", "2026-13-01", "--ends", days(39)), "'2026-13-01' is not a date"),
            (("--starts", days(30), "--ends", days(20)), "An exercise cannot end before it "
                                                         "starts."),
            (("--starts", days(30), "--ends", days(39), "--unit", "GBR:Marines"),
             "--unit 'GBR:Marines' is not NATION:UNIT:PERSONNEL[:EQUIPMENT]."),
            (("--starts", days(30), "--ends", days(39), "--unit", "GBR:Marines:many"),
             "The personnel of Marines must be a whole number."),
            (("--starts", days(30), "--ends", days(39), "--location", "Atlantis@ATL"),
             "Unknown country ATL.")):
        message, code = failing(*PROPOSE, *extra)
        assert code == 2 and message.startswith(expected), (extra, message)
    message, code = failing(*[a if a != LABEL else "GBR/NO-SUCH|rel=GBR,JPN" for a in PROPOSE],
                            "--starts", days(30), "--ends", days(39))
    assert code == 2 and message
    assert failing(*[a if a != "uk-plan" else "uk-so" for a in PROPOSE], "--starts", days(30),
                   "--ends", days(39)) == ("Only exercise planners may do this.", 2)
    assert failing("calendar", "--from", days(0), "--until", days(500), "--as", "uk-plan") == (
        "A calendar covers at most 400 days at once.", 2)
    assert failing("calendar", "--from", days(5), "--until", days(0), "--ics", "/tmp/x.ics",
                   "--as", "uk-plan") == ("The period ends before it starts.", 2)
    assert failing("exercises", "--limit", "0", "--as", "uk-plan")[1] == 2
    assert failing("show", "x", "--as", "nobody") == ("No user 'nobody'.", 2)
    assert _counts() == before
