"""The exchange's obligations, enforced: versions, transmissions and receipts, originator control,
loss reports, the register, and uploads that fail leaving nothing behind."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.conf import settings
from django.utils import timezone

from entente.core.models import Role
from entente.exchange import selectors, services
from entente.exchange.models import (
    Attachment,
    Document,
    DocumentVersion,
    Holding,
    Notification,
    RequestState,
)
from entente.exchange.services import ExchangeError, IncomingFile
from entente.security import reference
from entente.security.kernel import Action, decide, may_receive
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.security.selectors import NotFound
from entente.testing import authority, make_user, organisation

pytestmark = pytest.mark.django_db

AUSTRALIA = {"nations": [{"code": "AUS", "name_en": "Australia", "name_ja": "オーストラリア",
                          "markings": [{"code": "SECRET", "name_en": "SECRET", "level": 3}]}]}


@pytest.fixture
def people(tmp_path):
    path = tmp_path / "aus.json"
    path.write_text(json.dumps(AUSTRALIA), encoding="utf-8")
    reference.load([path])
    return {
        "alice": make_user("alice", "GBR", clearance="SECRET"),
        "haruka": make_user("haruka", "JPN", clearance="GOKUHI"),
        "gbr_nsa": make_user("gbr-nsa", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                             roles=[Role.SECURITY_OFFICER]),
        "jpn_nsa": make_user("jpn-nsa", "JPN", org=authority("JPN"), clearance="KIMITSU",
                             roles=[Role.SECURITY_OFFICER]),
        "jpn_mod": organisation("jpn-mod", "JPN"),
        "aus_dod": organisation("aus-dod", "AUS"),
    }


def _doc(actor, label="GBR/SECRET|rel=GBR,JPN", body="the body", files=()):
    return services.create_document(actor=actor, label=LabelSpec.parse(label),
                                    title_en="Seeker trials", summary_en="summary", body=body,
                                    files=files)


def _file(data: bytes, name="data.bin") -> IncomingFile:
    return IncomingFile(name, "application/octet-stream", io.BytesIO(data))


def _read(user, attachment) -> bytes:
    found = selectors.attachment_for(user, attachment.pk)
    return b"".join(selectors.attachment_plaintext(found))


def test_versions_never_destroy_earlier_ones_and_attachments_carry_over(people):
    alice = people["alice"]
    document = _doc(alice, body="first", files=[_file(b"A" * 3000, "a.bin")])
    services.add_version(actor=alice, document=document, body="second", note="edited",
                         files=[_file(b"B" * 10, "b.bin")])
    document.refresh_from_db()
    assert document.current_version == 2
    v1 = selectors.version_for(alice, document, 1)
    v2 = selectors.version_for(alice, document, 2)
    assert selectors.version_body(v1) == "first" and selectors.version_body(v2) == "second"
    assert sorted(a.filename for a in v2.attachments.all()) == ["a.bin", "b.bin"]
    carried = v2.attachments.get(filename="a.bin")
    assert _read(alice, carried) == b"A" * 3000
    # Re-encrypted for the new version, not a shared ciphertext.
    assert carried.blob_name != v1.attachments.get().blob_name
    assert set(Holding.objects.filter(organisation=alice.organisation)
               .values_list("version_number", flat=True)) == {1, 2}


def test_only_the_owning_organisation_adds_versions(people):
    document = _doc(people["alice"])
    colleague_elsewhere = make_user("bob", "GBR", org=organisation("gbr-dstl", "GBR"),
                                    clearance="SECRET")
    with pytest.raises(NotFound):
        services.add_version(actor=colleague_elsewhere, document=document, body="x")
    assert DocumentVersion.objects.filter(document=document).count() == 1


def test_a_document_is_originated_by_the_creators_own_nation(people):
    with pytest.raises(ExchangeError, match="your own nation"):
        _doc(people["alice"], label="JPN/HI|rel=GBR,JPN")
    assert not Document.objects.exists()


def test_an_upload_that_fails_half_way_leaves_no_row_and_no_file(people):
    class Breaks(io.RawIOBase):
        def __init__(self):
            self.sent = 0

        def readable(self):
            return True

        def readinto(self, view):
            if self.sent > 3 * 1024 * 1024:
                raise ConnectionResetError("client went away")
            view[:] = b"s" * len(view)
            self.sent += len(view)
            return len(view)

    before = set(settings.BLOB_DIR.glob("**/*")) if settings.BLOB_DIR.exists() else set()
    with pytest.raises(ConnectionResetError):
        _doc(people["alice"], files=[_file(b"fine", "ok.bin"),
                                     IncomingFile("big.bin", "x/y", Breaks())])
    assert not Document.objects.exists() and not Attachment.objects.exists()
    after = set(settings.BLOB_DIR.glob("**/*")) if settings.BLOB_DIR.exists() else set()
    assert {p for p in after - before if p.is_file()} == set()


def test_transmission_needs_releasability_and_is_acknowledged_by_the_recipient(people):
    alice, haruka = people["alice"], people["haruka"]
    uk_only = _doc(alice, label="GBR/SECRET|rel=GBR")
    shared = _doc(alice)
    with pytest.raises(ExchangeError, match="not releasable to JPN"):
        services.transmit(actor=alice, documents=[uk_only], recipient=people["jpn_mod"])
    sent = services.transmit(actor=alice, documents=[shared], recipient=people["jpn_mod"],
                             channel="courier", reference="UKJP/2026/001")
    item = sent.items.get()
    assert item.label_canonical == shared.label.canonical and item.version_number == 1
    assert len(item.content_sha256) == 64
    assert Notification.objects.filter(organisation=people["jpn_mod"],
                                       kind="transmission.received").count() == 1
    # Not acknowledged yet: overdue once the configured days have passed.
    later = timezone.now() + dt.timedelta(days=services.acknowledgement_days() + 1)
    assert list(selectors.overdue_transmissions(alice, now=later)) == [sent]
    assert list(selectors.overdue_transmissions(alice)) == []
    with pytest.raises(NotFound):
        services.acknowledge(actor=alice, transmission=sent)  # the sender cannot
    services.acknowledge(actor=haruka, transmission=sent)
    assert list(selectors.overdue_transmissions(alice, now=later)) == []
    holding = Holding.objects.get(organisation=people["jpn_mod"])
    assert holding.transmission == sent and holding.document == shared
    assert AuditEvent.objects.filter(action="transmission.acknowledge", allowed=True,
                                     actor=haruka.username).exists()


def test_release_to_a_third_nation_waits_for_the_originators_authority(people):
    alice, haruka = people["alice"], people["haruka"]
    document = _doc(alice)
    aus = people["aus_dod"]
    assert not may_receive(aus, document)
    request = services.request_release(actor=haruka, document=document, to_nation="AUS",
                                       reason="Trilateral trial")
    # Submitted is not approved: the kernel keeps denying.
    with pytest.raises(ExchangeError, match="not releasable to AUS"):
        services.transmit(actor=alice, documents=[document], recipient=aus)
    # The receiving side, and even Japan's authority, cannot approve a UK document's release.
    for not_originator in (haruka, people["jpn_nsa"], alice):
        with pytest.raises(NotFound):
            services.decide_request(actor=not_originator, request=request, approve=True)
    assert Notification.objects.filter(organisation=authority("GBR"),
                                       kind="release.request").exists()
    services.decide_request(actor=people["gbr_nsa"], request=request, approve=True,
                            note="Agreed")
    request.refresh_from_db()
    document.refresh_from_db()
    assert request.state == RequestState.APPROVED
    assert "AUS" in document.label.canonical and document.current_version == 2
    # The old label stays in the history, on the version it was applied to.
    assert selectors.version_for(alice, document, 1).label == request.from_label
    assert may_receive(aus, document)
    with pytest.raises(ExchangeError, match="already approved"):
        services.decide_request(actor=people["gbr_nsa"], request=request, approve=False)


def test_downgrade_only_by_the_originators_authority_and_the_old_label_remains(people):
    alice, haruka = people["alice"], people["haruka"]
    document = _doc(alice, label="GBR/SECRET|rel=GBR,JPN", body="was secret")
    with pytest.raises(ExchangeError, match="not lower"):
        services.request_downgrade(actor=haruka, document=document, to_marking="TOP-SECRET",
                                   reason="?")
    request = services.request_downgrade(actor=haruka, document=document,
                                         to_marking="OFFICIAL", reason="Published")
    uncleared = make_user("uncleared", "JPN")
    with pytest.raises(NotFound):
        selectors.document_for(uncleared, document.pk)
    with pytest.raises(NotFound):
        services.decide_request(actor=people["jpn_nsa"], request=request, approve=True)
    services.decide_request(actor=people["gbr_nsa"], request=request, approve=True)
    # Now visible to the uncleared reader, who sees the new version but not the SECRET one.
    document = selectors.document_for(uncleared, document.pk)
    assert document.label.classification.code == "OFFICIAL"
    assert selectors.version_body(selectors.version_for(uncleared, document)) == "was secret"
    with pytest.raises(NotFound):
        selectors.version_for(uncleared, document, 1)
    assert [v.number for v in selectors.versions_of(uncleared, document)] == [2]
    assert [v.number for v in selectors.versions_of(alice, document)] == [2, 1]


def test_a_refused_or_withdrawn_request_changes_nothing(people):
    document = _doc(people["alice"])
    refused = services.request_downgrade(actor=people["haruka"], document=document,
                                         to_marking="OFFICIAL", reason="please")
    services.decide_request(actor=people["gbr_nsa"], request=refused, approve=False,
                            note="Still sensitive")
    withdrawn = services.request_release(actor=people["haruka"], document=document,
                                         to_nation="AUS", reason="maybe")
    with pytest.raises(NotFound):
        services.withdraw_request(actor=people["alice"], request=withdrawn)
    services.withdraw_request(actor=people["haruka"], request=withdrawn)
    document.refresh_from_db()
    assert document.label.canonical == "GBR/SECRET|rel=GBR,JPN|cav=|com="
    assert document.current_version == 1
    actions = list(AuditEvent.objects.filter(action__in=[
        "downgrade.refused", "request.withdraw"]).values_list("action", "allowed"))
    assert ("downgrade.refused", True) in actions and ("request.withdraw", False) in actions
    assert ("request.withdraw", True) in actions


def test_loss_report_flags_documents_and_tells_both_authorities(people):
    document = _doc(people["alice"])
    report = services.report_loss(actor=people["haruka"], documents=[document],
                                  description="Laptop left on a train")
    document.refresh_from_db()
    assert document.compromised
    told = set(Notification.objects.filter(kind="loss.report", object_id=str(report.pk))
               .values_list("organisation__code", flat=True))
    assert told == {"gbr-nsa", "jpn-nsa"}
    assert report in selectors.loss_reports_for(people["gbr_nsa"])
    assert report not in selectors.loss_reports_for(people["alice"])
    with pytest.raises(NotFound):
        services.update_loss_report(actor=people["alice"], report=report, status="closed",
                                    outcome="recovered")
    with pytest.raises(ExchangeError, match="needs an outcome"):
        services.update_loss_report(actor=people["gbr_nsa"], report=report, status="closed")
    services.update_loss_report(actor=people["gbr_nsa"], report=report, status="closed",
                                outcome="recovered", findings="Found at lost property")
    report.refresh_from_db()
    assert (report.status, report.outcome) == ("closed", "recovered")


def test_nobody_can_report_on_a_document_they_cannot_see(people):
    secret = _doc(people["alice"], label="GBR/SECRET|rel=GBR")
    with pytest.raises(NotFound):
        services.report_loss(actor=people["haruka"], documents=[secret], description="?")
    assert not Notification.objects.filter(kind="loss.report").exists()


def test_register_lists_only_what_the_reader_may_view(people):
    alice = people["alice"]
    _doc(alice, label="GBR/SECRET|rel=GBR,JPN")
    top = _doc(alice, label="GBR/OFFICIAL|rel=GBR")
    junior = make_user("junior", "GBR", org=alice.organisation)
    assert [h.document for h in selectors.register_of(junior)] == [top]
    assert len(selectors.register_of(alice)) == 2
    assert decide(junior, Action.VIEW, top)


def test_key_rotation_rewraps_document_bodies_and_attachments(people):
    from entente.security import crypto
    from entente.security.keystore import keyring
    from entente.security.services import rotate_keys

    alice = people["alice"]
    document = _doc(alice, body="kept", files=[_file(b"Z" * 5000, "z.bin")])
    version = document.versions.get()
    old_kek = crypto.Sealed.from_bytes(bytes(version.body)).envelope.kek_id
    counts = rotate_keys("GBR")
    assert counts["exchange.documentversion"] == 1 and counts["exchange.attachment"] == 1
    current = keyring().current_kek_id("GBR")
    assert current != old_kek
    version.refresh_from_db()
    attachment = version.attachments.get()
    assert crypto.Sealed.from_bytes(bytes(version.body)).envelope.kek_id == current
    assert crypto.Envelope.from_bytes(bytes(attachment.envelope)).kek_id == current
    assert selectors.version_body(selectors.version_for(alice, document)) == "kept"
    assert _read(alice, attachment) == b"Z" * 5000


def test_blob_sweep_removes_orphans_and_keeps_what_rows_name(people):
    import os
    import time

    from django.core.management import call_command

    from entente.security import blobs

    document = _doc(people["alice"], files=[_file(b"kept", "kept.bin")])
    kept = document.versions.get().attachments.get().blob_name
    orphan = blobs.store(document.versions.get(), io.BytesIO(b"orphan")).name  # no row names it
    old = time.time() - 7200
    for name in (kept, orphan):
        os.utime(settings.BLOB_DIR / name, (old, old))
    out = io.StringIO()
    call_command("blobs", "sweep", stdout=out)
    assert orphan in out.getvalue() and kept not in out.getvalue()
    assert (settings.BLOB_DIR / kept).exists() and not (settings.BLOB_DIR / orphan).exists()
    assert _read(people["alice"], document.versions.get().attachments.get()) == b"kept"
    assert AuditEvent.objects.filter(action="blobs.sweep").exists()
