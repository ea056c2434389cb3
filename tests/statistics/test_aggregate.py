"""Aggregate reports end to end: which reports are counted, the tables in every format and in
French, disclosure control in what is rendered, who may export, the campaign pages and
`portal aggregate`. The suppression rules themselves are tested in test_disclosure.py."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import secrets
from pathlib import Path

import pytest
from babel.numbers import get_group_symbol
from flask_babel import force_locale, gettext
from sqlalchemy import insert, select

from portal.cli import main
from portal.db import db
from portal.officials.models import Campaign, CampaignLink
from portal.orgs.models import StaffMember
from portal.reports.models import Report, ReportTactic
from portal.statistics import counting, disclosure, report
from tests.officials import add_person, events, file_report, linked, pdf_text, signed_in

PERIOD = counting.Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
PERIOD_ARGS = ("--since", "2025-01-01", "--until", "2025-12-31")
PERIOD_QUERY = "since=2025-01-01&until=2025-12-31"
IN_PERIOD = dt.date(2025, 6, 2)
TRIAGED_AT = dt.datetime(2025, 6, 3, 9, tzinfo=dt.UTC)
GENERATED = dt.datetime(2025, 12, 31, 12, tzinfo=dt.UTC)
#: What a staff member hides from the reader: which suppressed figures were small.
REASONS = ("primary", "complementary")


# --- building reports ---------------------------------------------------------------------------


def campaign_id(slug: str) -> int:
    return db.session.scalar(select(Campaign.id).where(Campaign.slug == slug))


def incident(
    app, *, tactics: tuple[str, ...] = ("THR-HARASS",), community: str | None = "uyghur",
    province: str | None = "ON", month: str | None = "2025-03", perpetrator: str | None = "china_police",
    received: dt.date = IN_PERIOD, statistics: bool = True, triaged: bool = True,
    credibility: str | None = None, duplicate_of: int | None = None, campaigns: tuple[str, ...] = (),
) -> int:
    """Submit a report as the form would, then give it the triage record staff would enter."""
    report_id = file_report(app, statistics=statistics)
    row = db.session.get(Report, report_id)
    row.received_on = received
    row.triaged_at = TRIAGED_AT if triaged else None
    row.tactics = [ReportTactic(code=code) for code in tactics]
    row.community, row.province, row.perpetrator_type = community, province, perpetrator
    row.incident_month = dt.date.fromisoformat(f"{month}-01") if month else None
    row.credibility, row.duplicate_of_id = credibility, duplicate_of
    db.session.add_all(CampaignLink(report_id=report_id, campaign_id=campaign_id(slug)) for slug in campaigns)
    db.session.commit()
    return report_id


def incidents(app, count: int, **triage: object) -> list[int]:
    return [incident(app, **triage) for _ in range(count)]


def bulk_incidents(count: int, *, tactics: tuple[str, ...], community: str, province: str, month: str,
                   perpetrator: str) -> None:
    """Insert many counted reports at once: placeholder bytes stand in for the sealed columns,
    which counting never reads."""
    rows = [
        {
            "received_on": IN_PERIOD, "status": "received",
            "lookup_id": secrets.token_bytes(32),
            "receipt_verifier": "placeholder", "reporter_public_key": b"-",
            "reporter_private_key_locked": b"-", "reporter_wrapped_key": b"-", "answers_sealed": b"-",
            "consent_statistics": True, "consent_referral": False, "consent_contact": False,
            "awaiting_reply": False, "triaged_at": TRIAGED_AT, "community": community,
            "province": province, "incident_month": dt.date.fromisoformat(f"{month}-01"),
            "perpetrator_type": perpetrator,
        }
        for _ in range(count)
    ]
    ids = db.session.scalars(
        insert(Report.__table__).returning(Report.__table__.c.id, sort_by_parameter_order=True), rows
    ).all()
    db.session.execute(
        insert(ReportTactic.__table__), [{"report_id": i, "code": code} for i in ids for code in tactics]
    )
    db.session.commit()


@pytest.fixture
def ready(factory):
    """An intake organization with a triager and the recovery key: reports are accepted."""
    factory.portal_ready()


@pytest.fixture
def period_reports(app, ready) -> dict[str, list[int]]:
    """Thirty-one reports: 25 counted in three groups of 12, 11 and 2, and six that must not be.

    Every left-out report but the duplicate carries codes no counted report has, so a leak shows
    up as a category of its own.
    """
    uyghur = incidents(app, 12, tactics=("THR-HARASS", "PRX-CONTACT"), credibility="likely",
                       campaigns=("uyghur-incarceration",))
    hong_kong = incidents(app, 11, tactics=("DIG-HACK", "LEG-BOUNTY"), community="hong_kong", province="BC",
                          month="2025-04", perpetrator="hk_nsd", campaigns=("hong-kong-bounties",))
    tibetan = incidents(app, 2, tactics=("PHY-STALK",), community="tibetan", province="QC", month="2025-05",
                        perpetrator="united_front", credibility="confirmed", campaigns=("hong-kong-bounties",))
    left_out = [
        # No statistical consent, though triaged, linked to a campaign and to a diplomat.
        incident(app, statistics=False, tactics=("INS-STATION",), community="falun_gong", province="MB",
                 month="2025-07", perpetrator="prc_diplomat", campaigns=("hong-kong-bounties",)),
        # Not triaged yet.
        incident(app, triaged=False, tactics=("INS-CAMPUS",), community="democracy", province="NS",
                 month="2025-08", perpetrator="intelligence"),
        # The same incident as the first Uyghur report: counted once, through that one.
        incident(app, tactics=("THR-HARASS", "PRX-CONTACT"), duplicate_of=uyghur[0],
                 campaigns=("uyghur-incarceration",)),
        # Judged unlikely.
        incident(app, credibility="unlikely", tactics=("DIG-SMEAR",), community="other", province="SK",
                 month="2025-09", perpetrator="online_unknown"),
        # Received the day before the period starts, and the day after it ends.
        incident(app, received=dt.date(2024, 12, 31), tactics=("PHY-PROP",), community="taiwanese",
                 province="AB", month="2024-12", perpetrator="proxy"),
        incident(app, received=dt.date(2026, 1, 1), tactics=("THR-RETURN",), community="taiwanese",
                 province="YT", month="2025-12", perpetrator="proxy"),
    ]
    diplomat = add_person(status="diplomatic")
    for report_id in (uyghur[0], uyghur[1], left_out[0]):
        linked(report_id, diplomat)
    return {"uyghur": uyghur, "hong_kong": hong_kong, "tibetan": tibetan, "left_out": left_out}


# --- reading what was published -----------------------------------------------------------------


def title(key: str, lang: str = "en") -> str:
    with force_locale(lang):
        return gettext(dict((k, t) for k, t, _pick in report.TABLES)[key])


def headline_title(key: str, lang: str = "en") -> str:
    with force_locale(lang):
        return gettext(dict(report.HEADLINES)[key])


def csv_figures(content: bytes) -> dict[tuple[str, str], str]:
    """Every figure of a CSV export by (table title, code); a table's total has the code ""."""
    _header, *rows = csv.reader(io.StringIO(content.decode("utf-8")))
    return {(table, code): figure for table, _category, code, figure in rows}


