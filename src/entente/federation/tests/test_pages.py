"""The federation's pages, driven as the security officer of this node's authority would drive them:
signed in with password and TOTP, plain form posts (multipart for files).

The partner is real as far as this node can tell: its own key set (a second ``DirectoryKeyring``
in a temporary directory) signs its identity file, its receipts, its transfer log and the package
it sends here, exactly as its node would. This node is GBR (``settings.NODE_NATION``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from entente.core.models import Organisation, OrganisationKind, Role
from entente.exchange import services as exchange
from entente.exchange.models import Transmission
from entente.federation import package as pkg
from entente.federation import services
from entente.federation.models import InboundPackage, OutboundPackage, OutboundState, Partner
from entente.federation.transport import free_port
from entente.security.keyring import DirectoryKeyring
from entente.security.keystore import keyring
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.testing import authority, make_user, organisation, verified_client

pytestmark = pytest.mark.django_db

NAVIGATION = "entente.federation.views.navigation"


# --------------------------------------------------------------------------- the partner's side


def partner_fingerprint(ring: DirectoryKeyring) -> str:
    return pkg.fingerprint(ring.signing_public_key())


def partner_identity(ring: DirectoryKeyring, *, nation: str = "JPN", endpoint: str = "",
                     name: str = "Entente node of JPN") -> bytes:
    """The identity file the partner's node writes (``services.identity_document`` there)."""
    cert, _key = ring.tls_credentials()
    return pkg.sign_document(ring.sign, services.IDENTITY, {
        "format": "entente-identity/1", "nation": nation, "name": name,
        "signing_key": ring.signing_public_key().public_bytes_raw().hex(),
        "agreement_key": ring.agreement_public_key().public_bytes_raw().hex(),
        "tls_certificate": cert.read_text(), "endpoint": endpoint,
        "organisations": [
            {"code": "jpn-nsa", "kind": OrganisationKind.NATIONAL_SECURITY_AUTHORITY,
             "name_en": "Japan NSA", "name_ja": "日本国家安全保障当局"},
            {"code": "jpn-atla", "kind": OrganisationKind.ACQUISITION_AGENCY,
             "name_en": "ATLA", "name_ja": "防衛装備庁"}],
        "created_at": timezone.now().isoformat()})


def trust(ring: DirectoryKeyring, officer: Any, *, endpoint: str = "") -> Partner:
    return services.import_partner(actor=officer, raw=partner_identity(ring, endpoint=endpoint),
                                   fingerprint=partner_fingerprint(ring))


def partner_address(ring: DirectoryKeyring) -> pkg.Address:
    return pkg.Address("JPN", partner_fingerprint(ring))


def partner_receipt(ring: DirectoryKeyring, package: OutboundPackage) -> bytes:
    """The partner node's signed receipt of a package this node sent it."""
    return pkg.sign_document(ring.sign, services.RECEIPT, {
        "format": "entente-receipt/1", "package": str(package.pk),
        "header_sha256": package.header_sha256, "kind": package.kind,
        "from": services.own_address().as_json(), "by": partner_address(ring).as_json(),
        "received_at": timezone.now().isoformat(), "channel": "file",
        "transmission": str(package.transmission_id), "subject": None, "items": []})


def partner_log(ring: DirectoryKeyring, *, received: Sequence[dict[str, Any]] = (),
                sent: Sequence[dict[str, Any]] = ()) -> bytes:
    return pkg.sign_document(ring.sign, services.LOG, {
        "format": "entente-log/1", "node": partner_address(ring).as_json(),
        "partner": services.own_address().as_json(), "at": timezone.now().isoformat(),
        "sent": list(sent), "received": list(received)})


