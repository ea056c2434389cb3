"""`portal demo`: a few hundred clearly fake, triaged reports that make every page show figures.

The demo is loaded through the same services as real use, so the tests read it back the way
staff and analysts would: decrypted with the recovery key, on the statistics page signed in as
the demo analyst, in the PDF and its charts, on the campaign pages and in a dossier.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from pypdf import PdfReader
from sqlalchemy import func, select

from portal import create_app, crypto, demo
from portal.cli import main
from portal.db import db
from portal.officials.models import CampaignLink, DossierSignoff, IncidentLink, Person
from portal.orgs.models import Organization, StaffMember
from portal.reports import counters
from portal.reports.models import STATUS_RANKS, Report, StatusChange
from portal.reports.services import recovery_export
from portal.taxonomy import COMMUNITIES, PERPETRATORS
from tests.conftest import (
    TEST_KDF,
    _config,
    _fresh_g,
    hidden_value,
    postgres_database_beside_the_test_one,
    sign_in,
)
from tests.statistics.test_aggregate import page_tables
from tests.statistics.test_charts import (
    assert_drawn_as_published,
    assert_months_drawn_as_published,
    svg_charts,
)

TODAY = dt.date.today()
PERIOD = demo.demo_period(TODAY)
PERIOD_QUERY = f"since={PERIOD.since.isoformat()}&until={PERIOD.until.isoformat()}"
#: The fill and stroke colour of the report's charts, as the PDF writes it.
CHART_COLOUR = r"\.043137 \.32549 \.580392"


def load(app, recovery_key_out: Path, today: dt.date = TODAY) -> list[str]:
    return list(demo.load_demo(
        db.session, recovery_key_out=recovery_key_out, kdf=TEST_KDF,
        totp_key=app.config["PORTAL_SECRETS"].totp_key, lookup_key=app.config["PORTAL_SECRETS"].lookup_key,
        today=today,
    ))


@pytest.fixture(scope="module")
def demo_database(instance_path, tmp_path_factory) -> Iterator[tuple[Flask, Path]]:
    """A database of its own with the demo loaded once, for the tests that only read it (loading
    takes seconds even with cheap Argon2id: 300 sealed reports, their keys and triage)."""
    key_file = tmp_path_factory.mktemp("demo") / "demo-recovery.txt"
    with own_database(tmp_path_factory) as url:
        app = create_app(_config(instance_path, url))
        app.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)
        with app.app_context():
            upgrade()
            load(app, key_file)
            db.session.remove()
        yield app, key_file
        with app.app_context():
            db.engine.dispose()


@contextmanager
def own_database(tmp_path_factory) -> Iterator[str]:
    """SQLite in a folder of its own, or a PostgreSQL database beside the test one."""
    if not os.environ.get("PORTAL_TEST_DATABASE_URL"):
        yield f"sqlite:///{tmp_path_factory.mktemp('demo-db') / 'demo.db'}"
        return
    with postgres_database_beside_the_test_one("demo") as url:
        yield url


@pytest.fixture
def demo_app(demo_database) -> Iterator[Flask]:
    """The app on the loaded demo, its context open for one test."""
    app, _key_file = demo_database
    with app.app_context():
        yield app
        db.session.remove()


def staff(email: str) -> StaffMember:
    return db.session.scalar(select(StaffMember).where(StaffMember.email == email))


def signed_in_as(app, email: str):
    client = app.test_client()
    sign_in(app, client, staff(email), password=demo.DEMO_PASSWORD)
    return client


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def published(figure: str) -> bool:
    return re.fullmatch(r"\d[\d,\s\u202f\u00a0]*", figure) is not None


def number(figure: str) -> int:
    return int(re.sub(r"\D", "", figure))


def code_of(name: str) -> str:
    """A tactic or group label ends with its code in brackets: 'In person (PHY)'."""
    return name.rsplit("(", 1)[-1].rstrip(")")


# --- what is generated ----------------------------------------------------------------------------


def test_the_demo_reports_are_generated_the_same_way_every_time():
    first, again = demo.demo_reports(TODAY), demo.demo_reports(TODAY)
    assert first == again

    def shape(day: dt.date):
        """What the statistics see, with months counted from the start of the period (-1: none)."""
        since = demo.demo_period(day).since
        reports = demo.demo_reports(day)
        months = [demo.triage_from_answers(r.answers)["incident_month"] for r in reports]
        return sorted(
            (tuple(r.answers["tactics"]), r.answers["province"], r.answers["communities"][0],
             r.answers["perpetrators"][0], r.credibility, r.consent.statistics, r.duplicate_of is None, r.campaigns,
             -1 if m is None else (m.year - since.year) * 12 + m.month - since.month)
            for r, m in zip(reports, months, strict=True)
        )

    # Another day moves the dates, not what is counted: the figures do not depend on the day.
    assert shape(TODAY) == shape(dt.date(2031, 3, 1)) == shape(dt.date(2027, 2, 28))


def test_the_demo_reports_are_clearly_fake_and_spread_over_eighteen_months():
    reports = demo.demo_reports(TODAY)
    assert 300 <= len(reports) <= 400
    assert all(r.answers["narrative"].startswith(demo.DEMO_MARK) for r in reports)
    assert all(PERIOD.since <= r.received_on <= PERIOD.until <= TODAY for r in reports)
    assert (PERIOD.until - PERIOD.since).days in range(540, 552)
    received_months = Counter(r.received_on.strftime("%Y-%m") for r in reports)
    assert len(received_months) == 18 and min(received_months.values()) >= 5
    triage = [demo.triage_from_answers(r.answers) for r in reports]
    assert {t["community"] for t in triage} == {code for code, _ in COMMUNITIES}
    assert {t["perpetrator_type"] for t in triage} == {code for code, _ in PERPETRATORS}
    assert len({t["province"] for t in triage}) >= 6
    assert len({code for t in triage for code in t["tactics"]}) >= 20
    assert len({slug for r in reports for slug in r.campaigns}) >= 6
    assert {org for r in reports for org in r.organizations} == {slug for slug, _n, _d in demo.DEMO_ORGANIZATIONS}
    # Several tactics per report, as reporters describe them.
    assert Counter(len(t["tactics"]) for t in triage)[1] < len(reports) / 2


# --- what is loaded -------------------------------------------------------------------------------


def test_the_demo_loads_every_report_triaged_and_through_the_services(demo_app):
    reports = db.session.scalars(select(Report).order_by(Report.id)).all()
    assert len(reports) == demo.REPORT_COUNT
    assert all(r.triaged_at is not None and r.severity and r.credibility for r in reports)
    assert all(r.status != "received" and r.status_rank == STATUS_RANKS[r.status] for r in reports)
    assert all(r.triaged_at.date() >= r.received_on for r in reports)
    # Every status was set with a (sealed) reason, as the report page records it.
    assert db.session.scalar(select(func.count(func.distinct(StatusChange.report_id)))) == len(reports)
    # Each receipt lock was made with the instance's Argon2id cost, and each receipt is its own.
    assert all(TEST_KDF.encode() in r.receipt_verifier for r in reports)
    assert len({r.lookup_id for r in reports}) == len(reports)
    # Shared across the member organizations; every report with the intake team.
    shared = Counter(org.slug for r in reports for org in r.organizations)
    assert shared["intake"] == len(reports)
    assert all(shared[slug] >= 20 for slug, _n, _d in demo.DEMO_ORGANIZATIONS)
    # Links to the fictional officials and to campaigns.
    assert db.session.scalar(select(func.count()).select_from(IncidentLink).where(IncidentLink.person_id.is_not(None))) >= 40
    assert db.session.scalar(select(func.count(func.distinct(CampaignLink.campaign_id)))) >= 6
    assert all(p.name_latin.startswith("DEMO ") for p in db.session.scalars(select(Person)))
    # The dashboard counters agree with the reports (kept by the database triggers).
    intake = db.session.scalar(select(Organization).where(Organization.slug == "intake"))
    shown = counters.organization_counters(db.session, intake.id)
    assert shown.new == 0
    assert shown.unassigned == sum(1 for r in reports if r.assignee_id is None and r.status != "closed") > 0


def test_every_triage_record_agrees_with_what_the_reporter_answered(demo_app, demo_database):
    private_key = crypto.dearmor_private_key(demo_database[1].read_text())
    rows = {r.id: r for r in db.session.scalars(select(Report))}
    exported = list(recovery_export(db.session, private_key))
    assert len(exported) == len(rows)
    for record in exported:
        answers, report = record["answers"], rows[record["report_id"]]
        assert answers["narrative"].startswith(demo.DEMO_MARK)
        assert report.tactic_codes == sorted(answers["tactics"])
        assert report.province == answers["province"]
        assert report.community == answers["communities"][0]
        assert report.perpetrator_type == answers["perpetrators"][0]
        assert (answers["bounty"] == "yes") == ("LEG-BOUNTY" in report.tactic_codes)
        assert report.consent_statistics is answers["consent_statistics"]
        if answers["when_precision"] in ("day", "month", "approximate", "range"):
            assert report.incident_month.strftime("%Y-%m") == answers["when_start"][:7]
            assert report.incident_month <= report.received_on
        else:
            assert report.incident_month is None
        if report.duplicate_of_id is not None:
            original = rows[report.duplicate_of_id]
            assert original.tactic_codes == report.tactic_codes and original.received_on <= report.received_on


# --- what staff and analysts see ------------------------------------------------------------------


def test_the_statistics_page_for_the_demo_period_shows_published_figures(demo_app):
    client = signed_in_as(demo_app, "analyst@intake.demo.invalid")
    statistics = page(client, f"/staff/statistics?{PERIOD_QUERY}")
    tables = page_tables(statistics)
    assert set(tables) == {"tactic_group", "tactic", "community", "province", "month", "perpetrator", "campaign"}
    figures = [figure for table in tables.values() for figure in table.values()]
    assert sum(map(published, figures)) >= 0.75 * len(figures)
    for key, table in tables.items():
        assert published(table["Total"]), key
        assert sum(published(figure) for name, figure in table.items() if name != "Total") >= 3, key
    counted = number(tables["community"]["Total"])
    assert 0.8 * demo.REPORT_COUNT <= counted < demo.REPORT_COUNT  # some left out: consent, duplicates
    assert all(published(figure) for figure in tables["community"].values())
    # Every month of the period has a published figure, so the trend can be read.
    months = {name: figure for name, figure in tables["month"].items() if re.fullmatch(r"\d{4}-\d\d", name)}
    assert len(months) == 18 and all(map(published, months.values()))
    # The key figures too: bounties, and incidents linked to diplomatic or consular personnel.
    key_figures = re.search(r'<dl class="answers">(.*?)</dl>', statistics, re.S).group(1)
    assert [published(html.unescape(f)) for f in re.findall(r"<dd>(.*?)</dd>", key_figures)] == [True, True]
    # Still protected: the smallest categories are suppressed, not published.
    assert "x" in figures


def chart_shapes(pdf: bytes) -> tuple[list[float], list[float]]:
    """The bars (heights) and the line (heights of its points) drawn in the PDF's charts."""
    streams = "\n".join(p.get_contents().get_data().decode("latin-1") for p in PdfReader(io.BytesIO(pdf)).pages)
    bars = [float(h) for h in re.findall(CHART_COLOUR + r" rg\n(?:[^\n]*\n){5}n [\d.]+ [\d.]+ [\d.]+ ([\d.]+) re", streams)]
    lines = re.findall(CHART_COLOUR + r" RG\n(?:[^\n]*\n){4}n ([^\n]*)\nS", streams)
    assert len(lines) == 1, "one line chart: incidents by month"
    points = [float(y) for y in re.findall(r"[\d.]+ ([\d.]+) [ml]", lines[0])]
    return bars, [y - 40 for y in points]  # the plot's baseline is 40 points up


