"""The calendar and its iCalendar export: the right events on the right days, nothing cancelled,
refused or withdrawn, a SECRET exercise only for those cleared for it, and an export that parses
with a standard iCalendar library, holds all-day events with stable UIDs, is audited, and never
holds a classified event, whoever asks (see ``selectors``' docstring)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from icalendar import Calendar

from entente.exercises import selectors, services
from entente.exercises.models import ExerciseState, MilestoneKind
from entente.exercises.selectors import CalendarEvent
from entente.industry import services as industry
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent, Membership
from entente.testing import authority, community, organisation

from .conftest import DAY, SECRET, World, exchange_person, exercise, staff_exchange

pytestmark = pytest.mark.django_db



def day(n: int) -> dt.date:
    return DAY + dt.timedelta(days=n)


def shown(events: list[CalendarEvent]) -> dict[str, tuple[str, dt.date, dt.date]]:
    return {e.uid: (e.what, e.first_day, e.last_day) for e in events}


def exported(user: Any, start: dt.date, end: dt.date, on: dt.date = DAY) -> Calendar:
    return Calendar.from_ical(selectors.ics(user, start, end, on=on))


def vevents(feed: Calendar) -> dict[str, Any]:
    return {str(event["uid"]): event for event in feed.walk("VEVENT")}


def planned(world: World) -> dict[str, Any]:
    """On the fixed clock: an open exercise (days 60–69) with two milestones, a SECRET one
    (days 80–84) with one, a cancelled one (days 90–91) with one, and one far off (day 300)."""
    open_one = exercise(world)
    main = services.add_milestone(world.uk, open_one, kind=MilestoneKind.MAIN, due_on=day(20),
                                  owner=world.jp)
    final = services.add_milestone(world.uk, open_one, kind=MilestoneKind.FINAL, due_on=day(50),
                                   owner=world.jp)
    secret = exercise(world, "quiet-harbour", label=SECRET, starts_in=80, days=5)
    hidden = services.add_milestone(world.uk, secret, kind=MilestoneKind.INITIAL,
                                    due_on=day(30), owner=world.uk)
    cancelled = exercise(world, "called-off", starts_in=90, days=2)
    dropped = services.add_milestone(world.uk, cancelled, kind=MilestoneKind.MAIN,
                                     due_on=day(40), owner=world.uk)
    services.cancel_exercise(world.jp, cancelled, "Ships unavailable.", on=DAY)
    far = exercise(world, "far-off", starts_in=300, days=1)
    return {"open": open_one, "main": main, "final": final, "secret": secret, "hidden": hidden,
            "cancelled": cancelled, "dropped": dropped, "far": far}


def test_the_calendar_holds_exercises_and_milestones_on_their_days(world):
    p = planned(world)
    events = selectors.calendar(world.uk, DAY, day(120), on=DAY)
    assert shown(events) == {
        f"exercise-{p['open'].pk}": ("exercise", day(60), day(69)),
        f"milestone-{p['main'].pk}": ("milestone", day(20), day(20)),
        f"milestone-{p['final'].pk}": ("milestone", day(50), day(50)),
        f"exercise-{p['secret'].pk}": ("exercise", day(80), day(84)),
        f"milestone-{p['hidden'].pk}": ("milestone", day(30), day(30)),
    }
    assert [e.first_day for e in events] == sorted(e.first_day for e in events)
    main = next(e for e in events if e.uid == f"milestone-{p['main'].pk}")
    assert main.title == "Main planning conference — Exercise vigilant-isles"
    assert main.link == "/exercises/vigilant-isles/" and not main.classified
    assert {e.uid: e.classified for e in events if e.classified} == {
        f"exercise-{p['secret'].pk}": True, f"milestone-{p['hidden'].pk}": True}


def test_the_period_is_inclusive_at_both_ends(world):
    p = planned(world)

    def uids(start: int, end: int) -> set[str]:
        return set(shown(selectors.calendar(world.uk, day(start), day(end), on=DAY)))

    assert f"exercise-{p['open'].pk}" in uids(69, 69)  # the last day
    assert f"exercise-{p['open'].pk}" in uids(0, 60)  # the first day
    assert f"exercise-{p['open'].pk}" not in uids(70, 79)
    assert f"exercise-{p['open'].pk}" not in uids(0, 59)
    assert uids(20, 20) == {f"milestone-{p['main'].pk}"}
    assert uids(21, 29) == set()
    assert uids(290, 310) == {f"exercise-{p['far'].pk}"}


def test_a_cancelled_exercise_and_its_milestones_are_off_the_calendar(world):
    p = planned(world)
    for user in (world.uk, world.jp, world.uk_uncleared):
        uids = set(shown(selectors.calendar(user, DAY, day(120), on=DAY)))
        assert f"exercise-{p['cancelled'].pk}" not in uids
        assert f"milestone-{p['dropped'].pk}" not in uids
    # A completed one stays: it happened.
    services.advance(world.jp, p["open"], ExerciseState.APPROVED, on=DAY)
    services.advance(world.uk, p["open"], ExerciseState.PLANNING, on=DAY)
    services.advance(world.uk, p["open"], ExerciseState.EXECUTING, on=day(60))
    services.advance(world.uk, p["open"], ExerciseState.COMPLETED, on=day(69),
                     lessons_learned="Fine.")
    assert f"exercise-{p['open'].pk}" in shown(selectors.calendar(world.uk, DAY, day(120)))


def test_a_secret_exercise_and_its_milestones_only_for_the_cleared_planner(world):
    p = planned(world)
    secret_uids = {f"exercise-{p['secret'].pk}", f"milestone-{p['hidden'].pk}"}
    assert secret_uids <= set(shown(selectors.calendar(world.uk, DAY, day(120), on=DAY)))
    assert secret_uids <= set(shown(selectors.calendar(world.jp, DAY, day(120), on=DAY)))
    seen = set(shown(selectors.calendar(world.uk_uncleared, DAY, day(120), on=DAY)))
    assert seen == {f"exercise-{p['open'].pk}", f"milestone-{p['main'].pk}",
                    f"milestone-{p['final'].pk}"}
    assert not {e.uid for e in selectors.calendar(world.uk_uncleared, day(80), day(84),
                                                  on=DAY)}


def test_a_milestone_is_flagged_overdue_on_the_calendar_from_the_day_after(world):
    p = planned(world)

    def flagged(on: dt.date) -> bool:
        events = selectors.calendar(world.uk, DAY, day(120), on=on)
        return next(e for e in events if e.uid == f"milestone-{p['main'].pk}").overdue

    assert not flagged(day(20)) and flagged(day(21))
    services.complete_milestone(world.jp, p["main"], on=day(22))
    assert not flagged(day(23))


def test_the_calendar_period_is_checked(world):
    with pytest.raises(ValueError, match="ends before it starts"):
        selectors.calendar(world.uk, day(2), day(1))
    with pytest.raises(ValueError, match="at most 400 days"):
        selectors.calendar(world.uk, DAY, day(401))
    assert selectors.calendar(world.uk, DAY, day(400)) == []
    with pytest.raises(ValueError):
        selectors.ics(world.uk, day(2), day(1))


# --------------------------------------------------------------------------- the .ics export


def test_the_export_parses_and_holds_all_day_events_with_stable_uids(world):
    p = planned(world)
    feed = exported(world.uk, DAY, day(120))
    assert str(feed["version"]) == "2.0" and "Entente" in str(feed["prodid"])
    events = vevents(feed)
    assert set(events) == {f"exercise-{p['open'].pk}@entente", f"milestone-{p['main'].pk}@entente",
                           f"milestone-{p['final'].pk}@entente"}
    exercise_event = events[f"exercise-{p['open'].pk}@entente"]
    # All-day: DATE values, not date-times; DTEND is exclusive, the day after the last day.
    assert exercise_event.decoded("dtstart") == day(60)
    assert exercise_event.decoded("dtend") == day(70)
    assert type(exercise_event.decoded("dtstart")) is dt.date
    assert type(exercise_event.decoded("dtend")) is dt.date
    assert str(exercise_event["summary"]) == "Exercise vigilant-isles"
    milestone_event = events[f"milestone-{p['main'].pk}@entente"]
    assert (milestone_event.decoded("dtstart"), milestone_event.decoded("dtend")) == (
        day(20), day(21))
    assert str(milestone_event["summary"]) == ("Main planning conference — Exercise "
                                               "vigilant-isles")
    for event in events.values():
        assert "dtstamp" in event and str(event["description"]).startswith("/exercises/")
    # The same events keep their UIDs on the next export, so a re-import updates them.
    assert set(vevents(exported(world.uk, DAY, day(120), on=day(5)))) == set(events)
    # Text is escaped, not read as iCalendar: a name cannot add a property or an event.
    tricky = services.propose_exercise(
        world.uk, code="tricky", label=LabelSpec("GBR", "OFFICIAL", ("GBR", "JPN")), kind="other",
        lead_nation="GBR", starts_on=day(100), ends_on=day(100), on=DAY,
        name_en='Isles, "Phase 2"; night\nEND:VEVENT\nBEGIN:VEVENT\nUID:forged')
    again = vevents(exported(world.uk, day(100), day(100)))
    assert list(again) == [f"exercise-{tricky.pk}@entente"]
    assert str(again[f"exercise-{tricky.pk}@entente"]["summary"]) == tricky.name_en


def test_the_export_never_holds_a_classified_event_even_for_the_cleared(world):
    p = planned(world)
    for user in (world.uk, world.jp, world.uk_so):
        assert any(e.classified for e in selectors.calendar(user, DAY, day(120), on=DAY))
        raw = selectors.ics(user, DAY, day(120), on=DAY)
        uids = set(vevents(Calendar.from_ical(raw)))
        assert uids == {f"exercise-{p['open'].pk}@entente", f"milestone-{p['main'].pk}@entente",
                        f"milestone-{p['final'].pk}@entente"}, user.username
        assert b"quiet-harbour" not in raw and b"Initial planning" not in raw


def test_a_japanese_exercise_is_exported_only_below_hi(world):
    """The rule is the marking's own ("needs a clearance"), in either nation's scheme."""
    handle_with_care = services.propose_exercise(
        world.jp, code="tsubasa", label=LabelSpec("JPN", "TORIATSUKAI-CHUI", ("GBR", "JPN")),
        kind="airlift", lead_nation="JPN", starts_on=day(10), ends_on=day(12),
        name_ja="翼", on=DAY)
    hi = services.propose_exercise(
        world.jp, code="kasumi", label=LabelSpec("JPN", "HI", ("GBR", "JPN")), kind="airlift",
        lead_nation="JPN", starts_on=day(10), ends_on=day(12), name_ja="霞", on=DAY)
    uids = set(vevents(exported(world.jp, DAY, day(30))))
    assert uids == {f"exercise-{handle_with_care.pk}@entente"}
    assert f"exercise-{hi.pk}" in shown(selectors.calendar(world.jp, DAY, day(30), on=DAY))


def test_the_export_is_audited_with_what_it_held(world):
    p = planned(world)
    selectors.ics(world.uk_uncleared, DAY, day(120), on=DAY)
    event = AuditEvent.objects.filter(action="exercises.calendar.export").get()
    assert (event.actor, event.allowed) == (world.uk_uncleared.username, True)
    assert event.details["start"] == DAY.isoformat() and event.details["end"] == day(120).isoformat()
    assert sorted(event.details["events"]) == sorted([
        f"exercise-{p['open'].pk}", f"milestone-{p['main'].pk}", f"milestone-{p['final'].pk}"])
    selectors.ics(world.uk, day(200), day(250), on=DAY)
    assert AuditEvent.objects.filter(action="exercises.calendar.export",
                                     actor=world.uk.username).get().details["events"] == []


# --------------------------------------------------------------------------- exchanges


def test_exchanges_on_the_calendar_but_not_refused_or_withdrawn_ones(world):
    """Requests for visit run on the real clock: so does this calendar."""
    today = timezone.localdate()

    def on(n: int) -> dt.date:
        return today + dt.timedelta(days=n)

    host = organisation("jgsdf", "JPN")
    visitor = exchange_person("uk-liaison")
    submitted = staff_exchange(visitor, host, first_in=10, days=100)
    approved = staff_exchange(visitor, host, first_in=20, days=50)
    industry.assure_visit(world.uk_so, approved.visit)
    industry.approve_visit(world.jp_so, approved.visit)
    refused = staff_exchange(visitor, host, first_in=30, days=10)
    industry.refuse_visit(world.jp_so, refused.visit, "No post free.")
    withdrawn = staff_exchange(visitor, host, first_in=40, days=10)
    industry.withdraw_visit(visitor, withdrawn.visit)
    secret = staff_exchange(visitor, host, first_in=50, days=10,
                            label=LabelSpec("GBR", "SECRET", ("GBR", "JPN")))
    later = staff_exchange(visitor, host, first_in=200, days=10)

    events = selectors.calendar(world.uk, today, on(120))
    exchanges = {e.uid: (e.first_day, e.last_day, e.classified) for e in events
                 if e.what == "exchange"}
    assert exchanges == {f"exchange-{submitted.visit_id}": (on(10), on(109), False),
                         f"exchange-{approved.visit_id}": (on(20), on(69), False),
                         f"exchange-{secret.visit_id}": (on(50), on(59), True)}
    title = next(e.title for e in events if e.uid == f"exchange-{approved.visit_id}")
    assert title == "Exchange: uk-liaison at jgsdf"
    # The uncleared colleague (a party: the visitor's organisation) sees only what they may read.
    assert {e.uid for e in selectors.calendar(world.uk_uncleared, today, on(120))} == {
        f"exchange-{submitted.visit_id}", f"exchange-{approved.visit_id}"}
    # The host sees the approved one only; the host's security authority all that are live.
    assert {e.uid for e in selectors.calendar(world.jp, today, on(120))} == {
        f"exchange-{approved.visit_id}"}
    assert len(selectors.calendar(world.jp_so, today, on(120))) == 3
    assert f"exchange-{later.visit_id}" in {
        e.uid for e in selectors.calendar(world.uk, on(150), on(250))}
    uids = set(vevents(exported(world.uk, today, on(120), on=today)))
    assert uids == {f"exchange-{submitted.visit_id}@entente",
                    f"exchange-{approved.visit_id}@entente"}
    feed = vevents(exported(world.uk, today, on(120), on=today))
    event = feed[f"exchange-{submitted.visit_id}@entente"]
    assert (event.decoded("dtstart"), event.decoded("dtend")) == (on(10), on(110))


def test_need_to_know_stays_out_of_the_export_even_when_unclassified(world):
    """An OFFICIAL exercise whose label names a community is on the calendar page of those who
    may read it, but not in the .ics: need-to-know does not survive a personal calendar. Its
    plainly labelled neighbour is exported."""
    for user in (world.uk, world.jp):
        Membership.objects.create(user=user, community=community("vigilant-cell"),
                                  granted_by=authority(user.nationality_id),
                                  valid_from=DAY - dt.timedelta(days=1),
                                  valid_until=DAY + dt.timedelta(days=400))
    plain = exercise(world)
    cell = exercise(world, "cell-only", label=LabelSpec("GBR", "OFFICIAL", ("GBR", "JPN"), (),
                                                         ("vigilant-cell",)))
    events = {e.uid: e for e in selectors.calendar(world.uk, DAY, day(120), on=DAY)}
    restricted = events[f"exercise-{cell.pk}"]
    assert restricted.need_to_know and not restricted.classified and not restricted.exportable
    assert events[f"exercise-{plain.pk}"].exportable
    assert set(vevents(exported(world.uk, DAY, day(120)))) == {f"exercise-{plain.pk}@entente"}
