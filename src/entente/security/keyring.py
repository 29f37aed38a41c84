"""Key-encryption keys (KEKs) and the node signing key, behind an HSM-shaped interface.

Envelope encryption splits keys in two tiers: every stored object gets its own random
data key (DEK), and only the small DEK is encrypted ("wrapped") under a long-lived
per-nation KEK. The KEK never touches payload bytes, so rotating it means re-wrapping
a 60-byte blob per object instead of re-encrypting terabytes.

The :class:`Keyring` protocol is deliberately the set of operations a PKCS#11 hardware
security module offers (``C_WrapKey``/``C_UnwrapKey``, ``C_GenerateKey``, ``C_Sign``):
no method hands out KEK bytes or the private signing key, so an HSM-backed
implementation can be swapped in without changing any caller. :class:`DirectoryKeyring`
is the software implementation used until then; it keeps keys in files readable only
by the service account.

The exception classes live here (not in ``crypto``) because both modules raise them and
``crypto`` imports this module; ``crypto`` re-exports them for callers.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

__all__ = [
    "CryptoError",
    "DirectoryKeyring",
    "FormatError",
    "IntegrityError",
    "KeyNotFound",
    "Keyring",
    "format_kek_id",
    "parse_kek_id",
    "seal_for_node",
    "validate_nation",
]

KEK_SIZE = 32  # AES-256
WRAP_NONCE_SIZE = 12
_GCM_TAG_SIZE = 16

_NATION_RE = re.compile(r"[A-Z]{3}")
_KEK_ID_RE = re.compile(r"([A-Z]{3})-([1-9][0-9]{0,8})")
_KEY_FILE_RE = re.compile(r"([1-9][0-9]{0,8})\.key")
_K = TypeVar("_K", Ed25519PrivateKey, X25519PrivateKey)

# Sealing a value (a package's content key) to a node's key-agreement key: HPKE (RFC 9180) base
# mode, DHKEM(X25519, HKDF-SHA256), AES-256-GCM. The sender needs only the public key; only the
# node holding the private key can open it.
NODE_SEAL_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)


# --------------------------------------------------------------------------- errors


class CryptoError(Exception):
    """Base class, so callers can catch every failure of this package in one place."""


class IntegrityError(CryptoError):
    """Authentication failed: the ciphertext, its binding (label/object id) or key differ.

    Callers must treat this as "the data may have been tampered with" and refuse to
    release any of it; it is never a transient condition worth retrying.
    """


class FormatError(IntegrityError):
    """Stored ciphertext or envelope bytes are structurally malformed.

    It subclasses :class:`IntegrityError` on purpose: bytes we wrote ourselves that no
    longer parse are just as untrustworthy as bytes that fail a tag check, and a caller
    that guards data release with ``except IntegrityError`` must not let a corrupted
    header slip through as some other exception type (fail closed).
    """


class KeyNotFound(CryptoError, LookupError):
    """The requested KEK (or any KEK for a nation) does not exist in this keyring."""


# --------------------------------------------------------------------------- ids


def validate_nation(nation: str) -> str:
    """Return ``nation`` if it is an upper-case ISO 3166-1 alpha-3 code, else raise.

    Nation codes become directory names, so anything but exactly three ASCII capitals
    is rejected: that rules out path traversal (``../``), separators, NUL bytes and
    case-folding aliases (``gbr`` vs ``GBR``) that would split one nation's keys in two.
    """
    if not isinstance(nation, str) or not _NATION_RE.fullmatch(nation):
        raise ValueError(
            f"invalid nation code {nation!r}: expected an upper-case ISO 3166-1 alpha-3 "
            "code such as 'GBR' or 'FRA'"
        )
    return nation


def format_kek_id(nation: str, version: int) -> str:
    """Build the public id of a KEK version, e.g. ``GBR-3``."""
    validate_nation(nation)
    if version < 1:
        raise ValueError(f"KEK version must be >= 1, got {version}")
    return f"{nation}-{version}"


def parse_kek_id(kek_id: str) -> tuple[str, int]:
    """Split ``GBR-3`` into ``("GBR", 3)``; the nation is part of the id by design.

    Embedding the nation lets rotation find the right successor KEK from an envelope
    alone, without a lookup table that could drift out of sync.
    """
    match = _KEK_ID_RE.fullmatch(kek_id) if isinstance(kek_id, str) else None
    if match is None:
        raise ValueError(f"invalid KEK id {kek_id!r}: expected NATION-VERSION such as 'GBR-3'")
    return match.group(1), int(match.group(2))


# --------------------------------------------------------------------------- protocol


@runtime_checkable
class Keyring(Protocol):
    """Operations the crypto layer needs from wherever the KEKs live.

    Key material never crosses this interface: callers hand in a data key and get back
    an opaque wrapped blob (and vice versa), and ask for signatures rather than for the
    signing key. That is exactly what a PKCS#11 HSM can do (AES-GCM wrap via
    ``C_Encrypt``/``C_WrapKey``, Ed25519 via ``CKM_EDDSA``), so an HSM keyring is a
    drop-in replacement for :class:`DirectoryKeyring`.
    """

    def current_kek_id(self, nation: str) -> str:
        """Id of the KEK new data should be wrapped under; raises :class:`KeyNotFound`."""
        ...

    def create_kek(self, nation: str) -> str:
        """Generate a new KEK version for ``nation``, make it current, return its id."""
        ...

    def kek_ids(self, nation: str) -> list[str]:
        """All KEK ids of ``nation``, oldest first (so rotation jobs can find stragglers)."""
        ...

    def wrap(self, kek_id: str, data_key: bytes, aad: bytes) -> bytes:
        """Encrypt ``data_key`` under KEK ``kek_id``, authenticating ``aad`` alongside."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        """Inverse of :meth:`wrap`; raises :class:`IntegrityError` if anything differs."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Ed25519-sign ``message`` with the node key (audit checkpoints)."""
        ...

    def signing_public_key(self) -> Ed25519PublicKey:
        """Public half of the node key, for publishing to partners and verifying."""
        ...

    def agreement_public_key(self) -> X25519PublicKey:
        """Public half of the node's key-agreement (X25519) key, which partners seal to."""
        ...

    def open_sealed_for_node(self, sealed: bytes, info: bytes) -> bytes:
        """Open a value sealed to this node with :func:`seal_for_node` (HPKE decapsulation:
        ``C_DeriveKey`` with ``CKM_ECDH1_DERIVE`` on an HSM); raises :class:`IntegrityError`."""
        ...

    def tls_credentials(self) -> tuple[Path, Path]:
        """Paths of the node's TLS certificate and private key (PEM), for mutually
        authenticated HTTPS between nodes. An HSM-backed node points these at its TLS
        terminator's files instead."""
        ...


