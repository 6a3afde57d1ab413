"""Reading CSV/TSV for :mod:`nabiz.tabular`: records, stray quotes, trailing delimiters.

``csv.reader`` in strict mode reads each record; a record it refuses is read again leniently and
marked in the error column (the promises are :mod:`nabiz.tabular`'s).

A stray quote: a field that starts with a quote may hold line breaks, so a quote that is never
closed reads on into the next lines, up to the next quote in the file. Whether that was a
multi-line text or a stray quote shows when the record ends: a text closes with a quote followed
by a delimiter or the line's end; a stray quote's record is malformed (the quote is followed by
text, or never closes before the end of the file). A malformed record is cut back to its first
line when the quote never closes, or when one of the lines it swallowed parses on its own as a
row of the header's width: that first line is read with the quote as a plain character and
marked, and the lines after it are read again as rows of their own. A record that parses
cleanly is read as written: valid CSV stays valid, even when a quoted text's lines look like rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from nabiz.tabular_detect import SNIFF_CHARS, TableReadError, detect_encoding, sniff_delimiter
from nabiz.tabular_rows import (
    MAX_FIELD_CHARS,
    check_header,
    chunk_frames,
    fit_row,
    open_text,
    text_error,
    trim_blank_tail,
    unique_names,
    with_meta,
)

STRAY_QUOTE = 'a quote (") is never closed on this line; read with the quote as a plain character'


class _LineTape:
    """Feeds lines to ``csv.reader`` and remembers those of the record being read."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._pending: list[str] = []  # lines to replay before reading on
        self.record: list[str] = []
        self.line_number = 0  # physical lines handed out so far

    def __iter__(self) -> _LineTape:
        return self

    def __next__(self) -> str:
        line = self._pending.pop(0) if self._pending else next(self._lines)
        self.record.append(line)
        self.line_number += 1
        return line

    def replay(self, lines: list[str]) -> None:
        self._pending[:0] = lines
        self.line_number -= len(lines)


def _literal_fields(line: str, delimiter: str) -> list[str]:
    """The fields of one line with the quote read as a plain character."""
    return next(csv.reader([line], delimiter=delimiter, quoting=csv.QUOTE_NONE), [])


def _is_row(line: str, delimiter: str, width: int) -> bool:
    """True when ``line`` alone is one well-formed record of ``width`` fields (empty fields of a
    trailing delimiter aside)."""
    try:
        records = list(csv.reader([line], delimiter=delimiter, strict=True))
    except csv.Error:
        return False
    return len(records) == 1 and len(trim_blank_tail(records[0], width)) == width


def _csv_records(
    handle: TextIO, delimiter: str, skip_lines: int = 0
) -> Iterator[tuple[int, list[str], str | None]]:
    """(first line number, fields, error) per record, the header's first; malformed records read
    leniently and marked. ``skip_lines`` lines are passed over before the first record."""
    if csv.field_size_limit() < MAX_FIELD_CHARS:
        csv.field_size_limit(MAX_FIELD_CHARS)
    tape = _LineTape(iter(handle))
    for _ in range(skip_lines):
        if next(tape, None) is None:
            return
    reader = csv.reader(tape, delimiter=delimiter, strict=True)
    width: int | None = None  # the header's, once read
    while True:
        tape.record = []
        first_line = tape.line_number + 1
        try:
            fields = next(reader)
            message = None
        except StopIteration:
            return
        except csv.Error as error:
            recovered = _recover(tape, str(error), first_line, delimiter, width)
            if recovered is None:
                raise TableReadError(
                    f"{handle.name}: line {first_line}: a field runs past "
                    f'{MAX_FIELD_CHARS:,} characters, which almost always means a quote (") '
                    "that is never closed. Fix the quoting near that line, or export the file "
                    "again with quoted text fields."
                ) from None
            fields, message = recovered
        if fields or message:  # blank lines are not rows
            if width is None:
                width = len(fields)
            yield first_line, fields, message


def _recover(
    tape: _LineTape, error: str, first_line: int, delimiter: str, width: int | None
) -> tuple[list[str], str] | None:
    """The fields and message of a record ``csv.reader`` refused (its lines are on the tape);
    ``None`` for a field past the size limit that cannot be told from a stray quote."""
    raw = tape.record
    unclosed = "unexpected end of data" in error
    swallowed = raw[1:]
    if "field larger than field limit" in error:
        if width is None or not any(_is_row(line, delimiter, width) for line in swallowed):
            return None
        unclosed = True  # a stray quote that read on for megabytes
    if swallowed and (
        unclosed
        or (width is not None and any(_is_row(line, delimiter, width) for line in swallowed))
    ):
        # a stray quote swallowed lines that are rows: keep the first line as one marked row
        # and read the lines after it again
        tape.replay(swallowed)
        return _literal_fields(raw[0], delimiter), f"line {first_line}: {STRAY_QUOTE}"
    if unclosed:  # on the file's last line
        return _literal_fields(raw[0], delimiter), f"line {first_line}: {STRAY_QUOTE}"
    fields = next(csv.reader(["".join(raw)], delimiter=delimiter, strict=False), [])
    return fields, f"line {first_line}: {error}; read leniently"


def _sniff_and_rewind(handle: TextIO, skip_lines: int = 0) -> str:
    """The delimiter sniffed from the file's start (past ``skip_lines`` lines), the handle put
    back at the start."""
    for _ in range(skip_lines):
        handle.readline()
    delimiter = sniff_delimiter(handle.read(SNIFF_CHARS))
    handle.seek(0)
    return delimiter


def count_records(path: Path, encoding: str, delimiter: str | None = None) -> int:
    """Records (header included) as a lenient ``csv.reader`` sees them (a progress bar's hint)."""
    with open_text(path, encoding) as handle:
        delimiter = delimiter or _sniff_and_rewind(handle)
        return sum(1 for _ in csv.reader(handle, delimiter=delimiter, strict=False))


def iter_csv(
    path: Path,
    delimiter: str | None,
    encoding: str | None,
    chunk_rows: int,
    header_row: int | None = None,
) -> Iterator[pd.DataFrame]:
    """The frames of a CSV/TSV file; its header is the first non-blank line (from line
    ``header_row`` on, when given)."""
    given = encoding is not None
    encoding = encoding or detect_encoding(path)
    skip = header_row - 1 if header_row else 0
    with open_text(path, encoding) as handle:
        try:
            delimiter = delimiter or _sniff_and_rewind(handle, skip)
            records = _csv_records(handle, delimiter, skip)
            header = next(records, None)
            if header is None:
                if skip:
                    raise TableReadError(
                        f"{path}: nothing from line {header_row} on; the header row is the line "
                        "that names the columns (1 for the first line)."
                    )
                raise TableReadError(
                    f"{path}: the file is empty; a table needs a header row naming its columns."
                )
            header_line, names, _ = header
            columns = unique_names(names)
            check_header(path, columns)
            width = len(columns)

            def rows() -> Iterator[list[Any]]:
                for line, fields, error in records:
                    row = fit_row(fields, width, f"line {line}", "")
                    if error is not None:
                        row[-1] = error if row[-1] is None else f"{error}; {row[-1]}"
                    yield row

            frames = chunk_frames(path, columns, rows(), chunk_rows)
            yield from with_meta(frames, {"header_row": header_line})
        except UnicodeError as error:
            raise text_error(path, encoding, given, error) from None
