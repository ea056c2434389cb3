"""Evidence files: never on disk in the clear, refused whole when tampered with, limited in size,
cleaned of metadata on request, and all or nothing when an upload is cut off."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from portal.db import db
from portal.reports import attachments, services
from portal.reports.models import Attachment, AttachmentChunk, Report
from tests.conftest import Factory, hidden_value
from tests.followup import (
    attachment_ids,
    download_link,
    multipart,
    report_body,
    reporter_page,
    reporter_post,
    send_report_with_files,
    signed_in_reporter,
    staff_page,
    submitted,
)

CHUNK = attachments.CHUNK_BYTES
DAMAGED = "This file cannot be opened safely"


def new_marker() -> bytes:
    return f"EVIDENCEMARK{secrets.token_hex(16)}".encode()


def stored_counts() -> tuple[int, int, int]:
    """How many reports, attachments and chunks the database holds."""
    db.session.expire_all()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Report, Attachment, AttachmentChunk)
    )


# --- plaintext never reaches the disk ---------------------------------------------------------


def file_holds(path: str, marker: bytes) -> bool:
    """Read in blocks that overlap by the marker's length, so one across a boundary is found too."""
    tail = b""
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            if marker in tail + block:
                return True
            tail = block[-(len(marker) - 1) :]
    return False


def temporary_traces(marker: bytes, since: float) -> list[str]:
    """Where the marker is, right now: any file under the temporary directory, and any file this
    process holds open there, deleted ones included (read back through /proc/self/fd).

    Files not written to since the test began cannot hold a marker made during it, so they are
    skipped: the directory is shared and large.
    """
    root = os.path.realpath(tempfile.gettempdir())
    found = []
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            try:
                status = os.lstat(path)
                if (
                    stat.S_ISREG(status.st_mode)
                    and status.st_mtime >= since
                    and file_holds(path, marker)
                ):
                    found.append(path)
            except OSError:  # gone meanwhile, or another user's
                continue
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(root + "/") and file_holds(f"/proc/self/fd/{fd}", marker):
                found.append(f"open file {fd}: {target}")
        except OSError:
            continue
    return found


def test_the_scanner_finds_a_marker_in_a_named_temporary_file():
    marker, since = new_marker(), time.time() - 2
    with tempfile.NamedTemporaryFile() as named:
        named.write(os.urandom(1024 * 1024 - 5) + marker)  # straddles the scanner's block boundary
        named.flush()

        assert named.name in temporary_traces(marker, since)


def test_the_scanner_finds_a_marker_in_a_deleted_temporary_file_still_open():
    marker, since = new_marker(), time.time() - 2
    with tempfile.TemporaryFile() as unlinked:  # no name in the directory at all
        unlinked.write(b"plain " + marker)
        unlinked.flush()

        assert any(trace.startswith("open file") for trace in temporary_traces(marker, since))


def database_blobs(app) -> list[tuple[str, bytes]]:
    """Every value of every row of every table; and on SQLite the database files themselves."""
    blobs = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()).all():
            for value in row:
                blobs.append(
                    (table.name, value if isinstance(value, bytes) else str(value).encode())
                )
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        db.session.remove()
        db.engine.dispose()  # close connections so everything is in the main file
        path = Path(url.database)
        for candidate in path.parent.iterdir():
            if candidate.name.startswith(path.name):
                blobs.append((candidate.name, candidate.read_bytes()))
    return blobs


def assert_no_trace(app, markers: list[bytes], since: float) -> None:
    for marker in markers:
        assert temporary_traces(marker, since) == []
        for where, blob in database_blobs(app):
            assert marker not in blob, f"marker found in {where}"
        for directory, _dirs, names in os.walk(app.instance_path):
            for name in names:
                assert not file_holds(os.path.join(directory, name), marker), (
                    f"marker found in {name}"
                )


def evidence_with(marker: bytes) -> bytes:
    """More than 1 MiB, which Werkzeug would by default spool to a temporary file, markers throughout."""
    return (
        marker
        + os.urandom(600_000)
        + marker
        + os.urandom(CHUNK - 7)
        + marker
        + os.urandom(600_000)
        + marker
    )


