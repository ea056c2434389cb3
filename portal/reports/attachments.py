"""Evidence files: sealed as they stream in, written once as chunk rows, checked whole before download.

An upload never touches the disk in the clear, and its bytes are written once, to their final
place. Werkzeug hands each uploaded file's bytes to an :class:`EncryptingUpload` as they arrive
(see ``portal.web.PortalRequest``); it seals them at once, 64 KiB at a time, under a fresh per-file
key, and writes the sealed chunks as ``attachment_chunks`` rows, a batch of 16 (1 MiB) at a time,
so memory stays flat however large the file. They hang off an *unattached* ``attachments`` row:
the report that will own them does not exist yet. When the view stores the report (or the
follow-up change), :func:`store_attachment` attaches the file in that same transaction: the row
gets its report, the per-file key sealed under the report's content key, and the sealed name,
type, size and SHA-256. Until then the file's key exists only in this process's memory, so an
unattached chunk can never be read, by anyone, whatever happens to the process.

Where the batches are written depends on the database, because of locking:

- PostgreSQL, :class:`InRequestTransaction`: in the request's own transaction, the one that will
  store the report, a file's chunks in one ``COPY`` that the server works through while the next
  chunk is parsed. Row locks let every other reporter insert meanwhile. A form that fails
  validation, a stale CSRF token, a file over the limit, a client that goes away, a killed
  process: the transaction is never committed, and leaves nothing. The price is one pooled
  connection per upload in progress, idle in transaction while the client sends (from the file's
  first MiB to the end of the request). So that slow senders cannot take every connection, an
  upload that begins while as many connections are out as the pool keeps is written the SQLite
  way instead (:func:`writer_for`); docs/operations.md says how to size the pool.
- SQLite, :class:`InShortTransactions`: a database file has one write lock. A transaction that
  waited on a reporter's network (20 MiB over Tor at 50 KB/s is seven minutes) would hold it all
  that time, and every other submission would wait out the 30 s busy timeout and fail (measured
  with bench/upload_concurrency.py). So each batch, already in memory, is committed in a
  transaction of its own that holds the lock for milliseconds; only attaching the file belongs to
  the report's transaction. A request that ends without attaching its files deletes them
  (``portal.web``). After a crash they stay behind, unreadable, until the next process to start
  serving sees that the process receiving them is dead (``portal.reports.receivers``: a lock
  that dies with it) and deletes them at its first request. Rows no process on this machine can
  vouch for are deleted by the next upload, of either kind, once older than twice the form time
  limit: by then no form that could still attach them can be alive.

Either way a commit of the request's session never carries an unattached file with it: the
report's transaction attaches the files it was sent, and anything else received is dropped in
that commit (:func:`_drop_unattached`), so a file sent under an unexpected field name cannot
linger.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, Delete, Engine, Pool, delete, event, func, insert, select, update
from sqlalchemy.orm import Session

from portal import crypto
from portal.db import utcnow
from portal.reports.models import Attachment, AttachmentChunk
from portal.reports.receivers import Receivers

CHUNK_BYTES = crypto.STREAM_CHUNK_BYTES
FILE_KEY_PURPOSE = b"portal attachment key v1"
DETAILS_PURPOSE = b"portal attachment details v1"
_TAG_BYTES = 16  # AES-GCM's tag on every sealed chunk
_INSERT_BATCH = 16  # chunks per INSERT: 1 MiB, so memory stays flat however large the file
_READ_BATCH = 16
#: session.info key: this session's unattached rows, dropped by its next commit.
_UNATTACHED = "portal.unattached_attachments"

_attachments = Attachment.__table__
_chunks = AttachmentChunk.__table__


class UploadTooLarge(Exception):
    """A file, or a report's files together, exceed the configured limit."""


class AttachmentDamaged(Exception):
    """A stored file failed verification: a chunk was altered, lost, repeated or moved."""


class UploadLost(Exception):
    """A received file is no longer there to attach: dropped by an earlier commit, or abandoned."""


class _BrokenOff(Exception):
    """What the server is told when a file's COPY is ended part way."""


