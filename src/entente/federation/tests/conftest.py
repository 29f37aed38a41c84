"""A partner nation's node inside one test database.

This database plays *this* node (``settings.NODE_NATION``, GBR by default). The partner node is
only what a partner node has that we need: its own keyring (``DirectoryKeyring`` in a temporary
directory: signing, key-agreement and TLS keys), its identity file, imported here by this node's
security officer exactly as ``entente federation import-partner`` does, and packages written with
the pure package library, whose manifests are shaped exactly like ``manifests.for_transmission``
builds them on a sending node.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from django.apps import apps
from django.conf import settings as django_settings
from django.utils import timezone

from entente.core.models import OrganisationKind, Role
from entente.federation import package as pkg
from entente.federation import services
from entente.security.keyring import DirectoryKeyring
from entente.security.keystore import keyring
from entente.security.models import AuditEvent
from entente.testing import authority, make_user, organisation

OTHER = {"GBR": "JPN", "JPN": "GBR"}
# Each nation's directory of organisations, as its node's identity file lists them.
DIRECTORY = {
    "JPN": [{"code": "jpn-nsa", "kind": "nsa", "name_en": "Japan NSA", "name_ja": "日本の国家安全保障当局"},
            {"code": "jpn-atla", "kind": "acquisition", "name_en": "ATLA", "name_ja": "防衛装備庁"}],
    "GBR": [{"code": "gbr-nsa", "kind": "nsa", "name_en": "UK NSA", "name_ja": "英国の国家安全保障当局"},
            {"code": "gbr-des", "kind": "acquisition", "name_en": "DE&S", "name_ja": "英国国防装備支援庁"}],
}
# The organisation of this node's nation that partner packages are addressed to.
RECIPIENT = {"GBR": "gbr-mod", "JPN": "jpn-asdf"}
# The partner's sending (and owning) organisation.
SENDING = {"JPN": "jpn-atla", "GBR": "gbr-des"}
# A label each partner applies to what it sends.
LABEL = {"JPN": "JPN/GOKUHI|rel=GBR,JPN|cav=|com=", "GBR": "GBR/SECRET|rel=GBR,JPN|cav=|com="}


# --------------------------------------------------------------------------- a foreign node


@dataclass
class ForeignNode:
    """Another nation's node: its keys only, no database of its own."""

    nation: str
    ring: DirectoryKeyring

    @property
    def address(self) -> pkg.Address:
        return pkg.Address(self.nation, self.fingerprint)

    @property
    def fingerprint(self) -> str:
        return pkg.fingerprint(self.ring.signing_public_key())

    def sign(self, message: bytes) -> bytes:
        return self.ring.sign(message)

    def certificate_pem(self) -> str:
        cert_path, _ = self.ring.tls_credentials()
        return cert_path.read_text()

    def certificate_der(self) -> bytes:
        from cryptography import x509

        return x509.load_pem_x509_certificate(self.certificate_pem().encode()).public_bytes(
            serialization.Encoding.DER)

    def identity_fields(self, organisations: list[dict[str, Any]] | None = None,
                        endpoint: str = "") -> dict[str, Any]:
        """What ``services.identity_document`` signs, with this node's keys."""
        return {
            "format": "entente-identity/1", "nation": self.nation,
            "name": f"Entente node of {self.nation}",
            "signing_key": self.ring.signing_public_key().public_bytes_raw().hex(),
            "agreement_key": self.ring.agreement_public_key().public_bytes_raw().hex(),
            "tls_certificate": self.certificate_pem(), "endpoint": endpoint,
            "organisations": DIRECTORY[self.nation] if organisations is None else organisations,
            "created_at": timezone.now().isoformat(),
        }

    def identity(self, **kwargs: Any) -> bytes:
        return pkg.sign_document(self.ring.sign, services.IDENTITY, self.identity_fields(**kwargs))


def foreign_node(root: Path, nation: str) -> ForeignNode:
    return ForeignNode(nation, DirectoryKeyring(root))


# --------------------------------------------------------------------------- manifests


