"""`entente cooperation` as a named user: a project proposed, staffed, costed and taken through a
panel meeting to its next phase from the command line, with the same rules, the same audit and
the same "Not found." for a forbidden project as for a missing one."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from entente.cooperation.management.commands.cooperation import Command
from entente.cooperation.models import CostShare, Project
from entente.security.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("cooperation", *args, stdout=out, stderr=err)
    assert err.getvalue() == ""
    return out.getvalue()


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json"))


def failing(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("cooperation", *args, stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""
    return str(caught.value), caught.value.returncode


def test_a_project_from_proposal_to_its_next_phase(world, tmp_path):
    today = timezone.localdate()
    proposed = run_json("propose", "--code", "sea-sensor", "--lead-nation", "GBR",
                        "--label", "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN",
                        "--name-en", "Maritime sensor", "--name-ja", "海洋センサー",
                        "--as", "uk-po")
    assert (proposed["code"], proposed["phase"], proposed["label"]) == (
        "sea-sensor", "proposal", "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN|cav=|com=sea-sensor")
    assert run_json("add-member", "sea-sensor", "jp-po", "--as", "uk-po")["username"] == "jp-po"
    entry = run_json("add-guide", "sea-sensor", "--label", "GBR/SECRET|rel=GBR,JPN",
                     "--topic-en", "Sensor performance", "--default", "--as", "uk-po")
    assert entry["label"] == "GBR/SECRET|rel=GBR,JPN|cav=|com=sea-sensor"
    assert run_json("add-participant", "sea-sensor", "albion", "--role", "prime",
                    "--as", "uk-po")["role"] == "prime"
    assert run_json("shares", "sea-sensor", "--set", "GBR=60.00", "JPN=40.00",
                    "--as", "jp-po") == {"GBR": "60.00", "JPN": "40.00"}
    milestone = run_json("milestone", "add", "sea-sensor", "--title-en", "Trade study",
                         "--due", today.isoformat(), "--as", "uk-po")
    done = run_json("milestone", "done", "sea-sensor", str(milestone["id"]), "--as", "uk-po")
    assert done["done_on"] == today.isoformat()
    body = tmp_path / "body.txt"
    body.write_text("Three sensors compared.", encoding="utf-8")
    document = run_json("add-document", "sea-sensor", "--title-en", "Trade study: interim",
                        "--body-file", str(body), "--as", "uk-po")
    assert document["label"] == entry["label"]

    shown = run_json("show", "sea-sensor", "--as", "jp-po")
    assert shown["cost_shares"] == {"GBR": "60.00", "JPN": "40.00"}
    assert [p["organisation"] for p in shown["participants"]] == ["albion"]
    assert [(m["title_en"], m["done_on"]) for m in shown["milestones"]] == [
        ("Trade study", today.isoformat())]
    table = run("show", "sea-sensor", "--as", "jp-po")
    assert "Maritime sensor" in table and "GBR 60.00%, JPN 40.00%" in table
    assert table.startswith("GBR OFFICIAL-SENSITIVE (JPN ")

    # The panel takes it to its next phase; the decision is the only way it moves.
    meeting = run_json("schedule", "--on", today.isoformat(), "--place", "Tokyo",
                       "--label", "GBR/OFFICIAL|rel=GBR,JPN", "--as", "secretary")
    item = run_json("agenda", meeting["id"], "--project", "sea-sensor", "--as", "secretary")
    assert item["title_en"] == "Maritime sensor"
    decision = run_json("decide", str(item["id"]), "--kind", "approve-project",
                        "--text", "Agreed by both nations.", "--as", "jp-chair")
    assert (decision["project"], decision["to_phase"]) == ("sea-sensor", "identification")
    assert Project.objects.get(code="sea-sensor").phase == "identification"
    history = run_json("history", "sea-sensor", "--as", "uk-po")
    assert [(c["from_phase"], c["to_phase"], c["decision"]) for c in history["phases"]] == [
        ("proposal", "identification", decision["id"])]
    action = run_json("action", meeting["id"], "--title", "Circulate the plan",
                      "--owner", "uk-po", "--due", today.isoformat(), "--project", "sea-sensor",
                      "--as", "secretary")
    assert run_json("close-action", str(action["id"]), "--as", "uk-po")["status"] == "done"
    minutes = run_json("minutes", meeting["id"], "--text-en", "The sea sensor was approved.",
                       "--as", "secretary")
    assert minutes["label"] == "GBR/OFFICIAL|rel=GBR,JPN|cav=|com=sea-sensor"
    assert not run_json("approve-minutes", meeting["id"], "--as", "uk-chair")["final"]
    assert run_json("approve-minutes", meeting["id"], "--revision", "1",
                    "--as", "jp-chair")["final"]
    seen = run_json("meeting", meeting["id"], "--as", "jp-po")
    assert [d["kind"] for d in seen["decisions"]] == ["approve-project"]
    assert [(a["title"], a["status"]) for a in seen["actions"]] == [
        ("Circulate the plan", "done")]
    assert seen["minutes"]["final"] and seen["minutes"]["text_en"] == (
        "The sea sensor was approved.")
    assert "FINAL" in run("meeting", meeting["id"], "--as", "jp-po")
    assert [(m["username"], m["role"]) for m in run_json("panel", "--as", "outsider")] == [
        ("secretary", "secretary"), ("uk-chair", "co-chair"), ("jp-chair", "co-chair")]

    # The outsider (TOP SECRET, not a member) sees the meeting but nothing of the project.
    assert run_json("projects", "--as", "outsider") == {"count": 0, "items": []}
    outside = run_json("meeting", meeting["id"], "--as", "outsider")
    assert outside["agenda"] == outside["decisions"] == outside["actions"] == []
    assert outside["minutes"] is None
    for verb in (("show",), ("shares",), ("history",), ("members",),
                 ("add-member", "outsider"), ("shares", "--set", "GBR=50", "JPN=50")):
        forbidden = failing(verb[0], "sea-sensor", *verb[1:], "--as", "outsider")
        assert forbidden == failing(verb[0], "no-such-project", *verb[1:], "--as", "outsider")
        assert forbidden == ("Not found.", 1)
    assert failing("decide", str(item["id"]), "--kind", "defer", "--as", "outsider") == (
        "Not found.", 1)
    assert {s.nation_id: str(s.percent) for s in CostShare.objects.filter(
        project__code="sea-sensor")} == {"GBR": "60.00", "JPN": "40.00"}

    # Every change above is on record as its actor, from the command line.
    cli = AuditEvent.objects.filter(source="cli")
    assert {("uk-po", "project.propose"), ("uk-po", "project.guide.add"),
            ("uk-po", "project.participant.add"), ("jp-po", "project.cost_shares"),
            ("uk-po", "project.milestone.done"), ("secretary", "panel.meeting"),
            ("jp-chair", "panel.decision"), ("jp-chair", "project.phase"),
            ("secretary", "panel.minutes"), ("jp-chair", "panel.minutes.approve")} <= set(
        cli.values_list("actor", "action"))
    assert cli.filter(actor="outsider", allowed=False, object_type="cooperation.project").exists()


def test_errors_are_one_readable_line_and_a_non_zero_exit(world, monkeypatch, capsys):
    run("shares", "aam", "--set", "GBR=50", "JPN=50", "--as", "uk-po")
    assert failing("shares", "aam", "--set", "GBR=60", "JPN=30", "--as", "uk-po") == (
        "Cost shares must add up to 100%; these add up to 90%.", 2)
    assert failing("shares", "aam", "--set", "GBR", "--as", "uk-po") == (
        "Give each share as NATION=PERCENT (e.g. GBR=60.00), not 'GBR'.", 2)
    assert {s.nation_id: str(s.percent) for s in world.project.cost_shares.all()} == {
        "GBR": "50.00", "JPN": "50.00"}
    run("add-guide", "aam", "--label", "GBR/SECRET|rel=GBR,JPN", "--topic-en", "Seeker data",
        "--as", "uk-po")
    assert failing("add-participant", "aam", "thames", "--role", "subcontractor",
                   "--as", "uk-po") == (
        "thames holds no valid facility security clearance at SECRET, which this project's "
        "classification guide requires.", 2)
    assert failing("milestone", "add", "aam", "--title-en", "No date", "--as", "uk-po") == (
        "milestone add needs --due YYYY-MM-DD.", 2)
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("cooperation", "projects", "--as", "nobody", stdout=io.StringIO())

    # Through the real command line: one line on stderr, the exit status, no traceback.
    monkeypatch.setattr(connections, "close_all", lambda: None)  # keep the test's transaction
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["entente", "cooperation", "shares", "aam", "--set", "GBR=70",
                                 "JPN=40", "--as", "uk-po"])
    captured = capsys.readouterr()
    assert (exited.value.code, captured.out, captured.err) == (
        2, "", "CommandError: Cost shares must add up to 100%; these add up to 110%.\n")
    seen = []
    for project in ("aam", "no-such-project"):
        with pytest.raises(SystemExit) as exited:
            Command().run_from_argv(["entente", "cooperation", "show", project,
                                     "--as", "outsider"])
        captured = capsys.readouterr()
        seen.append((exited.value.code, captured.out, captured.err))
    assert seen[0] == seen[1] == (1, "", "CommandError: Not found.\n")
