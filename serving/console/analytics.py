"""Trends, answer times and survey metrics over a feedback frame (:mod:`.frame`).

Periods are calendar days or ISO weeks (starting Monday) in the policy's time zone, so a day is
the day a Turkish team lives, not a UTC day. Every function returns plain lists of dicts, ready
for JSON and for the HTML report.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

Period = Literal["day", "week"]
ALL = "hepsi"  # the series of every item together


def period_start(times: pd.Series, period: Period, tz: str) -> pd.Series:
    """Each time's period as the local date it starts on (``YYYY-MM-DD``; NaT stays None)."""
    local = times.dt.tz_convert(tz)
    days = local.dt.normalize()
    if period == "week":
        days = days - pd.to_timedelta(local.dt.day_of_week, unit="D")
    return days.dt.strftime("%Y-%m-%d").where(times.notna(), None)


# More periods than this (ten years of days) are not filled in: one item dated 1970 among this
# year's would make a day chart of 20,000 empty days (2.5 MB, 4 s); only the periods with items
# are listed then.
MAX_FILLED_PERIODS = 3_660


def every_period(found: Iterable[str], period: Period, span: Iterable[str] = ()) -> list[str]:
    """The periods from the first found to the last, the empty ones too: a chart of a day with
    no feedback must show the day at zero, not join its neighbours as if it were not there.
    ``span``: the periods a requested window begins and ends in, so that "the last 30 days"
    has 30 points whatever days the items fell on."""
    starts = sorted(set(found))
    ends = sorted({*starts, *span})
    if not ends:
        return []
    first, last = date.fromisoformat(ends[0]), date.fromisoformat(ends[-1])
    step = 7 if period == "week" else 1
    if (last - first).days // step >= MAX_FILLED_PERIODS:
        return starts
    return [str(first + timedelta(days=d)) for d in range(0, (last - first).days + 1, step)]


def window_periods(
    received_from: datetime | None, received_to: datetime | None, period: Period, tz: str
) -> list[str]:
    """The periods the window ``[received_from, received_to)`` begins and ends in (its open
    ends give none)."""
    moments = [received_from, received_to - timedelta(microseconds=1) if received_to else None]
    known = [pd.Timestamp(m) for m in moments if m is not None]
    if not known:
        return []
    return period_start(pd.Series(known), period, tz).tolist()


def period_bounds(start: str, period: Period, tz: str) -> tuple[datetime, datetime]:
    """The UTC half-open range ``[from, to)`` of the period that starts on local date ``start``."""
    begin = pd.Timestamp(start).tz_localize(tz)
    end = begin + pd.DateOffset(days=7 if period == "week" else 1)
    return begin.tz_convert("UTC").to_pydatetime(), end.tz_convert("UTC").to_pydatetime()


def trends(
    frame: pd.DataFrame, period: Period = "day", by: str | None = "topic", tz: str = "UTC"
) -> dict[str, Any]:
    """Volume, negative share and mean urgency per period, for every item and per ``by`` value.

    ``{"periods": [...], "series": [{"key", "volume": [...], "negative_share": [...],
    "mean_urgency": [...]}]}``; the lists follow ``periods`` (0 volume and None where a series
    has no item in a period). The first series is :data:`ALL`.
    """
    dated = frame[frame["received_at"].notna()].copy()
    dated["period"] = period_start(dated["received_at"], period, tz)
    periods = every_period(dated["period"].dropna().unique().tolist(), period)

    def series(group: pd.DataFrame, key: str) -> dict[str, Any]:
        stats = group.groupby("period").agg(
            volume=("id", "size"), negative=("negative", "mean"), urgency=("urgency", "mean")
        )
        stats = stats.reindex(periods)
        return {
            "key": key,
            "volume": [int(v) if v == v else 0 for v in stats["volume"]],
            "negative_share": [_num(v) for v in stats["negative"]],
            "mean_urgency": [_num(v) for v in stats["urgency"]],
        }

    out = [series(dated, ALL)]
    if by is not None:
        for key, group in dated.groupby(by, dropna=True):
            out.append(series(group, str(key)))
        out[1:] = sorted(out[1:], key=lambda s: -sum(s["volume"]))
    return {"period": period, "by": by, "periods": periods, "series": out}