class ChunkWriter(Protocol):
    """Where an upload's sealed chunks go, a batch at a time."""

    def write(self, upload: EncryptingUpload, first_position: int, chunks: Sequence[bytes]) -> None:
        """Store these chunks (the first batch also makes the upload's row)."""

    def finish(self, upload: EncryptingUpload) -> None:
        """The file is complete: every chunk is stored once this returns."""

    def abandon(self, upload: EncryptingUpload) -> None:
        """The body was broken off in this file: stop, leaving the connection usable."""

    def discard(self, attachment_id: int) -> None:
        """The request is over: delete the row and its chunks unless they were attached."""


# --- the rows --------------------------------------------------------------------------------


def _begin_unattached(executor: Session | Connection, header: bytes, receiver: str | None) -> int:
    """Insert the row an upload's chunks hang off, before anything is known but its header and
    which process is receiving it."""
    return executor.execute(
        insert(_attachments)
        .values(stream_header=header, chunk_count=0, stored_bytes=0, created_at=utcnow(), receiver=receiver)
        .returning(_attachments.c.id)
    ).scalar_one()


def _insert_chunks(
    executor: Session | Connection, attachment_id: int, first_position: int, chunks: Sequence[bytes]
) -> None:
    executor.execute(
        insert(_chunks),
        [
            {"attachment_id": attachment_id, "position": first_position + offset, "data": data}
            for offset, data in enumerate(chunks)
        ],
    )


def _unattached(*ids: int) -> Delete:
    """Delete these rows if still unattached; their chunks go with them (ON DELETE CASCADE)."""
    return delete(_attachments).where(_attachments.c.id.in_(ids), _attachments.c.report_id.is_(None))


# --- PostgreSQL: the request's transaction -----------------------------------------------------


class InRequestTransaction:
    """Write an upload's rows in the request's own transaction: uncommitted, they are nothing.

    On PostgreSQL through psycopg the chunks of a file go in one ``COPY``, opened with its first
    batch and ended with the file: the server stores each chunk while the next is parsed and
    sealed, instead of the two taking turns as an ``INSERT`` per batch would make them.
    """

    def __init__(self, session: Session, form_lifetime: dt.timedelta, receiver: str | None = None) -> None:
        self.session = session
        self.abandoned_after = _abandoned_after(form_lifetime)
        self.receiver = receiver
        self._copy: _ChunkCopy | None = None
        if not event.contains(session, "before_commit", _drop_unattached):
            event.listen(session, "before_commit", _drop_unattached)
            event.listen(session, "after_rollback", _forget_unattached)

    def write(self, upload: EncryptingUpload, first_position: int, chunks: Sequence[bytes]) -> None:
        if upload.attachment_id is None:
            # Rows left by a crash while uploads were written in short transactions (the pool was
            # busy); rows another request is deleting are skipped, never waited for.
            self.session.execute(_abandoned_before(utcnow() - self.abandoned_after))
            upload.attachment_id = _begin_unattached(self.session, upload.header, self.receiver)
            self.session.info.setdefault(_UNATTACHED, set()).add(upload.attachment_id)
            self._copy = _start_copy(self.session)
        if self._copy is None:
            _insert_chunks(self.session, upload.attachment_id, first_position, chunks)
            return
        for offset, data in enumerate(chunks):
            self._copy.write_row((upload.attachment_id, first_position + offset, data))

    def finish(self, upload: EncryptingUpload) -> None:
        self._end_copy(None)

    def abandon(self, upload: EncryptingUpload) -> None:
        # The server is told the COPY failed, and the transaction is rolled back with the request.
        # Ending it may fail too (the connection may be what broke): the request has failed already.
        with contextlib.suppress(Exception):
            self._end_copy(_BrokenOff("the request body was broken off"))

    def discard(self, attachment_id: int) -> None:
        """Nothing to do: the request's transaction was rolled back, and the rows with it."""

    def _end_copy(self, failure: BaseException | None) -> None:
        copy, self._copy = self._copy, None
        if copy is not None:
            copy.end(failure)


