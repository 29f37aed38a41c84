"""Federation actions: partners, the outbox, receiving, receipts and the transfer log.

Each nation's node keeps its own database, keys and users. What crosses between nodes is a
package (``federation.package``): signed by the sending node, its content sealed to the
receiving node's key-agreement key, so neither node ever needs the other's private keys. The
receiving node answers with a signed receipt, which the sender stores against what it sent.

* Sending is at-least-once: a package is written to the outbox in the transaction that creates
  what it carries, and ``deliver_due`` (``entente node serve`` runs it, or cron runs
  ``entente node deliver``) posts it until the partner's receipt comes back, with back-off.
* Receiving is idempotent: a package is stored once, in one transaction, and the same package
  delivered again gets the same receipt back. Anything unknown, altered, replayed or addressed
  to another node is refused with a reason and leaves nothing behind but the audit event.

Node administration (partners, package files, logs) is a decision of the kernel
(``kernel.may_administer_node``): a security officer of this nation's security authority.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import random
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from entente.core.models import Nation, Organisation, OrganisationKind, User
from entente.exchange import services as exchange
from entente.exchange.models import OriginatorRequest, Transmission
from entente.federation import manifests
from entente.federation import package as pkg
from entente.federation.models import (
    InboundPackage,
    OutboundPackage,
    OutboundState,
    PackageKind,
    Partner,
)
from entente.security import audit, blobs, crypto, kernel
from entente.security.keystore import keyring
from entente.security.labels import LabelError
from entente.security.selectors import NotFound

log = logging.getLogger(__name__)

IDENTITY = "identity"
RECEIPT = "receipt"
LOG = "transfer-log"


class FederationError(ValueError):
    """A request that cannot be done as asked; the message says why."""


class PackageRefused(FederationError):
    """A package this node will not accept. Nothing of it was stored; the sender is told why
    (and stops retrying until one of its security officers sends it again)."""


def require_authority(user: Any, what: str) -> None:
    """The kernel's decision on administering this node; a refusal looks like a missing page."""
    if not kernel.may_administer_node(user, settings.NODE_NATION, what=what):
        raise NotFound


# --------------------------------------------------------------------------- this node


def own_address() -> pkg.Address:
    return pkg.Address(settings.NODE_NATION, pkg.fingerprint(keyring().signing_public_key()))


def identity_document(endpoint: str | None = None) -> bytes:
    """This node's identity file: its nation, public keys, TLS certificate, address and the
    directory of its nation's organisations, signed by its own key. Public: it is what the
    partner's security authority imports, after comparing the fingerprint read out to them."""
    ring = keyring()
    cert_path, _ = ring.tls_credentials()
    organisations = [{"code": o.code, "kind": o.kind, "name_en": o.name_en, "name_ja": o.name_ja}
                     for o in Organisation.objects.filter(nation_id=settings.NODE_NATION)
                     .order_by("code")]
    fields = {
        "format": "entente-identity/1", "nation": settings.NODE_NATION, "name": settings.NODE_NAME,
        "signing_key": ring.signing_public_key().public_bytes_raw().hex(),
        "agreement_key": ring.agreement_public_key().public_bytes_raw().hex(),
        "tls_certificate": cert_path.read_text(),
        "endpoint": settings.FEDERATION_ENDPOINT if endpoint is None else endpoint,
        "organisations": organisations, "created_at": timezone.now().isoformat(),
    }
    return pkg.sign_document(ring.sign, IDENTITY, fields)


def is_partner(nation: str) -> bool:
    """Whether ``nation`` runs its own node known here (active or suspended): then its people
    are reached only through packages, never as if they were on this node."""
    return nation != settings.NODE_NATION and Partner.objects.filter(nation_id=nation).exists()


def partner_for(nation: str) -> Partner | None:
    if nation == settings.NODE_NATION:
        return None
    return Partner.objects.filter(nation_id=nation, active=True).first()


def _signing_key(partner: Partner) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(partner.signing_key))


def _address(partner: Partner) -> pkg.Address:
    return pkg.Address(partner.nation_id, partner.fingerprint)


