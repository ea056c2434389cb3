"""Many reporters submitting at once, against a real server with the production Argon2id cost.

    .venv/bin/python bench/submit_load.py [--reporters 200] [--seconds 60]
        [--servers run,gunicorn-sync,gunicorn-threads] [--databases sqlite,postgresql]
        [--files-every 0]

For each server and database it sets up a throwaway portal with the `portal` command (init, one
organization, the recovery key, one triager; PostgreSQL gets a fresh database on 127.0.0.1 and the
portal is given Redis on 127.0.0.1:6379), starts the server as its own process, and runs N
reporters in threads for T seconds. Each reporter does what a browser does, again and again: GET
/report, fill in the form, POST it with the page's cookie and tokens, read the receipt off the
page. With --files-every K, every K-th report carries a 256 KiB evidence file.

Then it checks that nothing was lost: every receipt the server handed out opens a report holding
exactly the narrative sent with it (keyed lookup and one derivation, as /follow-up does), and the
offline recovery key's export decrypts every one of them, no more and no fewer.

How to read a line:

- "accepted" reports with a receipt, "errors" answers without one (5xx, a form back, a dropped
  connection), "lost" receipts that do not open their own report or are missing from the export.
  Target: 0 errors and 0 lost at 200 reporters for 60 s.
- "p50/p95/p99" the time from sending the form to the receipt page, as a reporter waits for it.
- "per s" reports accepted per second, and "vs floor": that rate divided by the floor measured in
  the same run, the rate at which this machine can do the submission's one deliberate Argon2id
  derivation alone, with as many running at once as the portal allows. A submission needs at
  least one derivation, so 1.0 is the ceiling; the release before this one derived twice per
  report and so could not pass 0.5.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from portal import crypto  # noqa: E402
from tests.live import LivePortal, Reporter, unique_narrative  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/15"
EVIDENCE = os.urandom(256 * 1024)


@dataclass
class Outcome:
    sent: dict[str, str] = field(default_factory=dict)  # receipt -> narrative
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def derivation_floor(seconds: float = 5.0) -> float:
    """Derivations per second at production cost, as many at once as the portal allows."""
    deadline = time.monotonic() + seconds
    count = 0
    guard = threading.Lock()

    def derive() -> None:
        nonlocal count
        while time.monotonic() < deadline:
            crypto.derive_key(b"floor", os.urandom(16), crypto.PRODUCTION_KDF)
            with guard:
                count += 1

    started = time.monotonic()
    threads = [threading.Thread(target=derive) for _ in range(crypto.MAX_CONCURRENT_DERIVATIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count / (time.monotonic() - started)


def reporter_loop(base: str, index: int, deadline: float, files_every: int, outcome: Outcome) -> None:
    sent = 0
    while time.monotonic() < deadline:
        sent += 1
        narrative = unique_narrative(f"bench {index}.{sent}")
        files = [("evidence.bin", EVIDENCE)] if files_every and (index + sent) % files_every == 0 else []
        started = time.monotonic()
        try:
            receipt = Reporter(base).submit_report(narrative, files)
        except Exception as exc:  # an error is what this counts, whatever its kind
            with outcome.lock:
                outcome.errors.append(f"{type(exc).__name__}: {exc}"[:160])
            continue
        with outcome.lock:
            outcome.latencies.append(time.monotonic() - started)
            outcome.sent[receipt] = narrative


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def postgres_database() -> tuple[str, callable]:
    name = f"portal_bench_{os.getpid()}_{int(time.time())}"
    admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"{POSTGRES}/{name}", drop


def run_one(server: str, database: str, args: argparse.Namespace, floor: float) -> bool:
    drop = None
    url, extra = None, {}
    if database == "postgresql":
        url, drop = postgres_database()
        extra = {"PORTAL_REDIS_URL": REDIS}
    with tempfile.TemporaryDirectory(prefix="portal-load-") as folder:
        portal = LivePortal(Path(folder), database_url=url, server=server, extra_env=extra).set_up()
        outcome = Outcome()
        try:
            portal.start()
            deadline = time.monotonic() + args.seconds
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(args.reporters) as pool:
                for index in range(args.reporters):
                    pool.submit(reporter_loop, portal.url, index, deadline, args.files_every, outcome)
            elapsed = time.monotonic() - started
        finally:
            portal.stop()
        opened = portal.narratives_opened_by(list(outcome.sent))
        wrong = [r for r, narrative in outcome.sent.items() if opened[r] != narrative]
        exported = sorted(record["answers"]["narrative"] for record in portal.recovery_export())
        missing = len(set(outcome.sent.values()) - set(exported))
        surplus = len(exported) - len(outcome.sent)
        log = portal.log_file.read_text(errors="replace")
        tracebacks = log.count("Traceback")
    if drop:
        drop()
    accepted = len(outcome.sent)
    rate = accepted / elapsed
    lost = len(wrong) + missing
    print(
        f"{server:17} {database:10} accepted {accepted:5}  errors {len(outcome.errors):4}  lost {lost:3}"
        f"  (export: {missing} missing, {surplus} extra; server tracebacks {tracebacks})"
        f"  p50 {statistics.median(outcome.latencies or [float('nan')]):6.2f} s"
        f"  p95 {percentile(outcome.latencies, 0.95):6.2f} s  p99 {percentile(outcome.latencies, 0.99):6.2f} s"
        f"  {rate:5.2f} per s  vs floor {rate / floor:4.2f}",
        flush=True,
    )
    for error in sorted(set(outcome.errors))[:5]:
        print(f"    error: {error}")
    return not outcome.errors and lost == 0 and surplus == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reporters", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--servers", default="run,gunicorn-sync,gunicorn-threads")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--files-every", type=int, default=0)
    args = parser.parse_args()
    floor = derivation_floor()
    print(
        f"floor: {floor:.2f} production Argon2id derivations per s "
        f"({crypto.MAX_CONCURRENT_DERIVATIONS} at once, {os.cpu_count()} CPUs); "
        f"{args.reporters} reporters for {args.seconds:g} s each run",
        flush=True,
    )
    results = [
        run_one(server, database, args, floor)
        for database in args.databases.split(",")
        for server in args.servers.split(",")
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
