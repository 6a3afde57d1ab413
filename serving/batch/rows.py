"""Counting an input's rows, for the progress bar only (it never decides what is scored)."""

from __future__ import annotations

import codecs
from pathlib import Path

from nabiz.tabular import TableFormat, count_csv_records, detect_encoding


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


def estimate_rows(
    path: str | Path, fmt: TableFormat, encoding: str | None = None, sheet: str | None = None
) -> int | None:
    """The row count for the progress bar: exact for Parquet, the sheet's dimension for Excel,
    parsed records for CSV (a quoted line break is not a row), lines for JSON Lines."""
    path = Path(path)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if fmt == "xlsx":
            from nabiz.tabular_excel import choose_sheet, open_workbook

            workbook = open_workbook(path, data_only=False)
            try:
                rows = choose_sheet(workbook, sheet, path).max_row
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
