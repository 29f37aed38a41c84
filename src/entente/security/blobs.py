"""Encrypted blob store for large attachments, under ``settings.BLOB_DIR``.

A blob is one file holding the :func:`crypto.encrypt_stream` ciphertext of one protected
object's attachment, bound (associated data) to that object's label and identity through
:func:`entente.security.services.binding`. The database row keeps what :func:`store` returns
(:class:`StoredBlob`: file name, envelope, size, plaintext SHA-256); the file alone is useless
without the envelope, and the envelope without the right label and id.

* :func:`store` encrypts a source stream in constant memory into ``<name>.part``, fsyncs it and
  renames it to ``<name>`` (atomic on POSIX). Any failure, including :class:`BlobTooLarge`,
  deletes the ``.part`` file before the exception propagates. Plaintext never reaches disk.
* :func:`open_stream` yields verified plaintext chunks (see :func:`crypto.iter_decrypt` for what
  a mid-stream :class:`~entente.security.crypto.IntegrityError` means to an HTTP response);
  :func:`reader` is the same as a file object, e.g. to re-encrypt into another blob.
* :func:`discard` deletes a blob; :func:`sweep` removes stale ``.part`` files and old blobs no
  row refers to.

Names are always generated here (``uuid4().hex + ".blob"``) and every function that takes a
name accepts only that shape, so no caller-supplied text can reach the file system.

The database and the file system do not share a transaction. A stored blob must be deleted if
the transaction that would have referred to it rolls back, and ``transaction.on_commit`` never
fires on rollback. So wrap the work in :func:`cleanup_on_error`, which yields a callable that
records each stored blob and returns it unchanged; if the block raises, every recorded blob is
removed with :func:`restore_after_rollback`::

    with blobs.cleanup_on_error() as stored, transaction.atomic():
        att = Attachment(...)
        blob = stored(blobs.store(att, src))
        att.blob_name, att.envelope = blob.name, blob.envelope
        att.save()

Put ``cleanup_on_error()`` *outside* ``transaction.atomic()`` as above, so that a failing
COMMIT is caught too (with the opposite order the blob is discarded on errors inside the block
but not when the commit itself fails). A rollback the block cannot see (an enclosing
``atomic()`` that fails later) leaves an unreferenced blob; :func:`sweep` removes it once it is
older than its grace period. Deleting an attachment works the other way round: delete the row,
then ``transaction.on_commit(lambda: blobs.discard(name))``.

``stored_or_discarded`` is another name for :func:`cleanup_on_error`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import os
import re
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias, cast

from django.conf import settings
from django.db import models

from entente.security import crypto
from entente.security.keystore import keyring

__all__ = [
    "BlobTooLarge",
    "Collector",
    "StoredBlob",
    "cleanup_on_error",
    "discard",
    "open_stream",
    "reader",
    "restore_after_rollback",
    "store",
    "stored_or_discarded",
    "sweep",
]

log = logging.getLogger(__name__)

BLOB_SUFFIX = ".blob"
PART_SUFFIX = ".part"
_NAME = re.compile(r"[0-9a-f]{32}\.blob\Z")
_PART = re.compile(r"[0-9a-f]{32}\.blob\.part\Z")
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class BlobTooLarge(ValueError):
    """The source held more than the ``max_size`` allowed for this blob."""


@dataclass(frozen=True)
class StoredBlob:
    """What a row must keep to read its blob back. ``sha256`` fingerprints the plaintext:
    protect it like the document's existence (see :class:`crypto.StreamResult`)."""

    name: str
    envelope: bytes
    size: int
    sha256: str


# --------------------------------------------------------------------------- paths


def _blob_dir() -> Path:
    """BLOB_DIR, created 0700 if missing and tightened to 0700 if group or others have access."""
    path = Path(settings.BLOB_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o700)
    return path


