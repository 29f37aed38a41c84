"""The cooperation API end to end, on the `world` of conftest: a project built through the API, a
non-member who holds TOP SECRET and still learns nothing of it (every project endpoint answers
exactly as for a project that does not exist), phases that move only by a panel decision, exact
cost shares, facility clearances of participants, and minutes final only when both co-chairs
approve."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.utils import timezone

from entente.api import api
from entente.cooperation.models import CostShare, Milestone, Participant, Phase, PhaseChange
from entente.security.models import AuditEvent, Membership
from entente.testing import make_user, verified_client

pytestmark = pytest.mark.django_db

MEETING_LABEL = "GBR/OFFICIAL|rel=GBR,JPN"
TODAY = timezone.localdate


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


@pytest.fixture
def built(world) -> dict[str, Any]:
    """The project given every part through the API, and a panel meeting about it."""
    officer, secretary = verified_client(world.uk_officer), verified_client(world.secretary)
    base = "/api/v1/projects/aam"
    entry = ok(officer, "post", f"{base}/guide", {
        "topic_en": "Seeker performance", "label": "GBR/SECRET|rel=GBR,JPN",
        "is_default": True}, 201)
    ok(officer, "post", f"{base}/participants", {"organisation": "albion", "role": "prime"}, 201)
    ok(officer, "put", f"{base}/cost-shares", {"GBR": "60.00", "JPN": "40.00"})
    milestone = ok(officer, "post", f"{base}/milestones", {
        "title_en": "Seeker trade study", "due_on": (TODAY() + dt.timedelta(days=10)).isoformat()},
        201)
    ok(officer, "put", f"{base}/security-instruction",
       {"text_en": "Each NSA protects the other's information as its own."})
    document = ok(officer, "post", f"{base}/documents",
                  {"title_en": "Seeker trade study: interim", "body": "Three seekers compared."},
                  201)
    meeting = ok(secretary, "post", "/api/v1/panel/meetings", {
        "held_on": TODAY().isoformat(), "place": "London", "label": MEETING_LABEL}, 201)
    meeting_path = f"/api/v1/panel/meetings/{meeting['id']}"
    item = ok(secretary, "post", f"{meeting_path}/agenda", {"project": "aam"}, 201)
    general = ok(secretary, "post", f"{meeting_path}/agenda",
                 {"title_en": "Any other business"}, 201)
    action = ok(secretary, "post", f"{meeting_path}/actions", {
        "title": "Draft the feasibility plan", "owner": "uk-po", "project": "aam",
        "due_on": (TODAY() - dt.timedelta(days=1)).isoformat()}, 201)
    return {"entry": entry, "milestone": milestone, "document": document, "meeting": meeting,
            "meeting_path": meeting_path, "item": item, "general": general, "action": action}


def _project_requests(key: str, built: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """Every project endpoint, with a body that a member allowed to act would get done."""
    base = f"/api/v1/projects/{key}"
    return [
        ("get", base, None),
        ("get", f"{base}/participants", None),
        ("post", f"{base}/participants", {"organisation": "albion", "role": "subcontractor"}),
        ("delete", f"{base}/participants/albion", None),
        ("get", f"{base}/members", None),
        ("post", f"{base}/members", {"username": "outsider"}),
        ("delete", f"{base}/members/jp-po", None),
        ("get", f"{base}/cost-shares", None),
        ("put", f"{base}/cost-shares", {"GBR": "50.00", "JPN": "50.00"}),
        ("get", f"{base}/milestones", None),
        ("post", f"{base}/milestones", {"title_en": "Probe", "due_on": "2030-01-01"}),
        ("post", f"{base}/milestones/{built['milestone']['id']}/done", None),
        ("get", f"{base}/security-instruction", None),
        ("put", f"{base}/security-instruction", {"text_en": "Overwritten"}),
        ("get", f"{base}/guide", None),
        ("post", f"{base}/guide", {"topic_en": "Probe", "label": "GBR/OFFICIAL|rel=GBR"}),
        ("get", f"{base}/documents", None),
        ("post", f"{base}/documents", {"title_en": "Probe", "body": "x"}),
        ("get", f"{base}/phases", None),
        ("get", f"{base}/decisions", None),
        ("get", f"{base}/contractors", None),
    ]


def test_a_non_member_learns_nothing_of_the_project(world, built):
    outsider = verified_client(world.outsider)  # TOP SECRET, project officer, not a member
    project = world.project
    before = AuditEvent.objects.filter(actor="outsider", allowed=False).count()
    for key in ("aam", str(project.pk)):
        missing_key = "no-such-project" if key == "aam" else str(uuid.uuid4())
        for (method, path, data), (_, missing_path, _) in zip(
                _project_requests(key, built), _project_requests(missing_key, built),
                strict=True):
            forbidden = _send(outsider, method, path, data)
            missing = _send(outsider, method, missing_path, data)
            assert forbidden.status_code == missing.status_code == 404, (method, path)
            assert forbidden.content == missing.content == b'{"detail": "Not found."}', path
    # Nothing was changed by any of those requests, and every probe is on record.
    assert list(project.participants.values_list("organisation__code", "role")) == [
        ("albion", "prime")]
    assert {s.nation_id: str(s.percent) for s in CostShare.objects.filter(project=project)} == {
        "GBR": "60.00", "JPN": "40.00"}
    assert Milestone.objects.get().done_on is None
    assert not Membership.objects.filter(user=world.outsider).exists()
    assert Membership.objects.filter(user=world.jp_officer, valid_until__gte=TODAY()).exists()
    assert project.guide.count() == 1 and project.documents.count() == 1
    assert AuditEvent.objects.filter(actor="outsider", allowed=False).count() - before >= 84

    # Lists and the dashboard hold nothing of it; the meeting only its general item.
    assert ok(outsider, "get", "/api/v1/projects") == {"count": 0, "items": []}
    assert ok(outsider, "get", "/api/v1/projects?q=missile") == {"count": 0, "items": []}
    assert ok(outsider, "get", "/api/v1/cooperation/dashboard") == {
        "projects": [], "upcoming_milestones": [], "overdue_actions": []}
    meeting = ok(outsider, "get", built["meeting_path"])
    assert [i["title_en"] for i in meeting["agenda"]] == ["Any other business"]
    assert meeting["decisions"] == [] and meeting["actions"] == []
    text = json.dumps(meeting, ensure_ascii=False)
    assert "aam" not in text and "missile" not in text and "ミサイル" not in text
    # Items, decisions and actions about the project are as unknown as missing ones.
    for forbidden_path, missing_path in (
            (f"/api/v1/panel/agenda-items/{built['item']['id']}/decisions",
             "/api/v1/panel/agenda-items/999999/decisions"),
            (f"/api/v1/panel/actions/{built['action']['id']}/close",
             "/api/v1/panel/actions/999999/close")):
        data = ({"kind": "defer"} if "decisions" in forbidden_path else {"status": "done"})
        forbidden, missing = (_send(outsider, "post", p, data) for p in (forbidden_path,
                                                                         missing_path))
        assert forbidden.status_code == missing.status_code == 404
        assert forbidden.content == missing.content
    # The document made from the guide is no more visible in the exchange.
    document = outsider.get(f"/api/v1/documents/{built['document']['id']}")
    assert document.status_code == 404


def test_a_member_sees_the_real_data(world, built):
    member = verified_client(world.jp_officer)
    base = "/api/v1/projects/aam"
    detail = ok(member, "get", base)
    assert (detail["code"], detail["phase"], detail["lead_nation"], detail["owner"]) == (
        "aam", "proposal", "GBR", "gbr-mod")
    assert detail["name_ja"] == "新空対空ミサイル" and detail["next_phase"] == "identification"
    assert detail["label"] == "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN|cav=|com=aam"
    # The Japanese reader is shown the marking Japan protects it as.
    assert detail["banner"] == (
        "GBR OFFICIAL-SENSITIVE (JPN HANDLE WITH CARE (Toriatsukai Chui)) REL GBR/JPN")
    assert ok(member, "get", f"{base}/participants") == [{
        "organisation": "albion", "name": "albion", "nation": "GBR", "kind": "company",
        "role": "prime", "joined_on": TODAY().isoformat()}]
    assert ok(member, "get", f"{base}/cost-shares") == {"GBR": "60.00", "JPN": "40.00"}
    assert [(m["title_en"], m["done_on"], m["overdue"])
            for m in ok(member, "get", f"{base}/milestones")] == [
        ("Seeker trade study", None, False)]
    psi = ok(member, "get", f"{base}/security-instruction")
    assert (psi["revision"], psi["updated_by"]) == (1, "uk-po")
    assert psi["text_en"] == "Each NSA protects the other's information as its own."
    [entry] = ok(member, "get", f"{base}/guide")
    assert entry["label"] == "GBR/SECRET|rel=GBR,JPN|cav=|com=aam" and entry["is_default"]
    [document] = ok(member, "get", f"{base}/documents")
    assert (document["title_en"], document["label"]) == (
        "Seeker trade study: interim", entry["label"])  # labelled by the guide's default
    [contractor] = ok(member, "get", f"{base}/contractors")
    assert contractor["organisation"] == "albion"
    assert [c["level"] for c in contractor["facility_clearances"]] == ["GBR/SECRET"]
    assert {m["username"] for m in ok(member, "get", f"{base}/members")} == {
        "uk-po", "jp-po", "uk-chair", "jp-chair", "secretary"}
    listing = ok(member, "get", "/api/v1/projects?lead_nation=GBR&phase=proposal")
    assert listing["count"] == 1 and [p["code"] for p in listing["items"]] == ["aam"]
    assert ok(member, "get", "/api/v1/projects?phase=feasibility") == {"count": 0, "items": []}
    dashboard = ok(member, "get", "/api/v1/cooperation/dashboard")
    assert dashboard["projects"] == [{"phase": "proposal", "lead_nation": "GBR", "count": 1}]
    assert [(m["project"], m["title_en"]) for m in dashboard["upcoming_milestones"]] == [
        ("aam", "Seeker trade study")]
    assert [(a["title"], a["owner"], a["overdue"]) for a in dashboard["overdue_actions"]] == [
        ("Draft the feasibility plan", "uk-po", True)]
    meeting = ok(member, "get", built["meeting_path"])
    assert [(i["position"], i["project"], i["title_en"]) for i in meeting["agenda"]] == [
        (1, "aam", "Advanced air-to-air missile feasibility"), (2, None, "Any other business")]
    assert [a["project"] for a in meeting["actions"]] == ["aam"]
    # Every list the member was shown is on record, with the ids shown.
    shown = AuditEvent.objects.filter(actor="jp-po", action="access.list",
                                      object_type="cooperation.participant")
    assert shown.exists() and shown.last().details["ids"] == [
        str(Participant.objects.get().pk)]
    assert AuditEvent.objects.filter(actor="jp-po", action="access.list",
                                     object_type="cooperation.project").exists()


def test_a_project_changes_phase_only_through_a_panel_decision(world, built):
    # No operation takes a phase: the only way is a decision.
    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            ref = (operation.get("requestBody", {}).get("content", {})
                   .get("application/json", {}).get("schema", {}).get("$ref", ""))
            properties = (schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
                          .get("properties", {}) if ref else {})
            assert not {"phase", "to_phase"} & set(properties), (method, path)
            assert "phase" not in {p["name"] for p in operation.get("parameters", [])
                                   if method != "get"}, (method, path)
    officer = verified_client(world.uk_officer)
    assert _send(officer, "patch", "/api/v1/projects/aam", {"phase": "feasibility"}
                 ).status_code == 405
    decide = f"/api/v1/panel/agenda-items/{built['item']['id']}/decisions"
    # A project officer is not the panel: refused, and nothing moves.
    assert problem(officer, "post", decide, {"kind": "approve-project"}) == (
        "Only the steering panel's co-chairs and secretary may do this.")
    assert ok(officer, "get", "/api/v1/projects/aam")["phase"] == "proposal"

    chair = verified_client(world.uk_chair)
    decision = ok(chair, "post", decide, {"kind": "approve-project", "text": "Agreed."}, 201)
    assert (decision["kind"], decision["to_phase"], decision["project"]) == (
        "approve-project", "identification", "aam")
    assert ok(officer, "get", "/api/v1/projects/aam")["phase"] == "identification"
    [change] = ok(officer, "get", "/api/v1/projects/aam/phases")
    assert (change["from_phase"], change["to_phase"], change["decision"], change["changed_by"]
            ) == ("proposal", "identification", decision["id"], "uk-chair")
    assert problem(chair, "post", decide, {"kind": "approve-project"}) == (
        "Only a proposal can be approved as a project; this one is in Identification.")
    assert ok(verified_client(world.jp_chair), "post", decide,
              {"kind": "approve-phase"}, 201)["to_phase"] == "feasibility"
    ok(chair, "post", decide, {"kind": "defer", "text": "Costs to follow."}, 201)
    assert ok(officer, "get", "/api/v1/projects/aam")["phase"] == Phase.FEASIBILITY
    assert [(d["kind"], d["to_phase"]) for d in
            ok(officer, "get", "/api/v1/projects/aam/decisions")] == [
        ("approve-project", "identification"), ("approve-phase", "feasibility"), ("defer", "")]
    assert PhaseChange.objects.count() == 2
    # A decision on an item about no project cannot move anything.
    general = f"/api/v1/panel/agenda-items/{built['general']['id']}/decisions"
    assert "about no project" in problem(chair, "post", general, {"kind": "cancel"})


def test_cost_shares_that_do_not_add_up_to_100_change_nothing(world, built):
    officer = verified_client(world.uk_officer)
    path = "/api/v1/projects/aam/cost-shares"
    assert problem(officer, "put", path, {"GBR": "60.00", "JPN": "30.00"}) == (
        "Cost shares must add up to 100%; these add up to 90%.")
    assert problem(officer, "put", path, {"GBR": "60.005", "JPN": "39.995"}) == (
        "Shares have at most two decimal places (GBR: 60.005).")
    # Numbers are refused: a float cannot hold 33.33 exactly.
    assert "decimal string" in problem(officer, "put", path, {"GBR": 60, "JPN": "40.00"})
    assert "Unknown nation: XYZ" in problem(officer, "put", path, {"GBR": "50", "XYZ": "50"})
    assert ok(officer, "get", path) == {"GBR": "60.00", "JPN": "40.00"}
    assert ok(officer, "put", path, {"JPN": "66.67", "GBR": "33.33"}) == {
        "GBR": "33.33", "JPN": "66.67"}
    assert AuditEvent.objects.filter(action="project.cost_shares").count() == 2


def test_a_company_without_the_facility_clearance_cannot_take_part(world, built):
    officer = verified_client(world.uk_officer)
    path = "/api/v1/projects/aam/participants"
    # The guide uses GBR/SECRET; thames holds no facility clearance at all.
    assert problem(officer, "post", path, {"organisation": "thames", "role": "subcontractor"}) == (
        "thames holds no valid facility security clearance at SECRET, which this project's "
        "classification guide requires.")
    assert problem(officer, "post", path, {"organisation": "nobody", "role": "prime"}) == (
        "Unknown organisation 'nobody'.")
    assert [p["organisation"] for p in ok(officer, "get", path)] == ["albion"]
    # Nor can its people be made members.
    engineer = make_user("eng", "GBR", org=world.uncleared_company, clearance="SECRET")
    assert problem(officer, "post", "/api/v1/projects/aam/members",
                   {"username": engineer.username}) == (
        "thames does not take part in this project; add it as a participant first.")
    assert not Membership.objects.filter(user=engineer).exists()


def test_minutes_are_final_only_after_both_co_chairs_approve(world, built):
    secretary, uk, jp = (verified_client(u) for u in (world.secretary, world.uk_chair,
                                                      world.jp_chair))
    path = f"{built['meeting_path']}/minutes"
    # A label that does not name the project's community would reach non-members: refused.
    assert "does not protect them as well as the meeting" in problem(
        secretary, "put", path, {"text_en": "The AAM proposal was approved.",
                                 "label": MEETING_LABEL})
    minutes = ok(secretary, "put", path, {"text_en": "The AAM proposal was approved."})
    assert minutes["label"] == "GBR/OFFICIAL|rel=GBR,JPN|cav=|com=aam"
    assert (minutes["revision"], minutes["final"], minutes["approvals"]) == (1, False, [])
    assert problem(secretary, "post", f"{path}/approve") == (
        "Only a co-chair of the steering panel approves minutes.")
    first = ok(uk, "post", f"{path}/approve?revision=1")
    assert not first["final"] and [a["nation"] for a in first["approvals"]] == ["GBR"]
    assert problem(uk, "post", f"{path}/approve") == "GBR has already approved this revision."
    # A new revision withdraws the approval given so far.
    assert ok(secretary, "put", path, {"text_en": "The AAM proposal was approved (amended)."}
              )["approvals"] == []
    assert "changed since revision 1" in problem(jp, "post", f"{path}/approve?revision=1")
    assert not ok(jp, "post", f"{path}/approve?revision=2")["final"]
    final = ok(uk, "post", f"{path}/approve?revision=2")
    assert final["final"] and final["final_at"]
    assert sorted(a["nation"] for a in final["approvals"]) == ["GBR", "JPN"]
    assert problem(secretary, "put", path, {"text_en": "Changed"}) == (
        "These minutes are final: both co-chairs approved them.")
    assert ok(jp, "get", built["meeting_path"])["minutes"]["text_en"] == (
        "The AAM proposal was approved (amended).")
    # The outsider may see the meeting, but not minutes that speak of the project.
    assert ok(verified_client(world.outsider), "get", built["meeting_path"])["minutes"] is None
    assert _send(verified_client(world.outsider), "post", f"{path}/approve").content == \
        _send(verified_client(world.outsider), "post",
              f"/api/v1/panel/meetings/{uuid.uuid4()}/minutes/approve").content


def test_meetings_are_scheduled_by_panel_officers_only_and_hidden_like_missing_ones(world):
    officer, secretary = verified_client(world.uk_officer), verified_client(world.secretary)
    assert problem(officer, "post", "/api/v1/panel/meetings", {
        "held_on": "2030-01-01", "place": "London", "label": MEETING_LABEL}) == (
        "Only the steering panel's co-chairs and secretary may do this.")
    assert "NATION/MARKING" in problem(secretary, "post", "/api/v1/panel/meetings", {
        "held_on": "2030-01-01", "place": "London", "label": "SECRET"})
    uk_only = ok(secretary, "post", "/api/v1/panel/meetings", {
        "held_on": "2030-01-01", "by_video": True, "label": "GBR/SECRET|rel=GBR"}, 201)
    japanese = verified_client(world.jp_chair)
    forbidden = japanese.get(f"/api/v1/panel/meetings/{uk_only['id']}")
    missing = japanese.get(f"/api/v1/panel/meetings/{uuid.uuid4()}")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.content == missing.content
    assert japanese.get("/api/v1/panel/meetings").json() == {"count": 0, "items": []}
    assert [m["id"] for m in ok(officer, "get", "/api/v1/panel/meetings")["items"]] == [
        uk_only["id"]]
    panel = ok(officer, "get", "/api/v1/panel/members")
    assert {(m["username"], m["role"]) for m in panel} == {
        ("uk-chair", "co-chair"), ("jp-chair", "co-chair"), ("secretary", "secretary")}
