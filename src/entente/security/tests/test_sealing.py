"""Records are encrypted at rest under their label and identity; keys rotate without re-encryption."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from entente.security import crypto
from entente.security.keystore import keyring
from entente.security.labels import LabelSpec, make_label
from entente.security.models import AuditEvent, SampleRecord
from entente.security.services import create_sample_record, open_for, rotate_keys
from entente.testing import organisation

pytestmark = pytest.mark.django_db

SECRET_TEXT = "Seeker trade study: dual-mode RF/IIR preferred — 二重モード"


def _record(title: str = "doc", label: str = "GBR/SECRET|rel=GBR,JPN") -> SampleRecord:
    return create_sample_record(actor=None, owner=organisation("gbr-mod"), title=title,
                                body=SECRET_TEXT, label=LabelSpec.parse(label))


def test_body_is_stored_encrypted_and_decrypts_to_the_original():
    rec = SampleRecord.objects.get(pk=_record().pk)
    stored = bytes(rec.body)
    assert SECRET_TEXT.encode() not in stored
    assert b"Seeker" not in stored
    assert open_for(rec, stored).decode() == SECRET_TEXT
    sealed = crypto.Sealed.from_bytes(stored)
    assert sealed.envelope.kek_id == keyring().current_kek_id("GBR")


def test_changed_label_no_longer_decrypts():
    rec = _record()
    SampleRecord.objects.filter(pk=rec.pk).update(
        label=make_label(LabelSpec.parse("GBR/OFFICIAL|rel=GBR,JPN")))
    tampered = SampleRecord.objects.select_related("label").get(pk=rec.pk)
    with pytest.raises(crypto.IntegrityError):
        open_for(tampered, tampered.body)


def test_ciphertext_moved_to_another_record_does_not_decrypt():
    a, b = _record("a"), _record("b")
    SampleRecord.objects.filter(pk=b.pk).update(body=bytes(a.body))
    moved = SampleRecord.objects.select_related("label").get(pk=b.pk)
    with pytest.raises(crypto.IntegrityError):
        open_for(moved, moved.body)


def test_flipped_bit_does_not_decrypt():
    rec = _record()
    blob = bytearray(rec.body)
    blob[-5] ^= 0x01
    with pytest.raises(crypto.IntegrityError):
        open_for(rec, bytes(blob))


def test_rotation_rewraps_data_keys_and_leaves_payloads_alone():
    uk, jp = _record("uk"), _record("jp", "JPN/GOKUHI|rel=GBR,JPN")
    before_uk = crypto.Sealed.from_bytes(bytes(uk.body))
    before_jp = bytes(jp.body)
    old_kek = keyring().current_kek_id("GBR")
    counts = rotate_keys("GBR")
    assert counts["security.samplerecord"] == 1
    after_uk = SampleRecord.objects.select_related("label").get(pk=uk.pk)
    sealed = crypto.Sealed.from_bytes(bytes(after_uk.body))
    assert sealed.envelope.kek_id != old_kek == before_uk.envelope.kek_id
    assert sealed.envelope.kek_id == keyring().current_kek_id("GBR")
    assert (sealed.nonce, sealed.ciphertext) == (before_uk.nonce, before_uk.ciphertext)
    assert open_for(after_uk, after_uk.body).decode() == SECRET_TEXT
    assert bytes(SampleRecord.objects.get(pk=jp.pk).body) == before_jp  # other nation untouched
    event = AuditEvent.objects.filter(action="keys.rotate").get()
    assert event.details["rewrapped"]["security.samplerecord"] == 1


def test_cli_rotate_then_everything_still_decrypts():
    recs = [_record(str(i)) for i in range(3)]
    out = io.StringIO()
    call_command("keys", "rotate", "--nation", "GBR", stdout=out)
    assert "re-wrapped 3 data keys" in out.getvalue()
    for rec in SampleRecord.objects.select_related("label").filter(pk__in=[r.pk for r in recs]):
        assert open_for(rec, rec.body).decode() == SECRET_TEXT