def test_a_report_upload_leaves_no_trace_on_disk_during_or_after_the_request(
    app, client, factory, monkeypatch
):
    factory.portal_ready()
    content_marker, name_marker = new_marker(), new_marker()
    evidence = evidence_with(content_marker)
    assert len(evidence) > 1024 * 1024
    since = time.time() - 2
    seen_while_storing: list[list[str]] = []
    store = services.store_attachment

    def store_after_looking(*args, **kwargs):
        # The whole file has arrived and been sealed; nothing is in the database yet.
        seen_while_storing.append(
            temporary_traces(content_marker, since) + temporary_traces(name_marker, since)
        )
        return store(*args, **kwargs)

    monkeypatch.setattr(services, "store_attachment", store_after_looking)
    name = f"{name_marker.decode()}.bin"
    response = send_report_with_files(client, [(name, evidence, "application/octet-stream")])

    assert response.status_code == 200, response.status_code
    assert seen_while_storing == [[]]
    assert stored_counts()[1:] == (1, -(-len(evidence) // CHUNK))  # one attachment, its chunks
    assert_no_trace(app, [content_marker, name_marker], since)


def test_a_follow_up_upload_leaves_no_trace_on_disk_during_or_after_the_request(
    app, client, factory, monkeypatch
):
    factory.portal_ready()
    _report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    marker = new_marker()
    evidence = evidence_with(marker)
    since = time.time() - 2
    seen_while_storing: list[list[str]] = []
    store = attachments.store_attachment

    def store_after_looking(*args, **kwargs):
        seen_while_storing.append(temporary_traces(marker, since))
        return store(*args, **kwargs)

    monkeypatch.setattr(attachments, "store_attachment", store_after_looking)
    response = reporter_post(
        client, "/follow-up/files", files=[("later.bin", evidence, "application/octet-stream")]
    )

    assert response.status_code == 303
    assert seen_while_storing == [[]]
    assert_no_trace(app, [marker], since)


# --- tampering is detected before a byte is sent ----------------------------------------------


@pytest.fixture
def stored_file(client, staff_client):
    """A four-chunk file, its report, its attachment id, and a signed-in staff client."""
    staff, _member = staff_client
    content = os.urandom(3 * CHUNK + 1000)
    report_id, _receipt = submitted(client, [("evidence.bin", content, "application/octet-stream")])
    (attachment_id,) = attachment_ids(report_id)
    assert db.session.get(Attachment, attachment_id).chunk_count == 4
    return staff, report_id, attachment_id, content


def chunk(attachment_id: int, position: int) -> bytes:
    return db.session.execute(
        text("SELECT data FROM attachment_chunks WHERE attachment_id = :a AND position = :p"),
        {"a": attachment_id, "p": position},
    ).scalar_one()


def put_chunk(attachment_id: int, position: int, data: bytes) -> None:
    db.session.execute(
        text("UPDATE attachment_chunks SET data = :d WHERE attachment_id = :a AND position = :p"),
        {"a": attachment_id, "p": position, "d": data},
    )


def flip_a_bit(data: bytes, at: int = 40) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def edit_a_chunk(aid: int) -> None:
    put_chunk(aid, 1, flip_a_bit(chunk(aid, 1)))


def remove_a_middle_chunk(aid: int) -> None:
    db.session.execute(
        text("DELETE FROM attachment_chunks WHERE attachment_id = :a AND position = 1"), {"a": aid}
    )


def remove_the_last_chunk(aid: int) -> None:
    db.session.execute(
        text("DELETE FROM attachment_chunks WHERE attachment_id = :a AND position = 3"), {"a": aid}
    )


def duplicate_a_chunk(aid: int) -> None:
    put_chunk(aid, 2, chunk(aid, 1))


def swap_two_chunks(aid: int) -> None:
    first, second = chunk(aid, 1), chunk(aid, 2)
    put_chunk(aid, 1, second)
    put_chunk(aid, 2, first)


def append_a_chunk(aid: int) -> None:
    db.session.execute(
        text("INSERT INTO attachment_chunks (attachment_id, position, data) VALUES (:a, 4, :d)"),
        {"a": aid, "d": chunk(aid, 3)},
    )


def count_one_chunk_less(aid: int) -> None:
    db.session.execute(
        text("UPDATE attachments SET chunk_count = chunk_count - 1 WHERE id = :a"), {"a": aid}
    )


def count_one_chunk_more(aid: int) -> None:
    db.session.execute(
        text("UPDATE attachments SET chunk_count = chunk_count + 1 WHERE id = :a"), {"a": aid}
    )


def change_the_stream_header(aid: int) -> None:
    header = db.session.execute(
        text("SELECT stream_header FROM attachments WHERE id = :a"), {"a": aid}
    ).scalar_one()
    db.session.execute(
        text("UPDATE attachments SET stream_header = :h WHERE id = :a"),
        {"a": aid, "h": flip_a_bit(header, len(header) - 1)},
    )


def test_an_untouched_file_downloads_whole(stored_file):
    staff, report_id, attachment_id, content = stored_file

    response = staff.get(f"/staff/reports/{report_id}/files/{attachment_id}")

    assert response.status_code == 200
    assert response.data == content


def test_the_download_streams_after_the_request_session_is_gone(stored_file):
    # A real server sends the body after the view has returned and its session was removed. The
    # test's own app context would lend the request its session and hide a lazy load, so the
    # request runs on a thread of its own, as on a server, and its body is read after it ends.
    staff, report_id, attachment_id, content = stored_file
    outcome: dict[str, object] = {}

    def download() -> None:
        response = staff.get(f"/staff/reports/{report_id}/files/{attachment_id}", buffered=False)
        try:
            outcome["status"] = response.status_code
            outcome["body"] = b"".join(response.response)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = repr(error)
        finally:
            response.close()

    thread = threading.Thread(target=download)
    thread.start()
    thread.join(timeout=60)

    assert "error" not in outcome, outcome.get("error")
    assert outcome["status"] == 200
    assert outcome["body"] == content


@pytest.mark.parametrize(
    "tamper",
    [
        edit_a_chunk,
        remove_a_middle_chunk,
        remove_the_last_chunk,
        duplicate_a_chunk,
        swap_two_chunks,
        append_a_chunk,
        count_one_chunk_less,
        count_one_chunk_more,
        change_the_stream_header,
    ],
)
def test_a_tampered_file_is_refused_whole(stored_file, tamper):
    staff, report_id, attachment_id, content = stored_file
    tamper(attachment_id)
    db.session.commit()

    response = staff.get(f"/staff/reports/{report_id}/files/{attachment_id}")

    assert response.status_code == 422
    assert DAMAGED in response.get_data(as_text=True)
    assert "Content-Disposition" not in response.headers
    for position in range(0, len(content), CHUNK):
        assert content[position : position + 64] not in response.data


# --- limits, empty inputs, several files, empty files -----------------------------------------


@pytest.fixture
def small_limits(make_app):
    """An app taking files of up to 100 000 bytes, 150 000 in all per report."""
    app = make_app(PORTAL_MAX_FILE_BYTES=100_000, PORTAL_MAX_REPORT_FILES_BYTES=150_000)
    with app.app_context():
        Factory(app).portal_ready()
        yield app


def test_a_file_over_the_per_file_limit_gets_the_413_page_and_nothing_is_stored(small_limits):
    client = small_limits.test_client()

    response = send_report_with_files(
        client, [("big.bin", os.urandom(100_001), "application/octet-stream")]
    )

    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)
    assert stored_counts() == (0, 0, 0)


def test_files_over_the_per_report_total_are_refused_with_the_forms_message(small_limits):
    client = small_limits.test_client()
    files = [(f"part{n}.bin", os.urandom(80_000), "application/octet-stream") for n in (1, 2)]

    response = send_report_with_files(client, files)

    assert response.status_code == 422
    assert "Together, these files are larger than the limit." in response.get_data(as_text=True)
    assert stored_counts() == (0, 0, 0)


def test_a_follow_up_file_over_the_per_file_limit_gets_the_413_page(small_limits):
    client = small_limits.test_client()
    _report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)

    response = reporter_post(
        client,
        "/follow-up/files",
        files=[("big.bin", os.urandom(100_001), "application/octet-stream")],
    )

    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)
    assert stored_counts() == (1, 0, 0)


