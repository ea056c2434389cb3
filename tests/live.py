"""A portal in its own server process, set up with the `portal` command, and a reporter's client.

Used by the tests that must see what a real server does (concurrency, streaming, a killed process)
and by the benchmarks under bench/, so both walk the same path a person's browser does: GET the
form, send back its cookie and hidden tokens, read the receipt off the page, come back with it.

The server runs with the portal's production settings, including the production Argon2id cost:
nothing here lowers it.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

PORTAL = str(Path(sys.executable).with_name("portal"))
STAFF_EMAIL = "triager@example.org"
STAFF_PASSWORD = "live server password, not a secret"
RECEIPT = re.compile(r'id="receipt"[^>]*>([^<]+)<')

#: A complete, valid report as a person fills it in (the organizations come from the page).
REPORT_FIELDS: tuple[tuple[str, str], ...] = (
    ("tactics", "THR-HARASS"),
    ("tactics", "PRX-CONTACT"),
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
    ("impact_details", "I no longer go to community events."),
    ("reported_to", "rcmp"),
    ("reported_details", "RCMP file 2025-1234"),
    ("consent_read", "y"),
    ("consent_statistics", "y"),
    ("contact_method", "none"),
    ("contact_details", ""),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the server -------------------------------------------------------------------------------


#: How to start each kind of server; {port} is filled in.
SERVERS: dict[str, list[str]] = {
    "run": [PORTAL, "run", "--port", "{port}"],
    "gunicorn-sync": [
        str(Path(sys.executable).with_name("gunicorn")), "--bind", "127.0.0.1:{port}", "--workers", "2",
        "--worker-class", "sync", "--timeout", "120", "portal:create_app()",
    ],
    "gunicorn-threads": [
        str(Path(sys.executable).with_name("gunicorn")), "--bind", "127.0.0.1:{port}", "--workers", "2",
        "--worker-class", "gthread", "--threads", "4", "--timeout", "120", "portal:create_app()",
    ],
}


@dataclass
class LivePortal:
    """An instance folder and database made with the CLI, and the server serving them."""

    folder: Path
    database_url: str | None = None
    server: str = "run"
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None
    otpauth_uri: str = ""

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "PORTAL_INSTANCE_PATH": str(self.folder / "instance"), **self.extra_env}
        if self.database_url:
            env["PORTAL_DATABASE_URL"] = self.database_url
        return env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def recovery_key_file(self) -> Path:
        return self.folder / "recovery.key"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    def portal(self, *args: str, stdin: str | None = None) -> str:
        """Run a `portal` command against this instance, as an operator would."""
        done = subprocess.run(
            [PORTAL, *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"portal {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def app(self):  # noqa: ANN201 - a Flask app on this portal's instance and database
        """The same portal, in this process, to look at what the server stored."""
        from portal import create_app

        config = {"PORTAL_INSTANCE_PATH": str(self.folder / "instance")}
        if self.database_url:
            config["PORTAL_DATABASE_URL"] = self.database_url
        return create_app(config)

    def narratives_opened_by(self, receipts: Sequence[str]) -> dict[str, str | None]:
        """Open each report with its receipt as the server does (keyed lookup, then one
        derivation each, several at once); None for a receipt that opens nothing."""
        from concurrent.futures import ThreadPoolExecutor

        from sqlalchemy import select

        from portal import crypto
        from portal.db import db
        from portal.reports.models import Report
        from portal.reports.services import content_key_for_reporter, read_answers, receipt_lock

        app = self.app()
        with app.app_context():
            lookup_key = app.config["PORTAL_SECRETS"].lookup_key
            normalized = {receipt: crypto.normalize_receipt(receipt) for receipt in receipts}
            by_lookup = {crypto.receipt_lookup_id(n, lookup_key): r for r, n in normalized.items()}
            reports: dict[str, Report] = {}
            ids = list(by_lookup)
            for start in range(0, len(ids), 500):
                for report in db.session.scalars(select(Report).where(Report.lookup_id.in_(ids[start:start + 500]))):
                    reports[by_lookup[report.lookup_id]] = report

            def narrative(receipt: str) -> str | None:
                report = reports.get(receipt)
                key = report and crypto.unlock_keypair(normalized[receipt], receipt_lock(report))
                if key is None:
                    return None
                return read_answers(report, content_key_for_reporter(report, key))["narrative"]

            with ThreadPoolExecutor(crypto.MAX_CONCURRENT_DERIVATIONS) as pool:
                found = dict(zip(receipts, pool.map(narrative, receipts), strict=True))
            db.session.remove()
            db.engine.dispose()
        return found

    def narrative_opened_by(self, receipt: str) -> str | None:
        return self.narratives_opened_by([receipt])[receipt]

    def recovery_export(self) -> list[dict]:
        """Decrypt every report with the offline recovery key, through `portal recovery export`."""
        import json

        out = self.folder / "export.jsonl"
        self.portal("recovery", "export", "--key", str(self.recovery_key_file), "--out", str(out))
        records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
        out.unlink()
        return records

    def set_up(self) -> LivePortal:
        """portal init, one organization, the recovery key and one triager."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.portal("init")
        self.portal("org", "add", "intake", "Coalition intake team", "--default-recipient")
        self.portal("keys", "recovery-init", "--out", str(self.recovery_key_file))
        self.otpauth_uri = self.add_staff(STAFF_EMAIL)
        return self

    def add_staff(self, email: str, role: str = "triager", password: str = STAFF_PASSWORD) -> str:
        """`portal staff add`, as an operator does; the authenticator URI it prints."""
        added = self.portal(
            "staff", "add", email, "--org", "intake", "--role", role, "--password-stdin", stdin=password + "\n"
        )
        return next(line for line in added.splitlines() if line.startswith("otpauth://"))

    def start(self, timeout: float = 60) -> LivePortal:
        self.port = free_port()
        command = [part.format(port=self.port) for part in SERVERS[self.server]]
        with self.log_file.open("ab") as log:  # the server keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_file.read_text(errors='replace')}")
            try:
                if get(self.url, "/healthz").status == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not answer in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the server and everything it started: no clean-up code runs."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=20)
        self.process = None

    def __enter__(self) -> LivePortal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- HTTP as a browser sends it ---------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


