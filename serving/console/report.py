"""``nabiz report``: one self-contained HTML file about a scored export, to open offline or mail.

It reads what ``nabiz score`` wrote (any of its output formats) and shows: counts, the sentiment
and topic mix, priority levels, trends when rows have times, the phrases that set each topic apart
(:mod:`.rootcause`), what changed between the last two periods, survey metrics when a survey
column is present, and the most urgent rows first. No script and no external file: styles are
inline and charts are SVG (:mod:`.svg`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from nabiz.serving.batch import ColumnError, normalize_column_name, parse_time, resolve_text_columns
from nabiz.serving.batch.columns import CHANNEL_COLUMN_NAMES, TIME_COLUMN_NAMES, named_like
from nabiz.serving.console import analytics, rootcause, svg
from nabiz.serving.console.frame import DEFAULT_ROLES, Roles, normalize_frame, urgency_index
from nabiz.tabular import ERROR_COLUMN, is_blank, is_note, iter_table_chunks, join_text
from nabiz.text import turkish_number

SURVEY_KINDS = ("nps", "csat", "ces")
TOP_ITEMS = 25
PHRASES_PER_TOPIC = 8


@dataclass
class ReportOptions:
    text_columns: list[str] | None = None
    channel_column: str | None = None
    time_column: str | None = None
    time_format: str | None = None  # as `nabiz score --time-format` read the time column
    survey_column: str | None = None
    survey_kind: str | None = None
    timezone: str = "Europe/Istanbul"
    title: str = "Nabız raporu"
    roles: Roles = DEFAULT_ROLES  # which scored tasks are sentiment, topic and urgency


def _pick(columns: list[str], given: str | None, names: tuple[str, ...], what: str) -> str | None:
    if given is not None:
        if given not in columns:
            raise ColumnError(f"the scored file has no {what} {given!r}; its columns: {columns}")
        return given
    return named_like(columns, names)


def _prediction(columns: list[str], task: str) -> str | None:
    for name in (f"nabiz_{task}", task):
        if name in columns:
            return name
    return None


def load_scored(path: Path, options: ReportOptions) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(feedback frame, what was read) from a scored file; rows with an ``error`` are counted
    but left out of the frame."""
    raw = _read_scored(path)
    columns = [c for c in raw.columns if c != ERROR_COLUMN]
    if _prediction(columns, "priority_level") is None or not any(
        f"{c}_scores" in columns for c in columns
    ):
        raise ColumnError(
            f"{path} does not look like the output of `nabiz score` (no priority_level or "
            f"<task>_scores column); its columns: {columns}"
        )
    roles = _roles_in(columns, options.roles)
    # `nabiz score` writes the input's columns, then per task <task>, <task>_score, <task>_scores
    first_task = next(i for i, c in enumerate(columns) if f"{c}_scores" in columns)
    original = columns[:first_task]
    error_column = "nabiz_error" if "nabiz_error" in columns else "error"
    text_columns = resolve_text_columns(original, options.text_columns)
    channel = _pick(original, options.channel_column, CHANNEL_COLUMN_NAMES, "channel column")
    when = _pick(original, options.time_column, TIME_COLUMN_NAMES, "time column")
    errors = pd.Series(False, index=raw.index)
    if error_column in raw:
        messages = raw[error_column]
        # a note (no respond-by, a value right of the header) marks a row that was scored
        errors = (
            messages.notna() & ~messages.map(is_note) & (messages.astype(str).str.strip() != "")
        )
    ok = raw[~errors]
    frame = pd.DataFrame(
        {
            "id": ok.index.astype(str),
            "text": [join_text(v) for v in ok[text_columns].itertuples(index=False)],
            "channel": ok[channel] if channel else None,
            "received_at": _times(ok[when], options.timezone, options.time_format)
            if when
            else None,
            "sentiment": ok[roles.sentiment] if roles.sentiment else None,
            "topic": ok[roles.topic] if roles.topic else None,
            "level": ok[_prediction(columns, "priority_level") or "priority_level"],
            "respond_by": ok.get(_prediction(columns, "respond_by") or "-"),
            "status": "open",
        }
    )
    if roles.urgency:
        frame["urgency"] = urgency_index(ok[roles.urgency], roles.urgency_order)
    else:
        frame["urgency"] = np.nan
    survey_kind, survey_column = _survey(original, options)
    if survey_column is not None:
        frame["survey_kind"] = survey_kind
        frame["survey_score"] = pd.to_numeric(ok[survey_column], errors="coerce").where(
            lambda s: s.between(*SURVEY_RANGES[survey_kind])
        )
    read = {
        "rows": len(raw),
        "errors": int(errors.sum()),
        "text_columns": text_columns,
        "channel_column": channel,
        "time_column": when,
        # times that are there but could not be read: the trends leave those rows out
        "time_format": options.time_format,
        "times_unread": int((frame["received_at"].isna() & ~ok[when].map(is_blank)).sum())
        if when
        else 0,
        "survey_column": survey_column,
    }
    out = normalize_frame(frame, roles)  # the negative share reads the labels themselves
    for column, words in (("sentiment", roles.sentiment_words), ("topic", roles.topic_words)):
        if words:
            out[column] = out[column].map(lambda v, w=words: w.get(v, v))
    return out, read


