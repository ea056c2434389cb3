"""Uploads written once: each sealed chunk goes straight to its row, no temporary file is made, and
nothing is left behind by a form that fails, a stale token, a file too large, an upload cut off or
a killed server. Both ways of writing (in the request's transaction, as on PostgreSQL; in short
transactions, as on SQLite) are tried on whichever database the suite runs on."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import secrets
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator

import pytest
from flask import current_app
from sqlalchemy import func, select, text, update
from sqlalchemy.pool import QueuePool

from portal.db import db
from portal.reports import attachments, services
from portal.reports.models import Attachment, AttachmentChunk, Report
from portal.reports.receivers import Receivers
from tests.conftest import Factory, hidden_value, open_report_form, valid_report
from tests.followup import (
    intake_id,
    multipart,
    reporter_page,
    send_report_with_files,
    signed_in_reporter,
    submitted,
)
from tests.live import REPORT_FIELDS, LivePortal, Reporter, checked_values, unique_narrative

CHUNK = attachments.CHUNK_BYTES
MIB = 1024 * 1024
#: Three MiB: three batches of 16 chunks (the last one flagged final), two written while the body
#: is still arriving.
THREE_MIB_CHUNKS = 3 * MIB // CHUNK


@pytest.fixture(params=["in the request's transaction", "in short transactions"])
def writes(request, monkeypatch) -> list[object]:
    """Run the test with each way of writing an upload's chunks, on this suite's database; the
    list holds every writer made, one per file received for storing."""
    made: list[object] = []

    def forced(session, form_lifetime, receiver):  # noqa: ANN001, ANN202
        if request.param == "in the request's transaction":
            made.append(attachments.InRequestTransaction(session, form_lifetime, receiver))
        else:
            made.append(attachments.InShortTransactions(session.get_bind(), form_lifetime, receiver))
        return made[-1]

    monkeypatch.setattr(attachments, "writer_for", forced)
    return made


def committed() -> tuple[int, int, int]:
    """Reports, attachments and chunks as any other connection sees them: what was committed."""
    with db.engine.connect() as connection:
        return tuple(
            connection.scalar(select(func.count()).select_from(model))
            for model in (Report, Attachment, AttachmentChunk)
        )


def in_this_session() -> tuple[int, int]:
    """Attachments and chunks as the request's own transaction sees them."""
    return tuple(
        db.session.scalar(select(func.count()).select_from(model)) for model in (Attachment, AttachmentChunk)
    )


