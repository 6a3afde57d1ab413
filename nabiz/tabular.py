"""Reading customer-feedback tables: CSV/TSV, Excel, JSON Lines and Parquet, whole or in chunks.

Data preparation and the batch scoring pipeline both read user files through this module, so a
file that prepares also scores. The readers are :mod:`nabiz.tabular_csv`, :mod:`nabiz.tabular_excel`
and :mod:`nabiz.tabular_jsonl` (Parquet's is here); detection of the format, encoding and
delimiter is :mod:`nabiz.tabular_detect`; what they share is :mod:`nabiz.tabular_rows`. Import
from this module. Three promises:

* **Every row comes back.** A malformed row (too few or too many fields, a stray quote, a JSON line
  that does not parse) is returned with a message in the :data:`ERROR_COLUMN` column instead of
  being dropped or stopping the read, so row counts stay honest. Well-read rows have ``None`` there.
  Every chunk has that column, last. A message that starts with :data:`NOTE_PREFIX` is a *note*:
  the row's values were read exactly and something beside them was left out (an Excel value in a
  column without a header). Messages name rows by number and never quote their text.
* **Stable row numbers.** A chunk's index is the global 0-based row number (header excluded, blank
  lines skipped), so a batch job can resume at a row.
* **Text stays text.** Values are strings (``object`` dtype); numbers from Excel/JSON/Parquet
  are written as text (``2`` and ``2.0`` both read ``"2"``), as :class:`NumberText`, a ``str`` that
  remembers it was a number, so that writers can put it back as one. An empty CSV cell is ``""``
  (CSV cannot tell empty from missing); a missing Excel/JSON/Parquet value is ``None``.
  :func:`is_blank` treats both as missing. Texts such as ``NA`` or ``null`` stay texts.

Where a table starts: CSV at its first non-blank line; Excel at the first row with two or more
values below a title block (:mod:`nabiz.tabular_excel`); ``header_row=`` names the line or row.
The first frame's ``attrs`` say what was read (``sheet``, ``sheets``, ``header_row``,
``title_rows``) for a summary to show.

A stray quote in a CSV file does not swallow the rows after it, and empty fields of a trailing
delimiter are no error (:mod:`nabiz.tabular_csv`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from nabiz.tabular_csv import count_records, iter_csv
from nabiz.tabular_detect import (
    DELIMITERS,
    EXTENSIONS,
    TableFormat,
    TableReadError,
    check_text_file,
    detect_encoding,
    detect_format,
    sniff_delimiter,
)
from nabiz.tabular_excel import iter_xlsx
from nabiz.tabular_jsonl import iter_jsonl
from nabiz.tabular_rows import (
    DEFAULT_CHUNK_ROWS,
    ERROR_COLUMN,
    MAX_FIELD_CHARS,
    NOTE_PREFIX,
    TEXT_JOINER,
    BoolText,
    DateText,
    NumberText,
    check_header,
    is_blank,
    is_note,
    join_text,
    note,
    rows_frame,
    to_text,
)


def count_csv_records(path: str | Path, encoding: str, delimiter: str | None = None) -> int:
    """Records (header included) as the CSV reader will see them, so that quoted line breaks in
    a text do not count as rows. Streams the file once through the C parser; memory stays flat."""
    return count_records(Path(path), encoding, delimiter)


# ----------------------------------------------------------------------------------------------
# Parquet


def _iter_parquet(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:
        raise TableReadError(
            f"{path}: not a readable Parquet file ({type(error).__name__}: {error})."
        ) from error
    with parquet:
        columns = list(parquet.schema_arrow.names)
        check_header(path, columns)
        start = 0
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            data = {
                name: [to_text(value) for value in batch.column(i).to_pylist()]
                for i, name in enumerate(batch.schema.names)
            }
            data[ERROR_COLUMN] = [None] * batch.num_rows
            frame = pd.DataFrame(data, columns=[*columns, ERROR_COLUMN], dtype=object)
            frame.index = pd.RangeIndex(start, start + batch.num_rows)
            start += batch.num_rows
            yield frame
        if start == 0:
            yield rows_frame([], columns, 0)


# ----------------------------------------------------------------------------------------------
# public entry points


def iter_table_chunks(
    path: str | Path,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    format: TableFormat | None = None,
    encoding: str | None = None,
    *,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Stream a table as DataFrames of at most ``chunk_rows`` rows, in flat memory.

    Each frame's index is the global 0-based row number and its last column is
    :data:`ERROR_COLUMN`. At least one frame is yielded, so a header-only file still names its
    columns. ``format`` defaults to the extension's, ``encoding`` to :func:`detect_encoding`,
    ``delimiter`` (CSV) to :func:`sniff_delimiter` (TSV: tab), ``sheet`` (Excel) to the active
    sheet unless it is empty, then the first with a value. ``header_row`` (CSV line or Excel row,
    1-based) names the header; by default it is the first non-blank line of a CSV file and the
    first row with two or more values of a sheet (below a title block).
    """
    path = Path(path)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if header_row is not None and header_row < 1:
        raise TableReadError(f"header row {header_row}: rows are numbered from 1.")
    if not path.is_file():
        where = "a folder" if path.is_dir() else "missing"
        raise TableReadError(f"{path}: cannot read the table: the path is {where}.")
    format = format or detect_format(path)
    if header_row is not None and format not in ("csv", "tsv", "xlsx"):
        raise TableReadError(
            f"{path}: a header row can be named in CSV/TSV and Excel files only; a {format} "
            "file names its columns itself."
        )
    if sheet is not None and format != "xlsx":
        raise TableReadError(f"{path}: only Excel workbooks have sheets; this is {format}.")
    check_text_file(path, format)
    if format in ("csv", "tsv"):
        if format == "tsv" and delimiter is None:
            delimiter = "\t"
        return iter_csv(path, delimiter, encoding, chunk_rows, header_row)
    if format == "xlsx":
        return iter_xlsx(path, chunk_rows, sheet, header_row)
    if format == "jsonl":
        return iter_jsonl(path, encoding, chunk_rows)
    if format == "parquet":
        return _iter_parquet(path, chunk_rows)
    raise TableReadError(
        f"{path}: unknown format {format!r}; use one of csv, tsv, xlsx, jsonl, parquet."
    )


def read_table(
    path: str | Path,
    format: TableFormat | None = None,
    encoding: str | None = None,
    *,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
) -> pd.DataFrame:
    """Read a whole table; the same values, index and :data:`ERROR_COLUMN` as the chunks give."""
    frames = list(
        iter_table_chunks(
            path,
            DEFAULT_CHUNK_ROWS * 5,
            format,
            encoding,
            delimiter=delimiter,
            sheet=sheet,
            header_row=header_row,
        )
    )
    if len(frames) == 1:
        return frames[0]
    columns = list(dict.fromkeys(name for frame in frames for name in frame.columns))
    columns.remove(ERROR_COLUMN)
    table = pd.concat(frames).reindex(columns=[*columns, ERROR_COLUMN])
    return table.astype(object).where(table.notna(), None)


__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "DELIMITERS",
    "ERROR_COLUMN",
    "EXTENSIONS",
    "MAX_FIELD_CHARS",
    "NOTE_PREFIX",
    "TEXT_JOINER",
    "BoolText",
    "DateText",
    "NumberText",
    "TableFormat",
    "TableReadError",
    "count_csv_records",
    "detect_encoding",
    "detect_format",
    "is_blank",
    "is_note",
    "iter_table_chunks",
    "join_text",
    "note",
    "read_table",
    "sniff_delimiter",
]