def _read_scored(path: Path) -> pd.DataFrame:
    """A scored file, or the output folder of ``nabiz score --engine ray`` (its Parquet parts,
    back in input order by their ``source_file`` and ``source_row``)."""
    if not path.is_dir():
        return pd.concat(list(iter_table_chunks(path, chunk_rows=50_000)), ignore_index=True)
    parts = sorted(p for p in path.glob("*.parquet") if not p.name.startswith(("_", ".")))
    if not parts:
        raise ColumnError(f"{path} is a folder without Parquet parts of `nabiz score --engine ray`")
    frames = [chunk for part in parts for chunk in iter_table_chunks(part, chunk_rows=50_000)]
    raw = pd.concat(frames, ignore_index=True)
    if "source_row" not in raw:
        return raw
    keys = pd.DataFrame(
        {
            "file": raw.get("source_file", ""),
            "row": pd.to_numeric(raw["source_row"], errors="coerce"),  # the reader gives text
        }
    )
    return raw.loc[keys.sort_values(["file", "row"], kind="stable").index].reset_index(drop=True)


def _roles_in(columns: list[str], roles: Roles) -> Roles:
    """``roles`` with each task replaced by its column in the scored file, None where the file
    has none (a model with other tasks: its report shows what it has, never a made-up 0 %)."""
    return replace(
        roles,
        sentiment=roles.sentiment and _prediction(columns, roles.sentiment),
        topic=roles.topic and _prediction(columns, roles.topic),
        urgency=roles.urgency and _prediction(columns, roles.urgency),
    )


SURVEY_RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


def _survey(columns: list[str], options: ReportOptions) -> tuple[str | None, str | None]:
    if options.survey_column is not None:
        if options.survey_kind not in SURVEY_KINDS:
            raise ColumnError("give the survey's kind with --survey-kind nps, csat or ces")
        return options.survey_kind, _pick(columns, options.survey_column, (), "survey column")
    by_name = {normalize_column_name(c): c for c in columns}
    for kind in SURVEY_KINDS:
        if kind in by_name:
            return kind, by_name[kind]
    return None, None


def _times(values: pd.Series, tz: str, time_format: str | None = None) -> pd.Series:
    """Times as UTC, read as the scorer reads them (:func:`parse_time`); a time without a zone
    is in the policy's zone, an unreadable one is NaT."""
    zone = ZoneInfo(tz)

    def one(value: Any) -> datetime | None:
        if is_blank(value):
            return None
        try:
            moment = parse_time(value, time_format)
        except ValueError:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)

    return pd.to_datetime(values.map(one), utc=True)