def test_follow_up_files_over_the_report_total_are_refused_with_the_forms_message(small_limits):
    client = small_limits.test_client()
    _report_id, receipt = submitted(
        client, [("first.bin", os.urandom(80_000), "application/octet-stream")]
    )
    before = stored_counts()
    signed_in_reporter(client, receipt)

    response = reporter_post(
        client,
        "/follow-up/files",
        files=[("second.bin", os.urandom(80_000), "application/octet-stream")],
    )

    assert response.status_code == 422
    assert (
        "Together with the files already sent, these are larger than the limit."
        in response.get_data(as_text=True)
    )
    assert stored_counts() == before


def test_the_report_total_counts_what_the_reporter_sent_not_the_encryption_overhead(small_limits):
    """149 990 bytes sent with the report and 5 more later are within 150 000."""
    client = small_limits.test_client()
    files = [
        ("first.bin", os.urandom(99_990), "application/octet-stream"),
        ("second.bin", os.urandom(50_000), "application/octet-stream"),
    ]
    _report_id, receipt = submitted(client, files)
    signed_in_reporter(client, receipt)

    response = reporter_post(
        client, "/follow-up/files", files=[("note.txt", b"12345", "text/plain")]
    )

    assert response.status_code == 303, (
        "refused although 149 995 bytes in all is under the 150 000 limit"
    )