def _checked_name(name: str) -> str:
    """Only names :func:`store` makes: 32 lowercase hex digits + ``.blob``. Anything else (path
    separators, ``..``, other files in the directory) is refused."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"not a blob name: {name!r}")
    return name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


# --------------------------------------------------------------------------- size limit


class _Limited:
    """Read-only wrapper that raises :class:`BlobTooLarge` as soon as ``src`` yields more than
    ``limit`` bytes. It asks for at most one byte beyond the limit, so an over-size source is
    detected without reading (or encrypting) the rest of it."""

    def __init__(self, src: BinaryIO, limit: int) -> None:
        self._src = src
        self._limit = limit
        self._seen = 0

    def _count(self, n: int) -> None:
        self._seen += n
        if self._seen > self._limit:
            raise BlobTooLarge(f"attachment is larger than the {self._limit}-byte limit")

    def readinto(self, view: memoryview) -> int | None:
        view = memoryview(view)[: max(0, self._limit - self._seen) + 1]
        readinto = getattr(self._src, "readinto", None)
        if readinto is not None:
            n = readinto(view)
        else:
            data = self._src.read(len(view))
            n = None if data is None else len(data)
            if n:
                view[:n] = data
        if n:
            self._count(n)
        return n

    def read(self, size: int = -1) -> bytes:
        want = self._limit - self._seen + 1
        data = self._src.read(want if size is None or size < 0 else min(size, want))
        if data:
            self._count(len(data))
        return data


# --------------------------------------------------------------------------- public API


def store(obj: models.Model, src: BinaryIO, *, max_size: int | None = None) -> StoredBlob:
    """Encrypt ``src`` for ``obj`` into a new blob; return what the row must keep.

    ``obj`` may be unsaved but must already have its final primary key and label (the
    :class:`~entente.security.models.Protected` UUID default gives it one at construction):
    both are bound into the ciphertext, so a different id or label later will not decrypt.
    On any exception nothing is left in BLOB_DIR.
    """
    from entente.security.services import binding  # services imports models; keep this lazy

    if obj.pk is None:
        raise ValueError("the object needs its primary key before a blob is stored for it")
    if max_size is not None and max_size < 0:
        raise ValueError(f"max_size must be >= 0, got {max_size}")
    nation = obj.label.originator_id  # type: ignore[attr-defined]
    aad = binding(obj)
    directory = _blob_dir()
    name = uuid.uuid4().hex + BLOB_SUFFIX
    final = directory / name
    part = directory / (name + PART_SUFFIX)
    source: BinaryIO = src if max_size is None else _Limited(src, max_size)  # type: ignore[assignment]
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
    renamed = False
    try:
        with open(fd, "wb", closefd=True) as dst:
            result = crypto.encrypt_stream(keyring(), nation, source, dst, aad)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(part, final)
        renamed = True
        _fsync_dir(directory)
    except BaseException:
        _unlink(part)
        if renamed:
            _unlink(final)
        raise
    return StoredBlob(name=name, envelope=result.envelope.to_bytes(),
                      size=result.plaintext_size, sha256=result.sha256_of_plaintext)


class _BlobStream(Iterator[bytes]):
    """Plaintext chunks of one blob; closes the file when exhausted, on error, or on
    :meth:`close` (which ``StreamingHttpResponse`` calls when the response ends)."""

    def __init__(self, file: BinaryIO, chunks: Iterator[bytes]) -> None:
        self._file = file
        self._chunks = chunks

    def __iter__(self) -> _BlobStream:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._chunks = iter(())
        self._file.close()


def open_stream(obj: models.Model, blob_name: str, envelope: bytes) -> Iterator[bytes]:
    """Decrypt a blob stored for ``obj``: an iterator of verified plaintext chunks.

    The data key, header and first chunk are checked before this returns, so a changed label or
    id, a wrong envelope or a damaged start raises :class:`crypto.IntegrityError` here; damage
    further on raises it during iteration, after earlier (verified) chunks were yielded.
    The iterator has ``close()``; call it (or exhaust the iterator) to release the file.
    """
    return _open(obj, blob_name, envelope)


def _open(obj: models.Model, blob_name: str, envelope: bytes) -> _BlobStream:
    from entente.security.services import binding

    path = Path(settings.BLOB_DIR) / _checked_name(blob_name)
    aad = binding(obj)
    env = crypto.Envelope.from_bytes(envelope)
    file = open(os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC), "rb")  # noqa: SIM115
    try:
        chunks = crypto.iter_decrypt(keyring(), env, file, aad)
    except BaseException:
        file.close()
        raise
    return _BlobStream(file, chunks)


class _ChunkReader(io.RawIOBase):
    """``readinto`` over an iterator of chunks, holding one chunk at a time."""

    def __init__(self, chunks: _BlobStream) -> None:
        super().__init__()
        self._chunks: _BlobStream | None = chunks
        self._buf = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._chunks is None:
            raise ValueError("I/O operation on closed blob reader")
        while not self._buf:
            try:
                self._buf = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        if self._chunks is not None:
            self._chunks.close()
            self._chunks = None
            self._buf = memoryview(b"")
        super().close()


@contextlib.contextmanager
def reader(obj: models.Model, blob_name: str, envelope: bytes) -> Iterator[BinaryIO]:
    """:func:`open_stream` as a read-only file object (``read(n)``, ``readinto``), e.g. as the
    ``src`` of another :func:`store` when content moves to a record with another label. Closed
    on leaving the block. Reading raises :class:`crypto.IntegrityError` on damaged data, so a
    :func:`store` fed from it fails and leaves nothing behind."""
    raw = _ChunkReader(_open(obj, blob_name, envelope))
    with io.BufferedReader(raw, buffer_size=crypto.DEFAULT_CHUNK_SIZE) as file:
        yield cast(BinaryIO, file)


def discard(blob_name: str) -> None:
    """Delete a blob if it exists. Refuses anything that is not a name :func:`store` makes."""
    _unlink(Path(settings.BLOB_DIR) / _checked_name(blob_name))


def restore_after_rollback(name: str) -> None:
    """Undo a :func:`store` whose transaction rolled back: delete the blob.

    Runs while another exception propagates, so it never raises: a failure is logged and the
    file left to :func:`sweep` (it is unreferenced, so it goes at the next sweep after its
    grace period).
    """
    try:
        discard(name)
    except Exception:
        log.exception("could not remove blob %r after a rollback; sweep() will remove it", name)


Collector: TypeAlias = Callable[[StoredBlob], StoredBlob]
"""The ``stored`` callable :func:`cleanup_on_error` yields: records a blob, returns it unchanged."""


@contextlib.contextmanager
def cleanup_on_error() -> Iterator[Collector]:
    """Yield ``stored(blob) -> blob``, which records a blob; if the block raises (any exception,
    including ``KeyboardInterrupt``), every recorded blob is deleted and the exception re-raised.
    See the module docstring for where to put it relative to ``transaction.atomic()``."""
    names: list[str] = []

    def stored(blob: StoredBlob) -> StoredBlob:
        names.append(_checked_name(blob.name))
        return blob

    try:
        yield stored
    except BaseException:
        for name in names:
            restore_after_rollback(name)
        raise


stored_or_discarded = cleanup_on_error


def sweep(referenced: Callable[[str], bool],
          older_than: dt.timedelta = dt.timedelta(hours=1)) -> list[str]:
    """Delete stale files in BLOB_DIR; return the names removed (sorted).

    Removed: ``.part`` files and blobs for which ``referenced(name)`` is false, in both cases
    only if last modified more than ``older_than`` ago, so that a ``store`` still writing, or a
    blob whose row is not committed yet, is left alone. ``referenced`` is asked only about old
    blobs. Other files, directories and symbolic links are never touched.
    """
    directory = Path(settings.BLOB_DIR)
    if not directory.is_dir():
        return []
    cutoff = time.time() - older_than.total_seconds()
    removed: list[str] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            is_part = bool(_PART.match(entry.name))
            if not (is_part or _NAME.match(entry.name)):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_mtime >= cutoff:
                continue
            if not is_part and referenced(entry.name):
                continue
            if _unlink(directory / entry.name):
                removed.append(entry.name)
    return sorted(removed)
