"""Evidence files: sealed as they stream in, stored as chunk rows, checked whole before download.

An upload never touches the disk in the clear. Werkzeug hands each uploaded file's bytes to an
:class:`EncryptingUpload` as they arrive (see ``portal.web.PortalRequest``); it seals them at once,
64 KiB at a time, under a fresh per-file key, and spools only ciphertext until the view stores the
chunks as database rows. The per-file key is sealed under the report's content key, so whoever can
read the report can read its files, and nobody else.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from portal import crypto
from portal.reports.models import Attachment, AttachmentChunk

CHUNK_BYTES = crypto.STREAM_CHUNK_BYTES
FILE_KEY_PURPOSE = b"portal attachment key v1"
DETAILS_PURPOSE = b"portal attachment details v1"
_TAG_BYTES = 16  # AES-GCM's tag on every sealed chunk
_INSERT_BATCH = 16  # chunks per INSERT: 1 MiB, so memory stays flat however large the file
_READ_BATCH = 16


class UploadTooLarge(Exception):
    """A file, or a report's files together, exceed the configured limit."""


class AttachmentDamaged(Exception):
    """A stored file failed verification: a chunk was altered, lost, repeated or moved."""


class EncryptingUpload(io.RawIOBase):
    """A write-only sink for one uploaded file that keeps nothing but ciphertext."""

    def __init__(self, filename: str | None, content_type: str | None, max_bytes: int) -> None:
        super().__init__()
        self.filename = filename or ""
        self.content_type = content_type or "application/octet-stream"
        self.max_bytes = max_bytes
        self.size = 0
        self.file_key = crypto.new_content_key()
        self._sealer = crypto.StreamSealer(self.file_key)
        self._sha256 = hashlib.sha256()
        self._pending = bytearray()
        # Ciphertext only. Unlinked at creation, gone when closed or when the process ends.
        self._spool = tempfile.TemporaryFile()
        self._chunk_sizes: list[int] = []
        self._finished = False

    # -- what Werkzeug calls -------------------------------------------------------------------

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self._finished:
            raise ValueError("upload already finished")
        self.size += len(data)
        if self.size > self.max_bytes:
            raise UploadTooLarge()
        self._sha256.update(data)
        self._pending += data
        # Seal only what is certainly not the last chunk: more bytes are already here.
        while len(self._pending) > CHUNK_BYTES:
            self._spool_chunk(self._sealer.seal_chunk(bytes(self._pending[:CHUNK_BYTES]), final=False))
            del self._pending[:CHUNK_BYTES]
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # Werkzeug rewinds the stream when the part is complete: that is the end of the file.
        if not self._finished:
            self._spool_chunk(self._sealer.seal_chunk(bytes(self._pending), final=True))
            self._pending.clear()
            self._finished = True
        return 0

    def readable(self) -> bool:
        return False

    def close(self) -> None:
        self._pending.clear()
        self._spool.close()
        super().close()

    # -- what the portal uses ------------------------------------------------------------------

    def _spool_chunk(self, sealed: bytes) -> None:
        self._spool.write(sealed)
        self._chunk_sizes.append(len(sealed))

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def header(self) -> bytes:
        return self._sealer.header

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def stored_bytes(self) -> int:
        return sum(self._chunk_sizes)

    def sealed_chunks(self) -> Iterator[bytes]:
        self._spool.seek(0)
        for size in self._chunk_sizes:
            yield self._spool.read(size)


@dataclass(frozen=True)
class AttachmentDetails:
    name: str
    content_type: str
    sha256: str
    size: int


def store_attachment(
    session: Session, *, report_id: int, content_key: crypto.ContentKey, upload: EncryptingUpload, uploaded_by: str
) -> Attachment:
    """Add a finished upload to a report in the caller's transaction (which commits it)."""
    if not upload.finished:
        upload.seek(0)
    details = {
        "name": upload.filename,
        "content_type": upload.content_type,
        "sha256": upload.sha256,
        "size": upload.size,
    }
    attachment = Attachment(
        report_id=report_id,
        file_key_sealed=crypto.seal(content_key, upload.file_key, FILE_KEY_PURPOSE),
        details_sealed=crypto.seal(
            content_key, json.dumps(details, ensure_ascii=False).encode("utf-8"), DETAILS_PURPOSE
        ),
        stream_header=upload.header,
        chunk_count=len(upload._chunk_sizes),
        stored_bytes=upload.stored_bytes,
        uploaded_by=uploaded_by,
    )
    session.add(attachment)
    session.flush()
    batch: list[dict[str, Any]] = []
    for position, data in enumerate(upload.sealed_chunks()):
        batch.append({"attachment_id": attachment.id, "position": position, "data": data})
        if len(batch) == _INSERT_BATCH:
            session.execute(insert(AttachmentChunk), batch)
            batch = []
    if batch:
        session.execute(insert(AttachmentChunk), batch)
    return attachment