def test_an_empty_file_input_is_ignored(client, factory):
    factory.portal_ready()

    report_id, _receipt = submitted(client, [("", b"", "application/octet-stream")])

    assert report_id is not None
    assert attachment_ids(report_id) == []


def test_several_files_at_once_are_added(client, staff_client):
    staff, _member = staff_client
    report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    files = [(f"photo-{n}.txt", f"file number {n}".encode() * 100, "text/plain") for n in range(3)]

    response = reporter_post(client, "/follow-up/files", files=files)

    assert response.status_code == 303
    assert "3 files were added." in reporter_page(client)
    html = staff_page(staff, report_id)
    for name, data, _type in files:
        assert staff.get(download_link(html, report_id, name)).data == data


def test_a_zero_byte_file_round_trips(client, staff_client):
    staff, _member = staff_client
    report_id, _receipt = submitted(client, [("empty.txt", b"", "text/plain")])

    response = staff.get(download_link(staff_page(staff, report_id), report_id, "empty.txt"))

    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Content-Length"] == "0"


# --- images without metadata --------------------------------------------------------------------


def photo_with_location() -> bytes:
    image = Image.new("RGB", (64, 48), (180, 40, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "CameraMakerMark"
    exif[ExifTags.Base.Model] = "Model 7"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (43.0, 39.0, 1.5),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (79.0, 22.0, 59.0),
    }
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_downloads_without_its_metadata(client, staff_client):
    staff, _member = staff_client
    photo = photo_with_location()
    with Image.open(io.BytesIO(photo)) as original:
        assert original.getexif().get_ifd(
            ExifTags.IFD.GPSInfo
        )  # the test photo does carry a location
    report_id, _receipt = submitted(client, [("vigil.jpg", photo, "image/jpeg")])
    (attachment_id,) = attachment_ids(report_id)

    response = staff.get(f"/staff/reports/{report_id}/files/{attachment_id}/without-metadata")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "vigil-clean.jpg" in response.headers["Content-Disposition"]
    with Image.open(io.BytesIO(response.data)) as cleaned:
        assert cleaned.format == "JPEG"
        assert len(cleaned.getexif()) == 0
        assert cleaned.size == (64, 48)
    assert b"CameraMakerMark" not in response.data
    # The original stays available, byte for byte.
    original = staff.get(f"/staff/reports/{report_id}/files/{attachment_id}")
    assert hashlib.sha256(original.data).digest() == hashlib.sha256(photo).digest()


def test_a_file_that_is_not_an_image_has_no_copy_without_metadata(client, staff_client):
    staff, _member = staff_client
    report_id, _receipt = submitted(client, [("notes.txt", b"not a picture", "image/jpeg")])
    (attachment_id,) = attachment_ids(report_id)

    response = staff.get(f"/staff/reports/{report_id}/files/{attachment_id}/without-metadata")

    assert response.status_code == 404


def test_a_damaged_photo_has_no_copy_without_metadata_either(client, staff_client):
    staff, _member = staff_client
    report_id, _receipt = submitted(client, [("vigil.jpg", photo_with_location(), "image/jpeg")])
    (attachment_id,) = attachment_ids(report_id)
    put_chunk(attachment_id, 0, flip_a_bit(chunk(attachment_id, 0)))
    db.session.commit()

    response = staff.get(f"/staff/reports/{report_id}/files/{attachment_id}/without-metadata")

    assert response.status_code == 422
    assert DAMAGED in response.get_data(as_text=True)


# --- an upload cut off part way ---------------------------------------------------------------


def post_cut_off(client, path: str, body: bytes, content_type: str):
    """Send half the body, announcing all of it: the connection dropped mid-upload."""
    return client.post(
        path,
        input_stream=io.BytesIO(body[: len(body) // 2]),
        content_type=content_type,
        content_length=len(body),
    )


def test_an_interrupted_report_upload_stores_nothing(client, factory):
    factory.portal_ready()
    body, content_type = report_body(
        client, [("evidence.bin", os.urandom(400_000), "application/octet-stream")]
    )

    response = post_cut_off(client, "/report", body, content_type)

    assert response.status_code == 400
    assert stored_counts() == (0, 0, 0)


def test_an_interrupted_follow_up_upload_stores_nothing(client, factory):
    factory.portal_ready()
    _report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    token = hidden_value(reporter_page(client), "csrf_token")
    body, content_type = multipart(
        {"csrf_token": token}, [("later.bin", os.urandom(400_000), "application/octet-stream")]
    )

    response = post_cut_off(client, "/follow-up/files", body, content_type)

    assert response.status_code == 400
    assert stored_counts() == (1, 0, 0)
