"""Envelope encryption: round trips, tamper detection, rotation and the file keyring.

Pure-library tests: no database, no Django settings needed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entente.security import crypto
from entente.security.crypto import (
    SEALED_ALGORITHM,
    STREAM_HEADER_SIZE,
    Envelope,
    FormatError,
    IntegrityError,
    KeyNotFound,
    Sealed,
    decrypt_stream,
    encrypt_stream,
    iter_decrypt,
    nation_of,
    open_sealed,
    rewrap,
    seal,
)
from entente.security.keyring import DirectoryKeyring, Keyring, _publish_new_file

CHUNK = 64
FULL = CHUNK + 16  # ciphertext bytes of one non-final chunk
BINDING = b"GBR SECRET REL GBR,FRA\0object:42"
SECRET_TEXT = b"TOP SECRET//REL GBR FRA: the landing is at dawn. "


@pytest.fixture
def ring(tmp_path: Path) -> DirectoryKeyring:
    keyring = DirectoryKeyring(tmp_path / "keys")
    keyring.create_kek("GBR")
    return keyring


def encrypt(
    ring: Keyring, data: bytes, binding: bytes = BINDING, chunk_size: int = CHUNK
) -> tuple[Envelope, bytes]:
    dst = io.BytesIO()
    result = encrypt_stream(ring, "GBR", io.BytesIO(data), dst, binding, chunk_size=chunk_size)
    ciphertext = dst.getvalue()
    assert result.ciphertext_size == len(ciphertext)
    assert result.plaintext_size == len(data)
    assert result.sha256_of_plaintext == hashlib.sha256(data).hexdigest()
    return result.envelope, ciphertext


def decrypt(ring: Keyring, envelope: Envelope, ciphertext: bytes, binding: bytes = BINDING) -> bytes:
    out = io.BytesIO()
    written = decrypt_stream(ring, envelope, io.BytesIO(ciphertext), out, binding)
    assert written == len(out.getvalue())
    return out.getvalue()


def chunks_of(ciphertext: bytes) -> tuple[bytes, list[bytes]]:
    header, body = ciphertext[:STREAM_HEADER_SIZE], ciphertext[STREAM_HEADER_SIZE:]
    return header, [body[i : i + FULL] for i in range(0, len(body), FULL)]


# --------------------------------------------------------------------------- round trips


def test_seal_round_trip_through_bytes(ring: DirectoryKeyring) -> None:
    sealed = seal(ring, "GBR", SECRET_TEXT, BINDING)
    blob = sealed.to_bytes()
    restored = Sealed.from_bytes(blob)

    assert restored == sealed
    assert restored.envelope.kek_id == "GBR-1"
    assert restored.envelope.algorithm == SEALED_ALGORITHM
    assert open_sealed(ring, restored, BINDING) == SECRET_TEXT
    assert b"landing" not in blob
    assert len(blob) - len(SECRET_TEXT) < 110  # compact enough for a BinaryField


def test_seal_empty_value(ring: DirectoryKeyring) -> None:
    sealed = Sealed.from_bytes(seal(ring, "GBR", b"", BINDING).to_bytes())
    assert open_sealed(ring, sealed, BINDING) == b""


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, CHUNK * 7 // 2])
def test_stream_round_trip(ring: DirectoryKeyring, size: int) -> None:
    data = (SECRET_TEXT * (size // len(SECRET_TEXT) + 1))[:size]
    envelope, ciphertext = encrypt(ring, data)

    expected_chunks = max(1, -(-size // CHUNK))
    assert len(ciphertext) == STREAM_HEADER_SIZE + size + 16 * expected_chunks
    assert ciphertext[:4] == b"ENTE"
    assert decrypt(ring, envelope, ciphertext) == data
    assert b"".join(iter_decrypt(ring, envelope, io.BytesIO(ciphertext), BINDING)) == data


def test_plaintext_does_not_appear_in_ciphertext(ring: DirectoryKeyring) -> None:
    data = SECRET_TEXT * 20
    _, ciphertext = encrypt(ring, data)
    for start in range(0, len(SECRET_TEXT) - 8):
        assert SECRET_TEXT[start : start + 8] not in ciphertext


def test_same_plaintext_encrypts_differently(ring: DirectoryKeyring) -> None:
    env1, ct1 = encrypt(ring, SECRET_TEXT)
    env2, ct2 = encrypt(ring, SECRET_TEXT)
    assert ct1 != ct2
    assert env1.wrapped_key != env2.wrapped_key


def test_short_reads_are_not_mistaken_for_end_of_stream(ring: DirectoryKeyring) -> None:
    class Trickle(io.RawIOBase):
        """Returns at most 5 bytes per read, like a slow pipe."""

        def __init__(self, data: bytes) -> None:
            self._src = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            return self._src.readinto(memoryview(buffer)[:5])

    data = bytes(range(256)) * 3
    dst = io.BytesIO()
    result = encrypt_stream(ring, "GBR", Trickle(data), dst, BINDING, chunk_size=CHUNK)  # type: ignore[arg-type]
    out = io.BytesIO()
    decrypt_stream(ring, result.envelope, Trickle(dst.getvalue()), out, BINDING)  # type: ignore[arg-type]
    assert out.getvalue() == data


def test_large_chunks_use_the_threaded_hash_path(ring: DirectoryKeyring) -> None:
    data = os.urandom(3 * (1 << 16) + 123)
    envelope, ciphertext = encrypt(ring, data, chunk_size=1 << 16)  # checks the SHA-256
    assert decrypt(ring, envelope, ciphertext) == data


def test_works_without_encrypt_into(ring: DirectoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    """Older ``cryptography`` releases lack ``AESGCM.encrypt_into``."""

    class OldAESGCM:
        generate_key = staticmethod(AESGCM.generate_key)

        def __init__(self, key: bytes) -> None:
            self._aead = AESGCM(key)
            self.encrypt = self._aead.encrypt
            self.decrypt = self._aead.decrypt

    data = bytes(range(256)) * 2
    _, expected = encrypt(ring, data)
    monkeypatch.setattr(crypto, "AESGCM", OldAESGCM)
    envelope, ciphertext = encrypt(ring, data)
    assert len(ciphertext) == len(expected)
    assert decrypt(ring, envelope, ciphertext) == data
    monkeypatch.undo()
    assert decrypt(ring, envelope, ciphertext) == data


def test_partial_and_silent_writers(ring: DirectoryKeyring) -> None:
    class Dribble:
        """Accepts at most 7 bytes per call, like a raw non-buffered stream."""

        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, b: memoryview) -> int:
            self.data += bytes(b[:7])
            return min(7, len(b))

    class Silent:
        """Returns None from write(), like many duck-typed response objects."""

        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, b: memoryview) -> None:
            self.data += bytes(b)

    data = bytes(range(200))
    dribble = Dribble()
    result = encrypt_stream(ring, "GBR", io.BytesIO(data), dribble, BINDING, chunk_size=CHUNK)  # type: ignore[arg-type]
    assert len(dribble.data) == result.ciphertext_size
    silent = Silent()
    decrypt_stream(ring, result.envelope, io.BytesIO(bytes(dribble.data)), silent, BINDING)  # type: ignore[arg-type]
    assert bytes(silent.data) == data


def test_envelope_serialisation(ring: DirectoryKeyring) -> None:
    envelope, _ = encrypt(ring, b"x")
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope
    assert envelope.nation == "GBR"
    with pytest.raises(FormatError):
        Envelope.from_bytes(envelope.to_bytes()[:5])
    with pytest.raises(FormatError):
        Envelope.from_bytes(b"XX" + envelope.to_bytes()[2:])


# --------------------------------------------------------------------------- tampering


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    mutable = bytearray(data)
    mutable[index] ^= 1 << bit
    return bytes(mutable)


def test_every_header_bit_flip_is_detected(ring: DirectoryKeyring) -> None:
    envelope, ciphertext = encrypt(ring, SECRET_TEXT * 3)
    for index in range(STREAM_HEADER_SIZE):
        for bit in range(8):
            with pytest.raises(IntegrityError):
                decrypt(ring, envelope, flip(ciphertext, index, bit))


def test_header_errors_say_what_is_wrong(ring: DirectoryKeyring) -> None:
    envelope, ciphertext = encrypt(ring, SECRET_TEXT)
    with pytest.raises(FormatError, match="bad magic"):
        decrypt(ring, envelope, b"ENTF" + ciphertext[4:])
    with pytest.raises(FormatError, match="version 2"):
        decrypt(ring, envelope, ciphertext[:4] + b"\x02" + ciphertext[5:])
    with pytest.raises(FormatError, match="incomplete header"):
        decrypt(ring, envelope, ciphertext[:10])


def test_every_body_byte_flip_is_detected(ring: DirectoryKeyring) -> None:
    envelope, ciphertext = encrypt(ring, SECRET_TEXT * 5)  # 250 bytes: 4 chunks
    for index in range(STREAM_HEADER_SIZE, len(ciphertext)):
        with pytest.raises(IntegrityError, match="failed authentication"):
            decrypt(ring, envelope, flip(ciphertext, index, index % 8))


def test_every_truncation_is_detected(ring: DirectoryKeyring) -> None:
    envelope, ciphertext = encrypt(ring, SECRET_TEXT * 5)
    for length in range(len(ciphertext)):
        with pytest.raises(IntegrityError):
            decrypt(ring, envelope, ciphertext[:length])


def test_truncation_at_chunk_boundary_is_detected_at_the_end(ring: DirectoryKeyring) -> None:
    data = bytes(range(CHUNK)) * 4  # exactly 4 full chunks
    envelope, ciphertext = encrypt(ring, data)
    header, chunks = chunks_of(ciphertext)
    assert len(chunks) == 4

    yielded: list[bytes] = []
    with pytest.raises(IntegrityError):
        for piece in iter_decrypt(ring, envelope, io.BytesIO(header + b"".join(chunks[:3])), BINDING):
            yielded.append(piece)
    assert b"".join(yielded) == data[: 2 * CHUNK]  # chunk 2 was not released: it claimed "more"


def test_dropping_the_final_partial_chunk_is_detected(ring: DirectoryKeyring) -> None:
    envelope, ciphertext = encrypt(ring, b"A" * (CHUNK * 3 + 10))
    header, chunks = chunks_of(ciphertext)
    assert len(chunks[-1]) == 10 + 16
    with pytest.raises(IntegrityError):
        decrypt(ring, envelope, header + b"".join(chunks[:-1]))


def test_appending_data_is_detected(ring: DirectoryKeyring) -> None:
    envelope, ciphertext = encrypt(ring, b"A" * CHUNK * 2)
    with pytest.raises(IntegrityError):
        decrypt(ring, envelope, ciphertext + b"\0")
    _, chunks = chunks_of(ciphertext)
    with pytest.raises(IntegrityError):
        decrypt(ring, envelope, ciphertext + chunks[0])


def test_swapping_chunks_is_detected(ring: DirectoryKeyring) -> None:
    data = bytes(range(200)) + bytes(range(200))
    envelope, ciphertext = encrypt(ring, data)
    header, chunks = chunks_of(ciphertext)
    chunks[0], chunks[1] = chunks[1], chunks[0]
    with pytest.raises(IntegrityError, match="chunk 0"):
        decrypt(ring, envelope, header + b"".join(chunks))


def test_iter_decrypt_releases_nothing_past_a_tampered_chunk(ring: DirectoryKeyring) -> None:
    data = bytes(range(256))  # 4 chunks
    envelope, ciphertext = encrypt(ring, data)
    tampered = flip(ciphertext, STREAM_HEADER_SIZE + 2 * FULL + 5)  # inside chunk 2

    yielded: list[bytes] = []
    iterator = iter_decrypt(ring, envelope, io.BytesIO(tampered), BINDING)
    with pytest.raises(IntegrityError, match="chunk 2"):
        for piece in iterator:
            yielded.append(piece)
    assert yielded == [data[:CHUNK], data[CHUNK : 2 * CHUNK]]


def test_iter_decrypt_fails_before_yielding_when_binding_or_header_is_wrong(
    ring: DirectoryKeyring,
) -> None:
    envelope, ciphertext = encrypt(ring, SECRET_TEXT * 4)
    with pytest.raises(IntegrityError):
        iter_decrypt(ring, envelope, io.BytesIO(ciphertext), BINDING + b"!")
    with pytest.raises(IntegrityError):  # first chunk is authenticated eagerly
        iter_decrypt(ring, envelope, io.BytesIO(flip(ciphertext, 10)), BINDING)


def test_changed_binding_is_detected(ring: DirectoryKeyring) -> None:
    envelope, ciphertext = encrypt(ring, SECRET_TEXT)
    for index in range(len(BINDING)):
        with pytest.raises(IntegrityError, match="binding"):
            decrypt(ring, envelope, ciphertext, flip(BINDING, index))
    with pytest.raises(IntegrityError):
        decrypt(ring, envelope, ciphertext, BINDING[:-1])
    with pytest.raises(IntegrityError):
        decrypt(ring, envelope, ciphertext, b"")


def test_ciphertext_swapped_between_objects_is_detected(ring: DirectoryKeyring) -> None:
    binding_a, binding_b = b"GBR SECRET\0object:1", b"GBR RESTRICTED\0object:2"
    env_a, ct_a = encrypt(ring, b"secret payload " * 10, binding_a)
    env_b, ct_b = encrypt(ring, b"harmless payload " * 10, binding_b)

    # B's row now points at A's ciphertext (e.g. a swapped storage path).
    with pytest.raises(IntegrityError):
        decrypt(ring, env_b, ct_a, binding_b)
    # A's ciphertext and envelope presented under B's (lower) label.
    with pytest.raises(IntegrityError):
        decrypt(ring, env_a, ct_a, binding_b)
    # Splice: A's header with B's chunks.
    header_a, _ = chunks_of(ct_a)
    _, chunks_b = chunks_of(ct_b)
    with pytest.raises(IntegrityError):
        decrypt(ring, env_b, header_a + b"".join(chunks_b), binding_b)


@pytest.mark.parametrize("same_binding", [True, False])
def test_wrapped_keys_swapped_between_objects_is_detected(ring: DirectoryKeyring, same_binding: bool) -> None:
    binding_b = BINDING if same_binding else b"object:2"
    env_a, ct_a = encrypt(ring, SECRET_TEXT * 2)
    env_b, _ = encrypt(ring, SECRET_TEXT * 2, binding_b)
    mixed = dataclasses.replace(env_a, wrapped_key=env_b.wrapped_key)
    with pytest.raises(IntegrityError):
        decrypt(ring, mixed, ct_a)


def test_sealed_tampering_is_detected(ring: DirectoryKeyring) -> None:
    blob = seal(ring, "GBR", SECRET_TEXT, BINDING).to_bytes()
    kek_id_region = range(4, 4 + len("GBR-1"))
    for index in range(len(blob)):
        expected = (IntegrityError, KeyNotFound) if index in kek_id_region else IntegrityError
        with pytest.raises(expected):
            open_sealed(ring, Sealed.from_bytes(flip(blob, index)), BINDING)
    for length in range(len(blob)):
        with pytest.raises(IntegrityError):
            open_sealed(ring, Sealed.from_bytes(blob[:length]), BINDING)
    with pytest.raises(IntegrityError, match="label"):
        open_sealed(ring, Sealed.from_bytes(blob), BINDING + b"x")


def test_envelope_of_other_format_is_refused(ring: DirectoryKeyring) -> None:
    sealed = seal(ring, "GBR", SECRET_TEXT, BINDING)
    _, ciphertext = encrypt(ring, SECRET_TEXT)
    with pytest.raises(FormatError):
        decrypt(ring, sealed.envelope, ciphertext)
    forged = dataclasses.replace(sealed.envelope, algorithm="AES-256-GCM/STREAM/v1")
    with pytest.raises(IntegrityError):  # the algorithm is authenticated into the wrap
        decrypt(ring, forged, ciphertext)


def test_binding_must_be_bytes(ring: DirectoryKeyring) -> None:
    with pytest.raises(TypeError, match="binding must be bytes"):
        seal(ring, "GBR", b"x", "GBR SECRET")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- rotation


def test_rotation_rewraps_without_touching_the_payload(ring: DirectoryKeyring, tmp_path: Path) -> None:
    data = bytes(range(256)) * 5
    payload = tmp_path / "object.bin"
    with io.BytesIO(data) as src, payload.open("wb") as dst:
        old = encrypt_stream(ring, "GBR", src, dst, BINDING, chunk_size=CHUNK).envelope
    digest_before = hashlib.sha256(payload.read_bytes()).hexdigest()

    assert ring.create_kek("GBR") == "GBR-2"
    new = rewrap(ring, old, BINDING)

    assert new.kek_id == "GBR-2"
    assert new.wrapped_key != old.wrapped_key
    assert hashlib.sha256(payload.read_bytes()).hexdigest() == digest_before
    for envelope in (new, old):  # the old envelope works while GBR-1 still exists
        with payload.open("rb") as src:
            out = io.BytesIO()
            decrypt_stream(ring, envelope, src, out, BINDING)
        assert out.getvalue() == data
    assert rewrap(ring, new, BINDING) is new  # already current: nothing to do


def test_rewrap_of_sealed_value_and_explicit_target(ring: DirectoryKeyring) -> None:
    sealed = seal(ring, "GBR", SECRET_TEXT, BINDING)
    ring.create_kek("GBR")
    ring.create_kek("GBR")
    moved = dataclasses.replace(sealed, envelope=rewrap(ring, sealed.envelope, BINDING, "GBR-2"))
    assert moved.envelope.kek_id == "GBR-2"
    assert open_sealed(ring, Sealed.from_bytes(moved.to_bytes()), BINDING) == SECRET_TEXT


def test_rewrap_refuses_wrong_binding_and_other_nations(ring: DirectoryKeyring) -> None:
    envelope, _ = encrypt(ring, SECRET_TEXT)
    ring.create_kek("GBR")
    with pytest.raises(IntegrityError):
        rewrap(ring, envelope, BINDING + b"relabelled")
    ring.create_kek("FRA")
    with pytest.raises(ValueError, match="nation"):
        rewrap(ring, envelope, BINDING, "FRA-1")
    assert nation_of("FRA-12") == "FRA"
    with pytest.raises(ValueError):
        nation_of("fra-1")


def test_each_nation_has_its_own_keks(ring: DirectoryKeyring) -> None:
    ring.create_kek("FRA")
    envelope, ciphertext = encrypt(ring, SECRET_TEXT)
    assert envelope.kek_id == "GBR-1"
    forged = dataclasses.replace(envelope, kek_id="FRA-1")
    with pytest.raises(IntegrityError):
        decrypt(ring, forged, ciphertext)


# --------------------------------------------------------------------------- keyring


def test_key_files_are_private(ring: DirectoryKeyring, tmp_path: Path) -> None:
    ring.sign(b"create the node key")
    root = tmp_path / "keys"
    files = [root / "kek/GBR/1.key", root / "kek/GBR/CURRENT", root / "node/ed25519.key"]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in (root / "kek", root / "kek/GBR", root / "node"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert (root / "kek/GBR/CURRENT").read_text().strip() == "GBR-1"
    assert b"BEGIN PRIVATE KEY" in (root / "node/ed25519.key").read_bytes()
    assert not [p for p in root.rglob(".tmp-*")]  # no leftover temp files


@pytest.mark.parametrize(
    "nation", ["gbr", "GB", "GBRR", "", "../x", "G/R", "..", "GBR\n", "ÄBC", "GB1", " GBR"]
)
def test_bad_nation_codes_are_rejected(ring: DirectoryKeyring, nation: str) -> None:
    for call in (ring.create_kek, ring.current_kek_id, ring.kek_ids):
        with pytest.raises(ValueError, match="ISO 3166-1 alpha-3"):
            call(nation)
    with pytest.raises(ValueError):
        seal(ring, nation, b"x", BINDING)


def test_unknown_keys_raise_key_not_found(ring: DirectoryKeyring) -> None:
    with pytest.raises(KeyNotFound, match="FRA"):
        ring.current_kek_id("FRA")
    with pytest.raises(KeyNotFound):
        seal(ring, "FRA", b"x", BINDING)
    with pytest.raises(KeyNotFound, match="GBR-7"):
        ring.unwrap("GBR-7", b"\0" * 60, b"")


def test_sign_and_verify(ring: DirectoryKeyring) -> None:
    message = b"entente-audit-checkpoint/v1\n42\nabc"
    signature = ring.sign(message)
    ring.signing_public_key().verify(signature, message)
    with pytest.raises(InvalidSignature):
        ring.signing_public_key().verify(signature, message + b"x")


def test_two_keyrings_on_one_directory_agree(tmp_path: Path) -> None:
    first, second = DirectoryKeyring(tmp_path), DirectoryKeyring(tmp_path)
    assert isinstance(first, Keyring)
    assert first.create_kek("GBR") == "GBR-1"
    assert second.current_kek_id("GBR") == "GBR-1"
    assert second.create_kek("GBR") == "GBR-2"
    assert first.current_kek_id("GBR") == "GBR-2"
    assert first.kek_ids("GBR") == second.kek_ids("GBR") == ["GBR-1", "GBR-2"]

    wrapped = first.wrap("GBR-1", b"k" * 32, b"aad")
    assert second.unwrap("GBR-1", wrapped, b"aad") == b"k" * 32
    with pytest.raises(IntegrityError, match="altered"):
        second.unwrap("GBR-1", wrapped, b"aaD")
    with pytest.raises(IntegrityError):
        second.unwrap("GBR-2", wrapped, b"aad")

    first_pub = first.signing_public_key().public_bytes_raw()
    assert second.signing_public_key().public_bytes_raw() == first_pub
    second.signing_public_key().verify(first.sign(b"m"), b"m")


def test_concurrent_kek_creation_never_reuses_a_version(tmp_path: Path) -> None:
    ids: list[str] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        keyring = DirectoryKeyring(tmp_path)  # each with its own file descriptors
        barrier.wait()
        ids.append(keyring.create_kek("JPN"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(ids, key=lambda i: int(i.split("-")[1])) == [f"JPN-{n}" for n in range(1, 9)]
    assert DirectoryKeyring(tmp_path).current_kek_id("JPN") == "JPN-8"


def test_publish_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    assert _publish_new_file(tmp_path, "1.key", b"first")
    assert not _publish_new_file(tmp_path, "1.key", b"second")
    assert (tmp_path / "1.key").read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.key"]


# --------------------------------------------------------------------------- property


@pytest.fixture(scope="module")
def shared_ring(tmp_path_factory: pytest.TempPathFactory) -> DirectoryKeyring:
    keyring = DirectoryKeyring(tmp_path_factory.mktemp("keys"))
    keyring.create_kek("GBR")
    return keyring


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=3000),
    chunk_size=st.integers(min_value=1, max_value=700),
    binding=st.binary(max_size=64),
)
def test_decrypt_inverts_encrypt(
    shared_ring: DirectoryKeyring, data: bytes, chunk_size: int, binding: bytes
) -> None:
    envelope, ciphertext = encrypt(shared_ring, data, binding, chunk_size)
    chunks = max(1, -(-len(data) // chunk_size))
    assert len(ciphertext) == STREAM_HEADER_SIZE + len(data) + 16 * chunks
    assert decrypt(shared_ring, envelope, ciphertext, binding) == data
