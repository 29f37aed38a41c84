"""The package library alone (``federation.package``): no database, no settings.

Two keyrings stand for two nodes: the sender signs, the recipient opens what was sealed to its
key-agreement key. Packages are real files in a temporary directory; tampering edits their bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import struct
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entente.federation import package as pkg
from entente.security import crypto
from entente.security.keyring import DirectoryKeyring

TRAILER = struct.Struct(">I8s")
MIB = 1 << 20


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    root = tmp_path_factory.mktemp("nodes")
    return {name: DirectoryKeyring(root / name) for name in ("sender", "recipient", "other")}


def _address(ring: DirectoryKeyring, nation: str) -> pkg.Address:
    return pkg.Address(nation, pkg.fingerprint(ring.signing_public_key()))


def _write(path: Path, nodes: dict[str, DirectoryKeyring], *, manifest: dict[str, Any] | None = None,
           parts: dict[str, bytes] | None = None, kind: str = "transmission",
           package_id: uuid.UUID | None = None, recipient: str = "recipient") -> pkg.Written:
    parts = {} if parts is None else parts
    with path.open("xb") as file:
        return pkg.write(
            file, package_id=package_id or uuid.uuid4(), kind=kind,
            created_at=dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC),
            sender=_address(nodes["sender"], "JPN"),
            recipient=_address(nodes[recipient], "GBR"),
            recipient_key=nodes[recipient].agreement_public_key(),
            manifest={"hello": "世界"} if manifest is None else manifest,
            parts=[(name, _opener(data)) for name, data in parts.items()],
            sign=nodes["sender"].sign)


def _opener(data: bytes) -> Callable[[], io.BytesIO]:
    return lambda: io.BytesIO(data)


def _opened(path: Path, nodes: dict[str, DirectoryKeyring], recipient: str = "recipient"
            ) -> pkg.Package:
    package = pkg.Package(path)
    package.verify(nodes["sender"].signing_public_key())
    package.check_parts()
    package.open(nodes[recipient].open_sealed_for_node)
    return package


def _read(package: pkg.Package, name: str) -> bytes:
    with package.part(name) as stream:
        return stream.read()


# --------------------------------------------------------------------------- round trip


def test_parts_of_up_to_a_few_mebibytes_round_trip_and_nothing_is_in_clear(nodes, tmp_path):
    marker = b"CLASSIFIED-MARKER-"
    parts = {
        "empty": b"",
        "one": b"1",
        "chunk:0": marker + os.urandom(MIB - 1 - len(marker)),
        "chunk:1": marker + os.urandom(MIB - len(marker)),
        "chunk:2": marker + os.urandom(MIB + 1 - len(marker)),
        "file:3f2a9c01-0000-4000-8000-000000000001": (marker * 10 + os.urandom(4096)) * 700,
    }
    manifest = {"title": "機密の題名 CLASSIFIED-TITLE", "n": [1, 2, 3]}
    package_id = uuid.uuid4()
    path = tmp_path / "p.pkg"
    written = _write(path, nodes, manifest=manifest, parts=parts, package_id=package_id)

    data = path.read_bytes()
    assert written.size == len(data) and written.id == package_id
    assert data.startswith(pkg.MAGIC) and data.endswith(pkg.MAGIC)
    assert marker not in data and b"CLASSIFIED-TITLE" not in data
    assert "機密".encode() not in data
    header = pkg.read_header(path)
    assert written.header_sha256 == header.sha256 == hashlib.sha256(header.raw).hexdigest()
    assert header.id == package_id and header.kind == "transmission"
    assert header.created_at == dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    assert header.sender == _address(nodes["sender"], "JPN")
    assert header.recipient == _address(nodes["recipient"], "GBR")
    assert [p[0] for p in header.parts] == ["manifest", *parts]
    offset = len(pkg.MAGIC)
    for _name, size, sha in header.parts:
        assert hashlib.sha256(data[offset:offset + size]).hexdigest() == sha
        offset += size

    package = _opened(path, nodes)
    assert package.manifest() == manifest
    for name, plaintext in parts.items():
        assert package.has_part(name)
        assert _read(package, name) == plaintext
    assert not package.has_part("nothing")
    with pytest.raises(pkg.PackageError, match="no part"):
        package.part("nothing")


def test_a_part_is_read_in_pieces_like_a_file(nodes, tmp_path):
    data = os.urandom(MIB + 12345)
    path = tmp_path / "p.pkg"
    _write(path, nodes, parts={"big": data})
    pieces = []
    with _opened(path, nodes).part("big") as stream:
        while piece := stream.read(100_000):
            pieces.append(piece)
    assert b"".join(pieces) == data


def test_every_kind_is_written_and_read_and_no_other(nodes, tmp_path):
    for kind in sorted(pkg.KINDS):
        path = tmp_path / f"{kind}.pkg"
        _write(path, nodes, kind=kind)
        assert pkg.read_header(path).kind == kind
    with pytest.raises(ValueError, match="kind"):
        _write(tmp_path / "gift.pkg", nodes, kind="gift")


@pytest.mark.parametrize("name", ["Body", "body:", "body:XYZ", "with space", "a" * 0,
                                  "body:" + "0" * 41, "../etc"])
def test_write_refuses_bad_part_names(nodes, tmp_path, name):
    with pytest.raises(ValueError, match="part name"):
        _write(tmp_path / "p.pkg", nodes, parts={name: b"x"})


# --------------------------------------------------------------------------- order of reading


def test_nothing_is_decrypted_before_the_signature_and_every_hash_are_checked(nodes, tmp_path):
    path = tmp_path / "p.pkg"
    _write(path, nodes, parts={"body": b"secret"})
    package = pkg.Package(path)
    with pytest.raises(pkg.PackageError, match="verify"):
        package.check_parts()
    with pytest.raises(pkg.PackageError, match="check_parts"):
        package.open(nodes["recipient"].open_sealed_for_node)
    with pytest.raises(pkg.PackageError, match="not been opened"):
        package.part("body")
    with pytest.raises(pkg.PackageError, match="not been opened"):
        package.manifest()
    # A failed verification does not count as one.
    with pytest.raises(pkg.PackageError, match="different sender key"):
        package.verify(nodes["other"].signing_public_key())
    with pytest.raises(pkg.PackageError, match="verify"):
        package.check_parts()
    package.verify(nodes["sender"].signing_public_key())
    with pytest.raises(pkg.PackageError, match="check_parts"):
        package.open(nodes["recipient"].open_sealed_for_node)
    package.check_parts()
    with pytest.raises(pkg.PackageError, match="not been opened"):
        package.part("body")
    package.open(nodes["recipient"].open_sealed_for_node)
    assert _read(package, "body") == b"secret"


def test_a_package_opens_only_with_the_recipients_key(nodes, tmp_path):
    path = tmp_path / "p.pkg"
    _write(path, nodes, parts={"body": b"secret"})
    package = pkg.Package(path)
    package.verify(nodes["sender"].signing_public_key())
    package.check_parts()
    for wrong in ("other", "sender"):
        with pytest.raises(pkg.PackageError, match="another node"):
            package.open(nodes[wrong].open_sealed_for_node)
    with pytest.raises(pkg.PackageError, match="not been opened"):
        package.part("body")


def test_the_sealed_key_is_bound_to_the_package_id_and_both_addresses(nodes, tmp_path):
    """Re-signed by the sender itself with another id or address, the key no longer opens."""
    path = tmp_path / "p.pkg"
    _write(path, nodes, parts={"body": b"secret"})
    other = _address(nodes["other"], "GBR").as_json()
    for name, change in {"id": lambda h: h.update(id=str(uuid.uuid4())),
                         "recipient": lambda h: h.update(recipient=other),
                         "recipient nation": lambda h: h["recipient"].update(nation="AUS"),
                         "sender nation": lambda h: h["sender"].update(nation="KOR")}.items():
        out = _reassembled(path, tmp_path / f"{name}.pkg", nodes["sender"].sign, change)
        package = pkg.Package(out)
        package.verify(nodes["sender"].signing_public_key())
        package.check_parts()
        with pytest.raises(pkg.PackageError, match="another node"):
            package.open(nodes["recipient"].open_sealed_for_node)


def test_a_part_moved_under_another_name_does_not_decrypt(nodes, tmp_path):
    """The sender re-signs a header that lists the same bytes under other names: hashes and
    signature pass, the part's own binding does not."""
    path = tmp_path / "p.pkg"
    _write(path, nodes, parts={"alpha": b"A" * 100, "beta": b"B" * 100})

    def rename(header):
        header["parts"][1]["name"], header["parts"][2]["name"] = "beta", "alpha"
    package = _opened(_reassembled(path, tmp_path / "renamed.pkg", nodes["sender"].sign, rename),
                      nodes)
    with pytest.raises(crypto.IntegrityError):
        _read(package, "alpha")


