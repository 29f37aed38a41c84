"""The cooperation pages, driven as a person would drive them: signed in with password and TOTP,
plain form posts, every read through the kernel. The ``world`` fixture (conftest) gives a panel
with a co-chair per nation and a secretary, project officers of both nations, an outsider who
holds TOP SECRET but is no member of the proposed project ``aam``, and two companies."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from entente.cooperation import services
from entente.cooperation.models import (
    AgendaItem,
    CostShare,
    DecisionKind,
    GuideEntry,
    Meeting,
    Milestone,
    Participant,
    Phase,
    PhaseChange,
    Project,
)
from entente.exchange.models import Document
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.testing import verified_client

pytestmark = pytest.mark.django_db

MEETING_LABEL = "GBR/OFFICIAL|rel=GBR,JPN"
UK_ONLY = "GBR/OFFICIAL|rel=GBR"
TODAY = timezone.localdate


def url(name: str, *args: object) -> str:
    return reverse(f"cooperation:{name}", args=list(args))


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def page_banners(html: str) -> tuple[str, str]:
    """The page's own banners: the one above the header and the one below the main part (the
    small markings of listed rows are inside it)."""
    top = html[:html.index("<header")]
    bottom = html[html.index("</main>"):]
    assert top.count('<div class="label-banner"') == 1
    assert bottom.count('<div class="label-banner"') == 1
    return top, bottom


# Every text below belongs to the project ``aam`` and must reach its members only.
PROJECT_TEXTS = (
    "Advanced air-to-air missile feasibility", "新空対空ミサイル", "Kick-off review",
    "Seeker trade study", "Seeker performance data", "Both NSAs' procedures apply",
    "AAM trade study", "Approved as a joint project", "Draft the feasibility plan", "albion",
)


def populate(world):
    """Fill the project with one of every record, and a meeting with an item about it, a
    decision, an action about it, and an item and an action about no project."""
    project, today = world.project, TODAY()
    services.add_participant(actor=world.uk_officer, project=project,
                             organisation=world.cleared_company, role="prime")
    services.set_cost_shares(actor=world.uk_officer, project=project,
                             shares={"GBR": "60", "JPN": "40"})
    services.add_milestone(actor=world.uk_officer, project=project, title_en="Kick-off review",
                           due_on=today + dt.timedelta(days=10))
    services.add_milestone(actor=world.uk_officer, project=project,
                           title_en="Seeker trade study", due_on=today - dt.timedelta(days=3))
    services.add_guide_entry(actor=world.uk_officer, project=project, is_default=True,
                             label=LabelSpec.parse(MEETING_LABEL),
                             topic_en="Seeker performance data")
    services.set_security_instruction(actor=world.uk_officer, project=project,
                                      text_en="Both NSAs' procedures apply.")
    document = services.create_project_document(actor=world.uk_officer, project=project,
                                                title_en="AAM trade study", body="Options")
    meeting = services.schedule_meeting(actor=world.secretary, held_on=today, place="London",
                                        label=LabelSpec.parse(MEETING_LABEL))
    item = services.add_agenda_item(actor=world.secretary, meeting=meeting, project=project)
    services.record_decision(actor=world.uk_chair, item=item, kind=DecisionKind.APPROVE_PROJECT,
                             text="Approved as a joint project.")
    services.add_action(actor=world.secretary, meeting=meeting, project=project,
                        title="Draft the feasibility plan", owner=world.uk_officer,
                        due_on=today - dt.timedelta(days=1))
    services.add_agenda_item(actor=world.secretary, meeting=meeting,
                             title_en="Any other business")
    services.add_action(actor=world.secretary, meeting=meeting, title="Circulate the calendar",
                        owner=world.secretary, due_on=today - dt.timedelta(days=1))
    return meeting, document


def assert_none_of_the_project(html: str) -> None:
    for text in PROJECT_TEXTS:
        assert text not in html, text
    assert html.count("Both NSAs&#x27; procedures apply") == 0
    assert url("project", "aam") not in html


# ------------------------------------------------------------------ need-to-know


def test_a_non_member_sees_none_of_the_projects_records_on_any_page(world):
    meeting, document = populate(world)
    project = world.project
    outsider = verified_client(world.outsider)

    # The list, with and without a filter that would match.
    for query in ("", "?q=missile", "?phase=identification&lead_nation=GBR"):
        html = html_of(outsider.get(url("projects") + query))
        assert_none_of_the_project(html)
        assert "0 projects" in html

    # The project page: by code, by id, and every form behind it, is the 404 of a missing code.
    missing = outsider.get(url("project", "no-such-project"))
    assert missing.status_code == 404
    for key in ("aam", str(project.pk), str(uuid.uuid4())):
        response = outsider.get(url("project", key))
        assert response.status_code == 404
        assert response.content == missing.content
    milestones = Milestone.objects.count()
    for name, data in (("milestone_add", {"title_en": "Sneaky", "due_on": "2030-01-01"}),
                       ("cost_shares", {"GBR": "50", "JPN": "50"}),
                       ("member_add", {"username": "outsider"}),
                       ("security_instruction", {"text_en": "Overwritten"}),
                       ("project_document_new", {"title_en": "Planted", "body": "x"})):
        response = outsider.post(url(name, "aam"), data)
        assert response.status_code == 404, name
        assert response.content == missing.content, name
    assert Milestone.objects.count() == milestones
    assert not Document.objects.filter(title_en="Planted").exists()
    assert outsider.get(reverse("exchange:document", args=[document.pk])).status_code == 404

    # The dashboard: no count in the chart, no milestone, no action of the project.
    html = html_of(outsider.get(url("dashboard")))
    assert_none_of_the_project(html)
    assert "data-phase=" not in html
    assert "No projects you may view." in html
    assert "Circulate the calendar" in html          # an overdue action about no project

    # The meeting: only the item about no project, no decision or action of the project.
    html = html_of(outsider.get(url("meeting", meeting.pk)))
    assert_none_of_the_project(html)
    assert "Any other business" in html and "Circulate the calendar" in html
    assert "Approve project" not in html
    html = html_of(outsider.get(url("panel")))
    assert_none_of_the_project(html)
    assert "Circulate the calendar" in html

    # A member sees every record, on every page.
    member = verified_client(world.jp_officer)
    html = html_of(member.get(url("projects")))
    assert "Advanced air-to-air missile feasibility" in html and url("project", "aam") in html
    html = html_of(member.get(url("projects") + "?q=missile&phase=identification"))
    assert "Advanced air-to-air missile feasibility" in html
    html = html_of(member.get(url("projects") + "?phase=feasibility"))
    assert "Advanced air-to-air missile feasibility" not in html

    html = html_of(member.get(url("project", "aam")))
    for banner in page_banners(html):
        assert "<strong>GBR OFFICIAL-SENSITIVE</strong>" in banner and "REL GBR/JPN" in banner
    for text in ("Advanced air-to-air missile feasibility", "新空対空ミサイル", "Kick-off review",
                 "Seeker trade study", "Seeker performance data",
                 "Both NSAs&#x27; procedures apply", "AAM trade study",
                 "Approved as a joint project", "albion", "60.00%", "40.00%", "jp-po"):
        assert text in html, text
    assert re.search(r'<tr class="milestone overdue">\s*<td>Seeker trade study', html)
    assert re.search(r'<tr class="milestone">\s*<td>Kick-off review', html)
    assert reverse("exchange:document", args=[document.pk]) in html
    assert "Head office" in html and "SECRET" in html        # albion's facility clearance
    same = html_of(member.get(url("project", project.pk)))
    assert "Kick-off review" in same

    html = html_of(member.get(url("dashboard")))
    assert re.search(r'data-phase="identification" data-nation="GBR">1<', html)
    assert "Kick-off review" in html and "Seeker trade study" in html
    assert "Draft the feasibility plan" in html and "Circulate the calendar" in html
    assert "<script" not in html and 'src="http' not in html and "<svg" in html

    html = html_of(member.get(url("meeting", meeting.pk)))
    for text in ("Advanced air-to-air missile feasibility", "Any other business",
                 "Approved as a joint project", "Draft the feasibility plan",
                 "Circulate the calendar"):
        assert text in html, text
    for banner in page_banners(html):
        assert "<strong>GBR OFFICIAL</strong>" in banner

    # What was shown was audited as listed, record by record.
    listed = AuditEvent.objects.filter(action="access.list", actor="jp-po",
                                       object_type="cooperation.milestone")
    shown = {i for e in listed for i in json.loads(e.detail)["ids"]}
    assert {str(m.pk) for m in project.milestones.all()} <= shown
    assert not AuditEvent.objects.filter(action="access.list", actor="outsider",
                                         object_type="cooperation.milestone",
                                         detail__contains=str(project.milestones.first().pk))


def test_a_forbidden_meeting_is_the_404_of_a_missing_one(world):
    meeting = services.schedule_meeting(actor=world.secretary, held_on=TODAY(),
                                        place="Whitehall", label=LabelSpec.parse(UK_ONLY))
    jp = verified_client(world.jp_officer)
    responses = [jp.get(url("meeting", key)) for key in (meeting.pk, uuid.uuid4(), "nonsense")]
    assert {r.status_code for r in responses} == {404}
    assert len({r.content for r in responses}) == 1
    assert jp.post(url("minutes_write", meeting.pk), {"text_en": "x"}).status_code == 404
    assert "Whitehall" not in html_of(jp.get(url("panel")))
    assert "Whitehall" in html_of(verified_client(world.uk_officer).get(url("panel")))


def test_the_phase_history_hides_a_deciding_meeting_the_reader_may_not_see(world):
    # The project is releasable to Japan; the meeting that decided on it is UK-only.
    meeting = services.schedule_meeting(actor=world.secretary, held_on=TODAY(),
                                        place="Whitehall annex", label=LabelSpec.parse(UK_ONLY))
    item = services.add_agenda_item(actor=world.secretary, meeting=meeting, project=world.project)
    services.record_decision(actor=world.uk_chair, item=item, kind=DecisionKind.APPROVE_PROJECT,
                             text="UK-only reasoning")
    html = html_of(verified_client(world.jp_officer).get(url("project", "aam")))
    assert '<span class="phase phase-identification">' in html
    assert html.count('class="phase-change"') == 1
    assert "UK-only reasoning" not in html and "Whitehall annex" not in html
    assert url("meeting", meeting.pk) not in html
    assert "the meeting record is not visible to you" in html
    html = html_of(verified_client(world.uk_officer).get(url("project", "aam")))
    assert "UK-only reasoning" in html and url("meeting", meeting.pk) in html


# ------------------------------------------------------------------ the phase flow


def test_propose_then_panel_decisions_take_the_project_to_feasibility(world):
    officer = verified_client(world.uk_officer)
    assert officer.get(url("projects")).content.decode().count(url("project_new")) >= 1
    response = officer.post(url("project_new"), {
        "code": "gcap-radar", "name_en": "GCAP radar", "name_ja": "GCAPレーダー",
        "description_en": "A joint radar study.", "lead_nation": "JPN",
        "label": "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN"})
    assert response.status_code == 302
    project = Project.objects.get(code="gcap-radar")
    assert response["Location"] == url("project", "gcap-radar")
    assert project.phase == Phase.PROPOSAL and project.label.canonical.endswith("|com=gcap-radar")
    html = html_of(officer.get(response["Location"]))
    assert "Project proposed." in html and "GCAP radar" in html and "Proposal" in html

    secretary = verified_client(world.secretary)
    assert "Schedule meeting" in html_of(secretary.get(url("panel")))
    response = secretary.post(url("meeting_new"), {
        "held_on": TODAY().isoformat(), "place": "Tokyo", "label": MEETING_LABEL})
    assert response.status_code == 302
    meeting = Meeting.objects.get()
    assert response["Location"] == url("meeting", meeting.pk)
    response = secretary.post(url("agenda_add", meeting.pk),
                              {"title_en": "", "title_ja": "", "project": "gcap-radar"})
    assert response.status_code == 302
    item = AgendaItem.objects.get(meeting=meeting)
    assert item.project == project and item.title_en == "GCAP radar"

    # A project officer, not on the panel, cannot decide: the error is shown, nothing moves.
    response = officer.post(url("decision_add", meeting.pk, item.pk),
                            {"kind": DecisionKind.APPROVE_PROJECT, "text": "Typed by officer"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Only the steering panel&#x27;s co-chairs and secretary may do this." in html
    assert "Typed by officer" in html
    project.refresh_from_db()
    assert project.phase == Phase.PROPOSAL

    response = verified_client(world.uk_chair).post(
        url("decision_add", meeting.pk, item.pk),
        {"kind": DecisionKind.APPROVE_PROJECT, "text": "Approved as a joint project."})
    assert response.status_code == 302
    # Approving a proposal twice is refused with the service's message.
    response = verified_client(world.jp_chair).post(
        url("decision_add", meeting.pk, item.pk), {"kind": DecisionKind.APPROVE_PROJECT})
    assert response.status_code == 400
    assert "Only a proposal can be approved as a project" in response.content.decode()
    response = verified_client(world.jp_chair).post(
        url("decision_add", meeting.pk, item.pk),
        {"kind": DecisionKind.APPROVE_PHASE, "text": "Feasibility study agreed."})
    assert response.status_code == 302

    project.refresh_from_db()
    assert project.phase == Phase.FEASIBILITY
    assert [(c.from_phase, c.to_phase) for c in PhaseChange.objects.filter(project=project)] == [
        (Phase.PROPOSAL, Phase.IDENTIFICATION), (Phase.IDENTIFICATION, Phase.FEASIBILITY)]
    html = html_of(officer.get(url("project", "gcap-radar")))
    assert '<dd id="phase"><span class="phase phase-feasibility">Feasibility</span>' in html
    assert html.count('class="phase-change"') == 2
    assert "Approved as a joint project." in html and "Feasibility study agreed." in html
    assert url("meeting", meeting.pk) in html
    html = html_of(secretary.get(url("meeting", meeting.pk)))
    assert "Approve phase" in html and "Feasibility study agreed." in html


@pytest.mark.parametrize(("data", "message"), [
    ({"label": "GBR/NOPE|rel=GBR,JPN"}, "&#x27;NOPE&#x27; is not a marking of GBR&#x27;s scheme"),
    ({"label": "secret please"}, "A label starts with NATION/MARKING"),
    ({"label": "JPN/GOKUHI|rel=GBR,JPN"}, "New projects are labelled by your own nation (GBR)"),
    ({"code": "Bad Code!"}, "A project code is 2 to 63 lower-case letters"),
    ({"code": "aam"}, "A project with the code aam already exists."),
])
def test_a_proposal_error_is_shown_and_the_input_kept(world, data, message):
    fields = {"code": "new-one", "name_en": "Typed name", "name_ja": "入力した名前",
              "description_en": "Typed description", "lead_nation": "GBR",
              "label": MEETING_LABEL, **data}
    response = verified_client(world.uk_officer).post(url("project_new"), fields)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'value="Typed name"' in html and "入力した名前" in html and "Typed description" in html
    assert Project.objects.count() == 1


# ------------------------------------------------------------------ project forms


@pytest.mark.parametrize(("typed", "message"), [
    ({"GBR": "60", "JPN": "30"}, "Cost shares must add up to 100%; these add up to 90%."),
    ({"GBR": "60.5", "JPN": "40"}, "these add up to 100.5%."),
    ({"GBR": "abc", "JPN": "30"}, "Enter a number."),
])
def test_cost_shares_that_do_not_add_up_are_refused_and_the_typed_values_kept(world, typed,
                                                                              message):
    services.set_cost_shares(actor=world.uk_officer, project=world.project,
                             shares={"GBR": "50", "JPN": "50"})
    client = verified_client(world.uk_officer)
    response = client.post(url("cost_shares", "aam"), typed)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    for nation, value in typed.items():
        assert re.search(rf'<input type="number" name="{nation}" value="{re.escape(value)}"',
                         html), (nation, value)
    assert 'id="form-shares" open' in html
    # The old shares stand, and are what the page lists.
    assert {s.nation_id: str(s.percent) for s in CostShare.objects.filter(
        project=world.project)} == {"GBR": "50.00", "JPN": "50.00"}
    assert re.findall(r'<tr class="share"><td>\w+ — [^<]*</td><td>([\d.]+)%', html) == [
        "50.00", "50.00"]

    response = client.post(url("cost_shares", "aam"), {"GBR": "70", "JPN": "30"})
    assert response.status_code == 302
    html = html_of(client.get(response["Location"]))
    assert "Cost shares saved." in html and "70.00%" in html and "30.00%" in html


def test_managing_a_project_through_its_forms(world):
    client = verified_client(world.uk_officer)
    today = TODAY()
    # A SECRET guide entry makes the uncleared company ineligible: the error keeps the choice.
    response = client.post(url("guide_add", "aam"), {
        "topic_en": "Seeker performance", "label": "GBR/SECRET|rel=GBR,JPN", "is_default": "on"})
    assert response.status_code == 302
    entry = GuideEntry.objects.get()
    assert entry.is_default and entry.label.canonical.endswith("|com=aam")
    response = client.post(url("participant_add", "aam"),
                           {"organisation": "thames", "role": "subcontractor"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "holds no valid facility security clearance at SECRET" in html
    assert '<option value="thames" selected>' in html
    assert '<option value="subcontractor" selected>' in html
    assert client.post(url("participant_add", "aam"),
                       {"organisation": "albion", "role": "prime"}).status_code == 302
    participant = Participant.objects.get()

    # A milestone, marked done.
    assert client.post(url("milestone_add", "aam"), {
        "title_en": "Design review", "due_on": (today - dt.timedelta(days=2)).isoformat(),
    }).status_code == 302
    milestone = Milestone.objects.get()
    html = html_of(client.get(url("project", "aam")))
    assert re.search(r'<tr class="milestone overdue">\s*<td>Design review', html)
    assert client.post(url("milestone_done", "aam", milestone.pk)).status_code == 302
    milestone.refresh_from_db()
    assert milestone.done_on == today
    html = html_of(client.get(url("project", "aam")))
    assert "Milestone done." in html
    assert re.search(r'<tr class="milestone">\s*<td>Design review', html)

    # A milestone without a title: the service's message, the date kept.
    response = client.post(url("milestone_add", "aam"), {"due_on": "2031-05-06"})
    assert response.status_code == 400
    assert "A milestone needs a title in English or Japanese." in response.content.decode()
    assert 'value="2031-05-06"' in response.content.decode()

    # Members: an unknown name is refused, a known one added and removed.
    response = client.post(url("member_add", "aam"), {"username": "nobody-here"})
    assert response.status_code == 400 and "No active user is called nobody-here." in \
        response.content.decode()
    assert client.post(url("member_add", "aam"), {"username": "outsider"}).status_code == 302
    assert verified_client(world.outsider).get(url("project", "aam")).status_code == 200
    assert client.post(url("member_remove", "aam"), {"username": "outsider"}).status_code == 302
    assert verified_client(world.outsider).get(url("project", "aam")).status_code == 404

    # Security instruction: revisions.
    for text in ("Rev one.", "Rev two."):
        assert client.post(url("security_instruction", "aam"),
                           {"text_en": text, "text_ja": "改訂"}).status_code == 302
    html = html_of(client.get(url("project", "aam")))
    assert "Rev two." in html and "Revision 2" in html and "Rev one." not in html

    # A document labelled by the guide's default entry, shown on the project and in exchange.
    response = client.post(url("project_document_new", "aam"), {
        "title_en": "Seeker design note", "body": "Body of the note."})
    assert response.status_code == 302
    document = Document.objects.get(title_en="Seeker design note")
    assert document.label == entry.label
    assert response["Location"] == reverse("exchange:document", args=[document.pk])
    html = html_of(client.get(url("project", "aam")))
    assert "Seeker design note" in html
    response = client.post(url("project_document_new", "aam"), {
        "title_en": "Both", "guide_entry": str(entry.pk), "label": MEETING_LABEL})
    assert response.status_code == 400
    assert "Choose a guide entry or type a label, not both." in response.content.decode()

    # Removing the participant, from another project's id, is a 404.
    other = services.propose_project(actor=world.uk_officer, code="other", lead_nation="GBR",
                                     label=LabelSpec.parse(MEETING_LABEL), name_en="Other")
    assert client.post(url("participant_remove", other.code, participant.pk)).status_code == 404
    assert client.post(url("participant_remove", "aam", participant.pk)).status_code == 302
    assert not Participant.objects.exists()


# ------------------------------------------------------------------ the panel


def test_minutes_are_not_final_after_one_co_chair_and_final_after_both(world):
    meeting = services.schedule_meeting(actor=world.secretary, held_on=TODAY(), place="London",
                                        label=LabelSpec.parse(MEETING_LABEL))
    meeting_url = url("meeting", meeting.pk)
    secretary = verified_client(world.secretary)
    response = secretary.post(url("minutes_write", meeting.pk), {"text_en": "", "text_ja": ""})
    assert response.status_code == 400
    assert "The minutes need text in English or Japanese." in response.content.decode()
    response = secretary.post(url("minutes_write", meeting.pk), {
        "text_en": "The panel reviewed the AAM proposal.", "text_ja": "議事録", "label": ""})
    assert response.status_code == 302

    uk_chair, jp_chair = verified_client(world.uk_chair), verified_client(world.jp_chair)
    html = html_of(uk_chair.get(meeting_url))
    assert "The panel reviewed the AAM proposal." in html and "議事録" in html
    assert "Approve revision 1 for my nation" in html
    assert secretary.post(url("minutes_approve", meeting.pk)).status_code == 302
    assert "Only a co-chair of the steering panel approves minutes." in html_of(
        secretary.get(meeting_url))

    assert uk_chair.post(url("minutes_approve", meeting.pk)).status_code == 302
    html = html_of(uk_chair.get(meeting_url))
    state = re.search(r'<p id="minutes-state".*?</p>', html, re.S).group(0)
    assert "Not final" in state and "Final since" not in state
    assert "approved by uk-chair" in html and "awaiting approval" in html
    assert "Approve revision 1 for my nation" not in html            # GBR has approved

    assert jp_chair.post(url("minutes_approve", meeting.pk)).status_code == 302
    html = html_of(jp_chair.get(meeting_url))
    assert "The minutes are final." in html
    state = re.search(r'<p id="minutes-state".*?</p>', html, re.S).group(0)
    assert "Final since" in state and "Not final" not in state
    assert "approved by jp-chair" in html and "awaiting approval" not in html

    # Final minutes are no longer offered for revision, and a revision is refused.
    html = html_of(secretary.get(meeting_url))
    assert url("minutes_write", meeting.pk) not in html
    response = secretary.post(url("minutes_write", meeting.pk), {"text_en": "Changed"})
    assert response.status_code == 400
    assert "These minutes are final" in response.content.decode()


def test_actions_and_attendance_on_the_meeting_page(world):
    meeting = services.schedule_meeting(actor=world.secretary, held_on=TODAY(), place="London",
                                        label=LabelSpec.parse(MEETING_LABEL))
    secretary = verified_client(world.secretary)
    assert secretary.post(url("attendance", meeting.pk),
                          {"usernames": "uk-chair, jp-chair\nsecretary"}).status_code == 302
    assert {u.username for u in meeting.attendees.all()} == {"uk-chair", "jp-chair", "secretary"}
    response = secretary.post(url("attendance", meeting.pk), {"usernames": "uk-chair ghost"})
    assert response.status_code == 400 and "No active user is called ghost." in \
        response.content.decode()

    yesterday = (TODAY() - dt.timedelta(days=1)).isoformat()
    response = secretary.post(url("action_add", meeting.pk), {
        "title": "Send the trade study", "owner": "uk-po", "due_on": yesterday,
        "project": "aam"})
    assert response.status_code == 302
    # A project the secretary may not see is not a choice.
    response = secretary.post(url("action_add", meeting.pk), {
        "title": "Typed action", "owner": "uk-po", "due_on": yesterday, "project": "nope"})
    assert response.status_code == 400 and "Typed action" in response.content.decode()

    officer = verified_client(world.uk_officer)
    for page in (url("panel"), url("dashboard"), url("meeting", meeting.pk)):
        html = html_of(officer.get(page))
        assert re.search(r'<tr class="(action )?overdue">\s*<td>Send the trade study', html), page
    action = meeting.actions.get()
    # The owner closes it.
    response = officer.post(url("action_close", meeting.pk, action.pk), {"status": "done"})
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == "done"
    assert "Send the trade study" not in html_of(officer.get(url("dashboard")))
    # Another meeting's id in the path is a 404.
    other = services.schedule_meeting(actor=world.secretary, held_on=TODAY(), by_video=True,
                                      label=LabelSpec.parse(MEETING_LABEL))
    assert officer.post(url("action_close", other.pk, action.pk),
                        {"status": "done"}).status_code == 404


def test_pages_need_a_verified_sign_in(world):
    from django.test import Client

    for name, args in (("projects", []), ("dashboard", []), ("panel", []),
                       ("project", ["aam"])):
        response = Client().get(url(name, *args))
        assert response.status_code == 302 and "/sign-in/" in response["Location"]


def test_pages_show_the_bilingual_fields_in_the_readers_language(world):
    meeting, _document = populate(world)
    services.set_security_instruction(actor=world.uk_officer, project=world.project,
                                      text_en="English instruction.", text_ja="日本語の指示。")
    client = verified_client(world.jp_officer)
    ja = {"Accept-Language": "ja"}
    html = html_of(client.get(url("project", "aam"), headers=ja))
    assert '<html lang="ja">' in html
    assert "<h1>新空対空ミサイル</h1>" in html
    assert '<p class="subtitle" lang="en">Advanced air-to-air missile feasibility</p>' in html
    assert html.index("日本語の指示。") < html.index("English instruction.")
    html = html_of(client.get(url("project", "aam")))
    assert "<h1>Advanced air-to-air missile feasibility</h1>" in html
    assert html.index("English instruction.") < html.index("日本語の指示。")
    for page in (url("projects"), url("dashboard"), url("panel"), url("meeting", meeting.pk),
                 url("project_new"), url("project_document_new", "aam")):
        assert client.get(page, headers=ja).status_code == 200, page
