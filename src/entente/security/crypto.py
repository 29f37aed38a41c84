"""Envelope encryption at rest for classified payloads (pure library, no Django).

Every stored object gets a fresh random 256-bit data key (DEK). Payload bytes are
encrypted under the DEK; the DEK is wrapped under the owning nation's current KEK by a
:class:`~entente.security.keyring.Keyring`. The wrapped DEK plus the KEK id form the
:class:`Envelope`, stored next to the ciphertext. Why this shape:

* KEK rotation (:func:`rewrap`) touches only the envelope, never the payload.
* A KEK can live in an HSM later; the payload path never needs KEK bytes.
* One leaked DEK exposes one object, not a nation's archive.

Every operation takes a ``binding``: opaque bytes the caller derives from what the
ciphertext *means* (canonical classification label text + object id). It is
authenticated into both the DEK wrap and the payload, so relabelling an object
(e.g. downgrading SECRET to RESTRICTED in the database) or swapping two objects'
ciphertexts makes decryption fail instead of silently serving the data under the
wrong label.

Two payload formats:

* :func:`seal` / :func:`open_sealed` for small values held in memory, serialised by
  :meth:`Sealed.to_bytes` for a ``BinaryField``.
* :func:`encrypt_stream` / :func:`decrypt_stream` / :func:`iter_decrypt` for files of
  any size in constant memory, using the STREAM online-AE construction
  (Hoang, Reyhanitabar, Rogaway, Vizár 2015; as in Tink and age)::

      header = b"ENTE" || version(1) || chunk_size(4, BE) || nonce_prefix(7)
      chunk_i = AES-256-GCM(DEK, nonce = prefix || i(4, BE) || last(1),
                            aad = header || binding)

  Every non-final chunk holds exactly ``chunk_size`` plaintext bytes, the final one
  0..chunk_size. The counter in the nonce stops reordering and dropping of inner
  chunks, the last-flag stops truncation at a chunk boundary and appending, the
  header in the AAD stops header edits, and the per-object DEK plus the binding stop
  splicing chunks between objects.

No function here writes plaintext anywhere except to the caller's ``dst``, and none
holds more than about two chunks in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import struct
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, Final, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from entente.security.keyring import (
    CryptoError,
    FormatError,
    IntegrityError,
    KeyNotFound,
    Keyring,
    parse_kek_id,
    validate_nation,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "SEALED_ALGORITHM",
    "STREAM_ALGORITHM",
    "CryptoError",
    "Envelope",
    "FormatError",
    "IntegrityError",
    "KeyNotFound",
    "Keyring",
    "Sealed",
    "StreamResult",
    "decrypt_stream",
    "encrypt_stream",
    "encrypt_stream_with_key",
    "iter_decrypt",
    "iter_decrypt_with_key",
    "nation_of",
    "open_sealed",
    "rewrap",
    "seal",
]

STREAM_ALGORITHM: Final = "AES-256-GCM/STREAM/v1"
SEALED_ALGORITHM: Final = "AES-256-GCM/SEALED/v1"
_ALGORITHMS: Final = frozenset({STREAM_ALGORITHM, SEALED_ALGORITHM})

DEFAULT_CHUNK_SIZE: Final = 1 << 20
# Below this, starting a hashing thread costs more than hashing inline saves.
_THREADED_HASH_MIN_CHUNK: Final = 1 << 16
# Bounds the memory a decryptor allocates on the say-so of a not-yet-authenticated header.
MAX_CHUNK_SIZE: Final = 1 << 24

DEK_SIZE: Final = 32
TAG_SIZE: Final = 16
NONCE_SIZE: Final = 12

_DEK_AAD_PREFIX: Final = b"entente/dek/v1\0"
_SEALED_AAD_PREFIX: Final = b"entente/sealed/v1\0"

STREAM_MAGIC: Final = b"ENTE"
STREAM_VERSION: Final = 1
_STREAM_HEADER: Final = struct.Struct(">4sBI7s")  # magic, version, chunk size, prefix
STREAM_HEADER_SIZE: Final = _STREAM_HEADER.size  # 16
_NONCE_PREFIX_SIZE: Final = 7
_MAX_CHUNKS: Final = 1 << 32  # the 4-byte counter must never wrap (nonce reuse)

_SEALED_MAGIC: Final = b"ES"
_SEALED_VERSION: Final = 1
_ENVELOPE_MAGIC: Final = b"EV"
_ENVELOPE_VERSION: Final = 1

_T = TypeVar("_T")


# --------------------------------------------------------------------------- types


def nation_of(kek_id: str) -> str:
    """Nation owning a KEK id (``"GBR-3"`` -> ``"GBR"``); raises ValueError if malformed."""
    return parse_kek_id(kek_id)[0]


@dataclass(frozen=True)
class Envelope:
    """Which KEK wrapped an object's data key, and the wrapped key itself.

    Not secret (the DEK inside is encrypted), but it must be stored with the object:
    losing it loses the data. ``algorithm`` names the payload format so a future format
    can coexist with old rows; it is also authenticated into the wrap, so an envelope
    cannot be replayed against a payload of the other format.
    """

    kek_id: str
    wrapped_key: bytes
    algorithm: str = STREAM_ALGORITHM

    def __post_init__(self) -> None:
        parse_kek_id(self.kek_id)
        if not isinstance(self.wrapped_key, bytes):
            raise TypeError("wrapped_key must be bytes")
        if not self.algorithm.isascii() or "\0" in self.algorithm:
            raise ValueError(f"invalid algorithm name {self.algorithm!r}")

    @property
    def nation(self) -> str:
        """The nation whose KEK protects this object."""
        return nation_of(self.kek_id)

    def to_bytes(self) -> bytes:
        """``b"EV" || 1 || len(alg) || alg || len(kek_id) || kek_id || wrapped_key``."""
        alg = self.algorithm.encode("ascii")
        kek = self.kek_id.encode("ascii")
        return (
            _ENVELOPE_MAGIC
            + bytes((_ENVELOPE_VERSION, len(alg)))
            + alg
            + bytes((len(kek),))
            + kek
            + self.wrapped_key
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Parse :meth:`to_bytes` output; raise :class:`FormatError` if malformed."""
        reader = _Reader(bytes(data), "envelope")
        reader.expect_magic(_ENVELOPE_MAGIC, _ENVELOPE_VERSION)
        algorithm = reader.ascii(reader.u8())
        kek_id = reader.ascii(reader.u8())
        wrapped = reader.rest()
        if algorithm not in _ALGORITHMS:
            raise FormatError(f"envelope names unknown algorithm {algorithm!r}")
        return reader.build(lambda: cls(kek_id, wrapped, algorithm))


