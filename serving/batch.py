"""The batch pipeline: tag and prioritize every row of a feedback export (``nabiz score``).

``score_file`` reads CSV/TSV, Excel, JSON Lines or Parquet in chunks (:mod:`nabiz.tabular`),
tags each chunk's texts with the predictor, computes each row's priority
(:mod:`nabiz.serving.priority`) and appends the chunk to the output (:mod:`nabiz.serving.writers`),
so memory stays flat however large the file is.

Promises:

* **Every input row is an output row, in order**, with all its original columns followed by the
  prediction and priority columns. A row that cannot be scored — unreadable (the reader marked
  it), empty text, an unknown channel, an unreadable time — gets a message in ``error`` and no
  prediction.
* **Columns follow the model's schema**: per task ``<task>`` (the label; for a multi-label task
  the labels over their thresholds), ``<task>_score`` (the top label's score) and
  ``<task>_scores`` (every label's score, JSON); then ``truncated``, ``priority_level``,
  ``priority_score``, ``respond_by``, ``priority_reasons`` and ``error``. A prediction column whose
  name an input column already has is written as ``nabiz_<name>``.
* **Interrupt-safe and resumable**: the output is written to ``<output>.partial`` and renamed only
  when complete. After every chunk the partial output is flushed and the state file
  ``<output>.partial.state.json`` records the rows done, the writer's checkpoint, the running
  summary, a fingerprint of the input (size and hashes of its first and last MiB) and the options.
  ``resume=True`` checks fingerprint and options, drops whatever a killed run half wrote after its
  last complete chunk and continues with the next row, so the result equals an uninterrupted run.
  ``now`` (which the priority's deadlines and ages are computed against) is saved too and reused.
"""

from __future__ import annotations

import codecs
import hashlib
import heapq
import json
import logging
import math
import os
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from nabiz.model.predictor import Prediction, Predictor
from nabiz.serving.priority import (
    LEVELS,
    PriorityPolicy,
    UnknownChannelError,
    compute_priority,
    normalize_channel,
)
from nabiz.serving.writers import Column, PartialWriter, open_writer, output_format, partial_path
from nabiz.tabular import (
    ERROR_COLUMN,
    TableFormat,
    count_csv_records,
    detect_encoding,
    detect_format,
    is_blank,
    iter_table_chunks,
)
from nabiz.text import turkish_lower

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 2_000
DEFAULT_BATCH_SIZE = 256
STATE_VERSION = 1
TOP_ROWS = 10
TEXT_JOINER = "\n\n"  # as training joins several text columns

# Column names (normalized: Turkish-lowercased, without diacritics) that hold the feedback text,
# and those that hold its title. A name matches exactly, or through one of its words.
# fmt: off
TEXT_COLUMN_NAMES = (
    "metin", "text", "yorum", "sikayet", "mesaj", "icerik", "tweet", "body", "comment",
    "review", "content", "description", "aciklama", "message", "feedback", "geri bildirim",
    "detay", "talep", "sorun", "comments", "reviews", "yorumlar", "sikayetler",
    "mesajlar", "full text", "tam metin", "musteri yorumu", "sikayet metni", "yorum metni",
    "sikayet detayi", "metni", "yorumu", "sikayeti", "mesaji", "icerigi", "aciklamasi",
)
TITLE_COLUMN_NAMES = (
    "baslik", "title", "subject", "headline", "basligi", "sikayet basligi", "konu basligi",
)
# Words that mark a column as metadata about a text rather than the text itself.
_METADATA_WORDS = frozenset((
    "id", "no", "num", "number", "kodu", "code", "type", "tipi", "turu", "tur", "date", "tarih",
    "time", "saat", "zaman", "length", "uzunluk", "count", "sayisi", "sayi", "lang", "language",
    "dil", "url", "link", "kategori", "category", "label", "etiket", "score", "puan", "rating",
    "sentiment", "duygu", "topic", "konu", "kanal", "channel", "user", "kullanici", "author",
    "yazar", "tarihi", "saati", "numara", "numarasi", "dili", "uzunlugu", "created", "updated",
))
# fmt: on
_FOLD = str.maketrans("şçğıöüâîûİ", "scgiouaiui")


class ColumnError(ValueError):
    """The columns to read cannot be found or told apart; the message lists the columns."""


class ResumeError(ValueError):
    """An interrupted run cannot be continued as asked; the message says why and what to do."""


