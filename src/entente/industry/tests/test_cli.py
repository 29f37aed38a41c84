"""`entente industry` as a named user: the same services and selectors as the web, the same
refusals, and a forbidden id that cannot be told from a missing one, not even by the exit
status."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.core.management import CommandError, call_command

from entente.industry.models import VisitRequest, VisitState
from entente.industry.tests.conftest import ask, days
from entente.security.models import AuditEvent, FacilityClearance

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("industry", *args, stdout=out, stderr=err)
    assert err.getvalue() == ""
    return out.getvalue()


def run_json(*args: str):
    return json.loads(run(*args, "--json"))


def failing(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("industry", *args, stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""
    return str(caught.value), caught.value.returncode


def test_a_visit_from_request_to_approval_and_the_day_list(world):
    made = run_json("request-visit", "--as", "ben", "--host", "jpn-heavy", "--site",
                    "Nagoya works", "--kind", "one_time", "--from", days(1).isoformat(),
                    "--until", days(2).isoformat(), "--purpose", "Trials", "--level", "HI",
                    "--label", "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN")
    assert made["state"] == "submitted" and made["level"] == "JPN/HI"
    pk = made["id"]
    assert failing("assure", pk, "--as", "jp-so") == (
        "Only the security authority of the visitor's nation (GBR) may assure the visitor's "
        "clearance.", 2)
    assert run_json("assure", pk, "--as", "uk-so")["state"] == "assured"
    message, code = failing("approve", pk, "--as", "uk-so")
    assert code == 2 and "host nation (JPN)" in message
    text = run("approve", pk, "--as", "jp-so", "--note", "Escorted")
    assert f"request for visit {pk}: approved" in text and "REL GBR/JPN" in text
    day = run_json("by-day", "--as", "hiro", "--from", days(1).isoformat(), "--until",
                   days(3).isoformat())
    assert [[v["id"] for s in d["sites"] for v in s["visits"]] for d in day] == [[pk], [pk], []]
    assert "Nagoya works" in run("by-day", "--as", "hiro", "--from", days(2).isoformat())
    assert [row["id"] for row in run_json("visits", "--as", "hiro")] == [pk]
    assert AuditEvent.objects.filter(action="visit.approve", source="cli", allowed=True).exists()


def test_forbidden_and_missing_visits_answer_alike(world):
    visit = ask(world)
    assert failing("visit", str(visit.pk), "--as", "olly") == ("Not found.", 1)
    assert failing("visit", str(uuid.uuid4()), "--as", "olly") == ("Not found.", 1)
    assert failing("withdraw", str(visit.pk), "--as", "olly") == ("Not found.", 1)
    assert failing("refuse", str(visit.pk), "--as", "hiro", "--reason", "x") == (
        "Not found.", 1)
    assert run_json("visits", "--as", "olly") == []
    assert VisitRequest.objects.get().state == VisitState.SUBMITTED


def test_refusals_of_the_rules_exit_2_with_the_reason(world):
    message, code = failing("request-visit", "--as", "ben", "--host", "jpn-heavy", "--site",
                            "Nagoya", "--kind", "one_time", "--from", days(1).isoformat(),
                            "--until", days(31).isoformat(), "--purpose", "x", "--level", "HI",
                            "--label", "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN")
    assert code == 2 and "at most 30 days; this one would last 31" in message
    message, code = failing("request-visit", "--as", "ben", "--host", "jpn-heavy", "--site",
                            "Nagoya", "--kind", "one_time", "--from", days(1).isoformat(),
                            "--until", days(2).isoformat(), "--purpose", "x", "--level", "HI",
                            "--label", "GBR/OFFICIAL-SENSITIVE|rel=GBR")
    assert code == 2 and "releasable to the host nation (JPN)" in message
    assert not VisitRequest.objects.exists()


def test_facility_clearances_from_the_command_line(world):
    granted = run_json("grant", "albion", "--as", "uk-so", "--site", "Filton", "--level",
                       "SECRET", "--storage", "SECRET", "--until", days(365).isoformat())
    assert (granted["level"], granted["storage_level"]) == ("GBR/SECRET", "GBR/SECRET")
    message, code = failing("grant", "albion", "--as", "uk-so", "--site", "Filton", "--level",
                            "SECRET", "--storage", "TOP-SECRET", "--until",
                            days(365).isoformat())
    assert code == 2 and "may not store material above" in message
    message, code = failing("grant", "albion", "--as", "jp-so", "--site", "Filton", "--level",
                            "SECRET", "--until", days(365).isoformat())
    assert code == 2 and "GBR's national security authority" in message
    register = run_json("facilities", "--as", "hiro")
    assert {(row["organisation"], row["site"]) for row in register} == {
        ("albion", "Filton"), ("jpn-heavy", "Nagoya works")}
    assert "Filton" in run("organisation", "albion", "--as", "ben")
    assert failing("organisation", "no-such", "--as", "ben") == ("Not found.", 1)
    revoked = run_json("revoke", str(granted["id"]), "--as", "uk-so", "--reason", "closed")
    assert revoked["valid_until"] == days(-1).isoformat() and revoked["valid_today"] is False
    assert FacilityClearance.objects.get(pk=granted["id"]).valid_until == days(-1)
    assert failing("revoke", "999999", "--as", "uk-so") == ("Not found.", 1)
