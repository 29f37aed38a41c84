"""What one Entente node sends another, as one file: the package, and the signed documents that
travel with it (identity files, receipts, transfer logs). A library: no database, no settings.

A package is written once by the sender and read by the recipient node only::

    b"ENTEPKG1"                        magic
    part 0 … part n-1                  each exactly header.parts[i].size bytes
    header                             canonical JSON (UTF-8), in clear: what routing needs
    signature                          64 bytes, Ed25519 by the sender node over DOMAIN ‖ header
    u32 (big-endian)                   length of the header
    b"ENTEPKG1"                        magic again

The header comes last so the sender writes the file in one pass (each part is hashed as it is
encrypted); the recipient has the whole file on disk before it reads anything, reads the header
from the end, checks the signature, then every part's SHA-256, and only then decrypts.

Header fields: ``format``, ``id`` (the package's UUID), ``kind``, ``created_at``, ``sender`` and
``recipient`` (each ``{"nation", "key"}``, the key being the node's fingerprint), ``key`` (the
package's content key, sealed to the recipient node's key-agreement key with HPKE, its ``info``
bound to the package id and both nodes) and ``parts`` (``{"name", "size", "sha256"}``; the hash
is of the part's ciphertext). Nothing classified is in clear: titles, labels, bodies and files
are in the parts, part 0 (``manifest``) being the JSON that says what the others are. Every part
is a STREAM (``crypto.encrypt_stream_with_key``) under a key derived from the content key and
the part's name, bound to the package id and the name, so parts cannot be swapped, cut or
moved to another package.

Receipts, identity files and transfer logs are *signed documents*: canonical JSON of the fields
plus a detached Ed25519 signature over a domain tag and those bytes (:func:`sign_document`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import json
import os
import re
import struct
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from entente.security import crypto
from entente.security.keyring import seal_for_node

FORMAT: Final = "entente-package/1"
MAGIC: Final = b"ENTEPKG1"
_TRAILER: Final = struct.Struct(">I8s")  # header length, magic
SIGNATURE_SIZE: Final = 64
MAX_HEADER: Final = 1 << 20
MAX_PARTS: Final = 10_000


class PackageKind(TextChoices):
    """What a package carries: the header's ``kind``, and the only kinds a node accepts."""

    TRANSMISSION = "transmission", _("Transmission")
    RELEASE_REQUEST = "release-request", _("Release request")
    DOWNGRADE_REQUEST = "downgrade-request", _("Downgrade request")
    DECISION = "decision", _("Decision on a request")
    WITHDRAWAL = "withdrawal", _("Withdrawal of a request")


KINDS: Final = frozenset(PackageKind.values)

_PACKAGE_DOMAIN: Final = b"entente/package/v1\0"
_KEY_INFO: Final = b"entente/package-key/v1\0"
_PART_INFO: Final = b"entente/package-part/v1\0"
_PART_NAME = re.compile(r"[a-z]+(:[0-9a-f-]{1,40})?\Z")
_NATION = re.compile(r"[A-Z]{3}\Z")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}\Z")


class PackageError(ValueError):
    """A package, receipt or signed document that cannot be accepted; the message says why."""


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """A node's fingerprint: SHA-256 of its raw Ed25519 signing key (hex). What two security
    authorities read to each other over the telephone before trusting an identity file."""
    return hashlib.sha256(public_key.public_bytes_raw()).hexdigest()


def grouped(fingerprint_hex: str) -> str:
    """``3f2a 9c01 …``: the first 128 bits, in groups of four, for people to compare."""
    return " ".join(fingerprint_hex[i:i + 4] for i in range(0, 32, 4))


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                      ).encode()


