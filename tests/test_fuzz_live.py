"""Hostile requests to every route of a real server: no answer is ever a 5xx, and the server logs no
traceback.

The portal runs as in production (gunicorn, threaded workers) on a database of its own: SQLite, or
PostgreSQL in CI's second pass. Staff members of each role sign in as people do, with password and
authenticator code; with them go an anonymous visitor and a reporter who came back with a receipt.
Each route of the app's URL map is sent seeded random requests built from the forms its pages
show — valid CSRF and form tokens, real ids — with values no one types: huge, negative and
non-ASCII numbers, invalid UTF-8 (percent-encoded and raw, in bodies, paths and query strings),
NUL, CR/LF, very long text, fields duplicated or missing, text fields sent as file parts, wrong
content types. A route added later is fuzzed without anyone remembering to: the test fails when a
route is neither fuzzed nor listed in SKIPPED with a reason.

The server keeps the production Argon2id cost (about a second per derivation on a small machine),
so the few fields whose valid value leads to a derivation (a sign-in's email, a receipt, an
invitation's address, a new report's one-time token, a new password's confirmation) stay pinned to
a value the server refuses cheaply, or take a hostile value that is refused before any derivation.

To replay a failure: PORTAL_FUZZ_SEED=<seed printed> .venv/bin/python -m pytest tests/test_fuzz_live.py
(PORTAL_FUZZ_REQUESTS sends more, PORTAL_FUZZ_SERVER=run fuzzes the development server).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote_from_bytes, urlsplit

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect, Rule

from tests.live import (
    STAFF_EMAIL,
    STAFF_PASSWORD,
    LivePortal,
    Reporter,
    StaffBrowser,
    remember_cookies,
    server_errors,
    unique_narrative,
)

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("PORTAL_FUZZ_SEED", "20251014"))
REQUESTS = int(os.environ.get("PORTAL_FUZZ_REQUESTS", "3100"))
#: As production runs it; "run" (the development server) and "gunicorn-sync" work too.
SERVER = os.environ.get("PORTAL_FUZZ_SERVER", "gunicorn-threads")
#: Every route gets at least this many requests, whatever the draw.
PER_ROUTE = 12

#: Routes not fuzzed, each with the reason. Every other route of the URL map is.
SKIPPED: dict[str, str] = {}

#: Staff of each role besides LivePortal's triager, all in the intake organization.
ROLES = {
    "org_admin": "fuzz-org-admin@example.org",
    "coalition_admin": "fuzz-coalition-admin@example.org",
    "analyst": "fuzz-analyst@example.org",
}
PASSWORD = "fuzzing password, long enough"

#: Requests that would end what the fuzz needs (its sessions, its report, its colleagues): they
#: carry a broken CSRF token, so they stop at the check; those that end the fuzz's own session or
#: report are sent for real once, at the end.
DESTRUCTIVE = {"staff.logout", "staff.delete_report", "admin.deactivate", "reporter.follow_up_end", "reporter.follow_up_delete"}

#: Fields whose valid value costs a production Argon2id derivation, pinned to one refused cheaply
#: (an unknown address whose failures are throttled, a malformed receipt, a closed form token…);
#: True where any hostile value is also cheap, False where only a NUL or overlong one is.
PINNED: dict[str, dict[str, tuple[str, bool]]] = {
    "staff.login": {"email": ("fuzz-nobody@example.org", False)},
    "reporter.follow_up": {"receipt": ("not a receipt", False)},
    "admin.staff_list": {"email": ("not-an-address", False)},
    "reporter.submit": {"form_token": ("closed-form-token", True)},
    "staff.password": {"confirm": ("never the same as the new password", True)},
}
CHEAP_HOSTILE = [b"x\x00@example.org", b"\x00", b"a" * 5000, b"\x00" * 300, "é\x00".encode() * 200]

# --- hostile values ------------------------------------------------------------------------------

NUMBERS = [
    b"99999999999999999999", b"-1", b"0", b"1e309", "²".encode(), "٣".encode(), "１２".encode(), b"+1",
    b" 7 ", b"1_000", b"0x1f", b"NaN", b"inf", b"007", str(2**31).encode(), str(2**63).encode(),
    b"9" * 5000, b"1.5", b"", b"-99999999999999999999", "𝟗".encode(),
]
TEXT = [
    b"", b" ", b"   \t ", b"\x00", b"a\x00b", b"x@example.org\x00", b"\r\n", b"a\r\nSet-Cookie: x=y",
    b"\n\n\n", "\u202e\u200f".encode(), b"<script>alert(1)</script>", b"{{ 7*7 }}{% raw %}", b"%s%n%x",
    b"' OR 1=1 --", b"../../../etc/passwd", b"//evil.example/", b"https://evil.example/", b"\\\\evil",
    "ω".encode() * 3000, b"A" * 70_000, "🙂".encode(), "\ufeff".encode(), b"9999-12-31", b"0001-01-01",
    b"2025-02-30", b"10000-01-01", "٢٠٢٥-١٠".encode(), b"2025-13", b"2025-00", b"1899", b"y", b"on",
    b"true", b"none", b"email", b"range", b"\x7f\x1b[31m", b"a" * 255 + b"@example.org",
]
BLANK = [b" ", b"\t", b"   ", b"\r\n", b"\x00", "\u00a0".encode(), "\u3000".encode(), b"\x0b"]
RAW = [b"\xff\xfe", b"\xc3\x28", b"\x80abc", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"%", b"%zz", b"\xc0\xaf", b"\xfe" * 40]
EXTRA_NAMES = [b"done", b"campaigns", b"next", b"page", b"q", b"format", b"lang", b"form_token", b"evidence",
               b"csrf_token", b"id", b"report_id", b"\xff\xfe", b"", b"a" * 300, b"name\x00", b"x[]"]
QUERY_NAMES = [b"page", b"next", b"q", b"format", b"lang", b"after", b"before", b"sort", b"actor", b"since",
               b"until", b"threshold", b"status", b"assignee", b"done", b"\xff"]


def hostile(rng: random.Random, instead_of: bytes = b"") -> bytes:
    """A value no one types; number-like in place of a number, date-like in place of a date."""
    kind = rng.random()
    if instead_of.isdigit() and kind < 0.6:
        return rng.choice(NUMBERS)
    if re.fullmatch(rb"\d{4}(-\d\d){0,2}", instead_of) and kind < 0.5:
        return rng.choice([value for value in TEXT if value[:1].isdigit()] + BLANK)
    if kind < 0.25:
        return rng.choice(NUMBERS)
    if kind < 0.65:
        return rng.choice(TEXT)
    if kind < 0.75:
        return rng.choice(BLANK)
    if kind < 0.9:
        return rng.choice(RAW)
    return rng.choice(TEXT)[:50] + rng.choice(RAW) + rng.choice(NUMBERS)


def hostile_path_value(rng: random.Random, converter: str) -> bytes:
    pool = NUMBERS if converter in ("int", "id") else TEXT
    value = rng.choice(pool + RAW)
    return value[:1500]


# --- requests, byte for byte -----------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage | None
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Client:
    """One browser: its cookies and CSRF token. Sends requests exactly as given, bytes included."""

    def __init__(self, port: int, name: str, role: str | None = None) -> None:
        self.port, self.name, self.role = port, name, role
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def adopt(self, browser: Reporter) -> Client:
        self.cookies = dict(browser.cookies)
        return self

    def send(self, method: str, target: bytes, body: bytes | None = None, content_type: bytes | None = None,
             headers: list[tuple[bytes, bytes]] = ()) -> Answer:
        lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1:%d" % self.port, b"Connection: close"]
        if self.cookies:
            lines.append(b"Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()).encode())
        if content_type is not None:
            lines.append(b"Content-Type: " + content_type)
        if body is not None:
            lines.append(b"Content-Length: %d" % len(body))
        lines.extend(name + b": " + value for name, value in headers)
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=120)
        try:
            try:
                sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + (body or b""))
            except OSError:
                pass  # the server may answer (413) and close before reading everything
            response = http.client.HTTPResponse(sock, method=method)
            try:
                response.begin()
                data = response.read()
            except (OSError, http.client.HTTPException):
                return Answer(0, None, b"")
            self._remember(response.msg)
            return Answer(response.status, response.msg, data)
        finally:
            sock.close()

    def _remember(self, headers: http.client.HTTPMessage) -> None:
        remember_cookies(self.cookies, headers)

    def get(self, path: str) -> Answer:
        return self.send("GET", path.encode())

    def remember_csrf(self, html: str) -> None:
        match = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', html)
        if match:
            self.csrf = match.group(1)

    def cookie_bytes(self) -> int:
        return sum(len(k) + len(v) for k, v in self.cookies.items())


# --- the forms pages show --------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    choices: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


class FormParser(HTMLParser):
    """Every form of a page: the values a browser would send as the page stands, and each field's
    other possible values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.textarea: list[str] | None = None
        self.select: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.form = Form(a.get("action", ""), a.get("method", "get").lower() or "get")
            self.forms.append(self.form)
            return
        if self.form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind == "file":
                self.form.files.append(name)
            elif kind in ("checkbox", "radio"):
                self.form.choices.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    self.form.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset"):
                self.form.fields.append((name, a.get("value", "")))
            else:
                self.form.choices.setdefault(name, []).append(a.get("value", ""))
        elif tag == "button" and name:
            self.form.choices.setdefault(name, []).append(a.get("value", ""))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]
        elif tag == "select" and name:
            self.select = {"name": name, "values": [], "selected": None}
        elif tag == "option" and self.select is not None:
            value = a.get("value", "")
            self.select["values"].append(value)
            if "selected" in a:
                self.select["selected"] = value

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        elif tag == "textarea" and self.textarea is not None and self.form is not None:
            self.form.fields.append((self.textarea[0], self.textarea[1]))
            self.textarea = None
        elif tag == "select" and self.select is not None and self.form is not None:
            values = self.select["values"]
            chosen = self.select["selected"] if self.select["selected"] is not None else (values[0] if values else None)
            if chosen is not None:
                self.form.fields.append((self.select["name"], chosen))
            self.form.choices[self.select["name"]] = values
            self.select = None