def answer_times(frame: pd.DataFrame, now: datetime) -> list[dict[str, Any]]:
    """Per channel: items answered within their respond-by, late, and still waiting.

    ``within_share`` is answered-in-time over the items whose fate is known (answered, or past
    due without an answer); items not yet due and unanswered are ``pending`` and left out.
    """
    now_ts = pd.Timestamp(now).tz_convert("UTC")
    rows = []
    frame = frame.assign(channel=frame["channel"].fillna("-"))
    for channel, group in frame.groupby("channel"):
        answered = group["answered_at"].notna()
        within = answered & (group["answered_at"] <= group["respond_by"])
        late = (answered & ~within) | (~answered & (group["respond_by"] < now_ts))
        pending = ~answered & ~(group["respond_by"] < now_ts)
        known = int(within.sum() + late.sum())
        rows.append(
            {
                "channel": str(channel),
                "items": len(group),
                "within": int(within.sum()),
                "late": int(late.sum()),
                "pending": int(pending.sum()),
                "within_share": within.sum() / known if known else None,
            }
        )
    return sorted(rows, key=lambda r: -r["items"])


# --- survey metrics -----------------------------------------------------------------------------

SURVEY_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
# The answers each metric counts; aggregate.score_counts counts them in the database too.
PROMOTER_MIN = 9  # NPS promoters: 9-10
DETRACTOR_MAX = 6  # NPS detractors: 0-6
SATISFIED_MIN = 4  # CSAT: 4-5


def survey_value(
    kind: str, responses: int, total: float, promoters: int, detractors: int, satisfied: int
) -> float | None:
    """NPS = % promoters − % detractors; CSAT = % satisfied; CES = mean score; from counts of
    ``responses`` answers summing to ``total`` (None without answers)."""
    if responses == 0:
        return None
    if kind == "nps":
        return float(100 * (promoters / responses - detractors / responses))
    if kind == "csat":
        return float(100 * (satisfied / responses))
    if kind == "ces":
        return float(total / responses)
    raise ValueError(f"unknown survey kind {kind!r}; use nps, csat or ces")


def survey_metric(kind: str, scores: pd.Series) -> float | None:
    """:func:`survey_value` of a series of answers (missing ones left out)."""
    scores = scores.dropna()
    return survey_value(
        kind,
        len(scores),
        float(scores.sum()),
        int((scores >= PROMOTER_MIN).sum()),
        int((scores <= DETRACTOR_MAX).sum()),
        int((scores >= SATISFIED_MIN).sum()),
    )


def survey_metrics(
    frame: pd.DataFrame, period: Period = "week", tz: str = "UTC"
) -> list[dict[str, Any]]:
    """Per survey kind present: the overall metric, per period, per channel, per topic, and
    each topic's impact — the metric without that topic's feedback minus the metric with it
    (positive: the topic pulls the metric down)."""
    out = []
    scored = frame[frame["survey_kind"].notna() & frame["survey_score"].notna()]
    for kind in ("nps", "csat", "ces"):
        rows = scored[scored["survey_kind"] == kind]
        if rows.empty:
            continue
        overall = survey_metric(kind, rows["survey_score"])
        dated = rows[rows["received_at"].notna()]
        by_period = []
        if not dated.empty:
            keys = period_start(dated["received_at"], period, tz)
            for key, group in dated.groupby(keys):
                by_period.append(_cell(key, kind, group))
        by_channel = [_cell(k, kind, g) for k, g in rows.groupby(rows["channel"].fillna("-"))]
        by_topic = []
        for topic, group in rows.groupby(rows["topic"].fillna("-")):
            cell = _cell(topic, kind, group)
            rest = rows.loc[rows.index.difference(group.index), "survey_score"]
            without = survey_metric(kind, rest)
            cell["impact"] = None if without is None or overall is None else without - overall
            by_topic.append(cell)
        by_topic.sort(key=lambda c: -(c["impact"] or 0.0))
        out.append(
            {
                "kind": kind,
                "name": SURVEY_NAMES[kind],
                "value": overall,
                "responses": len(rows),
                "by_period": by_period,
                "by_channel": sorted(by_channel, key=lambda c: -c["responses"]),
                "by_topic": by_topic,
            }
        )
    return out


def _cell(key: Any, kind: str, group: pd.DataFrame) -> dict[str, Any]:
    return {
        "key": str(key),
        "value": survey_metric(kind, group["survey_score"]),
        "responses": len(group),
    }


def _num(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)
