"""Requests for visit, enforced: durations, who assures, who decides, the clearance seen through
the equivalence table, the host's facility clearance, the inbox, the per-day list, withdrawal."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from entente.cooperation.models import Project
from entente.core.models import OrganisationKind, Role
from entente.exchange.models import Notification
from entente.industry import selectors, services
from entente.industry.models import VisitRequest, VisitState
from entente.industry.services import IndustryError
from entente.industry.tests.conftest import approved, ask, days
from entente.security.labels import LabelSpec, make_label
from entente.security.models import AuditEvent, Clearance, FacilityClearance
from entente.security.selectors import NotFound
from entente.testing import (
    authority,
    community,
    facility,
    make_user,
    organisation,
    verified_client,
)

pytestmark = pytest.mark.django_db


def state_of(visit: VisitRequest) -> str:
    return VisitRequest.objects.get(pk=visit.pk).state


def denials(action: str, visit: VisitRequest) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_id=str(visit.pk), allowed=False))


# --------------------------------------------------------------------------- submission


def test_a_request_is_submitted_labelled_owned_and_sent_to_the_visitors_authority(world):
    visit = ask(world)
    assert visit.state == VisitState.SUBMITTED
    assert visit.label.canonical == "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN|cav=|com="
    assert visit.owner == world.visitor.organisation
    assert visit.level.key == "JPN/GOKUHI"
    inbox = Notification.objects.get(kind="visit.submitted")
    assert inbox.organisation == authority("GBR")
    assert (inbox.object_type, inbox.object_id) == ("industry.visitrequest", str(visit.pk))
    assert AuditEvent.objects.filter(action="visit.request", object_id=str(visit.pk),
                                     allowed=True).exists()


@pytest.mark.parametrize(("kind", "length", "allowed"), [
    ("one_time", 30, True), ("one_time", 31, False), ("emergency", 31, False),
    ("recurring", 366, True), ("recurring", 367, False)])
def test_how_long_each_kind_of_visit_may_last(world, kind, length, allowed):
    extra = {"emergency_reason": "Radar failure on the trials range"} if kind == "emergency" else {}
    if allowed:
        assert ask(world, kind=kind, first=1, last=length, **extra).days == length
        return
    with pytest.raises(IndustryError, match=f"lasts at most .* this one would last {length}"):
        ask(world, kind=kind, first=1, last=length, **extra)
    assert not VisitRequest.objects.exists()


def test_a_one_time_visit_over_30_days_is_refused_with_the_reason(world):
    with pytest.raises(IndustryError) as refused:
        ask(world, first=1, last=31)
    assert str(refused.value) == ("A visit of this kind (One-time visit) lasts at most 30 days; "
                                  "this one would last 31.")


def test_dates_host_nation_level_and_emergency_reason_are_checked(world):
    with pytest.raises(IndustryError, match="Say why the visit is an emergency"):
        ask(world, kind="emergency", emergency_reason="  ")
    with pytest.raises(IndustryError, match="last day cannot be before the first day"):
        ask(world, first=5, last=4)
    with pytest.raises(IndustryError, match="cannot start in the past"):
        ask(world, first=-1, last=2)
    with pytest.raises(IndustryError, match="site of the other nation"):
        ask(world, host=organisation("gbr-yard", "GBR", OrganisationKind.COMPANY),
            level="GBR/SECRET")
    with pytest.raises(IndustryError, match="not a marking of JPN's scheme"):
        ask(world, level="GBR/SECRET")
    with pytest.raises(IndustryError, match="not a marking of JPN's scheme"):
        ask(world, level="NO-SUCH")
    assert ask(world, level="HI").level.key == "JPN/HI"  # a bare code is the host's scheme
    assert ask(world, kind="recurring", emergency_reason="ignored").emergency_reason == ""


def test_the_label_must_be_originated_by_the_visitor_and_releasable_to_the_host(world):
    with pytest.raises(IndustryError, match=r"releasable to the host nation \(JPN\)"):
        ask(world, label="GBR/OFFICIAL-SENSITIVE|rel=GBR")
    with pytest.raises(IndustryError, match=r"originated by your own nation \(GBR\)"):
        ask(world, label="JPN/TORIATSUKAI-CHUI|rel=GBR,JPN")
    assert not VisitRequest.objects.exists()


def test_a_request_the_visitor_could_not_read_is_not_made(world):
    with pytest.raises(NotFound):  # a TOP SECRET label over a SECRET visitor
        ask(world, label="GBR/TOP-SECRET|rel=GBR,JPN")
    assert not VisitRequest.objects.exists()
    assert AuditEvent.objects.filter(action="access.edit", allowed=False).exists()


# --------------------------------------------------------------------------- assurance


def test_assurance_by_the_wrong_nation_is_refused(world):
    visit = ask(world)
    with pytest.raises(IndustryError) as refused:
        services.assure_visit(world.jp_so, visit)
    assert str(refused.value) == ("Only the security authority of the visitor's nation (GBR) "
                                  "may assure the visitor's clearance.")
    assert state_of(visit) == VisitState.SUBMITTED
    assert denials("visit.assure", visit)  # kept through the rollback


def test_assurance_needs_a_security_officer_of_the_visitors_authority(world):
    visit = ask(world)
    # Someone at the authority without the role does not act for it: not even told it exists.
    clerk = make_user("clerk", "GBR", org=authority("GBR"), clearance="SECRET")
    with pytest.raises(NotFound):
        services.assure_visit(clerk, visit)
    assert state_of(visit) == VisitState.SUBMITTED


def test_a_visitor_without_a_valid_clearance_cannot_be_assured(world):
    nobody = make_user("nobody", "GBR")
    visit = ask(world, visitor=nobody, level="JPN/TORIATSUKAI-CHUI")
    with pytest.raises(IndustryError, match="holds no valid personnel security clearance"):
        services.assure_visit(world.uk_so, visit)
    assert state_of(visit) == VisitState.SUBMITTED
    assert denials("visit.assure", visit)


def test_assurance_records_the_clearance_and_tells_the_host_authority(world):
    visit = services.assure_visit(world.uk_so, ask(world))
    assert visit.state == VisitState.ASSURED and visit.assured_by == world.uk_so
    assert visit.assured_level.key == "GBR/SECRET"
    assert visit.assured_until == Clearance.objects.get(user=world.visitor).valid_until
    note = Notification.objects.get(kind="visit.assured")
    assert note.organisation == authority("JPN") and note.object_id == str(visit.pk)
    with pytest.raises(IndustryError, match="Only a submitted request can be assured"):
        services.assure_visit(world.uk_so, visit)


# --------------------------------------------------------------------------- approval


def test_a_visit_above_the_visitors_clearance_cannot_be_approved(world):
    visit = services.assure_visit(world.uk_so, ask(world, level="JPN/KIMITSU"))
    with pytest.raises(IndustryError) as refused:
        services.approve_visit(world.jp_so, visit)
    assert str(refused.value) == (
        "The visit is at JPN/KIMITSU (protected as GBR/TOP-SECRET in GBR), above the visitor's "
        "clearance (GBR/SECRET): it cannot be approved.")
    assert state_of(visit) == VisitState.ASSURED
    assert not Notification.objects.filter(kind="visit.approved").exists()
    assert [e.reason for e in denials("visit.approve", visit)] == [str(refused.value)]


def test_the_level_is_compared_through_the_equivalence_table_not_by_number(world):
    # A Japanese GOKUHI (level 3) holder visiting a UK SECRET (level 4) site: the table protects
    # GBR/SECRET as JPN/GOKUHI, so it is within the clearance although 4 > 3.
    uk_site = organisation("gbr-works", "GBR", OrganisationKind.COMPANY)
    facility(uk_site, "SECRET")
    visit = services.request_visit(
        world.host_member, host=uk_site, site="Filton", kind="one_time", first_day=days(1),
        last_day=days(2), purpose="Joint trials", level="SECRET",
        label=LabelSpec.parse("JPN/TORIATSUKAI-CHUI|rel=GBR,JPN"))
    services.assure_visit(world.jp_so, visit)
    assert services.approve_visit(world.uk_so, visit).state == VisitState.APPROVED


def test_approval_by_the_visitors_own_nation_is_refused(world):
    visit = services.assure_visit(world.uk_so, ask(world))
    with pytest.raises(IndustryError) as refused:
        services.approve_visit(world.uk_so, visit)
    assert str(refused.value) == ("Only the security authority of the host nation (JPN) may "
                                  "approve or refuse a request for visit.")
    assert state_of(visit) == VisitState.ASSURED
    assert denials("visit.approve", visit)
    with pytest.raises(IndustryError, match="host nation"):
        services.refuse_visit(world.uk_so, visit, "no")
    assert state_of(visit) == VisitState.ASSURED


def test_approval_needs_assurance_first(world):
    visit = ask(world)
    with pytest.raises(IndustryError, match="must assure their clearance before"):
        services.approve_visit(world.jp_so, visit)
    assert state_of(visit) == VisitState.SUBMITTED


def test_a_clearance_ending_before_the_last_day_blocks_approval(world):
    Clearance.objects.filter(user=world.visitor).update(valid_until=days(2))
    visit = services.assure_visit(world.uk_so, ask(world, first=1, last=3))
    with pytest.raises(IndustryError) as refused:
        services.approve_visit(world.jp_so, visit)
    assert str(refused.value) == (f"ben's clearance (GBR/SECRET) ends on {days(2).isoformat()}, "
                                  f"before the visit's last day ({days(3).isoformat()}).")
    assert state_of(visit) == VisitState.ASSURED


def test_a_clearance_revoked_after_assurance_blocks_approval(world):
    visit = services.assure_visit(world.uk_so, ask(world))
    Clearance.objects.filter(user=world.visitor).update(valid_until=days(-1))
    with pytest.raises(IndustryError, match="ben holds no valid personnel security clearance"):
        services.approve_visit(world.jp_so, visit)
    assert state_of(visit) == VisitState.ASSURED


def test_the_host_site_must_be_cleared_for_the_level(world):
    bare = organisation("jpn-bare", "JPN", OrganisationKind.COMPANY)  # no facility clearance
    visit = services.assure_visit(world.uk_so, ask(world, host=bare, level="JPN/HI"))
    with pytest.raises(IndustryError, match="holds no facility security clearance at JPN/HI"):
        services.approve_visit(world.jp_so, visit)
    # What needs no clearance may be shown anywhere.
    open_visit = services.assure_visit(world.uk_so,
                                       ask(world, host=bare, level="JPN/TORIATSUKAI-CHUI"))
    assert services.approve_visit(world.jp_so, open_visit).state == VisitState.APPROVED


def test_approval_notifies_the_host_organisation_through_its_inbox(world):
    visit = services.assure_visit(world.uk_so, ask(world))
    done = services.approve_visit(world.jp_so, visit, "Escort provided by the host")
    assert done.state == VisitState.APPROVED and done.decided_by == world.jp_so
    note = Notification.objects.get(organisation=world.host, kind="visit.approved")
    assert (note.object_type, note.object_id) == ("industry.visitrequest", str(visit.pk))
    assert Notification.objects.filter(organisation=world.visitor.organisation,
                                       kind="visit.decided", object_id=str(visit.pk)).exists()
    # The host's inbox links to the visit page, which its people may now open.
    client = verified_client(world.host_member)
    inbox = client.get(reverse("exchange:notifications")).content.decode()
    assert reverse("industry:visit", args=[visit.pk]) in inbox
    assert "A visit to your organisation was approved." in inbox
    assert client.get(reverse("industry:visit", args=[visit.pk])).status_code == 200


def test_refusal_needs_a_reason_and_closes_the_request(world):
    visit = ask(world)
    with pytest.raises(IndustryError, match="Say why"):
        services.refuse_visit(world.jp_so, visit, " ")
    refused = services.refuse_visit(world.jp_so, visit, "No escort available that week")
    assert refused.state == VisitState.REFUSED and refused.reason.startswith("No escort")
    with pytest.raises(IndustryError, match="not yet decided can be withdrawn"):
        services.withdraw_visit(world.visitor, visit)
    with pytest.raises(IndustryError, match="Only an assured request can be approved"):
        services.approve_visit(world.jp_so, visit)


def test_only_the_visitor_withdraws_and_only_before_a_decision(world):
    visit = services.assure_visit(world.uk_so, ask(world))
    with pytest.raises(IndustryError, match="Only the visitor"):
        services.withdraw_visit(world.uk_so, visit)
    assert services.withdraw_visit(world.visitor, visit).state == VisitState.WITHDRAWN
    with pytest.raises(IndustryError, match="Only an assured request can be approved"):
        services.approve_visit(world.jp_so, visit)


def test_someone_not_taking_part_cannot_act_on_a_request_at_all(world):
    visit = ask(world)
    # A security officer, but of the host company (not an authority), before any approval.
    stranger_so = make_user("stranger-so", "JPN", org=world.host, clearance="GOKUHI",
                            roles=[Role.SECURITY_OFFICER])
    for act in (lambda u: services.assure_visit(u, visit),
                lambda u: services.withdraw_visit(u, visit)):
        with pytest.raises(NotFound):
            act(world.outsider)
        with pytest.raises(NotFound):
            act(stranger_so)
    assert state_of(visit) == VisitState.SUBMITTED


# --------------------------------------------------------------------------- per day


def test_approved_visits_are_listed_for_the_right_days_and_sites(world):
    first = approved(world, first=1, last=3)                           # days 1-3, Nagoya works
    second = approved(world, first=3, last=5, site="Kobe yard")        # days 3-5, Kobe yard
    ask(world, first=2, last=2)                                        # submitted only
    refused = ask(world, first=2, last=4)
    services.refuse_visit(world.jp_so, refused, "No")
    after = approved(world, first=7, last=8)                           # outside the span

    span = selectors.approved_by_day(world.jp_so, days(1), days(6))
    listed = {d.day: {(s.site, v.pk) for s in d.sites for v in s.visits} for d in span}
    assert [d.day for d in span] == [days(n) for n in range(1, 7)]
    assert listed == {
        days(1): {("Nagoya works", first.pk)},
        days(2): {("Nagoya works", first.pk)},
        days(3): {("Nagoya works", first.pk), ("Kobe yard", second.pk)},
        days(4): {("Kobe yard", second.pk)},
        days(5): {("Kobe yard", second.pk)},
        days(6): set(),
    }
    assert after.pk not in {v.pk for d in span for s in d.sites for v in s.visits}
    only_kobe = selectors.approved_by_day(world.host_member, days(3), days(3), site="kobe")
    assert [(s.site, [v.pk for v in s.visits]) for s in only_kobe[0].sites] == [
        ("Kobe yard", [second.pk])]
    listing = AuditEvent.objects.filter(action="access.list",
                                        object_type="industry.visitrequest").last()
    assert listing is not None and listing.details["ids"] == [str(second.pk)]
    with pytest.raises(IndustryError, match="at most 92 days"):
        selectors.approved_by_day(world.jp_so, days(0), days(92))
    with pytest.raises(IndustryError, match="cannot be before"):
        selectors.approved_by_day(world.jp_so, days(2), days(1))


def test_the_host_organisation_sees_a_visit_only_once_approved(world):
    visit = services.assure_visit(world.uk_so, ask(world))
    assert selectors.list_visits(world.host_member) == []
    services.approve_visit(world.jp_so, visit)
    assert [v.pk for v in selectors.list_visits(world.host_member)] == [visit.pk]


def test_the_list_is_the_parties_and_the_kernel_together(world):
    public = ask(world)
    secret = ask(world, label="GBR/SECRET|rel=GBR,JPN")
    assert {v.pk for v in selectors.list_visits(world.visitor)} == {public.pk, secret.pk}
    assert {v.pk for v in selectors.list_visits(world.uk_so)} == {public.pk, secret.pk}
    assert {v.pk for v in selectors.list_visits(world.jp_so)} == {public.pk, secret.pk}
    # The visitor's uncleared colleague: same organisation, but the kernel withholds SECRET.
    assert [v.pk for v in selectors.list_visits(world.colleague)] == [public.pk]
    # Another organisation, however cleared: not a party.
    assert selectors.list_visits(world.outsider) == []
    assert selectors.count_visits(world.outsider) == 0
    where = selectors.VisitFilter(during_from=days(1), during_until=days(1), mine=True)
    assert selectors.count_visits(world.visitor, where) == 2
    assert selectors.count_visits(world.visitor,
                                  selectors.VisitFilter(during_from=dt.date.max)) == 0


# --------------------------------------------------------------------------- projects


def test_a_project_is_named_only_to_those_who_may_view_it(world):
    team = community("aam-team")
    project = Project.objects.create(
        code="aam", name_en="Air-to-air missile", lead_nation_id="GBR", community=team,
        proposed_by=world.uk_so, owner=world.visitor.organisation,
        label=make_label(LabelSpec.parse("GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN|com=aam-team")))
    member = make_user("mel", "GBR", clearance="SECRET", communities=["aam-team"])
    visit = ask(world, visitor=member, project=project)
    assert visit.project == project
    with pytest.raises(IndustryError, match="No project you may view has this code"):
        ask(world, project=project)  # ben is not in the project's community
    assert selectors.project_of(member, visit) == project
    assert selectors.project_of(world.uk_so, visit) is None  # a party, not a project member
    assert selectors.projects_of(world.uk_so, [visit]) == {}
    client = verified_client(world.uk_so)
    assert client.get(f"/api/v1/industry/visits/{visit.pk}").json()["project"] is None
    assert verified_client(member).get("/api/v1/industry/visits").json()["items"][0][
        "project"] == "aam"
    with pytest.raises(NotFound):
        selectors.project_by_key(world.visitor, "aam")


# --------------------------------------------------------------------------- yearly review


def test_a_recurring_project_visit_may_last_years_and_is_reviewed_yearly(world):
    community("aam-team")
    project = Project.objects.create(
        code="aam", name_en="Air-to-air missile", lead_nation_id="GBR",
        community=community("aam-team"), proposed_by=world.uk_so,
        owner=world.visitor.organisation,
        label=make_label(LabelSpec.parse("GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN|com=aam-team")))
    engineer = make_user("eng", "GBR", clearance="SECRET", communities=["aam-team"])
    # Without a project a recurring visit is at most a year; for a project, its life.
    with pytest.raises(IndustryError, match="lasts at most 366 days"):
        ask(world, visitor=engineer, kind="recurring", first=1, last=730)
    visit = approved(world, visitor=engineer, kind="recurring", first=1, last=730,
                     project=project)
    assert visit.approved_until == days(365)          # one approval holds one year
    listed = selectors.approved_by_day(world.jp_so, days(364), days(367))
    assert [[v.pk for s in d.sites for v in s.visits] for d in listed] == [
        [visit.pk], [visit.pk], [], []]

    # Only the host's authority reviews; the visitor's clearance must last the new year.
    with pytest.raises(IndustryError, match="security authority of the host nation"):
        services.review_visit(world.uk_so, visit)
    with pytest.raises(IndustryError, match=r"clearance .* ends on"):
        services.review_visit(world.jp_so, visit)
    assert VisitRequest.objects.get(pk=visit.pk).approved_until == days(365)
    Clearance.objects.filter(user=engineer).update(valid_until=days(800))
    with pytest.raises(IndustryError, match="holds no facility security clearance"):
        services.review_visit(world.jp_so, visit)  # the host site's clearance must last too
    FacilityClearance.objects.filter(organisation=world.host).update(valid_until=days(800))
    services.review_visit(world.jp_so, visit)
    assert VisitRequest.objects.get(pk=visit.pk).approved_until == days(730)  # the last day
    assert [[v.pk for s in d.sites for v in s.visits] for d in selectors.approved_by_day(
        world.jp_so, days(366), days(366))] == [[visit.pk]]
    with pytest.raises(IndustryError, match="Only an approved recurring visit"):
        services.review_visit(world.jp_so, visit)
    event = AuditEvent.objects.get(action="visit.review", allowed=True)
    assert event.details["until"] == days(730).isoformat()
    assert Notification.objects.filter(kind="visit.reviewed", organisation=world.host).exists()


def test_a_review_through_the_page_and_the_api(world):
    community("aam-team")
    project = Project.objects.create(
        code="aam", name_en="Air-to-air missile", lead_nation_id="GBR",
        community=community("aam-team"), proposed_by=world.uk_so,
        owner=world.visitor.organisation,
        label=make_label(LabelSpec.parse("GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN|com=aam-team")))
    engineer = make_user("eng", "GBR", clearance="SECRET", communities=["aam-team"])
    Clearance.objects.filter(user=engineer).update(valid_until=days(1200))
    FacilityClearance.objects.filter(organisation=world.host).update(valid_until=days(1200))
    visit = approved(world, visitor=engineer, kind="recurring", first=1, last=1000,
                     project=project)
    page = verified_client(world.jp_so).get(reverse("industry:visit", args=[visit.pk]))
    assert "Review for another year" in page.content.decode()
    verified_client(world.jp_so).post(reverse("industry:visit_review", args=[visit.pk]))
    assert VisitRequest.objects.get(pk=visit.pk).approved_until == days(730)
    answer = verified_client(world.jp_so).post(f"/api/v1/industry/visits/{visit.pk}/review")
    assert answer.status_code == 200 and answer.json()["approved_until"] == days(1000).isoformat()
    refused = verified_client(world.uk_so).post(f"/api/v1/industry/visits/{visit.pk}/review")
    assert refused.status_code == 422
