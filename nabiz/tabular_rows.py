"""The rules every table reader keeps (:mod:`nabiz.tabular` states them; import from there):
values as text, the error column and its notes, header names, rows fitted to the header, chunks
numbered by row, and opening text files with messages that say how to fix the encoding."""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from nabiz.tabular_detect import TableReadError, detect_encoding

ERROR_COLUMN = "_error"
"""Column that carries a message for a row that could not be read faithfully (else ``None``)."""

MAX_FIELD_CHARS = 16 << 20  # a longer CSV field is almost surely an unclosed quote
DEFAULT_CHUNK_ROWS = 10_000
TEXT_JOINER = "\n\n"  # between the text columns of one row

NOTE_PREFIX = "note: "
"""Starts a message in :data:`ERROR_COLUMN` for a row whose values were read exactly."""


class NumberText(str):
    """A cell that was a number in the file (Excel, JSON, Parquet), as its text: ``"-150"``.

    It is a ``str`` everywhere; writers that can hold numbers (Excel) write it back as a number,
    and the spreadsheet guard never prefixes it (a number is not a formula).
    """

    __slots__ = ()

    def number(self) -> int | float | None:
        """The value as a number; ``None`` for text that is not one."""
        try:
            return int(self)
        except ValueError:
            pass
        try:
            value = float(self)
        except ValueError:
            return None
        return value if math.isfinite(value) else None


class DateText(str):
    """A cell that was a date, a time or both in the file (Excel, Parquet), in ISO form:
    ``"2025-02-03 12:00:00"``. Excel output writes it back as a date cell (as text it would no
    longer sort or filter as a date); everywhere else it is the text.

    ``number_format`` is the Excel number format the input cell was shown with (``dd.mm.yyyy``,
    ``dd.mm.yyyy hh:mm``), so that Excel output shows the date as the user formatted it; it
    travels with each cell, so a column mixing formats keeps each cell's. ``None`` where the file
    has no formats (Parquet): the writer picks its default."""

    __slots__ = ("number_format",)

    number_format: str | None

    def __new__(cls, text: str, number_format: str | None = None) -> DateText:
        self = super().__new__(cls, text)
        self.number_format = number_format
        return self

    def __reduce__(self) -> tuple[type[DateText], tuple[str, str | None]]:
        # pickled with its format (process pools, Ray): protocols 0 and 1 cannot pickle slots
        return (type(self), (str(self), self.number_format))

    def moment(self) -> datetime | date | time:
        if ":" not in self:
            return date.fromisoformat(self)
        return datetime.fromisoformat(self) if "-" in self else time.fromisoformat(self)


class BoolText(str):
    """A cell that was a boolean in the file (JSON, Parquet, Excel), as ``"true"``/``"false"``:
    JSON Lines writes it back as a boolean (as the text ``"false"`` it would be truthy)."""

    __slots__ = ()

    def boolean(self) -> bool:
        return self == "true"


def note(message: str) -> str:
    """A :data:`ERROR_COLUMN` message for a row whose values were read exactly."""
    return NOTE_PREFIX + message


def is_note(message: object) -> bool:
    """True for a message made by :func:`note`: the row itself was read faithfully."""
    return isinstance(message, str) and message.startswith(NOTE_PREFIX)


# ----------------------------------------------------------------------------------------------
# values