@dataclass
class Doc:
    """One document version as a sending node puts it in a transmission package."""

    id: uuid.UUID = field(default_factory=uuid.uuid4)
    body: str = "本文 — the body of the document"
    label: str = LABEL["JPN"]
    owner: str = SENDING["JPN"]
    title_en: str = "Seeker trials"
    title_ja: str = "シーカー試験"
    summary_en: str = "Results of the seeker trials"
    summary_ja: str = "試験結果"
    number: int = 1
    note: str = ""
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # name, type, plaintext
    content_sha256: str | None = None  # None: the right one

    def digest(self) -> str:
        return version_digest(self.body.encode(), self.files)


def version_digest(body: bytes, files: list[tuple[str, str, bytes]]) -> str:
    """``exchange.services.version_digest`` as the sender computes it (attachments in
    file-name, then content order)."""
    digest = hashlib.sha256(b"entente-version-v1\0")
    digest.update(hashlib.sha256(body).digest())
    for name, _type, data in sorted(files, key=lambda f: (f[0], hashlib.sha256(f[2]).hexdigest())):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def _opener(data: bytes) -> Callable[[], io.BytesIO]:
    return lambda: io.BytesIO(data)


def transmission_manifest(documents: list[Doc], *, transmission_id: uuid.UUID,
                          recipient: str, sender_organisation: str,
                          channel: str = "in_system", reference: str = "JPN-REF-1",
                          sent_at: dt.datetime | None = None
                          ) -> tuple[dict[str, Any], list[pkg.PartSource]]:
    """The manifest and parts, exactly as ``manifests.for_transmission`` builds them."""
    parts: list[pkg.PartSource] = []
    entries = []
    for doc in documents:
        version_pk = uuid.uuid4()
        body_part = f"body:{version_pk}"
        parts.append((body_part, _opener(doc.body.encode())))
        files = []
        for name, content_type, data in sorted(doc.files, key=lambda f: f[0]):
            part = f"file:{uuid.uuid4()}"
            parts.append((part, _opener(data)))
            files.append({"part": part, "filename": name, "content_type": content_type,
                          "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        entries.append({
            "id": str(doc.id), "owner": doc.owner,
            "title_en": doc.title_en, "title_ja": doc.title_ja,
            "summary_en": doc.summary_en, "summary_ja": doc.summary_ja,
            "version": {"number": doc.number, "label": doc.label, "note": doc.note,
                        "content_sha256": doc.content_sha256 or doc.digest(),
                        "body": body_part, "files": files},
        })
    manifest = {
        "transmission": {
            "id": str(transmission_id),
            "sender": {"username": "kenji", "name": "Kenji Sato",
                       "organisation": sender_organisation},
            "sender_organisation": sender_organisation, "recipient": recipient,
            "channel": channel, "reference": reference,
            "sent_at": (sent_at or timezone.now()).isoformat()},
        "documents": entries,
    }
    return manifest, parts


PERSON = {"username": "kenji", "name": "Kenji Sato", "organisation": "jpn-atla"}


def request_manifest(*, request_id: uuid.UUID, kind: str, document: uuid.UUID, from_label: str,
                     target: str, held_sha256: str, reason: str = "Needed for the joint study",
                     requested_by: dict[str, str] | None = None) -> dict[str, Any]:
    """A release or downgrade request, exactly as ``manifests.for_request`` builds it."""
    return {"request": {
        "id": str(request_id), "kind": kind, "document": str(document),
        "from_label": from_label, "target": target, "reason": reason,
        "held_sha256": held_sha256, "requested_by": requested_by or PERSON,
        "requested_at": timezone.now().isoformat()}}


def decision_manifest(*, request_id: uuid.UUID, kind: str, approved: bool,
                      result_label: str | None = None, result_version: int | None = None,
                      note: str = "Decided", version_note: str = "",
                      decided_by: dict[str, str] | None = None) -> dict[str, Any]:
    """A decision on a request, exactly as ``manifests.for_decision`` builds it."""
    return {"decision": {
        "request": str(request_id), "kind": kind, "approved": approved, "note": note,
        "decided_at": timezone.now().isoformat(),
        "decided_by": decided_by if decided_by is not None else PERSON,
        "result_label": result_label, "result_version": result_version,
        "version_note": version_note}}


def withdrawal_manifest(*, request_id: uuid.UUID, kind: str) -> dict[str, Any]:
    """A request's withdrawal, exactly as ``manifests.for_withdrawal`` builds it."""
    return {"withdrawal": {"request": str(request_id), "kind": kind,
                           "withdrawn_at": timezone.now().isoformat()}}


# --------------------------------------------------------------------------- writing packages


