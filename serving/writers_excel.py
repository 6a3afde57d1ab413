"""The Excel output of the batch pipeline (:mod:`nabiz.serving.writers` explains the parts;
import it from there).

A workbook cannot be appended to, so each chunk is a Parquet part and :meth:`ExcelWriter.finish`
streams the parts into one sheet with openpyxl's write-only mode. Text that starts like a formula
gets the ``'`` prefix and is typed as text; a cell read as a number
(:class:`~nabiz.tabular.NumberText`) is written as a number; a text over Excel's 32,767
characters is cut, ending in ``…``, and counted in :attr:`ExcelWriter.cells_cut`.

A cell read as a date (:class:`~nabiz.tabular.DateText`) is written as a date cell with the
number format the input cell had (``dd.mm.yyyy``, ``dd.mm.yyyy hh:mm``: what Turkish Excel users
set), cell by cell; a date from a file without formats (Parquet) gets
:data:`DEFAULT_DATE_FORMATS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from itertools import zip_longest
from pathlib import Path
from typing import Any

from nabiz.serving.writers_base import (
    Column,
    ColumnKind,
    OutputError,
    _PartsWriter,
    arrow_schema,
    arrow_table,
    flat_value,
)
from nabiz.spreadsheet import is_formula_like, neutralize_formula
from nabiz.tabular import DateText, NumberText

EXCEL_MAX_ROWS = 1_048_576  # header included
EXCEL_MAX_CELL_CHARS = 32_767

DEFAULT_DATE_FORMATS: dict[type, str] = {
    datetime: "dd.mm.yyyy hh:mm",
    date: "dd.mm.yyyy",
    time: "hh:mm:ss",
}
"""How a date without a format of its own (a Parquet timestamp) is shown: as Turkish Excel shows
a date or a date and time typed into it, day first, rather than openpyxl's ``yyyy-mm-dd
h:mm:ss``. The users of this tool read dates day first, and an explicit format looks the same in
every Excel, whatever its locale, and next to dates that kept their input's format. A date and
time hides its seconds, as Excel's own date-and-time format does (the cell's value keeps them:
the formula bar, sorting and filtering use it); a time alone shows them, having nothing else."""


class ExcelWriter(_PartsWriter):
    """An .xlsx workbook streamed with openpyxl's write-only mode, one sheet, a bold header.

    Its parts carry two more columns: the positions of the row's cells that were read as numbers
    (:class:`~nabiz.tabular.NumberText`; ``i``) or dates (:class:`~nabiz.tabular.DateText`;
    ``-1 - i``), so that the workbook gets them back as numbers and dates; and, in the same
    order, each one's number format (a date's from its input cell, else null), so that a resumed
    run writes the formats of the rows it scored before it stopped."""

    format = "xlsx"
    sheet_title = "nabiz"

    def __init__(self, output: str | Path, columns: Sequence[Column]) -> None:
        import pyarrow as pa

        super().__init__(output, columns)
        taken = {column.name for column in self.columns}
        self._numbers = _free_name("__nabiz_numbers", taken)
        self._formats = _free_name("__nabiz_formats", taken | {self._numbers})
        self._schema = self._schema.append(pa.field(self._numbers, pa.list_(pa.int32())))
        self._schema = self._schema.append(pa.field(self._formats, pa.list_(pa.string())))
        self.cells_cut = 0  # texts cut to Excel's 32,767 characters

    def _table(self, rows: Sequence[dict[str, Any]]):
        import pyarrow as pa

        table = arrow_table(rows, self.columns, arrow_schema(self.columns))
        numbers: list[list[int] | None] = []
        formats: list[list[str | None] | None] = []  # in the order of ``numbers``
        for row in rows:
            typed = [
                (i, value)
                for i, column in enumerate(self.columns)
                if isinstance(value := row.get(column.name), NumberText | DateText)
            ]
            numbers.append([i if isinstance(v, NumberText) else -1 - i for i, v in typed] or None)
            formats.append(
                [v.number_format if isinstance(v, DateText) else None for _, v in typed] or None
            )
        for name, values, kind in (
            (self._numbers, numbers, pa.int32()),
            (self._formats, formats, pa.string()),
        ):
            table = table.append_column(self._schema.field(name), pa.array(values, pa.list_(kind)))
        return table

    def _check_rows(self, total: int) -> None:
        if total + 1 > EXCEL_MAX_ROWS:
            raise OutputError(
                f"{self.output}: Excel sheets hold at most {EXCEL_MAX_ROWS - 1:,} rows; the input "
                "has more. Write .csv, .jsonl or .parquet instead."
            )

    def _merge(self, parts: list[Path], target: Path) -> None:
        import pyarrow.parquet as pq
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(self.sheet_title)
        bold = Font(bold=True)
        self.cells_cut = 0

        def text(value: Any, kind: ColumnKind) -> Any:
            value, cut = _fit_cell(value, kind)
            self.cells_cut += cut
            if is_formula_like(value):
                # text, not a formula: a customer's "=HYPERLINK(…)" must not run in Excel; the
                # quote prefix as in CSV, and the cell typed as a string
                cell = WriteOnlyCell(sheet, value=neutralize_formula(value))
                cell.data_type = "s"
                return cell
            return value

        header = []
        for column in self.columns:
            name, cut = _fit_cell(column.name, "text")
            self.cells_cut += cut
            cell = WriteOnlyCell(sheet, value=neutralize_formula(name))
            if is_formula_like(name):
                cell.data_type = "s"
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        sheet.freeze_panes = "A2"
        kinds = [column.kind for column in self.columns]
        width = len(kinds)

        for part in parts:
            parquet = pq.ParquetFile(part)
            for batch in parquet.iter_batches(batch_size=2_000):
                columns = [batch.column(i).to_pylist() for i in range(width)]
                numbers = batch.column(width).to_pylist()
                # parts of a run begun before formats were kept have none: the default formats
                shown = batch.column(width + 1).to_pylist() if batch.num_columns > width + 1 else []
                rows = zip(zip(*columns, strict=True), numbers, strict=True)
                for (values, typed), formats in zip_longest(rows, shown):
                    cells = [text(v, kind) for v, kind in zip(values, kinds, strict=True)]
                    for i, number_format in zip_longest(typed or (), formats or ()):
                        if i >= 0:
                            cells[i] = excel_number(values[i], sheet)
                        else:
                            cells[-1 - i] = excel_date(values[-1 - i], sheet, number_format)
                    sheet.append(cells)
            parquet.close()
        workbook.save(target)


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, prefixed with ``_`` until no column has it (a part's hidden column)."""
    while name in taken:
        name = "_" + name
    return name