def is_blank(value: Any) -> bool:
    """True for a missing value: ``None``, NaN, or a string of only whitespace."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    return False


def join_text(values: Sequence[Any]) -> str:
    """A row's text columns as the one text the model reads: the non-blank parts, stripped, joined
    with a blank line (a list or dict cell as JSON). Training and scoring both join with this, so
    the model is served texts put together the way it was trained on."""
    parts = []
    for value in values:
        if is_blank(value):
            continue
        if isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)
        parts.append(str(value).strip())
    return TEXT_JOINER.join(parts)


def to_text(value: Any) -> Any:
    """A cell as text; ``None`` for missing; lists and dicts kept (multi-label cells in JSON)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return BoolText("true" if value else "false")
    if isinstance(value, int):
        return NumberText(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not math.isfinite(value):
            return repr(value)
        return NumberText(int(value) if value.is_integer() and abs(value) < 1e16 else repr(value))
    if isinstance(value, Decimal):
        return NumberText(value) if value.is_finite() else str(value)
    if isinstance(value, datetime):
        return DateText(value.isoformat(sep=" "))
    if isinstance(value, date | time):
        return DateText(value.isoformat())
    if isinstance(value, list | dict):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def unique_names(raw: Iterable[Any]) -> list[str]:
    """Header names stripped, blanks named ``Unnamed: i``, repeats suffixed ``.1``, ``.2``…"""
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, value in enumerate(raw):
        name = "" if value is None else str(to_text(value)).strip()
        if not name:
            name = f"Unnamed: {position}"
        if name in seen:
            seen[name] += 1
            candidate = f"{name}.{seen[name]}"
            while candidate in seen:
                seen[name] += 1
                candidate = f"{name}.{seen[name]}"
            name = candidate
        seen.setdefault(name, 0)
        names.append(name)
    return names


def check_header(path: Path, columns: list[str]) -> None:
    if ERROR_COLUMN in columns:
        raise TableReadError(
            f"{path}: a column is named {ERROR_COLUMN!r}, which the reader uses to mark malformed "
            "rows; rename that column."
        )


def rows_frame(rows: list[list[Any]], columns: list[str], start: int) -> pd.DataFrame:
    """Rows (each: values…, error) as a frame indexed from ``start``."""
    frame = pd.DataFrame(rows, columns=[*columns, ERROR_COLUMN], dtype=object)
    frame.index = pd.RangeIndex(start, start + len(rows))
    return frame


def chunk_frames(
    path: Path, columns: list[str], rows: Iterator[list[Any]], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """Group rows (each: values…, error) into frames indexed by global row number."""
    start, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk_rows:
            yield rows_frame(batch, columns, start)
            start += len(batch)
            batch = []
    if batch or start == 0:
        yield rows_frame(batch, columns, start)


def fit_row(values: list[Any], width: int, where: str, fill: str | None) -> list[Any]:
    """Pad (with ``fill``) or cut a row to ``width`` values and append its error (or None).

    Empty values past the header's width (a trailing delimiter: ``1,text,``) are dropped without
    an error; a value there that is not empty is an error."""
    if len(values) > width:
        values = trim_blank_tail(values, width)
    if len(values) == width:
        return [*values, None]
    if len(values) < width:
        padded = values + [fill] * (width - len(values))
        message = f"{where}: expected {width} fields, found {len(values)}; missing ones left empty"
        return [*padded, message]
    # The message names the place, never the values: they may hold a customer's personal data.
    message = (
        f"{where}: expected {width} fields, found {len(values)}; "
        f"the {len(values) - width} extra value(s) dropped"
    )
    return [*values[:width], message]


def trim_blank_tail(values: list[Any], width: int) -> list[Any]:
    """``values`` without the blank ones at its end past ``width``."""
    end = len(values)
    while end > width and is_blank(values[end - 1]):
        end -= 1
    return values if end == len(values) else values[:end]


def with_meta(frames: Iterator[pd.DataFrame], meta: dict[str, Any]) -> Iterator[pd.DataFrame]:
    """The frames, each with ``meta`` in its ``attrs`` (what was read: sheet, header row…)."""
    for frame in frames:
        frame.attrs.update(meta)
        yield frame


# ----------------------------------------------------------------------------------------------
# CSV / TSV


def open_text(path: Path, encoding: str) -> TextIO:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise TableReadError(
            f"{path}: unknown encoding {encoding!r}; use a Python codec name such as utf-8, "
            "utf-8-sig, utf-16, utf-16-le, cp1254 or iso-8859-9."
        ) from None
    return path.open("r", encoding=encoding, newline="")


def text_error(path: Path, encoding: str, given: bool, error: UnicodeError) -> TableReadError:
    """The message for a text file that does not decode as ``encoding`` (given or detected)."""
    if not isinstance(error, UnicodeDecodeError):
        # utf-16 / utf-32 without a byte-order mark: the codec cannot tell the byte order
        family = "utf-32" if "32" in codecs.lookup(encoding).name else "utf-16"
        try:
            detected = f" (it looks like {detect_encoding(path)})"
        except TableReadError:
            detected = ""
        return TableReadError(
            f"{path}: the file does not start with the byte-order mark (BOM) that encoding "
            f"{encoding!r} needs to tell the byte order. For {family.upper()} without a BOM pass "
            f"{family}-le (Windows, Excel 'Unicode Text') or {family}-be; or leave the encoding "
            f"out to detect it{detected}."
        )
    where = f"byte {error.object[error.start : error.end]!r} near offset {error.start} of a block"
    if given:
        return TableReadError(
            f"{path}: the file is not valid {encoding} ({where}). Pass the file's encoding "
            "(e.g. encoding='cp1254' for Turkish Windows exports, 'utf-16' for Excel 'Unicode "
            "Text'), or leave it out to detect it."
        )
    return TableReadError(
        f"{path}: the file is not valid {encoding} ({where}); the encoding was detected from "
        "the start of the file, but later parts differ. Save the file as UTF-8, or pass the "
        "right encoding (e.g. encoding='cp1254' for Turkish Windows exports, 'utf-16' for Excel "
        "'Unicode Text')."
    )