def csv_table(content: bytes, key: str, lang: str = "en") -> dict[str, str]:
    return {code: figure for (table, code), figure in csv_figures(content).items() if table == title(key, lang)}


def page_tables(page: str) -> dict[str, dict[str, str]]:
    """The tables of a rendered report, by table key: category name to figure."""
    assert "&lt;table" not in page, "the report's tables are shown as escaped markup, not as tables"
    sections = re.findall(r'<h2 id="h-(\w+)">[^<]*</h2>\s*<table.*?<tbody>(.*?)</tbody>', page, re.S)
    return {
        key: {html.unescape(name): html.unescape(figure)
              for name, figure in re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", body)}
        for key, body in sections
    }


def pdf_sections(text: str, lang: str = "en") -> dict[str, str]:
    """The text of a PDF report under each table's heading, up to the next heading."""
    with force_locale(lang):
        headings = [*(title(key, lang) for key, _t, _p in report.TABLES), gettext("Methods")]
    # In order, each after the last: "Incidents by tactic" is also the start of "… tactic group".
    bounds, position = [], 0
    for heading in headings:
        start = text.index(heading, position)
        position = start + len(heading)
        bounds.append((start, position))
    return {
        key: text[end:next_start]
        for (key, _t, _p), (_start, end), (next_start, _end) in zip(report.TABLES, bounds, bounds[1:], strict=False)
    }


def pdf_total(section: str) -> str:
    """A table's total as printed, thousands separators removed."""
    (total,) = re.findall(r"Total (x|\d{1,3}(?:\s\d{3})*)(?!\d)", section)
    return re.sub(r"\s", "", total)


def exported(runner, tmp_path: Path, *args: str, name: str = "out") -> bytes:
    out = tmp_path / name
    result = runner.invoke(main, ["aggregate", *PERIOD_ARGS, "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


# --- what is counted ----------------------------------------------------------------------------


def test_only_consented_triaged_credible_originals_of_the_period_are_counted(app, period_reports):
    counts = counting.count(db.session, PERIOD)

    assert counts.total == 25
    assert counts.by_tactic == {"DIG-HACK": 11, "LEG-BOUNTY": 11, "PHY-STALK": 2, "PRX-CONTACT": 12, "THR-HARASS": 12}
    assert counts.by_tactic_group == {"DIG": 11, "LEG": 11, "PHY": 2, "PRX": 12, "THR": 12}
    assert counts.by_community == {"hong_kong": 11, "tibetan": 2, "uyghur": 12}
    assert counts.by_province == {"BC": 11, "ON": 12, "QC": 2}
    assert counts.by_month == {"2025-03": 12, "2025-04": 11, "2025-05": 2}
    assert counts.by_perpetrator == {"china_police": 12, "hk_nsd": 11, "united_front": 2}
    assert counts.by_campaign == {"hong-kong-bounties": 13, "uyghur-incarceration": 12}
    assert (counts.bounty_related, counts.diplomatic_or_consular) == (11, 2)


def test_small_counts_print_as_x_and_counts_of_ten_or_more_are_published(app, period_reports):
    built = report.build_report(db.session, PERIOD)
    content = report.render_csv(built, "en", {})

    assert csv_table(content, "province") == {"BC": "x", "ON": "12", "QC": "x", "": "25"}
    assert csv_table(content, "community") == {"hong_kong": "x", "tibetan": "x", "uyghur": "12", "": "25"}
    assert csv_table(content, "month") == {"2025-03": "12", "2025-04": "x", "2025-05": "x", "": "25"}
    assert csv_figures(content)[headline_title("diplomatic"), "diplomatic"] == "x"  # 2 reports
    assert csv_figures(content)[headline_title("bounty"), "bounty"] == "11"


def test_a_perpetrator_recorded_as_unknown_and_one_not_recorded_are_both_counted(app, ready):
    incidents(app, 10, perpetrator="unknown")  # the triage code for "I don't know"
    incidents(app, 10, perpetrator=None)  # not recorded yet

    counts = counting.count(db.session, PERIOD)

    assert counts.total == 20
    assert sum(counts.by_perpetrator.values()) == 20, counts.by_perpetrator


# --- French ---------------------------------------------------------------------------------------


def test_french_figures_use_the_french_thousands_separator(app):
    separator = get_group_symbol("fr")

    assert separator in ("\u202f", "\u00a0")  # narrow no-break space, or no-break space in older CLDR
    assert report.figure(disclosure.ProtectedCell(1249), "fr") == f"1{separator}249"
    assert report.figure(disclosure.ProtectedCell(1249), "en") == "1,249"
    assert report.figure(disclosure.ProtectedCell(None, True, "primary"), "fr") == "x"


def test_the_french_pdf_has_french_headings_and_numbers_and_the_csv_totals(app, ready, runner, tmp_path):
    bulk_incidents(1234, tactics=("THR-HARASS",), community="uyghur", province="ON", month="2025-03",
                   perpetrator="china_police")
    bulk_incidents(12, tactics=("DIG-HACK",), community="hong_kong", province="BC", month="2025-04",
                   perpetrator="hk_nsd")
    bulk_incidents(3, tactics=("PHY-STALK",), community="tibetan", province="QC", month="2025-05",
                   perpetrator="united_front")

    text = pdf_text(exported(runner, tmp_path, "--lang", "fr", "--format", "pdf", name="fr.pdf"))
    content = exported(runner, tmp_path, "--lang", "fr", "--format", "csv", name="fr.csv")

    assert "Incidents par groupe de tactiques" in text  # as in portal/translations/fr
    assert "Incidents by" not in text
    with force_locale("fr"):
        assert gettext("Key figures") in text and gettext("Methods") in text
    assert " ".join(disclosure.methods_text(10, False, "fr")[1].split()) in text
    sections = pdf_sections(text, "fr")
    assert set(sections) == {key for key, _t, _p in report.TABLES}
    assert "Total 1 249" in sections["province"]  # 1 249: the no-break space extracts as a space
    totals = {key: pdf_total(section) for key, section in sections.items()}
    assert totals == {key: csv_table(content, key, "fr")[""] for key in totals}
    assert totals["community"] == "1249" and totals["campaign"] == "0"


# --- same data, same bytes ------------------------------------------------------------------------


def test_two_csv_exports_are_identical(app, period_reports, runner, tmp_path):
    first = exported(runner, tmp_path, "--format", "csv", name="first.csv")
    second = exported(runner, tmp_path, "--format", "csv", name="second.csv")

    assert first == second


def test_two_pdf_exports_differ_at_most_in_their_generation_time(app, period_reports, runner, tmp_path):
    first = exported(runner, tmp_path, "--format", "pdf", name="first.pdf")
    second = exported(runner, tmp_path, "--format", "pdf", name="second.pdf")
    built = report.build_report(db.session, PERIOD)

    def without_time(content: bytes) -> str:
        return re.sub(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "Generated …", pdf_text(content))

    assert without_time(first) == without_time(second)
    assert report.render_pdf(built, "en", {}, generated=GENERATED) == report.render_pdf(
        built, "en", {}, generated=GENERATED
    )


# --- disclosure control in every output -----------------------------------------------------------


@pytest.fixture
def analyst(factory, ready):
    return factory.staff("analyst@example.org", role="analyst")


def test_a_small_cell_and_its_complement_print_as_x_in_csv_page_and_pdf(app, period_reports, analyst):
    client = signed_in(app, analyst)
    content = client.get(f"/staff/statistics?{PERIOD_QUERY}&format=csv").get_data()
    page = client.get(f"/staff/statistics?{PERIOD_QUERY}").get_data(as_text=True)
    text = pdf_text(client.get(f"/staff/statistics?{PERIOD_QUERY}&format=pdf").get_data())

    # Quebec (2) is small; British Columbia (11) is suppressed with it, or 25 - 12 would give it.
    assert csv_table(content, "province") == {"BC": "x", "ON": "12", "QC": "x", "": "25"}
    assert page_tables(page)["province"] == {"British Columbia": "x", "Ontario": "12", "Quebec": "x", "Total": "25"}
    assert "British Columbia x Ontario 12 Quebec x Total 25" in pdf_sections(text)["province"]


def test_why_a_figure_was_suppressed_is_never_published(app, period_reports, analyst):
    client = signed_in(app, analyst)
    query = f"/staff/statistics?{PERIOD_QUERY}"
    # The page around the report has a "button primary"; the report starts at its key figures.
    page = client.get(query).get_data(as_text=True)
    outputs = {
        "csv": client.get(f"{query}&format=csv").get_data(as_text=True),
        "html": client.get(f"{query}&format=html").get_data(as_text=True),
        "page": page[page.index("h-key"):],
        "pdf": pdf_text(client.get(f"{query}&format=pdf").get_data()),
    }

    assert "x" in csv_table(outputs["csv"].encode(), "province").values()
    for name, output in outputs.items():
        # Case-sensitive: the methods annex explains "Complementary suppression" by name.
        assert not [reason for reason in REASONS if reason in output], name


def test_rounded_figures_are_multiples_of_five_and_repeat_exactly(app, period_reports, runner, tmp_path):
    first = exported(runner, tmp_path, "--format", "csv", "--round", name="first.csv")
    second = exported(runner, tmp_path, "--format", "csv", "--round", name="second.csv")

    figures = csv_figures(first)
    published = {where: figure for where, figure in figures.items() if where[0] != "Note" and figure != "x"}
    assert published, figures
    assert {where: figure for where, figure in published.items() if int(figure) % 5} == {}
    assert first == second


def test_the_bounty_headline_does_not_give_away_a_suppressed_tactic(app, ready):
    incidents(app, 20, tactics=("THR-HARASS",))
    incidents(app, 12, tactics=("LEG-BOUNTY",))
    incidents(app, 3, tactics=("PHY-STALK",))

    content = report.render_csv(report.build_report(db.session, PERIOD), "en", {})

    # LEG-BOUNTY (12) partners PHY-STALK (3) in the tactic table; published as a headline, it
    # would give PHY-STALK back: 35 - 20 - 12.
    assert csv_table(content, "tactic") == {"LEG-BOUNTY": "x", "PHY-STALK": "x", "THR-HARASS": "20", "": "35"}
    assert csv_figures(content)[headline_title("bounty"), "bounty"] == "x"


def test_no_suppressed_tactic_can_be_worked_out_from_its_group(app, ready):
    # One tactic a report, so each group's count is the sum of its tactics' counts.
    incidents(app, 20, tactics=("THR-HARASS",))
    incidents(app, 12, tactics=("THR-VIOL",))
    incidents(app, 15, tactics=("PHY-ASSAULT",))
    incidents(app, 3, tactics=("PHY-STALK",))

    content = report.render_csv(report.build_report(db.session, PERIOD), "en", {})
    tactics, groups = csv_table(content, "tactic"), csv_table(content, "tactic_group")

    assert tactics["PHY-STALK"] == "x"
    recoverable = []
    for group, figure in groups.items():
        members = [code for code in tactics if counting.GROUP_OF_CODE.get(code) == group]
        hidden = [code for code in members if tactics[code] == "x"]
        if figure != "x" and len(hidden) == 1:  # group - the published members = the hidden one
            recoverable.append((hidden[0], int(figure) - sum(int(tactics[c]) for c in members if c not in hidden)))
    assert recoverable == []


# --- who may see and export -----------------------------------------------------------------------


def test_a_triager_cannot_open_the_aggregate_reports(app, ready):
    triager = db.session.scalars(select(StaffMember).where(StaffMember.role == "triager")).one()
    client = signed_in(app, triager)

    assert client.get("/staff/statistics").status_code == 404
    assert client.get(f"/staff/statistics?{PERIOD_QUERY}&format=csv").status_code == 404


@pytest.mark.parametrize("role", ["analyst", "org_admin"])
def test_analysts_and_organization_administrators_can_download_every_format(app, factory, ready, role):
    client = signed_in(app, factory.staff(f"{role}@example.org", role=role))
    assert client.get("/staff/statistics").status_code == 200
    assert client.get(f"/staff/statistics?{PERIOD_QUERY}").status_code == 200

    for fmt, mime in (("csv", "text/csv"), ("pdf", "application/pdf"), ("html", "text/html")):
        response = client.get(f"/staff/statistics?{PERIOD_QUERY}&format={fmt}")
        assert response.status_code == 200, fmt
        assert response.headers["Content-Type"].startswith(mime)
        assert response.headers["Content-Disposition"] == f'attachment; filename="aggregate-2025-01-01-2025-12-31-en.{fmt}"'


@pytest.mark.parametrize(("query", "error"), [
    ("since=2025-12-31&until=2025-01-01", "The end must not be before the start."),
    ("since=2025-01-01&until=2025-12-31&threshold=3", "Between 5 and 100"),
    ("since=not-a-date&until=2025-12-31", "Give a date."),
    ("since=not-a-date&until=2025-12-31&format=pdf", "Give a date."),
])
def test_bad_input_is_explained_not_an_error(app, analyst, query, error):
    response = signed_in(app, analyst).get(f"/staff/statistics?{query}")

    assert response.status_code == 422
    assert re.search(rf'class="field-errors">{re.escape(error)}', response.get_data(as_text=True))
    assert events("statistics_exported") == []


def test_exports_are_audited_and_the_page_is_not(app, analyst):
    client = signed_in(app, analyst)
    client.get(f"/staff/statistics?{PERIOD_QUERY}")
    for fmt in ("csv", "pdf", "html"):
        client.get(f"/staff/statistics?{PERIOD_QUERY}&format={fmt}")

    db.session.expire_all()
    recorded = events("statistics_exported")
    assert [(event.actor_staff_id, event.target_type) for event in recorded] == [(analyst.id, "period")] * 3
    assert [json.loads(event.details)["format"] for event in recorded] == ["csv", "pdf", "html"]


# --- campaign pages -------------------------------------------------------------------------------


def test_a_campaign_page_counts_only_its_linked_reports_with_the_same_suppression(app, period_reports, analyst):
    tables = page_tables(signed_in(app, analyst).get("/staff/campaigns/hong-kong-bounties").get_data(as_text=True))

    # Linked and counted: 11 Hong Kong reports (DIG-HACK, LEG-BOUNTY) and 2 Tibetan (PHY-STALK);
    # the linked report without consent is not counted, nor any Uyghur report.
    assert set(tables) == {"tactic_group", "tactic", "month"}
    assert {name.rsplit("(", 1)[-1].rstrip(")"): figure for name, figure in tables["tactic"].items()} == {
        "DIG-HACK": "x", "LEG-BOUNTY": "11", "PHY-STALK": "x", "Total": "24",
    }
    assert tables["month"] == {"2025-04": "x", "2025-05": "x", "Total": "13"}


# --- the command line -----------------------------------------------------------------------------


def test_portal_aggregate_writes_the_file_and_shows_its_progress(app, period_reports, runner, tmp_path):
    out = tmp_path / "aggregate.csv"
    result = runner.invoke(main, ["aggregate", *PERIOD_ARGS, "--format", "csv", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert "Counting" in result.output
    assert f"Wrote {out}" in result.output
    assert csv_table(out.read_bytes(), "province")[""] == "25"
    (event,) = events("statistics_exported")
    assert json.loads(event.details)["via"] == "cli"


def test_portal_aggregate_refuses_a_period_that_ends_before_it_starts(app, runner, tmp_path):
    out = tmp_path / "aggregate.csv"
    result = runner.invoke(main, ["aggregate", "--since", "2025-12-31", "--until", "2025-01-01",
                                  "--format", "csv", "--out", str(out)])

    assert result.exit_code == 2
    assert "--until is before --since" in result.output
    assert not out.exists()
