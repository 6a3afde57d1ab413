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
text in CSV and Excel).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from nabiz.spreadsheet import is_formula_like, neutralize_formula

OutputFormat = Literal["csv", "tsv", "jsonl", "parquet", "xlsx"]
ColumnKind = Literal["text", "float", "bool", "json", "list"]

OUTPUT_EXTENSIONS: dict[str, OutputFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
}
PARTIAL_SUFFIX = ".partial"
LIST_SEPARATOR = "; "
EXCEL_MAX_ROWS = 1_048_576  # header included
EXCEL_MAX_CELL_CHARS = 32_767


class OutputError(ValueError):
    """The output cannot be written as asked; the message says what to change."""


@dataclass(frozen=True)
class Column:
    """One output column and how formats store its values."""

    name: str
    kind: ColumnKind = "text"


def output_format(path: str | Path) -> OutputFormat:
    """The output format of ``path`` from its extension."""
    suffix = Path(path).suffix.lower()
    if suffix in OUTPUT_EXTENSIONS:
        return OUTPUT_EXTENSIONS[suffix]
    supported = ", ".join(sorted(OUTPUT_EXTENSIONS))
    raise OutputError(
        f"{path}: cannot tell the output format from the extension {suffix or '(none)'!r}; "
        f"name the output with one of {supported}."
    )


def partial_path(output: str | Path) -> Path:
    """Where a run writes before the output is complete (a file, or a folder of parts)."""
    output = Path(output)
    return output.with_name(output.name + PARTIAL_SUFFIX)


# ----------------------------------------------------------------------------------------------
# value conversion


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def flat_value(value: Any, kind: ColumnKind) -> Any:
    """A value for a flat format (CSV, Excel): text, a number, a bool, or None."""
    if value is None:
        return None
    if kind == "list":
        if isinstance(value, list | tuple):
            return LIST_SEPARATOR.join(str(item) for item in value)
        return str(value)
    if kind == "json" or isinstance(value, dict | list):
        return value if isinstance(value, str) else _json_text(value)
    if kind == "text":
        return value if isinstance(value, str) else str(value)
    return value


def _csv_cell(value: Any, kind: ColumnKind) -> str:
    value = flat_value(value, kind)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(neutralize_formula(value))  # text only: numbers are never prefixed


# ----------------------------------------------------------------------------------------------
# writers