class _ChunkCopy:
    """A binary COPY into the chunks table on the session's psycopg connection.

    Until it is ended the connection can do nothing else, not even roll back, so it is ended on
    every path: with the file, when the body breaks off, or at once if starting it fails.
    """

    def __init__(self, session: Session) -> None:
        cursor = session.connection().connection.dbapi_connection.cursor()
        self._open = contextlib.ExitStack()
        try:
            self._copy = self._open.enter_context(
                cursor.copy("COPY attachment_chunks (attachment_id, position, data) FROM STDIN (FORMAT BINARY)")
            )
            self._copy.set_types(["int4", "int4", "bytea"])
        except BaseException as exc:
            self._open.__exit__(type(exc), exc, exc.__traceback__)
            raise

    def write_row(self, row: tuple[int, int, bytes]) -> None:
        self._copy.write_row(row)

    def end(self, failure: BaseException | None) -> None:
        self._open.__exit__(type(failure) if failure else None, failure, None)


def _start_copy(session: Session) -> _ChunkCopy | None:
    """A COPY for the chunks on PostgreSQL through psycopg; None elsewhere (INSERTs instead)."""
    if session.get_bind().dialect.driver != "psycopg":
        return None
    return _ChunkCopy(session)


def _drop_unattached(session: Session) -> None:
    """Before a commit: delete what this session received but did not attach."""
    ids = session.info.pop(_UNATTACHED, None)
    if ids:
        session.execute(_unattached(*ids))


def _forget_unattached(session: Session) -> None:
    # Rolled back, the rows are gone; their ids (which SQLite may hand out again) must not be
    # deleted by a later commit.
    session.info.pop(_UNATTACHED, None)


# --- SQLite: a short transaction per batch -----------------------------------------------------