def partner_package(ring: DirectoryKeyring, directory: Path, *, recipient: str = "gbr-mod",
                    body: str = "共同研究の成果。Joint results.") -> Path:
    """A transmission package from the partner's node to this one: one JPN document, sealed to
    this node's key-agreement key and signed by the partner's node."""
    package_id, document_id, now = uuid.uuid4(), uuid.uuid4(), timezone.now()
    digest = hashlib.sha256(b"entente-version-v1\0")
    digest.update(hashlib.sha256(body.encode()).digest())
    part = f"body:{document_id}"
    manifest = {
        "transmission": {
            "id": str(uuid.uuid4()),
            "sender": {"username": "kenji", "name": "Kenji Sato", "organisation": "jpn-atla"},
            "sender_organisation": "jpn-atla", "recipient": recipient, "channel": "courier",
            "reference": "JP-2026-7", "sent_at": now.isoformat()},
        "documents": [{
            "id": str(document_id), "owner": "jpn-atla", "title_en": "Seeker trials",
            "title_ja": "シーカー試験", "summary_en": "", "summary_ja": "",
            "version": {"number": 1, "label": "JPN/HI|rel=GBR,JPN", "note": "",
                        "content_sha256": digest.hexdigest(), "body": part, "files": []}}],
    }
    path = directory / f"{package_id.hex}.pkg"
    with path.open("xb") as file:
        pkg.write(file, package_id=package_id, kind="transmission", created_at=now,
                  sender=partner_address(ring), recipient=services.own_address(),
                  recipient_key=keyring().agreement_public_key(), manifest=manifest,
                  parts=[(part, lambda: io.BytesIO(body.encode()))], sign=ring.sign)
    return path


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _federation(settings, tmp_path):
    settings.FEDERATION_DIR = tmp_path / "federation"
    settings.NODE_NATION = "GBR"
    assert NAVIGATION in settings.TEMPLATES[0]["OPTIONS"]["context_processors"]


@pytest.fixture
def ring(tmp_path) -> DirectoryKeyring:
    """The partner node's own keys, on its own machine."""
    return DirectoryKeyring(tmp_path / "jpn-node-keys")


@pytest.fixture
def alice():
    """A security officer of this node's nation's security authority."""
    return make_user("alice", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                     roles=[Role.SECURITY_OFFICER])


@pytest.fixture
def haruka():
    """A security officer of the *other* nation's authority: not this node's administrator."""
    return make_user("haruka", "JPN", org=authority("JPN"), clearance="KIMITSU",
                     roles=[Role.SECURITY_OFFICER])


@pytest.fixture
def ben():
    return make_user("ben", "GBR", clearance="SECRET")


def send_to_partner(sender: Any, *, title: str = "Seeker trials report") -> Transmission:
    document = exchange.create_document(actor=sender, label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"),
                                        title_en=title, body="Body text.")
    return exchange.transmit(actor=sender, documents=[document],
                             recipient=Organisation.objects.get(code="jpn-atla"),
                             channel="in_system", reference="UK-1")


def body(response: Any) -> str:
    """The page's text, entities unescaped (``'`` is ``&#x27;`` in the HTML)."""
    return html.unescape(response.content.decode())


# --------------------------------------------------------------------------- who may see them


def _every_page(nation: str, sent: str, received: str) -> tuple[list[str], list[str]]:
    gets = [reverse("federation:home"), reverse("federation:identity"),
            reverse("federation:partner_log", args=[nation]),
            reverse("federation:reconcile", args=[nation]), reverse("federation:sent_list"),
            reverse("federation:received_list"), reverse("federation:sent", args=[sent]),
            reverse("federation:received", args=[received]),
            reverse("federation:received_receipt", args=[received]),
            reverse("federation:courier")]
    posts = [reverse("federation:partner_import"),
             reverse("federation:partner_state", args=[nation, "suspend"]),
             reverse("federation:reconcile_fetch", args=[nation]),
             reverse("federation:reconcile_upload", args=[nation]),
             reverse("federation:sent_retry", args=[sent]),
             reverse("federation:sent_file", args=[sent]),
             reverse("federation:courier_package"), reverse("federation:courier_receipt")]
    return gets, posts