def excel_date(text: str, sheet: Any, number_format: str | None = None) -> Any:
    """A cell read as a date or time, as a date cell shown with ``number_format`` (its input
    cell's), else with :data:`DEFAULT_DATE_FORMATS`; with a UTC offset (Parquet), as its text:
    Excel has no time zones, and the wall-clock time alone would be another instant."""
    from openpyxl.cell import WriteOnlyCell

    moment = DateText(text).moment()
    if getattr(moment, "tzinfo", None) is not None:
        return text
    cell = WriteOnlyCell(sheet, value=moment)
    cell.number_format = number_format or DEFAULT_DATE_FORMATS[type(moment)]
    return cell


def excel_number(text: str, sheet: Any) -> Any:
    """A cell read as a number, as a number (an integer of 16+ digits as text: Excel keeps only
    15 significant digits)."""
    from openpyxl.cell import WriteOnlyCell

    value = NumberText(text).number()
    if value is None or (isinstance(value, int) and abs(value) >= 10**15):
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"
        return cell
    return value


def _fit_cell(value: Any, kind: ColumnKind) -> tuple[Any, bool]:
    """A value Excel accepts (no control characters, at most 32,767 characters), and whether
    it was cut."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = flat_value(value, kind)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub(" ", value)
        if len(value) > EXCEL_MAX_CELL_CHARS:
            return value[: EXCEL_MAX_CELL_CHARS - 1] + "…", True
    return value, False


def excel_value(value: Any, kind: ColumnKind) -> Any:
    """A value Excel accepts: no control characters, at most 32,767 characters a cell."""
    return _fit_cell(value, kind)[0]