def test_the_charts_of_the_demo_statistics_are_drawn_from_the_published_figures(demo_app):
    client = signed_in_as(demo_app, "analyst@intake.demo.invalid")
    statistics = page(client, f"/staff/statistics?{PERIOD_QUERY}")
    pdf_link = html.unescape(re.search(r'<a href="([^"]*format=pdf[^"]*)">PDF</a>', statistics).group(1))
    response = client.get(pdf_link)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    bars, line = chart_shapes(response.get_data())

    tables = page_tables(statistics)
    # Suppressed groups are drawn as zero; the published ones as bars of their height.
    groups = [number(f) if published(f) else 0 for name, f in tables["tactic_group"].items() if name != "Total"]
    drawn = [height for height in bars if height > 0]
    assert len(drawn) >= 5 and len(bars) <= len(groups)
    scale = max(drawn) / max(groups)
    assert drawn == pytest.approx([g * scale for g in groups if g > 0], rel=1e-3)

    months = [number(f) if published(f) else 0 for name, f in tables["month"].items() if re.fullmatch(r"\d{4}-\d\d", name)]
    assert len(line) == len(months) == 18 and min(line) > 0 and len(set(line)) > 3
    assert line == pytest.approx([m * max(line) / max(months) for m in months], rel=1e-3)

    # The page itself draws them too, as inline SVG: a bar per published group, a point per month.
    on_page = svg_charts(statistics)
    group_names = [name for name in tables["tactic_group"] if name != "Total"]
    assert_drawn_as_published(on_page["tactic_group"], tables["tactic_group"], group_names)
    assert len(on_page["tactic_group"].marks) >= 5
    assert_months_drawn_as_published(on_page["month"], tables["month"])
    assert [len(run) for run in on_page["month"].lines] == [18]  # every month published: one unbroken line


