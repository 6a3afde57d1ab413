"""Output writers of the batch pipeline: CSV, TSV, JSON Lines, Parquet and Excel, by extension.

Every writer writes to a *partial* output next to the final path and moves it into place only
when the run is complete, so a half-finished file never carries the final name. Writing is
chunked and interrupt-safe: :meth:`PartialWriter.write_chunk` returns a small *checkpoint*
(JSON-able) after the chunk is durably on disk, and a writer reopened with that checkpoint
continues exactly after the last complete chunk.

* **CSV, TSV, JSON Lines** append to ``<output>.partial``. The checkpoint is the partial's byte
  size after the chunk; resuming truncates the file to it (dropping whatever an interrupted chunk
  had half written) and appends. CSV and TSV are written as UTF-8 with a BOM so that Excel shows
  Turkish letters correctly; every other tool reads the BOM too.
* **Parquet, Excel** cannot be appended to (a Parquet file is unreadable until its footer is
  written; openpyxl cannot reopen a streamed workbook). Each chunk is written as a complete
  Parquet file ``<output>.partial/part-NNNNNN.parquet`` (written under a temporary name, then
  renamed). The checkpoint is the number of parts; resuming deletes any later part. Finishing
  streams the parts, one at a time, into one Parquet file (``pyarrow.parquet.ParquetWriter``, a
  fixed schema) or one workbook (openpyxl ``write_only`` mode), so memory stays flat either way.

Columns have a *kind* that decides how each format stores a value: ``text`` (original columns
and labels; string), ``float``, ``bool``, ``json`` (a dict: nested in JSON Lines, JSON text
elsewhere) and ``list`` (of strings: a JSON array in JSON Lines, a Parquet list, ``"; "``-joined
text in CSV and Excel). The Excel writer is :mod:`nabiz.serving.writers_excel`; what every
writer shares (paths, columns, the partial interface, Parquet parts, Arrow) is
:mod:`nabiz.serving.writers_base`. Import from this module.

Spreadsheet safety (:mod:`nabiz.spreadsheet`): CSV, TSV and Excel prefix a text cell that starts
like a formula with ``'``. A cell the reader got as a number (:class:`nabiz.tabular.NumberText`:
``-150`` typed in Excel, JSON or Parquet) is no formula: it is written unprefixed, and as a number
in Excel (an integer of 16 or more digits as text, which Excel would round). Excel cells hold at
most 32,767 characters: a longer text is cut (ending in ``…``) and counted in ``cells_cut``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nabiz.serving.writers_base import (
    LIST_SEPARATOR,
    OUTPUT_EXTENSIONS,
    PARTIAL_SUFFIX,
    Column,
    ColumnKind,
    OutputError,
    OutputFormat,
    PartialWriter,
    _PartsWriter,
    arrow_schema,
    arrow_table,
    check_target,
    flat_value,
    output_format,
    partial_path,
)
from nabiz.serving.writers_excel import ExcelWriter
from nabiz.spreadsheet import neutralize_formula
from nabiz.tabular import BoolText, NumberText


def _csv_cell(value: Any, kind: ColumnKind) -> str:
    value = flat_value(value, kind)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, NumberText):
        return str(value)  # a number read as one (-150): no formula
    return str(neutralize_formula(value))  # text only: numbers are never prefixed


# ----------------------------------------------------------------------------------------------
# writers


class _AppendWriter(PartialWriter):
    """A text format that grows by appending: the checkpoint is the partial's byte size."""

    def __init__(self, output: str | Path, columns: Sequence[Column]) -> None:
        super().__init__(output, columns)
        self._handle: io.BufferedWriter | None = None

    def start(self, checkpoint: dict[str, Any] | None = None) -> None:
        self.close()
        if self.partial.is_dir():
            shutil.rmtree(self.partial)
        if checkpoint is None:
            self._handle = self.partial.open("wb")
            self._handle.write(self._header())
            self._sync()
            return
        size = int(checkpoint["bytes"])
        if not self.partial.is_file() or self.partial.stat().st_size < size:
            raise OutputError(
                f"{self.partial} is missing or shorter than the run's state records; the "
                "interrupted run cannot be continued. Run again without --resume to start over."
            )
        self._handle = self.partial.open("r+b")
        self._handle.truncate(size)  # drop a chunk that was being written when it stopped
        self._handle.seek(size)
        self.rows_written = int(checkpoint.get("rows", 0))

    def write_chunk(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        if self._handle is None:
            raise RuntimeError("start() the writer first")
        if rows:
            self._handle.write(self._encode(rows))
            self._sync()
        self.rows_written += len(rows)
        return {"bytes": self._handle.tell(), "rows": self.rows_written}

    def finish(self) -> Path:
        self.close()
        os.replace(self.partial, self.output)
        return self.output

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _sync(self) -> None:
        assert self._handle is not None
        self._handle.flush()
        os.fsync(self._handle.fileno())

    @abstractmethod
    def _header(self) -> bytes: ...

    @abstractmethod
    def _encode(self, rows: Sequence[dict[str, Any]]) -> bytes: ...


class CsvWriter(_AppendWriter):
    """CSV (comma) or TSV (tab), UTF-8 with a BOM, every field quoted as needed."""

    def __init__(self, output: str | Path, columns: Sequence[Column], delimiter: str = ",") -> None:
        super().__init__(output, columns)
        self.delimiter = delimiter
        self.format = "tsv" if delimiter == "\t" else "csv"

    def _lines(self, rows: Iterable[Sequence[str]]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.delimiter, lineterminator="\r\n")
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8")

    def _header(self) -> bytes:
        names = [neutralize_formula(column.name) for column in self.columns]
        return "\ufeff".encode() + self._lines([names])

    def _encode(self, rows: Sequence[dict[str, Any]]) -> bytes:
        return self._lines(
            [_csv_cell(row.get(column.name), column.kind) for column in self.columns]
            for row in rows
        )


class JsonlWriter(_AppendWriter):
    """JSON Lines, UTF-8: one object per row with every column (missing values as null)."""

    format = "jsonl"

    def _header(self) -> bytes:
        return b""

    def _encode(self, rows: Sequence[dict[str, Any]]) -> bytes:
        lines = []
        for row in rows:
            record = {column.name: _json_value(row.get(column.name)) for column in self.columns}
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        return "".join(lines).encode("utf-8")


def _json_value(value: Any) -> Any:
    """A value as JSON holds it: a cell the reader got as a number or a boolean (JSON, Parquet,
    Excel) is written as one again, not as its text (``"id": 0`` came back as ``"0"``)."""
    if isinstance(value, NumberText):
        number = value.number()
        return str(value) if number is None else number
    if isinstance(value, BoolText):
        return value.boolean()
    return value


class ParquetWriter(_PartsWriter):
    """Parquet with a fixed schema: original columns as strings, predictions typed."""

    format = "parquet"

    def _merge(self, parts: list[Path], target: Path) -> None:
        import pyarrow.parquet as pq

        with pq.ParquetWriter(target, self._schema) as writer:
            for part in parts:
                writer.write_table(pq.read_table(part, schema=self._schema))


def open_writer(output: str | Path, columns: Sequence[Column]) -> PartialWriter:
    """The writer for ``output``'s extension (not started yet)."""
    fmt = output_format(output)
    if fmt == "csv":
        return CsvWriter(output, columns, ",")
    if fmt == "tsv":
        return CsvWriter(output, columns, "\t")
    if fmt == "jsonl":
        return JsonlWriter(output, columns)
    if fmt == "parquet":
        return ParquetWriter(output, columns)
    return ExcelWriter(output, columns)


__all__ = [
    "LIST_SEPARATOR",
    "OUTPUT_EXTENSIONS",
    "PARTIAL_SUFFIX",
    "Column",
    "ColumnKind",
    "CsvWriter",
    "ExcelWriter",
    "JsonlWriter",
    "OutputError",
    "OutputFormat",
    "ParquetWriter",
    "PartialWriter",
    "arrow_schema",
    "arrow_table",
    "check_target",
    "flat_value",
    "open_writer",
    "output_format",
    "partial_path",
]