def body_with(fields: dict[str, object], parts: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart body whose files are (field name, file name, content)."""
    boundary = f"----portaltest{secrets.token_hex(8)}"
    chunks = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{item}\r\n'.encode())
    for field, filename, content in parts:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def report_fields(client) -> dict[str, object]:  # noqa: ANN001
    _html, tokens = open_report_form(client)
    return {**tokens, **valid_report(organizations=[str(intake_id())])}


# --- no temporary file -----------------------------------------------------------------------


def files_held_open() -> set[str]:
    """The regular files this process has open, the database's own aside: SQLite's files, and
    its statement journal (etilqs_*, page images of a transaction's b-tree, never an upload); and
    the empty lock file that says this process is receiving uploads."""
    database = db.engine.url.database or "\0"
    receiving = str(current_app.extensions["portal.receivers"].folder)
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            regular = stat.S_ISREG(os.stat(f"/proc/self/fd/{fd}").st_mode)
        except OSError:  # closed meanwhile
            continue
        if regular and not target.startswith((database, receiving)) and not os.path.basename(target).startswith("etilqs_"):
            held.add(target)
    return held


def test_an_upload_makes_no_temporary_file(client, factory, monkeypatch, writes):
    factory.portal_ready()
    made = []
    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp", "mkdtemp"):
        real = getattr(tempfile, name)

        def recording(*args, _real=real, _name=name, **kwargs):  # noqa: ANN002, ANN003, ANN202
            made.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(tempfile, name, recording)
    held_before = files_held_open()
    held_while_attaching = []
    attach = services.store_attachment

    def attach_after_looking(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        held_while_attaching.append(files_held_open() - held_before)
        return attach(*args, **kwargs)

    monkeypatch.setattr(services, "store_attachment", attach_after_looking)

    response = send_report_with_files(client, [("big.bin", os.urandom(3 * MIB), "application/octet-stream")])

    assert response.status_code == 200
    assert made == []
    # The whole file has arrived and been written: no spool of it is open anywhere.
    assert held_while_attaching == [set()]
    assert committed()[1:] == (1, THREE_MIB_CHUNKS)


# --- where the chunks are before the report is stored ------------------------------------------


def test_in_the_requests_transaction_only_the_request_sees_the_chunks_and_a_rollback_takes_them(
    client, factory, monkeypatch
):
    monkeypatch.setattr(attachments, "writer_for", attachments.InRequestTransaction)
    factory.portal_ready()
    seen = {}
    attach = services.store_attachment

    def attach_then_fail(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen["this transaction"] = in_this_session()
        seen["any other connection"] = committed()[1:]
        attach(*args, **kwargs)
        raise RuntimeError("the report's transaction fails after the file was attached")

    monkeypatch.setattr(services, "store_attachment", attach_then_fail)

    response = send_report_with_files(client, [("big.bin", os.urandom(3 * MIB), "application/octet-stream")])

    assert response.status_code == 500
    assert seen == {"this transaction": (1, THREE_MIB_CHUNKS), "any other connection": (0, 0)}
    assert committed() == (0, 0, 0)


def test_in_short_transactions_the_chunks_are_committed_unattached_and_keyless_then_deleted(
    client, factory, monkeypatch
):
    monkeypatch.setattr(
        attachments, "writer_for",
        lambda session, lifetime, receiver: attachments.InShortTransactions(session.get_bind(), lifetime, receiver),
    )
    factory.portal_ready()
    seen = {}
    attach = services.store_attachment

    def attach_then_fail(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen["any other connection"] = committed()[1:]
        with db.engine.connect() as connection:
            seen["unattached"] = connection.execute(
                select(Attachment.report_id, Attachment.file_key_sealed, Attachment.details_sealed)
            ).all()
        attach(*args, **kwargs)
        raise RuntimeError("the report's transaction fails after the file was attached")

    monkeypatch.setattr(services, "store_attachment", attach_then_fail)

    response = send_report_with_files(client, [("big.bin", os.urandom(3 * MIB), "application/octet-stream")])

    assert response.status_code == 500
    assert seen == {"any other connection": (1, THREE_MIB_CHUNKS), "unattached": [(None, None, None)]}
    assert committed() == (0, 0, 0)


# --- a request that ends without storing its files keeps none -----------------------------------


def test_a_report_that_fails_validation_keeps_no_file(client, factory, writes):
    factory.portal_ready()
    fields = {**report_fields(client), "narrative": ""}
    body, content_type = body_with(fields, [("evidence", "big.bin", os.urandom(2 * MIB))])

    response = client.post("/report", data=body, content_type=content_type)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "files are not kept when the form has to be corrected" in html
    assert "A man who said he was from the public security bureau." in html  # kept as typed
    assert committed() == (0, 0, 0)
    assert in_this_session() == (0, 0)


def test_a_report_with_a_stale_csrf_token_keeps_no_file(client, factory, writes):
    factory.portal_ready()
    fields = {**report_fields(client), "csrf_token": "stale"}
    body, content_type = body_with(fields, [("evidence", "big.bin", os.urandom(2 * MIB))])

    response = client.post("/report", data=body, content_type=content_type)

    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)
    assert committed() == (0, 0, 0)
    assert in_this_session() == (0, 0)


def test_a_file_over_the_limit_keeps_nothing_of_what_was_written_before(make_app, writes):
    app = make_app(PORTAL_MAX_FILE_BYTES=2 * MIB + 1, PORTAL_MAX_REPORT_FILES_BYTES=10 * MIB)
    with app.app_context():
        Factory(app).portal_ready()
        client = app.test_client()
        # Two MiB are written before the byte that crosses the limit arrives.
        response = send_report_with_files(client, [("big.bin", os.urandom(3 * MIB), "application/octet-stream")])

        assert response.status_code == 413
        assert committed() == (0, 0, 0)
        assert in_this_session() == (0, 0)


def test_files_over_the_report_total_keep_nothing(make_app, writes):
    app = make_app(PORTAL_MAX_FILE_BYTES=2 * MIB, PORTAL_MAX_REPORT_FILES_BYTES=5 * MIB // 2)
    with app.app_context():
        Factory(app).portal_ready()
        client = app.test_client()
        files = [(f"part{n}.bin", os.urandom(3 * MIB // 2), "application/octet-stream") for n in (1, 2)]

        response = send_report_with_files(client, files)

        assert response.status_code == 422
        assert committed() == (0, 0, 0)


def test_a_file_under_another_field_name_is_not_kept_with_the_report(client, factory, writes):
    factory.portal_ready()
    kept, stray = os.urandom(CHUNK + 10), os.urandom(2 * MIB)
    body, content_type = body_with(
        report_fields(client), [("evidence", "kept.bin", kept), ("something_else", "stray.bin", stray)]
    )

    response = client.post("/report", data=body, content_type=content_type)

    assert response.status_code == 200
    assert committed() == (1, 1, 2)  # the report, and the evidence file's two chunks only
    (report_id,) = db.session.scalars(select(Attachment.report_id))
    assert report_id is not None


def test_files_sent_to_a_form_that_takes_none_are_not_stored(client, factory, writes):
    factory.portal_ready()
    _report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    token = hidden_value(reporter_page(client), "csrf_token")
    body, content_type = multipart(
        {"csrf_token": token, "text": "A message, and a file the message form has no use for."},
        [("sneaked.bin", os.urandom(2 * MIB), "application/octet-stream")],
    )

    response = client.post("/follow-up/messages", data=body, content_type=content_type)

    assert response.status_code == 303
    assert writes == []  # not even sealed: dropped as it arrived
    assert committed() == (1, 0, 0)


def test_follow_up_files_are_attached_after_the_session_is_resumed(client, factory, writes):
    """Resuming the reporter's session commits; the files must not be dropped by that commit."""
    factory.portal_ready()
    report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    token = hidden_value(reporter_page(client), "csrf_token")
    body, content_type = multipart({"csrf_token": token}, [("later.bin", os.urandom(3 * MIB), "application/octet-stream")])

    response = client.post("/follow-up/files", data=body, content_type=content_type)

    assert response.status_code == 303
    assert committed() == (1, 1, THREE_MIB_CHUNKS)
    assert db.session.scalar(select(Attachment.report_id)) == report_id


def test_a_follow_up_upload_with_a_stale_token_keeps_no_file(client, factory, writes):
    factory.portal_ready()
    _report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    body, content_type = multipart({"csrf_token": "stale"}, [("later.bin", os.urandom(2 * MIB), "application/octet-stream")])

    response = client.post("/follow-up/files", data=body, content_type=content_type)

    assert response.status_code == 400
    assert committed() == (1, 0, 0)


# --- the pieces ------------------------------------------------------------------------------


class Recording:
    """A chunk writer that keeps what it is given, to see how the upload hands it over."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, int]] = []
        self.finished = 0

    def write(self, upload, first_position, chunks) -> None:  # noqa: ANN001
        upload.attachment_id = upload.attachment_id or 1
        self.batches.append((first_position, len(chunks)))

    def finish(self, upload) -> None:  # noqa: ANN001
        self.finished += 1

    def abandon(self, upload) -> None:  # noqa: ANN001
        raise AssertionError("not broken off")

    def discard(self, attachment_id: int) -> None:
        raise AssertionError("not discarded")


def test_an_upload_hands_over_a_batch_at_a_time_in_order():
    writer = Recording()
    upload = attachments.EncryptingUpload("a.bin", None, 10 * MIB, writer)
    for _ in range(5 * MIB // 8192 + 3):  # Werkzeug writes what each read of the body brought
        upload.write(os.urandom(8192))
    upload.seek(0)

    sizes = [count for _first, count in writer.batches]
    assert max(sizes) == 16  # memory holds one batch of sealed chunks, whatever the file's size
    assert [first for first, _count in writer.batches] == [16 * n for n in range(len(sizes))]
    assert sum(sizes) == upload.chunk_count == -(-upload.size // CHUNK)
    assert writer.finished == 1


def test_a_commit_before_the_file_is_attached_drops_it(app, factory):
    factory.portal_ready()
    writer = attachments.InRequestTransaction(db.session(), dt.timedelta(hours=1))
    upload = attachments.EncryptingUpload("a.bin", None, 10 * MIB, writer)
    upload.write(os.urandom(3 * CHUNK + 1))
    upload.seek(0)
    assert in_this_session() == (1, 4)

    db.session.commit()

    assert committed() == (0, 0, 0)
    with pytest.raises(attachments.UploadLost):
        attachments.store_attachment(
            db.session, report_id=1, content_key=b"\0" * 32, upload=upload, uploaded_by="reporter"
        )


@pytest.mark.parametrize("next_writes", ["in the request's transaction", "in short transactions"])
def test_an_abandoned_unattached_file_is_deleted_by_the_next_upload_a_recent_one_is_not(
    client, factory, next_writes
):
    """Rows a crash left while uploads went in short transactions: the next upload, of either
    kind, deletes those older than twice the form lifetime."""
    factory.portal_ready()
    report_id, _receipt = submitted(client)
    lifetime = dt.timedelta(minutes=10)
    short = attachments.InShortTransactions(db.engine, lifetime)

    def upload_one(writer) -> attachments.EncryptingUpload:  # noqa: ANN001
        upload = attachments.EncryptingUpload("a.bin", None, MIB, writer)
        upload.write(os.urandom(CHUNK + 1))
        upload.seek(0)
        return upload

    abandoned, recent = upload_one(short), upload_one(short)
    with db.engine.begin() as connection:  # older than twice the form lifetime
        connection.execute(
            update(Attachment)
            .where(Attachment.id == abandoned.attachment_id)
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=21))
        )
    if next_writes == "in short transactions":
        newest = upload_one(short)
    else:
        newest = upload_one(attachments.InRequestTransaction(db.session(), lifetime))
        attachments.store_attachment(
            db.session, report_id=report_id, content_key=b"\0" * 32, upload=newest, uploaded_by="reporter"
        )
        db.session.commit()

    with db.engine.connect() as connection:
        left = set(connection.scalars(select(Attachment.id)))
        chunks_of_abandoned = connection.scalar(
            select(func.count()).where(AttachmentChunk.attachment_id == abandoned.attachment_id)
        )
    assert left == {recent.attachment_id, newest.attachment_id}
    assert chunks_of_abandoned == 0
    recent.discard()
    newest.discard()  # deleted if it is still unattached, kept if attached
    assert committed()[1:] == ((0, 0) if next_writes == "in short transactions" else (1, 2))


HOLD_A_RECEIVER = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from portal.reports.receivers import Receivers\n"
    "receivers = Receivers(Path(sys.argv[1]))\n"
    "print(receivers.mine(), flush=True)\n"
    "time.sleep(120)\n"
)


def test_only_what_dead_receivers_were_receiving_is_deleted(app, factory, tmp_path):
    factory.portal_ready()
    folder = tmp_path / "receiving"
    receivers = Receivers(folder)
    other = subprocess.Popen([sys.executable, "-c", HOLD_A_RECEIVER, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        doomed = other.stdout.readline().strip()
        elsewhere = "0123456789abcdef"  # a receiver on another machine: no lock file here
        lifetime = dt.timedelta(hours=1)
        files = {}
        for name in (doomed, receivers.mine(), elsewhere):
            files[name] = attachments.EncryptingUpload(
                "a.bin", None, MIB, attachments.InShortTransactions(db.engine, lifetime, name)
            )
            files[name].write(os.urandom(100))
            files[name].seek(0)

        assert receivers.dead([doomed, receivers.mine(), elsewhere]) == []
        assert attachments.delete_left_by_dead_receivers(db.engine, receivers) == 0
        other.kill()
        other.wait()
        stale = folder / "aaaaaaaaaaaaaaaa.lock"  # a process that died receiving nothing
        stale.touch()
        assert set(receivers.dead([doomed, receivers.mine(), elsewhere])) == {"aaaaaaaaaaaaaaaa", doomed}

        assert attachments.delete_left_by_dead_receivers(db.engine, receivers) == 1
    finally:
        other.kill()
        other.wait()
        other.stdout.close()
    with db.engine.connect() as connection:
        left = set(connection.scalars(select(Attachment.id)))
    assert left == {files[receivers.mine()].attachment_id, files[elsewhere].attachment_id}
    assert not (folder / f"{doomed}.lock").exists()
    assert not stale.exists()
    for upload in files.values():
        upload.discard()


# --- against a real server ---------------------------------------------------------------------


class UploadOnTheWire:
    """A report with one evidence file, its body sent a piece at a time on a raw connection."""

    def __init__(self, base: str, size: int) -> None:
        reporter = Reporter(base)
        page = reporter.get("/report")
        fields = [
            ("csrf_token", hidden_value(page.body, "csrf_token")),
            ("form_token", hidden_value(page.body, "form_token")),
            ("narrative", unique_narrative("with a large file")),
            *REPORT_FIELDS,
            *(("organizations", org) for org in checked_values(page.body, "organizations")),
        ]
        boundary = uuid.uuid4().hex
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields
        ) + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="evidence"; filename="large.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.remaining = size
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.conn.putrequest("POST", "/report")
        self.conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        self.conn.putheader("Content-Length", str(len(head.encode()) + size + len(self.tail)))
        self.conn.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in reporter.cookies.items()))
        self.conn.endheaders(head.encode())

    def send(self, size: int) -> None:
        size = min(size, self.remaining)
        self.conn.send(os.urandom(size))
        self.remaining -= size

    def finish(self) -> int:
        self.send(self.remaining)
        self.conn.send(self.tail)
        response = self.conn.getresponse()
        response.read()
        self.conn.close()
        return response.status

    def cut_off(self) -> None:
        self.conn.close()


@pytest.fixture
def live(tmp_path, live_database_url) -> Iterator[LivePortal]:
    """`portal run` on a database of its own."""
    portal = LivePortal(tmp_path / "portal", database_url=live_database_url).set_up()
    with portal.start():
        yield portal


COPYING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND query LIKE 'COPY attachment_chunks%' AND state = 'active'"
)


def stored(portal: LivePortal) -> dict[str, object]:
    """What the server's database holds, read from this process."""
    app = portal.app()
    with app.app_context():
        found = {
            "reports": db.session.scalar(select(func.count()).select_from(Report)),
            "attachments": db.session.execute(
                select(Attachment.report_id, Attachment.file_key_sealed.is_not(None))
            ).all(),
            "chunks": db.session.scalar(select(func.count()).select_from(AttachmentChunk)),
            "copying": db.session.scalar(COPYING) if db.engine.dialect.name == "postgresql" else 0,
        }
        db.session.remove()
        db.engine.dispose()
    return found


def wait_for(condition, timeout: float = 20):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def chunks_on_their_way(portal: LivePortal) -> bool:
    """Chunks of the upload are being written: committed and unattached in short transactions,
    or (in the request's transaction, invisible from here) the server is in its COPY."""
    now = stored(portal)
    return now["chunks"] >= 16 or now["copying"] > 0


@pytest.mark.slow
def test_an_upload_cut_off_mid_body_leaves_nothing(live):
    upload = UploadOnTheWire(live.url, 8 * MIB)
    upload.send(3 * MIB)
    wait_for(lambda: chunks_on_their_way(live))

    upload.cut_off()

    wait_for(lambda: stored(live) == {"reports": 0, "attachments": [], "chunks": 0, "copying": 0})
    assert "Traceback" not in live.log_file.read_text(errors="replace")


@pytest.mark.slow
def test_a_killed_server_leaves_nothing_once_the_portal_is_up_again(live, live_database_url):
    upload = UploadOnTheWire(live.url, 8 * MIB)
    upload.send(3 * MIB)
    wait_for(lambda: chunks_on_their_way(live))

    live.kill()
    upload.cut_off()

    after_kill = stored(live)
    assert after_kill["reports"] == 0
    # In the request's transaction (PostgreSQL) nothing was committed. In short transactions
    # (SQLite) the committed chunks stay, but their row has no report and no key: the key was
    # only in the dead process.
    if live_database_url is None:
        assert after_kill["chunks"] >= 16
    else:
        assert after_kill["chunks"] == 0
    assert all(report_id is None and not has_key for report_id, has_key in after_kill["attachments"])

    live.start()  # its first request finds the dead receiver and deletes what it left

    assert stored(live) == {"reports": 0, "attachments": [], "chunks": 0, "copying": 0}
    receipt = Reporter(live.url).submit_report(unique_narrative(), files=[("small.txt", b"a later file")])
    assert live.narrative_opened_by(receipt) is not None
    assert stored(live)["chunks"] == 1


@pytest.mark.slow
def test_a_slow_upload_does_not_hold_up_another_reporter(live):
    """A reporter on a slow network holds no lock that another reporter's submission waits on."""
    upload = UploadOnTheWire(live.url, 4 * MIB)
    upload.send(2 * MIB)
    wait_for(lambda: chunks_on_their_way(live))

    started = time.monotonic()
    receipt = Reporter(live.url).submit_report(unique_narrative("while a file trickles in"))
    other_took = time.monotonic() - started
    for _ in range(6):  # the upload goes on, slowly, for a few seconds more
        upload.send(64 * 1024)
        time.sleep(0.5)
    upload_status = upload.finish()

    # Waiting on the upload's lock would take SQLite's whole 30 s busy wait, then fail.
    assert other_took < 10, f"the other reporter waited {other_took:.1f} s"
    assert live.narrative_opened_by(receipt) is not None
    assert upload_status == 200
    assert stored(live)["reports"] == 2


def test_a_pool_with_as_many_connections_out_as_it_keeps_is_busy():
    pool = QueuePool(lambda: sqlite3.connect(":memory:"), pool_size=2, max_overflow=10)
    first, second = pool.connect(), pool.connect()
    assert attachments._pool_is_busy(pool)
    second.close()
    assert not attachments._pool_is_busy(pool)
    first.close()


def test_uploads_stop_holding_connections_once_the_pool_is_busy(app):
    """On PostgreSQL an upload in the request's transaction holds a connection; enough slow ones
    would leave none for anyone else, so past the pool's size they write in short transactions."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite always writes in short transactions")
    lifetime = dt.timedelta(hours=1)
    assert isinstance(attachments.writer_for(db.session(), lifetime), attachments.InRequestTransaction)
    held = [db.engine.connect() for _ in range(db.engine.pool.size())]
    try:
        assert isinstance(attachments.writer_for(db.session(), lifetime), attachments.InShortTransactions)
    finally:
        for connection in held:
            connection.close()
