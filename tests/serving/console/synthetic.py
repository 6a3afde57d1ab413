"""Synthetic feedback for the console and report tests and benchmarks: each topic has its own
words, and the last week's billing complaints carry a new phrase, so root causes are known."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert

from nabiz.serving.queue.models import Feedback, FeedbackLabel

TOPIC_WORDS = {
    "fatura_odeme": ["fatura", "ödeme", "tahsilat", "ücret"],
    "urun_paket": ["kargo", "teslimat", "cihaz", "paket"],
    "sebeke_hizmet_kalitesi": ["internet", "bağlantı", "modem", "hız"],
    "musteri_hizmetleri": ["temsilci", "çağrı", "bekleme", "operatör"],
}
NEW_PHRASE = "çift çekim"  # appears only in the last week's billing complaints
CHANNELS = ["web", "call_center"]
SENTIMENTS = ["olumsuz", "notr", "olumlu"]
URGENCIES = ["dusuk", "orta", "yuksek"]
LEVELS = ["P1", "P2", "P3", "P4"]
ALL_TOPICS = [
    "fatura_odeme", "fiyat_kampanya", "musteri_hizmetleri", "uygulama_web",
    "sebeke_hizmet_kalitesi", "urun_paket", "iptal_tasima", "reklam_mesaj", "magaza_bayi", "diger",
]  # fmt: skip
SCHEMA_LABELS = {
    "sentiment": SENTIMENTS,
    "topic": ALL_TOPICS,
    "urgency": URGENCIES,
    "aksiyon": ["hayir", "evet"],
}


def _scores(task: str, chosen: str) -> dict[str, float]:
    """The chosen label at 0.8, the rest sharing 0.2, in the default schema's order."""
    labels = SCHEMA_LABELS[task]
    rest = 0.2 / (len(labels) - 1)
    return {label: 0.8 if label == chosen else rest for label in labels}


def scored_rows(
    n: int, start: datetime | None = None, days: int = 28, seed: int = 0
) -> pd.DataFrame:
    """``n`` rows shaped like the output of ``nabiz score`` (input columns: id, metin, kanal,
    tarih, nps), spread over ``days`` days before ``start``."""
    rng = np.random.default_rng(seed)
    start = start or datetime(2026, 11, 30, tzinfo=UTC)
    topics = list(TOPIC_WORDS)
    topic = rng.choice(topics, n)
    offsets = rng.uniform(0, days * 86400, n)
    received = [start - timedelta(seconds=float(s)) for s in offsets]
    last_week = np.array([s < 7 * 86400 for s in offsets])
    negative = rng.random(n) < 0.4
    # the last week: a burst of negative billing complaints about a double charge
    burst = last_week & (rng.random(n) < 0.3)
    topic = np.where(burst, "fatura_odeme", topic)
    negative = negative | burst
    texts = []
    for i in range(n):
        words = list(rng.choice(TOPIC_WORDS[topic[i]], 2))
        text = f"{words[0]} konusunda sorun var, {words[1]} hala çözülmedi"
        if burst[i]:
            text = f"kartımdan {NEW_PHRASE} yapıldı, {words[0]} iadesi gelmedi"
        texts.append(text)
    sentiment = np.where(negative, "olumsuz", rng.choice(["notr", "olumlu"], n))
    urgency = rng.choice(URGENCIES, n)
    level = np.where(negative & (urgency == "yuksek"), "P1", rng.choice(LEVELS[1:], n))
    hours = np.where(level == "P1", 4, 24)
    respond_by = [r + timedelta(hours=int(h)) for r, h in zip(received, hours, strict=True)]
    nps = np.where(negative, rng.integers(0, 7, n), rng.integers(6, 11, n))
    frame = pd.DataFrame(
        {
            "id": [f"k{i}" for i in range(n)],
            "metin": texts,
            "kanal": rng.choice(CHANNELS, n),
            "tarih": [r.isoformat() for r in received],
            "nps": nps,
            "sentiment": sentiment,
            "sentiment_score": 0.9,
            "sentiment_scores": json.dumps({"olumsuz": 0.9}),
            "topic": topic,
            "topic_score": 0.8,
            "topic_scores": "{}",
            "urgency": urgency,
            "urgency_score": 0.7,
            "urgency_scores": "{}",
            "truncated": False,
            "priority_level": level,
            "priority_score": 0.5,
            "respond_by": [r.isoformat() for r in respond_by],
            "priority_reasons": "[]",
            "error": None,
        }
    )
    return frame


def seed_queue(engine: Engine, scored: pd.DataFrame, model_name: str = "synthetic") -> None:
    """Store ``scored`` rows (as :func:`scored_rows` makes them) in a migrated queue database,
    in bulk: what the API would have stored had it tagged these texts this way, in the order they
    arrived (as a live queue stores them; the ids are in another order, like clients' ids)."""
    now = datetime.now(UTC)
    items, labels = [], []
    times = pd.to_datetime(scored["tarih"], utc=True, format="ISO8601")
    arrived = scored.iloc[times.argsort(kind="stable")]
    for row in arrived.itertuples(index=False):
        tags = {
            "sentiment": row.sentiment,
            "topic": row.topic,
            "urgency": row.urgency,
            "aksiyon": "evet",
        }
        items.append(
            {
                "id": row.id,
                "text": row.metin,
                "channel": row.kanal,
                "received_at": datetime.fromisoformat(row.tarih),
                "created_at": now,
                "updated_at": now,
                "status": "open",
                "model_name": model_name,
                "model_version": "0",
                "labels": tags,
                "scores": {task: _scores(task, label) for task, label in tags.items()},
                "truncated": False,
                "priority_level": row.priority_level,
                "priority_score": {"P1": 0.9, "P2": 0.6, "P3": 0.3, "P4": 0.1}[row.priority_level],
                "respond_by": datetime.fromisoformat(row.respond_by),
                "priority_reasons": [f"seviye {row.priority_level}", f"kanal: {row.kanal}"],
                "priority_factors": {},
                "survey_kind": "nps",
                "survey_score": int(row.nps),
            }
        )
        for task, label in tags.items():
            labels.append({"feedback_id": row.id, "task": task, "label": label})
    with engine.begin() as connection:
        for start in range(0, len(items), 5_000):
            connection.execute(insert(Feedback), items[start : start + 5_000])
        for start in range(0, len(labels), 20_000):
            connection.execute(insert(FeedbackLabel), labels[start : start + 20_000])