def test_campaign_pages_show_figures(demo_app):
    client = signed_in_as(demo_app, "analyst@intake.demo.invalid")
    listing = page(client, "/staff/campaigns")
    assert "/staff/campaigns/harassment-operations" in listing
    for slug, groups in (("harassment-operations", 4), ("uyghur-incarceration", 1), ("hong-kong-bounties", 1)):
        tables = page_tables(page(client, f"/staff/campaigns/{slug}"))
        assert published(tables["tactic_group"]["Total"]), slug
        published_groups = [code_of(n) for n, f in tables["tactic_group"].items() if n != "Total" and published(f)]
        assert len(published_groups) >= groups, (slug, tables["tactic_group"])
    bounties = page_tables(page(client, "/staff/campaigns/hong-kong-bounties"))
    assert published(next(f for n, f in bounties["tactic"].items() if code_of(n) == "LEG-BOUNTY"))


def test_dossiers_show_the_incidents_linked_to_demo_officials(demo_app):
    client = signed_in_as(demo_app, "orgadmin@hongkong.demo.invalid")
    linked = dict(db.session.execute(
        select(IncidentLink.person_id, func.count()).where(IncidentLink.person_id.is_not(None))
        .group_by(IncidentLink.person_id)
    ).all())
    assert len(linked) == len(demo.DEMO_PEOPLE) and min(linked.values()) >= 3
    busiest = max(linked, key=linked.get)
    person_page = page(client, f"/staff/officials/people/{busiest}")
    by_tactic, by_month = re.search(
        rf"{linked[busiest]} reported incidents are linked[^<]*</p>\s*<p>(.*?)</p>\s*<p>(.*?)</p>", person_page, re.S
    ).groups()
    # Incidents by tactic (a report may have several) and by month, as the linked reports have
    # them (the figures, whatever the labels beside them look like).
    reports = db.session.scalars(
        select(Report).join(IncidentLink, IncidentLink.report_id == Report.id).where(IncidentLink.person_id == busiest)
    ).all()
    tactics = Counter(code for r in reports for code in r.tactic_codes)
    months = Counter((r.incident_month or r.received_on).strftime("%Y-%m") for r in reports)
    assert len(months) >= 3
    assert sorted(map(int, re.findall(r": (\d+)", by_tactic))) == sorted(tactics.values())
    assert sorted(map(int, re.findall(r": (\d+)", by_month))) == sorted(months.values())
    # Prepared by the demo administrator, waiting for a second member's sign-off.
    signoff = db.session.scalar(select(DossierSignoff).where(DossierSignoff.person_id == busiest))
    assert signoff is not None and signoff.signed_by is None
    assert signoff.prepared_by == staff("admin@intake.demo.invalid").id


