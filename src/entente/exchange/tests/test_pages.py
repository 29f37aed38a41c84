"""The exchange's server-rendered pages, driven as a person would drive them: signed in with
password and TOTP, plain form posts (multipart for files), every read through the kernel."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from entente.core.models import Nation, Role
from entente.exchange import services
from entente.exchange.models import Document, ReleaseRequest, Transmission
from entente.security.labels import LabelSpec
from entente.testing import authority, make_user, organisation, verified_client

pytestmark = pytest.mark.django_db

SECRET = "GBR/SECRET|rel=GBR,JPN"
FILE_BYTES = bytes(range(256)) * 300 + "共同研究\n".encode()


@pytest.fixture
def author():
    return make_user("author", "GBR", clearance="SECRET")


@pytest.fixture
def jpn_reader():
    return make_user("tanaka", "JPN", clearance="GOKUHI")


def create(actor, label=SECRET, **fields) -> Document:
    fields.setdefault("title_en", "Exercise report")
    fields.setdefault("body", "Body text.")
    return services.create_document(actor=actor, label=LabelSpec.parse(label), **fields)


def banners(html: str) -> list[str]:
    return re.findall(r'<div class="label-banner"', html)


def test_create_through_the_page_with_a_file_and_download_it_back(author):
    client = verified_client(author)
    page = client.get(reverse("exchange:document_new"))
    assert page.status_code == 200
    assert b"exchange/upload.js" in page.content           # progress script, self-hosted
    assert b"<script>" not in page.content                 # nothing inline (CSP)

    response = client.post(reverse("exchange:document_new"), {
        "classification": "SECRET", "releasable_to": ["JPN"], "title_en": "Joint study",
        "title_ja": "共同研究の報告", "summary_en": "Summary", "body": "本文：共同研究について。",
        "attachments": [SimpleUploadedFile("data.bin", FILE_BYTES, "application/octet-stream"),
                        SimpleUploadedFile("notes.txt", b"second file", "text/plain")],
    })
    assert response.status_code == 302
    document = Document.objects.get()
    assert response["Location"] == reverse("exchange:document", args=[document.pk])
    assert document.label.canonical == "GBR/SECRET|rel=GBR,JPN|cav=|com="   # originator added

    detail = client.get(response["Location"])
    html = detail.content.decode()
    assert "Document created." in html
    assert "本文：共同研究について。" in html and "data.bin" in html and "notes.txt" in html
    attachment = document.versions.get().attachments.get(filename="data.bin")
    download_url = reverse("exchange:attachment", args=[attachment.pk])
    assert download_url in html

    download = client.get(download_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == FILE_BYTES
    assert download["X-Entente-Label"] == document.label.canonical
    assert 'filename="data.bin"' in download["Content-Disposition"]


def test_the_upload_script_is_told_where_to_go_instead_of_following_a_redirect(author):
    client = verified_client(author)
    response = client.post(reverse("exchange:document_new"), {
        "classification": "SECRET", "title_en": "By script", "body": "x",
        "attachments": [SimpleUploadedFile("a.txt", b"abc")]},
        headers={"X-Requested-With": "XMLHttpRequest"})
    document = Document.objects.get()
    assert response.status_code == 200
    assert response["X-Entente-Redirect"] == reverse("exchange:document", args=[document.pk])
    # the success message waits for the page the browser then loads
    assert "Document created." in client.get(response["X-Entente-Redirect"]).content.decode()


def test_detail_shows_the_banner_top_and_bottom_and_the_japanese_equivalent(author, jpn_reader):
    document = create(author)
    html = verified_client(author).get(reverse("exchange:document", args=[document.pk])) \
        .content.decode()
    assert len(banners(html)) == 2
    assert html.count("<strong>GBR SECRET</strong>") == 2
    body_at = html.index("Body text.")
    assert html.index('class="label-banner"') < body_at < html.rindex('class="label-banner"')

    html = verified_client(jpn_reader).get(reverse("exchange:document", args=[document.pk])) \
        .content.decode()
    assert len(banners(html)) == 2
    assert html.count("JPN SECRET (Gokuhi)") == 2               # protected as, in JPN's scheme
    html = verified_client(jpn_reader).get(reverse("exchange:document", args=[document.pk]),
                                           headers={"Accept-Language": "ja"}).content.decode()
    assert html.count("GBR 極秘") == 2 and html.count("JPN 極秘") == 2


def test_a_forbidden_id_and_a_missing_id_give_the_same_404(author):
    reader = make_user("reader", "GBR")                   # no clearance: not SECRET
    document = create(author)
    client = verified_client(reader)
    urls = [reverse("exchange:document", args=[document.pk]),
            reverse("exchange:document", args=[uuid.uuid4()]),
            reverse("exchange:document", args=["not-a-uuid"]),
            reverse("exchange:version", args=[document.pk, 1]),
            reverse("exchange:release_new", args=[document.pk]),
            reverse("exchange:attachment", args=[uuid.uuid4()])]
    responses = [client.get(url) for url in urls]
    assert {r.status_code for r in responses} == {404}
    assert len({r.content for r in responses}) == 1
    assert b"Exercise report" not in responses[0].content
    # and the author, who may, sees it; version 0 is no version
    assert verified_client(author).get(urls[0]).status_code == 200
    assert verified_client(author).get(
        reverse("exchange:version", args=[document.pk, 0])).status_code == 404


@pytest.mark.parametrize(("fields", "message"), [
    ({"caveats": ["uk-eyes-only"], "releasable_to": ["JPN"], "title_en": "Typed title"},
     "UK EYES ONLY cannot be released to other nations"),
    ({"title_en": "", "title_ja": "", "summary_en": "Typed summary"},
     "A document needs a title in English or Japanese."),
    ({"classification": "TOP-SECRET", "title_en": "Typed title"},
     "You may not create a document under this label"),
])
def test_a_form_error_reshows_the_form_with_the_input_and_creates_nothing(author, fields,
                                                                          message):
    data = {"classification": "SECRET", "body": "Typed body", **fields,
            "attachments": [SimpleUploadedFile("a.txt", b"abc")]}
    response = verified_client(author).post(reverse("exchange:document_new"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "Typed body" in html
    if fields.get("title_en"):
        assert 'value="Typed title"' in html
    if fields.get("summary_en"):
        assert "Typed summary" in html
    assert not Document.objects.exists()


def test_list_search_filters_count_and_markings(author):
    create(author, title_en="Harbour visit", body="Kestrel convoy")
    create(author, label="GBR/OFFICIAL|rel=GBR,JPN", title_ja="共同研究の議事録", title_en="")
    client = verified_client(author)
    html = client.get(reverse("exchange:documents")).content.decode()
    assert "2 documents" in html and len(banners(html)) == 2
    html = client.get(reverse("exchange:documents"), {"classification": "OFFICIAL"}) \
        .content.decode()
    assert "1 document" in html and "共同研究の議事録" in html and "Harbour visit" not in html
    html = client.get(reverse("exchange:documents"), {"originator": "JPN"}).content.decode()
    assert "0 documents" in html
    html = client.get(reverse("exchange:documents"), {"updated_from": "not a date"}) \
        .content.decode()
    assert "Enter a valid date." in html


def test_transmission_and_acknowledgement_through_the_pages(author, jpn_reader):
    jpn_org = organisation("jpn-mod", "JPN")
    assert jpn_reader.organisation == jpn_org
    document = create(author)
    sender = verified_client(author)
    form = sender.get(reverse("exchange:transmission_new"), {"document": document.pk})
    assert form.status_code == 200 and "Exercise report" in form.content.decode()
    assert "jpn-mod" in form.content.decode() and 'value="gbr-mod"' not in form.content.decode()

    response = sender.post(reverse("exchange:transmission_new"), {
        "candidate": [document.pk], "documents": [document.pk], "recipient": "jpn-mod",
        "channel": "in_system", "reference": "REF-1"})
    transmission = Transmission.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exchange:transmission", args=[transmission.pk])
    assert "awaiting acknowledgement" in sender.get(response["Location"]).content.decode()

    receiver = verified_client(jpn_reader)
    listing = receiver.get(reverse("exchange:transmissions")).content.decode()
    assert reverse("exchange:transmission", args=[transmission.pk]) in listing
    inbox = receiver.get(reverse("exchange:notifications")).content.decode()
    assert "Documents were sent to your organisation." in inbox
    page = receiver.get(reverse("exchange:transmission", args=[transmission.pk])).content.decode()
    assert "Acknowledge receipt" in page and "Exercise report" in page
    # the sender cannot acknowledge its own transmission
    assert sender.post(reverse("exchange:transmission_acknowledge",
                               args=[transmission.pk])).status_code == 404

    response = receiver.post(reverse("exchange:transmission_acknowledge",
                                     args=[transmission.pk]), follow=True)
    html = response.content.decode()
    assert "Receipt acknowledged" in html and "Acknowledge receipt" not in html
    transmission.refresh_from_db()
    assert transmission.acknowledged_by == jpn_reader
    register = receiver.get(reverse("exchange:register")).content.decode()
    assert "Exercise report" in register
    csv = receiver.get(reverse("exchange:register_csv"))
    assert csv["Content-Type"].startswith("text/csv") and "Exercise report" in \
        csv.content.decode("utf-8-sig")
    # a second acknowledgement is an error shown to the user, not a crash
    again = receiver.post(reverse("exchange:transmission_acknowledge", args=[transmission.pk]),
                          follow=True)
    assert "already acknowledged" in again.content.decode()


def test_a_transmission_form_error_keeps_the_input_and_sends_nothing(author):
    document = create(author)
    organisation("jpn-mod", "JPN")
    response = verified_client(author).post(reverse("exchange:transmission_new"), {
        "candidate": [document.pk], "documents": [], "recipient": "jpn-mod",
        "channel": "courier", "reference": "Kept reference"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="Kept reference"' in html and "This field is required." in html
    assert not Transmission.objects.exists()


def test_release_request_approved_by_the_originators_security_officer(author, jpn_reader):
    Nation.objects.get_or_create(code="AUS", defaults={"name_en": "Australia"})
    document = create(author)
    requester = verified_client(jpn_reader)
    page = requester.get(reverse("exchange:release_new", args=[document.pk])).content.decode()
    assert len(banners(page)) == 2 and 'value="AUS"' in page and 'value="JPN"' not in page

    empty = requester.post(reverse("exchange:release_new", args=[document.pk]),
                           {"to_nation": "AUS", "reason": " "})
    assert empty.status_code == 400 and "Say why the release is needed." in empty.content.decode()
    response = requester.post(reverse("exchange:release_new", args=[document.pk]),
                              {"to_nation": "AUS", "reason": "Trilateral trial"})
    assert response.status_code == 302 and response["Location"] == reverse("exchange:requests")
    made = ReleaseRequest.objects.get()
    mine = requester.get(reverse("exchange:requests")).content.decode()
    assert "Trilateral trial" in mine and "Withdraw" in mine and "Approve" not in mine

    officer = make_user("nso", "GBR", org=authority("GBR"), clearance="SECRET",
                        roles=[Role.SECURITY_OFFICER])
    decider = verified_client(officer)
    queue = decider.get(reverse("exchange:requests")).content.decode()
    assert "Approve" in queue and "Withdraw" not in queue
    # the requester may not decide (same 404 as for an unknown request)
    assert requester.post(reverse("exchange:request_decide", args=["release", made.pk]),
                          {f"{made.pk}-note": "", "decision": "approve"}).status_code in {400, 404}
    made.refresh_from_db()
    assert made.state == "submitted"

    response = decider.post(reverse("exchange:request_decide", args=["release", made.pk]),
                            {f"{made.pk}-note": "Agreed at the JSC", "decision": "approve"},
                            follow=True)
    assert "Request approved." in response.content.decode()
    made.refresh_from_db()
    assert made.state == "approved"
    html = decider.get(reverse("exchange:document", args=[document.pk])).content.decode()
    assert "GBR/SECRET|rel=AUS,GBR,JPN|cav=|com=" in html          # the new version's label
    assert "GBR/SECRET|rel=GBR,JPN|cav=|com=" in html              # the old one, in history
    assert "Released to AUS" in html
    old = decider.get(reverse("exchange:version", args=[document.pk, 1])).content.decode()
    assert "REL GBR/JPN" in old and len(banners(old)) == 2
    # deciding twice is a form error on the requests page, the note kept
    again = decider.post(reverse("exchange:request_decide", args=["release", made.pk]),
                         {f"{made.pk}-note": "Typed note", "decision": "refuse"})
    assert again.status_code == 400
    assert "already approved" in again.content.decode()


def test_new_version_keeps_files_and_old_versions(author):
    document = create(author, files=[services.IncomingFile(
        "a.txt", "text/plain", __import__("io").BytesIO(b"first"))])
    client = verified_client(author)
    form = client.get(reverse("exchange:version_new", args=[document.pk]))
    assert "Body text." in form.content.decode() and len(banners(form.content.decode())) == 2
    response = client.post(reverse("exchange:version_new", args=[document.pk]), {
        "body": "Second body", "note": "Revised", "keep_attachments": "on",
        "attachments": [SimpleUploadedFile("b.txt", b"second")]})
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "Second body" in html and "a.txt" in html and "b.txt" in html and "Revised" in html
    assert "Body text." in client.get(reverse("exchange:version", args=[document.pk, 1])) \
        .content.decode()
    reader = make_user("jpn-editor", "JPN", clearance="GOKUHI")
    assert verified_client(reader).get(
        reverse("exchange:version_new", args=[document.pk])).status_code == 404


def test_loss_report_through_the_pages(author):
    document = create(author)
    client = verified_client(author)
    form = client.get(reverse("exchange:loss_report_new"), {"document": document.pk})
    assert "Exercise report" in form.content.decode()
    missing = client.post(reverse("exchange:loss_report_new"), {
        "candidate": [document.pk], "documents": [document.pk], "description": ""})
    assert missing.status_code == 400 and "Describe what happened." in missing.content.decode()
    response = client.post(reverse("exchange:loss_report_new"), {
        "candidate": [document.pk], "documents": [document.pk],
        "description": "Laptop left on a train"})
    assert response.status_code == 302
    report_url = response["Location"]
    page = client.get(report_url).content.decode()
    assert "Laptop left on a train" in page and "Investigation" not in page
    assert client.post(report_url, {"status": "closed"}).status_code == 404

    officer = make_user("nso", "GBR", org=authority("GBR"), clearance="SECRET",
                        roles=[Role.SECURITY_OFFICER])
    nsa = verified_client(officer)
    assert "Documents were" not in nsa.get(reverse("exchange:notifications")).content.decode()
    assert "A loss or compromise was reported." in \
        nsa.get(reverse("exchange:notifications")).content.decode()
    closed = nsa.post(report_url, {"status": "closed", "outcome": "", "findings": "Kept"})
    assert closed.status_code == 400
    assert "A closed investigation needs an outcome." in closed.content.decode()
    assert "Kept" in closed.content.decode()
    done = nsa.post(report_url, {"status": "closed", "outcome": "recovered",
                                 "findings": "Found"}, follow=True)
    assert "Report updated." in done.content.decode() and "Recovered" in done.content.decode()


def test_inbox_mark_read(author):
    organisation("jpn-mod", "JPN")
    receiver = make_user("sato", "JPN", clearance="GOKUHI")
    services.transmit(actor=author, documents=[create(author)],
                      recipient=receiver.organisation)
    client = verified_client(receiver)
    notification = receiver.organisation.notifications.get()
    assert "Mark read" in client.get(reverse("exchange:notifications")).content.decode()
    assert verified_client(author).post(
        reverse("exchange:notification_read", args=[notification.pk])).status_code == 404
    client.post(reverse("exchange:notification_read", args=[notification.pk]))
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_pages_need_a_verified_sign_in(author):
    from django.test import Client

    response = Client().get(reverse("exchange:documents"))
    assert response.status_code == 302 and "/sign-in/" in response["Location"]


def test_navigation_links(author):
    html = verified_client(author).get(reverse("core:home")).content.decode()
    for name in ("documents", "transmissions", "requests", "loss_reports", "notifications",
                 "register"):
        assert reverse(f"exchange:{name}") in html


def test_search_box_and_pagination(author, monkeypatch):
    from entente.exchange import search, selectors

    first = create(author, title_en="Harbour visit", body="Kestrel convoy")
    second = create(author, title_ja="日英協議", body="本日、化学防護の共同研究について協議した。")
    for document, body in ((first, "Kestrel convoy"),
                           (second, "本日、化学防護の共同研究について協議した。")):
        search.index_document(document, body)  # harmless once the services do it themselves
    client = verified_client(author)
    html = client.get(reverse("exchange:documents"), {"q": "共同研究"}).content.decode()
    assert "1 document" in html and "日英協議" in html and "Harbour visit" not in html
    html = client.get(reverse("exchange:documents"), {"q": "kestrel"}).content.decode()
    assert "1 document" in html and "Harbour visit" in html

    monkeypatch.setattr(selectors, "PAGE_SIZE", 1)
    page1 = client.get(reverse("exchange:documents"), {"originator": "GBR"}).content.decode()
    assert "Page 1 of 2" in page1 and "?originator=GBR&amp;page=2" in page1
    page2 = client.get(reverse("exchange:documents"), {"originator": "GBR", "page": "2"})
    assert "Page 2 of 2" in page2.content.decode()
    titles = {t for t in ("Harbour visit", "日英協議") if t in page1 + page2.content.decode()}
    assert len(titles) == 2
    assert client.get(reverse("exchange:documents"), {"page": "x"}).status_code == 200


def test_pdf_export_is_offered_once_the_exporter_exists(author, monkeypatch):
    from entente.exchange import views

    document = create(author)
    client = verified_client(author)
    url = reverse("exchange:document_pdf", args=[document.pk])
    monkeypatch.setattr(views, "_pdf_exporter", lambda: None)
    assert url not in client.get(reverse("exchange:document", args=[document.pk])) \
        .content.decode()
    assert client.post(url).status_code == 404

    calls = []

    def export_pdf(*, reader, document, version, body):
        calls.append((reader, document, version.number, body))
        return b"%PDF-1.7 fake", 42

    monkeypatch.setattr(views, "_pdf_exporter", lambda: export_pdf)
    assert url in client.get(reverse("exchange:document", args=[document.pk])).content.decode()
    assert client.get(url).status_code == 405              # an export is a recorded copy: POST
    response = client.post(url)
    assert response.status_code == 200 and response.content == b"%PDF-1.7 fake"
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{document.pk}-export-42.pdf"' in response["Content-Disposition"]
    assert response["X-Entente-Label"] == document.label.canonical
    assert calls == [(author, document, 1, "Body text.")]
    outsider = make_user("outsider", "GBR")
    assert verified_client(outsider).post(url).status_code == 404
    assert len(calls) == 1

    monkeypatch.undo()                                     # the real exporter, once it exists
    if views._pdf_exporter() is not None:
        real = client.post(url)
        assert real.status_code == 200 and real.content.startswith(b"%PDF")
        assert f'filename="{document.pk}-export-1.pdf"' in real["Content-Disposition"]
