"""Show that a large evidence upload goes through with the server's memory bounded.

    .venv/bin/python bench/upload_memory.py [--size-mib 1024] [--small-mib 16] [--database-url URL]

It sets up a throwaway portal (instance secrets and an SQLite database in a temporary folder, or
an empty PostgreSQL database given with --database-url), with one organization, one triager and a
recovery key, and the file limits raised to fit the upload. For each size (the small one first),
it starts the portal in a fresh server process (Werkzeug, threaded, on a free port), opens the
report form with http.client and sends a valid report with one evidence file of that size. The
file is generated on the fly and streamed in 1 MiB pieces, so the client never holds it whole.
The stored file is then decrypted with the triager's key and checked against the SHA-256 the
client computed while sending.

How to read the output, per upload:

- "sent in A s, answered after B s": A is the time to push the body (the server seals it as it
  reads), B adds storing the chunk rows and committing. The throughput is size / B.
- "server peak RSS: N MiB (baseline M MiB)": M is the server's resident memory just before the
  upload (after it served the form), N its high-water mark (VmHWM) once it answered. N - M is
  what the upload cost in memory; it should be a few MiB and the same for both sizes. If it
  grew with the size, something buffers the file.
- "chunk rows" and the database size: the file is stored as 64 KiB sealed chunks, so expect
  size / 64 KiB rows and a database slightly larger than the files it holds.
- "verify": decrypting every chunk and checking the SHA-256, as staff do before a download.

The summary repeats the two peaks side by side, with this (client) process's own peak.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from portal import create_app, crypto
from portal.db import db
from portal.instance import create_secrets
from portal.orgs import services as orgs
from portal.orgs.models import StaffMember
from portal.reports import attachments
from portal.reports.models import Attachment, AttachmentChunk, Report
from portal.reports.services import content_key_for_staff

MIB = 1024 * 1024
#: Argon2id as cheap as the tests use, so key derivation does not hide the upload's own cost.
CHEAP_KDF = crypto.KdfParams(memory_kib=64, iterations=1, lanes=1)
STAFF_EMAIL = "triager@example.org"
STAFF_PASSWORD = "bench password, not a secret"
#: A complete, valid report, as tests/conftest.py ``valid_report`` has it; organizations added.
REPORT_FIELDS: list[tuple[str, str]] = [
    ("tactics", "THR-HARASS"),
    ("tactics", "PRX-CONTACT"),
    ("narrative", "They called my mother and told her I must stop speaking."),
    ("when_precision", "month"),
    ("when_start", "2025-10"),
    ("when_end", ""),
    ("province", "ON"),
    ("city", "Toronto"),
    ("target", "me"),
    ("communities", "uyghur"),
    ("community_other", ""),
    ("perpetrators", "china_police"),
    ("perpetrator_details", "A man who said he was from the public security bureau."),
    ("official_identified", ""),
    ("bounty", "no"),
    ("bounty_details", ""),
    ("impacts", "fear"),
    ("impacts", "self_censorship"),
    ("impact_details", "I no longer go to community events."),
    ("reported_to", "rcmp"),
    ("reported_details", "RCMP file 2025-1234"),
    ("consent_read", "y"),
    ("consent_statistics", "y"),
    ("contact_method", "none"),
    ("contact_details", ""),
]


# --- the server process ------------------------------------------------------------------------


def serve() -> None:
    """Entry point of the server process: settings come from PORTAL_* variables, as in production;
    only the cheap KDF (not settable by environment) is passed in code. Prints the port, then serves."""
    from werkzeug.serving import make_server

    from portal.web import AnonymousRequestHandler

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app({"PORTAL_KDF": CHEAP_KDF})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=AnonymousRequestHandler)
    print(server.server_port, flush=True)
    server.serve_forever()


@dataclass(frozen=True)
class Server:
    pid: int
    port: int


@contextmanager
def running_server(settings: dict[str, object]) -> Iterator[Server]:
    """Start `serve()` in a fresh Python process and stop it on the way out, whatever happens."""
    env = {**os.environ, "PORTAL_REDIS_URL": "", **{name: str(value) for name, value in settings.items()}}
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve"], env=env, stdout=subprocess.PIPE
    )
    try:
        line = process.stdout.readline() if process.stdout else b""
        if not line.strip():
            raise RuntimeError("the server process did not start (see its error above)")
        yield Server(pid=process.pid, port=int(line))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def memory_mib(pid: int | str, field: str) -> float:
    """A memory figure (VmRSS, VmHWM) of a process from /proc, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


# --- the throwaway portal ----------------------------------------------------------------------