def certificate_sha256(pem_or_der: str | bytes) -> str:
    """SHA-256 of a certificate's DER bytes: how a TLS peer is matched to a partner."""
    der = pem_or_der if isinstance(pem_or_der, bytes) else x509.load_pem_x509_certificate(
        pem_or_der.encode()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


# --------------------------------------------------------------------------- partners


@dataclass(frozen=True)
class Identity:
    """An identity file, read and its self-signature checked (not yet trusted)."""

    fields: dict[str, Any]
    fingerprint: str
    sha256: str
    certificate: str  # the TLS certificate, re-encoded: one PEM block and nothing else


def read_identity(raw: bytes) -> Identity:
    fields, signature = pkg.read_document(raw, IDENTITY)
    try:
        if fields.get("format") != "entente-identity/1":
            raise ValueError("format")
        signing = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(fields["signing_key"])))
        X25519PublicKey.from_public_bytes(bytes.fromhex(str(fields["agreement_key"])))
        certificate = x509.load_pem_x509_certificate(
            str(fields["tls_certificate"]).encode()).public_bytes(serialization.Encoding.PEM)
        if not re.fullmatch(r"[A-Z]{3}", str(fields["nation"])):
            raise ValueError("nation")
        if not isinstance(fields.get("organisations"), list):
            raise ValueError("organisations")
    except (KeyError, ValueError, TypeError):
        raise FederationError(_("This is not an Entente identity file, or it is damaged.")) from None
    pkg.verify_document(fields, signature, IDENTITY, signing)
    return Identity(fields, pkg.fingerprint(signing), hashlib.sha256(raw).hexdigest(),
                    certificate.decode())


def import_partner(*, actor: Any, raw: bytes, fingerprint: str,
                   replace_keys: bool = False) -> Partner:
    """Trust another nation's node. ``fingerprint`` is what its security authority read out to
    ours over a separate channel: the file is imported only if it matches, so a file swapped on
    its way cannot introduce a stranger's keys. A partner whose keys change needs
    ``replace_keys`` (a deliberate act, audited as such)."""
    require_authority(actor, "partner.import")
    try:
        return _import_partner(actor, raw, fingerprint, replace_keys)
    except (FederationError, pkg.PackageError) as exc:
        # A file that does not match its fingerprint may be an attempt to slip in other keys.
        audit.record("partner.import", actor=actor, object_type="federation.partner",
                     allowed=False, reason=str(exc))
        raise


def _import_partner(actor: Any, raw: bytes, fingerprint: str, replace_keys: bool) -> Partner:
    identity = read_identity(raw)
    fields = identity.fields
    given = re.sub(r"[^0-9a-f]", "", fingerprint.lower())
    if len(given) < 32 or not identity.fingerprint.startswith(given):
        raise FederationError(_("The fingerprint does not match this identity file (its "
                                "fingerprint is %(fingerprint)s). Check it with the partner's "
                                "security authority before importing.")
                              % {"fingerprint": pkg.grouped(identity.fingerprint)})
    nation = str(fields["nation"])
    if nation == settings.NODE_NATION:
        raise FederationError(_("This is the identity of a node of this node's own nation."))
    if not Nation.objects.filter(code=nation).exists():
        raise FederationError(_("Unknown nation %(nation)s: load its reference data first "
                                "(entente reference load).") % {"nation": nation})
    endpoint = str(fields.get("endpoint") or "")
    if endpoint and not re.fullmatch(r"https://[A-Za-z0-9.\-\[\]:]+(:[0-9]{1,5})?/?", endpoint):
        raise FederationError(_("The partner's endpoint must be an https:// address."))
    with audit.atomic():
        existing = Partner.objects.select_for_update().filter(nation_id=nation).first()
        new_keys = existing is not None and existing.fingerprint != identity.fingerprint
        same_certificate = Partner.objects.exclude(nation_id=nation).filter(
            tls_certificate=identity.certificate)
        if same_certificate.exists():
            raise FederationError(_("Another partner node uses this TLS certificate."))
        if new_keys and not replace_keys:
            raise FederationError(_("%(nation)s's node is already known with other keys; "
                                    "replace them only deliberately (replace keys).")
                                  % {"nation": nation})
        _load_directory(nation, fields["organisations"])
        partner = existing or Partner(nation_id=nation)
        partner.name = str(fields.get("name") or nation)[:200]
        partner.fingerprint = identity.fingerprint
        partner.signing_key = str(fields["signing_key"])
        partner.agreement_key = str(fields["agreement_key"])
        partner.tls_certificate = identity.certificate
        partner.endpoint = endpoint.rstrip("/")
        partner.identity_sha256 = identity.sha256
        partner.imported_at, partner.imported_by, partner.active = timezone.now(), actor, True
        partner.save()
        node_account(partner)
        audit.record("partner.import", actor=actor, obj=partner, allowed=True,
                     detail={"fingerprint": identity.fingerprint, "endpoint": partner.endpoint,
                             "replaced_keys": new_keys})
    return partner


