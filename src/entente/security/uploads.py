"""An upload handler that never lets an uploaded file's plaintext touch the disk.

Django's ``TemporaryFileUploadHandler`` spools large uploads to ``/tmp`` in clear. Here each
chunk is encrypted as it arrives, under an ephemeral AES-256-GCM key that exists only in this
process's memory, into a 0600 temporary file under ``BLOB_DIR/uploads``. The resulting
:class:`EncryptedUpload` decrypts on the fly through :meth:`EncryptedUpload.plaintext`, which is
what a view hands to :func:`entente.security.blobs.store`::

    request.upload_handlers = [EncryptingUploadHandler(request)]   # before touching request.POST
    upload = request.FILES["file"]
    blob = stored(blobs.store(att, upload.plaintext()))

Temporary file format, one record per received chunk (split at :data:`MAX_RECORD` bytes)::

    record_i = len(ciphertext_i) (4, BE) || AES-256-GCM(key, nonce = prefix(4) || i(8, BE),
                                                      aad = TAG || i(8, BE) || final(1))

followed by an empty record with ``final = 1`` written by ``file_complete``. A record is read as
final exactly when it ends at the end of the file, so a truncated, extended or reordered file
fails authentication instead of yielding a shorter plaintext.

If the process dies, the temporary file is ciphertext under a key that died with it; :func:`sweep`
removes such leftovers.

Django's ``File`` API on :class:`EncryptedUpload` (``read``, ``chunks``, iteration, ``open``,
``seek`` ...) is refused rather than serving ciphertext, and so that e.g. ``default_storage.save``
cannot quietly persist the upload: use :meth:`~EncryptedUpload.plaintext`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import stat
import struct
import tempfile
import time
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, NoReturn, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from entente.security.crypto import IntegrityError

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "EncryptedUpload", "EncryptingUploadHandler", "max_upload_bytes",
           "sweep"]

DEFAULT_MAX_UPLOAD_BYTES: Final = 2 * 1024**3
MAX_RECORD: Final = 1 << 20  # plaintext bytes per record; bounds the reader's buffer
_TAG_SIZE: Final = 16
_AAD_TAG: Final = b"entente/upload/v1\0"
_LENGTH: Final = struct.Struct(">I")
_COUNTER: Final = struct.Struct(">Q")
_PREFIX_SIZE: Final = 4
_TEMP_PREFIX: Final = "upload-"
_TEMP_SUFFIX: Final = ".enc"


def max_upload_bytes() -> int:
    """Per-file limit: ``settings.ENTENTE_MAX_UPLOAD_BYTES``, default 2 GiB."""
    return int(getattr(settings, "ENTENTE_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def upload_dir() -> Path:
    """``BLOB_DIR/uploads``, created (and kept) 0700."""
    path = Path(settings.BLOB_DIR) / "uploads"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for p in (path.parent, path):
        if stat.S_IMODE(p.stat().st_mode) & 0o077:
            p.chmod(0o700)
    return path


def _nonce(prefix: bytes, counter: int) -> bytes:
    return prefix + _COUNTER.pack(counter)


def _aad(counter: int, final: bool) -> bytes:
    return _AAD_TAG + _COUNTER.pack(counter) + (b"\x01" if final else b"\x00")


class _RecordWriter:
    """Encrypts chunks into records; owns the ephemeral key until :meth:`finish`."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.key = AESGCM.generate_key(bit_length=256)
        self.prefix = os.urandom(_PREFIX_SIZE)
        self._aead = AESGCM(self.key)
        self._counter = 0

    def _record(self, data: bytes | memoryview, final: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self.prefix, self._counter), data,
                                    _aad(self._counter, final))
        self.file.write(_LENGTH.pack(len(sealed)))
        self.file.write(sealed)
        self._counter += 1

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        for start in range(0, len(view), MAX_RECORD):
            self._record(view[start : start + MAX_RECORD], final=False)

    def finish(self) -> None:
        self._record(b"", final=True)
        self.file.flush()


class _PlaintextReader(io.RawIOBase):
    """Read-only, forward-only plaintext of an upload's temporary file, one record in memory."""

    def __init__(self, path: str, key: bytes, prefix: bytes) -> None:
        super().__init__()
        self._file: IO[bytes] | None = None
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 — closed in close()
        self._end = os.fstat(self._file.fileno()).st_size
        self._pos = 0
        self._aead = AESGCM(key)
        self._prefix = prefix
        self._counter = 0
        self._buf = b""
        self._offset = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def _read_exact(self, n: int) -> bytes:
        if self._file is None:
            raise ValueError("I/O operation on closed upload reader")
        data = bytearray()
        while len(data) < n:
            got = self._file.read(n - len(data))
            if not got:
                raise IntegrityError(f"upload record {self._counter} is truncated")
            data += got
        self._pos += n
        return bytes(data)

    def _next_record(self) -> None:
        (length,) = _LENGTH.unpack(self._read_exact(_LENGTH.size))
        if not _TAG_SIZE <= length <= MAX_RECORD + _TAG_SIZE:
            raise IntegrityError(f"upload record {self._counter} has an impossible length {length}")
        sealed = self._read_exact(length)
        final = self._pos >= self._end
        try:
            self._buf = self._aead.decrypt(_nonce(self._prefix, self._counter), sealed,
                                           _aad(self._counter, final))
        except InvalidTag:
            raise IntegrityError(
                f"upload record {self._counter} failed authentication: the temporary file was "
                "altered, truncated, extended or reordered") from None
        self._offset = 0
        self._counter += 1
        self._done = final

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed upload reader")
        view = memoryview(buffer).cast("B")
        while self._offset >= len(self._buf):
            if self._done:
                return 0
            self._next_record()
        n = min(len(view), len(self._buf) - self._offset)
        view[:n] = memoryview(self._buf)[self._offset : self._offset + n]
        self._offset += n
        return n

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._buf = b""
        super().close()


