"""What a batch run wrote: the running counts (saved with the resume state) and the summary."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nabiz.model.predictor import Predictor
from nabiz.serving.batch.arrival import Arrival, UndatedCause
from nabiz.serving.priority import queue_key

TOP_ROWS = 10
ERROR_EXAMPLES = 5  # the first errors and notes the summary quotes
UNDATED_NOTE = "note: no respond-by: "  # starts the error column of a row scored without one
# The summary's words for each cause of a missing respond-by, naming the column that fixes it: a
# data engineer with 4,000 undated rows learns which column to look at first.
UNDATED_CAUSES = {
    UndatedCause.TIME_UNREADABLE: "with a time that could not be read (time column: fix its "
    "values, or read them with --time-format)",
    UndatedCause.TIME_BLANK: "with an empty time cell (time column: fill it in)",
    UndatedCause.CHANNEL_UNKNOWN: "with a channel the policy does not know (channel column: fix "
    "its values, or add the channel or an alias to the policy)",
}


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
    noted: int = 0  # scored rows with a note of the reader (an Excel value without a header)
    undated: int = 0  # scored rows without a respond-by: their channel or time could not be read
    undated_by: dict[str, int] = field(default_factory=dict)  # UndatedCause → rows (a row: 1 or 2)
    first_undated: str | None = None  # why the first of them has none
    resumed_rows: int = 0  # rows an interrupted run had already written
    text_columns: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)  # columns that look useful but were not read
    notes: list[str] = field(default_factory=list)  # what was read and written (sheet, header…)
    columns: list[str] = field(default_factory=list)  # the output's columns
    label_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    priority_counts: dict[str, int] = field(default_factory=dict)
    top: list[TopRow] = field(default_factory=list)
    error_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def nothing_scored(self) -> bool:
        """Rows were read but none could be scored: the command should not pass as a success."""
        return self.rows > 0 and self.scored == 0

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
            + (f", {self.noted:,} scored with a note" if self.noted else "")
            + (f", {self.undated:,} scored without a respond-by" if self.undated else "")
            + ")"
            + (
                f"; {self.rows - self.resumed_rows:,} of them in this run, in {self.seconds:.1f} s "
                f"({_rate(self.rows_per_second)}), and {self.resumed_rows:,} in the interrupted "
                "run before it."
                if self.resumed_rows
                else f" in {self.seconds:.1f} s ({_rate(self.rows_per_second)})."
            ),
            f"Text column(s): {' + '.join(self.text_columns)}",
            *(f"note: {note}" for note in self.notes),
            *(f"note: {hint}" for hint in self.hints),
        ]
        if self.noted and self.noted * 2 >= self.rows:
            lines.append(
                f"warning: {self.noted:,} of {self.rows:,} rows have values right of the header's "
                "last column (left out): is the header row right? --header-row N names it."
            )
        if self.undated:
            lines.extend(self._undated_lines())
        if self.nothing_scored:
            lines.append(
                f"warning: no row was scored: all {self.rows:,} have an error (first ones below). "
                "Check the text column (--text-column), and for a workbook the sheet (--sheet) "
                "and the header row (--header-row)."
            )
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
            noted = self.noted or self.undated
            lines.append("errors and notes (first ones):" if noted else "errors (first ones):")
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

    def _undated_lines(self) -> list[str]:
        """The warning about rows without a respond-by: how many, by cause, and the first."""
        lines = [
            f"warning: {self.undated:,} scored rows have no respond-by (tags and level are "
            "there), by cause:"
        ]
        for cause, words in UNDATED_CAUSES.items():
            if self.undated_by.get(cause):
                lines.append(f"  {self.undated_by[cause]:,} {words}")
        counted = sum(self.undated_by.values())
        if counted > self.undated:  # one row, two causes: counted under each
            both = counted - self.undated
            lines.append(
                f"  ({both:,} of them have both a time and a channel problem: counted twice)"
            )
        elif counted < self.undated:  # a run resumed from the state of an older version
            lines.append(f"  {self.undated - counted:,} not counted by cause")
        lines.append(f"  First: {self.first_undated}")
        return lines


class Tally:
    """The summary's running counts, saved in the state file after every chunk."""

    def __init__(self, predictor: Predictor, top_n: int) -> None:
        self.top_n = top_n
        self.rows = self.scored = self.failed = self.truncated = self.noted = self.undated = 0
        self.undated_by: dict[str, int] = {}  # UndatedCause → rows without a respond-by
        self.first_undated: list | None = None  # [row, problem] of the first row without one
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
                "noted",
                "undated",
                "undated_by",
                "first_undated",
                "labels",
                "levels",
                "top",
                "errors",
            )
        }

    def load(self, data: dict[str, Any]) -> None:
        for key, value in data.items():
            setattr(self, key, value)

    def _example(self, row: int, message: str) -> None:
        if len(self.errors) < ERROR_EXAMPLES:
            self.errors.append(f"row {row + 1}: {message}")

    def add_error(self, row: int, message: str) -> None:
        self.failed += 1
        self._example(row, message)

    def add_note(self, row: int, message: str) -> None:
        """A scored row with a note of the reader."""
        self.noted += 1
        self._example(row, message)

    def add_undated(self, row: int, arrival: Arrival) -> None:
        """A scored row without a respond-by: ``arrival`` says which channel or time value could
        not be read and why (its row's note is ``note: no respond-by: <problem>``)."""
        self.undated += 1
        for cause in arrival.causes:
            self.undated_by[cause.value] = self.undated_by.get(cause.value, 0) + 1
        if self.first_undated is None:
            self.first_undated = [row, arrival.problem]
        self._example(row, UNDATED_NOTE + arrival.problem)

    def add_top(self, candidates: list[dict[str, Any]]) -> None:
        self.top = heapq.nsmallest(self.top_n, self.top + candidates, key=queue_order)