def _load_directory(nation: str, organisations: list[Any]) -> None:
    """The partner's organisations, as its own node lists them: added or renamed here, never
    removed (records here may name them)."""
    kinds = set(OrganisationKind.values)
    seen_authority = False
    for entry in organisations:
        if not (isinstance(entry, dict) and re.fullmatch(r"[-a-z0-9_]{1,64}", str(entry.get("code")))
                and entry.get("kind") in kinds):
            raise FederationError(_("The partner's directory of organisations is malformed."))
        seen_authority |= entry["kind"] == OrganisationKind.NATIONAL_SECURITY_AUTHORITY
        org = Organisation.objects.filter(code=entry["code"]).first()
        if org is not None and org.nation_id != nation:
            raise FederationError(_("The partner's organisation '%(code)s' has the code of an "
                                    "organisation of %(nation)s here.")
                                  % {"code": entry["code"], "nation": org.nation_id})
        org = org or Organisation(code=entry["code"], nation_id=nation)
        org.kind = entry["kind"]
        org.name_en = str(entry.get("name_en") or entry["code"])[:200]
        org.name_ja = str(entry.get("name_ja") or "")[:200]
        org.save()
    if not seen_authority:
        raise FederationError(_("The partner's directory names no national security authority."))


def set_partner_active(*, actor: Any, partner: Partner, active: bool) -> Partner:
    """Suspend a partner (nothing is sent to it or accepted from it) or take it back."""
    require_authority(actor, "partner.state")
    with audit.atomic():
        Partner.objects.filter(pk=partner.pk).update(active=active)
        partner.active = active
        audit.record("partner.activate" if active else "partner.suspend", actor=actor,
                     obj=partner, allowed=True)
    return partner


def node_account(partner: Partner) -> User:
    """The partner node's account here: what it does (send, ask, decide) is recorded against
    it. It cannot sign in (inactive, no usable password) and the kernel grants it nothing."""
    username = f"node:{partner.nation_id}"
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user
    authority = Organisation.objects.filter(
        nation_id=partner.nation_id, kind=OrganisationKind.NATIONAL_SECURITY_AUTHORITY).first()
    user = User(username=username, first_name=partner.name[:150], is_active=False,
                nationality_id=partner.nation_id, organisation=authority)
    user.set_unusable_password()
    user.save()
    return user


# --------------------------------------------------------------------------- the outbox


def _directory(*parts: str) -> Path:
    path = Path(settings.FEDERATION_DIR).joinpath(*parts)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def outbox_path(package: OutboundPackage) -> Path:
    return _directory("outbox") / package.file_name


def queue_transmission(transmission: Transmission) -> OutboundPackage:
    partner = _partner_or_fail(transmission.recipient.nation_id)
    return _queue(partner, PackageKind.TRANSMISSION, manifests.for_transmission(transmission),
                  transmission=transmission)


def queue_request(request: OriginatorRequest) -> OutboundPackage:
    partner = _partner_or_fail(request.document.label.originator_id)
    kind = (PackageKind.RELEASE_REQUEST if request.kind == "release"
            else PackageKind.DOWNGRADE_REQUEST)
    return _queue(partner, kind, manifests.for_request(request), subject_id=str(request.pk))


def queue_decision(request: OriginatorRequest) -> OutboundPackage:
    partner = _partner_or_fail(request.requested_by.nationality_id or "")
    return _queue(partner, PackageKind.DECISION, manifests.for_decision(request),
                  subject_id=str(request.pk))


def queue_withdrawal(request: OriginatorRequest) -> OutboundPackage | None:
    """Tell the originator's node that a request made here was withdrawn, so its security
    authority is not left deciding it. None when that node is suspended here: nothing can be
    sent to it, and the withdrawal stands here all the same (a decision that still comes back
    changes nothing: ``exchange.receive_decision``)."""
    partner = partner_for(request.document.label.originator_id)
    if partner is None:
        return None
    return _queue(partner, PackageKind.WITHDRAWAL, manifests.for_withdrawal(request),
                  subject_id=str(request.pk))


def _partner_or_fail(nation: str) -> Partner:
    partner = partner_for(nation)
    if partner is None:
        # Raised inside an exchange action (send, ask, decide): the exchange's kind of refusal.
        raise exchange.ExchangeError(
            _("%(nation)s's node is suspended here: nothing can be sent to it until this "
              "nation's security authority takes it back.") % {"nation": nation})
    return partner