def request(
    base: str, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
    timeout: float = 300,
) -> Response:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        raw = conn.getresponse()
        return Response(raw.status, raw.msg, raw.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def get(base: str, path: str, cookies: dict[str, str] | None = None) -> Response:
    return request(base, "GET", path, headers=_cookie_header(cookies or {}))


def _cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    if match is None:
        raise AssertionError(f"no field {name} in the page")
    return unescape(match.group(1))


def checked_values(html: str, name: str) -> list[str]:
    """The values of the checkboxes called ``name`` that the page has ticked already."""
    found = []
    for tag in re.findall(rf'<input[^>]*name="{name}"[^>]*>', html):
        value = re.search(r'value="([^"]*)"', tag)
        if value and " checked" in tag:
            found.append(unescape(value.group(1)))
    return found


def multipart(fields: Iterable[tuple[str, str]], files: Sequence[tuple[str, str, bytes]] = ()) -> tuple[bytes, str]:
    """Encode a form with files as a browser does; files are (field, filename, content)."""
    boundary = f"----portal{uuid.uuid4().hex}"
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def remember_cookies(cookies: dict[str, str], headers: http.client.HTTPMessage) -> None:
    """Keep the cookies a response sets, and forget the ones it clears, as a browser does."""
    for header in headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0]
        if "Max-Age=0" in header or "expires=Thu, 01 Jan 1970" in header:
            cookies.pop(name, None)
        else:
            cookies[name] = value