def undated_example(first: list | tuple | None, file: str | None = None) -> str | None:
    """The summary's words for the first row without a respond-by (``[row, problem]``)."""
    if first is None:
        return None
    row, problem = first
    return f"{file + ' ' if file else ''}row {row + 1}: {problem}"


def queue_order(item: dict[str, Any]) -> tuple:
    """The triage queue's order: level, then the earliest deadline, the higher score, the row."""
    due = datetime.fromisoformat(item["respond_by"]) if item["respond_by"] else None
    return (*queue_key(item["priority_level"], due, item["priority_score"]), item["row"])


def reading_notes(read: dict[str, Any]) -> list[str]:
    """The summary's words for what the reader chose (``attrs`` of its first frame): the sheet of
    a workbook with several, and a header that is not in the first row."""
    notes = []
    sheet, sheets = read.get("sheet"), read.get("sheets") or []
    if len(sheets) > 1:
        listed = ", ".join(repr(name) for name in sheets)
        notes.append(f"read sheet {sheet!r} of {listed}; --sheet NAME reads another")
    header = read.get("header_row")
    if header and header > 1:
        where = f"row {header} of sheet {sheet!r}" if sheet else f"line {header}"
        title = read.get("title_rows") or 0
        skipped = (
            f"; the {title} row(s) above it with a single value (a title) were skipped"
            if title
            else ""
        )
        notes.append(f"the header was taken from {where}{skipped}; --header-row N names another")
    return notes


def _rate(rows_per_second: float) -> str:
    """Rows a second, with a decimal where whole numbers would say 0."""
    return (
        f"{rows_per_second:,.0f} rows/s"
        if rows_per_second >= 10
        else f"{rows_per_second:.1f} rows/s"
    )


class SummaryCollector:
    """Adds up the counts the scoring actors report per batch (run as a Ray actor)."""

    def __init__(self, schema_tasks: dict[str, list[str]], top_n: int) -> None:
        self.top_n = top_n
        self.rows = self.scored = self.failed = self.truncated = self.noted = self.undated = 0
        self.undated_by: dict[str, int] = {}  # UndatedCause → rows without a respond-by
        self.first_undated: tuple[str, int, str] | None = None  # (file, row, why)
        self.labels = {task: dict.fromkeys(labels, 0) for task, labels in schema_tasks.items()}
        self.levels: dict[str, int] = {}
        self.top: list[dict[str, Any]] = []
        self.errors: list[tuple[str, int, str]] = []

    def add(self, reports: list[tuple[dict[str, Any], list[tuple[str, int, str]]]]) -> None:
        """Adds each (tally of a part of a batch, its first errors as (file, row, message))."""
        for tally, errors in reports:
            self._add(tally, errors)

    def _add(self, tally: dict[str, Any], errors: list[tuple[str, int, str]]) -> None:
        for key in ("rows", "scored", "failed", "truncated", "noted", "undated"):
            setattr(self, key, getattr(self, key) + tally[key])
        for cause, count in tally["undated_by"].items():
            self.undated_by[cause] = self.undated_by.get(cause, 0) + count
        if tally["first_undated"] is not None:  # the first in file order, whichever came first
            first = (tally["file"], *tally["first_undated"])
            self.first_undated = min(self.first_undated or first, first)
        for task, counts in tally["labels"].items():
            mine = self.labels.setdefault(task, {})
            for label, count in counts.items():
                mine[label] = mine.get(label, 0) + count
        for level, count in tally["levels"].items():
            self.levels[level] = self.levels.get(level, 0) + count
        order = lambda item: (*queue_order(item)[:-1], item.get("file", ""), item["row"])  # noqa: E731
        self.top = heapq.nsmallest(self.top_n, self.top + tally["top"], key=order)
        self.errors = heapq.nsmallest(ERROR_EXAMPLES, self.errors + [tuple(e) for e in errors])

    def result(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in vars(self)}