# --------------------------------------------------------------------------- read_header


def _reassembled(path: Path, out: Path, sign, change) -> Path:
    header = pkg.read_header(path)
    data = json.loads(header.raw)
    change(data)
    raw = pkg.canonical(data)
    parts = path.read_bytes()[len(pkg.MAGIC):len(pkg.MAGIC) + sum(p[1] for p in header.parts)]
    out.write_bytes(pkg.MAGIC + parts + raw + sign(pkg._PACKAGE_DOMAIN + raw)
                    + TRAILER.pack(len(raw), pkg.MAGIC))
    return out


@pytest.fixture
def good(nodes, tmp_path):
    path = tmp_path / "good.pkg"
    _write(path, nodes, parts={"body": b"the body" * 100})
    return path


def _edited(path: Path, edit) -> Path:
    data = bytearray(path.read_bytes())
    edit(data)
    out = path.with_name("edited.pkg")
    out.write_bytes(bytes(data))
    return out


def _set_length(value: int):
    def edit(data: bytearray) -> None:
        data[-TRAILER.size:] = TRAILER.pack(value, pkg.MAGIC)
    return edit


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda d: d.clear(), "too short"),
    (lambda d: d.__delitem__(slice(10, None)), "too short"),
    (lambda d: d.__delitem__(slice(len(pkg.MAGIC) + 64 + TRAILER.size - 1, None)), "too short"),
    (lambda d: d.__setitem__(0, ord("X")), "bad magic"),
    (lambda d: d.__setitem__(slice(0, 8), b"ENTEPKG2"), "bad magic"),
    (lambda d: d.__setitem__(-1, ord("X")), "truncated or has data appended"),
    (lambda d: d.extend(b"\0"), "truncated or has data appended"),
    (lambda d: d.extend(b"appended data, and more"), "truncated or has data appended"),
    (lambda d: d.__delitem__(slice(len(d) - 1, None)), "truncated or has data appended"),
    (_set_length(0), "impossible"),
    (_set_length(1), "impossible"),
    (_set_length(pkg.MAX_HEADER + 1), "impossible"),
    (_set_length(2**32 - 1), "impossible"),
    (lambda d: _set_length(len(d))(d), "impossible"),
    (lambda d: _set_length(len(d) - 64 - TRAILER.size - 8 + 1)(d), "impossible"),
    (lambda d: d.__setitem__(slice(len(pkg.MAGIC), len(pkg.MAGIC)), b"inserted"), "do not add up"),
    (lambda d: d.__delitem__(slice(len(pkg.MAGIC), len(pkg.MAGIC) + 5)), "do not add up"),
])
def test_read_header_refuses_damaged_files(good, edit, reason):
    with pytest.raises(pkg.PackageError, match=reason):
        pkg.read_header(_edited(good, edit))