def _queue(partner: Partner, kind: str, built: manifests.Built, *,
           transmission: Transmission | None = None, subject_id: str = "") -> OutboundPackage:
    """Write the package into the outbox and put it on record, in the caller's transaction. The
    file is complete and synced before the row can commit; a row that rolls back leaves a file
    that ``sweep_files`` removes."""
    package_id, now = uuid.uuid4(), timezone.now()
    final = _directory("outbox") / f"{package_id.hex}.pkg"
    part = final.with_suffix(".pkg.part")
    try:
        with part.open("xb") as file:
            written = pkg.write(
                file, package_id=package_id, kind=kind, created_at=now, sender=own_address(),
                recipient=_address(partner),
                recipient_key=X25519PublicKey.from_public_bytes(
                    bytes.fromhex(partner.agreement_key)),
                manifest=built.manifest, parts=built.parts, sign=keyring().sign)
            file.flush()
            os.fsync(file.fileno())
        part.rename(final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    queued = OutboundPackage.objects.create(
        id=package_id, partner=partner, kind=kind, transmission=transmission,
        subject_id=subject_id, created_at=now, size=written.size,
        header_sha256=written.header_sha256, next_attempt_at=now)
    audit.record("package.queue", obj=queued, allowed=True,
                 detail={"partner": partner.nation_id, "kind": kind, "size": written.size,
                         "transmission": str(transmission.pk) if transmission else None,
                         "subject": subject_id})
    return queued


def sweep_files(older_than: dt.timedelta = dt.timedelta(hours=1)) -> list[str]:
    """Remove what a crash left behind: outbox files no waiting package names (the transaction
    that wrote them rolled back, or a receipt came while the file was being deleted), partial
    files, and packages half-received when the node stopped. Only files older than
    ``older_than``, so one being written is left alone."""
    removed = []
    cutoff = timezone.now().timestamp() - older_than.total_seconds()
    for path in _directory("outbox").iterdir():
        match = re.fullmatch(r"([0-9a-f]{32})\.pkg(\.part)?", path.name)
        if match is None or path.stat().st_mtime >= cutoff:
            continue
        if match.group(2) or not OutboundPackage.objects.filter(
                pk=uuid.UUID(match.group(1)), state=OutboundState.QUEUED).exists():
            path.unlink(missing_ok=True)
            removed.append(path.name)
    for path in _directory("incoming").iterdir():
        if path.name.endswith(".part") and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(f"incoming/{path.name}")
    return sorted(removed)


def backoff(attempts: int) -> dt.timedelta:
    """Seconds before the next attempt: doubling from ``FEDERATION_RETRY_SECONDS`` up to
    ``FEDERATION_RETRY_MAX_SECONDS``, less up to a fifth at random so that a partner coming
    back is not met by every package at once."""
    base = settings.FEDERATION_RETRY_SECONDS * 2 ** min(max(attempts - 1, 0), 30)
    delay = min(base, settings.FEDERATION_RETRY_MAX_SECONDS)
    return dt.timedelta(seconds=delay * (1 - random.random() / 5))  # noqa: S311 — jitter


def due(now: dt.datetime | None = None) -> QuerySet[OutboundPackage]:
    now = now or timezone.now()
    return (OutboundPackage.objects.filter(state=OutboundState.QUEUED, partner__active=True)
            .exclude(partner__endpoint="")
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .select_related("partner").order_by("next_attempt_at", "created_at"))


@dataclass(frozen=True)
class Delivery:
    package: OutboundPackage
    outcome: str  # "receipted", "refused", "retry"
    detail: str = ""


def deliver_due(now: dt.datetime | None = None, limit: int = 100) -> list[Delivery]:
    """Post every package that is due; each attempt and its outcome is on record."""
    from entente.federation import transport

    delivered = []
    with audit.source("node"):
        for queued in due(now)[:limit]:
            try:
                delivered.append(deliver(queued, transport.post_package))
            except Exception as exc:
                # Whatever went wrong with one package, the others still go; this one waits
                # its back-off like any failed attempt.
                log.exception("delivering package %s failed", queued.pk)
                delivered.append(_retry_later(queued, f"{type(exc).__name__}: {exc}"))
    return delivered


def deliver(queued: OutboundPackage, post: Any) -> Delivery:
    """One attempt. ``post(partner, path) -> (status, body)`` raises ``TransportError`` when the
    partner cannot be reached (then: retry later)."""
    from entente.federation.transport import TransportError

    path = outbox_path(queued)
    try:
        status, body = post(queued.partner, path)
    except TransportError as exc:
        return _retry_later(queued, str(exc))
    if status == 200:
        try:
            accept_receipt(body, channel="https")
        except (FederationError, pkg.PackageError) as exc:
            return _retry_later(queued, f"the partner's receipt was not accepted: {exc}")
        return Delivery(queued, "receipted")
    message = _detail_of(body)
    if status in (409, 422):
        with audit.atomic():
            OutboundPackage.objects.filter(pk=queued.pk, state=OutboundState.QUEUED).update(
                state=OutboundState.REFUSED, last_error=message[:2000],
                last_attempt_at=timezone.now(), attempts=queued.attempts + 1)
            audit.record("package.refused", obj=queued, allowed=False, reason=message[:500],
                         detail={"partner": queued.partner_id, "status": status})
            exchange.notify(exchange.security_authorities(settings.NODE_NATION),
                            "package.refused", queued)
        return Delivery(queued, "refused", message)
    return _retry_later(queued, f"HTTP {status}: {message}")


def _detail_of(body: bytes) -> str:
    import json

    try:
        return str(json.loads(body).get("detail", ""))[:2000]
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace")


def _retry_later(queued: OutboundPackage, error: str) -> Delivery:
    now = timezone.now()
    attempts = queued.attempts + 1
    OutboundPackage.objects.filter(pk=queued.pk, state=OutboundState.QUEUED).update(
        attempts=attempts, last_attempt_at=now, next_attempt_at=now + backoff(attempts),
        last_error=error[:2000])
    audit.record("package.attempt", obj=queued, allowed=None, reason=error[:500],
                 detail={"partner": queued.partner_id, "attempt": attempts})
    return Delivery(queued, "retry", error)


def retry_now(*, actor: Any, queued: OutboundPackage) -> OutboundPackage:
    """The partner is back: try this package at the next delivery round, not after back-off."""
    require_authority(actor, "package.retry")
    partner = Partner.objects.get(pk=queued.partner_id)
    if not partner.active or not partner.endpoint:
        raise FederationError(_("%(nation)s's node is suspended or has no endpoint: carry the "
                                "package on courier media instead.") % {"nation": partner.pk})
    with audit.atomic():
        # A refused package too: what the partner refused may have been mended there since
        # (its directory, a key, an equivalence), or it may hold the package after all.
        changed = OutboundPackage.objects.filter(
            pk=queued.pk, state__in=[OutboundState.QUEUED, OutboundState.REFUSED]).update(
            state=OutboundState.QUEUED, next_attempt_at=timezone.now())
        if not changed:
            raise FederationError(_("Only a package waiting to be delivered, or refused, can "
                                    "be sent again."))
        audit.record("package.retry", actor=actor, obj=queued, allowed=True)
    queued.refresh_from_db()
    return queued


@contextlib.contextmanager
def exported_file(*, actor: Any, queued: OutboundPackage) -> Iterator[Path]:
    """The package file, for carriage on courier media. It is encrypted for the partner's node
    alone; the partner's receipt file, imported here, completes it as a delivery over HTTPS
    would."""
    require_authority(actor, "package.export")
    if queued.state != OutboundState.QUEUED:
        raise FederationError(_("This package was already receipted or refused."))
    path = outbox_path(queued)
    if not path.exists():
        raise FederationError(_("The package file is missing from the outbox."))
    with audit.atomic():
        OutboundPackage.objects.filter(pk=queued.pk).update(exported_at=timezone.now())
        audit.record("package.export", actor=actor, obj=queued, allowed=True,
                     detail={"sha256": queued.header_sha256})
    yield path


# --------------------------------------------------------------------------- receipts


def accept_receipt(raw: bytes, *, channel: str, actor: Any = None) -> OutboundPackage:
    """Store a partner's signed receipt against the package it receipts. The transmission it
    carried counts as acknowledged from the moment the partner's node received it."""
    try:
        fields, signature = pkg.read_document(raw, RECEIPT)
    except pkg.PackageError as exc:
        audit.record("receipt.accept", actor=actor, object_type="federation.outboundpackage",
                     allowed=False, reason=str(exc))
        raise FederationError(str(exc)) from None
    try:
        package_id = uuid.UUID(str(fields.get("package")))
    except ValueError:
        raise FederationError(_("The receipt names no package.")) from None
    with audit.atomic():
        queued = OutboundPackage.objects.select_for_update().select_related("partner").filter(
            pk=package_id).first()
        if queued is None:
            audit.record("receipt.accept", actor=actor, object_type="federation.outboundpackage",
                         object_id=str(package_id), allowed=False, reason="no such package")
            raise FederationError(_("This receipt is for a package this node did not send."))
        partner = queued.partner
        by = fields.get("by")
        if by != _address(partner).as_json() or fields.get("header_sha256") != \
                queued.header_sha256 or fields.get("format") != "entente-receipt/1":
            audit.record("receipt.accept", actor=actor, obj=queued, allowed=False,
                         reason="receipt does not match the package or its partner")
            raise FederationError(_("This receipt does not match the package or the partner "
                                    "it was sent to."))
        try:
            pkg.verify_document(fields, signature, RECEIPT, _signing_key(partner))
        except pkg.PackageError as exc:
            audit.record("receipt.accept", actor=actor, obj=queued, allowed=False,
                         reason=str(exc))
            raise FederationError(str(exc)) from None
        digest = hashlib.sha256(raw).hexdigest()
        if queued.state == OutboundState.RECEIPTED:
            return queued  # the same delivery answered twice: the first receipt stands
        try:
            received_at = dt.datetime.fromisoformat(str(fields.get("received_at")))
        except ValueError:
            received_at = None
        if received_at is None or received_at.tzinfo is None:
            audit.record("receipt.accept", actor=actor, obj=queued, allowed=False,
                         reason="malformed time of receipt")
            raise FederationError(_("The receipt's time of receipt is malformed."))
        queued.state, queued.receipt, queued.receipt_sha256 = OutboundState.RECEIPTED, raw, digest
        queued.receipted_at, queued.next_attempt_at = received_at, None
        queued.last_error = ""
        queued.save()
        if queued.transmission_id:
            Transmission.objects.filter(pk=queued.transmission_id,
                                        acknowledged_at__isnull=True).update(
                acknowledged_at=received_at)
            transmission = Transmission.objects.get(pk=queued.transmission_id)
            exchange.notify([transmission.sender_organisation], "transmission.acknowledged",
                            transmission)
        audit.record("receipt.accept", actor=actor, obj=queued, allowed=True,
                     detail={"partner": partner.nation_id, "channel": channel,
                             "receipt_sha256": digest})
        name = outbox_path(queued)
        transaction.on_commit(lambda: name.unlink(missing_ok=True))
    return queued


# --------------------------------------------------------------------------- receiving


@dataclass(frozen=True)
class Received:
    receipt: bytes
    duplicate: bool
    package: InboundPackage


def receive(path: Path, *, channel: str, peer_certificate: bytes | None = None,
            actor: Any = None) -> Received:
    """Accept a package file, or refuse it with ``PackageRefused``. Checked in this order, each
    before anything is stored: the format; the sender is a known, active partner (and, over
    HTTPS, the same node the TLS connection came from); its signature; it is addressed to this
    node; it is not a replay; every part's hash; the key opens. Then, in one transaction, the
    manifest is applied (documents re-encrypted under this node's keys, kept under the
    originator's label, entered in the recipient's register) and a signed receipt is made."""
    try:
        package = pkg.Package(path)
    except pkg.PackageError as exc:
        raise _refused(str(exc), channel=channel, actor=actor) from None
    header = package.header
    partner = Partner.objects.filter(nation_id=header.sender.nation,
                                     fingerprint=header.sender.key).first()
    if partner is None or not partner.active:
        raise _refused(_("Unknown sender: no active partner node of %(nation)s with that key.")
                       % {"nation": header.sender.nation}, header=header, channel=channel,
                       actor=actor)
    if peer_certificate is not None and certificate_sha256(peer_certificate) != \
            certificate_sha256(partner.tls_certificate):
        raise _refused(_("The package's sender is not the node this connection comes from."),
                       header=header, channel=channel, actor=actor)
    try:
        package.verify(_signing_key(partner))
    except pkg.PackageError as exc:
        raise _refused(str(exc), header=header, channel=channel, actor=actor) from None
    if header.recipient != own_address():
        raise _refused(_("The package is addressed to another node."), header=header,
                       channel=channel, actor=actor)
    earlier = InboundPackage.objects.filter(pk=header.id).first()
    if earlier is not None:
        if earlier.header_sha256 == header.sha256:
            audit.record("package.receive", actor=actor, obj=earlier, allowed=True,
                         detail={"duplicate": True, "channel": channel})
            return Received(bytes(earlier.receipt), True, earlier)
        raise _refused(_("Replay: a package with this id was already received with other "
                         "content."), header=header, channel=channel, actor=actor)
    try:
        package.check_parts()
        package.open(keyring().open_sealed_for_node)
        manifest = package.manifest()
    except (pkg.PackageError, crypto.CryptoError) as exc:
        raise _refused(str(exc), header=header, channel=channel, actor=actor) from None
    node = node_account(partner)
    try:
        with blobs.cleanup_on_error() as stored, audit.atomic():
            # The same package may be arriving twice at once (a sender retrying while a slow
            # first delivery is still being stored): the second waits here, then answers as a
            # duplicate instead of being refused.
            _lock_package(header.id)
            earlier = InboundPackage.objects.filter(pk=header.id).first()
            if earlier is not None and earlier.header_sha256 == header.sha256:
                audit.record("package.receive", actor=actor, obj=earlier, allowed=True,
                             detail={"duplicate": True, "channel": channel})
                return Received(bytes(earlier.receipt), True, earlier)
            if earlier is not None:
                raise exchange.ExchangeError(_("Replay: a package with this id was already "
                                               "received with other content."))
            applied = manifests.apply(header.kind, package, manifest, node=node, stored=stored)
            now = timezone.now()
            receipt = pkg.sign_document(keyring().sign, RECEIPT, {
                "format": "entente-receipt/1", "package": str(header.id),
                "header_sha256": header.sha256, "kind": header.kind,
                "from": header.sender.as_json(), "by": own_address().as_json(),
                "received_at": now.isoformat(), "channel": channel,
                "transmission": str(applied.transmission.pk) if applied.transmission else None,
                "subject": applied.subject_id or None, "items": applied.items})
            inbound = InboundPackage.objects.create(
                id=header.id, partner=partner, kind=header.kind, header_sha256=header.sha256,
                created_at=header.created_at, received_at=now, channel=channel,
                transmission=applied.transmission, subject_id=applied.subject_id,
                receipt=receipt, receipt_sha256=hashlib.sha256(receipt).hexdigest())
            audit.record("package.receive", actor=actor, obj=inbound, allowed=True,
                         detail={"partner": partner.nation_id, "kind": header.kind,
                                 "channel": channel, "by": applied.by,
                                 "items": applied.items})
    except (manifests.ManifestError, exchange.ExchangeError, LabelError, pkg.PackageError,
            crypto.CryptoError) as exc:
        # A part that does not decrypt, a part the manifest names that is not there, a nation
        # this node holds no key for: refusals like any other, never a failure of the node.
        raise _refused(str(exc), header=header, channel=channel, actor=actor) from None
    return Received(receipt, False, inbound)


def _lock_package(package_id: uuid.UUID) -> None:
    # SQLite's transactions already take the write lock at BEGIN (settings).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)",
                           [int.from_bytes(package_id.bytes[:8], "big", signed=True)])