# ----------------------------------------------------------------------------------------------
# columns


def normalize_column_name(name: str) -> str:
    """Turkish-lowercased, without diacritics, words separated by one space: ``Şikayet_Metni``
    → ``sikayet metni``."""
    text = re.sub(r"([a-zçğıöşü])([A-ZÇĞİÖŞÜ])", r"\1 \2", str(name))  # camelCase
    text = turkish_lower(text).translate(_FOLD)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(re.split(r"[^0-9a-z]+", text)).strip()


def _words(normalized: str) -> list[str]:
    return normalized.split()


def _match_tier(name: str, vocabulary: Sequence[str]) -> int | None:
    """1: the whole name is in ``vocabulary``; 2: one of its words is; None: no match."""
    normalized = normalize_column_name(name)
    if normalized in vocabulary:
        return 1
    words = _words(normalized)
    if any(word in _METADATA_WORDS for word in words):
        return None
    if any(word in vocabulary for word in words):
        return 2
    return None


def _column_list(columns: Sequence[str]) -> str:
    return ", ".join(repr(column) for column in columns)


def find_column(columns: Sequence[str], wanted: str, what: str = "column") -> str:
    """The column named ``wanted``: exactly, or else the only one equal after normalizing."""
    if wanted in columns:
        return wanted
    key = normalize_column_name(wanted)
    matches = [column for column in columns if normalize_column_name(column) == key]
    if len(matches) == 1:
        return matches[0]
    raise ColumnError(
        f"the input has no {what} {wanted!r}; its columns are: {_column_list(columns)}."
    )


def detect_text_columns(columns: Sequence[str]) -> list[str]:
    """The columns whose joined values are the text to tag: ``[title, body]`` or ``[body]``.

    The body is the one column named like a feedback text (``metin``, ``yorum``, ``text``,
    ``şikayet``, ``comment``…; case, Turkish letters and separators do not matter); a whole-name
    match beats a match of one word (``musteri_yorumu``). A title column (``baslik``, ``title``,
    ``subject``…) is put in front when there is exactly one. Raises :class:`ColumnError`, listing
    the columns, when no column or more than one column could be the body.
    """
    columns = [column for column in columns if column != ERROR_COLUMN]
    hint = (
        "Pass the text column with --text-column NAME (repeat it to join several, e.g. "
        "--text-column baslik --text-column yorum)."
    )
    tiers: dict[int, list[str]] = {1: [], 2: []}
    for column in columns:
        tier = _match_tier(column, TEXT_COLUMN_NAMES)
        if tier is not None:
            tiers[tier].append(column)
    candidates = tiers[1] or tiers[2]
    if not candidates:
        raise ColumnError(
            f"cannot tell which column holds the feedback text; the columns are: "
            f"{_column_list(columns)}. {hint}"
        )
    if len(candidates) > 1:
        raise ColumnError(
            f"several columns could hold the feedback text ({_column_list(candidates)}); "
            f"the columns are: {_column_list(columns)}. {hint}"
        )
    body = candidates[0]
    titles = [
        column
        for column in columns
        if column != body and _match_tier(column, TITLE_COLUMN_NAMES) == 1
    ]
    return [titles[0], body] if len(titles) == 1 else [body]


def resolve_text_columns(columns: Sequence[str], text_columns: Sequence[str] | None) -> list[str]:
    """The given text columns (checked, in order) or the detected ones."""
    columns = [column for column in columns if column != ERROR_COLUMN]
    if not text_columns:
        return detect_text_columns(columns)
    resolved = [find_column(columns, name, "text column") for name in text_columns]
    if len(set(resolved)) != len(resolved):
        raise ColumnError(f"a text column is given twice: {list(text_columns)}")
    return resolved


def join_text(values: Sequence[Any]) -> str:
    """The non-blank parts, as text, joined with a blank line (as training joins them)."""
    parts = []
    for value in values:
        if is_blank(value):
            continue
        if isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)
        parts.append(str(value).strip())
    return TEXT_JOINER.join(parts)


# ----------------------------------------------------------------------------------------------
# times


_TIME_FORMATS = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
)


