"""Receiving a partner node's package (``federation.services.receive``).

This test database is this node (GBR unless a test plays Japan's side); the partner is a
``DirectoryKeyring`` of its own whose identity file this node's security officer imported, and
its packages are written with the real package library (see conftest). A good package is stored
once, re-encrypted under this node's keys and receipted; anything unknown, altered, replayed or
addressed elsewhere is refused with a reason, audited with that reason, and leaves nothing behind:
no row in any table, no blob, nothing in the incoming directory.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from entente.core.models import User
from entente.exchange import selectors
from entente.exchange import services as exchange
from entente.exchange.models import (
    Attachment,
    Document,
    DocumentVersion,
    DowngradeRequest,
    Holding,
    Notification,
    ReleaseRequest,
    RequestState,
    Transmission,
)
from entente.federation import package as pkg
from entente.federation import services
from entente.federation.models import InboundPackage
from entente.federation.tests.conftest import (
    LABEL,
    RECIPIENT,
    Doc,
    assert_refused,
    changed_tables,
    edited,
    events_since,
    flipped,
    foreign_node,
    last_seq,
    make_sender,
    reassembled,
    regions,
    snapshot,
)
from entente.security import blobs, crypto, reference
from entente.security.keystore import keyring
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.security.selectors import NotFound
from entente.security.services import open_for
from entente.testing import make_user, organisation

pytestmark = pytest.mark.django_db

AUSTRALIA = {"nations": [{"code": "AUS", "name_en": "Australia", "name_ja": "オーストラリア",
                          "markings": [{"code": "SECRET", "name_en": "SECRET", "level": 3}]}]}


def _plaintext(attachment: Attachment) -> bytes:
    with blobs.reader(attachment, attachment.blob_name, bytes(attachment.envelope)) as stream:
        return stream.read()


def _receipt(raw: bytes) -> dict:
    fields, signature = pkg.read_document(raw, services.RECEIPT)
    pkg.verify_document(fields, signature, services.RECEIPT, keyring().signing_public_key())
    return fields


# --------------------------------------------------------------------------- a good package


def test_a_good_transmission_is_stored_under_this_nodes_keys_and_receipted(sender, partner,
                                                                           recipient):
    big = bytes(range(256)) * 6000 + b"tail"  # 1.5 MB: more than one STREAM chunk
    one = sender.doc(body="第一の本文: the seeker's first trials", note="first issue",
                     files=[("trials.bin", "application/octet-stream", big),
                            ("a-readme.txt", "text/plain", "読んでください".encode())])
    two = sender.doc(body="the second document", label="JPN/HI|rel=GBR,JPN", title_en="",
                     title_ja="第二", number=3)
    transmission_id = uuid.uuid4()
    before, seq = snapshot(), last_seq()
    path, written = sender.transmission(one, two, transmission_id=transmission_id,
                                        reference="ATLA-2026-7", channel="courier")

    received = services.receive(path, channel="https")

    assert received.duplicate is False
    # Each document under the originator's label, owned by the originator's organisation,
    # its body sealed under this node's keyring.
    for doc in (one, two):
        document = Document.objects.select_related("label", "owner").get(pk=doc.id)
        assert document.label.canonical == LabelSpec.parse(doc.label).canonical()
        assert document.owner.code == "jpn-atla"
        assert (document.title_en, document.title_ja) == (doc.title_en, doc.title_ja)
        assert document.current_version == doc.number
        version = document.versions.get()
        assert version.number == doc.number and version.label_id == document.label_id
        assert open_for(version, version.body) == doc.body.encode()
        kek = crypto.Sealed.from_bytes(bytes(version.body)).envelope.kek_id
        assert kek in keyring().kek_ids("JPN")
        assert doc.body.encode() not in bytes(version.body)
        assert exchange.version_digest(version) == doc.digest()
    version = DocumentVersion.objects.get(document_id=one.id)
    attachments = {a.filename: a for a in version.attachments.all()}
    assert set(attachments) == {"trials.bin", "a-readme.txt"}
    assert _plaintext(attachments["trials.bin"]) == big
    assert _plaintext(attachments["a-readme.txt"]) == "読んでください".encode()
    assert attachments["trials.bin"].sha256 == hashlib.sha256(big).hexdigest()
    assert attachments["trials.bin"].label_id == version.label_id
    # The blob store holds exactly the two attachments, encrypted.
    new_blobs = snapshot().blobs - before.blobs
    assert sorted(new_blobs) == sorted(a.blob_name for a in attachments.values())
    for name in new_blobs:
        stored = (Path(settings.BLOB_DIR) / name).read_bytes()
        assert b"trials" not in stored and big[:4096] not in stored
    # The transmission, with the sender's id, acknowledged by this node's receipt.
    transmission = Transmission.objects.get(pk=transmission_id)
    assert transmission.recipient == recipient
    assert transmission.sender_organisation.code == "jpn-atla"
    assert transmission.sender.username == "node:JPN"
    assert (transmission.channel, transmission.reference) == ("courier", "ATLA-2026-7")
    assert transmission.acknowledged_at is not None
    items = {i.document_id_copy: i for i in transmission.items.all()}
    assert set(items) == {one.id, two.id}
    assert items[one.id].content_sha256 == one.digest()
    # In the recipient's register, through that transmission; its inbox is told.
    holdings = Holding.objects.filter(organisation=recipient)
    assert {(h.document_id, h.version_number, h.transmission_id) for h in holdings} == {
        (one.id, 1, transmission_id), (two.id, 3, transmission_id)}
    assert list(Notification.objects.filter(organisation=recipient).values_list(
        "kind", "object_id")) == [("transmission.received", str(transmission_id))]
    # What is stored, and nothing more.
    changed = changed_tables(before, snapshot())
    labels = {k: changed.pop(k) for k in list(changed) if k.startswith("security.label")}
    assert changed == {
        "exchange.document": (0, 2), "exchange.documentversion": (0, 2),
        "exchange.attachment": (0, 2), "exchange.transmission": (0, 1),
        "exchange.transmissionitem": (0, 2), "exchange.holding": (0, 2),
        "exchange.notification": (0, 1), "exchange.searchentry": (0, 2),
        "federation.inboundpackage": (0, 1)}
    # The two labels the originator applied (shared rows, made once).
    assert labels["security.label"][1] - labels["security.label"][0] == 2
    # The inbound record keeps the receipt, which this node signed and which names the package,
    # its header, each item's content hash and how it is protected in this nation's scheme.
    inbound = InboundPackage.objects.get()
    assert inbound.pk == written.id and inbound.partner == partner
    assert inbound.header_sha256 == written.header_sha256
    assert inbound.transmission_id == transmission_id and inbound.channel == "https"
    assert bytes(inbound.receipt) == received.receipt
    assert inbound.receipt_sha256 == hashlib.sha256(received.receipt).hexdigest()
    receipt = _receipt(received.receipt)
    assert receipt["format"] == "entente-receipt/1"
    assert receipt["package"] == str(written.id)
    assert receipt["header_sha256"] == written.header_sha256
    assert receipt["kind"] == "transmission" and receipt["transmission"] == str(transmission_id)
    assert receipt["channel"] == "https"
    assert receipt["from"] == sender.node.address.as_json()
    assert receipt["by"] == services.own_address().as_json()
    assert sorted((i["document"], i["version"], i["content_sha256"], i["protected_as"])
                  for i in receipt["items"]) == sorted([
                      (str(one.id), 1, one.digest(), "GBR/SECRET"),
                      (str(two.id), 3, two.digest(), "GBR/SECRET")])  # HI: SECRET since 2014
    # The partner's key does not verify it: it is this node's receipt.
    fields, signature = pkg.read_document(received.receipt, services.RECEIPT)
    with pytest.raises(pkg.PackageError):
        pkg.verify_document(fields, signature, services.RECEIPT,
                            sender.node.ring.signing_public_key())
    accepted = [e for e in events_since(seq) if e.action == "package.receive"]
    assert [(e.allowed, e.object_id) for e in accepted] == [(True, str(written.id))]


@pytest.mark.parametrize(("marking", "protected_as"), [
    ("KIMITSU", "GBR/TOP-SECRET"), ("GOKUHI", "GBR/SECRET"), ("HI", "GBR/SECRET"),
    ("TORIATSUKAI-CHUI", "GBR/OFFICIAL-SENSITIVE")])
def test_the_receipt_names_the_marking_each_item_is_protected_as_here(sender, marking,
                                                                      protected_as):
    doc = sender.doc(label=f"JPN/{marking}|rel=GBR,JPN")
    path, _ = sender.transmission(doc)
    receipt = _receipt(services.receive(path, channel="file").receipt)
    assert [(i["document"], i["protected_as"]) for i in receipt["items"]] == [
        (str(doc.id), protected_as)]


@pytest.mark.parametrize("this_nation", ["JPN"])
def test_on_japans_node_a_uk_document_is_protected_as_gokuhi(sender, recipient, this_nation):
    doc = sender.doc(body="UK body", files=[("f.txt", "text/plain", b"uk file")])
    path, _ = sender.transmission(doc)
    received = services.receive(path, channel="https")
    receipt = _receipt(received.receipt)
    assert receipt["by"]["nation"] == "JPN" and receipt["from"]["nation"] == "GBR"
    assert [i["protected_as"] for i in receipt["items"]] == ["JPN/GOKUHI"]
    version = DocumentVersion.objects.get(document_id=doc.id)
    assert version.label.originator_id == "GBR"
    assert open_for(version, version.body) == b"UK body"
    assert _plaintext(version.attachments.get()) == b"uk file"
    assert Holding.objects.filter(organisation=recipient, document_id=doc.id).exists()


# --------------------------------------------------------------------------- kernel visibility


def test_the_recipients_cleared_people_see_it_and_the_uncleared_do_not(sender, recipient):
    doc = sender.doc(body="what the cleared read", files=[("x.bin", "application/x", b"xyz")])
    path, _ = sender.transmission(doc)
    services.receive(path, channel="https")
    cleared = make_user("cleared", "GBR", org=recipient, clearance="SECRET")
    uncleared = make_user("uncleared", "GBR", org=recipient)
    too_low = make_user("too-low", "GBR", org=organisation("gbr-dstl", "GBR"),
                        clearance="OFFICIAL-SENSITIVE")

    assert [d.pk for d in selectors.visible_documents(cleared)] == [doc.id]
    document = selectors.document_for(cleared, doc.id)
    version = selectors.version_for(cleared, document)
    assert selectors.version_body(version) == "what the cleared read"
    attachment = selectors.attachment_for(cleared, version.attachments.get().pk)
    assert b"".join(selectors.attachment_plaintext(attachment)) == b"xyz"

    for reader in (uncleared, too_low):
        assert selectors.visible_documents(reader) == []
        assert selectors.count_visible_documents(reader).value == 0
        with pytest.raises(NotFound):
            selectors.document_for(reader, doc.id)


@pytest.mark.parametrize("this_nation", ["JPN"])
def test_on_japans_node_gokuhi_readers_see_a_uk_secret_document_and_hi_readers_do_not(
        sender, recipient, this_nation):
    doc = sender.doc(body="UK SECRET body")
    path, _ = sender.transmission(doc)
    services.receive(path, channel="https")
    gokuhi = make_user("gokuhi-reader", "JPN", org=recipient, clearance="GOKUHI")
    hi = make_user("hi-reader", "JPN", org=recipient, clearance="HI")
    assert [d.pk for d in selectors.visible_documents(gokuhi)] == [doc.id]
    version = selectors.version_for(gokuhi, selectors.document_for(gokuhi, doc.id))
    assert selectors.version_body(version) == "UK SECRET body"
    assert selectors.visible_documents(hi) == []
    with pytest.raises(NotFound):
        selectors.document_for(hi, doc.id)


# --------------------------------------------------------------------------- once only


def test_the_same_package_twice_is_stored_once_and_gets_the_same_receipt(sender, tmp_path):
    doc = sender.doc(files=[("f.bin", "application/octet-stream", b"f" * 5000)])
    path, written = sender.transmission(doc)
    first = services.receive(path, channel="https")
    after_first, seq = snapshot(), last_seq()

    again = services.receive(path, channel="https")
    copy = tmp_path / "courier-copy.pkg"
    shutil.copyfile(path, copy)
    by_courier = services.receive(copy, channel="file")

    for repeat in (again, by_courier):
        assert repeat.duplicate is True
        assert repeat.receipt == first.receipt
        assert repeat.package.pk == written.id
    after = snapshot()
    assert changed_tables(after_first, after) == {}
    assert after.blobs == after_first.blobs
    events = events_since(seq)
    assert [(e.action, e.allowed, json.loads(e.detail).get("duplicate")) for e in events] == [
        ("package.receive", True, True)] * 2


def test_an_altered_copy_of_a_package_already_received_stores_nothing(sender, tmp_path):
    path, _ = sender.transmission(sender.doc(files=[("f.bin", "x/y", b"f" * 5000)]))
    first = services.receive(path, channel="https")
    before = snapshot()
    body = next(v for k, v in regions(path).parts.items() if k.startswith("file:"))
    altered = flipped(path, tmp_path / "altered.pkg", body[0] + 100)
    try:
        again = services.receive(altered, channel="https")
    except services.PackageRefused:
        pass
    else:  # its header is the one received: answered with the first receipt, nothing more
        assert again.duplicate is True and again.receipt == first.receipt
    after = snapshot()
    assert changed_tables(before, after) == {} and after.blobs == before.blobs


def test_a_version_already_held_is_never_entered_again_under_another_label(sender, recipient):
    """Sending back a version this node holds puts it in a register only under the label it is
    held under: never a custody record under a label the partner chose."""
    doc = sender.doc(label="JPN/GOKUHI|rel=GBR,JPN|cav=|com=")
    path, _ = sender.transmission(doc)
    services.receive(path, channel="https")
    relabelled = Doc(id=doc.id, body=doc.body, label="JPN/HI|rel=GBR,JPN|cav=|com=",
                     owner=doc.owner, title_en=doc.title_en, title_ja=doc.title_ja)
    again, _ = sender.transmission(relabelled)
    assert_refused(again, "differs")


def test_the_same_package_id_with_other_content_is_refused_as_a_replay(sender):
    package_id = uuid.uuid4()
    first, _ = sender.transmission(sender.doc(body="original"), package_id=package_id)
    services.receive(first, channel="https")
    other, _ = sender.transmission(sender.doc(body="different"), package_id=package_id)
    assert_refused(other, "replay")
    # The same content, written again under the same id (a fresh content key): still refused.
    again, _ = sender.transmission(sender.doc(body="original"), package_id=package_id)
    assert_refused(again, "replay")
    assert InboundPackage.objects.count() == 1


def test_a_transmission_received_once_is_not_received_again_in_another_package(sender):
    transmission_id = uuid.uuid4()
    first, _ = sender.transmission(sender.doc(), transmission_id=transmission_id)
    services.receive(first, channel="https")
    second, _ = sender.transmission(sender.doc(), transmission_id=transmission_id)
    assert_refused(second, "already received")


# --------------------------------------------------------------------------- unknown senders


def test_a_node_of_an_unknown_nation_is_refused(node_settings, partner, tmp_path):
    stranger = make_sender(foreign_node(tmp_path / "aus-keys", "AUS"), tmp_path / "aus")
    path, _ = stranger.transmission(stranger.doc(label=LABEL["JPN"], owner="jpn-atla"),
                                    sender_organisation="jpn-atla")
    assert_refused(path, "unknown sender")


def test_a_node_claiming_the_partners_nation_with_other_keys_is_refused(partner, tmp_path):
    impostor = make_sender(foreign_node(tmp_path / "impostor-keys", "JPN"), tmp_path / "imp")
    path, _ = impostor.transmission(impostor.doc())
    assert_refused(path, "unknown sender")


def test_a_suspended_partner_is_refused_until_taken_back(sender, partner, officer):
    path, _ = sender.transmission(sender.doc())
    services.set_partner_active(actor=officer, partner=partner, active=False)
    assert_refused(path, "unknown sender")
    services.set_partner_active(actor=officer, partner=partner, active=True)
    assert services.receive(path, channel="https").duplicate is False


def test_a_tls_peer_that_is_not_the_partner_is_refused(sender, tmp_path):
    path, _ = sender.transmission(sender.doc())
    other = foreign_node(tmp_path / "other-keys", "JPN")
    assert_refused(path, "not the node this connection comes from",
                   peer_certificate=other.certificate_der())
    received = services.receive(path, channel="https",
                                peer_certificate=sender.node.certificate_der())
    assert received.duplicate is False


def test_another_partners_tls_connection_cannot_carry_this_partners_package(
        sender, officer, tmp_path):
    reference.load([_australia(tmp_path)])
    australia = foreign_node(tmp_path / "aus-keys", "AUS")
    services.import_partner(actor=officer, raw=australia.identity(organisations=[
        {"code": "aus-nsa", "kind": "nsa"}]), fingerprint=australia.fingerprint)
    path, _ = sender.transmission(sender.doc())
    assert_refused(path, "not the node", peer_certificate=australia.certificate_der())


def _australia(tmp_path: Path) -> Path:
    path = tmp_path / "aus.json"
    path.write_text(json.dumps(AUSTRALIA), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- unknown content


@pytest.mark.parametrize(("change", "reason"), [
    (lambda h: h.update(format="entente-package/2"), "unknown package format"),
    (lambda h: h.update(kind="gift"), "unknown package kind"),
    (lambda h: h.update(extra=1), "fields"),
    (lambda h: h.update(created_at="2026-01-01T00:00:00"), "time zone"),
])
def test_an_unknown_format_or_kind_is_refused_even_when_signed(sender, tmp_path, change,
                                                               reason):
    path, _ = sender.transmission(sender.doc())
    assert_refused(reassembled(path, tmp_path / "x.pkg", sign=sender.node.sign, change=change),
                   reason)


def test_a_known_kind_whose_manifest_says_something_else_is_refused(sender):
    manifest_path, _ = sender.transmission(sender.doc(), kind="release-request")
    assert_refused(manifest_path, "request")
    decision_path, _ = sender.transmission(sender.doc(), kind="decision")
    assert_refused(decision_path, "decision")


def _set(*keys, value):
    def change(manifest):
        target = manifest
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


@pytest.mark.parametrize(("recipient_code", "reason"), [
    ("gbr-nowhere", "recipient organisation"),
    ("jpn-atla", "recipient organisation"),  # known here, but not of this node's nation
])
def test_an_unknown_recipient_organisation_is_refused(sender, recipient_code, reason):
    path, _ = sender.transmission(sender.doc(), recipient=recipient_code)
    assert_refused(path, reason)


@pytest.mark.parametrize("code", ["jpn-nowhere", "gbr-mod"])
def test_an_unknown_sending_organisation_is_refused(sender, code):
    path, _ = sender.transmission(sender.doc(), sender_organisation=code)
    assert_refused(path, "sending organisation")


def test_an_unknown_owner_organisation_is_refused(sender):
    path, _ = sender.transmission(sender.doc(owner="jpn-nowhere"))
    assert_refused(path, "owner organisation")


@pytest.mark.parametrize(("label", "reason"), [
    ("JPN/ULTRA|rel=GBR,JPN", "not a marking"),
    ("JPN/GOKUHI|rel=GBR,JPN|cav=no-such-caveat", "unknown caveat"),
    ("JPN/GOKUHI|rel=GBR,JPN|com=no-such-community", "unknown community"),
    ("JPN/GOKUHI|rel=GBR,JPN,XYZ", "unknown nation"),
    ("XYZ/GOKUHI|rel=GBR,XYZ", "unknown originator"),
    ("GOKUHI", "NATION/MARKING"),
])
def test_a_label_this_node_does_not_know_is_refused(sender, label, reason):
    path, _ = sender.transmission(sender.doc(label=label))
    assert_refused(path, reason)


@pytest.mark.parametrize("label", ["JPN/GOKUHI|rel=JPN", "JPN/GOKUHI|rel=JPN|cav=jpn-eyes-only"])
def test_a_document_not_releasable_to_this_nation_is_refused(sender, label):
    path, _ = sender.transmission(sender.doc(label=label))
    assert_refused(path, "not releasable")


def test_a_marking_with_no_equivalent_in_this_nations_scheme_is_refused(officer, recipient,
                                                                        tmp_path):
    """Australia's node (its nation loaded as data, no equivalence table with the UK yet)
    sends an AUS SECRET document: this node could not protect it, so it takes none of it."""
    reference.load([_australia(tmp_path)])
    if not keyring().kek_ids("AUS"):
        keyring().create_kek("AUS")  # what `entente keys init` does after a nation is loaded
    australia = foreign_node(tmp_path / "aus-keys", "AUS")
    directory = [{"code": "aus-nsa", "kind": "nsa", "name_en": "Australian NSA"},
                 {"code": "aus-dod", "kind": "ministry", "name_en": "Defence"}]
    services.import_partner(actor=officer, raw=australia.identity(organisations=directory),
                            fingerprint=australia.fingerprint)
    sender = make_sender(australia, tmp_path / "from-aus")
    path, _ = sender.transmission(
        sender.doc(label="AUS/SECRET|rel=AUS,GBR,JPN", owner="aus-dod"),
        sender_organisation="aus-dod")
    assert_refused(path, "no equivalent")


def test_one_bad_document_refuses_the_whole_package_and_removes_stored_files(sender):
    good = sender.doc(files=[("a.bin", "application/octet-stream", b"a" * 300_000),
                             ("b.bin", "application/octet-stream", b"b" * 10)])
    bad = sender.doc(label="JPN/GOKUHI|rel=JPN")
    path, _ = sender.transmission(good, bad)
    assert_refused(path, "not releasable")
    assert not Document.objects.filter(pk=good.id).exists()


def test_content_that_does_not_match_the_signed_hash_is_refused(sender):
    path, _ = sender.transmission(sender.doc(files=[("a.bin", "x/y", b"a" * 1000)],
                                             content_sha256="0" * 64))
    assert_refused(path, "content hash")


def test_a_manifest_missing_what_a_transmission_needs_is_refused(sender):
    path, _ = sender.transmission(sender.doc(), manifest_changes=_set("documents", value={}))
    assert_refused(path, "documents")
    path, _ = sender.transmission(
        sender.doc(), manifest_changes=_set("transmission", "sent_at", value="yesterday"))
    assert_refused(path, "sent_at")
    path, _ = sender.transmission(
        sender.doc(), manifest_changes=_set("transmission", "channel", value="pigeon"))
    assert_refused(path, "channel")


# --------------------------------------------------------------------------- tampering


def _tamper_points(path: Path) -> dict[str, int]:
    r = regions(path)
    body = next(n for n in r.parts if n.startswith("body:"))
    file = next(n for n in r.parts if n.startswith("file:"))
    header = path.read_bytes()[r.header[0]:r.header[1]]
    key_at = r.header[0] + header.index(b'"key":"') + 12
    parts_at = r.header[0] + header.index(b'"sha256":"') + 15
    return {
        "leading magic": 3,
        "manifest part": r.parts["manifest"][0] + 40,
        "manifest part, last byte": r.parts["manifest"][1] - 1,
        "body part, first byte": r.parts[body][0],
        "body part": (r.parts[body][0] + r.parts[body][1]) // 2,
        "file part": r.parts[file][0] + 70_000,
        "file part, last byte": r.parts[file][1] - 1,
        "header, first byte": r.header[0],
        "header, sealed key": key_at,
        "header, a part's hash": parts_at,
        "header, last byte": r.header[1] - 1,
        "signature, first byte": r.signature[0],
        "signature, last byte": r.signature[1] - 1,
        "trailer, length": r.trailer[0] + 3,
        "trailer, length, high byte": r.trailer[0],
        "trailer, magic": r.trailer[1] - 1,
    }


# What the refusal says (None: whatever the damaged header makes of it).
REASONS = {
    "leading magic": "bad magic", "manifest part": "was altered",
    "manifest part, last byte": "was altered", "body part, first byte": "was altered",
    "body part": "was altered", "file part": "was altered", "file part, last byte": "was altered",
    "header, first byte": None, "header, sealed key": None, "header, a part's hash": None,
    "header, last byte": None, "signature, first byte": "signature does not verify",
    "signature, last byte": "signature does not verify", "trailer, length": None,
    "trailer, length, high byte": "header length is impossible", "trailer, magic": "truncated",
}
POINTS = list(REASONS)


@pytest.fixture
def good_package(sender):
    doc = sender.doc(files=[("data.bin", "application/octet-stream", bytes(range(256)) * 500)])
    path, _ = sender.transmission(doc)
    return path


@pytest.mark.parametrize("where", POINTS)
@pytest.mark.parametrize("mask", [0x01, 0x80])
def test_any_byte_flipped_is_refused(good_package, tmp_path, where, mask):
    offset = _tamper_points(good_package)[where]
    assert_refused(flipped(good_package, tmp_path / "flipped.pkg", offset, mask), REASONS[where])
    # The original, untouched, is still accepted afterwards: the refusal kept nothing.
    assert services.receive(good_package, channel="https").duplicate is False


def test_a_package_cut_short_or_lengthened_is_refused(good_package, tmp_path):
    r = regions(good_package)
    file_part = next(v for k, v in r.parts.items() if k.startswith("file:"))
    cases = {
        "last byte cut": lambda d: d.__delitem__(slice(len(d) - 1, None)),
        "trailer cut": lambda d: d.__delitem__(slice(len(d) - 12, None)),
        "cut to the first part": lambda d: d.__delitem__(slice(r.parts["manifest"][1], None)),
        "a part cut short": lambda d: d.__delitem__(slice(file_part[1] - 100, file_part[1])),
        "bytes appended": lambda d: d.extend(b"\0" * 16),
        "one byte appended": lambda d: d.extend(b"E"),
        "bytes inserted in a part": lambda d: d.__setitem__(
            slice(file_part[0] + 10, file_part[0] + 10), b"inserted"),
        "bytes inserted before the header": lambda d: d.__setitem__(
            slice(r.header[0], r.header[0]), b"x"),
        "the whole package twice": lambda d: d.extend(bytes(d)),
        "empty": lambda d: d.clear(),
    }
    for name, edit in cases.items():
        out = edited(good_package, tmp_path / f"{name}.pkg", edit)
        assert_refused(out)
    assert services.receive(good_package, channel="https").duplicate is False


def test_parts_swapped_between_two_packages_are_refused(sender, tmp_path):
    # Two packages of the same shape (bodies and files of equal lengths, so that each part of
    # one fits exactly where the other's was).
    a, _ = sender.transmission(sender.doc(body="A" * 500, files=[("f", "x/y", b"1" * 4000)]))
    b, _ = sender.transmission(sender.doc(body="B" * 500, files=[("f", "x/y", b"2" * 4000)]))
    ra, rb = regions(a), regions(b)
    assert [e - s for s, e in ra.parts.values()] == [e - s for s, e in rb.parts.values()]
    data_b = b.read_bytes()
    for index in range(3):  # manifest, body, file
        (sa, ea), (sb, eb) = list(ra.parts.values())[index], list(rb.parts.values())[index]

        def swap(d, sa=sa, ea=ea, sb=sb, eb=eb):
            d[sa:ea] = data_b[sb:eb]
        assert_refused(edited(a, tmp_path / f"swapped-{index}.pkg", swap), "altered")
    # All of b's parts under a's header: refused as well.
    all_b = data_b[rb.magic[1]:rb.header[0]]
    assert_refused(edited(a, tmp_path / "all-parts.pkg",
                          lambda d: d.__setitem__(slice(ra.magic[1], ra.header[0]), all_b)))
    assert services.receive(a, channel="https").duplicate is False
    assert services.receive(b, channel="https").duplicate is False


def test_a_package_re_signed_by_another_key_is_refused(sender, tmp_path):
    path, _ = sender.transmission(sender.doc())
    stranger = foreign_node(tmp_path / "stranger-keys", "JPN")
    assert_refused(reassembled(path, tmp_path / "resigned.pkg", sign=stranger.sign),
                   "signature does not verify")
    # Naming itself as the sender does not help the stranger either.
    assert_refused(reassembled(path, tmp_path / "renamed.pkg", sign=stranger.sign,
                               change=lambda h: h.update(sender=stranger.address.as_json())),
                   "unknown sender")
    # Nor does a header changed after signing.
    assert_refused(reassembled(path, tmp_path / "late.pkg", sign=lambda m: bytes(64),
                               change=lambda h: h.update(kind="decision")))


# --------------------------------------------------------------------------- addressed elsewhere


def test_a_package_for_another_node_is_refused(sender, tmp_path):
    elsewhere = foreign_node(tmp_path / "elsewhere-keys", "GBR")
    path, _ = sender.transmission(sender.doc())
    # Addressed (by fingerprint) to another GBR node, though its key was sealed to ours.
    other_key, _ = sender.write(*_manifest_of(sender), recipient=elsewhere.address)
    assert_refused(other_key, "addressed to another node")
    # Addressed to this node's key but another nation.
    ours = services.own_address()
    other_nation, _ = sender.write(*_manifest_of(sender),
                                   recipient=pkg.Address("AUS", ours.key))
    assert_refused(other_nation, "addressed to another node")
    # Addressed to this node, but its content key sealed to another node's key.
    sealed_elsewhere, _ = sender.write(
        *_manifest_of(sender), recipient_key=elsewhere.ring.agreement_public_key())
    assert_refused(sealed_elsewhere, "sealed for another node")
    assert services.receive(path, channel="https").duplicate is False


def _manifest_of(sender):
    from entente.federation.tests.conftest import transmission_manifest

    return transmission_manifest([sender.doc()], transmission_id=uuid.uuid4(),
                                 recipient=RECIPIENT["GBR"],
                                 sender_organisation=sender.organisation)


# --------------------------------------------------------------------------- courier media


def test_a_package_on_courier_media_is_imported_by_the_security_officer(sender, officer,
                                                                        tmp_path):
    path, written = sender.transmission(sender.doc())
    incoming = Path(settings.FEDERATION_DIR) / "incoming"
    with path.open("rb") as source:
        received = services.import_package(actor=officer, source=source)
    assert received.package.pk == written.id and received.package.channel == "file"
    assert list(incoming.iterdir()) == []
    bad = flipped(path, tmp_path / "bad.pkg", regions(path).signature[0])
    before = snapshot()
    with bad.open("rb") as source, pytest.raises(services.PackageRefused):
        services.import_package(actor=officer, source=source)
    assert list(incoming.iterdir()) == []
    assert changed_tables(before, snapshot()) == {}
    nobody = make_user("nobody", "GBR", clearance="SECRET")
    with path.open("rb") as source, pytest.raises(NotFound):
        services.import_package(actor=nobody, source=source)
    assert AuditEvent.objects.filter(action="node.administer", allowed=False).exists()


def test_an_empty_or_oversized_courier_file_is_refused(sender, officer, settings):
    with pytest.raises(services.FederationError, match="empty"):
        services.import_package(actor=officer, source=io.BytesIO(b""))
    path, _ = sender.transmission(sender.doc())
    settings.FEDERATION_MAX_PACKAGE_BYTES = path.stat().st_size - 1
    with path.open("rb") as source, pytest.raises(services.FederationError, match="larger"):
        services.import_package(actor=officer, source=source)
    assert InboundPackage.objects.count() == 0
    assert list((Path(settings.FEDERATION_DIR) / "incoming").iterdir()) == []


# --------------------------------------------------------------------------- the partner itself


def test_the_partners_node_account_cannot_sign_in_and_is_granted_nothing(sender, recipient):
    path, _ = sender.transmission(sender.doc())
    services.receive(path, channel="https")
    node = User.objects.get(username="node:JPN")
    assert not node.is_active and not node.has_usable_password()
    assert selectors.visible_documents(node) == []

# --------------------------------------------------------------------------- versions held here


def test_a_version_already_held_is_held_again_and_a_new_one_is_added(sender, recipient):
    doc = sender.doc(body="v1 body", files=[("f.txt", "text/plain", b"v1 file")])
    first, _ = sender.transmission(doc)
    services.receive(first, channel="https")
    other_org = organisation("gbr-dstl", "GBR")
    again, _ = sender.transmission(doc, recipient="gbr-dstl")
    before = snapshot()
    services.receive(again, channel="https")
    assert DocumentVersion.objects.filter(document_id=doc.id).count() == 1
    assert snapshot().blobs == before.blobs
    assert Holding.objects.filter(organisation=other_org, document_id=doc.id,
                                  version_number=1).exists()
    # The same version number with other content: refused.
    changed = Doc(id=doc.id, body="v1 body, rewritten", files=doc.files)
    rewritten, _ = sender.transmission(changed)
    assert_refused(rewritten, "differs")
    # The next version: added; the first stays as it was.
    v2 = Doc(id=doc.id, body="v2 body", number=2, label="JPN/KIMITSU|rel=GBR,JPN",
             title_en="Seeker trials, revised")
    newer, _ = sender.transmission(v2)
    services.receive(newer, channel="https")
    document = Document.objects.get(pk=doc.id)
    assert document.current_version == 2 and document.label.canonical.startswith("JPN/KIMITSU")
    old, new = document.versions.order_by("number")
    assert open_for(old, old.body) == b"v1 body" and old.label.canonical.startswith("JPN/GOKUHI")
    assert open_for(new, new.body) == b"v2 body"
    assert _plaintext(old.attachments.get()) == b"v1 file"


# --------------------------------------------------------------------------- findings


def test_a_manifest_naming_a_part_the_package_does_not_have_is_refused(sender):
    path, _ = sender.transmission(
        sender.doc(), manifest_changes=_set("documents", 0, "version", "body",
                                            value="body:0000"))
    assert_refused(path, "part")


def _two_of_a_shape(sender):
    a, _ = sender.transmission(sender.doc(body="A" * 500, files=[("f", "x/y", b"1" * 4000)]))
    b, _ = sender.transmission(sender.doc(body="B" * 500, files=[("f", "x/y", b"2" * 4000)]))
    return a, b


def test_parts_of_another_package_under_a_header_the_partner_signed_are_refused(sender,
                                                                               tmp_path):
    """The partner's own signature over hashes of another package's parts (a sending node's
    bug, or a partner replaying old content under a new package): the parts' encryption is bound
    to the package id and part name, so they do not decrypt, and the package must be refused
    like any other altered one."""
    a, b = _two_of_a_shape(sender)
    ra, rb = regions(a), regions(b)
    data_b = b.read_bytes()
    header_b = json.loads(pkg.read_header(b).raw)
    body_a = next(n for n in ra.parts if n.startswith("body:"))
    body_b = next(n for n in rb.parts if n.startswith("body:"))

    def body_of_b(header):
        for part in header["parts"]:
            if part["name"] == body_a:
                part["sha256"] = next(p["sha256"] for p in header_b["parts"]
                                      if p["name"] == body_b)
    parts = bytearray(a.read_bytes()[ra.magic[1]:ra.header[0]])
    offset = ra.magic[1]
    parts[ra.parts[body_a][0] - offset:ra.parts[body_a][1] - offset] = \
        data_b[rb.parts[body_b][0]:rb.parts[body_b][1]]
    assert_refused(reassembled(a, tmp_path / "body-of-b.pkg", sign=sender.node.sign,
                               change=body_of_b, parts=bytes(parts)))


def test_all_parts_of_another_package_under_a_header_the_partner_signed_are_refused(sender,
                                                                                   tmp_path):
    a, b = _two_of_a_shape(sender)
    rb = regions(b)
    header_b = json.loads(pkg.read_header(b).raw)
    assert_refused(reassembled(a, tmp_path / "all-of-b.pkg", sign=sender.node.sign,
                               change=lambda h: h.update(parts=header_b["parts"]),
                               parts=b.read_bytes()[rb.magic[1]:rb.header[0]]))


def test_attachments_with_the_same_file_name_arrive_intact(sender):
    files = [("scan.pdf", "application/pdf", f"page {i}".encode() * 100) for i in range(8)]
    doc = sender.doc(files=files)
    path, _ = sender.transmission(doc)
    services.receive(path, channel="https")
    version = DocumentVersion.objects.get(document_id=doc.id)
    assert sorted(_plaintext(a) for a in version.attachments.all()) == sorted(
        f[2] for f in files)


def _uk_document(recipient):
    author = make_user("uk-author", "GBR", org=recipient, clearance="SECRET")
    return author, exchange.create_document(
        actor=author, label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"), title_en="UK original",
        body="what the UK wrote")


def test_a_partner_cannot_write_a_new_version_of_this_nations_own_document(sender, recipient):
    _author, document = _uk_document(recipient)
    forged = Doc(id=document.pk, body="rewritten by the partner", number=2,
                 label="GBR/OFFICIAL|rel=GBR,JPN", owner="jpn-atla", title_en="UK original")
    path, _ = sender.transmission(forged)
    try:
        assert_refused(path)
    finally:
        document.refresh_from_db()
        assert document.current_version == 1
        assert document.label.canonical.startswith("GBR/SECRET")


def test_a_partner_cannot_originate_a_document_in_this_nations_name(sender):
    forged = sender.doc(label="GBR/SECRET|rel=GBR,JPN", body="words put in the UK's mouth")
    path, _ = sender.transmission(forged)
    assert_refused(path)


def test_a_partner_document_owned_by_one_of_this_nations_organisations_is_refused(sender,
                                                                                 recipient):
    doc = sender.doc(owner=recipient.code)
    path, _ = sender.transmission(doc)
    try:
        assert_refused(path, "owned by")
    finally:
        if Document.objects.filter(pk=doc.id).exists():
            # What it would allow: this nation's people editing the partner's document.
            editor = make_user("editor", "GBR", org=recipient, clearance="SECRET")
            document = Document.objects.get(pk=doc.id)
            exchange.add_version(actor=editor, document=document, body="edited in the UK")
            assert document.versions.count() == 2


# --------------------------------------------------------------------------- requests, decisions


@pytest.fixture
def sent_to_partner(sender, recipient, tmp_path):
    """A UK document this node sent to the partner's ATLA (queued as a package for it)."""
    reference.load([_australia(tmp_path)])
    author, document = _uk_document(recipient)
    exchange.transmit(actor=author, documents=[document],
                      recipient=organisation("jpn-atla", "JPN"))
    version = document.versions.get()
    return document, exchange.version_digest(version)