def _close_temp(file: IO[bytes]) -> None:
    """Close (and so delete) a NamedTemporaryFile; already deleted (by :func:`sweep`) is fine."""
    with contextlib.suppress(FileNotFoundError):
        file.close()


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise io.UnsupportedOperation(
        "an EncryptedUpload holds ciphertext under a one-time key; read it with .plaintext()")


class EncryptedUpload(UploadedFile):
    """An upload held encrypted on disk; :meth:`plaintext` is the only way to its content.

    Closing it (Django closes every uploaded file at the end of the request) deletes the
    temporary file; the key is dropped with this object.
    """

    def __init__(self, file: IO[bytes], *, name: str | None, content_type: str | None, size: int,
                 charset: str | None, content_type_extra: dict[str, bytes] | None,
                 key: bytes, prefix: bytes) -> None:
        super().__init__(file, name, content_type, size, charset, content_type_extra)
        self._key = key
        self._prefix = prefix

    def plaintext(self) -> BinaryIO:
        """A new read-only stream of the upload's plaintext (``read(n)``, ``readinto``), decrypted
        record by record in constant memory. Each call starts from the beginning. Raises
        :class:`~entente.security.crypto.IntegrityError` while reading if the file was altered."""
        if self.file is None or self.file.closed:
            raise ValueError("the upload was closed and its temporary file deleted")
        raw = _PlaintextReader(self.file.name, self._key, self._prefix)
        return cast(BinaryIO, io.BufferedReader(raw, buffer_size=MAX_RECORD))

    def close(self) -> None:
        self._key = b""
        if self.file is not None:
            _close_temp(self.file)

    # The File API would hand out ciphertext. Refuse it instead (see the module docstring).
    read = readinto = readline = readlines = write = writelines = seek = tell = truncate = _refuse

    def chunks(self, chunk_size: int | None = None) -> NoReturn:
        _refuse()

    def __iter__(self) -> NoReturn:
        _refuse()

    def open(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse()


class EncryptingUploadHandler(FileUploadHandler):
    """Encrypts each uploaded file as it streams in; see the module docstring.

    Use it alone (or first), so that Django's ``TemporaryFileUploadHandler`` never sees the
    data: ``request.upload_handlers = [EncryptingUploadHandler(request)]`` in the view, or
    ``FILE_UPLOAD_HANDLERS`` in settings.
    """

    _writer: _RecordWriter | None = None

    def new_file(self, field_name: str, file_name: str, content_type: str, content_length: int | None,
                 charset: str | None = None, content_type_extra: dict[str, bytes] | None = None) -> None:
        super().new_file(field_name, file_name, content_type, content_length, charset,
                         content_type_extra)
        self._discard()
        self._limit = max_upload_bytes()
        if content_length is not None and content_length > self._limit:
            raise StopUpload(connection_reset=True)
        self.file = tempfile.NamedTemporaryFile(  # noqa: SIM115 — owned by the EncryptedUpload
            mode="w+b", dir=upload_dir(), prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX)
        self._writer = _RecordWriter(self.file)
        self._received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self._writer is None:
            raise StopUpload(connection_reset=True)
        self._received += len(raw_data)
        if self._received > self._limit:
            self._discard()
            raise StopUpload(connection_reset=True)
        self._writer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> EncryptedUpload | None:
        writer = self._writer
        if writer is None:
            return None
        writer.finish()
        self._writer = None
        file = self.__dict__.pop("file")  # handed over: the parser's _close_files must not close it
        return EncryptedUpload(file, name=self.file_name, content_type=self.content_type,
                               size=self._received, charset=self.charset,
                               content_type_extra=self.content_type_extra,
                               key=writer.key, prefix=writer.prefix)

    def upload_interrupted(self) -> None:
        self._discard()

    def _discard(self) -> None:
        """Forget the key and delete the partial temporary file, if any."""
        self._writer = None
        file = self.__dict__.pop("file", None)
        if file is not None:
            _close_temp(file)


def sweep(older_than: dt.timedelta = dt.timedelta(hours=1)) -> list[str]:
    """Delete upload temporary files left by a dead process (unreadable: their key died with it)
    and not modified for ``older_than``; return the names removed."""
    directory = Path(settings.BLOB_DIR) / "uploads"
    if not directory.is_dir():
        return []
    cutoff = time.time() - older_than.total_seconds()
    removed = []
    with os.scandir(directory) as entries:
        entries_list = list(entries)
    for entry in entries_list:
        if not (entry.name.startswith(_TEMP_PREFIX) and entry.name.endswith(_TEMP_SUFFIX)):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(entry.name)
        except FileNotFoundError:
            continue
    return sorted(removed)

