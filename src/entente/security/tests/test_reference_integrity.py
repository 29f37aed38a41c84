"""What labels rely on cannot be changed or removed underneath them (review findings 1–5)."""

from __future__ import annotations

import json

import pytest
from django.db.models import ProtectedError

from entente.security import audit, reference
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent, Caveat, Community
from entente.security.selectors import NotFound, record_for
from entente.security.services import create_sample_record
from entente.testing import community, make_user, organisation, verified_client

pytestmark = pytest.mark.django_db


def test_a_community_on_a_label_cannot_be_deleted_so_the_label_never_opens():
    community("proj-x")
    rec = create_sample_record(actor=None, owner=organisation("gbr-mod"), title="x", body="x",
                               label=LabelSpec.parse("GBR/SECRET|rel=GBR|com=proj-x"))
    outsider = make_user("outsider", "GBR", clearance="SECRET")
    with pytest.raises(ProtectedError):
        Community.objects.filter(code="proj-x").delete()
    with pytest.raises(NotFound):
        record_for(outsider, rec.pk)


def test_a_caveat_on_a_label_cannot_be_deleted():
    create_sample_record(actor=None, owner=organisation("gbr-mod"), title="x", body="x",
                         label=LabelSpec.parse("GBR/SECRET|rel=GBR|cav=crypto"))
    with pytest.raises(ProtectedError):
        Caveat.objects.filter(code="crypto").delete()


def _reload(tmp_path, mutate):
    data = json.loads((reference.DATA_DIR / "nations.json").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "nations.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return reference.load([path])


def test_reloading_cannot_change_who_satisfies_a_caveat(tmp_path):
    def make_crypto_eyes_only(data):
        next(c for c in data["caveats"] if c["code"] == "crypto")["eyes_only"] = "GBR"

    with pytest.raises(reference.ReferenceDataError, match="cannot change"):
        _reload(tmp_path, make_crypto_eyes_only)
    assert Caveat.objects.get(code="crypto").eyes_only_id is None


def test_reloading_cannot_change_what_a_marking_means(tmp_path):
    def raise_secret(data):
        gbr = next(n for n in data["nations"] if n["code"] == "GBR")
        next(m for m in gbr["markings"] if m["code"] == "SECRET")["level"] = 9

    with pytest.raises(reference.ReferenceDataError, match="cannot change"):
        _reload(tmp_path, raise_secret)


def test_reloading_may_correct_a_name(tmp_path):
    def rename(data):
        data["caveats"][2]["name_ja"] = "暗号"

    _reload(tmp_path, rename)
    assert Caveat.objects.get(code="crypto").name_ja == "暗号"


def test_admin_cannot_edit_a_caveats_identity_and_has_no_bulk_delete():
    admin_user = make_user("root", "GBR")
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client = verified_client(admin_user)
    crypto = Caveat.objects.get(code="crypto")
    page = client.get(f"/admin/security/caveat/{crypto.pk}/change/").content.decode()
    assert 'name="eyes_only"' not in page and 'name="code"' not in page
    assert 'name="name_en"' in page
    listing = client.get("/admin/security/community/").content.decode()
    assert "delete_selected" not in listing


def test_overlong_values_are_cut_not_lost():
    before = AuditEvent.objects.count()
    audit.record("auth.failed", object_type="user", object_id="u" * 150, allowed=False)
    event = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == before + 1 and event.object_id == "u" * 80
    assert audit.verify().ok
