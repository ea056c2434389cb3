"""Time the staff dashboard and a report's page at 1,000 and 100,000 reports on PostgreSQL.

    .venv/bin/python bench/dashboard.py [--sizes 1000,100000] [--repeat 100] [--database-url URL ...]
    .venv/bin/python bench/dashboard.py --quick      # 500 and 5,000 reports, in under a minute

It builds one database per size: throwaway ones on 127.0.0.1 (user postgres), dropped at the end,
or the EMPTY databases given with --database-url, once per size, whose tables are dropped at the
end. Each is filled as a year or three of use would fill it: six member organizations (the intake
team holds most reports, the others a share), four readers, reports spread over statuses,
severities, assignees, provinces, communities and one to three tactics each, some awaiting a
reply, some shared with two organizations. Rows go in with COPY (so the counters' triggers fire as
they would for each submission), then VACUUM ANALYZE. The sealed answers and the wrapped keys are
real (AES-GCM and HPKE: a page pays for decrypting what it shows); the receipt verifier and the
reporter's keys, which no staff page reads, are placeholders.

Each page is requested as a signed-in triager of the intake team would request it: through the
Flask test client (the whole request: session, counters, query, decryption, audit, template), the
sizes and cases taking turns request by request so that other load on the machine weighs on all
of them alike; then a shorter pass over HTTP against `portal run` started in a subprocess.

How to read the output:

- one table per size: p50/p95/p99 of each case in milliseconds over --repeat requests, the SQL
  statements one request sent, and the page's size. "first" is a first page; "last" is the
  deepest page, reached with the cursor a reader paging forward would hold; "back from the last"
  is the page before it, through its `before=` link; the other cases are filters.
- the ratio table: each case's p50 and p95 at the larger size over the smaller one. Targets: p95
  at most 50 ms for every case at the larger size, and ratios at most 1.5. A page that does not
  grow with the data has ratios near 1 and the same statement count at both sizes. Figures from a
  machine that other work shares move from run to run: compare the sizes of one run.
- the report page: one report with 0, then 10,000 people in the officials registry (the page
  must not list them), and with a search of the registry by name in either script.
- the HTTP pass: the same kinds of pages through a real server and socket, at the larger size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url

from portal import create_app, crypto, taxonomy
from portal.db import db
from portal.instance import create_secrets
from portal.officials.models import Person
from portal.officials.services import fold
from portal.orgs import services as orgs
from portal.orgs.models import Organization, RecoveryKey, StaffMember
from portal.reports import report_list
from portal.reports.models import (
    Report,
    ReportTactic,
    WrappedKey,
    report_organizations,
    severity_rank,
    status_rank,
)
from portal.reports.services import ANSWERS_PURPOSE

BENCH_KDF = crypto.KdfParams(memory_kib=64, iterations=1, lanes=1)
PASSWORD = "bench horse battery staple"
BATCH = 10_000
FIRST_DAY = dt.date(2023, 1, 1)
DAYS = 3 * 365
PLACEHOLDER = b"\x00"  # the receipt verifier and the reporter's keys: no staff page reads them
ORGANIZATIONS = (
    ("intake", "Coalition intake team"), ("uyghur-rights", "Uyghur rights"), ("tibet-action", "Tibet action"),
    ("hk-watch", "Hong Kong watch"), ("falun-gong-info", "Falun Gong information"),
    ("democracy-forum", "Democracy forum"),
)
#: The signed-in triager first, then the intake team's other readers; one reader per partner.
INTAKE_READERS = ("triager@bench.example", "colleague1@bench.example", "colleague2@bench.example")
STATUSES = (("received", 15), ("under_review", 20), ("referred", 10), ("closed", 55))
SEVERITIES = ((None, 35), ("low", 20), ("medium", 22), ("high", 15), ("critical", 8))
PEOPLE = 10_000


def weighted(rng: random.Random, pairs: tuple) -> object:
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


# --- the data -----------------------------------------------------------------------------------


@dataclass
class Portal:
    """What the generator needs to know about the organizations and their readers."""

    org_ids: list[int]
    readers: dict[int, list[int]]  # organization id -> reader ids
    wrapped: dict[int, bytes]  # reader id -> the content key wrapped to them
    recovery_id: int
    recovery_wrapped: bytes
    sealed_answers: list[bytes]


def narrative(rng: random.Random) -> str:
    words = ("they", "called", "my", "mother", "in", "Urumqi", "again", "and", "said", "I", "must", "stop",
             "speaking", "at", "the", "vigil", "a", "man", "photographed", "us", "outside", "consulate", "WeChat")
    return " ".join(rng.choice(words) for _ in range(rng.randint(20, 600)))


def set_up_portal(app: Flask, rng: random.Random) -> Portal:
    """Organizations, readers with real keypairs, the recovery key, and sealed answers to reuse."""
    secrets_ = app.config["PORTAL_SECRETS"]
    for slug, name in ORGANIZATIONS:
        orgs.add_organization(db.session, slug, name, default_recipient=slug == "intake")
    emails = [(email, "intake") for email in INTAKE_READERS]
    emails += [(f"reader@{slug}.bench.example", slug) for slug, _ in ORGANIZATIONS[1:]]
    for email, slug in emails:
        orgs.add_staff_member(db.session, email=email, organization_slug=slug, role="triager",
                              password=PASSWORD, kdf=BENCH_KDF, totp_key=secrets_.totp_key)
    orgs.create_recovery_key(db.session, lambda _private_key: None)
    db.session.execute(text("UPDATE staff_members SET totp_confirmed = true"))
    db.session.commit()

    content_key = crypto.new_content_key()
    readers: dict[int, list[int]] = {}
    wrapped: dict[int, bytes] = {}
    for member in db.session.scalars(select(StaffMember).order_by(StaffMember.id)):
        readers.setdefault(member.organization_id, []).append(member.id)
        wrapped[member.id] = crypto.wrap_content_key(content_key, crypto.PublicKey.from_bytes(member.public_key))
    recovery = db.session.scalars(select(RecoveryKey)).one()
    sealed = []
    for _ in range(40):
        answers = {"narrative": narrative(rng), "tactics": ["THR-HARASS"], "province": "ON", "city": "Toronto",
                   "target": "me", "communities": ["uyghur"], "consent_read": True}
        plaintext = json.dumps(answers, ensure_ascii=False, sort_keys=True).encode("utf-8")
        sealed.append(crypto.seal(content_key, plaintext, ANSWERS_PURPOSE))
    org_ids = list(db.session.scalars(select(Organization.id).order_by(Organization.id)))
    return Portal(org_ids=org_ids, readers=readers, wrapped=wrapped, recovery_id=recovery.id,
                  recovery_wrapped=crypto.wrap_content_key(content_key, crypto.PublicKey.from_bytes(recovery.public_key)),
                  sealed_answers=sealed)


@dataclass
class Batch:
    reports: list[dict] = field(default_factory=list)
    shares: list[dict] = field(default_factory=list)
    keys: list[dict] = field(default_factory=list)
    tactics: list[dict] = field(default_factory=list)


def report_rows(portal: Portal, first_id: int, last_id: int, rng: random.Random) -> Iterator[Batch]:
    intake, partners = portal.org_ids[0], portal.org_ids[1:]
    codes = list(taxonomy.TACTIC_CODES)
    code_weights = [1 / (rank + 1) for rank in range(len(codes))]
    communities = [code for code, _ in taxonomy.COMMUNITIES]
    provinces = [code for code, _ in taxonomy.PROVINCES]
    for start in range(first_id, last_id + 1, BATCH):
        batch = Batch()
        for report_id in range(start, min(start + BATCH, last_id + 1)):
            share = rng.random()
            shared = [intake] if share < 0.75 else [intake, rng.choice(partners)] if share < 0.9 else [rng.choice(partners)]
            status = weighted(rng, STATUSES)
            severity = None if status == "received" and rng.random() < 0.8 else weighted(rng, SEVERITIES)
            unassigned = {"received": 0.7, "closed": 0.05}.get(status, 0.1)
            readers = portal.readers[shared[0]]
            batch.reports.append({
                "id": report_id,
                "received_on": FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS)),
                "status": status, "status_rank": status_rank(status),
                "severity": severity, "severity_rank": severity_rank(severity),
                "lookup_id": hashlib.sha256(b"bench report %d" % report_id).digest(),
                "receipt_verifier": "placeholder",
                "reporter_public_key": PLACEHOLDER, "reporter_private_key_locked": PLACEHOLDER,
                "reporter_wrapped_key": PLACEHOLDER,
                "answers_sealed": rng.choice(portal.sealed_answers),
                "consent_statistics": rng.random() < 0.9, "consent_referral": rng.random() < 0.5,
                "consent_contact": rng.random() < 0.3,
                "assignee_id": None if rng.random() < unassigned else rng.choice(readers),
                "awaiting_reply": rng.random() < 0.04,
                "community": rng.choice(communities), "province": rng.choice(provinces),
            })
            batch.shares += [{"report_id": report_id, "organization_id": org} for org in shared]
            batch.keys += [{"report_id": report_id, "staff_member_id": reader, "recovery_key_id": None,
                            "wrapped": portal.wrapped[reader]} for org in shared for reader in portal.readers[org]]
            batch.keys.append({"report_id": report_id, "staff_member_id": None, "recovery_key_id": portal.recovery_id,
                               "wrapped": portal.recovery_wrapped})
            chosen: set[str] = set()
            while len(chosen) < rng.randint(1, 3):
                chosen.add(rng.choices(codes, weights=code_weights)[0])
            batch.tactics += [{"report_id": report_id, "code": code} for code in sorted(chosen)]
        yield batch


def copy_rows(table: str, rows: list[dict]) -> None:
    """Load rows with PostgreSQL's COPY, through the session's own connection (triggers fire)."""
    if not rows:
        return
    columns = list(rows[0])
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def grow(portal: Portal, first_id: int, last_id: int, rng: random.Random) -> None:
    start = time.perf_counter()
    for batch in report_rows(portal, first_id, last_id, rng):
        copy_rows(Report.__tablename__, batch.reports)
        copy_rows(report_organizations.name, batch.shares)
        copy_rows(WrappedKey.__tablename__, batch.keys)
        copy_rows(ReportTactic.__tablename__, batch.tactics)
        db.session.commit()
    db.session.execute(text("SELECT setval('reports_id_seq', (SELECT max(id) FROM reports))"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    print(f"  loaded reports {first_id:,}–{last_id:,} in {time.perf_counter() - start:.1f} s", flush=True)


def add_people(count: int, rng: random.Random) -> None:
    surnames = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu")
    hanzi = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴")
    given = ("Wei", "Fang", "Min", "Jing", "Lei", "Jun", "Yan", "Tao", "Ming", "Hui", "Qiang", "Xiu")
    rows = []
    for number in range(count):
        family = rng.randrange(len(surnames))
        latin = f"{surnames[family]} {rng.choice(given)}{rng.choice(given).lower()} {number}"
        chinese = hanzi[family] + rng.choice("伟芳敏静磊军艳涛明辉强秀")
        rows.append({"name_latin": latin, "name_chinese": chinese, "aliases": "", "title": "Consul",
                     "search_text": "\n".join(fold(name) for name in (latin, chinese)), "rank": "",
                     "status": "consular", "affiliation_basis": "", "requested_action": "", "version": 1,
                     "updated_at": dt.datetime(2025, 1, 1)})
    copy_rows(Person.__tablename__, rows)
    db.session.commit()


# --- requests -----------------------------------------------------------------------------------


def sign_in(app: Flask, client: FlaskClient, email: str) -> None:
    staff = db.session.scalar(select(StaffMember).where(StaffMember.email == email))
    staff.totp_last_step = None  # every sign-in of the benchmark uses the current code afresh
    db.session.commit()
    html = client.get("/staff/login").get_data(as_text=True)
    response = client.post("/staff/login", data={
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1),
        "email": email, "password": PASSWORD, "code": current_code(app, staff),
    })
    if response.status_code != 303:
        raise SystemExit(f"sign-in failed: {response.status_code}")


def current_code(app: Flask, staff: StaffMember) -> str:
    secret = orgs.open_totp_secret(staff.totp_secret_sealed, app.config["PORTAL_SECRETS"].totp_key)
    return orgs.totp_for(secret).generate(int(time.time())).decode()


@dataclass
class Timing:
    samples: list[float]
    statements: int
    kib: float

    def percentile(self, share: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.samples) * 1000


def report_ids_in(html: str) -> list[int]:
    return [int(number) for number in re.findall(r'href="/staff/reports/(\d+)"', html)]


def first_look(client: FlaskClient, path: str, *, expect_rows: int | None = None) -> Timing:
    """Warm the caches a reader's earlier visits would have warmed; check the page; count the SQL
    statements one request sends. The timing samples come later, interleaved."""
    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    html = ""
    for _ in range(2):
        html = client.get(path).get_data(as_text=True)
    if expect_rows is not None and len(report_ids_in(html)) != expect_rows:
        raise SystemExit(f"{path}: expected {expect_rows} reports, the page lists {len(report_ids_in(html))}")
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return Timing([], statements, len(html.encode()) / 1024)


def sample(client: FlaskClient, path: str, timing: Timing) -> None:
    start = time.perf_counter()
    response = client.get(path)
    timing.samples.append(time.perf_counter() - start)
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code}")


def time_page(client: FlaskClient, path: str, repeat: int) -> Timing:
    timing = first_look(client, path)
    for _ in range(repeat):
        sample(client, path, timing)
    return timing


def deepest_page(triager: StaffMember, sort: str) -> str:
    """The query of the last page, as a reader who paged forward to it would request it."""
    order = report_list.sort_named(sort)
    query = report_list.filtered_reports(triager, report_list.DashboardFilters(sort=sort))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    before_last_page = db.session.scalars(
        query.order_by(*order.order_by()).offset(total - report_list.PAGE_SIZE - 1).limit(1)
    ).one()
    return urllib.parse.urlencode({"sort": sort, "after": order.format(order.cursor_of(before_last_page))})


def previous_of_deepest(triager: StaffMember) -> str:
    """The query of the page before the last one, through its `before=` link."""
    order = report_list.sort_named("newest")
    query = report_list.filtered_reports(triager, report_list.DashboardFilters())
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    first_of_last = db.session.scalars(
        query.order_by(*order.order_by()).offset(total - report_list.PAGE_SIZE).limit(1)
    ).one()
    return urllib.parse.urlencode({"before": order.format(order.cursor_of(first_of_last))})


FILTERS = ("status=received", "assignee=me", "bounty=y", "province=ON&sort=severity", "tactic=DIG-HACK&status=closed")


def dashboard_cases(triager: StaffMember) -> list[tuple[str, str, int | None]]:
    """(name, path, reports the page must list) for every case of the dashboard."""
    cases: list[tuple[str, str, int | None]] = []
    for sort in report_list.SORTS:
        cases.append((f"first, {sort}", f"/staff/?sort={sort}", report_list.PAGE_SIZE))
    for sort in report_list.SORTS:
        cases.append((f"last, {sort}", f"/staff/?{deepest_page(triager, sort)}", report_list.PAGE_SIZE))
    cases.append(("back from the last", f"/staff/?{previous_of_deepest(triager)}", report_list.PAGE_SIZE))
    cases += [(query, f"/staff/?{query}", None) for query in FILTERS]
    return cases


@dataclass
class Sized:
    """A portal holding ``size`` reports: its app, a signed-in triager's client, the cases."""

    size: int
    url: str
    app: Flask
    client: FlaskClient
    cases: list[tuple[str, str, int | None]]


