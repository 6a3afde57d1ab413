"""How long from the item that triggers an alert to the alert stored (target: within 5 s).

Runs the real app in-process (``create_app``; the alert engine in its lifespan, the default rules
file) on a SQLite file or ``--database-url``, with a scripted predictor (labels from markers in the
text, so the burst is certain to be negative billing; the model's speed is measured elsewhere).
It seeds ``--items`` items over the last eight days (a week of baseline plus today), then posts a
burst of negative billing complaints one by one over HTTP, and watches the database for the alert.
Prints, with the machine it ran on: seeding time, the time one full check of all rules takes at
that size, and the latency from sending the triggering item's POST to the alert's commit.

    python benchmarks/bench_alerts.py --items 100000
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from nabiz.model.predictor import ModelInfo, Predictor, ScoredBatch
from nabiz.model.runtime import cpu_flags, cpu_name
from nabiz.serving.alerts.models import Alert
from nabiz.serving.app import create_app
from nabiz.serving.queue.db import make_engine, upgrade_database
from nabiz.serving.queue.models import Feedback, FeedbackLabel
from nabiz.settings import Settings
from nabiz.training.config import load_config

REPO = Path(__file__).resolve().parent.parent
TOPICS = ["fatura_odeme", "sebeke_hizmet_kalitesi", "musteri_hizmetleri", "uygulama_web", "diger"]
CHANNELS = ["sms", "web", "e-posta", "sosyal_medya", "telefon"]


class MarkerPredictor(Predictor):
    """Labels from markers such as ``[topic=fatura_odeme]`` in the text; the rest uniform."""

    def __init__(self, schema) -> None:
        self.schema = schema
        self.info = ModelInfo(name="markers", version="1.0", model_type="transformer")

    def compute_scores(self, texts: Sequence[str]) -> ScoredBatch:
        scores = {}
        for task in self.schema.tasks:
            rows = np.full((len(texts), task.num_labels), 1.0 / task.num_labels)
            for i, text in enumerate(texts):
                marked = [
                    j for j, label in enumerate(task.labels) if f"[{task.name}={label}]" in text
                ]
                if marked:
                    rows[i] = 0.0
                    rows[i, marked] = 1.0
            scores[task.name] = rows
        return ScoredBatch(scores=scores, truncated=np.zeros(len(texts), dtype=bool))


def cpu_line() -> str:
    return f"{cpu_name()}, {os.cpu_count()} logical CPUs, flags: {' '.join(cpu_flags()) or '-'}"


def seed(url: str, count: int, now: datetime) -> None:
    """``count`` items over the eight days before ``now``; ~10 % negative, P4, resolved."""
    rng = random.Random(7)
    engine = make_engine(url)
    rows, labels = [], []
    for i in range(count):
        received = now - timedelta(seconds=rng.uniform(120, 8 * 86400))
        topic, channel = rng.choice(TOPICS), rng.choice(CHANNELS)
        sentiment = "olumsuz" if rng.random() < 0.1 else "notr"
        tags = {"sentiment": sentiment, "topic": topic, "urgency": "dusuk", "aksiyon": "hayir"}
        rows.append(
            {
                "id": f"seed-{i}",
                "text": "metin",
                "channel": channel,
                "received_at": received,
                "created_at": received,
                "updated_at": received,
                "status": "resolved",
                "model_name": "seed",
                "model_version": "1",
                "labels": tags,
                "scores": {task: {label: 1.0} for task, label in tags.items()},
                "truncated": False,
                "priority_level": "P4",
                "priority_score": 0.1,
                "respond_by": received + timedelta(days=1),
                "priority_reasons": [],
                "priority_factors": {},
            }
        )
        labels += [{"feedback_id": f"seed-{i}", "task": t, "label": v} for t, v in tags.items()]
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(Feedback), rows[start : start + 5000])
        for start in range(0, len(labels), 20000):
            connection.execute(insert(FeedbackLabel), labels[start : start + 20000])
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000, help="items already stored")
    parser.add_argument("--burst", type=int, default=40, help="negative billing items posted")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    url = args.database_url or f"sqlite:///{workdir / 'alerts.db'}"
    upgrade_database(url)
    now = datetime.now(UTC)
    started = time.perf_counter()
    seed(url, args.items, now)
    seeded_s = time.perf_counter() - started

    schema = load_config(REPO / "configs" / "default.yaml").schema
    settings = Settings(database_url=url, alert_check_interval_s=3600, device="cpu")
    app = create_app(settings, predictor=MarkerPredictor(schema))
    sent: dict[str, float] = {}
    seen: dict[int, float] = {}
    stop = threading.Event()
    engine = make_engine(url)

    def watch() -> None:
        while not stop.is_set():
            with engine.connect() as connection:
                for alert_id in connection.scalars(select(Alert.id)):
                    seen.setdefault(alert_id, time.perf_counter())
            time.sleep(0.005)

    with TestClient(app) as client:
        check_times = []
        for _ in range(3):
            tick = time.perf_counter()
            app.state.alerts.check()
            check_times.append(time.perf_counter() - tick)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        for i in range(args.burst):
            item_id = f"burst-{i}"
            sent[item_id] = time.perf_counter()
            response = client.post(
                "/v1/feedback",
                json={
                    "id": item_id,
                    "text": f"Faturam yine yanlış #{i} [sentiment=olumsuz][topic=fatura_odeme]",
                    "channel": "sms",
                },
            )
            response.raise_for_status()
            time.sleep(0.05)  # a burst of complaints over a few seconds, not one request
        time.sleep(2)
        stop.set()
        watcher.join()
        with engine.connect() as connection:
            alerts = connection.execute(
                select(Alert.id, Alert.rule, Alert.group, Alert.numbers)
            ).all()
    engine.dispose()

    print(f"machine: {cpu_line()}; database: {make_engine(url).url.get_backend_name()}")
    print(f"stored items: {args.items} (seeded in {seeded_s:.1f} s); burst: {args.burst} posts")
    print(f"one full check of all rules: {', '.join(f'{t * 1000:.0f} ms' for t in check_times)}")
    for alert_id, rule, group, numbers in alerts:
        trigger = numbers.get("trigger_feedback_id")
        if trigger in sent and alert_id in seen:
            latency = seen[alert_id] - sent[trigger]
            print(f"alert {alert_id} ({rule}): {latency * 1000:.0f} ms, POST of {trigger} → stored")
        else:
            print(
                f"alert {alert_id} ({rule}, {group}): raised by the first check, no triggering item"
            )


if __name__ == "__main__":
    main()