def read_details(attachment: Attachment, content_key: crypto.ContentKey) -> AttachmentDetails:
    data = json.loads(crypto.open_sealed(content_key, attachment.details_sealed, DETAILS_PURPOSE))
    return AttachmentDetails(**data)


def _file_key(attachment: Attachment, content_key: crypto.ContentKey) -> bytes:
    return crypto.open_sealed(content_key, attachment.file_key_sealed, FILE_KEY_PURPOSE)


def _sealed_chunks(session: Session, attachment: Attachment) -> Iterator[bytes]:
    """The stored chunks in order, a few at a time; a gap or surplus is damage."""
    expected = 0
    while True:
        rows = session.execute(
            select(AttachmentChunk.position, AttachmentChunk.data)
            .where(AttachmentChunk.attachment_id == attachment.id, AttachmentChunk.position >= expected)
            .order_by(AttachmentChunk.position)
            .limit(_READ_BATCH)
        ).all()
        if not rows:
            break
        for position, data in rows:
            if position != expected:
                raise AttachmentDamaged(f"chunk {expected} is missing")
            yield data
            expected += 1
    if expected != attachment.chunk_count:
        raise AttachmentDamaged("the number of chunks is wrong")


def plaintext(session: Session, attachment: Attachment, content_key: crypto.ContentKey) -> Iterator[bytes]:
    """Decrypt a stored file chunk by chunk, failing loudly on any damage."""
    key = _file_key(attachment, content_key)
    try:
        yield from crypto.decrypt_stream(key, _with_header(attachment.stream_header, _sealed_chunks(session, attachment)))
    except crypto.CryptoError as exc:
        raise AttachmentDamaged(str(exc)) from exc


def _with_header(header: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield header
    yield from chunks


def verify(session: Session, attachment: Attachment, content_key: crypto.ContentKey) -> AttachmentDetails:
    """Check every chunk and the SHA-256 of the whole before a single byte is handed out."""
    details = read_details(attachment, content_key)
    digest = hashlib.sha256()
    size = 0
    for block in plaintext(session, attachment, content_key):
        digest.update(block)
        size += len(block)
    if digest.hexdigest() != details.sha256 or size != details.size:
        raise AttachmentDamaged("the file does not match its checksum")
    return details


def file_bytes_of(session: Session, report_id: int) -> int:
    """The total size of a report's files as sent, for the per-report limit.

    Each sealed chunk is its plaintext plus a 16-byte tag, so no decryption is needed.
    """
    return session.scalar(
        select(
            func.coalesce(func.sum(Attachment.stored_bytes - _TAG_BYTES * Attachment.chunk_count), 0)
        ).where(Attachment.report_id == report_id)
    ) or 0


def without_metadata(data: bytes) -> tuple[bytes, str] | None:
    """Re-encode an image without EXIF, GPS or other metadata; None if it is not an image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    formats = {"JPEG": ("image/jpeg", {"quality": 95}), "PNG": ("image/png", {}), "WEBP": ("image/webp", {"quality": 95}),
               "GIF": ("image/gif", {})}
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if kind not in formats:
                return None
            image = ImageOps.exif_transpose(image)  # keep the picture upright once EXIF is gone
            # Only the pixels cross over: no info dictionary, EXIF, XMP, ICC or text chunks.
            clean = Image.frombytes(image.mode, image.size, image.tobytes())
            if image.mode == "P" and image.getpalette():
                clean.putpalette(image.getpalette())
            out = io.BytesIO()
            mime, options = formats[kind]
            clean.save(out, format=kind, **options)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        return None
    return out.getvalue(), mime