def forms_of(html: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


# --- the fuzzer --------------------------------------------------------------------------------------

ARGUMENT = re.compile(r"<(?:([a-zA-Z_][a-zA-Z0-9_]*)(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
Field = tuple[bytes, bytes, bool]  # name, value, sent as a file part


@dataclass
class Target:
    rule: Rule
    method: str

    @property
    def endpoint(self) -> str:
        return self.rule.endpoint

    @property
    def key(self) -> str:
        return f"{self.method} {self.rule.rule}"


class Fuzzer:
    def __init__(self, app, port: int, staff: list[Client], reporters: list[Client], rng: random.Random) -> None:  # noqa: ANN001
        self.app, self.port, self.rng = app, port, rng
        self.adapter = app.url_map.bind("127.0.0.1")
        self.staff, self.reporters = staff, reporters
        self.targets = [
            Target(rule, method)
            for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
            if rule.endpoint not in SKIPPED
        ]
        self.real: dict[str, set[str]] = {"code": {"en", "fr"}, "fmt": {"html", "pdf"}}
        self.real["filename"] = {path.name for path in Path(app.static_folder).iterdir() if path.is_file()}
        self.forms: dict[str, list[tuple[str, Form]]] = {}  # endpoint → (action path, form)
        self.sent = 0
        self.per_target: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.slow: Counter[str] = Counter()

    # -- learning the site as its pages show it

    def learn(self, html: str, page_path: str) -> None:
        for href in re.findall(r'(?:href|action)="([^"#]*)', html):
            link = urlsplit(unescape(href))
            self._learn_arguments(link.path or page_path)
            if link.query:  # a link's query is a GET form too (page links, the language switcher)
                self._learn_form(link.path or page_path, Form(href, "get", parse_qsl(link.query, keep_blank_values=True)))
        for form in forms_of(html):
            self._learn_form(urlsplit(unescape(form.action)).path or urlsplit(page_path).path, form)

    def _learn_form(self, path: str, form: Form) -> None:
        try:
            endpoint, _args = self.adapter.match(path, method="POST" if form.method == "post" else "GET")
        except (HTTPException, RequestRedirect):
            return
        known = self.forms.setdefault(endpoint, [])
        names = {name for name, _value in form.fields}
        if len(known) < 12 and all({name for name, _value in existing.fields} != names for _p, existing in known):
            known.append((path, form))  # fields not seen yet for this route (the grant's "done")
        elif len(known) < 6 and all(existing.fields != form.fields or p != path for p, existing in known):
            known.append((path, form))

    def _learn_arguments(self, path: str) -> None:
        try:
            _endpoint, args = self.adapter.match(path, method="GET")
        except (HTTPException, RequestRedirect):
            try:
                _endpoint, args = self.adapter.match(path, method="POST")
            except (HTTPException, RequestRedirect):
                return
        for name, value in args.items():
            self.real.setdefault(name, set()).add(str(value))

    def discover(self) -> None:
        """GET every page each client can reach, with real ids once they are known (twice: the
        first round finds the ids the second uses)."""
        for _round in range(2):
            for target in self.targets:
                if target.method != "GET":
                    continue
                for client in self.clients_for(target, all_of_them=True):
                    path = self.path_for(target.rule, real_only=True)
                    if path is None:
                        continue
                    answer = self.request(target, client, "GET", path.encode())
                    if answer.status == 200 and b"<form" in answer.body:
                        self.learn(answer.text, path)
                        client.remember_csrf(answer.text)

    # -- building one request

    def clients_for(self, target: Target, all_of_them: bool = False) -> list[Client]:
        if not target.rule.rule.startswith("/staff"):
            return self.reporters
        roles = getattr(self.app.view_functions[target.endpoint], "allowed_roles", None)
        allowed = [client for client in self.staff if roles is None or client.role in roles]
        if all_of_them:
            return allowed
        # Mostly those the page is for; sometimes someone it refuses, or nobody signed in.
        if allowed and self.rng.random() < 0.85:
            return allowed
        return self.staff + self.reporters[:1]

    def path_for(self, rule: Rule, real_only: bool = False) -> str | None:
        """The rule's path with real arguments (or None if one is unknown)."""
        def real(match: re.Match) -> str:
            values = sorted(self.real.get(match.group(2), ()))
            if not values:
                raise LookupError(match.group(2))
            return quote_from_bytes(self.rng.choice(values).encode(), safe="/")

        try:
            return ARGUMENT.sub(real, rule.rule)
        except LookupError:
            return None

    def hostile_path(self, rule: Rule) -> bytes:
        pieces = []
        position = 0
        for match in ARGUMENT.finditer(rule.rule):
            pieces.append(rule.rule[position:match.start()].encode())
            position = match.end()
            values = sorted(self.real.get(match.group(2), ()))
            if values and self.rng.random() < 0.5:
                pieces.append(quote_from_bytes(self.rng.choice(values).encode(), safe="/").encode())
                continue
            value = hostile_path_value(self.rng, match.group(1) or "default")
            raw_ok = not re.search(rb"[\x00-\x20#?\x7f]", value)
            pieces.append(value if raw_ok and self.rng.random() < 0.2 else quote_from_bytes(value, safe="").encode())
        pieces.append(rule.rule[position:].encode())
        return b"".join(pieces)

    def base_form(self, target: Target, client: Client) -> tuple[bytes | None, list[Field], dict[str, list[str]], list[str]]:
        """A form a page shows for this route, with the client's own CSRF token."""
        method = "POST" if target.method != "GET" else "GET"
        known = [(path, form) for path, form in self.forms.get(target.endpoint, ())
                 if (form.method == "post") == (method == "POST")]
        if not known:
            fields = [(b"csrf_token", client.csrf.encode(), False)] if method == "POST" else []
            return None, fields, {}, []
        path, form = self.rng.choice(known)
        fields = [
            (name.encode(), (client.csrf if name == "csrf_token" else value).encode(), False)
            for name, value in form.fields
        ]
        return path.encode(), fields, form.choices, form.files

    def mutate(self, fields: list[Field], choices: dict[str, list[str]]) -> list[Field]:
        rng = self.rng
        fields = list(fields)
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if kind < 0.35 and fields:
                index = rng.randrange(len(fields))
                name, value, as_file = fields[index]
                fields[index] = (name, hostile(rng, value), as_file)
            elif kind < 0.45 and choices:
                name = rng.choice(sorted(choices))
                if choices[name]:
                    fields.append((name.encode(), rng.choice(choices[name]).encode(), False))
            elif kind < 0.6 and fields:
                name, value, as_file = rng.choice(fields)
                duplicate = (name, hostile(rng, value) if rng.random() < 0.7 else value, as_file)
                fields.insert(rng.randrange(len(fields) + 1), duplicate)
            elif kind < 0.72 and fields:
                if rng.random() < 0.15:
                    fields = []
                else:
                    del fields[rng.randrange(len(fields))]
            elif kind < 0.82:
                fields.append((rng.choice(EXTRA_NAMES), hostile(rng), False))
            elif kind < 0.93 and fields:
                for index in rng.sample(range(len(fields)), rng.randint(1, len(fields))):
                    name, value, _as_file = fields[index]
                    fields[index] = (name, value, True)
            else:
                fields = [(name, hostile(rng), as_file) if name != b"csrf_token" else (name, value, as_file)
                          for name, value, as_file in fields]
        return fields

    def pin(self, endpoint: str, fields: list[Field]) -> list[Field]:
        for name, (value, any_cheap) in PINNED.get(endpoint, {}).items():
            key = name.encode()
            positions = [i for i, (n, _v, as_file) in enumerate(fields) if n == key and not as_file]
            if not positions:
                continue
            if self.rng.random() < 0.2:
                chosen = hostile(self.rng) if any_cheap else self.rng.choice(CHEAP_HOSTILE)
            else:
                chosen = value.encode()
            first = positions[0]
            fields[first] = (key, chosen, False)
        return fields

    def encode(self, fields: list[Field], files: list[str]) -> tuple[bytes, bytes | None]:
        rng = self.rng
        if any(as_file for _n, _v, as_file in fields) or (files and rng.random() < 0.5):
            return self.multipart(fields, files)
        kind = rng.random()
        urlencoded = b"&".join(quote_from_bytes(n).encode() + b"=" + quote_from_bytes(v).encode() for n, v, _f in fields)
        if kind < 0.55:
            return urlencoded, b"application/x-www-form-urlencoded"
        if kind < 0.65:  # invalid UTF-8 and separators straight in the body
            return b"&".join(n + b"=" + v for n, v, _f in fields), b"application/x-www-form-urlencoded"
        if kind < 0.8:
            return self.multipart(fields, files)
        if kind < 0.88:
            shape = rng.choice(["object", "list", "string", "number", "null", "broken"])
            as_text = {n.decode("utf-8", "replace"): v.decode("utf-8", "replace") for n, v, _f in fields}
            value = {"object": as_text, "list": list(as_text.items()), "string": "x", "number": 10**30}.get(shape)
            body = b'{"a": ' if shape == "broken" else json.dumps(value).encode()
            return body, b"application/json"
        body, content_type = self.multipart(fields, files)
        return rng.choice([
            (urlencoded, b"text/plain"),
            (urlencoded, None),
            (body, b"multipart/form-data"),
            (body, b"multipart/form-data; boundary=not-the-boundary"),
            (body, b"application/x-www-form-urlencoded"),
            (urlencoded, b"application/x-www-form-urlencoded; charset=utf-16"),
            (body[: len(body) // 2], content_type),
            (urlencoded, b"\xff\xfe/\x00"),
        ])

    def multipart(self, fields: list[Field], files: list[str]) -> tuple[bytes, bytes]:
        boundary = b"fuzz%x" % self.rng.getrandbits(64)
        parts = []
        for name, value, as_file in fields:
            disposition = b'form-data; name="' + name + b'"'
            if as_file:
                disposition += b'; filename="' + self.rng.choice([b"a.txt", b"", b"\xff.pdf", b"../../x"]) + b'"'
            parts.append(b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + value + b"\r\n")
        for name in files:
            if self.rng.random() < 0.5:
                parts.append(
                    b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name.encode()
                    + b'"; filename="' + self.rng.choice([b"note.txt", b"\xff\xfe.txt", b"a\x00b.pdf", b""]) + b'"\r\n'
                    b"Content-Type: " + self.rng.choice([b"text/plain", b"application/pdf", b"\xff"]) + b"\r\n\r\n"
                    + os.urandom(self.rng.choice([0, 1, 1000, 70_000])) + b"\r\n"
                )
        parts.append(b"--" + boundary + b"--\r\n")
        return b"".join(parts), b"multipart/form-data; boundary=" + boundary

    def query(self, target: Target, client: Client) -> bytes:
        rng = self.rng
        pairs: list[tuple[bytes, bytes]] = []
        if target.method == "GET":
            _path, fields, choices, _files = self.base_form(target, client)
            if fields and rng.random() < 0.8:
                pairs = [(n, v) for n, v, _f in self.mutate(fields, choices)]
        if rng.random() < 0.35:
            pairs.append((rng.choice(QUERY_NAMES), hostile(rng)))
        if not pairs:
            return b""
        if rng.random() < 0.15:
            return b"?" + b"&".join(n + b"=" + re.sub(rb"[\x00-\x20#\x7f]", b"", v) for n, v in pairs)[:3000]
        return b"?" + b"&".join(quote_from_bytes(n).encode() + b"=" + quote_from_bytes(v).encode() for n, v in pairs)[:3000]

    def one(self, target: Target) -> None:
        rng = self.rng
        client = rng.choice(self.clients_for(target))
        destructive = target.endpoint in DESTRUCTIVE
        real_path = self.path_for(target.rule) if rng.random() < 0.6 else None
        path = real_path.encode() if real_path is not None else self.hostile_path(target.rule)
        body = content_type = None
        if target.method != "GET":
            _form_path, fields, choices, files = self.base_form(target, client)
            fields = self.pin(target.endpoint, self.mutate(fields, choices) if rng.random() < 0.9 else fields)
            if destructive:
                fields = [(n, b"broken" + v[:8], f) if n == b"csrf_token" else (n, v, f) for n, v, f in fields]
            elif rng.random() < 0.75:  # mostly past the CSRF check, to reach the view
                fields = [(b"csrf_token", client.csrf.encode(), False)] + [f for f in fields if f[0] != b"csrf_token"]
            body, content_type = self.encode(fields, files)
        headers = []
        if content_type == b"application/json" and not destructive and rng.random() < 0.8:
            headers.append((b"X-CSRFToken", client.csrf.encode()))  # as a script would send it
        if rng.random() < 0.05:
            headers.append((b"Accept-Language", rng.choice([b"\xff\xfe", b"*;q=NaN", b"fr;q=99999999999999999999", b"x" * 3000])))
        answer = self.request(target, client, target.method, path + self.query(target, client), body, content_type, headers)
        if real_path is not None and answer.status == 200 and b"<form" in answer.body and rng.random() < 0.1:
            self.learn(answer.text, real_path)  # forms that only answers show (the grant's next batch)
        if client.cookie_bytes() > 3000:  # flashed messages no page showed yet: let the pages show them
            for report_id in sorted(self.real.get("report_id", ()))[:1] if client.role else ():
                client.get(f"/staff/reports/{report_id}")
            client.get("/staff/" if client.role else "/")

    def request(self, target: Target, client: Client, method: str, path: bytes, body: bytes | None = None,
                content_type: bytes | None = None, headers: list = ()) -> Answer:
        started = time.monotonic()
        answer = client.send(method, path, body, content_type, headers)
        took = time.monotonic() - started
        if took > 0.5:
            self.slow[target.endpoint] += 1
        self.sent += 1
        self.per_target[target.key] += 1
        self.statuses[answer.status] += 1
        if answer.status >= 500 or answer.status == 0:
            self.failures.append(
                f"{answer.status or 'no answer'} for {client.name}: {method} {path[:300]!r} "
                f"{(content_type or b'')[:60]!r} body {(body or b'')[:300]!r}"
            )
        return answer

    def run(self, total: int) -> None:
        order = [target for target in self.targets for _ in range(PER_ROUTE)]
        weights = [0.3 if t.endpoint in PINNED else (1.0 if t.method != "GET" else 0.7) for t in self.targets]
        order += self.rng.choices(self.targets, weights, k=max(0, total - len(order) - self.sent))
        self.rng.shuffle(order)
        for target in order:
            self.one(target)


# --- the test --------------------------------------------------------------------------------------


def staff_of_each_role(app) -> dict[str, str]:  # noqa: ANN001
    """A second organization, and a member of each other role, as `portal staff add` makes them
    (in this process, to spare a CLI start-up each); their authenticator URIs."""
    from portal import crypto
    from portal.db import db
    from portal.orgs import services as orgs

    with app.app_context():
        orgs.add_organization(db.session, "second", "Second member organization")
        db.session.commit()
        uris = {
            role: orgs.add_staff_member(
                db.session, email=email, organization_slug="intake", role=role, password=PASSWORD,
                kdf=crypto.PRODUCTION_KDF, totp_key=app.config["PORTAL_SECRETS"].totp_key,
            ).otpauth_uri
            for role, email in ROLES.items() if role != "triager"
        }
        db.session.remove()
        db.engine.dispose()
    return uris


def signed_in(portal: LivePortal, role: str, uri: str) -> Client:
    email, password = (STAFF_EMAIL, STAFF_PASSWORD) if role == "triager" else (ROLES[role], PASSWORD)
    browser = StaffBrowser(portal.url, uri, email=email, password=password)
    browser.sign_in()
    client = Client(portal.port, role, role).adopt(browser)
    client.remember_csrf(client.get("/staff/password").text)
    return client


def test_hostile_requests_to_every_route_never_get_a_server_error(tmp_path, live_database_url):
    portal = LivePortal(tmp_path / "portal", database_url=live_database_url, server=SERVER).set_up()
    app = portal.app()
    uris = {"triager": portal.otpauth_uri, **staff_of_each_role(app)}
    rng = random.Random(SEED)
    started = time.monotonic()
    with portal.start():
        # A report with two files, its reporter back with the receipt, and each member signed in.
        reporter = Reporter(portal.url)
        receipt = reporter.submit_report(unique_narrative("fuzz"), [("a.txt", b"evidence"), ("b.pdf", b"%PDF-1.4")])
        reporter.open_with_receipt(receipt)
        staff = [signed_in(portal, role, uri) for role, uri in uris.items()]
        returning = Client(portal.port, "returning reporter").adopt(reporter)
        anonymous = Client(portal.port, "anonymous")
        for client in (returning, anonymous):
            client.remember_csrf(client.get("/follow-up/report" if client is returning else "/follow-up").text)
        fuzzer = Fuzzer(app, portal.port, staff, [anonymous, returning], rng)
        fuzzer.discover()
        assert fuzzer.real.get("report_id") and fuzzer.real.get("attachment_id"), fuzzer.real
        fuzzer.run(REQUESTS)

        still_in = {client.name: client.get("/staff/").status for client in staff}
        # What the fuzz spared, done for real once: the reporter's session ended, the report deleted
        # by its triager, a sign-out.
        report_path = f"/staff/reports/{min(fuzzer.real['report_id'], key=int)}"
        finals = [
            (returning, "reporter.follow_up_end", "/follow-up/end", {}, 303),
            (staff[0], "staff.delete_report", f"{report_path}/delete", {"confirm": "y"}, 303),
            (staff[0], "staff.logout", "/staff/logout", {}, 303),
        ]
        final_statuses = []
        for client, endpoint, path, extra, _expected in finals:
            body = "&".join(f"{k}={v}" for k, v in {"csrf_token": client.csrf, **extra}.items()).encode()
            target = next(t for t in fuzzer.targets if t.endpoint == endpoint and t.method == "POST")
            answer = fuzzer.request(target, client, "POST", path.encode(), body, b"application/x-www-form-urlencoded")
            final_statuses.append(answer.status)
        assert staff[0].get(report_path).status != 200  # deleted, and signed out
    elapsed = time.monotonic() - started
    print(
        f"\nfuzz (seed {SEED}): {fuzzer.sent} requests to {len(fuzzer.targets)} routes in {elapsed:.1f} s; "
        f"statuses {dict(sorted(fuzzer.statuses.items()))}; slow (> 0.5 s): {dict(fuzzer.slow)}"
    )
    log = portal.log_file.read_text(errors="replace")
    assert not fuzzer.failures, (
        f"seed {SEED}: {len(fuzzer.failures)} server errors:\n" + "\n".join(fuzzer.failures[:25])
        + "\n\nserver log:\n" + server_errors(portal)[:8000]
    )
    assert "Traceback" not in log, server_errors(portal)[:8000]
    missed = [target.key for target in fuzzer.targets if fuzzer.per_target[target.key] < PER_ROUTE]
    assert not missed, f"routes neither fuzzed nor in SKIPPED: {missed}"
    assert fuzzer.sent >= 3000
    assert all(status == 200 for status in still_in.values()), f"a member lost their session mid-fuzz: {still_in}"
    assert final_statuses == [expected for *_rest, expected in finals]