def _with_header(path: Path, header: Any, *, raw: bytes | None = None) -> Path:
    """The parts of ``path`` under another header (any JSON, or raw bytes)."""
    original = pkg.read_header(path)
    parts = path.read_bytes()[len(pkg.MAGIC):len(pkg.MAGIC) + sum(p[1] for p in original.parts)]
    raw = raw if raw is not None else pkg.canonical(header)
    out = path.with_name("header.pkg")
    out.write_bytes(pkg.MAGIC + parts + raw + bytes(64) + TRAILER.pack(len(raw), pkg.MAGIC))
    return out


def _header_of(path: Path) -> dict[str, Any]:
    return json.loads(pkg.read_header(path).raw)


def _part(header, index=0, **changes):
    header["parts"][index].update(changes)


HEADER_CHANGES = [
    (lambda h: h.update(format="entente-package/2"), "Unknown package format"),
    (lambda h: h.update(kind="gift"), "Unknown package kind"),
    (lambda h: h.update(kind=None), "Unknown package kind"),
    (lambda h: h.pop("key"), "fields"),
    (lambda h: h.update(extra=True), "fields"),
    (lambda h: h.update(id="not-a-uuid"), "malformed"),
    (lambda h: h.update(created_at="yesterday"), "malformed"),
    (lambda h: h.update(created_at="2026-03-01T09:30:00"), "time zone"),
    (lambda h: h.update(parts=[]), "no parts"),
    (lambda h: h.update(parts={}), "no parts"),
    (lambda h: _part(h, size=True), "described wrongly"),
    (lambda h: _part(h, size=0), "described wrongly"),
    (lambda h: _part(h, size=-1), "described wrongly"),
    (lambda h: _part(h, size="12"), "described wrongly"),
    (lambda h: _part(h, sha256="A" * 64), "described wrongly"),
    (lambda h: _part(h, sha256="0" * 63), "described wrongly"),
    (lambda h: _part(h, name="Manifest"), "described wrongly"),
    (lambda h: _part(h, name="../x"), "described wrongly"),
    (lambda h: _part(h, extra=1), "described wrongly"),
    (lambda h: h["parts"].reverse(), "start with its manifest"),
    (lambda h: _part(h, 1, name="manifest"), "distinct names"),
    (lambda h: h["sender"].update(nation="jpn"), "sender is malformed"),
    (lambda h: h["sender"].update(nation="JAPAN"), "sender is malformed"),
    (lambda h: h["recipient"].update(key="0" * 63), "recipient is malformed"),
    (lambda h: h["recipient"].update(key="F" * 64), "recipient is malformed"),
    (lambda h: h["recipient"].update(extra=1), "recipient is malformed"),
    (lambda h: h.update(sender="JPN"), "sender is malformed"),
    (lambda h: h.update(key="not base64!"), "not valid base64"),
    (lambda h: h.update(kind=["transmission"]), "Unknown package kind"),
    (lambda h: h.update(kind={"a": 1}), "Unknown package kind"),
]


