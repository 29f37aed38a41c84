"""The cooperation rules, one by one, on real rows: phase gates, cost shares, facility clearance
of participants, need-to-know of project records, and minutes approved by both co-chairs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from entente.cooperation import selectors, services
from entente.cooperation.models import (
    DecisionKind,
    Phase,
    PhaseChange,
    Project,
)
from entente.cooperation.services import CooperationError
from entente.core.models import OrganisationKind
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.security.selectors import NotFound
from entente.testing import facility, make_user, organisation

pytestmark = pytest.mark.django_db
MEETING_LABEL = LabelSpec.parse("GBR/OFFICIAL|rel=GBR,JPN")


def meeting_with_item(world, project=None):
    meeting = services.schedule_meeting(actor=world.secretary, label=MEETING_LABEL,
                                        held_on=timezone.localdate(), place="London")
    item = services.add_agenda_item(actor=world.secretary, meeting=meeting,
                                    project=project or world.project)
    return meeting, item


# ------------------------------------------------------------------ phase gates


def test_a_phase_change_without_a_panel_decision_is_refused(world):
    with pytest.raises(CooperationError, match="only by a recorded decision"):
        services.change_phase(actor=world.uk_officer, project=world.project,
                              to_phase=Phase.IDENTIFICATION, decision=None)
    world.project.refresh_from_db()
    assert world.project.phase == Phase.PROPOSAL
    assert not PhaseChange.objects.exists()


def test_a_decision_moves_the_project_once_and_only_to_the_next_phase(world):
    _, item = meeting_with_item(world)
    approval = services.record_decision(actor=world.uk_chair, item=item,
                                        kind=DecisionKind.APPROVE_PROJECT, text="Agreed.")
    world.project.refresh_from_db()
    assert world.project.phase == Phase.IDENTIFICATION
    # The same decision cannot be used again, nor for another phase.
    with pytest.raises(CooperationError, match="already been applied"):
        services.change_phase(actor=world.uk_officer, project=world.project,
                              to_phase=Phase.IDENTIFICATION, decision=approval)
    with pytest.raises(CooperationError, match="does not approve"):
        services.change_phase(actor=world.uk_officer, project=world.project,
                              to_phase=Phase.FEASIBILITY, decision=approval)
    # A proposal-approval on a project that is no longer a proposal is refused.
    with pytest.raises(CooperationError, match="Only a proposal"):
        services.record_decision(actor=world.uk_chair, item=item,
                                 kind=DecisionKind.APPROVE_PROJECT)
    services.record_decision(actor=world.jp_chair, item=item, kind=DecisionKind.APPROVE_PHASE)
    world.project.refresh_from_db()
    assert world.project.phase == Phase.FEASIBILITY
    history = list(selectors.phase_history_of(world.jp_officer, world.project))
    assert [(c.from_phase, c.to_phase) for c in history] == [
        (Phase.PROPOSAL, Phase.IDENTIFICATION), (Phase.IDENTIFICATION, Phase.FEASIBILITY)]
    assert AuditEvent.objects.filter(action="project.phase").count() == 2


def test_only_panel_officers_record_decisions_and_defer_moves_nothing(world):
    _, item = meeting_with_item(world)
    with pytest.raises(CooperationError, match="co-chairs and secretary"):
        services.record_decision(actor=world.uk_officer, item=item,
                                 kind=DecisionKind.APPROVE_PROJECT)
    services.record_decision(actor=world.secretary, item=item, kind=DecisionKind.DEFER)
    world.project.refresh_from_db()
    assert world.project.phase == Phase.PROPOSAL


def test_a_cancelled_project_changes_no_more(world):
    _, item = meeting_with_item(world)
    services.record_decision(actor=world.uk_chair, item=item, kind=DecisionKind.CANCEL)
    world.project.refresh_from_db()
    assert world.project.phase == Phase.CANCELLED
    with pytest.raises(CooperationError, match="no longer changes"):
        services.record_decision(actor=world.uk_chair, item=item,
                                 kind=DecisionKind.APPROVE_PHASE)
    with pytest.raises(CooperationError, match="takes no new participants"):
        services.add_participant(actor=world.uk_officer, project=world.project,
                                 organisation=world.cleared_company, role="prime")


# ------------------------------------------------------------------ cost shares


@pytest.mark.parametrize(("shares", "message"), [
    ({"GBR": "60", "JPN": "30"}, "add up to 100%; these add up to 90%"),
    ({"GBR": "60.5", "JPN": "40"}, "these add up to 100.5%"),
    ({"GBR": "100", "JPN": "0"}, "must be more than 0"),
    ({"GBR": "abc"}, "not a number"),
    ({"GBR": "50.001", "JPN": "49.999"}, "two decimal places"),
    ({"GBR": "50", "XYZ": "50"}, "Unknown nation: XYZ"),
])
def test_cost_shares_must_add_up_to_100(world, shares, message):
    services.set_cost_shares(actor=world.uk_officer, project=world.project,
                             shares={"GBR": "50", "JPN": "50"})
    with pytest.raises(CooperationError, match=message.replace("(", r"\(").replace(".", r"\.")):
        services.set_cost_shares(actor=world.uk_officer, project=world.project, shares=shares)
    # Nothing lost: the previous shares stand.
    assert {s.nation_id: str(s.percent) for s in world.project.cost_shares.all()} == {
        "GBR": "50.00", "JPN": "50.00"}


def test_cost_shares_are_exact(world):
    services.set_cost_shares(actor=world.uk_officer, project=world.project,
                             shares={"GBR": "33.33", "JPN": "66.67"})
    assert sorted(str(s.percent) for s in selectors.cost_shares_of(world.jp_officer,
                                                                   world.project)) == [
        "33.33", "66.67"]


# ------------------------------------------------------------------ facility clearances


def test_a_company_without_the_facility_clearance_cannot_join(world):
    services.add_guide_entry(actor=world.uk_officer, project=world.project,
                             label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"),
                             topic_en="Seeker performance", is_default=True)
    with pytest.raises(CooperationError, match="no valid facility security clearance at SECRET"):
        services.add_participant(actor=world.uk_officer, project=world.project,
                                 organisation=world.uncleared_company, role="subcontractor")
    services.add_participant(actor=world.uk_officer, project=world.project,
                             organisation=world.cleared_company, role="prime")
    assert [p.organisation for p in selectors.participants_of(world.uk_officer,
                                                              world.project)] == [
        world.cleared_company]
    contractors = selectors.cleared_contractors(world.jp_officer, world.project)
    assert [(p.organisation.code, [c.level.code for c in cs]) for p, cs in contractors] == [
        ("albion", ["SECRET"])]


def test_the_facility_needed_is_read_in_the_companys_own_scheme(world):
    # The guide uses JPN/GOKUHI, protected as SECRET in the UK: a UK company needs SECRET.
    services.add_guide_entry(actor=world.jp_officer, project=world.project,
                             label=LabelSpec.parse("JPN/GOKUHI|rel=GBR,JPN"),
                             topic_en="Test data")
    low = organisation("low", "GBR", OrganisationKind.COMPANY)
    facility(low, "OFFICIAL-SENSITIVE")
    with pytest.raises(CooperationError, match="SECRET"):
        services.add_participant(actor=world.uk_officer, project=world.project,
                                 organisation=low, role="subcontractor")
    expired = organisation("lapsed", "GBR", OrganisationKind.COMPANY)
    facility(expired, "SECRET", until=timezone.localdate() - dt.timedelta(days=1))
    with pytest.raises(CooperationError):
        services.add_participant(actor=world.uk_officer, project=world.project,
                                 organisation=expired, role="subcontractor")


def test_people_of_a_company_need_it_to_take_part(world):
    engineer = make_user("eng", "GBR", org=world.cleared_company, clearance="SECRET")
    with pytest.raises(CooperationError, match="does not take part"):
        services.add_member(actor=world.uk_officer, project=world.project, user=engineer)
    services.add_participant(actor=world.uk_officer, project=world.project,
                             organisation=world.cleared_company, role="prime")
    services.add_member(actor=world.uk_officer, project=world.project, user=engineer)
    assert selectors.project_for(engineer, "aam") == world.project
    # Removing the company ends its people's need-to-know at once.
    participant = world.project.participants.get()
    services.remove_participant(actor=world.uk_officer, participant=participant)
    with pytest.raises(NotFound):
        selectors.project_for(engineer, "aam")


# ------------------------------------------------------------------ need-to-know


def test_a_non_member_sees_none_of_the_projects_records(world):
    project = world.project
    services.add_participant(actor=world.uk_officer, project=project,
                             organisation=world.cleared_company, role="prime")
    services.set_cost_shares(actor=world.uk_officer, project=project,
                             shares={"GBR": 50, "JPN": 50})
    services.add_milestone(actor=world.uk_officer, project=project, title_en="Kick-off",
                           due_on=timezone.localdate())
    services.add_guide_entry(actor=world.uk_officer, project=project, is_default=True,
                             label=LabelSpec.parse("GBR/OFFICIAL|rel=GBR,JPN"),
                             topic_en="Meeting notes")
    services.set_security_instruction(actor=world.uk_officer, project=project,
                                      text_en="Both NSAs' procedures apply.")
    document = services.create_project_document(actor=world.uk_officer, project=project,
                                                title_en="Trade study", body="Seeker options")
    meeting, item = meeting_with_item(world)
    services.record_decision(actor=world.uk_chair, item=item, kind=DecisionKind.APPROVE_PROJECT)
    services.add_action(actor=world.secretary, meeting=meeting, project=project,
                        title="Draft the feasibility plan", owner=world.uk_officer,
                        due_on=timezone.localdate() - dt.timedelta(days=1))
    general = services.add_agenda_item(actor=world.secretary, meeting=meeting,
                                       title_en="Any other business")

    # The outsider holds TOP SECRET and may see the meeting, but is not a project member.
    outsider = world.outsider
    assert list(selectors.visible_projects(outsider)) == []
    with pytest.raises(NotFound):
        selectors.project_for(outsider, "aam")
    with pytest.raises(NotFound):
        selectors.project_for(outsider, project.pk)
    for part in (selectors.participants_of, selectors.cost_shares_of, selectors.milestones_of,
                 selectors.guide_of, selectors.phase_history_of):
        assert list(part(outsider, project)) == [], part.__name__
    assert selectors.security_instruction_of(outsider, project) is None
    assert selectors.documents_of(outsider, project) == []
    assert list(selectors.upcoming_milestones(outsider)) == []
    assert selectors.projects_by_phase_and_nation(outsider) == []
    assert list(selectors.agenda_of(outsider, meeting)) == [general]
    assert list(selectors.decisions_of(outsider, meeting)) == []
    assert list(selectors.decisions_about(outsider, project)) == []
    assert list(selectors.actions_for(outsider, meeting=meeting)) == []
    assert list(selectors.actions_for(outsider, overdue_on=timezone.localdate())) == []
    from entente.exchange import selectors as exchange_selectors
    assert exchange_selectors.visible_documents(outsider) == []
    found = exchange_selectors.DocumentFilter(text="Trade study")
    assert exchange_selectors.visible_documents(outsider, found) == []
    assert exchange_selectors.count_visible_documents(outsider, found).value == 0
    assert [d.pk for d in exchange_selectors.visible_documents(world.jp_officer, found)] == [
        document.pk]
    assert list(selectors.visible_projects(outsider, text="missile")) == []
    with pytest.raises(NotFound):
        exchange_selectors.document_for(outsider, document.pk)

    # A member sees every part.
    member = world.jp_officer
    assert selectors.project_for(member, "aam") == project
    assert len(selectors.participants_of(member, project)) == 1
    assert [m.title for m in selectors.milestones_of(member, project)] == ["Kick-off"]
    assert [d.pk for d in selectors.documents_of(member, project)] == [document.pk]
    assert len(selectors.decisions_about(member, project)) == 1
    assert len(selectors.actions_for(member, overdue_on=timezone.localdate())) == 1
    assert {r["phase"] for r in selectors.projects_by_phase_and_nation(member)} == {
        Phase.IDENTIFICATION}


def test_project_documents_are_labelled_from_the_guide_and_name_the_community(world):
    entry = services.add_guide_entry(actor=world.uk_officer, project=world.project,
                                     label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"),
                                     topic_en="Design data", is_default=True)
    assert entry.label.canonical.endswith("|com=aam")
    document = services.create_project_document(actor=world.uk_officer, project=world.project,
                                                title_en="Design review", body="...")
    assert document.label == entry.label
    other = services.create_project_document(
        actor=world.uk_officer, project=world.project, title_en="Public note", body="...",
        label=LabelSpec.parse("GBR/OFFICIAL|rel=GBR,JPN"))
    assert other.label.canonical == LabelSpec.parse(
        "GBR/OFFICIAL|rel=GBR,JPN|com=aam").canonical()


def test_a_proposal_names_its_community_and_admits_the_proposer_and_the_panel(world):
    assert world.project.label.canonical == LabelSpec.parse(
        "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN|com=aam").canonical()
    members = {m.user.username for m in selectors.members_of(world.uk_officer, world.project)}
    assert members == {"uk-po", "jp-po", "uk-chair", "jp-chair", "secretary"}
    with pytest.raises(CooperationError, match="already exists"):
        services.propose_project(actor=world.uk_officer, code="aam", lead_nation="GBR",
                                 label=LabelSpec.parse("GBR/OFFICIAL|rel=GBR,JPN"),
                                 name_en="Again")
    with pytest.raises(CooperationError, match="lower-case"):
        services.propose_project(actor=world.uk_officer, code="Bad Code!", lead_nation="GBR",
                                 label=LabelSpec.parse("GBR/OFFICIAL|rel=GBR,JPN"),
                                 name_en="Bad")
    assert Project.objects.count() == 1


# ------------------------------------------------------------------ minutes


def test_minutes_are_not_final_until_both_co_chairs_approve(world):
    meeting, _ = meeting_with_item(world)
    minutes = services.write_minutes(actor=world.secretary, meeting=meeting,
                                     text_en="The panel approved the AAM proposal.")
    with pytest.raises(CooperationError, match="Only a co-chair"):
        services.approve_minutes(actor=world.secretary, minutes=minutes)
    services.approve_minutes(actor=world.uk_chair, minutes=minutes)
    assert not minutes.is_final
    with pytest.raises(CooperationError, match="already approved"):
        services.approve_minutes(actor=world.uk_chair, minutes=minutes)
    # A new revision withdraws the approval given so far.
    minutes = services.write_minutes(actor=world.secretary, meeting=meeting,
                                     text_en="The panel approved the AAM proposal (amended).")
    services.approve_minutes(actor=world.jp_chair, minutes=minutes)
    assert not minutes.is_final
    services.approve_minutes(actor=world.uk_chair, minutes=minutes)
    assert minutes.is_final
    with pytest.raises(CooperationError, match="final"):
        services.write_minutes(actor=world.secretary, meeting=meeting, text_en="Changed")
    events = AuditEvent.objects.filter(action="panel.minutes.approve").order_by("seq")
    assert [e.details["final"] for e in events] == [False, False, True]


def test_one_co_chair_per_nation(world):
    other = make_user("other-chair", "GBR", clearance="SECRET")
    today = timezone.localdate()
    with pytest.raises(CooperationError, match="already has a co-chair"):
        services.appoint_panel_member(actor=world.uk_admin, user=other, role="co-chair",
                                      valid_from=today, valid_until=today)
    with pytest.raises(CooperationError, match="own nation"):
        services.appoint_panel_member(actor=world.jp_admin, user=other, role="member",
                                      valid_from=today, valid_until=today)


def test_one_cannot_propose_a_project_one_could_not_read(world):
    with pytest.raises(CooperationError, match="could not read a record with this label: "
                                               "Denied: no valid clearance"):
        services.propose_project(actor=world.uk_officer, code="too-high", lead_nation="GBR",
                                 label=LabelSpec.parse("GBR/TOP-SECRET|rel=GBR,JPN"),
                                 name_en="Too high")
    assert not Project.objects.filter(code="too-high").exists()


def test_proposals_not_yet_on_an_agenda_are_listed_for_the_panel(world):
    from django.urls import reverse

    from entente.testing import verified_client

    assert list(selectors.proposals_awaiting_the_panel(world.secretary)) == [world.project]
    assert list(selectors.proposals_awaiting_the_panel(world.outsider)) == []
    page = verified_client(world.secretary).get(reverse("cooperation:panel")).content.decode()
    assert "Advanced air-to-air missile feasibility" in page
    assert "Advanced air-to-air" not in verified_client(world.outsider).get(
        reverse("cooperation:panel")).content.decode()
    meeting_with_item(world)  # on the agenda of today's meeting: no longer waiting
    assert list(selectors.proposals_awaiting_the_panel(world.secretary)) == []
