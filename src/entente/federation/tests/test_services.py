"""The sending side and the security authority's actions, in one database playing this node (the
partner is a keyring of its own, see conftest): importing partners, the outbox, delivery
outcomes, receipts, sweeping and reconciling transfer logs."""

from __future__ import annotations

import io
import json
import os
import time
import uuid

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from entente.core.models import Organisation, OrganisationKind, Role, User
from entente.exchange import services as exchange
from entente.exchange.models import Notification, Transmission
from entente.exchange.services import ExchangeError
from entente.federation import package as pkg
from entente.federation import services
from entente.federation.models import OutboundPackage, OutboundState, Partner
from entente.federation.services import FederationError
from entente.federation.tests.conftest import DIRECTORY, foreign_node
from entente.federation.transport import TransportError
from entente.security import kernel, reference
from entente.security.keystore import keyring
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.security.selectors import NotFound
from entente.testing import authority, make_user, organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def ben(node_settings):
    return make_user("ben", "GBR", org=organisation("gbr-des", "GBR",
                                                   OrganisationKind.ACQUISITION_AGENCY),
                     clearance="SECRET")


def _document(author, label="GBR/SECRET|rel=GBR,JPN", body="Seeker window heating"):
    return exchange.create_document(actor=author, label=LabelSpec.parse(label),
                                    title_en="Seeker window", body=body)


def _sent(author, partner) -> OutboundPackage:
    document = _document(author)
    transmission = exchange.transmit(actor=author, documents=[document],
                                     recipient=Organisation.objects.get(code="jpn-atla"))
    return OutboundPackage.objects.get(transmission=transmission)


def _receipt(partner_node, queued: OutboundPackage, **changes) -> bytes:
    fields = {"format": "entente-receipt/1", "package": str(queued.id),
              "header_sha256": queued.header_sha256, "kind": queued.kind,
              "from": services.own_address().as_json(), "by": partner_node.address.as_json(),
              "received_at": timezone.now().isoformat(), "channel": "https",
              "transmission": str(queued.transmission_id), "subject": None, "items": []}
    sign = changes.pop("_sign", partner_node.sign)
    fields.update(changes)
    return pkg.sign_document(sign, services.RECEIPT, fields)


# --------------------------------------------------------------------------- partners


def test_importing_a_partner_needs_the_fingerprint_read_out(officer, partner_node):
    identity = partner_node.identity()
    wrong = "0" * 64
    with pytest.raises(FederationError, match=pkg.grouped(partner_node.fingerprint)):
        services.import_partner(actor=officer, raw=identity, fingerprint=wrong)
    with pytest.raises(FederationError):
        services.import_partner(actor=officer, raw=identity,
                                fingerprint=partner_node.fingerprint[:16])  # too little of it
    assert not Partner.objects.exists()
    assert not Organisation.objects.filter(code="jpn-atla").exists()
    # As read aloud: groups of four, upper case, the first 128 bits are enough.
    spoken = pkg.grouped(partner_node.fingerprint).upper()
    partner = services.import_partner(actor=officer, raw=identity, fingerprint=spoken)
    assert partner.nation_id == "JPN" and partner.fingerprint == partner_node.fingerprint
    assert set(Organisation.objects.filter(nation_id="JPN").values_list("code", flat=True)) \
        >= {e["code"] for e in DIRECTORY["JPN"]}
    event = AuditEvent.objects.filter(action="partner.import", allowed=True).get()
    assert event.actor == officer.username and json.loads(event.detail)["fingerprint"] == \
        partner_node.fingerprint
    # A file that did not match its fingerprint is on record too: it may have been an attempt.
    refused = AuditEvent.objects.filter(action="partner.import", allowed=False)
    assert refused.count() == 2 and "does not match" in refused.first().reason


def test_only_this_nations_security_authority_imports_partners(node_settings, partner_node,
                                                               officer):
    japanese_officer = make_user("jp-officer", "JPN", org=authority("JPN"), clearance="KIMITSU",
                                 roles=[Role.SECURITY_OFFICER])
    plain = make_user("plain", "GBR", clearance="TOP-SECRET")
    for user in (japanese_officer, plain):
        with pytest.raises(NotFound):
            services.import_partner(actor=user, raw=partner_node.identity(),
                                    fingerprint=partner_node.fingerprint)
    assert not Partner.objects.exists()
    denials = AuditEvent.objects.filter(action="node.administer", allowed=False)
    assert {e.actor for e in denials} == {"jp-officer", "plain"}


