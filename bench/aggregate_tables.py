"""Time the aggregate report's tables on many triage records.

    .venv/bin/python bench/aggregate_tables.py [--records 1000000] [--database-url URL] [--repeat 3]

It sets up a throwaway portal (instance secrets and an SQLite database in a temporary folder, or
the empty PostgreSQL database given with --database-url, whose tables it drops at the end) and
fills it with N reports as triage leaves them: received over three years, most with statistical
consent and triaged, a community, province, incident month and perpetrator type, one to three
tactic codes each, some linked to a campaign or to an official, some marked as duplicates and
some judged unlikely. Rows go in with bulk inserts (SQLAlchemy core in batches of 10,000, or COPY
on PostgreSQL), then ANALYZE (VACUUM ANALYZE on PostgreSQL), as a live database would have been.

The benchmark measures counting, not encryption: the sealed columns (answers, wrapped keys, the
reporter's keypair) hold short placeholder bytes, which counting never reads.

Figures, each timed --repeat times (first and best):

- "count": `counting.count` over the three years, every table of the report. Target: under 10 s
  for a million records. The eligible total is checked against the one known while generating.
- "build_report": counting plus disclosure control of every table.
- "render_pdf": the English PDF of that report, charts included.
- then each query of one more `counting.count`, slowest first, to say where the time goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Table, event, insert, inspect, select, text
from sqlalchemy.engine import make_url

from portal import create_app, taxonomy
from portal.db import db
from portal.instance import create_secrets
from portal.officials.models import Campaign, CampaignLink, IncidentLink, Person
from portal.reports.models import Report, ReportTactic
from portal.statistics import counting, report

BATCH = 10_000
FIRST_DAY = dt.date(2023, 1, 1)
DAYS = 3 * 365
PERIOD = counting.Period(FIRST_DAY, FIRST_DAY + dt.timedelta(days=DAYS - 1))
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PLACEHOLDER = b"\x00"  # stands in for every sealed column
#: People incidents are linked to; the first two count for the diplomatic or consular headline.
PEOPLE = (("Bench Diplomat", "diplomatic"), ("Bench Consul", "consular"), ("Bench Agent", "none"))

COMMUNITIES = [code for code, _label in taxonomy.COMMUNITIES] + [None]
PROVINCES = [code for code, _label in taxonomy.PROVINCES] + [None]
PERPETRATORS = [code for code, _label in taxonomy.PERPETRATORS] + [None]
CREDIBILITIES = ["confirmed", "likely", "possible", None, None, "unlikely"]
MONTHS = [dt.date(year, month, 1) for year in range(2022, 2026) for month in range(1, 13)] + [None]


@dataclass
class Generated:
    reports: int = 0
    tactics: int = 0
    campaign_links: int = 0
    incident_links: int = 0
    duplicates: int = 0
    eligible: int = 0


def triage_records(count: int, campaign_ids: list[int], person_ids: list[int], seed: int) -> Iterator[
    tuple[list[dict], list[dict], list[dict], list[dict], int]
]:
    """Yield batches of (reports, tactic rows, campaign links, incident links, eligible in batch)."""
    rng = random.Random(seed)
    codes = list(taxonomy.TACTIC_CODES)
    # Skewed like real reports: a few tactics and communities dominate.
    code_weights = [1 / (rank + 1) for rank in range(len(codes))]
    for start in range(1, count + 1, BATCH):
        reports, tactics, campaigns, links, eligible = [], [], [], [], 0
        for report_id in range(start, min(start + BATCH, count + 1)):
            consent = rng.random() < 0.9
            triaged = rng.random() < 0.9
            duplicate_of = rng.randrange(1, report_id) if report_id > 1 and rng.random() < 0.02 else None
            credibility = rng.choice(CREDIBILITIES)
            reports.append({
                "id": report_id,
                "received_on": FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS)),
                "status": "received",
                "lookup_id": report_id.to_bytes(32, "big"),
                "receipt_verifier": "placeholder",
                "reporter_public_key": PLACEHOLDER,
                "reporter_private_key_locked": PLACEHOLDER,
                "reporter_wrapped_key": PLACEHOLDER,
                "answers_sealed": PLACEHOLDER,
                "consent_statistics": consent,
                "consent_referral": False,
                "consent_contact": False,
                "awaiting_reply": False,
                "triaged_at": NOW if triaged else None,
                "severity": None,
                "credibility": credibility,
                "community": rng.choices(COMMUNITIES, weights=range(len(COMMUNITIES), 0, -1))[0],
                "province": rng.choice(PROVINCES),
                "incident_month": rng.choice(MONTHS),
                "perpetrator_type": rng.choice(PERPETRATORS),
                "duplicate_of_id": duplicate_of,
            })
            eligible += consent and triaged and duplicate_of is None and credibility != "unlikely"
            chosen, wanted = set(), rng.randint(1, 3)
            while len(chosen) < wanted:
                chosen.add(rng.choices(codes, weights=code_weights)[0])
            tactics += [{"report_id": report_id, "code": code} for code in sorted(chosen)]
            if rng.random() < 0.1:
                campaigns.append({"report_id": report_id, "campaign_id": rng.choice(campaign_ids)})
            if rng.random() < 0.005:
                links.append({
                    "report_id": report_id, "person_id": rng.choice(person_ids), "entity_id": None,
                    "involvement": "suspected", "confidence": "possible", "basis": "reporter_identified",
                    "created_by": None, "created_at": NOW,
                })
        yield reports, tactics, campaigns, links, eligible


def copy_rows(table: Table, rows: list[dict]) -> None:
    """Load rows with PostgreSQL's COPY, through the session's own connection."""
    if not rows:
        return
    columns = list(rows[0])
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
        f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def insert_rows(table: Table, rows: list[dict]) -> None:
    """Load rows with one executemany of a core insert."""
    if rows:
        db.session.execute(insert(table), rows)


def fill(count: int, seed: int) -> Generated:
    generated = Generated()
    postgres = db.engine.dialect.name == "postgresql"
    load = copy_rows if postgres else insert_rows
    campaign_ids = list(db.session.scalars(text("SELECT id FROM campaigns ORDER BY id")))
    person_ids = []
    for name, status in PEOPLE:
        person = Person(name_latin=name, status=status, version=1)
        db.session.add(person)
        db.session.flush()
        person_ids.append(person.id)
    for reports, tactics, campaigns, links, eligible in triage_records(count, campaign_ids, person_ids, seed):
        load(Report.__table__, reports)
        load(ReportTactic.__table__, tactics)
        load(CampaignLink.__table__, campaigns)
        load(IncidentLink.__table__, links)
        db.session.commit()
        generated.reports += len(reports)
        generated.tactics += len(tactics)
        generated.campaign_links += len(campaigns)
        generated.incident_links += len(links)
        generated.duplicates += sum(row["duplicate_of_id"] is not None for row in reports)
        generated.eligible += eligible
        if generated.reports % 100_000 == 0:
            print(f"  {generated.reports:,} reports inserted", flush=True)
    if postgres:  # explicit ids leave the sequence behind; keep it usable, as a real load would
        db.session.execute(text("SELECT setval('reports_id_seq', (SELECT max(id) FROM reports))"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # Bulk-loaded rows are not yet vacuumed: the first scans would pay for setting hint bits.
        connection.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))
    return generated


def timed(function: Callable[[], object], repeat: int) -> tuple[object, list[float]]:
    samples, result = [], None
    for _ in range(repeat):
        db.session.expire_all()
        start = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - start)
        db.session.rollback()
    return result, samples


def query_times() -> list[tuple[float, str]]:
    """Run `counting.count` once more, timing each statement it sends."""
    times: list[tuple[float, str]] = []

    def before(conn, _cursor, _statement, _parameters, _context, _executemany) -> None:  # noqa: ANN001
        conn.info["query_started"] = time.perf_counter()

    def after(conn, _cursor, statement, _parameters, _context, _executemany) -> None:  # noqa: ANN001
        selected = " ".join(statement.split()).removeprefix("SELECT ").split(" FROM ", 1)[0]
        selected = re.sub(r"CASE report_tactics\.code WHEN .*? END", "<tactic group of code>", selected)
        times.append((time.perf_counter() - conn.info.pop("query_started"), selected[:80]))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        counting.count(db.session, PERIOD)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
        db.session.rollback()
    return sorted(times, reverse=True)


def seconds(samples: list[float]) -> str:
    return f"first {samples[0]:.2f} s, best {min(samples):.2f} s"


def print_counts(counts: counting.Counts, built: report.AggregateReport) -> None:
    print(f"eligible reports counted: {counts.total:,}")
    for table in built.tables:
        suppressed = sum(cell.suppressed for cell in table.protected.cells)
        total = table.protected.total
        shown = "x" if total.suppressed else f"{total.value:,}"
        print(f"  {table.key:<13} {len(table.labels):>3} categories, {suppressed:>2} suppressed, total {shown}")
    for key, cell in built.headline:
        print(f"  headline {key:<13} {'x' if cell.suppressed else f'{cell.value:,}'}")


def run(records: int, database_url: str | None, workdir: Path, repeat: int, seed: int) -> None:
    instance_path = workdir / "instance"
    create_secrets(instance_path)
    url = database_url or f"sqlite:///{workdir / 'portal.db'}"
    app = create_app({"PORTAL_INSTANCE_PATH": str(instance_path), "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        try:
            print(f"{make_url(url).get_backend_name()}: inserting {records:,} triage records")
            start = time.perf_counter()
            generated = fill(records, seed)
            print(f"inserted {generated.reports:,} reports, {generated.tactics:,} tactic codes, "
                  f"{generated.campaign_links:,} campaign links, {generated.incident_links:,} incident "
                  f"links, {generated.duplicates:,} duplicates in {time.perf_counter() - start:.1f} s")

            counts, count_times = timed(lambda: counting.count(db.session, PERIOD), repeat)
            built, build_times = timed(lambda: report.build_report(db.session, PERIOD), repeat)
            titles = report.campaign_titles(db.session.scalars(select(Campaign)), "en")
            pdf, pdf_times = timed(lambda: report.render_pdf(built, "en", titles, generated=NOW), repeat)

            print_counts(counts, built)
            if counts.total != generated.eligible:
                raise SystemExit(f"counted {counts.total:,}, but {generated.eligible:,} are eligible")
            print(f"count:        {seconds(count_times)}  (target: under 10 s)")
            print(f"build_report: {seconds(build_times)}")
            print(f"render_pdf:   {seconds(pdf_times)}, {len(pdf):,} bytes")
            print("queries of one count, slowest first:")
            for elapsed, selected in query_times():
                print(f"  {elapsed:5.2f} s  SELECT {selected}")
        finally:
            db.session.rollback()
            if database_url:
                db.drop_all()
                with db.engine.begin() as connection:
                    connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.engine.dispose()


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="triage records to generate (default 1,000,000)")
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database to use instead of SQLite")
    parser.add_argument("--repeat", type=int, default=3, help="times each step is timed (default 3)")
    parser.add_argument("--seed", type=int, default=2025, help="seed of the generated records")
    args = parser.parse_args()
    if args.database_url:
        refuse_non_empty(args.database_url)
    with tempfile.TemporaryDirectory(prefix="portal-aggregate-bench-") as workdir:
        run(args.records, args.database_url, Path(workdir), args.repeat, args.seed)


if __name__ == "__main__":
    main()