def build(url: str, size: int, instance_path: Path, rng: random.Random) -> Sized:
    app = create_app({"PORTAL_INSTANCE_PATH": str(instance_path), "SQLALCHEMY_DATABASE_URI": url,
                      "PORTAL_KDF": BENCH_KDF})
    app.before_request_funcs.setdefault(None, []).insert(0, fresh_g)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        portal = set_up_portal(app, rng)
        grow(portal, 1, size, rng)
        client = app.test_client()
        sign_in(app, client, INTAKE_READERS[0])
        triager = db.session.scalar(select(StaffMember).where(StaffMember.email == INTAKE_READERS[0]))
        cases = dashboard_cases(triager)
        db.session.rollback()
    return Sized(size, url, app, client, cases)


def time_dashboards(portals: list[Sized], repeat: int) -> dict[int, dict[str, Timing]]:
    """Time every case at every size, taking turns request by request, so that whatever else
    the machine is doing weighs on every size and case alike and the ratios stay fair."""
    timings: dict[int, dict[str, Timing]] = {}
    for portal in portals:
        with portal.app.app_context():
            timings[portal.size] = {name: first_look(portal.client, path, expect_rows=rows)
                                    for name, path, rows in portal.cases}
    for _ in range(repeat):
        for portal in portals:
            with portal.app.app_context():
                for name, path, _rows in portal.cases:
                    sample(portal.client, path, timings[portal.size][name])
    return timings