# --- loading again, and where it must not load ----------------------------------------------------


def table_sizes() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Organization, StaffMember, Report, Person, IncidentLink, CampaignLink, StatusChange)
    }


def test_running_the_demo_twice_adds_nothing(demo_app, tmp_path):
    before = table_sizes()
    again = load(demo_app, tmp_path / "second.txt")
    assert again[0] == f"Demo data is already loaded ({demo.REPORT_COUNT} reports)."
    assert len(again) == 1
    db.session.expire_all()
    assert table_sizes() == before
    assert not (tmp_path / "second.txt").exists()


def test_the_demo_refuses_a_portal_that_already_has_data(app, factory, tmp_path):
    factory.organization("real-group", "A real member organization")
    with pytest.raises(demo.DemoRefused, match="empty portal"):
        load(app, tmp_path / "key.txt")
    db.session.expire_all()
    assert table_sizes()["Organization"] == 1 and table_sizes()["Report"] == 0
    assert not (tmp_path / "key.txt").exists()


def test_the_demo_refuses_to_overwrite_a_key_file(app, tmp_path):
    existing = tmp_path / "key.txt"
    existing.write_text("someone's file")
    with pytest.raises(demo.DemoRefused, match="already exists"):
        load(app, existing)
    assert existing.read_text() == "someone's file"
    assert table_sizes()["Organization"] == 0