def _request(sender, document, digest, *, kind="release", target="AUS", request_id=None,
             package_kind=None):
    from entente.federation.tests.conftest import request_manifest

    request_id = request_id or uuid.uuid4()
    manifest = request_manifest(request_id=request_id, kind=kind, document=document.pk,
                                from_label=document.label.canonical, target=target,
                                held_sha256=digest)
    path, written = sender.write(manifest, [], kind=package_kind or f"{kind}-request")
    return request_id, path, written


def test_a_release_request_from_the_partner_waits_for_this_nations_authority(
        sender, sent_to_partner):
    document, digest = sent_to_partner
    request_id, path, written = _request(sender, document, digest)
    received = services.receive(path, channel="https")
    request = ReleaseRequest.objects.get(pk=request_id)
    assert request.document_id == document.pk and request.to_nation_id == "AUS"
    assert request.state == RequestState.SUBMITTED and request.held_sha256 == digest
    assert request.requested_by.username == "node:JPN"
    assert request.requested_by_name == "Kenji Sato (jpn-atla)"
    assert Notification.objects.filter(organisation__code="gbr-nsa", kind="release.request",
                                       object_id=str(request_id)).exists()
    receipt = _receipt(received.receipt)
    assert receipt["subject"] == str(request_id) and receipt["kind"] == "release-request"
    assert receipt["package"] == str(written.id) and receipt["items"] == []
    assert InboundPackage.objects.get(pk=written.id).subject_id == str(request_id)


