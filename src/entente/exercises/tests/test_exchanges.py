"""Staff and academic exchanges, and visits to planning conferences: requests for visit
(``industry``) with something of the exercises app attached. The visitor's security authority
assures, the host's approves, with the clearance seen through the equivalence table; who sees an
exchange follows the visit's parties and label; nothing about a classified exercise travels in a
request labelled below it.

Requests for visit run on the real clock (industry refuses one that starts in the past), so these
tests date everything from today."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from entente.core.models import OrganisationKind
from entente.exercises import selectors, services
from entente.exercises.models import (
    ConferenceVisit,
    ExerciseState,
    MilestoneKind,
    PlanningMilestone,
    StaffExchange,
)
from entente.exercises.services import ExerciseError
from entente.industry import selectors as industry_selectors
from entente.industry import services as industry
from entente.industry.models import VisitKind, VisitRequest, VisitState
from entente.industry.services import IndustryError
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.security.selectors import NotFound
from entente.testing import facility, make_user, organisation

from .conftest import OPEN, SECRET, World, exchange_person, exercise, staff_exchange

pytestmark = pytest.mark.django_db

SECRET_REQUEST = LabelSpec("GBR", "SECRET", ("GBR", "JPN"))



def days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def jgsdf() -> Any:
    return organisation("jgsdf", "JPN")


def army() -> Any:
    return organisation("british-army", "GBR")


def approve(world: World, exchange: StaffExchange) -> VisitRequest:
    visit = exchange.visit
    home_so, host_so = ((world.uk_so, world.jp_so) if visit.visitor.nationality_id == "GBR"
                        else (world.jp_so, world.uk_so))
    industry.assure_visit(home_so, visit)
    return industry.approve_visit(host_so, visit)


def written() -> tuple[int, int, int]:
    return (VisitRequest.objects.count(), StaffExchange.objects.count(),
            ConferenceVisit.objects.count())


# --------------------------------------------------------------------------- exchanges


def test_an_exchange_is_a_request_for_visit_of_kind_exchange(world):
    visitor = exchange_person("uk-liaison")
    exchange = staff_exchange(visitor, jgsdf(), kind="academic", first_in=30, days=365)
    visit = VisitRequest.objects.get(pk=exchange.visit_id)
    assert (visit.kind, visit.state, visit.visitor, visit.host, visit.owner) == (
        VisitKind.EXCHANGE, VisitState.SUBMITTED, visitor, jgsdf(), army())
    assert (visit.first_day, visit.last_day, visit.level.key) == (days(30), days(394),
                                                                  "JPN/GOKUHI")
    assert visit.label.canonical == "GBR/OFFICIAL|rel=GBR,JPN|cav=|com="
    assert (exchange.kind, exchange.home, exchange.exercise) == ("academic", army(), None)
    event = AuditEvent.objects.get(action="exchange.request", object_id=str(visit.pk))
    assert event.allowed and event.details["home"] == "british-army"


def test_the_visitors_authority_assures_and_the_hosts_approves(world):
    exchange = staff_exchange(exchange_person("uk-liaison"), jgsdf(), days=700)
    visit = exchange.visit
    with pytest.raises(IndustryError, match="visitor's nation \\(GBR\\) may assure"):
        industry.assure_visit(world.jp_so, visit)
    with pytest.raises(IndustryError, match="must assure their clearance before"):
        industry.approve_visit(world.jp_so, visit)
    industry.assure_visit(world.uk_so, visit)
    with pytest.raises(IndustryError, match="host nation \\(JPN\\) may approve"):
        industry.approve_visit(world.uk_so, visit)
    approved = industry.approve_visit(world.jp_so, visit)
    assert approved.state == VisitState.APPROVED
    # A posting longer than a year is approved a year at a time, like a recurring visit.
    assert approved.approved_until == days(30 + 364)


@pytest.mark.parametrize(("nation", "clearance", "host", "level", "approvable"), [
    ("GBR", "SECRET", "jgsdf", "JPN/GOKUHI", True),
    ("GBR", "SECRET", "jgsdf", "JPN/HI", True),  # HI is protected as SECRET in the UK
    ("GBR", "SECRET", "jgsdf", "JPN/KIMITSU", False),  # seen as TOP SECRET
    ("JPN", "HI", "british-army", "GBR/SECRET", False),  # seen as GOKUHI, above HI
    ("JPN", "HI", "british-army", "GBR/OFFICIAL-SENSITIVE", True),
    ("JPN", "KIMITSU", "british-army", "GBR/TOP-SECRET", True),
])
def test_no_exchange_above_the_persons_clearance_through_the_equivalence_table(
        world, nation, clearance, host, level, approvable):
    visitor = exchange_person("visitor", nation, clearance=clearance,
                              org=organisation("jpn-mod", "JPN") if nation == "JPN" else None)
    exchange = staff_exchange(visitor, organisation(host), level=level)
    if approvable:
        assert approve(world, exchange).state == VisitState.APPROVED
        return
    with pytest.raises(IndustryError, match=r"above the visitor's clearance .*: it cannot be "
                                            r"approved"):
        approve(world, exchange)
    visit = VisitRequest.objects.get(pk=exchange.visit_id)
    assert visit.state == VisitState.ASSURED
    assert AuditEvent.objects.filter(action="visit.approve", object_id=str(visit.pk),
                                     allowed=False).exists()


def test_an_academic_exchange_at_a_university_needs_its_facility_clearance(world):
    university = organisation("tokyo-tech", "JPN", OrganisationKind.UNIVERSITY)
    exchange = staff_exchange(exchange_person("uk-academic"), university, kind="academic")
    with pytest.raises(IndustryError, match="holds no facility security clearance"):
        approve(world, exchange)
    facility(university, "GOKUHI", until=days(800), site="Headquarters")
    assert industry.approve_visit(world.jp_so, exchange.visit).state == VisitState.APPROVED


def test_an_exchange_lasts_at_most_three_years(world):
    visitor = exchange_person("uk-liaison")
    assert staff_exchange(visitor, jgsdf(), days=3 * 365 + 1).visit.days == 1096
    before = written()
    with pytest.raises(ExerciseError, match="lasts at most 1096 days; this one would last 1097"):
        staff_exchange(visitor, jgsdf(), days=1097)
    assert written() == before


REFUSED_EXCHANGES: list[tuple[dict[str, Any], str]] = [
    ({"kind": "sabbatical"}, "Unknown kind of exchange 'sabbatical'; one of staff, academic"),
    ({"host": "british-army"}, "is of your own \\(GBR\\)"),
    ({"first_in": -1}, "cannot start in the past"),
    ({"level": "GBR/SECRET"}, "not a marking of JPN's scheme"),
    ({"label": LabelSpec("GBR", "OFFICIAL", ("GBR",))}, "releasable to the host nation"),
    ({"label": LabelSpec("JPN", "TORIATSUKAI-CHUI", ("GBR", "JPN"))},
     "originated by your own nation"),
]


def test_a_refused_exchange_says_why_as_an_exercise_error_and_writes_nothing(world):
    visitor = exchange_person("uk-liaison")
    for changes, message in REFUSED_EXCHANGES:
        changes = dict(changes)
        host = organisation(changes.pop("host", "jgsdf"))
        with pytest.raises(ExerciseError, match=message):
            staff_exchange(visitor, host, **changes)
        assert written() == (0, 0, 0), message


def test_an_exchange_is_never_requested_as_a_plain_visit(world):
    visitor = exchange_person("uk-liaison")
    common = {"host": jgsdf(), "site": "Camp Asaka", "first_day": days(10),
              "last_day": days(20), "purpose": "Posting", "level": "JPN/GOKUHI",
              "label": LabelSpec("GBR", "OFFICIAL", ("GBR", "JPN"))}
    with pytest.raises(IndustryError, match="requested as an exchange, not as a visit"):
        industry.request_visit(visitor, kind=VisitKind.EXCHANGE, **common)
    with pytest.raises(IndustryError, match="requested as an exchange, not as a visit"):
        industry.request_visit(visitor, kind=VisitKind.ONE_TIME, as_exchange=True, **common)
    assert written() == (0, 0, 0)


def test_an_exchange_for_an_exercise_needs_one_the_visitor_may_view(world):
    visitor = exchange_person("uk-liaison")
    open_one = exercise(world, on=days(0))
    exchange = staff_exchange(visitor, jgsdf(), exercise=open_one)
    assert list(selectors.exchanges_of(visitor, open_one)) == [exchange]
    secret = exercise(world, "quiet-harbour", label=SECRET, on=days(0))
    uncleared = exchange_person("uk-trainee", clearance=None)
    before = written()
    with pytest.raises(ExerciseError, match="No exercise you may view has this code"):
        staff_exchange(uncleared, jgsdf(), exercise=secret)
    assert written() == before


def test_an_exchange_for_a_secret_exercise_is_labelled_as_protectively(world):
    """Whoever may read the exchange learns which exercise it serves (its code and name come
    with it): the request for visit must be protected at least as the exercise."""
    secret = exercise(world, "quiet-harbour", label=SECRET, on=days(0))
    visitor = exchange_person("uk-liaison")
    before = written()
    with pytest.raises(ExerciseError, match=r"does not protect .* as well as exercise "
                                            r"quiet-harbour"):
        staff_exchange(visitor, jgsdf(), exercise=secret)
    assert written() == before
    exchange = staff_exchange(visitor, jgsdf(), exercise=secret, label=SECRET_REQUEST)
    # The visitor's uncleared colleague is a party (the owning organisation) but cannot read it.
    assert list(selectors.visible_exchanges(world.uk_uncleared)) == []
    assert list(selectors.visible_exchanges(world.uk)) == [exchange]


@pytest.mark.parametrize("ending", ["completed", "cancelled"])
def test_no_new_exchange_or_conference_visit_for_an_exercise_that_is_over(world, ending):
    ex = exercise(world, on=days(0), starts_in=1, days=1)
    milestone = services.add_milestone(world.uk, ex, kind=MilestoneKind.FINAL,
                                       due_on=ex.ends_on, owner=world.uk)
    if ending == "completed":
        services.advance(world.jp, ex, ExerciseState.APPROVED)
        services.advance(world.uk, ex, ExerciseState.PLANNING)
        services.advance(world.uk, ex, ExerciseState.EXECUTING, on=ex.starts_on)
        services.advance(world.uk, ex, ExerciseState.COMPLETED, on=ex.ends_on,
                         lessons_learned="Fine.")
    else:
        services.cancel_exercise(world.uk, ex, "Typhoon.")
    before = written()
    with pytest.raises(ExerciseError, match=f"is {ending}: it can no longer change"):
        staff_exchange(exchange_person("uk-liaison"), jgsdf(), exercise=ex)
    with pytest.raises(ExerciseError, match=f"is {ending}: it can no longer change"):
        services.request_conference_visit(world.uk, milestone, host=jgsdf(), site="Ichigaya",
                                          level="JPN/GOKUHI", label=OPEN)
    assert written() == before


def test_who_sees_an_exchange_follows_the_visits_parties_and_label(world):
    visitor = exchange_person("uk-liaison")
    outsider = make_user("raf-officer", "GBR", org=organisation("raf", "GBR"),
                         clearance="TOP-SECRET")
    exchange = staff_exchange(visitor, jgsdf(), kind="staff")
    secret = staff_exchange(visitor, jgsdf(), kind="academic", first_in=500, days=30,
                            label=SECRET_REQUEST)

    def sees(user: Any, **filters: Any) -> list[StaffExchange]:
        return list(selectors.visible_exchanges(user, **filters))

    assert sees(visitor) == [exchange, secret]
    assert sees(world.uk_so) == [exchange, secret] and sees(world.jp_so) == [exchange, secret]
    assert sees(world.uk_uncleared) == [exchange]  # the owning organisation, not cleared
    assert sees(world.uk) == [exchange, secret]
    assert sees(outsider) == []  # cleared, but no party to it
    assert sees(world.jp) == []  # the host is told only once it is approved
    approve(world, exchange)
    assert sees(world.jp) == [exchange]
    assert sees(outsider) == []
    assert sees(visitor, kind="academic") == [secret]
    assert sees(visitor, state=VisitState.APPROVED) == [exchange]
    assert sees(visitor, during_from=days(400)) == [secret]
    assert sees(visitor, during_until=days(400)) == [exchange]
    assert sees(visitor, during_from=days(395), during_until=days(499)) == []


# --------------------------------------------------------------------------- conference visits


def conference(world: World, code: str = "pc-official", label: LabelSpec = OPEN,
               **kwargs: Any) -> PlanningMilestone:
    ex = exercise(world, code, label=label, on=days(0), **kwargs)
    return services.add_milestone(world.uk, ex, kind=MilestoneKind.MAIN, due_on=days(10),
                                  owner=world.jp, place="Ichigaya")


def test_a_conference_visit_is_a_one_time_visit_on_the_milestones_day(world):
    milestone = conference(world)
    visit = services.request_conference_visit(world.uk, milestone, host=jgsdf(), site="Ichigaya",
                                              level="JPN/GOKUHI", label=OPEN)
    visit = VisitRequest.objects.get(pk=visit.pk)
    assert (visit.kind, visit.first_day, visit.last_day, visit.visitor, visit.state) == (
        VisitKind.ONE_TIME, days(10), days(10), world.uk, VisitState.SUBMITTED)
    assert visit.purpose == "Main planning conference of exercise Exercise pc-official"
    assert ConferenceVisit.objects.get(visit=visit).milestone == milestone
    longer = services.request_conference_visit(
        world.uk, milestone, host=jgsdf(), site="Ichigaya", level="JPN/GOKUHI", label=OPEN,
        purpose=" Brief the main planning conference ", last_day=days(12))
    assert (longer.last_day, longer.purpose) == (days(12), "Brief the main planning conference")
    assert [c.visit for c in selectors.conference_visits_of(world.uk, milestone.exercise)] == [
        visit, longer]
    outsider = make_user("raf-officer", "GBR", org=organisation("raf", "GBR"),
                         clearance="TOP-SECRET")
    assert selectors.exercise_for(outsider, milestone.exercise.code)  # may read the exercise,
    assert list(selectors.conference_visits_of(outsider, milestone.exercise)) == []  # not these
    assert list(selectors.conference_visits_of(world.jp, milestone.exercise)) == []  # not yet
    assert AuditEvent.objects.filter(action="exercise.conference.visit",
                                     object_id=str(milestone.exercise_id)).count() == 2


def test_a_conference_visit_is_refused_with_industrys_reason_and_writes_nothing(world):
    milestone = conference(world)
    PlanningMilestone.objects.filter(pk=milestone.pk).update(due_on=days(-1))
    milestone.refresh_from_db()
    with pytest.raises(ExerciseError, match="cannot start in the past"):
        services.request_conference_visit(world.uk, milestone, host=jgsdf(), site="Ichigaya",
                                          level="JPN/GOKUHI", label=OPEN)
    with pytest.raises(ExerciseError, match="is of your own"):
        services.request_conference_visit(world.uk, conference(world, "pc-other"),
                                          host=army(), site="Andover", level="GBR/SECRET",
                                          label=OPEN)
    assert written() == (0, 0, 0)


def test_a_conference_visit_for_a_secret_exercise(world):
    """The visit names the conference and the exercise (its purpose, its link): labelled below
    the exercise, it would tell them to anyone who may read the visit."""
    milestone = conference(world, "pc-secret", label=SECRET)
    with pytest.raises(NotFound):
        services.request_conference_visit(world.uk_uncleared, milestone, host=jgsdf(),
                                          site="Ichigaya", level="JPN/GOKUHI", label=OPEN)
    with pytest.raises(ExerciseError, match=r"does not protect .* as well as exercise "
                                            r"pc-secret"):
        services.request_conference_visit(world.uk, milestone, host=jgsdf(), site="Ichigaya",
                                          level="JPN/GOKUHI", label=OPEN)
    assert written() == (0, 0, 0)
    visit = services.request_conference_visit(world.uk, milestone, host=jgsdf(),
                                              site="Ichigaya", level="JPN/GOKUHI",
                                              label=SECRET_REQUEST)
    # The planner's uncleared colleague is a party to the request (same organisation) but can
    # read neither it nor the conference it is for.
    assert industry_selectors.count_visits(world.uk_uncleared) == 0
    assert list(selectors.conference_visits_of(world.uk_uncleared, milestone.exercise)) == []
    assert [c.visit for c in selectors.conference_visits_of(world.uk, milestone.exercise)] == [
        visit]