@dataclass(frozen=True)
class Sealed:
    """A small value encrypted in memory: envelope, GCM nonce and ciphertext+tag."""

    envelope: Envelope
    nonce: bytes
    ciphertext: bytes

    def to_bytes(self) -> bytes:
        """Compact, versioned encoding for a ``BinaryField``.

        ``b"ES" || 1 || len(kek_id)(1) || kek_id || len(wrapped)(2, BE) || wrapped ||
        nonce(12) || ciphertext+tag``. The algorithm is implied by the version byte,
        which keeps a sealed short string at about 100 bytes of overhead.
        """
        if self.envelope.algorithm != SEALED_ALGORITHM:
            raise ValueError(f"not a sealed-value envelope: {self.envelope.algorithm}")
        kek = self.envelope.kek_id.encode("ascii")
        wrapped = self.envelope.wrapped_key
        return b"".join(
            (
                _SEALED_MAGIC,
                bytes((_SEALED_VERSION, len(kek))),
                kek,
                len(wrapped).to_bytes(2, "big"),
                wrapped,
                self.nonce,
                self.ciphertext,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Sealed:
        """Parse :meth:`to_bytes` output; raise :class:`FormatError` if malformed."""
        reader = _Reader(bytes(data), "sealed value")
        reader.expect_magic(_SEALED_MAGIC, _SEALED_VERSION)
        kek_id = reader.ascii(reader.u8())
        wrapped = reader.take(int.from_bytes(reader.take(2), "big"))
        nonce = reader.take(NONCE_SIZE)
        ciphertext = reader.rest()
        if len(ciphertext) < TAG_SIZE:
            raise FormatError("sealed value is truncated: ciphertext shorter than its tag")
        return reader.build(lambda: cls(Envelope(kek_id, wrapped, SEALED_ALGORITHM), nonce, ciphertext))


@dataclass(frozen=True)
class StreamResult:
    """What :func:`encrypt_stream` produced.

    ``sha256_of_plaintext`` (hex) lets the caller de-duplicate or cross-check a
    download, but note it is a fingerprint of the plaintext: anyone who can read it
    can confirm a guess of the whole document, so store it with the same protection
    as the document's existence, not as public metadata.
    """

    envelope: Envelope
    plaintext_size: int
    ciphertext_size: int
    sha256_of_plaintext: str


class _Reader:
    """Bounds-checked cursor so every malformed input becomes a :class:`FormatError`."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def take(self, n: int) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise FormatError(f"{self._what} is truncated ({len(self._data)} bytes)")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def ascii(self, n: int) -> str:
        raw = self.take(n)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise FormatError(f"{self._what} contains a non-ASCII identifier") from None

    def rest(self) -> bytes:
        chunk = self._data[self._pos :]
        self._pos = len(self._data)
        return chunk

    def expect_magic(self, magic: bytes, version: int) -> None:
        if self.take(len(magic)) != magic:
            raise FormatError(f"not an Entente {self._what} (bad magic bytes)")
        found = self.u8()
        if found != version:
            raise FormatError(f"unsupported {self._what} format version {found}")

    def build(self, factory: Callable[[], _T]) -> _T:
        try:
            return factory()
        except (ValueError, TypeError) as exc:
            raise FormatError(f"malformed {self._what}: {exc}") from None


# --------------------------------------------------------------------------- helpers


def _check_binding(binding: bytes) -> bytes:
    """Refuse ``str`` early: silently encoding it would hide a kernel bug."""
    if not isinstance(binding, bytes):
        raise TypeError(
            f"binding must be bytes (canonical label text + object id), not {type(binding).__name__}"
        )
    return binding


def _dek_aad(algorithm: str, binding: bytes) -> bytes:
    """AAD for wrapping a DEK: domain tag, payload format, then the caller's binding.

    The fixed NUL-terminated prefix keeps this AAD disjoint from any other use of the
    same KEK, and the algorithm makes a sealed-value DEK unusable as a stream DEK.
    """
    return _DEK_AAD_PREFIX + algorithm.encode("ascii") + b"\0" + binding


def _new_envelope(keyring: Keyring, nation: str, algorithm: str, binding: bytes) -> tuple[Envelope, bytes]:
    kek_id = keyring.current_kek_id(validate_nation(nation))
    dek = AESGCM.generate_key(bit_length=256)
    wrapped = keyring.wrap(kek_id, dek, _dek_aad(algorithm, binding))
    return Envelope(kek_id, wrapped, algorithm), dek


def _open_envelope(keyring: Keyring, envelope: Envelope, algorithm: str, binding: bytes) -> bytes:
    if envelope.algorithm != algorithm:
        raise FormatError(f"envelope is for {envelope.algorithm!r} data, not {algorithm!r}")
    dek = keyring.unwrap(envelope.kek_id, envelope.wrapped_key, _dek_aad(algorithm, binding))
    if len(dek) != DEK_SIZE:
        raise IntegrityError(f"unwrapped data key has {len(dek)} bytes, expected {DEK_SIZE}")
    return dek


def _read_into(src: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``src`` until full or EOF; return the byte count.

    Loops because pipes, sockets and raw files may return short reads; a short read
    must not be mistaken for the end of the stream (that would move the last-chunk
    flag and make valid data undecryptable). Uses ``readinto`` where available so the
    chunk buffer is reused rather than reallocated per chunk.
    """
    readinto = getattr(src, "readinto", None)
    total = 0
    size = len(view)
    while total < size:
        if readinto is not None:
            n = readinto(view[total:])
        else:
            data = src.read(size - total)
            n = len(data) if data is not None else None
            if n:
                view[total : total + n] = data
        if n is None:
            raise BlockingIOError("source stream is non-blocking and has no data ready")
        if n == 0:
            break
        total += n
    return total


def _write_all(dst: BinaryIO, data: bytes | memoryview) -> None:
    """Write everything, resuming when a raw stream reports a partial write.

    A ``None`` return is taken as "all written", as ``shutil.copyfileobj`` does, since
    many duck-typed writers (response objects, wrappers) return nothing at all.
    """
    view = memoryview(data)
    while view:
        n = dst.write(view)
        if n is None or n >= len(view):
            return
        if n <= 0:
            raise OSError(f"destination stream accepted no data ({type(dst).__name__})")
        view = view[n:]


def _chunk_nonce(prefix: bytes, counter: int, final: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


def _check_chunk_size(chunk_size: int) -> None:
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}, got {chunk_size}")


# --------------------------------------------------------------------------- small values


def seal(keyring: Keyring, nation: str, plaintext: bytes, binding: bytes) -> Sealed:
    """Encrypt a small in-memory value under a fresh DEK wrapped by ``nation``'s KEK."""
    _check_binding(binding)
    envelope, dek = _new_envelope(keyring, nation, SEALED_ALGORITHM, binding)
    nonce = os.urandom(NONCE_SIZE)
    ciphertext = AESGCM(dek).encrypt(nonce, plaintext, _SEALED_AAD_PREFIX + binding)
    return Sealed(envelope, nonce, ciphertext)


def open_sealed(keyring: Keyring, sealed: Sealed, binding: bytes) -> bytes:
    """Decrypt a :class:`Sealed`; raise :class:`IntegrityError` on any alteration."""
    _check_binding(binding)
    dek = _open_envelope(keyring, sealed.envelope, SEALED_ALGORITHM, binding)
    try:
        return AESGCM(dek).decrypt(sealed.nonce, sealed.ciphertext, _SEALED_AAD_PREFIX + binding)
    except InvalidTag:
        raise IntegrityError(
            "sealed value failed authentication: the ciphertext or its label / object id was altered"
        ) from None


# --------------------------------------------------------------------------- streams


def encrypt_stream(
    keyring: Keyring,
    nation: str,
    src: BinaryIO,
    dst: BinaryIO,
    binding: bytes,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> StreamResult:
    """Encrypt ``src`` into ``dst`` in the STREAM format, in constant memory.

    Memory is two buffers, reused for every chunk: the input (``chunk_size + 1``
    bytes: the extra byte is a look-ahead that tells whether the chunk in hand is the
    last one without reading a whole second chunk) and the output (``chunk_size + 16``).
    Reusing them instead of allocating per chunk matters: fresh megabyte allocations
    are page-faulted in on every chunk and cost more than AES-GCM itself. ``dst.write``
    receives a view of the output buffer, which per the ``io`` contract it may only use
    during the call.

    The plaintext SHA-256 runs in a helper thread for large chunks (``hashlib``
    releases the GIL), overlapping with encryption and I/O; inline it would cost about
    40% of throughput.

    If this raises, ``dst`` holds a useless partial ciphertext that the caller should
    delete; no plaintext is ever written to it.
    """
    _check_binding(binding)
    _check_chunk_size(chunk_size)
    envelope, dek = _new_envelope(keyring, nation, STREAM_ALGORITHM, binding)
    plaintext_size, ciphertext_size, sha256 = _encrypt_stream_under(dek, src, dst, binding,
                                                                    chunk_size)
    return StreamResult(envelope, plaintext_size, ciphertext_size, sha256)


def encrypt_stream_with_key(key: bytes, src: BinaryIO, dst: BinaryIO, binding: bytes,
                            chunk_size: int = DEFAULT_CHUNK_SIZE) -> tuple[int, int, str]:
    """:func:`encrypt_stream` under a key the caller holds instead of a keyring's data key (a
    package between nodes carries its own key, sealed to the recipient). Returns the plaintext
    size, the ciphertext size and the plaintext SHA-256 (hex)."""
    _check_binding(binding)
    _check_chunk_size(chunk_size)
    if len(key) != DEK_SIZE:
        raise ValueError(f"a stream key has {DEK_SIZE} bytes, not {len(key)}")
    return _encrypt_stream_under(key, src, dst, binding, chunk_size)


def _encrypt_stream_under(dek: bytes, src: BinaryIO, dst: BinaryIO, binding: bytes,
                          chunk_size: int) -> tuple[int, int, str]:
    prefix = os.urandom(_NONCE_PREFIX_SIZE)
    header = _STREAM_HEADER.pack(STREAM_MAGIC, STREAM_VERSION, chunk_size, prefix)
    seal_chunk = _chunk_sealer(AESGCM(dek), header + binding, chunk_size)
    hasher = hashlib.sha256()

    _write_all(dst, header)
    ciphertext_size = len(header)
    plaintext_size = 0
    buf = bytearray(chunk_size + 1)
    view = memoryview(buf)
    with contextlib.ExitStack() as stack:
        pool = None
        if chunk_size >= _THREADED_HASH_MIN_CHUNK:
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=1, thread_name_prefix="entente-sha256"))
        filled = _read_into(src, view)
        counter = 0
        while True:
            final = filled <= chunk_size
            chunk = view[: filled if final else chunk_size]
            hashing = pool.submit(hasher.update, chunk) if pool is not None else None
            if hashing is None:
                hasher.update(chunk)
            sealed_chunk = seal_chunk(_chunk_nonce(prefix, counter, final), chunk)
            _write_all(dst, sealed_chunk)
            if hashing is not None:
                hashing.result()  # buf must not change while it is being hashed
            plaintext_size += len(chunk)
            ciphertext_size += len(sealed_chunk)
            if final:
                break
            counter += 1
            if counter >= _MAX_CHUNKS:
                raise ValueError("input too large for this chunk size; use a larger chunk_size")
            buf[0] = buf[chunk_size]  # the look-ahead byte starts the next chunk
            filled = 1 + _read_into(src, view[1:])
    return plaintext_size, ciphertext_size, hasher.hexdigest()


def _chunk_sealer(aead: AESGCM, aad: bytes, chunk_size: int) -> Callable[[bytes, memoryview], memoryview]:
    """Return ``seal(nonce, chunk) -> ciphertext view`` writing into one reused buffer.

    ``AESGCM.encrypt_into`` only exists in newer ``cryptography`` releases; older ones
    fall back to ``encrypt``, which is correct but allocates a chunk per call.
    """
    encrypt_into = getattr(aead, "encrypt_into", None)
    if encrypt_into is None:
        return lambda nonce, chunk: memoryview(aead.encrypt(nonce, chunk, aad))
    out = memoryview(bytearray(chunk_size + TAG_SIZE))

    def seal_into(nonce: bytes, chunk: memoryview) -> memoryview:
        n: int = encrypt_into(nonce, chunk, aad, out[: len(chunk) + TAG_SIZE])
        return out[:n]

    return seal_into


def _read_header(src: BinaryIO) -> tuple[bytes, int, bytes]:
    header = bytearray(STREAM_HEADER_SIZE)
    if _read_into(src, memoryview(header)) != STREAM_HEADER_SIZE:
        raise FormatError("encrypted stream is truncated: incomplete header")
    magic, version, chunk_size, prefix = _STREAM_HEADER.unpack(header)
    if magic != STREAM_MAGIC:
        raise FormatError("not an Entente encrypted stream (bad magic bytes)")
    if version != STREAM_VERSION:
        raise FormatError(f"unsupported encrypted stream format version {version}")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise FormatError(f"encrypted stream header has an invalid chunk size {chunk_size}")
    return bytes(header), chunk_size, prefix


def _decrypt_chunks(
    aead: AESGCM, aad: bytes, prefix: bytes, chunk_size: int, src: BinaryIO
) -> Iterator[bytes]:
    """Yield each chunk's plaintext only after its tag verified.

    Non-final ciphertext chunks are exactly ``chunk_size + 16`` bytes, so a read of one
    byte more tells whether the chunk in hand is the last; that decides the last-flag
    in the nonce, which is what turns truncation or appended data into a tag failure.
    """
    full = chunk_size + TAG_SIZE
    buf = bytearray(full + 1)
    view = memoryview(buf)
    filled = _read_into(src, view)
    counter = 0
    while True:
        final = filled <= full
        n = filled if final else full
        if n < TAG_SIZE:
            raise IntegrityError(
                f"encrypted stream is truncated: chunk {counter} is missing or cut short "
                "(the final chunk was lost)"
            )
        try:
            plaintext = aead.decrypt(_chunk_nonce(prefix, counter, final), view[:n], aad)
        except InvalidTag:
            raise IntegrityError(
                f"chunk {counter} failed authentication: the ciphertext or its label / "
                "object id was altered, or the stream was truncated, extended, reordered "
                "or spliced from another object"
            ) from None
        yield plaintext
        if final:
            return
        counter += 1
        if counter >= _MAX_CHUNKS:
            raise FormatError("encrypted stream has more chunks than the format allows")
        buf[0] = buf[full]
        filled = 1 + _read_into(src, view[1:])


def iter_decrypt(keyring: Keyring, envelope: Envelope, src: BinaryIO, binding: bytes) -> Iterator[bytes]:
    """Decrypt lazily, e.g. for a ``StreamingHttpResponse``.

    The DEK is unwrapped, the header parsed and the first chunk authenticated *before*
    this returns, so a wrong label, swapped envelope or damaged header raises here,
    while the caller can still send an error status. Later chunks are each verified
    before being yielded, so nothing unauthenticated is ever released; but a failure
    in chunk *k* is only discovered after chunks ``0..k-1`` were yielded, and a
    truncated stream raises :class:`IntegrityError` at the end instead of ending
    quietly. A consumer must therefore treat an exception mid-iteration as "discard
    everything" (for HTTP: abort the connection so the client sees an incomplete body).
    """
    _check_binding(binding)
    dek = _open_envelope(keyring, envelope, STREAM_ALGORITHM, binding)
    return _iter_decrypt_under(dek, src, binding)


def iter_decrypt_with_key(key: bytes, src: BinaryIO, binding: bytes) -> Iterator[bytes]:
    """:func:`iter_decrypt` for a stream made by :func:`encrypt_stream_with_key`."""
    _check_binding(binding)
    if len(key) != DEK_SIZE:
        raise IntegrityError(f"a stream key has {DEK_SIZE} bytes, not {len(key)}")
    return _iter_decrypt_under(key, src, binding)


def _iter_decrypt_under(dek: bytes, src: BinaryIO, binding: bytes) -> Iterator[bytes]:
    header, chunk_size, prefix = _read_header(src)
    chunks = _decrypt_chunks(AESGCM(dek), header + binding, prefix, chunk_size, src)
    first = next(chunks)
    return (chunk for chunk in itertools.chain((first,), chunks) if chunk)


def decrypt_stream(keyring: Keyring, envelope: Envelope, src: BinaryIO, dst: BinaryIO, binding: bytes) -> int:
    """Decrypt ``src`` into ``dst``; return the number of plaintext bytes written.

    On :class:`IntegrityError` ``dst`` may already hold a verified but incomplete
    prefix of the plaintext; the caller must discard it.
    """
    written = 0
    for chunk in iter_decrypt(keyring, envelope, src, binding):
        _write_all(dst, chunk)
        written += len(chunk)
    return written


# --------------------------------------------------------------------------- rotation


def rewrap(keyring: Keyring, envelope: Envelope, binding: bytes, to_kek_id: str | None = None) -> Envelope:
    """Move an object's DEK to another KEK of the same nation without touching its payload.

    Defaults to the nation's current KEK, so a rotation job is: ``create_kek``, then
    ``rewrap`` every envelope whose ``kek_id`` is not current, then retire old KEKs.
    Refuses to cross nations: which nation controls a payload is a policy decision, not
    a side effect of key management. The binding is verified during unwrap, so a
    rotation job cannot launder a relabelled object into a valid one.
    """
    _check_binding(binding)
    nation = nation_of(envelope.kek_id)
    target = to_kek_id if to_kek_id is not None else keyring.current_kek_id(nation)
    if nation_of(target) != nation:
        raise ValueError(
            f"cannot rewrap {envelope.kek_id} to {target}: a payload stays under the "
            "KEKs of the nation that owns it"
        )
    aad = _dek_aad(envelope.algorithm, binding)
    dek = _open_envelope(keyring, envelope, envelope.algorithm, binding)
    if target == envelope.kek_id:
        return envelope
    return Envelope(target, keyring.wrap(target, dek, aad), envelope.algorithm)
