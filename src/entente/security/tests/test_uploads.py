"""The encrypting upload handler: an upload's plaintext never reaches the disk, it reads back
exactly, tampering is detected, over-size and interrupted uploads leave nothing behind."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest
from django.core.files.uploadhandler import StopUpload
from django.http.multipartparser import MultiPartParser
from django.test import RequestFactory
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from entente.security import blobs, uploads
from entente.security.crypto import IntegrityError
from entente.security.labels import LabelSpec
from entente.security.services import create_sample_record
from entente.security.uploads import EncryptedUpload, EncryptingUploadHandler
from entente.testing import organisation

MARKER = b"EYES-ONLY-MARKER:Operation Kestrel grid 31U DQ 48251 11932"
MiB = 1 << 20
CHUNK = 64 * 1024  # what Django's parser hands a handler


def _payload(size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        out += MARKER + os.urandom(20_000)
    return bytes(out[:size])


@pytest.fixture
def upload_dir(settings, tmp_path) -> Path:
    settings.BLOB_DIR = tmp_path / "blobs"
    return settings.BLOB_DIR / "uploads"


def _files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory)) if directory.exists() else []


def _start(name: str = "annex.pdf", content_type: str = "application/pdf") -> EncryptingUploadHandler:
    handler = EncryptingUploadHandler()
    handler.new_file("file", name, content_type, None)
    return handler


def _feed(handler: EncryptingUploadHandler, data: bytes, chunk: int = CHUNK) -> None:
    for start in range(0, len(data), chunk):
        assert handler.receive_data_chunk(data[start : start + chunk], start) is None


def _upload(data: bytes) -> EncryptedUpload:
    handler = _start()
    _feed(handler, data)
    upload = handler.file_complete(len(data))
    assert isinstance(upload, EncryptedUpload)
    return upload


def test_chunks_round_trip_through_plaintext(upload_dir):
    data = _payload(3 * MiB + 777)
    upload = _upload(data)
    assert (upload.name, upload.content_type, upload.size) == ("annex.pdf", "application/pdf", len(data))
    with upload.plaintext() as src:
        assert src.readable() and not src.writable()
        assert src.read(10) == data[:10]
        rest = bytearray(len(data))
        view = memoryview(rest)
        got = 10
        while n := src.readinto(view[got - 10 :]):
            got += n
        assert got == len(data)
        assert src.read(1) == b""
    assert data[:10] + bytes(rest[: len(data) - 10]) == data
    with upload.plaintext() as again:  # each call starts at the beginning
        assert hashlib.sha256(again.read()).digest() == hashlib.sha256(data).digest()
    upload.close()


def test_empty_upload_round_trips(upload_dir):
    upload = _upload(b"")
    assert upload.size == 0
    assert upload.plaintext().read() == b""


def test_temp_file_never_holds_the_plaintext_and_is_private(upload_dir):
    data = _payload(2 * MiB)
    assert data.count(MARKER) > 50
    handler = _start()
    _feed(handler, data[: MiB])
    path = Path(handler.file.name)
    assert path.parent == upload_dir
    handler.file.flush()
    assert MARKER not in path.read_bytes()  # mid-upload
    _feed(handler, data[MiB:])
    upload = handler.file_complete(len(data))
    assert upload is not None
    stored = path.read_bytes()
    assert len(stored) > len(data)
    assert MARKER not in stored and MARKER[:16] not in stored
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(upload_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(upload_dir.parent.stat().st_mode) == 0o700
    upload.close()
    assert not path.exists()  # closing the upload deletes it
    with pytest.raises(ValueError, match="closed"):
        upload.plaintext()


def test_plaintext_feeds_the_blob_store(upload_dir, db):
    record = create_sample_record(actor=None, owner=organisation("gbr-mod"), title="annex",
                                  body="cover", label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"))
    data = _payload(2 * MiB + 5)
    upload = _upload(data)
    blob = blobs.store(record, upload.plaintext(), max_size=upload.size)
    upload.close()
    assert (blob.size, blob.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert b"".join(blobs.open_stream(record, blob.name, blob.envelope)) == data
    assert _files(upload_dir) == []


@pytest.mark.parametrize("where", ["length", "first record", "last data record", "final record"])
def test_tampered_temp_file_fails_to_read(upload_dir, where):
    data = _payload(5 * CHUNK)
    upload = _upload(data)
    path = Path(upload.file.name)
    raw = bytearray(path.read_bytes())
    record = 4 + CHUNK + 16
    offset = {"length": 1, "first record": 100, "last data record": 4 * record + 50,
              "final record": len(raw) - 3}[where]
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError):
        upload.plaintext().read()


@pytest.mark.parametrize("how", ["drop final record", "drop last two records", "append record",
                                 "swap records"])
def test_truncated_extended_or_reordered_temp_file_fails(upload_dir, how):
    upload = _upload(_payload(3 * CHUNK))
    path = Path(upload.file.name)
    raw = path.read_bytes()
    record = 4 + CHUNK + 16
    final = raw[3 * record :]
    assert len(final) == 4 + 16  # the empty final record written by file_complete
    changed = {
        "drop final record": raw[: 3 * record],
        "drop last two records": raw[: 2 * record],
        "append record": raw + raw[:record],
        "swap records": raw[record : 2 * record] + raw[:record] + raw[2 * record :],
    }[how]
    path.write_bytes(changed)
    with pytest.raises(IntegrityError):
        upload.plaintext().read()


def test_django_file_api_refuses_to_serve_ciphertext(upload_dir):
    upload = _upload(b"secret text")
    for call in (upload.read, lambda: list(upload.chunks()), lambda: list(upload),
                 lambda: upload.seek(0), upload.open, lambda: upload.write(b"x")):
        with pytest.raises(io.UnsupportedOperation, match="plaintext"):
            call()
    assert not hasattr(upload, "temporary_file_path")
    assert upload.plaintext().read() == b"secret text"


def test_over_size_upload_stops_and_leaves_no_file(upload_dir, settings):
    settings.ENTENTE_MAX_UPLOAD_BYTES = 3 * CHUNK
    handler = _start()
    _feed(handler, _payload(3 * CHUNK))  # exactly the limit is fine
    assert len(_files(upload_dir)) == 1
    with pytest.raises(StopUpload) as stopped:
        handler.receive_data_chunk(b"x", 3 * CHUNK)
    assert stopped.value.connection_reset is True
    assert _files(upload_dir) == []
    assert not hasattr(handler, "file")  # the parser's _close_files has nothing to trip on


def test_declared_content_length_over_the_limit_is_refused_up_front(upload_dir, settings):
    settings.ENTENTE_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(StopUpload):
        EncryptingUploadHandler().new_file("file", "big.bin", "application/octet-stream", 1001)
    assert _files(upload_dir) == []


def test_default_limit_is_two_gib(settings):
    if hasattr(settings, "ENTENTE_MAX_UPLOAD_BYTES"):
        del settings.ENTENTE_MAX_UPLOAD_BYTES
    assert uploads.max_upload_bytes() == 2 * 1024**3


def test_upload_interrupted_removes_temp_file(upload_dir):
    handler = _start()
    _feed(handler, _payload(MiB))
    assert len(_files(upload_dir)) == 1
    handler.upload_interrupted()
    assert _files(upload_dir) == []
    assert handler.file_complete(MiB) is None


def test_second_file_on_the_same_handler_gets_its_own_key_and_file(upload_dir):
    handler = _start("a.txt")
    _feed(handler, b"first file")
    first = handler.file_complete(10)
    handler.new_file("other", "b.txt", "text/plain", None)
    _feed(handler, b"second file, longer")
    second = handler.file_complete(19)
    assert first is not None and second is not None
    assert first.plaintext().read() == b"first file"
    assert second.plaintext().read() == b"second file, longer"
    assert len(_files(upload_dir)) == 2
    first.close()
    second.close()
    assert _files(upload_dir) == []


def _multipart_request(data: bytes, filename: str = "annex.bin"):
    upload = io.BytesIO(data)
    upload.name = filename
    body = encode_multipart(BOUNDARY, {"title": "Annex B", "file": upload})
    return RequestFactory().generic("POST", "/upload", body, content_type=MULTIPART_CONTENT)


def test_multipart_request_through_the_parser(upload_dir):
    data = _payload(MiB + 4321)
    request = _multipart_request(data)
    parser = MultiPartParser(request.META, io.BytesIO(request.body),
                             [EncryptingUploadHandler(request)])
    post, files = parser.parse()
    assert post["title"] == "Annex B"
    upload = files["file"]
    assert isinstance(upload, EncryptedUpload)
    assert (upload.name, upload.size) == ("annex.bin", len(data))
    assert upload.plaintext().read() == data
    [temp] = _files(upload_dir)
    assert MARKER not in (upload_dir / temp).read_bytes()
    upload.close()
    assert _files(upload_dir) == []


def test_request_files_with_the_handler_installed(upload_dir):
    data = _payload(300_000)
    request = _multipart_request(data, "../../etc/evil name.txt")
    request.upload_handlers = [EncryptingUploadHandler(request)]
    upload = request.FILES["file"]
    assert isinstance(upload, EncryptedUpload)
    assert upload.name == "evil name.txt"  # Django's sanitising still applies
    assert upload.plaintext().read() == data
    request.close()  # what Django does at the end of every request
    assert _files(upload_dir) == []


def test_over_size_multipart_request_yields_no_file_and_no_temp_file(upload_dir, settings):
    settings.ENTENTE_MAX_UPLOAD_BYTES = 100_000
    request = _multipart_request(_payload(300_000))
    parser = MultiPartParser(request.META, io.BytesIO(request.body),
                             [EncryptingUploadHandler(request)])
    post, files = parser.parse()
    assert post["title"] == "Annex B"  # the field before the file still arrived
    assert "file" not in files
    assert _files(upload_dir) == []


def test_sweep_removes_only_stale_upload_files(upload_dir):
    stale = _upload(b"left by a dead worker")
    live = _upload(b"in flight")
    stale_path = Path(stale.file.name)
    os.utime(stale_path, (0, 0))
    assert uploads.sweep() == [stale_path.name]
    assert _files(upload_dir) == [Path(live.file.name).name]
    live.close()
    stale.close()  # already gone: closing does not fail