def test_only_this_nations_authority_sees_the_pages_or_the_link(alice, haruka, ben, ring,
                                                                 tmp_path):
    trust(ring, alice)
    sent = OutboundPackage.objects.get(transmission=send_to_partner(ben))
    inbound = services.import_package(actor=alice,
                                      source=partner_package(ring, tmp_path).open("rb")).package
    gets, posts = _every_page("JPN", str(sent.pk), str(inbound.pk))

    officer = verified_client(alice)
    assert [officer.get(url).status_code for url in gets] == [200] * len(gets)
    assert 'href="/federation/"' in body(officer.get(reverse("exchange:documents")))

    for user in (ben, haruka):
        client = verified_client(user)
        missing = client.get("/no-such-page/")
        assert missing.status_code == 404
        for url in gets:
            response = client.get(url)
            assert (response.status_code, response.content) == (404, missing.content), url
        for url in posts:
            response = client.post(url, {"fingerprint": "00" * 16, "package": io.BytesIO(b"x")})
            assert (response.status_code, response.content) == (404, missing.content), url
        assert 'href="/federation/"' not in body(client.get(reverse("exchange:documents")))

    # Nothing they posted changed anything.
    assert Partner.objects.get().active
    sent.refresh_from_db()
    assert sent.exported_at is None and sent.attempts == 0
    # Each refusal is the kernel's, on record.
    refused = AuditEvent.objects.filter(action="node.administer", allowed=False)
    assert set(refused.values_list("actor", flat=True)) == {"ben", "haruka"}
    # A missing package and a package of another kind of id answer alike, for the officer too.
    for url in (reverse("federation:sent", args=[uuid.uuid4()]),
                reverse("federation:sent", args=["not-an-id"]),
                reverse("federation:received", args=[sent.pk]),
                reverse("federation:reconcile", args=["FRA"])):
        assert officer.get(url).status_code == 404, url


def test_state_changes_are_post_only(alice, ring, ben):
    trust(ring, alice)
    sent = OutboundPackage.objects.get(transmission=send_to_partner(ben))
    client = verified_client(alice)
    for url in (reverse("federation:partner_state", args=["JPN", "suspend"]),
                reverse("federation:sent_retry", args=[sent.pk]),
                reverse("federation:sent_file", args=[sent.pk]),
                reverse("federation:partner_import")):
        assert client.get(url).status_code == 405, url
    assert Partner.objects.get().active


# --------------------------------------------------------------------------- this node, partners


def test_home_shows_this_node_with_its_fingerprint_grouped_and_its_identity_file(alice):
    client = verified_client(alice)
    page = body(client.get(reverse("federation:home")))
    own = services.own_address().key
    assert pkg.grouped(own) in page                 # eight groups of four, to read aloud
    assert re.search(r"([0-9a-f]{4} ){7}[0-9a-f]{4}", page)
    assert "No partner node yet" in page

    download = client.get(reverse("federation:identity"))
    assert download.status_code == 200
    assert 'filename="entente-node-GBR.identity.json"' in download["Content-Disposition"]
    identity = services.read_identity(download.content)   # signed by this node, checks out
    assert identity.fingerprint == own and identity.fields["nation"] == "GBR"


def test_the_authority_imports_a_partner_through_the_form(alice, ring, tmp_path):
    client = verified_client(alice)
    url = reverse("federation:partner_import")
    identity = partner_identity(ring)
    wrong = hashlib.sha256(b"someone else").hexdigest()[:32]

    response = client.post(url, {"identity": SimpleUploadedFile("JPN.identity.json", identity),
                                 "fingerprint": wrong})
    assert response.status_code == 400
    page = body(response)
    assert "The fingerprint does not match this identity file" in page
    assert f'value="{wrong}"' in page                  # what was typed is kept
    assert not Partner.objects.exists()                # nothing stored
    assert not Organisation.objects.filter(code="jpn-atla").exists()

    response = client.post(url, {"identity": SimpleUploadedFile("x.json", b"{not json"),
                                 "fingerprint": partner_fingerprint(ring)})
    assert response.status_code == 400 and "Not a signed identity" in body(response)
    assert not Partner.objects.exists()

    response = client.post(url, {"fingerprint": partner_fingerprint(ring)})
    assert response.status_code == 400 and "This field is required." in body(response)

    read_aloud = pkg.grouped(partner_fingerprint(ring))    # with spaces, as written down
    response = client.post(url, {"identity": SimpleUploadedFile("JPN.identity.json", identity),
                                 "fingerprint": read_aloud})
    assert response.status_code == 302 and response["Location"] == reverse("federation:home")
    partner = Partner.objects.get()
    assert (partner.nation_id, partner.fingerprint, partner.imported_by) == (
        "JPN", partner_fingerprint(ring), alice)
    assert Organisation.objects.get(code="jpn-atla").nation_id == "JPN"
    page = body(client.get(reverse("federation:home")))
    assert "now a partner of this node" in page and read_aloud in page
    assert 'id="partner-JPN"' in page

    # New keys for a known partner: refused unless deliberately replaced.
    other = DirectoryKeyring(tmp_path / "jpn-new-keys")
    response = client.post(url, {"identity": SimpleUploadedFile("n.json", partner_identity(other)),
                                 "fingerprint": partner_fingerprint(other)})
    assert response.status_code == 400 and "already known with other keys" in body(response)
    assert Partner.objects.get().fingerprint == partner_fingerprint(ring)
    response = client.post(url, {"identity": SimpleUploadedFile("n.json", partner_identity(other)),
                                 "fingerprint": partner_fingerprint(other), "replace_keys": "on"})
    assert response.status_code == 302
    assert Partner.objects.get().fingerprint == partner_fingerprint(other)


