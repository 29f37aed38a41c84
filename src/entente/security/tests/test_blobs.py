"""The encrypted blob store: round trips, no plaintext on disk, tamper and relabel detection,
nothing left behind on failure, rollback cleanup and the sweeper."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import stat
import time
from pathlib import Path

import pytest
from django.db import IntegrityError as DatabaseIntegrityError
from django.db import transaction
from django.http import StreamingHttpResponse

from entente.security import blobs
from entente.security.crypto import Envelope, IntegrityError
from entente.security.keystore import keyring
from entente.security.labels import LabelSpec, make_label
from entente.security.models import SampleRecord
from entente.security.services import create_sample_record
from entente.testing import organisation

pytestmark = pytest.mark.django_db

MARKER = b"EYES-ONLY-MARKER:Operation Kestrel grid 31U DQ 48251 11932"
MiB = 1 << 20


def _payload(size: int) -> bytes:
    """Random bytes with the marker repeated throughout, including across 1 MiB chunk edges."""
    out = bytearray()
    while len(out) < size:
        out += MARKER + os.urandom(64 * 1024 - 7)
    return bytes(out[:size])


@pytest.fixture
def blob_dir(settings, tmp_path) -> Path:
    settings.BLOB_DIR = tmp_path / "blobs"
    return settings.BLOB_DIR


@pytest.fixture
def record() -> SampleRecord:
    return create_sample_record(actor=None, owner=organisation("gbr-mod"), title="annex",
                                body="cover note", label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"))


def _read(obj, blob: blobs.StoredBlob) -> bytes:
    return b"".join(blobs.open_stream(obj, blob.name, blob.envelope))


def _files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory)) if directory.exists() else []


class ExplodingSource(io.RawIOBase):
    """Yields random bytes, then fails after ``fail_after`` bytes (a dropped client, a bad disk)."""

    def __init__(self, fail_after: int) -> None:
        self.fail_after = fail_after
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, view) -> int:
        if self.given >= self.fail_after:
            raise OSError("source device failed")
        n = min(len(view), self.fail_after - self.given)
        view[:n] = MARKER[:1] * n
        self.given += n
        return n


def test_round_trip_multi_chunk_returns_same_bytes_and_sha256(blob_dir, record):
    data = _payload(3 * MiB + 12345)
    blob = blobs.store(record, io.BytesIO(data))
    assert blob.size == len(data)
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.name.endswith(".blob") and len(blob.name) == 37
    assert Envelope.from_bytes(blob.envelope).kek_id == keyring().current_kek_id("GBR")
    assert _files(blob_dir) == [blob.name]
    chunks = list(blobs.open_stream(record, blob.name, blob.envelope))
    assert len(chunks) == 4  # streamed in 1 MiB chunks, not as one buffer
    out = b"".join(chunks)
    assert out == data
    assert hashlib.sha256(out).hexdigest() == blob.sha256


def test_empty_source_round_trips(blob_dir, record):
    blob = blobs.store(record, io.BytesIO(b""))
    assert (blob.size, blob.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert _read(record, blob) == b""


def test_stored_file_holds_no_plaintext_and_is_private(blob_dir, record):
    data = _payload(2 * MiB + 1)
    assert data.count(MARKER) > 30
    blob = blobs.store(record, io.BytesIO(data))
    stored = (blob_dir / blob.name).read_bytes()
    assert len(stored) > len(data)
    assert MARKER not in stored
    assert MARKER[:16] not in stored
    assert stat.S_IMODE((blob_dir / blob.name).stat().st_mode) == 0o600
    assert stat.S_IMODE(blob_dir.stat().st_mode) == 0o700


def test_existing_blob_dir_open_to_others_is_tightened(blob_dir, record):
    blob_dir.mkdir(mode=0o755)
    blob_dir.chmod(0o755)
    blobs.store(record, io.BytesIO(b"x"))
    assert stat.S_IMODE(blob_dir.stat().st_mode) == 0o700


@pytest.mark.parametrize("where", ["header", "first chunk", "middle chunk", "last byte"])
def test_one_flipped_byte_fails_when_reading_all_chunks(blob_dir, record, where):
    data = _payload(3 * MiB + 99)
    blob = blobs.store(record, io.BytesIO(data))
    path = blob_dir / blob.name
    raw = bytearray(path.read_bytes())
    offset = {"header": 9, "first chunk": 100, "middle chunk": 2 * MiB + 5, "last byte": -1}[where]
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError):
        _read(record, blob)


def test_truncated_file_fails(blob_dir, record):
    blob = blobs.store(record, io.BytesIO(_payload(2 * MiB + 10)))
    path = blob_dir / blob.name
    raw = path.read_bytes()
    path.write_bytes(raw[: 16 + MiB + 16])  # header + exactly the first chunk
    with pytest.raises(IntegrityError):
        _read(record, blob)


def test_changed_label_fails(blob_dir, record):
    data = _payload(MiB + 1)
    blob = blobs.store(record, io.BytesIO(data))
    SampleRecord.objects.filter(pk=record.pk).update(
        label=make_label(LabelSpec.parse("GBR/OFFICIAL|rel=GBR,JPN")))
    relabelled = SampleRecord.objects.select_related("label").get(pk=record.pk)
    with pytest.raises(IntegrityError):
        _read(relabelled, blob)
    assert _read(record, blob) == data  # the old label still reads it: the label is what failed


def test_blob_moved_to_another_record_fails(blob_dir, record):
    other = create_sample_record(actor=None, owner=organisation("gbr-mod"), title="other",
                                 body="x", label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"))
    blob = blobs.store(record, io.BytesIO(b"annex text"))
    with pytest.raises(IntegrityError):
        _read(other, blob)


def test_failure_mid_stream_leaves_no_file(blob_dir, record):
    src = ExplodingSource(fail_after=3 * MiB)
    with pytest.raises(OSError, match="source device failed"):
        blobs.store(record, src)
    assert src.given == 3 * MiB
    assert _files(blob_dir) == []


def test_exceeding_max_size_raises_and_leaves_nothing(blob_dir, record):
    with pytest.raises(blobs.BlobTooLarge, match="1048576-byte limit"):
        blobs.store(record, io.BytesIO(_payload(2 * MiB)), max_size=MiB)
    assert _files(blob_dir) == []
    assert issubclass(blobs.BlobTooLarge, ValueError)


def test_max_size_stops_reading_an_endless_source(blob_dir, record):
    src = ExplodingSource(fail_after=1 << 40)
    with pytest.raises(blobs.BlobTooLarge):
        blobs.store(record, src, max_size=MiB)
    assert src.given <= 2 * MiB + 2
    assert _files(blob_dir) == []


def test_source_of_exactly_max_size_is_accepted(blob_dir, record):
    data = _payload(MiB)
    blob = blobs.store(record, io.BytesIO(data), max_size=MiB)
    assert blob.size == MiB
    assert _read(record, blob) == data


def test_source_without_readinto_is_limited_too(blob_dir, record):
    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self._src = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._src.read(min(n, 1000) if n > 0 else n)

    data = _payload(300_000)
    assert _read(record, blobs.store(record, ReadOnly(data), max_size=300_000)) == data
    with pytest.raises(blobs.BlobTooLarge):
        blobs.store(record, ReadOnly(data), max_size=299_999)
    assert len(_files(blob_dir)) == 1


def test_unsaved_object_with_its_final_id_can_be_stored_then_saved(blob_dir, record):
    draft = SampleRecord(owner=record.owner, title="draft", label=record.label, body=b"")
    blob = blobs.store(draft, io.BytesIO(b"draft annex"))
    draft.save()
    saved = SampleRecord.objects.select_related("label").get(pk=draft.pk)
    assert _read(saved, blob) == b"draft annex"


def test_open_stream_closes_its_file(blob_dir, record):
    blob = blobs.store(record, io.BytesIO(_payload(2 * MiB)))
    stream = blobs.open_stream(record, blob.name, blob.envelope)
    next(iter(stream))
    response = StreamingHttpResponse(stream)
    response.close()  # what Django does when a download ends early
    assert stream._file.closed
    exhausted = blobs.open_stream(record, blob.name, blob.envelope)
    list(exhausted)
    assert exhausted._file.closed


def test_reader_is_a_file_object_that_feeds_another_store(blob_dir, record):
    data = _payload(2 * MiB + 3)
    blob = blobs.store(record, io.BytesIO(data))
    other = create_sample_record(actor=None, owner=organisation("gbr-mod"), title="copy",
                                 body="x", label=LabelSpec.parse("GBR/OFFICIAL|rel=GBR,JPN"))
    with blobs.reader(record, blob.name, blob.envelope) as src:
        assert src.read(5) == data[:5]
        copy = blobs.store(other, src)
    assert src.closed
    assert copy.size == len(data) - 5
    assert _read(other, copy) == data[5:]


def test_reader_over_damaged_blob_makes_store_fail_cleanly(blob_dir, record):
    blob = blobs.store(record, io.BytesIO(_payload(3 * MiB)))
    path = blob_dir / blob.name
    raw = bytearray(path.read_bytes())
    raw[2 * MiB] ^= 0x80
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError), blobs.reader(record, blob.name, blob.envelope) as src:
        blobs.store(record, src)
    assert _files(blob_dir) == [blob.name]


@pytest.mark.parametrize("bad", ["../x.blob", "a/b.blob", "..", "", "x.blob", "/etc/passwd",
                                 "0123456789abcdef0123456789abcdef.blob.part",
                                 "0123456789abcdef0123456789abcdef.blob/"])
def test_names_not_made_by_store_are_refused(blob_dir, record, bad):
    with pytest.raises(ValueError, match="not a blob name"):
        blobs.discard(bad)
    with pytest.raises(ValueError, match="not a blob name"):
        blobs.open_stream(record, bad, b"")


def test_discard_deletes_and_tolerates_missing(blob_dir, record):
    blob = blobs.store(record, io.BytesIO(b"abc"))
    blobs.discard(blob.name)
    assert _files(blob_dir) == []
    blobs.discard(blob.name)  # already gone: no error


def test_cleanup_discards_on_exception(blob_dir, record):
    with (pytest.raises(RuntimeError, match="later step failed"),
          blobs.cleanup_on_error() as stored, transaction.atomic()):
        first = stored(blobs.store(record, io.BytesIO(b"one")))
        stored(blobs.store(record, io.BytesIO(b"two")))
        assert len(_files(blob_dir)) == 2
        assert _read(record, first) == b"one"
        raise RuntimeError("later step failed")
    assert _files(blob_dir) == []


def test_cleanup_inside_atomic_as_in_the_brief_also_discards(blob_dir, record):
    with pytest.raises(RuntimeError), transaction.atomic(), blobs.stored_or_discarded() as stored:
        stored(blobs.store(record, io.BytesIO(b"one")))
        raise RuntimeError
    assert _files(blob_dir) == []


def test_cleanup_discards_when_the_row_cannot_be_saved(blob_dir, record):
    clash = SampleRecord(pk=record.pk, owner=record.owner, title="dup", label=record.label, body=b"")
    with pytest.raises(DatabaseIntegrityError), blobs.cleanup_on_error() as stored, transaction.atomic():
        stored(blobs.store(clash, io.BytesIO(b"attachment")))
        clash.save(force_insert=True)
    assert _files(blob_dir) == []
    assert SampleRecord.objects.filter(pk=record.pk).get().title == "annex"


def test_cleanup_keeps_blobs_when_the_block_succeeds(blob_dir, record):
    with blobs.cleanup_on_error() as stored, transaction.atomic():
        blob = stored(blobs.store(record, io.BytesIO(b"kept")))
    assert _files(blob_dir) == [blob.name]
    assert _read(record, blob) == b"kept"


def test_restore_after_rollback_never_raises(blob_dir, record, caplog):
    blob = blobs.store(record, io.BytesIO(b"x"))
    blobs.restore_after_rollback(blob.name)
    assert _files(blob_dir) == []
    blobs.restore_after_rollback("../../etc/passwd")  # logged, not raised
    assert "sweep() will remove it" in caplog.text


def _age(path: Path, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_sweep_removes_old_unreferenced_and_keeps_referenced_and_fresh(blob_dir, record):
    kept = blobs.store(record, io.BytesIO(b"referenced"))
    orphan = blobs.store(record, io.BytesIO(b"orphan"))
    fresh = blobs.store(record, io.BytesIO(b"uncommitted row"))
    stale_part = blob_dir / (os.urandom(16).hex() + ".blob.part")
    stale_part.write_bytes(b"partial")
    live_part = blob_dir / (os.urandom(16).hex() + ".blob.part")
    live_part.write_bytes(b"being written")
    foreign = blob_dir / "README"
    foreign.write_bytes(b"not ours")
    for path in (blob_dir / kept.name, blob_dir / orphan.name, stale_part, foreign):
        _age(path, 3)
    asked: list[str] = []

    def referenced(name: str) -> bool:
        asked.append(name)
        return name == kept.name

    removed = blobs.sweep(referenced, older_than=dt.timedelta(hours=1))
    assert removed == sorted([orphan.name, stale_part.name])
    assert sorted(asked) == sorted([kept.name, orphan.name])  # fresh blobs are not asked about
    assert _files(blob_dir) == sorted([kept.name, fresh.name, live_part.name, "README"])
    assert _read(record, kept) == b"referenced"
    assert blobs.sweep(referenced) == []


def test_sweep_of_missing_directory_is_empty(blob_dir):
    assert blobs.sweep(lambda name: False) == []