def _refused(message: str, *, header: pkg.Header | None = None, channel: str,
             actor: Any = None) -> PackageRefused:
    audit.record("package.receive", actor=actor, object_type="federation.inboundpackage",
                 object_id=str(header.id) if header else "", allowed=False, reason=message,
                 detail={"channel": channel, "from": header.sender.nation if header else None,
                         "kind": header.kind if header else None})
    return PackageRefused(message)


@contextlib.contextmanager
def incoming_file() -> Iterator[Path]:
    """A fresh file in the incoming directory for a package on its way in (ciphertext only),
    removed afterwards whatever happens."""
    fd, name = tempfile.mkstemp(suffix=".part", dir=_directory("incoming"))
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def import_package(*, actor: Any, source: Any) -> Received:
    """A package that came on courier media, uploaded by a security officer: received exactly
    as one delivered over HTTPS; the receipt goes back the same way it came."""
    require_authority(actor, "package.import")
    with incoming_file() as path:
        with path.open("wb") as file:
            copied = _copy_limited(source, file)
        if copied == 0:
            raise FederationError(_("The package file is empty."))
        return receive(path, channel="file", actor=actor)


def import_receipt(*, actor: Any, raw: bytes) -> OutboundPackage:
    require_authority(actor, "receipt.import")
    return accept_receipt(raw, channel="file", actor=actor)