def test_a_downgrade_request_from_the_partner_is_recorded(sender, sent_to_partner):
    document, digest = sent_to_partner
    request_id, path, _ = _request(sender, document, digest, kind="downgrade",
                                   target="OFFICIAL-SENSITIVE")
    services.receive(path, channel="https")
    request = DowngradeRequest.objects.get(pk=request_id)
    assert request.to_classification.key == "GBR/OFFICIAL-SENSITIVE"


def test_requests_the_partner_may_not_make_are_refused(sender, sent_to_partner):
    document, digest = sent_to_partner
    _, path, _ = _request(sender, document, digest, kind="downgrade", target="TOP-SECRET")
    assert_refused(path, "not a current marking")
    _, path, _ = _request(sender, document, digest, target="XYZ")
    assert_refused(path, "unknown nation")
    _, path, _ = _request(sender, document, digest, package_kind="downgrade-request")
    assert_refused(path, "does not match")
    never_sent = _uk_document_of("gbr-other-author", document.owner)
    _, path, _ = _request(sender, never_sent, digest)
    assert_refused(path, "no document of this node")
    _, path, _ = _request(sender, Document(pk=uuid.uuid4(), label=document.label), digest)
    assert_refused(path, "no document of this node")
    request_id, path, _ = _request(sender, document, digest)
    services.receive(path, channel="https")
    _, again, _ = _request(sender, document, digest, request_id=request_id)
    assert_refused(again, "already received")
    assert ReleaseRequest.objects.count() == 1