@pytest.mark.parametrize("problem, match", [
    ("altered", "does not verify"),
    ("own-nation", "own nation"),
    ("unknown-nation", "Unknown nation"),
    ("no-authority", "no national security authority"),
    ("code-clash", "has the code of an organisation of GBR"),
    ("http", "https://"),
])
def test_a_bad_identity_file_is_refused_and_nothing_stored(officer, tmp_path, problem, match):
    node = foreign_node(tmp_path / "keys", "JPN")
    fields = node.identity_fields()
    if problem == "own-nation":
        fields["nation"] = "GBR"
        fields["organisations"] = DIRECTORY["GBR"]
    elif problem == "unknown-nation":
        fields["nation"] = "FRA"
    elif problem == "no-authority":
        fields["organisations"] = [e for e in DIRECTORY["JPN"] if e["kind"] != "nsa"]
    elif problem == "code-clash":
        organisation("gbr-raf", "GBR")
        fields["organisations"] = [*DIRECTORY["JPN"], {"code": "gbr-raf", "kind": "service",
                                                       "name_en": "Not the RAF"}]
    elif problem == "http":
        fields["endpoint"] = "http://127.0.0.1:8443"
    raw = pkg.sign_document(node.sign, services.IDENTITY, fields)
    if problem == "altered":
        raw = raw.replace(b"Entente node of JPN", b"Entente node of JPM")
    orgs = Organisation.objects.count()
    with pytest.raises((FederationError, pkg.PackageError), match=match):
        services.import_partner(actor=officer, raw=raw, fingerprint=node.fingerprint)
    assert not Partner.objects.exists()
    assert Organisation.objects.count() == orgs
    assert Organisation.objects.get(code="gbr-raf").nation_id == "GBR" \
        if problem == "code-clash" else True


