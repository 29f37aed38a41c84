"""Text with a NUL character is refused clearly before it reaches a view or the database."""

from __future__ import annotations

import pytest

from entente.exchange.models import ReleaseRequest
from entente.testing import make_user, verified_client

pytestmark = pytest.mark.django_db


def test_nul_in_query_form_json_or_path_is_refused_and_nothing_is_stored():
    client = verified_client(make_user("alice", "GBR", clearance="SECRET"))
    assert client.get("/api/v1/documents?q=a%00b").json() == {
        "detail": "Text must not contain NUL characters."}
    created = client.post("/api/v1/documents", {"label": "GBR/OFFICIAL|rel=GBR",
                                                "title_en": "x\x00y"})
    assert created.status_code == 422
    document = client.post("/api/v1/documents", {"label": "GBR/OFFICIAL|rel=GBR,JPN",
                                                 "title_en": "Fine"}).json()
    asked = client.post(f"/api/v1/documents/{document['id']}/release-requests",
                        {"to_nation": "A\x00", "reason": "r"}, content_type="application/json")
    assert asked.status_code == 422 and not ReleaseRequest.objects.exists()
    assert client.get("/api/v1/documents/%00").status_code == 404
    assert client.get("/documents/?q=%00").status_code == 400


def test_a_form_sent_to_a_json_operation_gets_a_clear_answer_not_a_server_error():
    client = verified_client(make_user("alice", "GBR", clearance="SECRET"))
    document = client.post("/api/v1/documents", {"label": "GBR/OFFICIAL|rel=GBR,JPN",
                                                 "title_en": "Fine"}).json()
    # Multipart, where the operation reads JSON: the NUL check has consumed the form already.
    asked = client.post(f"/api/v1/documents/{document['id']}/release-requests",
                        {"to_nation": "AUS", "reason": "r"})
    assert asked.status_code == 415
    assert "JSON body" in asked.json()["detail"]
    assert not ReleaseRequest.objects.exists()


def test_an_upload_over_the_limit_is_refused_clearly_before_it_is_read(settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from entente.core.middleware import UPLOAD_SLACK_BYTES
    from entente.exchange.models import Attachment, Document

    settings.ENTENTE_MAX_UPLOAD_BYTES = 1024
    client = verified_client(make_user("alice", "GBR", clearance="SECRET"))
    big = SimpleUploadedFile("big.bin", b"x" * (UPLOAD_SLACK_BYTES + 4096))
    response = client.post("/api/v1/documents", {"label": "GBR/OFFICIAL|rel=GBR",
                                                 "title_en": "Big", "files": [big]})
    assert response.status_code == 413
    assert "at most 1.0\xa0KB can be sent in one request" in response.json()["detail"]
    page = client.post("/documents/new/", {"title_en": "Big", "files": [
        SimpleUploadedFile("big.bin", b"x" * (UPLOAD_SLACK_BYTES + 4096))]})
    assert page.status_code == 413 and b"can be sent in one request" in page.content
    assert not Document.objects.exists() and not Attachment.objects.exists()
