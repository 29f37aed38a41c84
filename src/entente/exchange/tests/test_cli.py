"""`entente exchange` as a named user: the kernel decides and the audit log records exactly as for
the web; a forbidden id and a missing one cannot be told apart, not even by the exit status."""

from __future__ import annotations

import io
import json
import os
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from entente.core.models import Role
from entente.exchange import services
from entente.exchange.management.commands.exchange import Command
from entente.exchange.models import Document, Holding, ReleaseRequest, Transmission
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.testing import authority, make_user, organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "ben": make_user("ben", "GBR", clearance="SECRET"),
        "kenji": make_user("kenji", "JPN", org=organisation("jpn-atla", "JPN"),
                           clearance="GOKUHI"),
        "alice": make_user("alice", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                           roles=[Role.SECURITY_OFFICER]),
    }


def run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("exchange", *args, stdout=out, stderr=err)
    assert err.getvalue() == ""
    return out.getvalue()


def run_json(*args: str):
    return json.loads(run(*args, "--json"))


def failing(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("exchange", *args, stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""
    return str(caught.value), caught.value.returncode


def document(actor, label="GBR/SECRET|rel=GBR,JPN", title="Seeker trials", body="the body"):
    return services.create_document(actor=actor, label=LabelSpec.parse(label), title_en=title,
                                    body=body)


def test_create_with_an_attachment_then_download_round_trips_the_bytes(people, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("本文: trial results", encoding="utf-8")
    payload = os.urandom(3 * 1024 * 1024 + 17)  # several encryption chunks, a ragged end
    (tmp_path / "trial.bin").write_bytes(payload)
    made = run_json("create", "--as", "ben", "--label", "GBR/SECRET|rel=GBR,JPN",
                    "--title-en", "Seeker trials", "--title-ja", "シーカー試験",
                    "--body-file", str(body), "--attach", str(tmp_path / "trial.bin"))
    assert made["version"] == 1 and made["label"] == "GBR/SECRET|rel=GBR,JPN|cav=|com="
    [attachment] = made["attachments"]
    assert attachment["filename"] == "trial.bin" and attachment["size"] == len(payload)

    out = tmp_path / "copy.bin"
    printed = run("download", attachment["id"], "--as", "kenji", "--out", str(out))
    assert printed.startswith(f"{out}: {len(payload)} bytes [")
    assert out.read_bytes() == payload
    assert os.stat(out).st_mode & 0o077 == 0  # classified plaintext is not world-readable
    assert not (tmp_path / "copy.bin.part").exists()

    shown = run_json("show", made["id"], "--as", "kenji")
    assert shown["body"] == "本文: trial results" and shown["title_ja"] == "シーカー試験"
    assert [a["sha256"] for a in shown["attachments"]] == [attachment["sha256"]]

    # An existing file is never overwritten, and nothing is left behind.
    out.write_bytes(b"mine")
    message, code = failing("download", attachment["id"], "--as", "ben", "--out", str(out))
    assert code == 2 and "exists; not overwriting" in message
    assert out.read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["body.txt", "copy.bin", "trial.bin"]


def test_a_forbidden_id_and_a_missing_id_look_exactly_alike(people, tmp_path, monkeypatch,
                                                            capsys):
    secret = document(people["alice"], "GBR/TOP-SECRET|rel=GBR", title="Above ben")
    missing = str(uuid.uuid4())
    for verb in (("show",), ("request-release", "--to", "JPN", "--reason", "x"),
                 ("report-loss", "--description", "left on a train")):
        forbidden = failing(verb[0], str(secret.pk), *verb[1:], "--as", "ben")
        assert forbidden == failing(verb[0], missing, *verb[1:], "--as", "ben")
        assert forbidden == ("Not found.", 1)
    assert failing("show", "not-a-uuid", "--as", "ben") == ("Not found.", 1)

    # Through the real command line: the same stderr and the same exit status.
    monkeypatch.setattr(connections, "close_all", lambda: None)  # keep the test's transaction
    seen = []
    for document_id in (str(secret.pk), missing):
        with pytest.raises(SystemExit) as exited:
            Command().run_from_argv(["entente", "exchange", "show", document_id, "--as", "ben"])
        captured = capsys.readouterr()
        seen.append((exited.value.code, captured.out, captured.err))
    assert seen[0] == seen[1] == (1, "", "CommandError: Not found.\n")
    # Both probes are on record against ben, from the command line.
    denied = AuditEvent.objects.filter(actor="ben", allowed=False, source="cli")
    assert set(denied.values_list("object_id", flat=True)) >= {str(secret.pk), missing}


def test_send_refuses_a_document_not_releasable_to_the_recipient(people):
    uk_only = document(people["ben"], "GBR/SECRET|rel=GBR", title="UK eyes")
    message, code = failing("send", str(uk_only.pk), "--to", "jpn-atla", "--as", "ben")
    assert code == 2
    assert message == ("“UK eyes” is not releasable to JPN: ask the originator's security "
                       "authority for a release first.")
    assert not Transmission.objects.exists()
    assert failing("send", str(uk_only.pk), "--to", "nowhere", "--as", "ben") == (
        "Unknown organisation 'nowhere'.", 2)
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("exchange", "list", "--as", "nobody", stdout=io.StringIO())


def test_list_shows_only_the_documents_the_user_may_view(people):
    shared = document(people["ben"], title="Shared seeker study")
    document(people["alice"], "GBR/TOP-SECRET|rel=GBR", title="Top secret annex")
    document(people["kenji"], "JPN/GOKUHI|rel=JPN", title="日本のみ")
    page = run_json("list", "--as", "ben")
    assert page["count"] == 1 and [d["id"] for d in page["items"]] == [str(shared.pk)]
    table = run("list", "--as", "ben")
    assert "Shared seeker study" in table and "Top secret annex" not in table
    assert "1 of 1 document(s)" in table
    assert {d["title"] for d in run_json("list", "--as", "kenji")["items"]} == {
        "Shared seeker study", "日本のみ"}
    assert [d["title"] for d in run_json("list", "--as", "kenji", "--originator", "JPN")
            ["items"]] == ["日本のみ"]
    assert run_json("list", "--as", "alice", "--classification", "TOP-SECRET")["count"] == 1
    assert run_json("list", "--as", "ben", "--classification", "TOP-SECRET") == {
        "count": 0, "count_exact": True, "items": []}


def test_the_whole_exchange_from_the_command_line_is_audited_as_the_actor(people, tmp_path):
    shared = document(people["ben"], "GBR/SECRET|rel=GBR", title="Seeker trials")
    # Not yet releasable to Japan: ask the UK authority, which approves.
    asked = run_json("request-release", str(shared.pk), "--to", "JPN", "--reason", "joint work",
                     "--as", "ben")
    assert [r["id"] for r in run_json("requests", "--as", "alice")] == [asked["id"]]
    assert failing("decide", "release", asked["id"], "--approve", "--as", "kenji") == (
        "Not found.", 1)
    decided = run_json("decide", "release", asked["id"], "--approve", "--note", "ok",
                       "--as", "alice")
    assert decided["state"] == "approved" and "JPN" in decided["result_label"]
    assert ReleaseRequest.objects.get().state == "approved"

    sent = run_json("send", str(shared.pk), "--to", "jpn-atla", "--reference", "UKJ-1",
                    "--as", "ben")
    assert [i["document"] for i in sent["items"]] == [str(shared.pk)]
    assert "OVERDUE" not in run("transmissions", "--as", "kenji")
    assert run_json("transmissions", "--overdue", "--as", "kenji") == []
    assert "transmission.received" in run("notifications", "--as", "kenji")
    acknowledged = run_json("acknowledge", sent["id"], "--as", "kenji")
    assert acknowledged["acknowledged_at"]
    assert failing("acknowledge", sent["id"], "--as", "kenji")[1] == 2  # already done
    assert Holding.objects.filter(organisation__code="jpn-atla").exists()

    csv_path = tmp_path / "register.csv"
    assert run_json("register", "--csv", str(csv_path), "--as", "kenji")["rows"] == 1
    assert "Seeker trials" in csv_path.read_text(encoding="utf-8-sig")
    assert failing("register", "--csv", str(csv_path), "--as", "kenji")[1] == 2

    body = tmp_path / "v2.txt"
    body.write_text("second", encoding="utf-8")
    assert failing("add-version", str(shared.pk), "--body-file", str(body),
                   "--as", "kenji") == ("Not found.", 1)  # not the owning organisation
    assert run_json("add-version", str(shared.pk), "--body-file", str(body), "--note", "v2",
                    "--as", "ben")["version"] == 3  # 2 was the release
    assert run_json("show", str(shared.pk), "--version", "1", "--as", "ben")["body"] == \
        "the body"
    reported = run_json("report-loss", str(shared.pk), "--description", "left on a train",
                        "--as", "kenji")
    assert Document.objects.get(pk=shared.pk).compromised
    assert run_json("request-downgrade", str(shared.pk), "--to", "OFFICIAL", "--reason",
                    "old", "--as", "ben")["target"].endswith("OFFICIAL")

    cli = AuditEvent.objects.filter(source="cli")
    assert set(cli.values_list("actor", flat=True)) == {"ben", "kenji", "alice"}
    assert {("ben", "release.request"), ("alice", "release.approved"),
            ("ben", "transmission.send"), ("kenji", "transmission.acknowledge"),
            ("kenji", "register.export"), ("ben", "document.version"),
            ("kenji", "loss.report"), ("ben", "downgrade.request"),
            ("kenji", "access.edit")} <= set(cli.values_list("actor", "action"))
    assert cli.filter(actor="kenji", action="loss.report", object_id=reported["id"]).exists()


def test_a_request_is_withdrawn_from_the_command_line_only_by_its_requester(people):
    shared = document(people["ben"], "GBR/SECRET|rel=GBR", title="Seeker trials")
    asked = run_json("request-release", str(shared.pk), "--to", "JPN", "--reason", "joint work",
                     "--as", "ben")
    assert failing("withdraw", "release", asked["id"], "--as", "alice") == ("Not found.", 1)
    withdrawn = run_json("withdraw", "release", asked["id"], "--as", "ben")
    assert withdrawn["state"] == "withdrawn"
    assert ReleaseRequest.objects.get().state == "withdrawn"
    assert failing("withdraw", "release", asked["id"], "--as", "ben") == (
        "Only a submitted request can be withdrawn.", 2)
    assert failing("decide", "release", asked["id"], "--approve", "--as", "alice")[1] == 2
    events = AuditEvent.objects.filter(action="request.withdraw", source="cli")
    assert [(e.actor, e.allowed) for e in events.order_by("seq")] == [("alice", False),
                                                                       ("ben", True)]


def test_create_refuses_a_bad_label_and_a_label_above_the_creator(people, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("x", encoding="utf-8")
    common = ("--title-en", "T", "--body-file", str(body), "--as", "ben")
    message, code = failing("create", "--label", "SECRET", *common)
    assert code == 2 and "NATION/MARKING" in message
    message, code = failing("create", "--label", "GBR/TOP-SECRET|rel=GBR", *common)
    assert code == 2 and "may not create a document under this label" in message
    message, code = failing("create", "--label", "GBR/SECRET|rel=GBR", "--attach",
                            str(tmp_path / "absent.bin"), *common)
    assert code == 2 and "Cannot open" in message
    assert not Document.objects.exists()
    with pytest.raises(CommandError) as caught:
        call_command("exchange", "create", "--label", "GBR/SECRET|rel=GBR", *common,
                     "--language", "ja", "--title-en", " ", stdout=io.StringIO())
    assert caught.value.returncode == 2 and str(caught.value) != ""
