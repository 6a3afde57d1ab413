"""What every output writer of the batch pipeline shares (:mod:`nabiz.serving.writers` is the
module to import): the formats by extension, the checks of an output path, the columns and their
kinds, the partial writer's interface, the Parquet parts that Parquet and Excel are merged from,
and the Arrow conversion."""

from __future__ import annotations

import json
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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


def check_target(path: str | Path, what: str = "output") -> None:
    """Refuse, before any work, a file path that cannot be written: an existing folder, a
    folder to create where a file has that name, or a place that is read-only (a mounted,
    shipped copy)."""
    path = Path(path)
    example = "report.html" if what == "report" else "scored" + (path.suffix or ".csv")
    if path.is_dir():
        raise OutputError(
            f"the {what} {path} is an existing folder; name a file, such as {path / example}, "
            "or remove the folder."
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(
                    f"the {what} {path} cannot be written: {parent} is a file, not a folder."
                )
            if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
                raise OutputError(f"the {what} {path} cannot be written: it is read-only here.")
            break


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
            table = self._table(rows)
            target = self._part(self.parts)
            temporary = target.with_name(target.name + ".tmp")
            pq.write_table(table, temporary)
            with temporary.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, target)
            self.parts += 1
        self.rows_written += len(rows)
        return {"parts": self.parts, "rows": self.rows_written}

    def _table(self, rows: Sequence[dict[str, Any]]):
        return arrow_table(rows, self.columns, self._schema)

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