def _copy_limited(source: Any, file: Any) -> int:
    limit, total = settings.FEDERATION_MAX_PACKAGE_BYTES, 0
    while chunk := source.read(1 << 20):
        total += len(chunk)
        if total > limit:
            raise FederationError(_("The package is larger than this node accepts (%(limit)s "
                                    "bytes).") % {"limit": f"{limit:,}"})
        file.write(chunk)
    return total


# --------------------------------------------------------------------------- transfer log


def transfer_log(partner: Partner, *, actor: Any = None) -> bytes:
    """What this node sent to and received from ``partner``, signed: the partner compares it
    with its own (``reconcile``). Who was given it (an officer here, or the partner's node over
    HTTPS) is on record."""
    audit.record("log.export", actor=actor, obj=partner, allowed=True)
    sent = [{"id": str(p.id), "kind": p.kind, "header_sha256": p.header_sha256,
             "state": p.state, "receipt_sha256": p.receipt_sha256}
            for p in OutboundPackage.objects.filter(partner=partner).order_by("created_at")]
    received = [{"id": str(p.id), "kind": p.kind, "header_sha256": p.header_sha256,
                 "receipt_sha256": p.receipt_sha256}
                for p in InboundPackage.objects.filter(partner=partner).order_by("received_at")]
    return pkg.sign_document(keyring().sign, LOG, {
        "format": "entente-log/1", "node": own_address().as_json(),
        "partner": _address(partner).as_json(), "at": timezone.now().isoformat(),
        "sent": sent, "received": received})


