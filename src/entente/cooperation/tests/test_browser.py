"""A real browser (headless Chromium through Playwright) against the live server: a joint project
walked from proposal through the steering panel's decisions to the feasibility phase, by four
people each signed in with password and TOTP in a browser context of their own. Only the people
and their panel seats are set up directly; every step of the walk is a real page and form."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from entente.cooperation import services
from entente.cooperation.models import (
    AgendaItem,
    DecisionKind,
    Meeting,
    PanelDecision,
    PanelRole,
    Phase,
    PhaseChange,
    Project,
)
from entente.core.models import Role
from entente.exchange.tests.test_browser import flushable_audit_log  # noqa: F401 - a fixture
from entente.testing import PASSWORD, authority, current_code, make_user

CHROMIUM = Path("/usr/bin/chromium")

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

    HAVE_PLAYWRIGHT = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_PLAYWRIGHT = False

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_PLAYWRIGHT,
                       reason="the playwright package is not installed (dev extra)"),
    pytest.mark.skipif(not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None,
                       reason="no /usr/bin/chromium (apt-get install chromium fonts-noto-cjk)"),
]

CODE = "gcap-seeker"
NAME_EN = "Joint seeker feasibility study"
NAME_JA = "共同シーカー実現可能性調査"
PROJECT_LABEL = "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN"
MEETING_LABEL = "GBR/OFFICIAL|rel=GBR,JPN"
APPROVED = "Approved as a joint project."
FEASIBILITY = "Feasibility study agreed."


def seat(actor: Any, user: Any, role: str) -> None:
    today = timezone.localdate()
    services.appoint_panel_member(actor=actor, user=user, role=role,
                                  valid_from=today - dt.timedelta(days=30),
                                  valid_until=today + dt.timedelta(days=365))


def signed_in(browser: Browser, base: str, user: Any, path: str,
              problems: list[str]) -> tuple[BrowserContext, Page]:
    """A browser context of its own for the user, signed in on the real sign-in page (password,
    then the authenticator's current code) on the way to ``path``."""
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.on("console", lambda m: problems.append(f"{user.username}: {m.text}")
            if "Content Security Policy" in m.text else None)
    page.goto(f"{base}{path}")
    assert "/sign-in/" in page.url
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(current_code(user))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(path) + "$"))
    return context, page


def messages_of(page: Page) -> str:
    return page.locator("ul.messages").inner_text().strip()


def record_decision(page: Page, item_id: str, kind: str, text: str) -> None:
    """On the meeting page, open the item's decision form, choose and record."""
    form = page.locator(f"#form-decision-{item_id}")
    form.locator("summary").click()
    form.get_by_label("Decision", exact=True).select_option(kind)
    form.get_by_label("Text of the decision").fill(text)
    form.get_by_role("button", name="Record decision").click()
    page.wait_for_url(re.compile(rf"/panel/meetings/[^/]+/#item-{item_id}$"))