def seal_for_node(public_key: X25519PublicKey, value: bytes, info: bytes) -> bytes:
    """Seal ``value`` so that only the holder of ``public_key``'s private half can open it."""
    return NODE_SEAL_SUITE.encrypt(value, public_key, info=info)


# --------------------------------------------------------------------------- files


def _ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) as 0700, tightening it if we just created it.

    ``mkdir(mode=0o700)`` is filtered through the umask, which can only remove bits, so
    the result is never looser than 0700; the explicit chmod covers directories created
    by a racing process between our mkdir and the check.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)


def _publish_new_file(directory: Path, name: str, content: bytes) -> bool:
    """Atomically create ``directory/name`` with ``content`` (mode 0600) unless it exists.

    Returns False if the name was already taken. The content is written and fsynced in
    an ``O_EXCL`` temp file in the same directory, then published with ``os.link``,
    which, unlike ``os.replace``, refuses to overwrite an existing file. A plain
    replace could silently clobber a KEK that another process just created and already
    used to wrap data keys, which would make that data unrecoverable; with link the
    loser of a race sees ``FileExistsError`` and picks the next version number.
    Readers never observe a partially written key because the final name only ever
    points at a complete, synced file.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=directory)  # O_EXCL, mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp_name, directory / name)
        except FileExistsError:
            return False
        _fsync_dir(directory)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def _replace_file(directory: Path, name: str, content: bytes) -> None:
    """Atomically set ``directory/name`` to ``content`` (temp file + ``os.replace``)."""
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, directory / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    """Persist a rename/link: without it a crash can forget the new directory entry."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Exclusive advisory lock across processes, serialising KEK creation per nation.

    The lock keeps ``CURRENT`` monotonic (two concurrent rotations cannot leave it
    pointing at the older of the two new keys); the link-based publish stays as a
    second line of defence should a process ignore the lock.
    """
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


# --------------------------------------------------------------------------- keyring


class DirectoryKeyring(Keyring):
    """Software keyring storing keys as files under ``root``.

    Layout::

        root/kek/<NATION>/<n>.key     32 random bytes, base64 text, mode 0600
        root/kek/<NATION>/CURRENT     id of the current KEK, e.g. "GBR-3"
        root/node/ed25519.key         node signing key, PEM PKCS#8, mode 0600
        root/node/x25519.key          node key-agreement key, PEM PKCS#8, mode 0600
        root/node/tls.key, tls.crt    node TLS key (Ed25519) and its self-signed certificate

    All directories are 0700. State is read from disk on every call that can change
    (``CURRENT``, the key list), so several processes, or several instances in one
    process, sharing the directory always agree. Key files are immutable once
    published, so their decoded contents are cached.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._kek_root = self._root / "kek"
        self._node_dir = self._root / "node"
        self._cache: dict[str, AESGCM] = {}
        self._node_keys: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DirectoryKeyring({str(self._root)!r})"

    # -- KEKs ---------------------------------------------------------------------

    def _nation_dir(self, nation: str) -> Path:
        return self._kek_root / validate_nation(nation)

    def _versions(self, nation: str) -> list[int]:
        directory = self._nation_dir(nation)
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        versions = []
        for name in names:
            match = _KEY_FILE_RE.fullmatch(name)
            if match:
                versions.append(int(match.group(1)))
        return sorted(versions)

    def kek_ids(self, nation: str) -> list[str]:
        """All KEK ids of ``nation``, oldest first."""
        return [format_kek_id(nation, v) for v in self._versions(nation)]

    def current_kek_id(self, nation: str) -> str:
        """Read ``CURRENT``; raise :class:`KeyNotFound` if the nation has no KEK yet."""
        path = self._nation_dir(nation) / "CURRENT"
        try:
            kek_id = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise KeyNotFound(
                f"no key-encryption key exists for nation {nation}; create one with create_kek()"
            ) from None
        try:
            owner, version = parse_kek_id(kek_id)
        except ValueError:
            raise KeyNotFound(f"{path} is corrupt: it contains {kek_id!r}") from None
        if owner != nation or not (self._nation_dir(nation) / f"{version}.key").is_file():
            raise KeyNotFound(f"{path} names {kek_id}, which is not a key of {nation}")
        return kek_id

    def create_kek(self, nation: str) -> str:
        """Generate KEK version max+1 for ``nation``, publish it, then point CURRENT at it.

        The key file is made durable before ``CURRENT`` moves, so a crash in between
        leaves an unused key, never a ``CURRENT`` naming a key that does not exist.
        """
        directory = self._nation_dir(nation)
        self._root.mkdir(mode=0o700, parents=True, exist_ok=True)
        _ensure_private_dir(self._kek_root)
        _ensure_private_dir(directory)
        with _locked(directory / ".lock"):
            version = (self._versions(nation) or [0])[-1] + 1
            material = base64.b64encode(os.urandom(KEK_SIZE)) + b"\n"
            while not _publish_new_file(directory, f"{version}.key", material):
                version += 1  # someone ignored the lock and took this number
            kek_id = format_kek_id(nation, version)
            _replace_file(directory, "CURRENT", kek_id.encode("ascii") + b"\n")
        return kek_id

    def _aead(self, kek_id: str) -> AESGCM:
        cached = self._cache.get(kek_id)
        if cached is not None:
            return cached
        nation, version = parse_kek_id(kek_id)
        path = self._nation_dir(nation) / f"{version}.key"
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            raise KeyNotFound(f"key-encryption key {kek_id} does not exist") from None
        try:
            material = base64.b64decode(text.strip(), validate=True)
        except binascii.Error:
            material = b""
        if len(material) != KEK_SIZE:
            raise KeyNotFound(
                f"key-encryption key file {path} is corrupt (expected {KEK_SIZE} bytes of base64)"
            )
        aead = AESGCM(material)
        with self._lock:
            self._cache[kek_id] = aead
        return aead

    def wrap(self, kek_id: str, data_key: bytes, aad: bytes) -> bytes:
        """AES-256-GCM under the KEK: ``nonce(12) || ciphertext || tag(16)``.

        A random nonce is safe here: each KEK wraps far fewer than the 2**32 keys at
        which random 96-bit GCM nonces start to risk collision.
        """
        nonce = os.urandom(WRAP_NONCE_SIZE)
        return nonce + self._aead(kek_id).encrypt(nonce, data_key, aad)

    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        """Recover a data key; raise :class:`IntegrityError` on any mismatch."""
        aead = self._aead(kek_id)
        if len(wrapped) < WRAP_NONCE_SIZE + _GCM_TAG_SIZE:
            raise IntegrityError(
                f"wrapped data key is truncated ({len(wrapped)} bytes); the stored "
                "envelope was damaged or altered"
            )
        try:
            return aead.decrypt(wrapped[:WRAP_NONCE_SIZE], wrapped[WRAP_NONCE_SIZE:], aad)
        except InvalidTag:
            raise IntegrityError(
                f"the data key could not be unwrapped with {kek_id}: the wrapped key or "
                "its binding (label / object id) was altered, or it belongs to another "
                "object"
            ) from None

    # -- node signing key ---------------------------------------------------------

    def _node_key(self, name: str, kind: Any, generate: Callable[[], _K]) -> _K:
        """The node's private key in ``node/<name>``, generated on first use. If another
        process won the race to create it, its key is loaded, so that every process of the
        node uses the same key. Key files never change, so the key is kept once loaded."""
        cached = self._node_keys.get(name)
        if cached is not None:
            return cast(_K, cached)
        path = self._node_dir / name
        if not path.exists():
            self._root.mkdir(mode=0o700, parents=True, exist_ok=True)
            _ensure_private_dir(self._node_dir)
            pem = generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _publish_new_file(self._node_dir, name, pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, kind):
            raise KeyNotFound(f"{path} does not contain a {kind.__name__}")
        with self._lock:
            self._node_keys[name] = key
        return key

    def _load_signing_key(self) -> Ed25519PrivateKey:
        return self._node_key("ed25519.key", Ed25519PrivateKey, Ed25519PrivateKey.generate)

    def sign(self, message: bytes) -> bytes:
        """Sign with the node key, creating it on first use."""
        return self._load_signing_key().sign(message)

    def signing_public_key(self) -> Ed25519PublicKey:
        """Public half of the node key, creating the key pair on first use."""
        return self._load_signing_key().public_key()

    # -- node key-agreement key -----------------------------------------------------

    def _load_agreement_key(self) -> X25519PrivateKey:
        return self._node_key("x25519.key", X25519PrivateKey, X25519PrivateKey.generate)

    def agreement_public_key(self) -> X25519PublicKey:
        """Public half of the key-agreement key, creating the key pair on first use."""
        return self._load_agreement_key().public_key()

    def open_sealed_for_node(self, sealed: bytes, info: bytes) -> bytes:
        try:
            return NODE_SEAL_SUITE.decrypt(sealed, self._load_agreement_key(), info=info)
        except (InvalidTag, ValueError):
            raise IntegrityError(
                "the sealed key does not open with this node's key-agreement key: it was "
                "sealed for another node, or altered"
            ) from None

    # -- node TLS identity ------------------------------------------------------------

    def tls_credentials(self) -> tuple[Path, Path]:
        """The TLS key and a self-signed certificate for it, created on first use. Partners pin
        the certificate itself (it travels in the node's identity file), so no certificate
        authority is involved and the subject name carries no meaning."""
        key_path, cert_path = self._node_dir / "tls.key", self._node_dir / "tls.crt"
        key = self._node_key("tls.key", Ed25519PrivateKey, Ed25519PrivateKey.generate)
        if not cert_path.exists():
            _publish_new_file(self._node_dir, cert_path.name, _self_signed(key))
        return cert_path, key_path


def _self_signed(key: Ed25519PrivateKey) -> bytes:
    """A long-lived self-signed certificate for ``key`` (PEM). Pinned by partners, so its
    validity period and names are not what makes it trusted."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "entente node")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, None)
    )
    return certificate.public_bytes(serialization.Encoding.PEM)