def parse_time(value: Any) -> datetime:
    """A received-at time from an export cell, timezone-aware.

    ISO 8601 (``2024-03-12T14:35``, ``…+03:00``, ``…Z``), Turkish day-first dates
    (``12.03.2024 14:35``, ``12/03/2024``), or Unix seconds/milliseconds (UTC). A time without a
    zone stays naive: the priority reads it in the policy's timezone. Raises ``ValueError`` for
    anything else.
    """
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    if re.fullmatch(r"\d{10}(\.\d+)?|\d{13}", text):
        seconds = float(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError(
        f"cannot read the time {text[:40]!r}; use ISO 8601 (2024-03-12T14:35:00+03:00) "
        "or day-first dates (12.03.2024 14:35)"
    )


# ----------------------------------------------------------------------------------------------
# summary


@dataclass
class TopRow:
    """One of the highest-priority rows, for the summary."""

    row: int  # 0-based data row number in the input
    id: str | None
    priority_level: str
    priority_score: float
    respond_by: str | None
    labels: dict[str, str]
    text: str  # the start of the text


@dataclass
class ScoreSummary:
    """What a run wrote: counts per label, per priority level, errors, the top rows."""

    input_path: Path
    output_path: Path
    rows: int = 0
    scored: int = 0
    failed: int = 0
    truncated: int = 0
    resumed_rows: int = 0  # rows an interrupted run had already written
    text_columns: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # the output's columns
    label_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    priority_counts: dict[str, int] = field(default_factory=dict)
    top: list[TopRow] = field(default_factory=list)
    error_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        done = self.rows - self.resumed_rows
        return done / self.seconds if self.seconds > 0 else 0.0

    def render(self) -> str:
        """A plain-text report for the terminal."""
        lines = [
            f"Wrote {self.rows:,} rows to {self.output_path} "
            f"({self.scored:,} scored, {self.failed:,} with an error"
            + (f", {self.truncated:,} truncated" if self.truncated else "")
            + ")"
            + (
                f"; {self.resumed_rows:,} rows came from the interrupted run"
                if self.resumed_rows
                else ""
            )
            + f" in {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s).",
            f"Text column(s): {' + '.join(self.text_columns)}",
        ]
        for task, counts in self.label_counts.items():
            total = sum(counts.values()) or 1
            ranked = sorted(counts.items(), key=lambda item: -item[1])  # stable: schema order
            parts = [f"{label} {n:,} ({n / total:.0%})" for label, n in ranked if n]
            lines.append(f"{task}: " + (", ".join(parts) or "-"))
        if self.priority_counts:
            lines.append(
                "priority: " + ", ".join(f"{k} {v:,}" for k, v in self.priority_counts.items())
            )
        if self.error_examples:
            lines.append("errors (first ones):")
            lines.extend(f"  {message}" for message in self.error_examples)
        if self.top:
            lines.append(f"Highest priority ({len(self.top)}):")
            for top in self.top:
                who = f"id {top.id}" if top.id is not None else f"row {top.row + 1}"
                labels = " ".join(f"{task}={label}" for task, label in top.labels.items())
                due = f" respond by {top.respond_by}" if top.respond_by else ""
                lines.append(
                    f"  {top.priority_score:6.2f} {top.priority_level:<8} {who}: {labels}{due}"
                )
                lines.append(f"         {top.text}")
        return "\n".join(lines)


class _Tally:
    """The summary's running counts, saved in the state file after every chunk."""

    def __init__(self, predictor: Predictor, top_n: int) -> None:
        self.top_n = top_n
        self.rows = self.scored = self.failed = self.truncated = 0
        self.labels = {task.name: dict.fromkeys(task.labels, 0) for task in predictor.schema.tasks}
        self.levels: dict[str, int] = {}
        self.top: list[dict[str, Any]] = []
        self.errors: list[str] = []

    def to_json(self) -> dict[str, Any]:
        return {
            key: getattr(self, key)
            for key in (
                "rows",
                "scored",
                "failed",
                "truncated",
                "labels",
                "levels",
                "top",
                "errors",
            )
        }

    def load(self, data: dict[str, Any]) -> None:
        for key, value in data.items():
            setattr(self, key, value)

    def add_error(self, row: int, message: str) -> None:
        self.failed += 1
        if len(self.errors) < 5:
            self.errors.append(f"row {row + 1}: {message}")

    def add_top(self, candidates: list[dict[str, Any]]) -> None:
        self.top = heapq.nsmallest(self.top_n, self.top + candidates, key=_queue_order)


def _queue_order(item: dict[str, Any]) -> tuple:
    """The triage queue's order: level, then the earliest deadline, the higher score, the row."""
    level = item["priority_level"]
    rank = LEVELS.index(level) if level in LEVELS else len(LEVELS)
    due = datetime.fromisoformat(item["respond_by"]) if item["respond_by"] else datetime.max
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return (rank, due.astimezone(UTC), -item["priority_score"], item["row"])


# ----------------------------------------------------------------------------------------------
# input helpers


def file_fingerprint(path: str | Path, block: int = 1 << 20) -> dict[str, Any]:
    """Size and SHA-256 of the first and last MiB: cheap, and changes when the file does."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = hashlib.sha256(handle.read(block)).hexdigest()
        handle.seek(max(0, size - block))
        tail = hashlib.sha256(handle.read(block)).hexdigest()
    return {"size": size, "head_sha256": head, "tail_sha256": tail}


def _count_lines(path: Path, encoding: str) -> int:
    """Lines of a text file, a last line without a line break included."""
    lines, last = 0, b"\n"
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        with path.open("r", encoding=encoding, newline="") as handle:
            while chunk := handle.read(1 << 20):
                lines += chunk.count("\n")
                last = chunk[-1:].encode()
    else:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    return lines + (last != b"\n")


def estimate_rows(path: str | Path, fmt: TableFormat, encoding: str | None = None) -> int | None:
    """The row count for the progress bar: exact for Parquet, the sheet's dimension for Excel,
    parsed records for CSV (a quoted line break is not a row), lines for JSON Lines."""
    path = Path(path)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if fmt == "xlsx":
            from openpyxl import load_workbook

            workbook = load_workbook(path, read_only=True)
            try:
                rows = workbook.worksheets[0].max_row
            finally:
                workbook.close()
            return max(0, rows - 1) if rows else None
        encoding = encoding or detect_encoding(path)
        if fmt in ("csv", "tsv"):
            delimiter = "\t" if fmt == "tsv" else None
            return max(0, count_csv_records(path, encoding, delimiter) - 1)
        return _count_lines(path, encoding)
    except Exception:  # only a progress-bar hint
        return None


def _jsonl_columns(
    path: Path, fmt: TableFormat, encoding: str | None, chunk_rows: int
) -> list[str]:
    """Every key of a JSON Lines file (keys may first appear on any line), in first-seen order."""
    seen: dict[str, None] = {}
    for chunk in iter_table_chunks(path, max(chunk_rows, 20_000), fmt, encoding):
        seen.update(dict.fromkeys(chunk.columns))
    return list(seen)


# ----------------------------------------------------------------------------------------------
# the run


@dataclass
class _Plan:
    """Everything fixed before the first row is scored."""

    originals: list[str]
    text_columns: list[str]
    id_column: str | None
    channel_column: str | None
    time_column: str | None
    names: dict[str, str]  # prediction column key → output name (renamed on a clash)
    columns: list[Column]


def _prediction_columns(predictor: Predictor) -> list[Column]:
    columns = []
    for task in predictor.schema.tasks:
        columns += [
            Column(task.name, "list" if task.is_multi_label else "text"),
            Column(f"{task.name}_score", "float"),
            Column(f"{task.name}_scores", "json"),
        ]
    columns += [
        Column("truncated", "bool"),
        Column("priority_level", "text"),
        Column("priority_score", "float"),
        Column("respond_by", "text"),
        Column("priority_reasons", "list"),
        Column("error", "text"),
    ]
    return columns


def _plan(
    originals: list[str],
    predictor: Predictor,
    text_columns: Sequence[str] | None,
    id_column: str | None,
    channel_column: str | None,
    time_column: str | None,
) -> _Plan:
    originals = [column for column in originals if column != ERROR_COLUMN]
    texts = resolve_text_columns(originals, text_columns)

    def optional(name: str | None, what: str) -> str | None:
        return find_column(originals, name, what) if name else None

    taken = set(originals)
    names: dict[str, str] = {}
    columns = [Column(name, "text") for name in originals]
    for column in _prediction_columns(predictor):
        name = column.name
        while name in taken:
            name = f"nabiz_{name}"
        taken.add(name)
        names[column.name] = name
        columns.append(Column(name, column.kind))
    return _Plan(
        originals=originals,
        text_columns=texts,
        id_column=optional(id_column, "id column"),
        channel_column=optional(channel_column, "channel column"),
        time_column=optional(time_column, "time column"),
        names=names,
        columns=columns,
    )


def _digest(value: Any) -> str:
    if hasattr(value, "model_dump_json"):
        text = value.model_dump_json()
    else:
        try:
            text = json.dumps(value, sort_keys=True, default=str)
        except TypeError:
            text = repr(value)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _options(plan: _Plan, predictor: Predictor, policy: Any, output: Path) -> dict[str, Any]:
    return {
        "output_format": output_format(output),
        "text_columns": plan.text_columns,
        "id_column": plan.id_column,
        "channel_column": plan.channel_column,
        "time_column": plan.time_column,
        "columns": [asdict(column) for column in plan.columns],
        "model": {
            "name": predictor.info.name,
            "version": predictor.info.version,
            "created_at": predictor.info.created_at,
            "schema": _digest(predictor.schema),
        },
        "policy": _digest(policy),
    }


def state_path(output: str | Path) -> Path:
    """The sidecar file of a run's partial output."""
    partial = partial_path(output)
    return partial.with_name(partial.name + ".state.json")


def _save_state(path: Path, state: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(state, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _load_state(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ResumeError(
            f"{path} (the state of the interrupted run) cannot be read ({error}); run again "
            "without --resume to start over."
        ) from error
    if state.get("version") != STATE_VERSION:
        raise ResumeError(
            f"{path} was written by another version of Nabız; run again without --resume."
        )
    return state


def _check_resumable(
    state: dict[str, Any], fingerprint: dict[str, Any], options: dict[str, Any], input_path: Path
) -> None:
    if state["input"]["fingerprint"] != fingerprint:
        raise ResumeError(
            f"{input_path} is not the file the interrupted run was reading (its size or "
            "content changed); run again without --resume to start over."
        )
    changed = [key for key, value in options.items() if state["options"].get(key) != value]
    if changed:
        details = "; ".join(
            f"{key}: was {state['options'].get(key)!r}, now {options[key]!r}"
            for key in changed
            if key != "columns"
        )
        raise ResumeError(
            f"cannot resume: the options differ from the interrupted run's ({', '.join(changed)}"
            f"{'; ' + details if details else ''}). Resume with the same options and model, "
            "or run again without --resume to start over."
        )


def _score_chunk(
    chunk: pd.DataFrame,
    plan: _Plan,
    predictor: Predictor,
    policy: PriorityPolicy,
    now: datetime,
    tally: _Tally,
    batch_size: int,
    advance,
) -> list[dict[str, Any]]:
    """Output rows of one chunk, in order."""
    names = plan.names
    rows: list[dict[str, Any]] = []
    pending: list[tuple[int, str, str | None, datetime | None]] = []  # (position, text, ch, t)
    records = chunk.to_dict("records")
    for position, (number, record) in enumerate(zip(chunk.index, records, strict=True)):
        row = {name: record.get(name) for name in plan.originals}
        rows.append(row)
        error = record.get(ERROR_COLUMN)
        if error is not None:
            error = f"the row could not be read faithfully: {error}"
        text = ""
        if error is None:
            text = join_text([record.get(name) for name in plan.text_columns])
            if not text.strip():
                error = f"empty text in {' + '.join(plan.text_columns)}"
        channel = None
        if error is None and plan.channel_column is not None:
            value = record.get(plan.channel_column)
            if not is_blank(value):
                channel = str(value).strip()
                try:
                    normalize_channel(channel, policy)
                except UnknownChannelError as problem:
                    error = f"{plan.channel_column}: {problem}"
        received = None
        if error is None and plan.time_column is not None:
            value = record.get(plan.time_column)
            if not is_blank(value):
                try:
                    received = parse_time(value)
                except ValueError as problem:
                    error = f"{plan.time_column}: {problem}"
        if error is not None:
            row[names["error"]] = error
            tally.add_error(int(number), error)
        else:
            pending.append((position, text, channel, received))

    candidates = []
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        predictions = predictor.predict([text for _, text, _, _ in batch])
        for (position, text, channel, received), prediction in zip(batch, predictions, strict=True):
            row = rows[position]
            _fill_prediction(row, prediction, predictor, names, tally)
            priority = compute_priority(
                prediction.tasks,
                policy,
                channel=channel,
                received_at=received,
                now=now,
                cues=prediction.cues,
            )
            respond_by = priority.respond_by.isoformat() if priority.respond_by else None
            row[names["priority_level"]] = str(priority.level)
            row[names["priority_score"]] = round(float(priority.score), 4)
            row[names["respond_by"]] = respond_by
            row[names["priority_reasons"]] = list(priority.reasons)
            row[names["error"]] = None
            level = str(priority.level)
            tally.levels[level] = tally.levels.get(level, 0) + 1
            number = int(chunk.index[position])
            candidates.append(
                {
                    "row": number,
                    "id": None if plan.id_column is None else _text(row.get(plan.id_column)),
                    "priority_level": level,
                    "priority_score": round(float(priority.score), 4),
                    "respond_by": respond_by,
                    "labels": {
                        task: prediction.tasks[task].label for task in predictor.schema.names
                    },
                    "text": _excerpt(text),
                }
            )
        advance(len(batch))
    tally.add_top(candidates)
    advance(len(rows) - len(pending))
    tally.rows += len(rows)
    return rows


def _text(value: Any) -> str | None:
    return None if is_blank(value) else str(value)


def _excerpt(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _fill_prediction(
    row: dict[str, Any],
    prediction: Prediction,
    predictor: Predictor,
    names: dict[str, str],
    tally: _Tally,
) -> None:
    tally.scored += 1
    if prediction.truncated:
        tally.truncated += 1
    row[names["truncated"]] = bool(prediction.truncated)
    for task in predictor.schema.tasks:
        answer = prediction.tasks[task.name]
        scores = {label: round(float(score), 4) for label, score in answer.scores.items()}
        top = answer.scores[answer.label]
        row[names[task.name]] = list(answer.labels) if task.is_multi_label else answer.label
        row[names[f"{task.name}_score"]] = round(float(top), 4) if not math.isnan(top) else None
        row[names[f"{task.name}_scores"]] = scores
        counts = tally.labels[task.name]
        for label in answer.labels if task.is_multi_label else [answer.label]:
            counts[label] = counts.get(label, 0) + 1


def _chunks_from(
    path: Path,
    fmt: TableFormat,
    encoding: str | None,
    chunk_rows: int,
    first_row: int,
    columns: list[str] | None,
) -> Iterator[pd.DataFrame]:
    """The input's chunks from row ``first_row`` on (every column of ``columns`` present)."""
    for chunk in iter_table_chunks(path, chunk_rows, fmt, encoding):
        if len(chunk) and chunk.index[-1] < first_row:
            continue
        if first_row and len(chunk) and chunk.index[0] < first_row:
            chunk = chunk.loc[first_row:]
        if columns is not None and list(chunk.columns) != columns:
            chunk = chunk.reindex(columns=columns)
            chunk = chunk.astype(object).where(chunk.notna(), None)
        yield chunk


def score_file(
    input_path: str | Path,
    output_path: str | Path,
    predictor: Predictor,
    policy: PriorityPolicy,
    text_columns: Sequence[str] | None = None,
    id_column: str | None = None,
    channel_column: str | None = None,
    time_column: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    resume: bool = False,
    progress: bool = True,
    *,
    encoding: str | None = None,
    now: datetime | None = None,
    top_n: int = TOP_ROWS,
    _fail_after_chunks: int | None = None,
) -> ScoreSummary:
    """Tag and prioritize every row of ``input_path`` and write ``output_path``.

    ``text_columns`` (joined with a blank line, in order) default to :func:`detect_text_columns`;
    ``channel_column`` and ``time_column`` feed the priority; ``id_column`` names rows in the
    summary. ``chunk_rows`` rows are read, scored and written at a time (and are the unit of
    resumption); ``batch_size`` texts go to the predictor per call. ``resume`` continues an
    interrupted run into the same output (starting fresh when there is none); without it, a
    leftover partial output is discarded. ``now`` is the time the priority is computed at
    (default: when the run started; a resumed run keeps its original). ``encoding`` overrides the
    detected text encoding of CSV/TSV/JSON Lines input.
    """
    started = time.perf_counter()
    input_path, output_path = Path(input_path), Path(output_path)
    if chunk_rows < 1 or batch_size < 1:
        raise ValueError("chunk_rows and batch_size must be at least 1")
    if input_path.resolve() == output_path.resolve():
        raise ValueError(f"the output {output_path} would overwrite the input; choose another")
    output_format(output_path)  # fail on a bad extension before reading anything
    if isinstance(text_columns, str):
        text_columns = [text_columns]
    fmt = detect_format(input_path)
    for note in policy.check_against(predictor.schema):
        logger.info("priority policy: %s", note)

    all_columns = None
    if fmt == "jsonl":
        all_columns = _jsonl_columns(input_path, fmt, encoding, chunk_rows)
        if ERROR_COLUMN in all_columns:
            all_columns.remove(ERROR_COLUMN)
        all_columns.append(ERROR_COLUMN)
    chunks = _chunks_from(input_path, fmt, encoding, chunk_rows, 0, all_columns)
    first = next(chunks)
    plan = _plan(
        list(first.columns), predictor, text_columns, id_column, channel_column, time_column
    )
    options = _options(plan, predictor, policy, output_path)
    fingerprint = file_fingerprint(input_path)
    state_file = state_path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    writer: PartialWriter = open_writer(output_path, plan.columns)
    tally = _Tally(predictor, top_n)

    state = _load_state(state_file) if resume else None
    if resume and state is None and partial_path(output_path).exists():
        logger.warning("no state for %s; starting over", partial_path(output_path))
    rows_done = 0
    if state is not None:
        _check_resumable(state, fingerprint, options, input_path)
        rows_done = int(state["rows_done"])
        writer.start(state["writer"])
        tally.load(state["summary"])
        now = datetime.fromisoformat(state["now"])
        if rows_done:
            chunks.close()
            chunks = _chunks_from(input_path, fmt, encoding, chunk_rows, rows_done, all_columns)
            first = None
    else:
        if state_file.exists():
            state_file.unlink()
        if partial_path(output_path).exists():
            logger.warning(
                "discarding the partial output of an earlier run (pass resume to use it)"
            )
        writer.start(None)
        now = now or datetime.now(UTC).replace(microsecond=0)
        if now.tzinfo is None:
            now = now.replace(tzinfo=policy.zone)
        state = {
            "version": STATE_VERSION,
            "input": {"path": str(input_path.resolve()), "fingerprint": fingerprint},
            "options": options,
            "now": now.isoformat(),
            "rows_done": 0,
            "writer": None,
            "summary": tally.to_json(),
        }
        _save_state(state_file, state)

    from tqdm.auto import tqdm

    total = estimate_rows(input_path, fmt, encoding)
    bar = tqdm(
        total=total,
        initial=rows_done,
        unit=" rows",
        desc=f"scoring {input_path.name}",
        disable=not progress,
        dynamic_ncols=True,
        smoothing=0.1,
    )

    def advance(n: int) -> None:
        bar.update(n)
        if bar.total is not None and bar.n > bar.total:
            bar.total = bar.n

    written, resumed_rows = 0, rows_done
    try:
        stream = chunks if first is None else _prepend(first, chunks)
        for chunk in stream:
            rows = _score_chunk(chunk, plan, predictor, policy, now, tally, batch_size, advance)
            checkpoint = writer.write_chunk(rows)
            rows_done += len(rows)
            state.update(rows_done=rows_done, writer=checkpoint, summary=tally.to_json())
            _save_state(state_file, state)
            written += 1
            if _fail_after_chunks is not None and written >= _fail_after_chunks:
                raise KeyboardInterrupt("injected failure (tests)")
        bar.total = bar.n
        bar.refresh()
    finally:
        bar.close()
        writer.close()
    writer.finish()
    state_file.unlink(missing_ok=True)

    return ScoreSummary(
        input_path=input_path,
        output_path=output_path,
        rows=tally.rows,
        scored=tally.scored,
        failed=tally.failed,
        truncated=tally.truncated,
        resumed_rows=resumed_rows,
        text_columns=plan.text_columns,
        columns=[column.name for column in plan.columns],
        label_counts=tally.labels,
        priority_counts={level: tally.levels[level] for level in LEVELS if level in tally.levels},
        top=[TopRow(**item) for item in tally.top],
        error_examples=list(tally.errors),
        seconds=time.perf_counter() - started,
    )


def _prepend(first: pd.DataFrame, rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    yield first
    yield from rest


__all__ = [
    "TEXT_COLUMN_NAMES",
    "TITLE_COLUMN_NAMES",
    "ColumnError",
    "ResumeError",
    "ScoreSummary",
    "TopRow",
    "detect_text_columns",
    "estimate_rows",
    "file_fingerprint",
    "join_text",
    "normalize_column_name",
    "parse_time",
    "resolve_text_columns",
    "score_file",
    "state_path",
]
