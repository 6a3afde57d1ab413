"""Reading Excel workbooks for :mod:`nabiz.tabular`: which sheet, and which row is the header.

* **The sheet**: the one named; else the active sheet (the one Excel opens on) unless it is
  empty; else the first sheet with a value. A cover sheet in front of the data is passed over
  when the data sheet was the one saved open or the cover is empty.
* **The header**: the row named (``header_row``, numbered as Excel numbers rows); else the first
  row with two or more values, after a title block of up to :data:`TITLE_ROWS` rows holding one
  value each ("Şikayetler (Aralık 2026)", "Hazırlayan: CRM") and blank rows. When no row with two
  values comes that soon, the sheet is a one-column table and its first row is the header.
* **Values past the header**: cells are exact, so a value in a column right of the last named
  one is left out with a note (:func:`nabiz.tabular.note`), not an error: the row's other
  values are read as they are.
* **Date cells** are :class:`~nabiz.tabular.DateText` with the cell's own number format
  (``dd.mm.yyyy``), cell by cell, so that an Excel output shows them as the input did. The rows
  are streamed as cells rather than bare values for it (read-only mode still: memory stays flat;
  about a tenth more reading time, little beside scoring).

The first frame's ``attrs`` name the sheet, the workbook's sheets, the header's row and the
title rows passed over.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from nabiz.tabular_detect import TableReadError
from nabiz.tabular_rows import (
    DateText,
    check_header,
    chunk_frames,
    is_blank,
    note,
    to_text,
    trim_blank_tail,
    unique_names,
    with_meta,
)

TITLE_ROWS = 5  # rows of one value each looked past for a header below them


class Row(NamedTuple):
    """A row of the sheet as read: its values as openpyxl gives them (the header is told by
    their types), and the number formats of its date cells."""

    number: int  # as Excel numbers rows
    values: tuple[Any, ...]
    date_formats: dict[int, str]  # position → number format, of date cells only (most rows: none)


def sheet_rows(worksheet) -> Iterator[Row]:
    """The sheet's rows, streamed; a cell's number format is looked up only for date values."""
    for number, cells in enumerate(worksheet.iter_rows(), start=1):
        values = tuple(cell.value for cell in cells)
        formats = {
            i: cells[i].number_format
            for i, value in enumerate(values)
            if isinstance(value, datetime | date | time)
        }
        yield Row(number, values, formats)


def open_workbook(path: Path, data_only: bool = True):
    """The workbook, read-only (streamed)."""
    try:
        from openpyxl import load_workbook
    except ImportError as error:  # pragma: no cover - openpyxl is a dependency
        raise TableReadError("reading .xlsx needs openpyxl: pip install openpyxl") from error
    try:
        return load_workbook(path, read_only=True, data_only=data_only)
    except Exception as error:
        raise TableReadError(
            f"{path}: not a readable .xlsx workbook ({type(error).__name__}: {error}); open it "
            "in Excel and save it again as 'Excel Workbook (.xlsx)', or export it as CSV."
        ) from error


def _has_values(worksheet) -> bool:
    return any(
        not all(is_blank(value) for value in row) for row in worksheet.iter_rows(values_only=True)
    )


def choose_sheet(workbook, sheet: str | None, path: Path):
    """The worksheet to read: ``sheet``, else the active one unless empty, else the first with
    a value (else the active one, to say it is empty)."""
    if sheet is not None:
        if sheet not in workbook.sheetnames:
            raise TableReadError(
                f"{path}: no sheet {sheet!r}; the workbook has {workbook.sheetnames}."
            )
        chosen = workbook[sheet]
        if chosen not in workbook.worksheets:
            raise TableReadError(f"{path}: sheet {sheet!r} is a chart, not a table.")
        return chosen
    worksheets = list(workbook.worksheets)
    if not worksheets:
        raise TableReadError(f"{path}: the workbook has no worksheet, only charts.")
    active = workbook.active
    first = active if any(active is sheet for sheet in worksheets) else worksheets[0]
    for candidate in [first, *(sheet for sheet in worksheets if sheet is not first)]:
        if _has_values(candidate):
            return candidate
    return first


def _filled(values: tuple[Any, ...]) -> int:
    return sum(not is_blank(value) for value in values)


def find_header(rows: Iterator[Row], header_row: int | None) -> tuple[Row | None, list[Row], int]:
    """(the header row, rows read past it to put back in front of the rest, title rows skipped).

    ``header_row`` names it; else the first row with two or more text values, when only rows with
    one value (at most :data:`TITLE_ROWS`) and blank rows come before it; else the first
    non-blank row."""
    if header_row is not None:
        skipped = 0
        for row in rows:
            if row.number == header_row:
                return row, [], skipped
            skipped += _filled(row.values) > 0
        return None, [], skipped
    seen: list[Row] = []  # non-blank rows looked at
    for row in rows:
        filled = _filled(row.values)
        if not filled:
            continue
        texts = all(isinstance(value, str) for value in row.values if not is_blank(value))
        if filled >= 2 and texts:
            return row, [], len(seen)
        seen.append(row)
        if filled >= 2 or len(seen) > TITLE_ROWS:
            break
    if not seen:
        return None, [], 0
    return seen[0], seen[1:], 0


def iter_xlsx(
    path: Path, chunk_rows: int, sheet: str | None, header_row: int | None = None
) -> Iterator[pd.DataFrame]:
    """The frames of a worksheet (see the module's docstring for which sheet and header)."""
    workbook = open_workbook(path)
    try:
        worksheet = choose_sheet(workbook, sheet, path)
        title = worksheet.title
        rows = sheet_rows(worksheet)
        header, replay, title_rows = find_header(rows, header_row)
        if header is None:
            if header_row is not None:
                raise TableReadError(
                    f"{path}: sheet {title!r} has no row {header_row}; the header row is the row "
                    "that names the columns, numbered as Excel numbers rows."
                )
            others = ", or name the sheet to read" if len(workbook.sheetnames) > 1 else ""
            raise TableReadError(
                f"{path}: sheet {title!r} is empty; put a header row naming the columns in its "
                f"first row{others}."
            )
        number, values, _ = header
        columns = unique_names(trim_blank_tail(list(values), 0))
        if not columns:
            raise TableReadError(
                f"{path}: sheet {title!r} row {number} is blank; name the row that holds the "
                "column names."
            )
        check_header(path, columns)
        width = len(columns)

        def read() -> Iterator[list[Any]]:
            for row in itertools.chain(replay, rows):
                cells = [to_text(value) for value in row.values]
                if all(is_blank(value) for value in cells):
                    continue  # formatted but empty rows
                for i, number_format in row.date_formats.items():
                    cells[i] = DateText(cells[i], number_format)
                yield _fit(cells, width, title, row.number)

        meta = {
            "sheet": title,
            "sheets": list(workbook.sheetnames),
            "header_row": number,
            "title_rows": title_rows,
        }
        yield from with_meta(chunk_frames(path, columns, read(), chunk_rows), meta)
    finally:
        workbook.close()


def _fit(cells: list[Any], width: int, title: str, number: int) -> list[Any]:
    """A row of ``width`` cells and its note: values right of the header are left out."""
    from openpyxl.utils import get_column_letter

    extra = [i for i in range(width, len(cells)) if not is_blank(cells[i])]
    cells = cells[:width] + [None] * (width - len(cells))
    if not extra:
        return [*cells, None]
    letters = ", ".join(get_column_letter(i + 1) for i in extra)
    message = note(
        f"sheet {title!r} row {number}: {len(extra)} value(s) in column(s) {letters}, which "
        "have no header, left out"
    )
    return [*cells, message]
