"""A real browser (headless Chromium through Playwright) against the live server: sign in with
password and TOTP, upload a document with a Japanese title and body and a file (the upload script
under the real Content-Security-Policy), find it by a Japanese search, open it and download the
file back byte for byte."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.db import connection, connections

from entente.testing import PASSWORD, current_code, make_user

CHROMIUM = Path("/usr/bin/chromium")

try:
    from playwright.sync_api import sync_playwright

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

TITLE_JA = "日英共同研究の中間報告"
BODY = "本報告は「共同研究」の進捗をまとめたものである。\nSecond line in English."
FILE_BYTES = b"%PDF-not-really\n" + bytes(range(256)) * 64 + "「共同研究」".encode()


@pytest.fixture
def flushable_audit_log(transactional_db):
    """After a transactional test the database is flushed. PostgreSQL flushes with TRUNCATE,
    which the audit log's append-only triggers leave alone; SQLite flushes with DELETE, which
    they refuse. So on SQLite, empty the audit tables here (triggers lifted for that statement
    only and put back at once) before the flush runs."""
    yield
    if connection.vendor != "sqlite":
        return
    tables = ("security_auditevent", "security_auditcheckpoint")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        triggers = [(name, table, sql) for name, table, sql in cursor.fetchall()
                    if table in tables]
        for name, _table, _sql in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        try:
            for table in tables:
                cursor.execute(f'DELETE FROM "{table}"')
        finally:
            for _name, _table, sql in triggers:
                cursor.execute(sql)


@pytest.mark.django_db(transaction=True)
def test_upload_search_open_and_download_in_a_real_browser(live_server, settings, monkeypatch,
                                                           tmp_path, flushable_audit_log) -> None:
    # Plain HTTP on the live server: cookies cannot be Secure-only here.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    # Playwright's sync API keeps an event loop in this thread; the ORM calls made here between
    # browser steps are ordinary blocking calls all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    user = make_user("browser-author", "GBR", clearance="SECRET")
    upload = tmp_path / "probe.bin"
    upload.write_bytes(FILE_BYTES)

    csp_violations: list[str] = []
    posts: list[dict[str, str]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-background-networking"])
        try:
            context = browser.new_context(accept_downloads=True, locale="en-GB")
            page = context.new_page()
            page.on("console", lambda m: csp_violations.append(m.text)
                    if "Content Security Policy" in m.text else None)
            page.on("request", lambda r: posts.append(r.headers)
                    if r.method == "POST" and "/documents/new/" in r.url else None)

            # Sign in: password and the authenticator's current code.
            page.goto(f"{live_server.url}/documents/")
            assert "/sign-in/" in page.url
            page.fill("#id_username", user.username)
            page.fill("#id_password", PASSWORD)
            page.fill("#id_otp_token", current_code(user))
            page.click("button[type=submit]:has-text('Sign in')")
            page.wait_for_url(re.compile(r"/documents/$"))

            # Create, with a file; the upload script sends it and shows progress.
            page.click("a:has-text('New document')")
            page.wait_for_url(re.compile(r"/documents/new/$"))
            page.select_option("#id_classification", "SECRET")
            page.check("input[name=releasable_to][value=JPN]")
            page.fill("#id_title_ja", TITLE_JA)
            page.fill("#id_body", BODY)
            page.set_input_files("#id_attachments", str(upload))
            page.click("button[type=submit]:has-text('Create document')")
            page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}/$"))
            document_url = page.url
            assert page.locator("ul.messages").inner_text().strip() == "Document created."
            assert posts and posts[0].get("x-requested-with") == "XMLHttpRequest"
            assert page.locator(".label-banner").count() == 2

            # The search index: refreshed by the services once the integrator has wired
            # search.index_document into them; until then (and harmlessly after: an upsert)
            # the test refreshes it as test_search does.
            from entente.exchange import search
            from entente.exchange.models import Document

            search.index_document(Document.objects.get(), BODY)

            # Find it by a Japanese word inside a sentence, open it.
            page.goto(f"{live_server.url}/documents/")
            page.fill("#id_q", "共同研究")
            page.click("form[role=search] button[type=submit]")
            page.wait_for_url(re.compile(r"q=%E5%85%B1%E5%90%8C%E7%A0%94%E7%A9%B6"))
            assert "1 document" in page.locator("#total").inner_text()
            page.click(f"a:has-text('{TITLE_JA}')")
            page.wait_for_url(document_url)
            assert "「共同研究」" in page.locator(".body").inner_text()

            # Download the file back.
            with page.expect_download() as download_info:
                page.click("a:has-text('probe.bin')")
            download = download_info.value
            assert download.suggested_filename == "probe.bin"
            assert Path(download.path()).read_bytes() == FILE_BYTES
            context.close()  # ends the keep-alive connections, so the server's threads end
        finally:
            browser.close()
            # The ORM calls made inside this block ran in Playwright's context, on a connection
            # of their own: close it here, or it outlives the test and PostgreSQL cannot drop
            # the test database at the end of the run.
            connections.close_all()
    assert csp_violations == []