def _entries(log: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    entries = log.get(key)
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("id"), str) for e in entries):
        raise FederationError(_("The partner's transfer log is malformed."))
    return {e["id"]: e for e in entries}


@dataclass(frozen=True)
class Discrepancy:
    package: str
    kind: str
    finding: str  # a code, below
    here: str
    there: str


# finding codes: in-transit (queued here, not there yet: will be delivered), receipt-lost (held
# there, but waiting or refused here: sending it again brings the receipt), missing-there
# (receipted here, unknown there), content-differs, unknown-here (they hold a receipt from us we
# never issued), waiting-there (queued there for us).
SERIOUS = frozenset({"missing-there", "content-differs", "unknown-here"})


def reconcile(*, actor: Any, partner: Partner, remote: bytes) -> list[Discrepancy]:
    """Compare this node's transfer log with the partner's signed one: every package either
    side has sent must be on both sides, with the same content and the same receipt."""
    require_authority(actor, "log.reconcile")
    fields, signature = pkg.read_document(remote, LOG)
    if fields.get("node") != _address(partner).as_json() \
            or fields.get("partner") != own_address().as_json():
        raise FederationError(_("This transfer log is not the partner's log of its exchanges "
                                "with this node."))
    pkg.verify_document(fields, signature, LOG, _signing_key(partner))
    theirs_in, theirs_out = _entries(fields, "received"), _entries(fields, "sent")
    found = []
    for out in OutboundPackage.objects.filter(partner=partner).order_by("created_at"):
        there = theirs_in.get(str(out.id))
        finding = None
        if there is None:
            finding = "missing-there" if out.state == OutboundState.RECEIPTED else (
                "in-transit" if out.state == OutboundState.QUEUED else None)
        elif there.get("header_sha256") != out.header_sha256:
            finding = "content-differs"
        elif out.state != OutboundState.RECEIPTED:
            finding = "receipt-lost"  # waiting or refused here, yet held there
        if finding:
            found.append(Discrepancy(str(out.id), out.kind, finding, out.state,
                                     "received" if there else "no record"))
    ours_in = {str(p.id): p for p in InboundPackage.objects.filter(partner=partner)}
    for package_id, sent in theirs_out.items():
        here = ours_in.get(package_id)
        if here is None:
            finding = "waiting-there" if sent.get("state") == OutboundState.QUEUED else (
                "unknown-here" if sent.get("state") == OutboundState.RECEIPTED else None)
            if finding:
                found.append(Discrepancy(package_id, str(sent.get("kind")), finding,
                                         "no record", str(sent.get("state"))))
        elif here.header_sha256 != sent.get("header_sha256"):
            found.append(Discrepancy(package_id, here.kind, "content-differs", "received",
                                     str(sent.get("state"))))
    audit.record("log.reconcile", actor=actor, obj=partner, allowed=True,
                 detail={"findings": [(d.package, d.finding) for d in found]})
    return found