def test_suspend_and_activate_a_partner(alice, ring, ben):
    trust(ring, alice)
    client = verified_client(alice)
    response = client.post(reverse("federation:partner_state", args=["JPN", "suspend"]))
    assert response.status_code == 302
    assert not Partner.objects.get().active
    page = body(client.get(reverse("federation:home")))
    assert "is suspended" in page and "Activate" in page
    # Suspended: nothing travels to it; sending to its organisations is refused, with why.
    with pytest.raises(exchange.ExchangeError, match="suspended"):
        send_to_partner(ben)
    assert not OutboundPackage.objects.exists() and not Transmission.objects.exists()

    client.post(reverse("federation:partner_state", args=["JPN", "activate"]))
    assert Partner.objects.get().active
    assert list(AuditEvent.objects.filter(action__startswith="partner.").exclude(
        action="partner.import").values_list("action", "actor")) == [
        ("partner.suspend", "alice"), ("partner.activate", "alice")]
    assert client.post(reverse("federation:partner_state", args=["JPN", "delete"])
                       ).status_code == 404
    assert client.post(reverse("federation:partner_state", args=["FRA", "suspend"])
                       ).status_code == 404


# --------------------------------------------------------------------------- packages


def test_packages_sent_list_a_queued_transmission_with_retry_and_courier_download(alice, ben,
                                                                                  ring):
    trust(ring, alice, endpoint=f"https://127.0.0.1:{free_port()}")
    transmission = send_to_partner(ben)
    queued = OutboundPackage.objects.get(transmission=transmission)
    client = verified_client(alice)

    page = body(client.get(reverse("federation:sent_list")))
    assert reverse("federation:sent", args=[queued.pk]) in page
    assert "Waiting to be delivered" in page and "1 package" in page
    assert reverse("federation:sent", args=[queued.pk]) in body(
        client.get(reverse("federation:sent_list"), {"state": "queued"}))
    assert "No packages." in body(client.get(reverse("federation:sent_list"),
                                             {"state": "receipted"}))

    page = body(client.get(reverse("federation:sent", args=[queued.pk])))
    assert reverse("exchange:transmission", args=[transmission.pk]) in page
    assert "Retry now" in page and "Download for courier" in page

    # Retry: the next delivery round takes it at once, instead of after the back-off.
    later = timezone.now() + dt.timedelta(hours=1)
    OutboundPackage.objects.filter(pk=queued.pk).update(next_attempt_at=later)
    response = client.post(reverse("federation:sent_retry", args=[queued.pk]))
    assert response.status_code == 302
    queued.refresh_from_db()
    assert queued.next_attempt_at <= timezone.now()
    assert "delivered at the next round" in body(client.get(response["Location"]))
    assert AuditEvent.objects.filter(action="package.retry", actor="alice",
                                     object_id=str(queued.pk)).count() == 1

    # The courier file: exactly the outbox file, its export on record.
    response = client.post(reverse("federation:sent_file", args=[queued.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == services.outbox_path(queued).read_bytes()
    assert f'filename="{queued.file_name}"' in response["Content-Disposition"]
    queued.refresh_from_db()
    assert queued.exported_at is not None
    export = AuditEvent.objects.get(action="package.export", object_id=str(queued.pk))
    assert (export.actor, export.allowed) == ("alice", True)
    assert queued.header_sha256 in export.detail


def test_delivery_attempts_show_on_the_package_page(alice, ben, ring, settings):
    port = free_port()                                      # nobody listens there
    trust(ring, alice, endpoint=f"https://127.0.0.1:{port}")
    queued = OutboundPackage.objects.get(transmission=send_to_partner(ben))
    [delivery] = services.deliver_due()                     # a real attempt, over TCP
    assert delivery.outcome == "retry"
    page = body(verified_client(alice).get(reverse("federation:sent", args=[queued.pk])))
    assert re.search(r'id="attempts">1<', page)
    assert f"127.0.0.1:{port}" in re.search(r'id="last-error">([^<]*)<', page).group(1)
    assert 'id="next-attempt"' in page


def test_a_package_file_from_courier_media_is_received_and_its_receipt_downloaded(alice, ring,
                                                                                    tmp_path):
    trust(ring, alice)
    organisation("gbr-mod", "GBR")
    client = verified_client(alice)
    path = partner_package(ring, tmp_path)
    with path.open("rb") as file:
        response = client.post(reverse("federation:courier_package"), {"package": file})
    assert response.status_code == 302
    inbound = InboundPackage.objects.get()
    assert response["Location"] == reverse("federation:received", args=[inbound.pk])
    page = body(client.get(response["Location"]))
    assert "Package received from JPN" in page
    assert reverse("exchange:transmission", args=[inbound.transmission_id]) in page
    assert inbound.transmission.items.get().version.document.title_en == "Seeker trials"

    receipt = client.get(reverse("federation:received_receipt", args=[inbound.pk]))
    assert receipt.status_code == 200 and receipt.content == bytes(inbound.receipt)
    fields, signature = pkg.read_document(receipt.content, services.RECEIPT)
    pkg.verify_document(fields, signature, services.RECEIPT, keyring().signing_public_key())
    assert fields["package"] == str(inbound.pk)

    # The same file again: nothing new, the same receipt.
    with path.open("rb") as file:
        response = client.post(reverse("federation:courier_package"), {"package": file},
                               follow=True)
    assert "was received before" in body(response)
    assert InboundPackage.objects.count() == 1

    received = body(client.get(reverse("federation:received_list")))
    assert reverse("federation:received", args=[inbound.pk]) in received
    assert "courier media" in received


def test_a_package_that_is_not_one_is_refused_with_its_reason(alice, ring, tmp_path):
    trust(ring, alice)
    client = verified_client(alice)
    response = client.post(reverse("federation:courier_package"),
                           {"package": SimpleUploadedFile("x.pkg", b"definitely not a package")})
    assert response.status_code == 400
    assert "Not an Entente package" in body(response)

    # For an organisation this node does not have: refused whole, nothing kept.
    path = partner_package(ring, tmp_path, recipient="gbr-nowhere")
    with path.open("rb") as file:
        response = client.post(reverse("federation:courier_package"), {"package": file})
    assert response.status_code == 400
    assert "recipient organisation is not one of GBR" in body(response)
    assert not InboundPackage.objects.exists() and not Transmission.objects.exists()


def test_a_receipt_file_completes_a_delivery_and_a_bad_one_is_refused_clearly(alice, ben,
                                                                               ring, tmp_path):
    trust(ring, alice)
    transmission = send_to_partner(ben)
    queued = OutboundPackage.objects.get(transmission=transmission)
    client = verified_client(alice)
    url = reverse("federation:courier_receipt")
    page = body(client.get(reverse("federation:sent", args=[queued.pk])))
    assert "none: the partner has no endpoint, carry the file on courier media" in page
    assert "Retry now" not in page and "Download for courier" in page

    response = client.post(url, {"receipt": SimpleUploadedFile("r.json", b"not a receipt")})
    assert response.status_code == 400
    assert "Not a signed receipt" in body(response)

    stranger = DirectoryKeyring(tmp_path / "stranger")      # right shape, wrong signer
    forged = pkg.sign_document(stranger.sign, services.RECEIPT,
                               pkg.read_document(partner_receipt(ring, queued),
                                                 services.RECEIPT)[0])
    response = client.post(url, {"receipt": SimpleUploadedFile("r.json", forged)})
    assert response.status_code == 400
    assert "signature does not verify" in body(response)

    unknown = pkg.sign_document(ring.sign, services.RECEIPT, {
        **pkg.read_document(partner_receipt(ring, queued), services.RECEIPT)[0],
        "package": str(uuid.uuid4())})
    response = client.post(url, {"receipt": SimpleUploadedFile("r.json", unknown)})
    assert response.status_code == 400 and "did not send" in body(response)
    queued.refresh_from_db()
    assert queued.state == OutboundState.QUEUED

    response = client.post(url, {"receipt": SimpleUploadedFile(
        "r.json", partner_receipt(ring, queued))})
    assert response.status_code == 302
    assert response["Location"] == reverse("federation:sent", args=[queued.pk])
    queued.refresh_from_db()
    assert queued.state == OutboundState.RECEIPTED and queued.receipt_sha256
    page = body(client.get(response["Location"]))
    assert "Receipt stored" in page and queued.receipt_sha256 in page
    assert "Retry now" not in page
    transmission.refresh_from_db()
    assert transmission.acknowledged_at == queued.receipted_at


# --------------------------------------------------------------------------- reconciliation


def test_reconcile_by_file_explains_each_finding(alice, ben, ring, tmp_path):
    trust(ring, alice)
    queued = OutboundPackage.objects.get(transmission=send_to_partner(ben))
    client = verified_client(alice)
    url = reverse("federation:reconcile_upload", args=["JPN"])

    # The partner knows nothing of our package, and has one for us waiting, and claims a
    # receipt from us for a package we never received.
    log = partner_log(ring, sent=[
        {"id": str(uuid.uuid4()), "kind": "transmission", "header_sha256": "a" * 64,
         "state": "queued", "receipt_sha256": ""},
        {"id": str(uuid.uuid4()), "kind": "transmission", "header_sha256": "b" * 64,
         "state": "receipted", "receipt_sha256": "c" * 64}])
    response = client.post(url, {"log": SimpleUploadedFile("log.json", log)})
    assert response.status_code == 200
    page = body(response)
    findings = re.findall(r'data-finding="([a-z-]+)"', page)
    assert sorted(findings) == ["in-transit", "unknown-here", "waiting-there"]
    assert "It will be delivered when the partner's node can be reached" in page
    assert "no record of receiving" in page
    assert re.search(r'id="serious">1 serious finding', page)

    # The partner received ours, but its receipt never came back.
    log = partner_log(ring, received=[{"id": str(queued.pk), "kind": "transmission",
                                       "header_sha256": queued.header_sha256,
                                       "receipt_sha256": "d" * 64}])
    page = body(client.post(url, {"log": SimpleUploadedFile("log.json", log)}))
    assert re.findall(r'data-finding="([a-z-]+)"', page) == ["receipt-lost"]

    # This node's own log with the partner, signed, to send over.
    own = client.get(reverse("federation:partner_log", args=["JPN"]))
    fields, signature = pkg.read_document(own.content, services.LOG)
    pkg.verify_document(fields, signature, services.LOG, keyring().signing_public_key())
    assert [entry["id"] for entry in fields["sent"]] == [str(queued.pk)]

    # A log that is not the partner's, or not signed by it: refused, with why.
    stranger = DirectoryKeyring(tmp_path / "stranger")
    response = client.post(url, {"log": SimpleUploadedFile("log.json", partner_log(stranger))})
    assert response.status_code == 400
    assert "not the partner's log" in body(response)
    fields = pkg.read_document(partner_log(ring), services.LOG)[0]
    forged = pkg.sign_document(stranger.sign, services.LOG, fields)
    response = client.post(url, {"log": SimpleUploadedFile("log.json", forged)})
    assert response.status_code == 400 and "signature does not verify" in body(response)
    assert AuditEvent.objects.filter(action="log.reconcile", actor="alice").count() == 2


def test_reconcile_over_https_says_clearly_when_the_partner_cannot_be_reached(alice, ring):
    port = free_port()
    trust(ring, alice, endpoint=f"https://127.0.0.1:{port}")
    client = verified_client(alice)
    assert "Fetch the partner's log" in body(client.get(reverse("federation:reconcile",
                                                                args=["JPN"])))
    response = client.post(reverse("federation:reconcile_fetch", args=["JPN"]))
    assert response.status_code == 400
    error = re.search(r'id="error"><p>([^<]*)<', body(response)).group(1)
    assert error.startswith("The partner's node could not be reached")
    assert f"127.0.0.1:{port}" in error


def test_the_pages_in_japanese(alice, ben, ring):
    trust(ring, alice)
    send_to_partner(ben)
    client = verified_client(alice)
    headers = {"Accept-Language": "ja"}
    page = body(client.get(reverse("federation:home"), headers=headers))
    assert "パートナーノード" in page and "フィンガープリント" in page
    page = body(client.get(reverse("federation:sent_list"), headers=headers))
    assert "送達待ち" in page