def _uk_document_of(username, org):
    author = make_user(username, "GBR", org=org, clearance="SECRET")
    return exchange.create_document(actor=author, label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"),
                                    title_en="Kept at home", body="never sent")


@pytest.fixture
def asked_of_partner(sender, recipient, tmp_path):
    """A Japanese document received here, and this node's request to release it to Australia,
    sent to the partner's node, waiting for its decision."""
    reference.load([_australia(tmp_path)])
    doc = sender.doc(body="the partner's words", files=[("a.txt", "text/plain", b"annex")])
    path, _ = sender.transmission(doc)
    services.receive(path, channel="https")
    reader = make_user("uk-reader", "GBR", org=recipient, clearance="SECRET")
    document = Document.objects.get(pk=doc.id)
    request = exchange.request_release(actor=reader, document=document, to_nation="AUS",
                                       reason="For the trilateral study")
    assert request.held_sha256 == doc.digest()
    return document, request


def _decision(sender, request, **kwargs):
    from entente.federation.tests.conftest import decision_manifest

    path, _ = sender.write(decision_manifest(request_id=request.pk, kind=request.kind, **kwargs),
                           [], kind="decision")
    return path


def test_an_approval_from_the_originators_node_writes_the_new_version_here(
        sender, asked_of_partner, recipient):
    document, request = asked_of_partner
    label = "JPN/GOKUHI|rel=AUS,GBR,JPN|cav=|com="
    path = _decision(sender, request, approved=True, result_label=label, result_version=2,
                     version_note="Released to AUS")
    received = services.receive(path, channel="https")
    request.refresh_from_db()
    document.refresh_from_db()
    assert request.state == RequestState.APPROVED and request.result_label.canonical == label
    assert request.decided_by.username == "node:JPN"
    assert document.current_version == 2 and document.label.canonical == label
    old, new = document.versions.order_by("number")
    assert new.label.canonical == label and old.label.canonical == LABEL["JPN"]
    assert open_for(new, new.body) == open_for(old, old.body) == b"the partner's words"
    assert _plaintext(new.attachments.get()) == b"annex"
    assert Holding.objects.filter(organisation=recipient, document=document,
                                  version_number=2).exists()
    assert Notification.objects.filter(organisation=recipient, kind="release.decided").exists()
    assert _receipt(received.receipt)["subject"] == str(request.pk)
    # The same decision again, in another package: refused, nothing changes.
    again = _decision(sender, request, approved=True, result_label=label, result_version=3)
    assert_refused(again, "already")


