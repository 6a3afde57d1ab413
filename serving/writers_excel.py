"""The Excel output of the batch pipeline (:mod:`nabiz.serving.writers` explains the parts;
import it from there).

A workbook cannot be appended to, so each chunk is a Parquet part and :meth:`ExcelWriter.finish`
streams the parts into one sheet with openpyxl's write-only mode. Text that starts like a formula
gets the ``'`` prefix and is typed as text; a cell read as a number
(:class:`~nabiz.tabular.NumberText`) is written as a number; a text over Excel's 32,767
characters is cut, ending in ``…``, and counted in :attr:`ExcelWriter.cells_cut`.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class ExcelWriter(_PartsWriter):
    """An .xlsx workbook streamed with openpyxl's write-only mode, one sheet, a bold header.

    Its parts carry one more column, the positions of the row's cells that were read as numbers
    (:class:`~nabiz.tabular.NumberText`; ``i``) or dates (:class:`~nabiz.tabular.DateText`;
    ``-1 - i``), so that the workbook gets them back as numbers and dates."""

    format = "xlsx"
    sheet_title = "nabiz"

    def __init__(self, output: str | Path, columns: Sequence[Column]) -> None:
        import pyarrow as pa

        super().__init__(output, columns)
        taken = {column.name for column in self.columns}
        self._numbers = "__nabiz_numbers"
        while self._numbers in taken:
            self._numbers = "_" + self._numbers
        self._schema = self._schema.append(pa.field(self._numbers, pa.list_(pa.int32())))
        self.cells_cut = 0  # texts cut to Excel's 32,767 characters

    def _table(self, rows: Sequence[dict[str, Any]]):
        import pyarrow as pa

        table = arrow_table(rows, self.columns, arrow_schema(self.columns))
        numbers = [
            [
                i if isinstance(row.get(column.name), NumberText) else -1 - i
                for i, column in enumerate(self.columns)
                if isinstance(row.get(column.name), NumberText | DateText)
            ]
            or None
            for row in rows
        ]
        return table.append_column(
            self._schema.field(self._numbers), pa.array(numbers, pa.list_(pa.int32()))
        )

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
                for values, typed in zip(zip(*columns, strict=True), numbers, strict=True):
                    cells = [text(v, kind) for v, kind in zip(values, kinds, strict=True)]
                    for i in typed or ():
                        if i >= 0:
                            cells[i] = excel_number(values[i], sheet)
                        else:
                            cells[-1 - i] = excel_date(values[-1 - i])
                    sheet.append(cells)
            parquet.close()
        workbook.save(target)


def excel_date(text: str) -> Any:
    """A cell read as a date or time, as one; with a UTC offset (Parquet), as its text: Excel
    has no time zones, and the wall-clock time alone would be another instant."""
    moment = DateText(text).moment()
    return text if getattr(moment, "tzinfo", None) is not None else moment


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
