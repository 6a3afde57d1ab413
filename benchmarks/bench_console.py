"""Console server times with 100,000 items stored, and the report for 100,000 scored rows.

Queue page: ``GET /v1/queue`` (50 items: what the console's queue page asks for) against a queue
database holding ``--items`` synthetic items (SQLite file and, when reachable, PostgreSQL),
timed inside the app (the app's own request-latency histogram is not used: each request is timed
around the in-process ASGI call, which is the server's time without the network). Also the
insight endpoints the trends/root-cause/survey pages call. Report: ``write_report`` on a CSV of
``--rows`` synthetic scored rows (as ``nabiz report`` runs it).

Each figure is wall time and this process's CPU time (``time.process_time``: SQLite's work
included, PostgreSQL's server process not): on a shared machine a niced benchmark waits for the
CPU, and the CPU time is what the request itself cost. PostgreSQL gets ``VACUUM ANALYZE`` after
the bulk load, as autovacuum would give it within a minute (the test server runs with autovacuum
off); ``--no-vacuum`` times the fresh load instead (no statistics, no visibility map).

    python benchmarks/bench_console.py [--items 100000] [--rows 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import git_revision, machine_description

from nabiz.model.tiny import make_tiny_model
from nabiz.serving.app import create_app
from nabiz.serving.console.report import write_report
from nabiz.serving.queue.db import make_engine, upgrade_database
from nabiz.settings import Settings
from nabiz.training.config import load_config
from tests.serving.console.synthetic import scored_rows, seed_queue

REPO = Path(__file__).resolve().parent.parent
QUEUE_REQUESTS = {
    "queue page 1": "/v1/queue?limit=50",
    "queue page 1000 (offset 49,950)": "/v1/queue?limit=50&offset=49950",
    "queue P1 + topic filter": "/v1/queue?limit=50&level=P1&topic=fatura_odeme",
    "queue overdue": "/v1/queue?limit=50&overdue=true",
}
INSIGHT_REQUESTS = {
    "trends (day, by topic)": "/v1/insights/trends?period=day",
    "root causes (fatura_odeme, week)": "/v1/insights/root-causes?topic=fatura_odeme",
    "survey (week)": "/v1/insights/survey",
}


def time_requests(client: httpx.Client, path: str, repeat: int) -> tuple[list[float], list[float]]:
    """(wall ms, CPU ms) of ``repeat`` requests after one warm-up."""
    client.get(path).raise_for_status()  # warm caches once
    wall, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        client.get(path).raise_for_status()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return wall, cpu


def show(label: str, wall: list[float], cpu: list[float]) -> None:
    print(
        f"  {label:36s} p50 {statistics.median(wall):8.1f} ms  max {max(wall):8.1f} ms"
        f"  cpu p50 {statistics.median(cpu):7.1f} ms",
        flush=True,
    )


def load() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


def bench_backend(
    name: str, url: str, model_dir: Path, items: int, repeat: int, vacuum: bool = True
) -> None:
    upgrade_database(url)
    engine = make_engine(url, timeout_s=600)
    started = time.perf_counter()
    seed_queue(engine, scored_rows(items, start=datetime.now(UTC), seed=1))
    print(f"\n[{name}] {items:,} items stored in {time.perf_counter() - started:.0f} s; {load()}")
    if vacuum and engine.dialect.name == "postgresql":
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE (what autovacuum does): {time.perf_counter() - started:.0f} s")
    engine.dispose()
    # No alert rules: the alert engine's checks of 100,000 items are bench_alerts.py's subject
    # and would take CPU from the requests timed here.
    rules = model_dir.parent / "no_alert_rules.yaml"
    rules.write_text("version: 1\nrules: {}\n", encoding="utf-8")
    settings = Settings(
        model_dir=model_dir, database_url=url, device="cpu", precision="fp32", alert_rules=rules
    )
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings)) as client:
        for label, path in QUEUE_REQUESTS.items():
            show(label, *time_requests(client, path, repeat))
        for label, path in INSIGHT_REQUESTS.items():
            show(label, *time_requests(client, path, max(3, repeat // 5)))
    print(f"  {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-queue", action="store_true")
    parser.add_argument("--skip-report", action="store_true")
    parser.add_argument("--no-vacuum", action="store_true", help="PostgreSQL as bulk-loaded")
    args = parser.parse_args()
    print(f"bench_console @ {git_revision()}: {machine_description()}; {load()}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        model_dir = make_tiny_model(
            root / "model", load_config(REPO / "configs/default.yaml").schema
        )
        if not args.skip_queue:
            bench_backend(
                "SQLite", f"sqlite:///{root / 'q.db'}", model_dir, args.items, args.repeat
            )
            bench_postgres(args.postgres, model_dir, args.items, args.repeat, not args.no_vacuum)
        if args.skip_report:
            return
        scored_rows(args.rows, seed=2).to_csv(root / "scored.csv", index=False)
        used = time.process_time()
        seconds = write_report(root / "scored.csv", root / "report.html")
        cpu = time.process_time() - used
        size = (root / "report.html").stat().st_size
        print(
            f"\n[report] {args.rows:,} scored rows: {seconds:.1f} s (cpu {cpu:.1f} s), "
            f"{size / 1024:.0f} KiB HTML; {load()}"
        )


def bench_postgres(
    admin_url: str, model_dir: Path, items: int, repeat: int, vacuum: bool = True
) -> None:
    try:
        import psycopg
    except ImportError:
        print("\n[PostgreSQL] skipped: psycopg is not installed")
        return
    from sqlalchemy import make_url

    admin = make_url(admin_url).set(drivername="postgresql")
    try:
        connection = psycopg.connect(
            admin.render_as_string(hide_password=False), autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError as error:
        print(f"\n[PostgreSQL] skipped: not reachable ({error})")
        return
    name = f"nabiz_bench_{uuid.uuid4().hex[:8]}"
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            url = admin.set(drivername="postgresql+psycopg", database=name)
            bench_backend(
                "PostgreSQL",
                url.render_as_string(hide_password=False),
                model_dir,
                items,
                repeat,
                vacuum,
            )
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