class InShortTransactions:
    """Write each batch in a transaction of its own, committed at once (SQLite's one write lock)."""

    def __init__(self, engine: Engine, form_lifetime: dt.timedelta, receiver: str | None = None) -> None:
        self.engine = engine
        self.abandoned_after = _abandoned_after(form_lifetime)
        self.receiver = receiver

    def write(self, upload: EncryptingUpload, first_position: int, chunks: Sequence[bytes]) -> None:
        with self.engine.begin() as connection:
            if upload.attachment_id is None:
                connection.execute(_abandoned_before(utcnow() - self.abandoned_after))
                upload.attachment_id = _begin_unattached(connection, upload.header, self.receiver)
            _insert_chunks(connection, upload.attachment_id, first_position, chunks)

    def finish(self, upload: EncryptingUpload) -> None:
        """Nothing to do: every batch was committed as it came."""

    def abandon(self, upload: EncryptingUpload) -> None:
        """Nothing to do: no transaction is left open between batches."""

    def discard(self, attachment_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(_unattached(attachment_id))


def _abandoned_after(form_lifetime: dt.timedelta) -> dt.timedelta:
    # An upload starts after its form was served and is attached only if the form's CSRF token
    # is still valid once the body is in; one begun more than a form lifetime ago never will be.
    # Twice that leaves a whole lifetime for the slowest view, and for clocks.
    return 2 * form_lifetime


def _abandoned_before(cutoff: dt.datetime) -> Delete:
    """Delete unattached rows begun before `cutoff`, with their chunks; on PostgreSQL skipping
    any another transaction has locked, so that a sweep never waits on a long upload."""
    abandoned = (
        select(_attachments.c.id)
        .where(_attachments.c.report_id.is_(None), _attachments.c.created_at < cutoff)
        .with_for_update(skip_locked=True)
    )
    return delete(_attachments).where(_attachments.c.id.in_(abandoned))


def writer_for(session: Session, form_lifetime: dt.timedelta, receiver: str | None = None) -> ChunkWriter:
    """How this database takes an upload's chunks (see the module docstring for why).

    `receiver` names this process (``portal.reports.receivers``), so that if it dies, the next
    process to start deletes what it was receiving; without one, only the time-based sweep can.
    """
    engine = session.get_bind()
    if engine.dialect.name == "sqlite" or _pool_is_busy(engine.pool):
        return InShortTransactions(engine, form_lifetime, receiver)
    return InRequestTransaction(session, form_lifetime, receiver)


def delete_left_by_dead_receivers(engine: Engine, receivers: Receivers) -> int:
    """Delete the unattached rows of every receiving process on this machine that has died;
    return how many files went. Safe beside live processes: only the dead are touched."""
    with engine.connect() as connection:
        names = connection.scalars(
            select(_attachments.c.receiver)
            .where(_attachments.c.report_id.is_(None), _attachments.c.receiver.is_not(None))
            .distinct()
        ).all()
    dead = receivers.dead(names)
    deleted = 0
    if dead:
        with engine.begin() as connection:
            deleted = connection.execute(
                delete(_attachments).where(_attachments.c.report_id.is_(None), _attachments.c.receiver.in_(dead))
            ).rowcount
    for name in dead:
        receivers.forget(name)
    return deleted


def _pool_is_busy(pool: Pool) -> bool:
    """As many connections out as the pool keeps: an upload in the request's transaction would
    hold one for as long as its sender likes, so enough slow senders would leave none for anyone
    else (measured: 16 slow uploads on the threaded server and every other request failed)."""
    checked_out, size = getattr(pool, "checkedout", None), getattr(pool, "size", None)
    return checked_out is not None and size is not None and checked_out() >= size()


# --- the upload ------------------------------------------------------------------------------


class EncryptingUpload(io.RawIOBase):
    """A write-only sink for one uploaded file: sealed on arrival, written once, as chunk rows."""

    def __init__(
        self, filename: str | None, content_type: str | None, max_bytes: int, writer: ChunkWriter
    ) -> None:
        super().__init__()
        self.filename = filename or ""
        self.content_type = content_type or "application/octet-stream"
        self.max_bytes = max_bytes
        self.size = 0
        self.file_key = crypto.new_content_key()
        self.attachment_id: int | None = None
        self.chunk_count = 0
        self.stored_bytes = 0
        self._writer = writer
        self._sealer = crypto.StreamSealer(self.file_key)
        self._sha256 = hashlib.sha256()
        self._pending = bytearray()
        self._batch: list[bytes] = []
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
            self._add(self._sealer.seal_chunk(bytes(self._pending[:CHUNK_BYTES]), final=False))
            del self._pending[:CHUNK_BYTES]
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # Werkzeug rewinds the stream when the part is complete: that is the end of the file.
        if not self._finished:
            self._add(self._sealer.seal_chunk(bytes(self._pending), final=True))
            self._pending.clear()
            self._write_batch()
            self._writer.finish(self)
            self._finished = True
        return 0

    def readable(self) -> bool:
        return False

    def close(self) -> None:
        self._pending.clear()
        self._batch.clear()
        super().close()

    # -- what the portal uses ------------------------------------------------------------------

    def _add(self, sealed: bytes) -> None:
        self._batch.append(sealed)
        self.chunk_count += 1
        self.stored_bytes += len(sealed)
        if len(self._batch) == _INSERT_BATCH:
            self._write_batch()

    def _write_batch(self) -> None:
        if self._batch:
            self._writer.write(self, self.chunk_count - len(self._batch), self._batch)
            self._batch = []

    def stop_writing(self) -> None:
        """End writing a file whose body was broken off, so the connection is free again."""
        if not self._finished:
            self._writer.abandon(self)

    def discard(self) -> None:
        """Delete what was written, unless it was attached (call once the request's work is over)."""
        if self.attachment_id is not None:
            self._writer.discard(self.attachment_id)

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def header(self) -> bytes:
        return self._sealer.header

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()


@dataclass(frozen=True)
class AttachmentDetails:
    name: str
    content_type: str
    sha256: str
    size: int


def store_attachment(
    session: Session, *, report_id: int, content_key: crypto.ContentKey, upload: EncryptingUpload, uploaded_by: str
) -> int:
    """Attach a received file to a report in the caller's transaction (which commits it).

    The chunks are already in place; this seals the file's key and details under the report's
    content key and gives the row its report. Returns the attachment's id.
    """
    if not upload.finished:
        upload.seek(0)
    details = {
        "name": upload.filename,
        "content_type": upload.content_type,
        "sha256": upload.sha256,
        "size": upload.size,
    }
    attached = session.execute(
        update(_attachments)
        .where(_attachments.c.id == upload.attachment_id, _attachments.c.report_id.is_(None))
        .values(
            report_id=report_id,
            file_key_sealed=crypto.seal(content_key, upload.file_key, FILE_KEY_PURPOSE),
            details_sealed=crypto.seal(
                content_key, json.dumps(details, ensure_ascii=False).encode("utf-8"), DETAILS_PURPOSE
            ),
            chunk_count=upload.chunk_count,
            stored_bytes=upload.stored_bytes,
            uploaded_by=uploaded_by,
            receiver=None,  # attached: no longer anyone's to clean up
        )
    )
    if attached.rowcount != 1:
        raise UploadLost()
    return upload.attachment_id


def read_details(attachment: Attachment, content_key: crypto.ContentKey) -> AttachmentDetails:
    data = json.loads(crypto.open_sealed(content_key, attachment.details_sealed, DETAILS_PURPOSE))
    return AttachmentDetails(**data)


def _file_key(attachment: Attachment, content_key: crypto.ContentKey) -> bytes:
    return crypto.open_sealed(content_key, attachment.file_key_sealed, FILE_KEY_PURPOSE)


@dataclass(frozen=True)
class SealedFile:
    """What reading a stored file needs, loaded up front: plain values, no ORM object.

    A download's body is sent after the view has returned and its request's session is gone, so
    the stream must not reach back into that session (a lazy load there fails on a real server,
    though not under Flask's test client). It reads the chunks on a connection of its own.
    """

    attachment_id: int
    chunk_count: int
    stream_header: bytes
    file_key: bytes
    details: AttachmentDetails


def sealed_file(attachment: Attachment, content_key: crypto.ContentKey) -> SealedFile:
    try:
        return SealedFile(
            attachment_id=attachment.id,
            chunk_count=attachment.chunk_count,
            stream_header=attachment.stream_header,
            file_key=_file_key(attachment, content_key),
            details=read_details(attachment, content_key),
        )
    except (crypto.CryptoError, ValueError, TypeError) as exc:  # its sealed key or details are damaged
        raise AttachmentDamaged("the file's key or details do not open") from exc


def _sealed_chunks(executor: Session | Connection, sealed: SealedFile) -> Iterator[bytes]:
    """The stored chunks in order, a few at a time; a gap or surplus is damage."""
    expected = 0
    while True:
        rows = executor.execute(
            select(AttachmentChunk.position, AttachmentChunk.data)
            .where(AttachmentChunk.attachment_id == sealed.attachment_id, AttachmentChunk.position >= expected)
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
    if expected != sealed.chunk_count:
        raise AttachmentDamaged("the number of chunks is wrong")


def _plaintext(executor: Session | Connection, sealed: SealedFile) -> Iterator[bytes]:
    try:
        yield from crypto.decrypt_stream(
            sealed.file_key, _with_header(sealed.stream_header, _sealed_chunks(executor, sealed))
        )
    except crypto.CryptoError as exc:
        raise AttachmentDamaged(str(exc)) from exc


def plaintext(session: Session, attachment: Attachment, content_key: crypto.ContentKey) -> Iterator[bytes]:
    """Decrypt a stored file chunk by chunk, failing loudly on any damage."""
    return _plaintext(session, sealed_file(attachment, content_key))


def stream_plaintext(engine: Engine, sealed: SealedFile) -> Iterator[bytes]:
    """Decrypt a stored file for a response body, on a connection of its own.

    The connection goes back to the pool when the body is sent, or when the client goes away and
    the server closes the iterator.
    """
    with engine.connect() as connection:
        yield from _plaintext(connection, sealed)


def _with_header(header: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield header
    yield from chunks


def verify(session: Session, attachment: Attachment, content_key: crypto.ContentKey) -> SealedFile:
    """Check every chunk and the SHA-256 of the whole before a single byte is handed out."""
    sealed = sealed_file(attachment, content_key)
    digest = hashlib.sha256()
    size = 0
    for block in _plaintext(session, sealed):
        digest.update(block)
        size += len(block)
    if digest.hexdigest() != sealed.details.sha256 or size != sealed.details.size:
        raise AttachmentDamaged("the file does not match its checksum")
    return sealed


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