def code_from(otpauth_uri: str) -> str:
    """What an authenticator app set up from this link shows now."""
    import base64
    import time
    from urllib.parse import parse_qs, urlsplit

    from portal.orgs.services import totp_for

    key = parse_qs(urlsplit(otpauth_uri).query)["secret"][0]
    return totp_for(base64.b32decode(key + "=" * (-len(key) % 8))).generate(int(time.time())).decode()


def test_portal_demo_through_the_command_line(app, runner, tmp_path):
    key_file = tmp_path / "demo.key"
    result = runner.invoke(main, ["demo", "--recovery-out", str(key_file)])
    assert result.exit_code == 0, result.output
    assert "fictitious" in result.output and demo.DEMO_PASSWORD in result.output
    assert f"since={PERIOD.since.isoformat()}&until={PERIOD.until.isoformat()}" in result.output
    assert re.search(r"Done in \d+ s\.", result.output)
    # Only the three showcase reports' receipts are shown; every other receipt is gone.
    assert len(re.findall(r"receipt (\d{5}(?: \d{5}){4})", result.output)) == 3
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert db.session.scalar(select(func.count(Report.id))) == demo.REPORT_COUNT
    # Each demo account's authenticator key is printed, and its codes sign that account in.
    uris = dict(re.findall(r"staff (\S+) .*\n    key [A-Z2-7 ]+  (otpauth://\S+)", result.output))
    assert sorted(uris) == sorted(email for email, _org, _role in demo.DEMO_STAFF)
    email = demo.DEMO_STAFF[0][0]
    client = app.test_client()
    login = client.get("/staff/login").get_data(as_text=True)
    signed_in = client.post("/staff/login", data={
        "csrf_token": hidden_value(login, "csrf_token"), "email": email, "password": demo.DEMO_PASSWORD,
        "code": code_from(uris[email]),
    })
    assert signed_in.headers["Location"] == "/staff/"

    before = table_sizes()
    again = runner.invoke(main, ["demo", "--recovery-out", str(tmp_path / "other.key")])
    assert again.exit_code == 0, again.output
    assert "already loaded" in again.output
    db.session.expire_all()
    assert table_sizes() == before
    assert not (tmp_path / "other.key").exists()


def test_portal_demo_fails_with_a_reason_on_a_portal_in_use(app, runner, factory, tmp_path):
    factory.organization("real-group", "A real member organization")
    result = runner.invoke(main, ["demo", "--recovery-out", str(tmp_path / "demo.key")])
    assert result.exit_code == 1
    assert "only loaded into an empty portal" in result.output
    assert "Traceback" not in result.output