def test_a_refusal_from_the_originators_node_changes_nothing_but_the_request(
        sender, asked_of_partner):
    document, request = asked_of_partner
    before = snapshot()
    services.receive(_decision(sender, request, approved=False, note="Not now"), channel="https")
    request.refresh_from_db()
    assert request.state == RequestState.REFUSED and request.decision_note == "Not now"
    assert document.versions.count() == 1
    assert "exchange.documentversion" not in changed_tables(before, snapshot())


def test_decisions_that_do_not_fit_are_refused(sender, asked_of_partner):
    _document, request = asked_of_partner
    assert_refused(_decision(sender, request, approved=True), "new label and version")
    assert_refused(_decision(sender, request, approved="yes"), "neither approved nor refused")
    assert_refused(_decision(sender, request, approved=True, result_label=LABEL["JPN"],
                             result_version=1), "no longer here")
    assert_refused(_decision(sender, request, approved=True, result_label="JPN/NOPE|rel=JPN",
                             result_version=2), "not the one this request asked for")
    # Approving something else than was asked (here: releasing to Japan's people only).
    assert_refused(_decision(sender, request, approved=True,
                             result_label="JPN/GOKUHI|rel=GBR,JPN", result_version=2),
                   "not the one this request asked for")
    for version in (0, -1, 2**63):
        assert_refused(_decision(sender, request, approved=True,
                                 result_label="JPN/GOKUHI|rel=AUS,GBR,JPN",
                                 result_version=version), "not a positive whole number")
    stranger = ReleaseRequest(pk=uuid.uuid4())
    assert_refused(_decision(sender, stranger, approved=False), "no request of this node")
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED


def test_an_approval_cannot_relabel_the_document_as_originated_by_this_nation(
        sender, asked_of_partner):
    document, request = asked_of_partner
    path = _decision(sender, request, approved=True, result_version=2,
                     result_label="GBR/OFFICIAL|rel=AUS,GBR,JPN")
    try:
        assert_refused(path)
    finally:
        document.refresh_from_db()
        assert document.label.originator_id == "JPN"


# --------------------------------------------------------------------------- withdrawals


def _withdrawal(sender, request_id, kind="release"):
    from entente.federation.tests.conftest import withdrawal_manifest

    path, written = sender.write(withdrawal_manifest(request_id=request_id, kind=kind), [],
                                 kind="withdrawal")
    return path, written


def test_a_withdrawal_from_the_partner_closes_the_request_it_sent(sender, sent_to_partner,
                                                                    officer):
    document, digest = sent_to_partner
    request_id, path, _ = _request(sender, document, digest)
    services.receive(path, channel="https")
    seq = last_seq()
    path, written = _withdrawal(sender, request_id)
    received = services.receive(path, channel="https")
    request = ReleaseRequest.objects.get(pk=request_id)
    assert request.state == RequestState.WITHDRAWN
    withdrawn = [e for e in events_since(seq) if e.action == "request.withdraw"]
    assert [(e.actor, e.object_id, e.allowed) for e in withdrawn] == [
        ("node:JPN", str(request_id), True)]
    assert Notification.objects.filter(organisation__code="gbr-nsa", kind="request.withdrawn",
                                       object_id=str(request_id)).exists()
    receipt = _receipt(received.receipt)
    assert receipt["subject"] == str(request_id) and receipt["kind"] == "withdrawal"
    assert InboundPackage.objects.get(pk=written.id).subject_id == str(request_id)
    # The authority can no longer decide it, and the document keeps its label.
    with pytest.raises(exchange.ExchangeError, match="withdrawn"):
        exchange.decide_request(actor=officer, request=request, approve=True)
    document.refresh_from_db()
    assert document.label.canonical == LABEL["GBR"] and document.versions.count() == 1


