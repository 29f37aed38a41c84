"""The node's keys for federation: sealing to a node's key-agreement key (HPKE), its TLS identity,
and STREAM encryption under a key the caller holds. Pure-library tests: no database."""

from __future__ import annotations

import io
import os
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from entente.security import crypto
from entente.security.crypto import IntegrityError
from entente.security.keyring import DirectoryKeyring, Keyring, seal_for_node


def test_a_value_sealed_to_a_node_opens_only_there(tmp_path):
    ours, theirs = DirectoryKeyring(tmp_path / "ours"), DirectoryKeyring(tmp_path / "theirs")
    key = os.urandom(32)
    sealed = seal_for_node(theirs.agreement_public_key(), key, b"package 1")
    assert key not in sealed
    assert theirs.open_sealed_for_node(sealed, b"package 1") == key
    # Not by another node, not in another context, not altered.
    with pytest.raises(IntegrityError, match="another node"):
        ours.open_sealed_for_node(sealed, b"package 1")
    with pytest.raises(IntegrityError):
        theirs.open_sealed_for_node(sealed, b"package 2")
    for i in range(len(sealed)):
        altered = bytearray(sealed)
        altered[i] ^= 0x80
        with pytest.raises(IntegrityError):
            theirs.open_sealed_for_node(bytes(altered), b"package 1")
    with pytest.raises(IntegrityError):
        theirs.open_sealed_for_node(sealed[:-1], b"package 1")


def test_node_keys_are_made_once_kept_private_and_shared_by_every_instance(tmp_path):
    rings = [DirectoryKeyring(tmp_path) for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:  # racing to create them: one key wins for all
        publics = list(pool.map(lambda r: r.agreement_public_key().public_bytes_raw(), rings))
    assert len(set(publics)) == 1
    assert isinstance(rings[0], Keyring)
    again = DirectoryKeyring(tmp_path)
    sealed = seal_for_node(again.agreement_public_key(), b"k" * 32, b"i")
    assert rings[3].open_sealed_for_node(sealed, b"i") == b"k" * 32
    for name in ("x25519.key", "tls.key"):
        again.tls_credentials()
        mode = stat.S_IMODE((tmp_path / "node" / name).stat().st_mode)
        assert mode & 0o077 == 0, (name, oct(mode))
    # The agreement key is not the signing key.
    assert again.agreement_public_key().public_bytes_raw() != \
        again.signing_public_key().public_bytes_raw()


def test_the_tls_certificate_is_for_the_nodes_own_tls_key(tmp_path):
    ring = DirectoryKeyring(tmp_path)
    cert_path, key_path = ring.tls_credentials()
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    private = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    assert certificate.public_key().public_bytes(*raw) == private.public_key().public_bytes(*raw)
    # Its own key, not the one that signs packages, receipts and audit checkpoints.
    assert certificate.public_key().public_bytes(*raw) != \
        ring.signing_public_key().public_bytes_raw()
    assert ring.tls_credentials() == (cert_path, key_path)
    assert cert_path.read_bytes() == DirectoryKeyring(tmp_path).tls_credentials()[0].read_bytes()


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000), chunk=st.integers(1, 700))
def test_a_stream_under_the_callers_key_round_trips_and_binds(data, chunk):
    key = os.urandom(32)
    out = io.BytesIO()
    size, ciphertext_size, sha256 = crypto.encrypt_stream_with_key(
        key, io.BytesIO(data), out, b"binding", chunk_size=chunk)
    assert size == len(data) and ciphertext_size == len(out.getvalue())
    assert b"".join(crypto.iter_decrypt_with_key(key, io.BytesIO(out.getvalue()),
                                                 b"binding")) == data
    import hashlib

    assert sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(IntegrityError):
        b"".join(crypto.iter_decrypt_with_key(key, io.BytesIO(out.getvalue()), b"other"))
    with pytest.raises(IntegrityError):
        b"".join(crypto.iter_decrypt_with_key(os.urandom(32), io.BytesIO(out.getvalue()),
                                              b"binding"))


def test_a_stream_key_must_be_256_bits():
    with pytest.raises(ValueError, match="32 bytes"):
        crypto.encrypt_stream_with_key(b"short", io.BytesIO(b"x"), io.BytesIO(), b"b")
    with pytest.raises(IntegrityError):
        crypto.iter_decrypt_with_key(b"short", io.BytesIO(b"x" * 40), b"b")