def test_the_partners_certificate_is_kept_as_one_clean_pem_block(officer, tmp_path):
    """Whatever else the file's certificate text carries, what is stored (and every TLS context
    of this node loads, for all partners at once) is the certificate alone."""
    import ssl

    node = foreign_node(tmp_path / "keys", "JPN")
    fields = node.identity_fields()
    clean = fields["tls_certificate"]
    fields["tls_certificate"] = (clean + "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                 "-----END CERTIFICATE-----\n")
    raw = pkg.sign_document(node.sign, services.IDENTITY, fields)
    partner = services.import_partner(actor=officer, raw=raw, fingerprint=node.fingerprint)
    assert partner.tls_certificate.strip() == clean.strip()
    ssl.create_default_context(cadata=partner.tls_certificate)  # loads: one good block
    australia = tmp_path / "aus.json"
    australia.write_text(json.dumps({"nations": [{
        "code": "AUS", "name_en": "Australia",
        "markings": [{"code": "SECRET", "name_en": "SECRET", "level": 3}]}]}))
    reference.load([australia])
    twin = foreign_node(tmp_path / "twin", "AUS")
    twin_fields = {**twin.identity_fields(organisations=[
        {"code": "aus-nsa", "kind": "nsa", "name_en": "AUS NSA"}]), "tls_certificate": clean}
    with pytest.raises(FederationError, match="TLS certificate"):  # another partner's
        services.import_partner(actor=officer, raw=pkg.sign_document(
            twin.sign, services.IDENTITY, twin_fields), fingerprint=twin.fingerprint)


def test_new_keys_for_a_known_partner_are_taken_only_deliberately(officer, partner,
                                                                  partner_node, tmp_path):
    renewed = foreign_node(tmp_path / "renewed", "JPN")
    with pytest.raises(FederationError, match="other keys"):
        services.import_partner(actor=officer, raw=renewed.identity(),
                                fingerprint=renewed.fingerprint)
    assert Partner.objects.get().fingerprint == partner_node.fingerprint
    services.import_partner(actor=officer, raw=renewed.identity(), fingerprint=renewed.fingerprint,
                            replace_keys=True)
    assert Partner.objects.get().fingerprint == renewed.fingerprint
    last = AuditEvent.objects.filter(action="partner.import").order_by("-seq").first()
    assert json.loads(last.detail)["replaced_keys"] is True


def test_the_partners_account_here_can_do_nothing(partner):
    node = User.objects.get(username="node:JPN")
    assert not node.is_active and not node.has_usable_password()
    subject = kernel.Subject.of(node)
    assert not subject.active and not subject.readable
    assert node.organisation.kind == OrganisationKind.NATIONAL_SECURITY_AUTHORITY


# --------------------------------------------------------------------------- the outbox


def test_a_transmission_to_a_partners_organisation_is_queued_sealed_for_that_node(
        ben, partner, partner_node, node_settings):
    queued = _sent(ben, partner)
    assert queued.state == OutboundState.QUEUED and queued.partner == partner
    path = services.outbox_path(queued)
    assert path.stat().st_size == queued.size
    raw = path.read_bytes()
    assert b"Seeker window" not in raw and b"GBR/SECRET" not in raw  # nothing in clear
    opened = pkg.Package(path)
    assert opened.header.sha256 == queued.header_sha256
    opened.verify(keyring().signing_public_key())
    opened.check_parts()
    opened.open(partner_node.ring.open_sealed_for_node)
    manifest = opened.manifest()
    (document,) = manifest["documents"]
    assert document["title_en"] == "Seeker window"
    assert opened.part(document["version"]["body"]).read() == b"Seeker window heating"
    # The recipient organisation is on the other node: nobody here is told of it.
    assert not Notification.objects.filter(organisation__code="jpn-atla").exists()


def test_nothing_is_sent_to_a_suspended_partner(ben, officer, partner, node_settings):
    services.set_partner_active(actor=officer, partner=partner, active=False)
    document = _document(ben)
    with pytest.raises(ExchangeError, match="suspended"):
        exchange.transmit(actor=ben, documents=[document],
                          recipient=Organisation.objects.get(code="jpn-atla"))
    assert not Transmission.objects.exists() and not OutboundPackage.objects.exists()
    outbox = node_settings.FEDERATION_DIR / "outbox"
    assert not outbox.exists() or not any(outbox.iterdir())


def test_delivery_outcomes(ben, partner, partner_node, officer, node_settings):
    Partner.objects.filter(pk=partner.pk).update(endpoint="https://127.0.0.1:9")
    queued = _sent(ben, partner)

    def unreachable(partner, path):
        raise TransportError("connection refused")

    outcome = services.deliver(queued, unreachable)
    queued.refresh_from_db()
    assert outcome.outcome == "retry" and queued.attempts == 1
    assert queued.next_attempt_at > timezone.now() and "refused" in queued.last_error
    assert not services.due().filter(pk=queued.pk).exists()  # waits its back-off

    def answers(status, body):
        return lambda partner, path: (status, body)

    # A receipt that does not verify is no delivery: retried.
    forged = _receipt(partner_node, queued, _sign=foreign_node(
        node_settings.FEDERATION_DIR / "x", "JPN").sign)
    assert services.deliver(queued, answers(200, forged)).outcome == "retry"
    queued.refresh_from_db()
    assert queued.state == OutboundState.QUEUED and queued.attempts == 2

    # Nor is a page that is not a receipt at all (a proxy's error page, say).
    assert services.deliver(queued, answers(200, b"<html>Bad gateway</html>")).outcome == "retry"
    queued.refresh_from_db()
    assert queued.attempts == 3 and "not accepted" in queued.last_error

    good = _receipt(partner_node, queued)
    assert services.deliver(queued, answers(200, good)).outcome == "receipted"
    queued.refresh_from_db()
    assert queued.state == OutboundState.RECEIPTED and bytes(queued.receipt) == good
    assert Transmission.objects.get(pk=queued.transmission_id).acknowledged_at is not None

    refused = _sent(ben, partner)
    body = json.dumps({"detail": "Unknown sender."}).encode()
    assert services.deliver(refused, answers(422, body)).outcome == "refused"
    refused.refresh_from_db()
    assert refused.state == OutboundState.REFUSED and refused.last_error == "Unknown sender."
    assert Notification.objects.filter(organisation=authority("GBR"),
                                       kind="package.refused").exists()
    # Mended on the partner's side (its officer imported this node, say): sent again.
    services.retry_now(actor=officer, queued=refused)
    refused.refresh_from_db()
    assert refused.state == OutboundState.QUEUED and services.due().filter(pk=refused.pk)
    with pytest.raises(FederationError):
        services.retry_now(actor=officer, queued=queued)  # receipted: nothing to send


@given(attempts=st.integers(1, 200))
def test_backoff_doubles_up_to_its_cap_with_at_most_a_fifth_off(attempts):
    from django.conf import settings

    delay = services.backoff(attempts).total_seconds()
    ceiling = min(settings.FEDERATION_RETRY_SECONDS * 2 ** (attempts - 1),
                  settings.FEDERATION_RETRY_MAX_SECONDS)
    assert 0.8 * ceiling <= delay <= ceiling


# --------------------------------------------------------------------------- receipts


def test_receipts_that_do_not_match_are_refused_and_change_nothing(ben, partner, partner_node,
                                                                   node_settings, tmp_path):
    queued = _sent(ben, partner)
    stranger = foreign_node(tmp_path / "stranger", "JPN")
    cases = {
        "does not verify": _receipt(partner_node, queued, _sign=stranger.sign),
        "does not match": _receipt(partner_node, queued, header_sha256="0" * 64),
        "did not send": _receipt(partner_node, queued, package=str(uuid.uuid4())),
        "names no package": _receipt(partner_node, queued, package="nothing"),
    }
    cases["does not match the package or the partner"] = _receipt(
        partner_node, queued, by=stranger.address.as_json())
    for match, raw in cases.items():
        with pytest.raises((FederationError, pkg.PackageError), match=match):
            services.accept_receipt(raw, channel="file")
    queued.refresh_from_db()
    assert queued.state == OutboundState.QUEUED and queued.receipt is None
    assert Transmission.objects.get(pk=queued.transmission_id).acknowledged_at is None


def test_a_receipt_removes_the_package_from_the_outbox(ben, partner, partner_node,
                                                       django_capture_on_commit_callbacks):
    queued = _sent(ben, partner)
    path = services.outbox_path(queued)
    with django_capture_on_commit_callbacks(execute=True):
        services.accept_receipt(_receipt(partner_node, queued), channel="https")
    assert not path.exists()
    # The same receipt again (a retried delivery answered twice): nothing changes.
    first = OutboundPackage.objects.get(pk=queued.pk)
    services.accept_receipt(_receipt(partner_node, queued), channel="https")
    assert OutboundPackage.objects.get(pk=queued.pk).receipt_sha256 == first.receipt_sha256


# --------------------------------------------------------------------------- files, logs


def test_sweep_removes_only_old_files_no_waiting_package_names(ben, partner, node_settings):
    queued = _sent(ben, partner)
    outbox = node_settings.FEDERATION_DIR / "outbox"
    incoming = node_settings.FEDERATION_DIR / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    orphan, fresh = outbox / f"{uuid.uuid4().hex}.pkg", outbox / f"{uuid.uuid4().hex}.pkg"
    partial, half = outbox / f"{uuid.uuid4().hex}.pkg.part", incoming / "abc.part"
    for path in (orphan, fresh, partial, half):
        path.write_bytes(b"x")
    old = time.time() - 2 * 3600
    for path in (orphan, partial, half, services.outbox_path(queued)):
        os.utime(path, (old, old))
    removed = services.sweep_files()
    assert removed == sorted([orphan.name, partial.name, "incoming/abc.part"])
    assert services.outbox_path(queued).exists() and fresh.exists()


def test_courier_files_are_for_the_authority_and_only_while_waiting(ben, partner, partner_node,
                                                                    officer):
    queued = _sent(ben, partner)
    with pytest.raises(NotFound), services.exported_file(actor=ben, queued=queued):
        pass
    with services.exported_file(actor=officer, queued=queued) as path:
        assert path.read_bytes() == services.outbox_path(queued).read_bytes()
    assert OutboundPackage.objects.get(pk=queued.pk).exported_at is not None
    services.import_receipt(actor=officer, raw=_receipt(partner_node, queued))
    receipted = OutboundPackage.objects.get(pk=queued.pk)
    with pytest.raises(FederationError, match="already receipted"), \
            services.exported_file(actor=officer, queued=receipted):
        pass


def test_reconcile_compares_with_the_partners_signed_log(ben, officer, partner, partner_node,
                                                         tmp_path):
    delivered, waiting = _sent(ben, partner), _sent(ben, partner)
    services.accept_receipt(_receipt(partner_node, delivered), channel="https")

    def their_log(received, sent=(), sign=partner_node.sign, node=None):
        return pkg.sign_document(sign, services.LOG, {
            "format": "entente-log/1", "node": (node or partner_node.address).as_json(),
            "partner": services.own_address().as_json(), "at": timezone.now().isoformat(),
            "sent": list(sent), "received": list(received)})

    def entry(package, **changes):
        return {"id": str(package.id), "kind": package.kind,
                "header_sha256": package.header_sha256, "receipt_sha256": "", **changes}

    agreed = services.reconcile(actor=officer, partner=partner,
                                remote=their_log([entry(delivered)]))
    assert [(d.package, d.finding) for d in agreed] == [(str(waiting.id), "in-transit")]
    lost = services.reconcile(actor=officer, partner=partner, remote=their_log([]))
    assert {(d.package, d.finding) for d in lost} == {(str(delivered.id), "missing-there"),
                                                      (str(waiting.id), "in-transit")}
    differs = services.reconcile(actor=officer, partner=partner, remote=their_log(
        [entry(delivered, header_sha256="0" * 64), entry(waiting)],
        sent=[{"id": str(uuid.uuid4()), "kind": "transmission", "header_sha256": "1" * 64,
               "state": "receipted", "receipt_sha256": "2" * 64}]))
    assert sorted(d.finding for d in differs) == ["content-differs", "receipt-lost",
                                                  "unknown-here"]
    assert {d.finding for d in differs} & services.SERIOUS == {"content-differs",
                                                               "unknown-here"}
    stranger = foreign_node(tmp_path / "stranger", "JPN")
    with pytest.raises(pkg.PackageError, match="does not verify"):
        services.reconcile(actor=officer, partner=partner,
                           remote=their_log([], sign=stranger.sign))
    with pytest.raises(FederationError, match="not the partner's log"):
        services.reconcile(actor=officer, partner=partner,
                           remote=their_log([], node=stranger.address))
    with pytest.raises(NotFound):
        services.reconcile(actor=ben, partner=partner, remote=their_log([]))


def test_this_nodes_identity_file_is_signed_and_lists_its_own_organisations(officer,
                                                                           node_settings):
    organisation("jpn-atla", "JPN", OrganisationKind.ACQUISITION_AGENCY)
    node_settings.FEDERATION_ENDPOINT = "https://uk.example:8443"
    identity = services.read_identity(services.identity_document())
    assert identity.fingerprint == services.own_address().key
    assert identity.fields["nation"] == "GBR"
    assert identity.fields["endpoint"] == "https://uk.example:8443"
    codes = {o["code"] for o in identity.fields["organisations"]}
    assert "gbr-nsa" in codes and "jpn-atla" not in codes


def _packaging_peak(author, data: bytes) -> tuple[int, OutboundPackage]:
    import tracemalloc

    document = exchange.create_document(
        actor=author, label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"), title_en="Big",
        body="b", files=[exchange.IncomingFile("big.bin", "application/octet-stream",
                                               io.BytesIO(data))])
    tracemalloc.start()
    try:
        transmission = exchange.transmit(actor=author, documents=[document],
                                         recipient=Organisation.objects.get(code="jpn-atla"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, OutboundPackage.objects.get(transmission=transmission)


def test_a_large_attachment_travels_in_constant_memory(ben, partner, partner_node,
                                                       node_settings):
    """Packaging a file takes the same memory whatever its size (a few STREAM chunks), and the
    file comes out of the package as it went in."""
    small, _ = _packaging_peak(ben, os.urandom(2 * 1024 * 1024))
    data = os.urandom(24 * 1024 * 1024)
    large, queued = _packaging_peak(ben, data)
    assert large < small + 2 * 1024 * 1024 and large < 12 * 1024 * 1024, (small, large)
    opened = pkg.Package(services.outbox_path(queued))
    opened.verify(keyring().signing_public_key())
    opened.check_parts()
    opened.open(partner_node.ring.open_sealed_for_node)
    (entry,) = opened.manifest()["documents"]
    (file,) = entry["version"]["files"]
    assert opened.part(file["part"]).read() == data