@dataclass
class Sender:
    """Writes packages from ``node`` to this node into ``directory``."""

    node: ForeignNode
    directory: Path

    @property
    def organisation(self) -> str:
        return SENDING.get(self.node.nation, "")

    def doc(self, **kwargs: Any) -> Doc:
        """A fresh document of the partner's nation."""
        kwargs.setdefault("label", LABEL.get(self.node.nation, ""))
        kwargs.setdefault("owner", self.organisation)
        return Doc(**kwargs)

    def write(self, manifest: dict[str, Any], parts: list[pkg.PartSource], *,
              kind: str = "transmission", package_id: uuid.UUID | None = None,
              sender: pkg.Address | None = None, recipient: pkg.Address | None = None,
              recipient_key: X25519PublicKey | None = None,
              sign: Callable[[bytes], bytes] | None = None, name: str | None = None
              ) -> tuple[Path, pkg.Written]:
        package_id = package_id or uuid.uuid4()
        path = self.directory / (name or f"{package_id.hex}-{uuid.uuid4().hex[:8]}.pkg")
        with path.open("xb") as file:
            written = pkg.write(
                file, package_id=package_id, kind=kind, created_at=timezone.now(),
                sender=sender or self.node.address,
                recipient=recipient or services.own_address(),
                recipient_key=recipient_key or keyring().agreement_public_key(),
                manifest=manifest, parts=parts, sign=sign or self.node.sign)
        return path, written

    def transmission(self, *documents: Doc, transmission_id: uuid.UUID | None = None,
                     manifest_changes: Callable[[dict[str, Any]], None] | None = None,
                     **kwargs: Any) -> tuple[Path, pkg.Written]:
        """A transmission package of these documents (one fresh document if none)."""
        head: dict[str, Any] = {"recipient": RECIPIENT[django_settings.NODE_NATION],
                "sender_organisation": self.organisation}
        for key in ("recipient", "sender_organisation", "channel", "reference", "sent_at"):
            if key in kwargs:
                head[key] = kwargs.pop(key)
        manifest, parts = transmission_manifest(list(documents) or [self.doc()],
                                                transmission_id=transmission_id or uuid.uuid4(),
                                                **head)
        if manifest_changes is not None:
            manifest_changes(manifest)
        return self.write(manifest, parts, **kwargs)


# --------------------------------------------------------------------------- this node


@pytest.fixture
def this_nation() -> str:
    """Which side this test database plays; parametrize it to play the other."""
    return "GBR"


@pytest.fixture
def node_settings(settings, tmp_path, this_nation):
    """This node: its nation, its federation and blob directories of this test's own."""
    settings.NODE_NATION = this_nation
    settings.FEDERATION_DIR = tmp_path / "federation"
    settings.BLOB_DIR = tmp_path / "blobs"
    return settings


@pytest.fixture
def officer(db, node_settings, this_nation):
    """A security officer of this node's national security authority."""
    return make_user(f"{this_nation.lower()}-officer", this_nation, org=authority(this_nation),
                     clearance="TOP-SECRET" if this_nation == "GBR" else "KIMITSU",
                     roles=[Role.SECURITY_OFFICER])


@pytest.fixture
def recipient(db, node_settings, this_nation):
    """The organisation of this node's nation the partner sends to."""
    return organisation(RECIPIENT[this_nation], this_nation, OrganisationKind.ARMED_SERVICE)


@pytest.fixture
def partner_node(tmp_path, this_nation):
    return foreign_node(tmp_path / "partner-keys", OTHER[this_nation])


@pytest.fixture
def partner(partner_node, officer, recipient):
    """The partner node, trusted here as its security authority's identity file says."""
    return services.import_partner(actor=officer, raw=partner_node.identity(),
                                   fingerprint=partner_node.fingerprint)


@pytest.fixture
def sender(partner, partner_node, tmp_path):
    directory = tmp_path / "from-partner"
    directory.mkdir()
    return Sender(partner_node, directory)


def make_sender(node: ForeignNode, directory: Path) -> Sender:
    directory.mkdir(parents=True, exist_ok=True)
    return Sender(node, directory)


# --------------------------------------------------------------------------- "nothing stored"

_NOT_STORED_BY_RECEIVING = {"security.auditevent", "sessions.session"}


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, int]
    blobs: frozenset[str]
    incoming: frozenset[str]
    last_seq: int