@pytest.mark.parametrize(("change", "reason"), HEADER_CHANGES)
def test_read_header_refuses_headers_that_do_not_fit_the_format(good, change, reason):
    header = _header_of(good)
    change(header)
    with pytest.raises(pkg.PackageError, match=reason):
        pkg.read_header(_with_header(good, header))


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe{}", b"{}",
                                 b"[" * 100_000, b'{"a": ' + b"9" * 5000 + b"}"])
def test_read_header_refuses_a_header_that_is_not_a_json_object(good, raw):
    with pytest.raises(pkg.PackageError, match="header"):
        pkg.read_header(_with_header(good, None, raw=raw))


def test_a_header_listing_more_or_less_than_the_file_holds_is_refused(good):
    header = _header_of(good)
    header["parts"][1]["size"] += 1
    with pytest.raises(pkg.PackageError, match="do not add up"):
        pkg.read_header(_with_header(good, header))


# --------------------------------------------------------------------------- a flipped byte


def _read_all(path: Path, nodes: dict[str, DirectoryKeyring], names: list[str]
              ) -> tuple[dict[str, Any], dict[str, bytes]]:
    package = _opened(path, nodes)
    return package.manifest(), {name: _read(package, name) for name in names}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contents=st.lists(st.binary(max_size=3000), min_size=0, max_size=3),
       title=st.text(max_size=40), where=st.floats(min_value=0, max_value=1, exclude_max=True),
       mask=st.integers(min_value=1, max_value=255))
def test_a_flipped_byte_anywhere_is_refused_and_never_read_as_other_plaintext(
        nodes, contents, title, where, mask):
    parts = {f"part:{i}": data for i, data in enumerate(contents)}
    manifest = {"title": title, "count": len(parts)}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "p.pkg"
        _write(path, nodes, manifest=manifest, parts=parts)
        assert _read_all(path, nodes, list(parts)) == (manifest, parts)
        data = bytearray(path.read_bytes())
        offset = int(where * len(data))
        data[offset] ^= mask
        path.write_bytes(bytes(data))
        try:
            read = _read_all(path, nodes, list(parts))
        except pkg.PackageError:
            return
        assert read == (manifest, parts), f"byte {offset} of {len(data)} flipped: read otherwise"


@pytest.mark.parametrize("offset", [0, 1, MIB - 1, MIB, MIB + 1, MIB + 16, MIB + 40])
def test_a_flip_at_a_chunk_boundary_of_a_large_part_is_refused(nodes, tmp_path, offset):
    path = tmp_path / "p.pkg"
    _write(path, nodes, parts={"big": os.urandom(2 * MIB)})
    header = pkg.read_header(path)
    start = len(pkg.MAGIC) + header.parts[0][1]
    data = bytearray(path.read_bytes())
    data[start + offset] ^= 0x40
    path.write_bytes(bytes(data))
    package = pkg.Package(path)
    package.verify(nodes["sender"].signing_public_key())
    with pytest.raises(pkg.PackageError, match="'big' was altered"):
        package.check_parts()