class Reporter:
    """One person's browser: their own cookies, the form as the page gives it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}

    def _remember(self, response: Response) -> Response:
        remember_cookies(self.cookies, response.headers)
        return response

    def get(self, path: str) -> Response:
        return self._remember(get(self.base, path, self.cookies))

    def post(self, path: str, body: bytes, content_type: str) -> Response:
        headers = {"Content-Type": content_type, **_cookie_header(self.cookies)}
        return self._remember(request(self.base, "POST", path, body=body, headers=headers))

    def submit_report(self, narrative: str, files: Sequence[tuple[str, bytes]] = ()) -> str:
        """Open the form, fill it in, send it; return the receipt shown on the page."""
        page = self.get("/report")
        if page.status != 200:
            raise AssertionError(f"GET /report answered {page.status}")
        fields = [
            ("csrf_token", hidden_value(page.body, "csrf_token")),
            ("form_token", hidden_value(page.body, "form_token")),
            ("narrative", narrative),
            *REPORT_FIELDS,
            *(("organizations", org) for org in checked_values(page.body, "organizations")),
        ]
        body, content_type = multipart(fields, [("evidence", name, data) for name, data in files])
        answer = self.post("/report", body, content_type)
        match = RECEIPT.search(answer.body)
        if answer.status != 200 or match is None:
            raise AssertionError(f"POST /report answered {answer.status} without a receipt")
        return match.group(1).strip()

    def open_with_receipt(self, receipt: str) -> Response:
        """Come back with the receipt; return the report page it opens."""
        page = self.get("/follow-up")
        body = urlencode({"csrf_token": hidden_value(page.body, "csrf_token"), "receipt": receipt}).encode()
        answer = self.post("/follow-up", body, "application/x-www-form-urlencoded")
        if answer.status != 303:
            raise AssertionError(f"POST /follow-up answered {answer.status}")
        return self.get(answer.location.removeprefix(self.base))


class StaffBrowser(Reporter):
    """The triager's browser: signs in with the authenticator the CLI set up, reads reports."""

    def __init__(self, base: str, otpauth_uri: str, email: str = STAFF_EMAIL, password: str = STAFF_PASSWORD) -> None:
        super().__init__(base)
        self.email, self.password = email, password
        encoded = parse_qs(urlsplit(otpauth_uri).query)["secret"][0]
        self.secret = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
        self.last_step = -1

    def current_code(self) -> str:
        from portal.orgs.services import totp_for

        step = int(time.time()) // 30
        while step <= self.last_step:  # a code is good once: wait for the next one
            time.sleep(0.5)
            step = int(time.time()) // 30
        self.last_step = step
        return totp_for(self.secret).generate(step * 30).decode()

    def form_post(self, path: str, fields: dict[str, str]) -> Response:
        page = self.get(path)
        body = urlencode({"csrf_token": hidden_value(page.body, "csrf_token"), **fields}).encode()
        return self.post(path, body, "application/x-www-form-urlencoded")

    def sign_in(self) -> None:
        """Email, password and the authenticator's code, from the very first sign-in."""
        fields = {"email": self.email, "password": self.password, "code": self.current_code()}
        answer = self.form_post("/staff/login", fields)
        if answer.status != 303 or answer.location.removeprefix(self.base) != "/staff/":
            raise AssertionError(f"sign-in answered {answer.status} to {answer.location}")


def unique_narrative(tag: str = "") -> str:
    """A narrative no other report has, so each receipt can be matched to what was sent."""
    return f"Someone followed me home after the vigil {tag} {secrets.token_hex(8)}."


def server_errors(portal: LivePortal) -> str:
    """The tracebacks the server logged, if any, for a failure message."""
    log = portal.log_file.read_text(errors="replace")
    return "\n".join(part.split("\n\n", 1)[0] for part in log.split("Traceback (most recent call last):")[1:])


def worker_pids(portal: LivePortal) -> list[int]:
    """The server's request-serving processes: gunicorn's workers, or the process itself."""
    if portal.process is None:
        return []
    pid = portal.process.pid
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [int(child) for child in children] or [pid]


def resident_kib(pid: int, field_name: str = "VmRSS") -> int:
    """A process's resident memory (or its peak, ``VmHWM``) in KiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise LookupError(f"no {field_name} for process {pid}")


def reset_peak_resident(pid: int) -> bool:
    """Start a process's VmHWM afresh from its current RSS (Linux 4.0+); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
