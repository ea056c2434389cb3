"""What slow uploads do to everyone else: another reporter's plain report, sent while evidence
files trickle in as they would over Tor.

    .venv/bin/python bench/upload_concurrency.py [--database-url URL] [--uploads 1] [--seconds 40]

For each way the portal can write an upload's chunks, it starts the portal in a fresh server process
(Werkzeug, threaded, as bench/upload_memory.py does; throwaway SQLite, or the EMPTY PostgreSQL
database given with --database-url) and begins --uploads reports with a 4 MiB file each: 1.5 MiB
at once, so that chunk rows are being written, then the rest slowly, over --seconds. Two seconds
in, another client sends a plain report (no file) and the time to its answer is printed; then the
uploads finish and their answers are printed too.

The ways:

- "auto": the portal as it is: "short" on SQLite; on PostgreSQL "request", unless as many
  connections are out as the pool keeps, when further uploads go "short";
- "short": each batch of chunks in a transaction of its own;
- "request": every batch in the upload's request transaction, whatever the pool.

How to read it: "plain report: HTTP 200 after 0.2 s" (form and answer) means nobody waited. On
SQLite with "request", the first batch takes the database's one write lock until the upload's
request ends, so the plain report waits SQLite's busy timeout (30 s) and fails, unless the upload
ends first. On PostgreSQL every upload in progress holds a pooled connection with "request": with
more uploads than the pool holds (5 + 10 overflow), the plain report waits for one (30 s) and
fails, and so do the uploads past the pool's size. "auto" must answer at once in every case.
"""

from __future__ import annotations

import argparse
import http.client
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import upload_memory as bench

from portal import create_app
from portal.instance import create_secrets

MIB = bench.MIB
FILE_BYTES = 4 * MIB
AT_ONCE_BYTES = 3 * MIB // 2
WRITES = ("auto", "short", "request")


@dataclass
class Answer:
    status: int = 0
    seconds: float = 0.0
    error: str = ""

    def __str__(self) -> str:
        if self.error:
            return f"no answer after {self.seconds:.1f} s ({self.error})"
        return f"HTTP {self.status} after {self.seconds:.1f} s"


def slow_upload(port: int, organization_id: int, seconds: float, started: threading.Barrier, answer: Answer) -> None:
    """Send a report with a 4 MiB file: the first 1.5 MiB at once, the rest over `seconds`."""
    begin = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        cookie, tokens = bench.open_form(conn)
        fields = [*tokens.items(), *bench.REPORT_FIELDS, ("organizations", str(organization_id))]
        boundary = uuid.uuid4().hex
        head, tail = bench.multipart_envelope(fields, boundary)
        conn.putrequest("POST", "/report")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + FILE_BYTES + len(tail)))
        conn.putheader("Cookie", cookie)
        conn.endheaders(head)
        conn.send(bytes(AT_ONCE_BYTES))
        started.wait()
        pieces = 40
        for _ in range(pieces):
            time.sleep(seconds / pieces)
            conn.send(bytes((FILE_BYTES - AT_ONCE_BYTES) // pieces))
        conn.send(bytes((FILE_BYTES - AT_ONCE_BYTES) % pieces))
        conn.send(tail)
        response = conn.getresponse()
        response.read()
        answer.status = response.status
    except (OSError, http.client.HTTPException, RuntimeError) as exc:  # RuntimeError: the form failed
        answer.error = type(exc).__name__
    finally:
        answer.seconds = time.perf_counter() - begin
        conn.close()


def plain_report(port: int, organization_id: int) -> Answer:
    """A report without a file, as a browser sends the form (urlencoded: no file chosen)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    answer = Answer()
    begin = time.perf_counter()
    try:
        cookie, tokens = bench.open_form(conn)
        body = urlencode([*tokens.items(), *bench.REPORT_FIELDS, ("organizations", str(organization_id))])
        conn.request("POST", "/report", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        response = conn.getresponse()
        response.read()
        answer.status = response.status
    except (OSError, http.client.HTTPException, RuntimeError) as exc:  # RuntimeError: the form failed
        answer.error = type(exc).__name__
    finally:
        answer.seconds = time.perf_counter() - begin
        conn.close()
    return answer


def measure(writes: str, settings: dict[str, object], organization_id: int, uploads: int, seconds: float) -> None:
    with bench.running_server(settings, ("--serve", "--writes", writes)) as server:
        started = threading.Barrier(uploads + 1)
        answers = [Answer() for _ in range(uploads)]
        threads = [
            threading.Thread(target=slow_upload, args=(server.port, organization_id, seconds, started, answer))
            for answer in answers
        ]
        for thread in threads:
            thread.start()
        started.wait()  # every upload has sent its first 1.5 MiB
        time.sleep(2)
        plain = plain_report(server.port, organization_id)
        print(f"{writes}: plain report while {uploads} upload(s) trickle in: {plain}")
        for thread in threads:
            thread.join()
        statuses = sorted({str(answer) for answer in answers})
        print(f"{writes}:   the slow uploads: {'; '.join(statuses)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database to use instead of SQLite")
    parser.add_argument("--uploads", type=int, default=1, help="slow uploads at the same time (default 1)")
    parser.add_argument("--seconds", type=float, default=40, help="how long each trickles (default 40)")
    parser.add_argument("--writes", choices=WRITES, help="measure only this way")
    args = parser.parse_args()
    if args.database_url:
        bench.refuse_non_empty(args.database_url)
    with tempfile.TemporaryDirectory(prefix="portal-upload-concurrency-") as workdir:
        instance_path = Path(workdir) / "instance"
        create_secrets(instance_path)
        url = args.database_url or f"sqlite:///{Path(workdir) / 'portal.db'}"
        settings = bench.portal_settings(instance_path, url, 64 * MIB)
        app = create_app({**settings, "PORTAL_KDF": bench.CHEAP_KDF})
        organization_id = bench.prepare_portal(app)
        try:
            for writes in [args.writes] if args.writes else WRITES:
                measure(writes, settings, organization_id, args.uploads, args.seconds)
        finally:
            if args.database_url:
                bench.drop_portal_schema(app)


if __name__ == "__main__":
    main()