def _json(raw: bytes, refusal: str) -> Any:
    """JSON from another node, or a refusal: whatever the bytes (not UTF-8, not JSON, numbers of
    thousands of digits, nesting too deep for the parser)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError among them
        raise PackageError(refusal) from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        raise PackageError(f"{what} is not valid base64.") from None


# --------------------------------------------------------------------------- signed documents


def sign_document(sign: Callable[[bytes], bytes], domain: str, fields: dict[str, Any]) -> bytes:
    """``{"signed": fields, "signature": base64}`` as canonical JSON bytes."""
    signature = sign(_domain(domain) + canonical(fields))
    return canonical({"signed": fields, "signature": _b64(signature)})


def read_document(raw: bytes, domain: str) -> tuple[dict[str, Any], bytes]:
    """The fields and signature of a signed document, *not yet verified*: the caller picks the
    key to verify with from the fields (whose node is it?), then calls :func:`verify_document`."""
    outer = _json(raw, f"Not a signed {domain} (not JSON).")
    if not isinstance(outer, dict) or set(outer) != {"signed", "signature"} \
            or not isinstance(outer["signed"], dict):
        raise PackageError(f"Not a signed {domain}.")
    return outer["signed"], _unb64(outer["signature"], "The signature")


def verify_document(fields: dict[str, Any], signature: bytes, domain: str,
                    public_key: Ed25519PublicKey) -> None:
    try:
        public_key.verify(signature, _domain(domain) + canonical(fields))
    except InvalidSignature:
        raise PackageError(f"The {domain}'s signature does not verify with the key of the node "
                           "it claims to come from.") from None


def _domain(name: str) -> bytes:
    return f"entente/{name}/v1".encode() + b"\0"


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Address:
    nation: str
    key: str  # fingerprint

    def as_json(self) -> dict[str, str]:
        return {"nation": self.nation, "key": self.key}


@dataclass(frozen=True)
class Written:
    """What the sender keeps of a package it wrote."""

    id: uuid.UUID
    size: int
    header_sha256: str


PartSource = tuple[str, Callable[[], BinaryIO]]  # (name, open the part's plaintext)


def write(dst: BinaryIO, *, package_id: uuid.UUID, kind: str, created_at: dt.datetime,
          sender: Address, recipient: Address, recipient_key: X25519PublicKey,
          manifest: dict[str, Any], parts: Iterable[PartSource],
          sign: Callable[[bytes], bytes]) -> Written:
    """Write a package into ``dst`` (a new, empty file). Each part's plaintext is read once, in
    constant memory, and encrypted as it is read; nothing in clear reaches ``dst``."""
    if kind not in KINDS:
        raise ValueError(f"unknown package kind {kind!r}")
    content_key = os.urandom(32)
    dst.write(MAGIC)
    listed: list[dict[str, Any]] = []
    sources: list[PartSource] = [("manifest", lambda: io.BytesIO(canonical(manifest))),
                                 *parts]
    if len(sources) > MAX_PARTS:
        raise ValueError(f"a package holds at most {MAX_PARTS} parts")
    for name, open_part in sources:
        if not _PART_NAME.match(name):
            raise ValueError(f"bad part name {name!r}")
        hashing = _HashingWriter(dst)
        with open_part() as plaintext:
            crypto.encrypt_stream_with_key(_part_key(content_key, package_id, name), plaintext,
                                           cast(BinaryIO, hashing),
                                           _part_binding(package_id, name))
        listed.append({"name": name, "size": hashing.size, "sha256": hashing.hexdigest()})
    header = canonical({
        "format": FORMAT, "id": str(package_id), "kind": kind,
        "created_at": created_at.isoformat(), "sender": sender.as_json(),
        "recipient": recipient.as_json(),
        "key": _b64(seal_for_node(recipient_key, content_key,
                                  _key_info(package_id, sender, recipient))),
        "parts": listed,
    })
    dst.write(header)
    dst.write(sign(_PACKAGE_DOMAIN + header))
    dst.write(_TRAILER.pack(len(header), MAGIC))
    size = len(MAGIC) + sum(p["size"] for p in listed) + len(header) + SIGNATURE_SIZE \
        + _TRAILER.size
    return Written(package_id, size, hashlib.sha256(header).hexdigest())


class _HashingWriter:
    def __init__(self, dst: BinaryIO) -> None:
        self._dst, self._hash, self.size = dst, hashlib.sha256(), 0

    def write(self, data: bytes | memoryview) -> int:
        self._hash.update(data)
        self._dst.write(data)
        self.size += len(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _part_key(content_key: bytes, package_id: uuid.UUID, name: str) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=package_id.bytes,
                info=_PART_INFO + name.encode()).derive(content_key)


def _part_binding(package_id: uuid.UUID, name: str) -> bytes:
    return _PACKAGE_DOMAIN + package_id.bytes + name.encode()


def _key_info(package_id: uuid.UUID, sender: Address, recipient: Address) -> bytes:
    return _KEY_INFO + package_id.bytes + canonical([sender.as_json(), recipient.as_json()])


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Header:
    id: uuid.UUID
    kind: str
    created_at: dt.datetime
    sender: Address
    recipient: Address
    sealed_key: bytes
    parts: tuple[tuple[str, int, str], ...]  # name, size, sha256 of the ciphertext
    raw: bytes
    signature: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()


def read_header(path: Path) -> Header:
    """The package's header, parsed and checked for shape; its signature is *not yet* checked
    (:meth:`Package.verify` does that, with the key of the node the header names)."""
    size = path.stat().st_size
    with path.open("rb") as file:
        if size < len(MAGIC) + SIGNATURE_SIZE + _TRAILER.size or file.read(8) != MAGIC:
            raise PackageError("Not an Entente package (bad magic bytes or too short).")
        file.seek(size - _TRAILER.size)
        length, magic = _TRAILER.unpack(file.read(_TRAILER.size))
        if magic != MAGIC:
            raise PackageError("The package is truncated or has data appended.")
        if not 2 <= length <= MAX_HEADER or length + SIGNATURE_SIZE + _TRAILER.size + 8 > size:
            raise PackageError("The package's header length is impossible.")
        start = size - _TRAILER.size - SIGNATURE_SIZE - length
        file.seek(start)
        raw = file.read(length)
        signature = file.read(SIGNATURE_SIZE)
    header = _parse_header(raw, signature)
    if len(MAGIC) + sum(p[1] for p in header.parts) != start:
        raise PackageError("The package's parts do not add up to its size: it was cut short "
                           "or has data inserted.")
    return header


def _parse_header(raw: bytes, signature: bytes) -> Header:
    data = _json(raw, "The package's header is not JSON.")
    expected = {"format", "id", "kind", "created_at", "sender", "recipient", "key", "parts"}
    if not isinstance(data, dict) or set(data) != expected:
        raise PackageError("The package's header does not have the fields of "
                           f"{FORMAT}.")
    if data["format"] != FORMAT:
        raise PackageError(f"Unknown package format {str(data['format'])[:40]!r}.")
    if not isinstance(data["kind"], str) or data["kind"] not in KINDS:
        raise PackageError(f"Unknown package kind {str(data['kind'])[:40]!r}.")
    try:
        package_id = uuid.UUID(str(data["id"]))
        created_at = dt.datetime.fromisoformat(str(data["created_at"]))
    except ValueError:
        raise PackageError("The package's id or creation time is malformed.") from None
    if created_at.tzinfo is None:
        raise PackageError("The package's creation time has no time zone.")
    parts = data["parts"]
    if not isinstance(parts, list) or not 1 <= len(parts) <= MAX_PARTS:
        raise PackageError("The package lists no parts, or too many.")
    listed = []
    for part in parts:
        if not (isinstance(part, dict) and set(part) == {"name", "size", "sha256"}
                and isinstance(part["name"], str) and _PART_NAME.match(part["name"])
                and type(part["size"]) is int and part["size"] > 0
                and isinstance(part["sha256"], str) and re.fullmatch(r"[0-9a-f]{64}",
                                                                     part["sha256"])):
            raise PackageError("A part of the package is described wrongly.")
        listed.append((part["name"], part["size"], part["sha256"]))
    names = [p[0] for p in listed]
    if names[0] != "manifest" or len(set(names)) != len(names):
        raise PackageError("The package's parts must start with its manifest and have "
                           "distinct names.")
    return Header(package_id, data["kind"], created_at, _address(data["sender"], "sender"),
                  _address(data["recipient"], "recipient"), _unb64(data["key"], "The key"),
                  tuple(listed), raw, signature)


def _address(value: Any, what: str) -> Address:
    if not (isinstance(value, dict) and set(value) == {"nation", "key"}
            and isinstance(value["nation"], str) and _NATION.match(value["nation"])
            and isinstance(value["key"], str) and _FINGERPRINT.match(value["key"])):
        raise PackageError(f"The package's {what} is malformed.")
    return Address(value["nation"], value["key"])


class Package:
    """A package on disk whose header has been read. Use in this order: :meth:`verify` (the
    sender's signature), :meth:`check_parts` (every part's hash), :meth:`open` (the content key,
    with the recipient's keyring), then :meth:`manifest` and :meth:`part`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header = read_header(path)
        self._key: bytes | None = None
        self._verified = self._checked = False
        offsets, at = {}, len(MAGIC)
        for name, size, _digest in self.header.parts:
            offsets[name] = (at, size)
            at += size
        self._offsets = offsets

    def verify(self, sender_key: Ed25519PublicKey) -> None:
        if fingerprint(sender_key) != self.header.sender.key:
            raise PackageError("The package names a different sender key.")
        try:
            sender_key.verify(self.header.signature, _PACKAGE_DOMAIN + self.header.raw)
        except InvalidSignature:
            raise PackageError("The package's signature does not verify: it was altered, or "
                               "was not signed by the node it names.") from None
        self._verified = True

    def check_parts(self) -> None:
        """Every part's bytes against the signed hash, before anything is decrypted."""
        self._require(self._verified, "verify")
        with self.path.open("rb") as file:
            file.seek(len(MAGIC))
            for name, size, expected in self.header.parts:
                digest, left = hashlib.sha256(), size
                while left:
                    chunk = file.read(min(left, 1 << 20))
                    if not chunk:
                        raise PackageError("The package is cut short.")
                    digest.update(chunk)
                    left -= len(chunk)
                if digest.hexdigest() != expected:
                    raise PackageError(f"The package's part '{name}' was altered: its hash "
                                       "does not match the signed one.")
        self._checked = True

    def open(self, open_sealed: Callable[[bytes, bytes], bytes]) -> None:
        """Recover the content key with the recipient's keyring (``open_sealed_for_node``)."""
        self._require(self._checked, "check_parts")
        h = self.header
        try:
            self._key = open_sealed(h.sealed_key, _key_info(h.id, h.sender, h.recipient))
        except crypto.IntegrityError:
            raise PackageError("The package's key does not open with this node's key: it was "
                               "sealed for another node.") from None

    def manifest(self) -> dict[str, Any]:
        with self.part("manifest") as stream:
            raw = stream.read(MAX_HEADER * 16 + 1)
        if len(raw) > MAX_HEADER * 16:
            raise PackageError("The package's manifest is too large.")
        data = _json(raw, "The package's manifest is not JSON.")
        if not isinstance(data, dict):
            raise PackageError("The package's manifest is not an object.")
        return data

    def has_part(self, name: str) -> bool:
        return name in self._offsets

    def part(self, name: str) -> io.BufferedReader:
        """A part's plaintext as a file object (each chunk authenticated before it is read)."""
        if self._key is None:
            raise PackageError("The package has not been opened.")
        if name not in self._offsets:
            raise PackageError(f"The package has no part '{name}'.")
        start, size = self._offsets[name]
        file = self.path.open("rb")
        file.seek(start)
        chunks = crypto.iter_decrypt_with_key(_part_key(self._key, self.header.id, name),
                                              cast(BinaryIO, _Slice(file, size)),
                                              _part_binding(self.header.id, name))
        return io.BufferedReader(_Chunks(chunks, file), buffer_size=crypto.DEFAULT_CHUNK_SIZE)

    def _require(self, done: bool, step: str) -> None:
        if not done:
            raise PackageError(f"The package must pass {step}() first.")


class _Slice(io.RawIOBase):
    """``size`` bytes of ``file`` from where it stands: a part, never the next one."""

    def __init__(self, file: BinaryIO, size: int) -> None:
        self._file, self._left = file, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self._left]
        n = self._file.readinto(view) if view else 0  # type: ignore[attr-defined]
        self._left -= n or 0
        return n or 0


class _Chunks(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes], file: BinaryIO) -> None:
        self._chunks, self._file, self._buf = chunks, file, memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._buf:
            try:
                self._buf = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._buf))
        buffer[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        self._file.close()
        super().close()