@pytest.mark.django_db(transaction=True)
def test_a_project_goes_from_proposal_to_feasibility_in_a_real_browser(
        live_server, settings, monkeypatch, flushable_audit_log) -> None:  # noqa: F811
    # Plain HTTP on the live server: cookies cannot be Secure-only here.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    # Playwright's sync API keeps an event loop in this thread; the ORM calls made here between
    # browser steps are ordinary blocking calls all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    # The people: a panel (a co-chair per nation, a secretary) seated by their nations' security
    # officers, and a UK project officer who proposes.
    uk_so = make_user("uk-so", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                      roles=[Role.SECURITY_OFFICER])
    jp_so = make_user("jp-so", "JPN", org=authority("JPN"), clearance="KIMITSU",
                      roles=[Role.SECURITY_OFFICER])
    uk_chair = make_user("uk-chair", "GBR", clearance="SECRET")
    jp_chair = make_user("jp-chair", "JPN", clearance="GOKUHI")
    secretary = make_user("secretary", "GBR", clearance="SECRET")
    seat(uk_so, uk_chair, PanelRole.CO_CHAIR)
    seat(jp_so, jp_chair, PanelRole.CO_CHAIR)
    seat(uk_so, secretary, PanelRole.SECRETARY)
    officer = make_user("uk-po", "GBR", clearance="SECRET", roles=[Role.PROJECT_OFFICER])
    today = timezone.localdate().isoformat()
    base = live_server.url

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-background-networking"])
        contexts: list[BrowserContext] = []
        try:
            # (1) The project officer proposes the project through the form.
            context, po = signed_in(browser, base, officer, "/projects/", problems)
            contexts.append(context)
            expect(po.locator("#total")).to_have_text("0 projects")
            po.get_by_role("link", name="Propose a project").click()
            po.wait_for_url(re.compile(r"/projects/new/$"))
            po.get_by_label("Code", exact=True).fill(CODE)
            po.get_by_label("Name (English)").fill(NAME_EN)
            po.get_by_label("Name (Japanese)").fill(NAME_JA)
            po.get_by_label("Description (English)").fill("Seeker options for a joint missile.")
            po.get_by_label("Lead nation").select_option("GBR")
            po.get_by_label("Security label").fill(PROJECT_LABEL)
            po.get_by_role("button", name="Propose the project").click()
            po.wait_for_url(re.compile(rf"/projects/{CODE}/$"))
            project_url = po.url
            assert messages_of(po).startswith("Project proposed.")
            expect(po.get_by_role("heading", level=1)).to_have_text(NAME_EN)
            expect(po.locator("p.subtitle")).to_have_text(NAME_JA)
            expect(po.locator("#phase")).to_have_text("Proposal")
            expect(po.locator("#history")).to_contain_text(
                "No phase changes yet: the project is still a proposal.")
            po.get_by_role("link", name="Joint projects").click()
            po.wait_for_url(re.compile(r"/projects/$"))
            expect(po.locator("#total")).to_have_text("1 project")
            row = po.locator("table.projects tbody tr").filter(has_text=CODE)
            expect(row).to_contain_text(NAME_EN)
            expect(row).to_contain_text(NAME_JA)
            expect(row.locator("span.phase")).to_have_text("Proposal")

            # (2) The secretary schedules a meeting and puts the project on its agenda.
            context, sec = signed_in(browser, base, secretary, "/panel/", problems)
            contexts.append(context)
            meeting_form = sec.locator("#form-meeting")
            meeting_form.locator("summary").click()
            meeting_form.get_by_label("Date").fill(today)
            meeting_form.get_by_label("Place").fill("London")
            meeting_form.get_by_label("Security label").fill(MEETING_LABEL)
            meeting_form.get_by_role("button", name="Schedule meeting").click()
            sec.wait_for_url(re.compile(r"/panel/meetings/[^/]+/$"))
            meeting_path = sec.url.removeprefix(base)
            assert messages_of(sec) == "Meeting scheduled."
            expect(sec.get_by_role("heading", level=1)).to_have_text(
                f"Steering panel meeting of {today}")
            agenda_form = sec.locator("#form-agenda")
            agenda_form.locator("summary").click()
            agenda_form.get_by_label("Item (English)").fill("Seeker study: approval")
            agenda_form.get_by_label("About the project").select_option(CODE)
            agenda_form.get_by_role("button", name="Add item").click()
            sec.wait_for_url(re.compile(r"/panel/meetings/[^/]+/#agenda$"))
            assert messages_of(sec) == "Agenda item added."
            item = sec.locator("article.agenda-item").filter(has_text="Seeker study: approval")
            expect(item).to_have_count(1)
            expect(item.get_by_role("heading", level=3)).to_have_text("1. Seeker study: approval")
            expect(item.locator(".about")).to_contain_text(NAME_EN)
            expect(item.locator("span.phase")).to_have_text("Proposal")
            item_id = (item.get_attribute("id") or "").removeprefix("item-")
            assert item_id.isdigit(), item_id

            # (3) The UK co-chair approves the project; the Japanese co-chair the next phase.
            context, uk = signed_in(browser, base, uk_chair, "/panel/", problems)
            contexts.append(context)
            uk.locator("#meetings").get_by_role("link", name=today).click()
            uk.wait_for_url(re.compile(re.escape(meeting_path) + "$"))
            record_decision(uk, item_id, DecisionKind.APPROVE_PROJECT, APPROVED)
            assert messages_of(uk) == ("Decision recorded: the project is now in the "
                                       "Identification phase.")
            item = uk.locator(f"#item-{item_id}")
            expect(item.locator("li.decision")).to_have_count(1)
            expect(item.locator("li.decision")).to_contain_text(
                f"Approve project → Identification: {APPROVED}")
            expect(item.locator("span.phase")).to_have_text("Identification")

            context, jp = signed_in(browser, base, jp_chair, meeting_path, problems)
            contexts.append(context)
            record_decision(jp, item_id, DecisionKind.APPROVE_PHASE, FEASIBILITY)
            assert messages_of(jp) == ("Decision recorded: the project is now in the "
                                       "Feasibility phase.")
            item = jp.locator(f"#item-{item_id}")
            decisions = item.locator("li.decision")
            expect(decisions).to_have_count(2)
            expect(decisions.nth(0)).to_contain_text("Approve project → Identification")
            expect(decisions.nth(0)).to_contain_text("uk-chair")
            expect(decisions.nth(1)).to_contain_text(f"Approve phase → Feasibility: {FEASIBILITY}")
            expect(decisions.nth(1)).to_contain_text("jp-chair")
            expect(item.locator("span.phase")).to_have_text("Feasibility")

            # (4) The project officer, still signed in, reloads the project page.
            po.goto(project_url)
            expect(po.locator("#phase")).to_have_text("Feasibility")
            history = po.locator("#history tr.phase-change")
            expect(history).to_have_count(2)
            for row, (before, after, text) in zip(
                    (history.nth(0), history.nth(1)),
                    (("Proposal", "Identification", f"Approve project: {APPROVED}"),
                     ("Identification", "Feasibility", f"Approve phase: {FEASIBILITY}")),
                    strict=True):
                cells = row.locator("td")
                expect(cells.nth(1)).to_have_text(before)
                expect(cells.nth(2)).to_have_text(after)
                expect(cells.nth(3)).to_have_text(f"Panel meeting of {today}, London")
                expect(cells.nth(4)).to_have_text(text)
                expect(cells.nth(3).get_by_role("link")).to_have_attribute("href", meeting_path)
            expect(po.locator("#decisions tbody tr")).to_have_count(2)
            for context in contexts:
                context.close()  # ends the keep-alive connections, so the server's threads end
        finally:
            browser.close()
            # The ORM calls made inside this block ran in Playwright's context, on a connection
            # of their own: close it here, or it outlives the test and PostgreSQL cannot drop
            # the test database at the end of the run.
            connections.close_all()
    assert problems == []

    # What the pages showed is what the database holds.
    project = Project.objects.get(code=CODE)
    assert project.phase == Phase.FEASIBILITY
    assert (project.name_en, project.name_ja, project.lead_nation_id) == (NAME_EN, NAME_JA, "GBR")
    assert project.proposed_by == officer
    assert project.label.canonical.startswith("GBR/OFFICIAL-SENSITIVE")
    assert project.label.canonical.endswith(f"|com={CODE}")
    meeting = Meeting.objects.get()
    assert (meeting.held_on.isoformat(), meeting.place) == (today, "London")
    item_row = AgendaItem.objects.get()
    assert (item_row.meeting, item_row.project, str(item_row.pk)) == (meeting, project, item_id)
    assert [(d.kind, d.to_phase, d.recorded_by.username)
            for d in PanelDecision.objects.order_by("recorded_at", "id")] == [
        (DecisionKind.APPROVE_PROJECT, Phase.IDENTIFICATION, "uk-chair"),
        (DecisionKind.APPROVE_PHASE, Phase.FEASIBILITY, "jp-chair")]
    changes = PhaseChange.objects.filter(project=project).order_by("changed_at", "id")
    assert [(c.from_phase, c.to_phase, c.changed_by.username) for c in changes] == [
        (Phase.PROPOSAL, Phase.IDENTIFICATION, "uk-chair"),
        (Phase.IDENTIFICATION, Phase.FEASIBILITY, "jp-chair")]
