"""The insight endpoints' answers built from the database's counts (:mod:`.aggregate`).

Each function gives what its frame counterpart in :mod:`.analytics` gives for the same items
(the HTML report still computes from a frame: a scored file has no database), with the same
ordering rules; tests/serving/console/test_aggregate.py checks both on one fixture, on SQLite
and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nabiz.serving.console.aggregate import AnswerCount, ScoreCount, TopicCount, TrendCount
from nabiz.serving.console.analytics import (
    ALL,
    SURVEY_NAMES,
    Period,
    _num,
    every_period,
    survey_value,
)
from nabiz.serving.console.rootcause import changes_from_counts


def trends_from_counts(
    counts: Sequence[TrendCount], period: Period, by: str, span: Sequence[str] = ()
) -> dict[str, Any]:
    """:func:`.analytics.trends` from per (period, key) counts; ``span``: the periods the
    requested window begins and ends in (:func:`.analytics.every_period`)."""
    periods = every_period((c.period for c in counts), period, span)
    position = {p: i for i, p in enumerate(periods)}
    known = all(c.negative is not None for c in counts)  # not: a model without sentiment

    def series(key: str, rows: Iterable[TrendCount]) -> dict[str, Any]:
        volume, negative = [0] * len(periods), [0] * len(periods)
        urgency, urgent = [0] * len(periods), [0] * len(periods)
        for c in rows:
            i = position[c.period]
            volume[i] += c.volume
            negative[i] += c.negative or 0
            urgency[i] += c.urgency_sum
            urgent[i] += c.urgency_count
        return {
            "key": key,
            "volume": volume,
            "negative_share": [
                _ratio(n, v) if known else None for n, v in zip(negative, volume, strict=True)
            ],
            "mean_urgency": [_ratio(u, k) for u, k in zip(urgency, urgent, strict=True)],
        }

    by_key: dict[str, list[TrendCount]] = defaultdict(list)
    for c in counts:
        if c.key is not None:
            by_key[str(c.key)].append(c)
    keyed = [series(key, by_key[key]) for key in sorted(by_key)]
    keyed.sort(key=lambda s: -sum(s["volume"]))
    return {"period": period, "by": by, "periods": periods, "series": [series(ALL, counts), *keyed]}


def _ratio(part: int, whole: int) -> float | None:
    return _num(part / whole) if whole else None


def answer_times_from_counts(counts: Sequence[AnswerCount]) -> list[dict[str, Any]]:
    """:func:`.analytics.answer_times` from per-channel counts."""
    rows = []
    for c in sorted(counts, key=lambda c: c.channel):
        known = c.within + c.late
        rows.append(
            {
                "channel": c.channel,
                "items": c.items,
                "within": c.within,
                "late": c.late,
                "pending": c.pending,
                "within_share": c.within / known if known else None,
            }
        )
    return sorted(rows, key=lambda r: -r["items"])


@dataclass
class _Scores:
    responses: int = 0
    total: int = 0
    promoters: int = 0
    detractors: int = 0
    satisfied: int = 0

    def add(self, c: ScoreCount | _Scores, sign: int = 1) -> None:
        self.responses += sign * c.responses
        self.total += sign * c.total
        self.promoters += sign * c.promoters
        self.detractors += sign * c.detractors
        self.satisfied += sign * c.satisfied

    def value(self, kind: str) -> float | None:
        return survey_value(
            kind, self.responses, self.total, self.promoters, self.detractors, self.satisfied
        )


def _cells(rows: Sequence[ScoreCount], key: str) -> dict[str, _Scores]:
    cells: dict[str, _Scores] = defaultdict(_Scores)
    for c in rows:
        cells[getattr(c, key)].add(c)
    return {k: cells[k] for k in sorted(cells)}


def _cell(kind: str, key: str, scores: _Scores) -> dict[str, Any]:
    return {"key": key, "value": scores.value(kind), "responses": scores.responses}


def survey_from_counts(counts: Sequence[ScoreCount]) -> list[dict[str, Any]]:
    """:func:`.analytics.survey_metrics` from per (kind, period, channel, topic) counts."""
    out = []
    for kind in ("nps", "csat", "ces"):
        rows = [c for c in counts if c.kind == kind]
        if not rows:
            continue
        overall = _Scores()
        for c in rows:
            overall.add(c)
        value = overall.value(kind)
        by_topic = []
        for topic, scores in _cells(rows, "topic").items():
            rest = _Scores()
            rest.add(overall)
            rest.add(scores, -1)
            without = rest.value(kind)
            by_topic.append(
                {
                    **_cell(kind, topic, scores),
                    "impact": None if without is None or value is None else without - value,
                }
            )
        by_topic.sort(key=lambda c: -(c["impact"] or 0.0))
        by_channel = [_cell(kind, k, s) for k, s in _cells(rows, "channel").items()]
        out.append(
            {
                "kind": kind,
                "name": SURVEY_NAMES[kind],
                "value": value,
                "responses": overall.responses,
                "by_period": [_cell(kind, k, s) for k, s in _cells(rows, "period").items()],
                "by_channel": sorted(by_channel, key=lambda c: -c["responses"]),
                "by_topic": by_topic,
            }
        )
    return out


def changes_from_topic_counts(
    now: Sequence[TopicCount], before: Sequence[TopicCount]
) -> list[dict[str, Any]]:
    """:func:`.rootcause.what_changed` from per-topic counts of the two periods."""
    return changes_from_counts(
        {c.topic: (c.count, c.negative) for c in now if c.topic is not None},
        {c.topic: (c.count, c.negative) for c in before if c.topic is not None},
        sum(c.count for c in now),
        sum(c.count for c in before),
    )