def build_report(frame: pd.DataFrame, read: dict[str, Any], options: ReportOptions) -> str:
    """The report's HTML."""
    tz = options.timezone
    n = len(frame)
    sentiment = frame["sentiment"].value_counts()
    topics = frame["topic"].value_counts()
    levels = frame["level"].value_counts().reindex(["P1", "P2", "P3", "P4"], fill_value=0)
    sections: dict[str, Any] = {
        "sentiment": svg.bar_rows([(str(k), int(v)) for k, v in sentiment.items()]),
        "topics": svg.bar_rows([(str(k), int(v)) for k, v in topics.items()]),
        "levels": svg.bar_rows([(str(k), int(v)) for k, v in levels.items()]),
        "negative_share": _mean(frame["negative"]),
        # a model without a topic (or sentiment) role: no such section, column or "None" cells
        "has_topic": bool(frame["topic"].notna().any()),
        "has_sentiment": bool(frame["sentiment"].notna().any()),
    }
    dated = frame[frame["received_at"].notna()]
    period: analytics.Period = "day"
    if not dated.empty:
        span = dated["received_at"].max() - dated["received_at"].min()
        period = "week" if span > pd.Timedelta(days=60) else "day"
        trend = analytics.trends(dated, period, "topic", tz)
        top_series = trend["series"][: 1 + 5]
        sections["trend_volume"] = svg.line_chart(
            trend["periods"], [(_series_name(s["key"]), s["volume"]) for s in top_series]
        )
        sections["trend_negative"] = svg.line_chart(
            trend["periods"],
            [(_series_name(s["key"]), _pct(s["negative_share"])) for s in top_series[:1]],
            y_format="%{:.0f}",  # Turkish: the sign before the number
        )
        sections["period"] = "hafta" if period == "week" else "gün"
    windows = comparison_windows(frame["received_at"], tz=tz)
    if windows is not None:
        now_mask, before_mask, labels = windows
        sections["changes"] = rootcause.what_changed(frame[now_mask], frame[before_mask])
        sections["changes_periods"] = labels
    counted = rootcause.PhraseCounts.of(frame["text"].tolist())
    negative = (frame["negative"] == 1.0).to_numpy()
    causes = []
    for topic in topics.index[:12]:
        target = (frame["topic"] == topic).to_numpy()
        cause = {
            "topic": str(topic),
            "count": int(target.sum()),
            "phrases": rootcause.distinctive_phrases(
                counted, target, ~target, top=PHRASES_PER_TOPIC, prefer=negative
            ),
            "new_phrases": [],
        }
        if windows is not None:
            now_mask, before_mask, _ = windows
            cause["new_phrases"] = rootcause.distinctive_phrases(
                counted,
                target & now_mask.to_numpy(),
                target & before_mask.to_numpy(),
                top=5,
                prefer=negative,
            )
        causes.append(cause)
    sections["causes"] = causes
    sections["survey"] = analytics.survey_metrics(frame, "week", tz)
    # a row without a respond-by (its time or channel could not be read) after those with one
    urgent = frame.sort_values(["level", "respond_by"], kind="stable", na_position="last")
    urgent = urgent.head(TOP_ITEMS)
    sections["urgent"] = urgent.to_dict("records")
    env = Environment(
        loader=PackageLoader("nabiz.serving.console", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["tr"] = turkish_number
    return env.get_template("report.html").render(
        title=options.title,
        made_at=datetime.now(ZoneInfo(tz)).strftime(f"%d.%m.%Y %H:%M ({tz})"),
        n=n,
        read=read,
        s=sections,
        fmt_time=lambda t: "" if pd.isna(t) else t.tz_convert(tz).strftime("%d.%m.%Y %H:%M"),
    )


def comparison_windows(
    times: pd.Series, days: int = 7, tz: str = "UTC"
) -> tuple[pd.Series, pd.Series, tuple[str, str]] | None:
    """Masks of the last ``days`` days of the data and the ``days`` before them, and their
    labels (local times in ``tz``); None when the data span less than two such windows."""
    dated = times.dropna()
    if dated.empty:
        return None
    end = dated.max()
    start = dated.min()
    width = pd.Timedelta(days=days)
    if end - start < 2 * width - pd.Timedelta(days=1):
        return None
    now = (times > end - width) & (times <= end)
    before = (times > end - 2 * width) & (times <= end - width)

    def label(a: pd.Timestamp, b: pd.Timestamp) -> str:
        # to the minute: the windows end at the last item's time, so days alone overlapped
        a, b = a.tz_convert(tz), b.tz_convert(tz)
        return f"{a.strftime('%d.%m %H:%M')}–{b.strftime('%d.%m.%Y %H:%M')}"

    labels = (label(end - 2 * width, end - width), label(end - width, end))
    return now.fillna(False), before.fillna(False), labels


def _series_name(key: str) -> str:
    """A trend series' name in the chart: ``Hepsi`` for every item, else the (display) key."""
    return "Hepsi" if key == analytics.ALL else key


def _mean(values: pd.Series) -> float | None:
    """The mean of the known values; None when none is known."""
    return float(values.mean()) if values.notna().any() else None


def _pct(values: list[float | None]) -> list[float | None]:
    return [None if v is None else 100 * v for v in values]


def write_report(scored: Path, output: Path, options: ReportOptions | None = None) -> float:
    """Build the report of ``scored`` into ``output``; returns the seconds it took."""
    started = time.perf_counter()
    options = options or ReportOptions()
    frame, read = load_scored(Path(scored), options)
    html = build_report(frame, read, options)
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(output)
    return time.perf_counter() - started