def test_a_withdrawal_after_the_decision_leaves_the_decision_and_is_on_record(
        sender, sent_to_partner, officer):
    document, digest = sent_to_partner
    request_id, path, _ = _request(sender, document, digest)
    services.receive(path, channel="https")
    exchange.decide_request(actor=officer, request=ReleaseRequest.objects.get(pk=request_id),
                            approve=False, note="Not to a third nation")
    seq = last_seq()
    path, _ = _withdrawal(sender, request_id)
    services.receive(path, channel="https")
    request = ReleaseRequest.objects.get(pk=request_id)
    assert request.state == RequestState.REFUSED
    assert request.decision_note == "Not to a third nation"
    late = [e for e in events_since(seq) if e.action == "request.withdrawal-after-decision"]
    assert len(late) == 1 and json.loads(late[0].detail)["state"] == "refused"
    assert not Notification.objects.filter(kind="request.withdrawn").exists()


def test_withdrawals_that_do_not_fit_are_refused(sender, sent_to_partner):
    document, digest = sent_to_partner
    request_id, path, _ = _request(sender, document, digest)
    services.receive(path, channel="https")
    assert_refused(_withdrawal(sender, uuid.uuid4())[0], "no request from jpn's node")
    assert_refused(_withdrawal(sender, request_id, kind="downgrade")[0], "no request from")
    # A request made here by one of this node's own people is not the partner's to withdraw.
    author = make_user("gbr-asker", "GBR", org=document.owner, clearance="SECRET")
    own = exchange.request_release(actor=author, document=document, to_nation="AUS",
                                   reason="Ours")
    assert_refused(_withdrawal(sender, own.pk)[0], "no request from")
    manifest = {"withdrawal": {"request": str(request_id), "kind": "release",
                               "withdrawn_at": "yesterday"}}
    assert_refused(sender.write(manifest, [], kind="withdrawal")[0], "not a time")
    for pk in (request_id, own.pk):
        assert ReleaseRequest.objects.get(pk=pk).state == RequestState.SUBMITTED