class PartialWriter(ABC):
    """Writes chunks of rows (dicts keyed by column name) to a partial output, then finishes it."""

    format: OutputFormat

    def __init__(self, output: str | Path, columns: Sequence[Column]) -> None:
        self.output = Path(output)
        self.columns = list(columns)
        self.partial = partial_path(self.output)
        self.rows_written = 0

    @abstractmethod
    def start(self, checkpoint: dict[str, Any] | None = None) -> None:
        """Begin a fresh partial output, or continue the one described by ``checkpoint``."""

    @abstractmethod
    def write_chunk(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Write ``rows`` durably and return the checkpoint to continue after them."""

    @abstractmethod
    def finish(self) -> Path:
        """Complete the output and move it to its final path; returns that path."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release open files, leaving the partial output as it is (for a later resume)."""

    def discard(self) -> None:
        """Remove the partial output."""
        self.close()
        if self.partial.is_dir():
            shutil.rmtree(self.partial)
        elif self.partial.exists():
            self.partial.unlink()


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
        return "\ufeff".encode() + self._lines([[column.name for column in self.columns]])

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
            record = {column.name: row.get(column.name) for column in self.columns}
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        return "".join(lines).encode("utf-8")


class _PartsWriter(PartialWriter):
    """Each chunk a complete Parquet part; :meth:`finish` merges the parts into the output."""

    def __init__(self, output: str | Path, columns: Sequence[Column]) -> None:
        super().__init__(output, columns)
        self.parts = 0
        self._schema = arrow_schema(self.columns)

    def _part(self, number: int) -> Path:
        return self.partial / f"part-{number:06d}.parquet"

    def _existing_parts(self) -> list[Path]:
        return sorted(self.partial.glob("part-*.parquet"))

    def start(self, checkpoint: dict[str, Any] | None = None) -> None:
        if self.partial.is_file():
            self.partial.unlink()
        if checkpoint is None:
            if self.partial.is_dir():
                shutil.rmtree(self.partial)
            self.partial.mkdir(parents=True)
            return
        self.parts = int(checkpoint["parts"])
        self.rows_written = int(checkpoint.get("rows", 0))
        missing = [n for n in range(self.parts) if not self._part(n).is_file()]
        if not self.partial.is_dir() or missing:
            raise OutputError(
                f"{self.partial} lacks parts the run's state records; the interrupted run "
                "cannot be continued. Run again without --resume to start over."
            )
        for path in self.partial.iterdir():  # parts of a chunk that was never checkpointed
            if path.name.endswith(".tmp") or path not in {self._part(n) for n in range(self.parts)}:
                path.unlink()

    def write_chunk(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import pyarrow.parquet as pq

        if rows:
            self._check_rows(self.rows_written + len(rows))
            table = arrow_table(rows, self.columns, self._schema)
            target = self._part(self.parts)
            temporary = target.with_name(target.name + ".tmp")
            pq.write_table(table, temporary)
            with temporary.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, target)
            self.parts += 1
        self.rows_written += len(rows)
        return {"parts": self.parts, "rows": self.rows_written}

    def _check_rows(self, total: int) -> None:
        """Refuse early what the final format cannot hold."""

    def finish(self) -> Path:
        temporary = self.output.with_name(self.output.name + ".tmp")
        try:
            self._merge([self._part(n) for n in range(self.parts)], temporary)
            os.replace(temporary, self.output)
        finally:
            if temporary.exists():
                temporary.unlink()
        shutil.rmtree(self.partial)
        return self.output

    @abstractmethod
    def _merge(self, parts: list[Path], target: Path) -> None: ...


class ParquetWriter(_PartsWriter):
    """Parquet with a fixed schema: original columns as strings, predictions typed."""

    format = "parquet"

    def _merge(self, parts: list[Path], target: Path) -> None:
        import pyarrow.parquet as pq

        with pq.ParquetWriter(target, self._schema) as writer:
            for part in parts:
                writer.write_table(pq.read_table(part, schema=self._schema))


class ExcelWriter(_PartsWriter):
    """An .xlsx workbook streamed with openpyxl's write-only mode, one sheet, a bold header."""

    format = "xlsx"
    sheet_title = "nabiz"

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
        header = []
        for column in self.columns:
            cell = WriteOnlyCell(sheet, value=excel_value(column.name, "text"))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        sheet.freeze_panes = "A2"
        kinds = [column.kind for column in self.columns]

        def cell(value: Any, kind: ColumnKind) -> Any:
            value = excel_value(value, kind)
            if is_formula_like(value):
                # text, not a formula: a customer's "=HYPERLINK(…)" must not run in Excel; the
                # quote prefix as in CSV, and the cell typed as a string
                text = WriteOnlyCell(sheet, value=neutralize_formula(value))
                text.data_type = "s"
                return text
            return value

        for part in parts:
            parquet = pq.ParquetFile(part)
            for batch in parquet.iter_batches(batch_size=2_000):
                columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                for values in zip(*columns, strict=True):
                    sheet.append([cell(v, kind) for v, kind in zip(values, kinds, strict=True)])
            parquet.close()
        workbook.save(target)


def excel_value(value: Any, kind: ColumnKind) -> Any:
    """A value Excel accepts: no control characters, at most 32,767 characters a cell."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = flat_value(value, kind)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub(" ", value)
        if len(value) > EXCEL_MAX_CELL_CHARS:
            value = value[: EXCEL_MAX_CELL_CHARS - 1] + "…"
    return value


# ----------------------------------------------------------------------------------------------
# arrow


def arrow_schema(columns: Sequence[Column]):
    import pyarrow as pa

    types = {
        "text": pa.string(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "json": pa.string(),
        "list": pa.list_(pa.string()),
    }
    return pa.schema([pa.field(column.name, types[column.kind]) for column in columns])


def _arrow_value(value: Any, kind: ColumnKind) -> Any:
    if value is None:
        return None
    if kind == "text":
        return value if isinstance(value, str) else flat_value(value, "text")
    if kind == "json":
        return value if isinstance(value, str) else _json_text(value)
    if kind == "list":
        return [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]
    if kind == "float":
        return float(value)
    return bool(value)


def arrow_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], schema=None):
    import pyarrow as pa

    schema = schema if schema is not None else arrow_schema(columns)
    arrays = {
        column.name: [_arrow_value(row.get(column.name), column.kind) for row in rows]
        for column in columns
    }
    return pa.Table.from_pydict(arrays, schema=schema)


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
    "OUTPUT_EXTENSIONS",
    "Column",
    "ColumnKind",
    "CsvWriter",
    "ExcelWriter",
    "JsonlWriter",
    "OutputError",
    "OutputFormat",
    "ParquetWriter",
    "PartialWriter",
    "open_writer",
    "output_format",
    "partial_path",
]
