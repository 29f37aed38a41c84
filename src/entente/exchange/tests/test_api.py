"""The exchange API end to end: multipart upload encrypted on arrival, download, PDF export,
bound label export and import, and identical answers for forbidden and missing ids."""

from __future__ import annotations

import hashlib
import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from entente.exchange.models import Attachment, Document
from entente.security.models import AuditEvent
from entente.testing import make_user, verified_client

pytestmark = pytest.mark.django_db

PAYLOAD = b"\x00binary\xff" * 50_000 + "共同研究".encode()


@pytest.fixture
def alice():
    return make_user("alice", "GBR", clearance="SECRET")


def _create(client, label="GBR/SECRET|rel=GBR,JPN", **extra):
    data = {"label": label, "title_en": "Seeker trials", "title_ja": "シーカー試験",
            "body": "本日、化学防護の共同研究について協議した。",
            "files": [SimpleUploadedFile("trial data.bin", PAYLOAD, "application/x-test")],
            **extra}
    return client.post("/api/v1/documents", data)


def test_upload_download_and_the_reader_sees_its_own_marking(alice):
    response = _create(verified_client(alice))
    assert response.status_code == 201, response.content
    created = response.json()
    attachment = created["attachments"][0]
    assert attachment["size"] == len(PAYLOAD)
    assert attachment["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()

    haruka = make_user("haruka", "JPN", clearance="GOKUHI")
    client = verified_client(haruka)
    detail = client.get(f"/api/v1/documents/{created['id']}").json()
    assert "JPN" in detail["banner"] and detail["body"].startswith("本日")
    download = client.get(f"/api/v1/attachments/{attachment['id']}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PAYLOAD
    assert download["X-Entente-Label"] == "GBR/SECRET|rel=GBR,JPN|cav=|com="
    assert "filename*=UTF-8''trial%20data.bin" in download["Content-Disposition"]
    assert AuditEvent.objects.filter(action="access.export", actor="haruka", allowed=True,
                                     object_id=attachment["id"]).exists()


def test_a_bad_label_is_a_clear_422_and_nothing_is_stored(alice):
    response = _create(verified_client(alice), label="GBR/SECRET|rel=GBR,JPN|cav=uk-eyes-only")
    assert response.status_code == 422
    assert "releasable-to must be GBR alone" in response.json()["detail"]
    assert not Document.objects.exists() and not Attachment.objects.exists()


def test_forbidden_and_missing_answer_alike_everywhere(alice):
    created = _create(verified_client(alice)).json()
    outsider = verified_client(make_user("yuki", "JPN", clearance="HI"))
    for path in ("/api/v1/documents/{}", "/api/v1/documents/{}/versions/1",
                 "/api/v1/documents/{}/pdf", "/api/v1/documents/{}/label"):
        forbidden = outsider.get(path.format(created["id"]))
        missing = outsider.get(path.format(uuid.uuid4()))
        assert forbidden.status_code == missing.status_code == 404, path
        assert forbidden.content == missing.content, path
    attachment = created["attachments"][0]["id"]
    assert outsider.get(f"/api/v1/attachments/{attachment}").content == \
        outsider.get(f"/api/v1/attachments/{uuid.uuid4()}").content
    listing = outsider.get("/api/v1/documents?q=Seeker").json()
    assert listing == {"count": 0, "count_exact": True, "items": []}


def test_pdf_export_is_marked_on_every_page_and_numbered_per_reader(alice):
    created = _create(verified_client(alice), body="Line of text.\n" * 400).json()
    client = verified_client(alice)
    first = client.get(f"/api/v1/documents/{created['id']}/pdf")
    second = client.get(f"/api/v1/documents/{created['id']}/pdf")
    assert first.status_code == 200 and first["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(second.content)).pages
    assert len(pages) > 1
    for page in pages:
        text = page.extract_text()
        assert text.count("GBR SECRET") >= 2
        assert created["id"] in text and "Export 2" in text
    numbers = [e.details["export_number"] for e in
               AuditEvent.objects.filter(action="document.export_pdf", actor="alice")]
    assert numbers == [1, 2]


def test_bound_label_exports_and_imports_only_when_it_verifies(alice):
    client = verified_client(alice)
    created = _create(client).json()
    binding = client.get(f"/api/v1/documents/{created['id']}/label")
    assert binding.status_code == 200
    assert b"urn:nato:stanag:4774" in binding.content
    digest = binding.content.split(b"DataReference")[1]  # the bound content hash travels with it
    content_sha256 = next(part.decode() for part in digest.replace(b">", b" ").replace(
        b"<", b" ").replace(b'"', b" ").split() if len(part) == 64)

    def verify(xml: bytes, sha: str):
        return client.post("/api/v1/labels/verify", {
            "binding": SimpleUploadedFile("label.xml", xml, "application/xml"),
            "content_sha256": sha})

    good = verify(binding.content, content_sha256)
    assert good.status_code == 200, good.content
    assert good.json() == {"label": "GBR/SECRET|rel=GBR,JPN|cav=|com="}
    tampered = binding.content.replace(b">SECRET<", b">OFFICIAL<")
    assert tampered != binding.content
    refused = verify(tampered, content_sha256)
    assert refused.status_code == 422 and "signature" in refused.json()["detail"].lower()
    assert verify(binding.content, "0" * 64).status_code == 422