# --------------------------------------------------------------------------- signed documents


FIELDS = {"format": "entente-receipt/1", "package": str(uuid.UUID(int=7)), "items": [
    {"document": "d", "version": 2, "protected_as": "GBR/SECRET"}], "名前": "受領証"}


def test_a_signed_document_round_trips_and_verifies_with_its_key_only(nodes):
    raw = pkg.sign_document(nodes["sender"].sign, "receipt", FIELDS)
    assert json.loads(raw)["signed"] == FIELDS
    fields, signature = pkg.read_document(raw, "receipt")
    assert fields == FIELDS and len(signature) == 64
    pkg.verify_document(fields, signature, "receipt", nodes["sender"].signing_public_key())
    with pytest.raises(pkg.PackageError, match="does not verify"):
        pkg.verify_document(fields, signature, "receipt", nodes["other"].signing_public_key())
    # A receipt's signature is no identity file's, nor a transfer log's.
    for domain in ("identity", "transfer-log", "package"):
        with pytest.raises(pkg.PackageError, match="does not verify"):
            pkg.verify_document(fields, signature, domain, nodes["sender"].signing_public_key())


@pytest.mark.parametrize("alter", [
    lambda f: f.update(package=str(uuid.UUID(int=8))),
    lambda f: f["items"][0].update(protected_as="GBR/OFFICIAL"),
    lambda f: f["items"][0].update(version=3),
    lambda f: f.update(extra=None),
    lambda f: f.pop("名前"),
    lambda f: f.update({"名前": "受領証 "}),
])
def test_a_signed_document_with_any_field_altered_does_not_verify(nodes, alter):
    raw = pkg.sign_document(nodes["sender"].sign, "receipt", json.loads(json.dumps(FIELDS)))
    fields, signature = pkg.read_document(raw, "receipt")
    alter(fields)
    with pytest.raises(pkg.PackageError, match="does not verify"):
        pkg.verify_document(fields, signature, "receipt", nodes["sender"].signing_public_key())
    # Nor when the alteration is made to the file itself and read back.
    altered = json.loads(raw)
    alter(altered["signed"])
    fields, signature = pkg.read_document(pkg.canonical(altered), "receipt")
    with pytest.raises(pkg.PackageError, match="does not verify"):
        pkg.verify_document(fields, signature, "receipt", nodes["sender"].signing_public_key())


def test_a_signed_document_with_its_signature_altered_does_not_verify(nodes):
    raw = json.loads(pkg.sign_document(nodes["sender"].sign, "receipt", FIELDS))
    signature = bytearray(pkg._unb64(raw["signature"], "s"))
    for altered in (bytes(signature[:-1]), bytes(signature) + b"\0", bytes(64),
                    bytes([signature[0] ^ 1]) + bytes(signature[1:])):
        with pytest.raises(pkg.PackageError, match="does not verify"):
            pkg.verify_document(FIELDS, altered, "receipt", nodes["sender"].signing_public_key())


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", "not JSON"), (b"\xff\xfe", "not JSON"), (b"[]", "Not a signed"),
    (b'{"signed": {}}', "Not a signed"),
    (b'{"signed": [], "signature": ""}', "Not a signed"),
    (b'{"signed": {}, "signature": "", "extra": 1}', "Not a signed"),
    (b'{"signed": {}, "signature": "***"}', "not valid base64"),
    (b"[" * 100_000, "not JSON"),  # nesting deeper than the parser goes
    (b'{"signed": {"n": ' + b"9" * 5000 + b'}, "signature": ""}', "not JSON"),
])
def test_read_document_refuses_what_is_not_a_signed_document(raw, reason):
    with pytest.raises(pkg.PackageError, match=reason):
        pkg.read_document(raw, "receipt")


def test_a_fingerprint_is_the_sha256_of_the_raw_signing_key(nodes):
    key = nodes["sender"].signing_public_key()
    fingerprint = pkg.fingerprint(key)
    assert fingerprint == hashlib.sha256(key.public_bytes_raw()).hexdigest()
    grouped = pkg.grouped(fingerprint)
    assert grouped.replace(" ", "") == fingerprint[:32] and len(grouped.split()) == 8
    assert pkg.fingerprint(nodes["other"].signing_public_key()) != fingerprint