def _files(directory: Path) -> frozenset[str]:
    if not directory.exists():
        return frozenset()
    return frozenset(str(p.relative_to(directory)) for p in directory.rglob("*"))


def snapshot() -> Snapshot:
    """Every table's row count (but the audit log's), the blob store and the incoming
    directory."""
    rows = {m._meta.label_lower: m._default_manager.count() for m in apps.get_models()
            if m._meta.label_lower not in _NOT_STORED_BY_RECEIVING and m._meta.managed}
    return Snapshot(rows, _files(Path(django_settings.BLOB_DIR)),
                    _files(Path(django_settings.FEDERATION_DIR) / "incoming"), last_seq())


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def events_since(seq: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))


def changed_tables(before: Snapshot, after: Snapshot) -> dict[str, tuple[int, int]]:
    return {name: (count, after.rows[name]) for name, count in before.rows.items()
            if after.rows[name] != count}


def assert_refused(path: Path, match: str | None = None, *, channel: str = "https",
                   peer_certificate: bytes | None = None) -> services.PackageRefused:
    """Receive ``path`` and check that it was refused with a reason, audited with that reason,
    and that nothing else was stored: no row in any table, no blob, nothing in incoming."""
    before = snapshot()
    with pytest.raises(services.PackageRefused) as caught:
        services.receive(path, channel=channel, peer_certificate=peer_certificate)
    reason = str(caught.value)
    assert reason
    if match is not None:
        assert match.lower() in reason.lower(), reason
    after = snapshot()
    assert changed_tables(before, after) == {}
    assert after.blobs == before.blobs
    assert after.incoming == before.incoming
    events = events_since(before.last_seq)
    refusals = [e for e in events if e.action == "package.receive"]
    assert len(refusals) == 1, [(e.action, e.allowed, e.reason) for e in events]
    assert refusals[0].allowed is False
    assert refusals[0].reason == reason
    assert json.loads(refusals[0].detail)["channel"] == channel
    try:
        header = pkg.read_header(path)
    except pkg.PackageError:
        header = None
    if header is not None:
        assert refusals[0].object_id == str(header.id)
    assert not [e for e in events if e.allowed is True], "a refused package allowed something"
    return caught.value


# --------------------------------------------------------------------------- package files

TRAILER = struct.Struct(">I8s")


@dataclass(frozen=True)
class Regions:
    """Where each piece of a package file lies: (start, end) byte offsets."""

    magic: tuple[int, int]
    parts: dict[str, tuple[int, int]]
    header: tuple[int, int]
    signature: tuple[int, int]
    trailer: tuple[int, int]


def regions(path: Path) -> Regions:
    header = pkg.read_header(path)
    size = path.stat().st_size
    at, parts = len(pkg.MAGIC), {}
    for name, part_size, _ in header.parts:
        parts[name] = (at, at + part_size)
        at += part_size
    return Regions((0, len(pkg.MAGIC)), parts, (at, at + len(header.raw)),
                   (at + len(header.raw), at + len(header.raw) + pkg.SIGNATURE_SIZE),
                   (size - TRAILER.size, size))


def edited(path: Path, out: Path, edit: Callable[[bytearray], None]) -> Path:
    data = bytearray(path.read_bytes())
    edit(data)
    out.write_bytes(bytes(data))
    return out


def flipped(path: Path, out: Path, offset: int, mask: int = 0x01) -> Path:
    def flip(data: bytearray) -> None:
        data[offset] ^= mask
    return edited(path, out, flip)


def reassembled(path: Path, out: Path, *, sign: Callable[[bytes], bytes],
                change: Callable[[dict[str, Any]], None] | None = None,
                parts: bytes | None = None) -> Path:
    """The package at ``path`` with its header changed by ``change`` (and/or its parts'
    bytes replaced by ``parts``), signed again by ``sign``: a package its signer really made."""
    header = pkg.read_header(path)
    data = json.loads(header.raw)
    if change is not None:
        change(data)
    raw = pkg.canonical(data)
    r = regions(path)
    body = parts if parts is not None else path.read_bytes()[r.magic[1]:r.header[0]]
    out.write_bytes(pkg.MAGIC + body + raw + sign(pkg._PACKAGE_DOMAIN + raw)
                    + TRAILER.pack(len(raw), pkg.MAGIC))
    return out