def _as_the_partner_reads(queued, partner_node):
    package = pkg.Package(services.outbox_path(queued))
    package.verify(keyring().signing_public_key())
    package.check_parts()
    package.open(partner_node.ring.open_sealed_for_node)
    return package.header.kind, package.manifest()


def test_withdrawing_a_request_asked_of_the_partner_tells_its_node(asked_of_partner,
                                                                   partner_node):
    from entente.federation.models import OutboundPackage

    _document, request = asked_of_partner
    exchange.withdraw_request(actor=request.requested_by, request=request)
    request.refresh_from_db()
    assert request.state == RequestState.WITHDRAWN
    queued = OutboundPackage.objects.get(kind="withdrawal")
    assert queued.subject_id == str(request.pk) and queued.partner_id == "JPN"
    kind, manifest = _as_the_partner_reads(queued, partner_node)
    assert kind == "withdrawal"
    assert manifest["withdrawal"]["request"] == str(request.pk)
    assert manifest["withdrawal"]["kind"] == "release"
    assert set(manifest["withdrawal"]) == {"request", "kind", "withdrawn_at"}


def test_a_withdrawal_stands_here_when_the_partner_is_suspended(asked_of_partner, partner,
                                                                officer):
    from entente.federation.models import OutboundPackage

    _document, request = asked_of_partner
    services.set_partner_active(actor=officer, partner=partner, active=False)
    exchange.withdraw_request(actor=request.requested_by, request=request)
    request.refresh_from_db()
    assert request.state == RequestState.WITHDRAWN
    assert not OutboundPackage.objects.filter(kind="withdrawal").exists()