def portal_settings(instance_path: Path, database_url: str, limit_bytes: int) -> dict[str, object]:
    return {
        "PORTAL_INSTANCE_PATH": str(instance_path),
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_MAX_FILE_BYTES": limit_bytes,
        "PORTAL_MAX_REPORT_FILES_BYTES": limit_bytes,
    }


def refuse_non_empty(database_url: str) -> None:
    """Never touch a database holding anything: the benchmark creates and drops its own tables."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise SystemExit(f"refusing to use {make_url(database_url).database!r}: it is not empty")


def prepare_portal(app: Flask) -> int:
    """Migrate the database; add an organization, a triager and a recovery key. Returns the org id."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        organization = orgs.add_organization(db.session, "intake", "Intake team", default_recipient=True)
        orgs.add_staff_member(
            db.session,
            email=STAFF_EMAIL,
            organization_slug="intake",
            role="triager",
            password=STAFF_PASSWORD,
            kdf=CHEAP_KDF,
            totp_key=app.config["PORTAL_SECRETS"].totp_key,
        )
        orgs.create_recovery_key(db.session, lambda _private_key: None)  # throwaway: not kept
        return organization.id


def drop_portal_tables(app: Flask) -> None:
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.engine.dispose()


# --- the client --------------------------------------------------------------------------------


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    if not match:
        raise RuntimeError(f"no hidden field {name} on the form")
    return match.group(1)


def open_form(conn: http.client.HTTPConnection) -> tuple[str, dict[str, str]]:
    """GET /report; return the session cookie to send back and the form's hidden tokens."""
    conn.request("GET", "/report")
    response = conn.getresponse()
    html = response.read().decode("utf-8")
    if response.status != 200:
        raise RuntimeError(f"GET /report answered {response.status}")
    cookies = [c.split(";", 1)[0] for c in response.msg.get_all("Set-Cookie") or []]
    session_cookie = next((c for c in cookies if c.startswith("__Host-portal=")), None)
    if session_cookie is None:
        raise RuntimeError("GET /report set no __Host-portal cookie")
    tokens = {name: hidden_value(html, name) for name in ("csrf_token", "form_token")}
    return session_cookie, tokens


def multipart_envelope(fields: list[tuple[str, str]], boundary: str) -> tuple[bytes, bytes]:
    """The body before and after the evidence file's bytes (the fields, the file part's header)."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="evidence"; filename="evidence.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return "".join(parts).encode("utf-8"), f"\r\n--{boundary}--\r\n".encode("ascii")


def file_pieces(size: int, seed: int = 2025) -> Iterator[bytes]:
    """`size` bytes: a pseudo-random 1 MiB block over and over, never held in memory whole."""
    block = random.Random(seed).randbytes(MIB)
    whole, rest = divmod(size, MIB)
    for _ in range(whole):
        yield block
    if rest:
        yield block[:rest]


@dataclass(frozen=True)
class Upload:
    status: int
    receipt_shown: bool
    sha256: str
    sent_seconds: float
    total_seconds: float


def post_report(
    conn: http.client.HTTPConnection, cookie: str, fields: list[tuple[str, str]], size: int
) -> Upload:
    """POST /report with an exact Content-Length, streaming the file part piece by piece."""
    boundary = uuid.uuid4().hex
    head, tail = multipart_envelope(fields, boundary)
    digest = hashlib.sha256()
    start = time.perf_counter()
    conn.putrequest("POST", "/report")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.putheader("Cookie", cookie)
    conn.endheaders()
    try:
        conn.send(head)
        for piece in file_pieces(size):
            digest.update(piece)
            conn.send(piece)
        conn.send(tail)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered early (413, 400): its answer says why
    sent = time.perf_counter()
    response = conn.getresponse()
    html = response.read().decode("utf-8", "replace")
    done = time.perf_counter()
    return Upload(
        status=response.status,
        receipt_shown=re.search(r'id="receipt"[^>]*>[^<]+<', html) is not None,
        sha256=digest.hexdigest(),
        sent_seconds=sent - start,
        total_seconds=done - start,
    )


# --- measuring one upload ----------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    upload: Upload
    baseline_mib: float
    peak_mib: float


def measure_upload(settings: dict[str, object], organization_id: int, size: int) -> Measured:
    """Upload one file of `size` bytes to a fresh server process and read its memory figures."""
    with running_server(settings) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        try:
            cookie, tokens = open_form(conn)
            fields = [*tokens.items(), *REPORT_FIELDS, ("organizations", str(organization_id))]
            baseline = memory_mib(server.pid, "VmRSS")
            upload = post_report(conn, cookie, fields, size)
            peak = memory_mib(server.pid, "VmHWM")
        finally:
            conn.close()
    return Measured(upload=upload, baseline_mib=baseline, peak_mib=peak)


@dataclass(frozen=True)
class Stored:
    chunk_rows: int
    stored_bytes: int
    sha256_matched: bool
    verify_seconds: float


def check_stored(app: Flask, client_sha256: str, size: int) -> Stored:
    """Decrypt the newest attachment through the triager's key and compare it with what was sent."""
    with app.app_context():
        attachment = db.session.scalars(select(Attachment).order_by(Attachment.id.desc())).first()
        if attachment is None:
            raise RuntimeError("no attachment was stored")
        rows = db.session.scalar(
            select(func.count()).select_from(AttachmentChunk).where(AttachmentChunk.attachment_id == attachment.id)
        )
        staff = db.session.scalars(select(StaffMember).where(StaffMember.email == STAFF_EMAIL)).one()
        private_key = crypto.unlock_private_key(staff.private_key_locked, STAFF_PASSWORD)
        report = db.session.get(Report, attachment.report_id)
        content_key = content_key_for_staff(db.session, report, staff, private_key)
        start = time.perf_counter()
        details = attachments.verify(db.session, attachment, content_key)  # raises if damaged
        elapsed = time.perf_counter() - start
        return Stored(
            chunk_rows=rows,
            stored_bytes=attachment.stored_bytes,
            sha256_matched=details.sha256 == client_sha256 and details.size == size,
            verify_seconds=elapsed,
        )