def time_report_page(app: Flask, repeat: int, people: int, rng: random.Random) -> dict[str, Timing]:
    client = app.test_client()
    sign_in(app, client, INTAKE_READERS[0])
    report_id = db.session.scalar(
        select(Report.id).join(report_organizations).where(report_organizations.c.organization_id == db.session.scalar(
            select(Organization.id).where(Organization.slug == "intake"))).order_by(Report.id).limit(1)
    )
    path = f"/staff/reports/{report_id}"
    timings = {"0 people": time_page(client, path, repeat)}
    add_people(people, rng)
    timings[f"{people:,} people"] = time_page(client, path, repeat)
    timings[f"{people:,} people, search 'wang'"] = time_page(client, f"{path}?q=wang", repeat)
    timings[f"{people:,} people, search '王'"] = time_page(client, f"{path}?q={urllib.parse.quote('王')}", repeat)
    db.session.rollback()
    return timings


# --- a real server ----------------------------------------------------------------------------


class HttpSession:
    """A browser's worth of HTTP: one connection per request, the cookies it was given."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def real_server(database_url: str, instance_path: Path) -> Iterator[int]:
    port = free_port()
    environ = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_INSTANCE_PATH": str(instance_path)}
    portal = Path(sys.executable).with_name("portal")
    server = subprocess.Popen([str(portal), "run", "--port", str(port)], env=environ,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if HttpSession(port).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the portal server did not start")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def time_over_http(app: Flask, database_url: str, instance_path: Path, repeat: int) -> dict[str, Timing]:
    triager = db.session.scalar(select(StaffMember).where(StaffMember.email == INTAKE_READERS[0]))
    cases = [case for case in dashboard_cases(triager) if case[0] in ("first, newest", "last, newest", "first, severity", "status=received")]
    triager.totp_last_step = None
    db.session.commit()
    timings = {}
    with real_server(database_url, instance_path) as port:
        browser = HttpSession(port)
        _status, html = browser.request("GET", "/staff/login")
        status, _ = browser.request("POST", "/staff/login", {
            "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1),
            "email": INTAKE_READERS[0], "password": PASSWORD, "code": current_code(app, triager),
        })
        if status != 303:
            raise SystemExit(f"sign-in over HTTP failed: {status}")
        for name, path, rows in cases:
            for _ in range(2):
                _status, html = browser.request("GET", path)
            if rows is not None and len(report_ids_in(html)) != rows:
                raise SystemExit(f"{path} over HTTP: expected {rows} reports")
            samples = []
            for _ in range(repeat):
                start = time.perf_counter()
                status, _body = browser.request("GET", path)
                samples.append(time.perf_counter() - start)
                if status != 200:
                    raise SystemExit(f"{path} over HTTP: {status}")
            timings[name] = Timing(samples, 0, len(html.encode()) / 1024)
    db.session.rollback()
    return timings


# --- output -------------------------------------------------------------------------------------


def print_timings(title: str, timings: dict[str, Timing], *, statements: bool = True) -> None:
    print(f"\n{title}")
    print(f"  {'case':<34} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'SQL':>5} {'KiB':>7}")
    for name, timing in timings.items():
        sql = f"{timing.statements:>5}" if statements else f"{'—':>5}"
        print(f"  {name:<34} {timing.p50:>8.1f} {timing.percentile(0.95):>8.1f} {timing.percentile(0.99):>8.1f} "
              f"{sql} {timing.kib:>7.1f}")


def print_ratios(small: int, large: int, before: dict[str, Timing], after: dict[str, Timing]) -> None:
    print(f"\n{large:,} / {small:,} reports")
    print(f"  {'case':<34} {'p50 ratio':>10} {'p95 ratio':>10} {'SQL':>9}")
    worst_ratio, worst_p95 = 0.0, 0.0
    for name, timing in after.items():
        ratio50 = timing.p50 / before[name].p50
        ratio95 = timing.percentile(0.95) / before[name].percentile(0.95)
        worst_ratio, worst_p95 = max(worst_ratio, ratio50), max(worst_p95, timing.percentile(0.95))
        print(f"  {name:<34} {ratio50:>10.2f} {ratio95:>10.2f} {before[name].statements:>4} → {timing.statements:<3}")
    print(f"  worst p95 at {large:,}: {worst_p95:.1f} ms (target ≤ 50: {'met' if worst_p95 <= 50 else 'NOT met'}); "
          f"worst p50 ratio {worst_ratio:.2f} (target ≤ 1.5: {'met' if worst_ratio <= 1.5 else 'NOT met'})")


def fresh_g() -> None:
    """Give each request a clean `g`, as production does: the benchmark keeps an app context
    open for its own queries, and Flask lets requests reuse it (and its `g`)."""
    for name in list(vars(g)):
        delattr(g, name)


# --- the run ------------------------------------------------------------------------------------


@contextmanager
def throwaway_database() -> Iterator[str]:
    name = f"portal_bench_dashboard_{secrets.token_hex(4)}"
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def refuse_non_empty(database_url: str) -> None:
    """Never touch a database holding anything: the benchmark creates and drops its own tables."""
    engine = create_engine(database_url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise SystemExit(f"refusing to use {make_url(database_url).database!r}: it is not empty")


def run(urls: list[str], sizes: list[int], repeat: int, http_repeat: int, people: int, seed: int,
        drop_tables: bool) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="portal-dashboard-bench-") as workdir:
        instance_path = Path(workdir)
        create_secrets(instance_path)
        portals: list[Sized] = []
        try:
            for url, size in zip(urls, sizes, strict=True):
                print(f"building {size:,} reports", flush=True)
                portals.append(build(url, size, instance_path, rng))
            results = time_dashboards(portals, repeat)
            for size, timings in results.items():
                print_timings(f"dashboard at {size:,} reports (test client, {repeat} requests each, interleaved)", timings)
            print_ratios(sizes[0], sizes[-1], results[sizes[0]], results[sizes[-1]])
            largest = portals[-1]
            with largest.app.app_context():
                print_timings(f"report page at {largest.size:,} reports (test client)",
                              time_report_page(largest.app, repeat, people, rng))
                print_timings(f"over HTTP, `portal run`, at {largest.size:,} reports ({http_repeat} requests each)",
                              time_over_http(largest.app, largest.url, instance_path, http_repeat), statements=False)
        finally:
            for portal in portals:
                with portal.app.app_context():
                    db.session.rollback()
                    if drop_tables:
                        from flask_migrate import downgrade

                        downgrade(revision="base")
                    db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", action="append",
                        help="an EMPTY PostgreSQL database, once per size (default: throwaway ones on 127.0.0.1)")
    parser.add_argument("--sizes", default="1000,100000", help="report counts, smallest first (default 1000,100000)")
    parser.add_argument("--repeat", type=int, default=100, help="requests timed per case (default 100)")
    parser.add_argument("--quick", action="store_true", help="500 and 5,000 reports, fewer requests: under a minute")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    repeat, http_repeat, people = args.repeat, 30, PEOPLE
    if args.quick:
        sizes, repeat, http_repeat, people = [500, 5000], 15, 10, 1000
    if args.database_url:
        if len(args.database_url) != len(sizes):
            raise SystemExit(f"give --database-url once per size ({len(sizes)} times)")
        for url in args.database_url:
            refuse_non_empty(url)
        run(args.database_url, sizes, repeat, http_repeat, people, args.seed, drop_tables=True)
        return
    with ExitStack() as stack:
        urls = [stack.enter_context(throwaway_database()) for _ in sizes]
        run(urls, sizes, repeat, http_repeat, people, args.seed, drop_tables=False)


if __name__ == "__main__":
    main()