def database_size(app: Flask) -> str:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        return f"database file {Path(url.database).stat().st_size / MIB:.0f} MiB"
    with app.app_context():
        size = db.session.scalar(text("SELECT pg_database_size(current_database())"))
    return f"database {size / MIB:.0f} MiB"


# --- printing ----------------------------------------------------------------------------------


def report_upload(size_mib: int, measured: Measured, stored: Stored, database: str) -> None:
    upload = measured.upload
    answer = "receipt shown" if upload.receipt_shown else "NO RECEIPT on the page"
    print(f"upload of {size_mib} MiB: HTTP {upload.status}, {answer}; sent in {upload.sent_seconds:.2f} s, "
          f"answered after {upload.total_seconds:.2f} s ({size_mib / upload.total_seconds:.0f} MiB/s)")
    print(f"  {peak_line(size_mib, measured)}")
    print(f"  stored: {stored.chunk_rows} chunk rows, {stored.stored_bytes / MIB:.1f} MiB of ciphertext; {database}")
    verdict = "matched" if stored.sha256_matched else "DID NOT MATCH"
    print(f"  verify: SHA-256 {verdict} the client's, in {stored.verify_seconds:.2f} s "
          f"({size_mib / stored.verify_seconds:.0f} MiB/s)")


def peak_line(size_mib: int, measured: Measured) -> str:
    return (f"server peak RSS: {measured.peak_mib:.1f} MiB (baseline {measured.baseline_mib:.1f} MiB) "
            f"for a {size_mib} MiB upload")


# --- main --------------------------------------------------------------------------------------


def run(sizes_mib: list[int], database_url: str | None, workdir: Path) -> None:
    instance_path = workdir / "instance"
    create_secrets(instance_path)
    url = database_url or f"sqlite:///{workdir / 'portal.db'}"
    settings = portal_settings(instance_path, url, max(sizes_mib) * MIB)
    app = create_app({**settings, "PORTAL_KDF": CHEAP_KDF})
    organization_id = prepare_portal(app)
    try:
        peaks = []
        for size_mib in sizes_mib:
            measured = measure_upload(settings, organization_id, size_mib * MIB)
            stored = check_stored(app, measured.upload.sha256, size_mib * MIB)
            report_upload(size_mib, measured, stored, database_size(app))
            peaks.append((size_mib, measured))
        print()
        for size_mib, measured in peaks:
            print(peak_line(size_mib, measured))
        print(f"client peak RSS (this process, verification included): {memory_mib('self', 'VmHWM'):.0f} MiB")
    finally:
        if database_url:
            drop_portal_tables(app)
        else:
            with app.app_context():
                db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the large upload (default 1024)")
    parser.add_argument("--small-mib", type=int, default=16, help="size of the small upload to compare with")
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database to use instead of SQLite")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.database_url:
        refuse_non_empty(args.database_url)
    with tempfile.TemporaryDirectory(prefix="portal-upload-bench-") as workdir:
        run([args.small_mib, args.size_mib], args.database_url, Path(workdir))


if __name__ == "__main__":
    main()
