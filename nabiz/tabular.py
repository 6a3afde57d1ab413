# Longer than 500 lines: one reader per format (CSV/TSV, Excel, JSON Lines, Parquet), all keeping
# the row, error and chunk promises below; encoding and delimiter detection could move out.
"""Reading customer-feedback tables: CSV/TSV, Excel, JSON Lines and Parquet, whole or in chunks.

Data preparation and the batch scoring pipeline both read user files through this module, so a
file that prepares also scores. Three promises:

* **Every row comes back.** A malformed row (too few or too many fields, a stray quote, a JSON line
  that does not parse) is returned with a message in the :data:`ERROR_COLUMN` column instead of
  being dropped or stopping the read, so row counts stay honest. Well-read rows have ``None`` there.
  Every chunk has that column, last.
* **Stable row numbers.** A chunk's index is the global 0-based row number (header excluded, blank
  lines skipped), so a batch job can resume at a row.
* **Text stays text.** Values are strings (``object`` dtype); numbers from Excel/JSON/Parquet
  are written as text (``2`` and ``2.0`` both read ``"2"``). An empty CSV cell is ``""`` (CSV
  cannot tell empty from missing); a missing Excel/JSON/Parquet value is ``None``. :func:`is_blank`
  treats both as missing. Texts such as ``NA`` or ``null`` stay texts, never missing values.

Encodings: UTF-8 (with or without BOM), UTF-16/32 with a BOM, and 8-bit Turkish exports
(Windows-1254, which also reads ISO-8859-9 text). Detection is deterministic; pass ``encoding=`` to
override it. It is our own, not charset-normalizer's: restricted to these encodings, the library
decoded the same 605 real şikayetvar samples right as this detector does (all of them), at about
the same speed, and found nothing in UTF-16 without a BOM (``benchmarks/bench_encoding.py``;
BENCHMARKS.md), so it would be a dependency that adds nothing.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, TextIO

import pandas as pd

TableFormat = Literal["csv", "tsv", "xlsx", "jsonl", "parquet"]

ERROR_COLUMN = "_error"
"""Column that carries a message for a row that could not be read faithfully (else ``None``)."""

EXTENSIONS: dict[str, TableFormat] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 20  # bytes read to detect the encoding
SNIFF_CHARS = 64 << 10  # characters read to sniff the delimiter
MAX_FIELD_CHARS = 16 << 20  # a longer CSV field is almost surely an unclosed quote
DEFAULT_CHUNK_ROWS = 10_000
TEXT_JOINER = "\n\n"  # between the text columns of one row

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class TableReadError(ValueError):
    """A table file cannot be read; the message says what to change."""


def _supported() -> str:
    return ", ".join(sorted(EXTENSIONS))


# ----------------------------------------------------------------------------------------------
# detection


def detect_format(path: str | Path) -> TableFormat:
    """The format of ``path`` from its extension (``.json`` is read as JSON Lines or an array)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    hint = ""
    if suffix == ".xls":
        hint = " Save old .xls workbooks as .xlsx (Excel: File → Save As → Excel Workbook)."
    elif suffix in {".gz", ".zip", ".bz2", ".xz"}:
        hint = " Unpack compressed files first."
    raise TableReadError(
        f"{path}: cannot tell the table format from the extension {suffix or '(none)'!r}; "
        f"supported extensions are {_supported()}.{hint} Rename the file or pass format= "
        "(one of csv, tsv, xlsx, jsonl, parquet)."
    )


def _looks_utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text without a BOM has NUL in every other byte of its ASCII characters."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nuls, odd_nuls = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nuls > 0.3 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def detect_encoding(path: str | Path, sample_bytes: int = SAMPLE_BYTES) -> str:
    """The text encoding of ``path``, judged from its first ``sample_bytes`` bytes.

    A BOM decides (``utf-8-sig``, ``utf-16``, ``utf-32``); then UTF-16 without a BOM; then UTF-8 if
    the sample decodes cleanly as UTF-8 (plain ASCII included); otherwise the file is taken as an
    8-bit Turkish export, ``cp1254`` (Windows-1254, a superset of ISO-8859-9 in every printable
    character), or ``iso-8859-9`` if it holds a byte Windows-1254 leaves undefined. General-purpose
    detectors are not used: on short Turkish samples they guess Central European code pages and
    turn ``ş`` and ``ğ`` into other letters.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            sample = handle.read(sample_bytes)
            truncated = bool(handle.read(1))
    except OSError as error:
        raise TableReadError(f"cannot open {path}: {error.strerror or error}") from error
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    utf16 = _looks_utf16_without_bom(sample)
    if utf16:
        return utf16
    try:
        # a sample cut in the middle of a multi-byte character is still valid UTF-8
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=not truncated)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1254")
        return "cp1254"
    except UnicodeDecodeError:
        return "iso-8859-9"


def _record_counts(sample: str, delimiter: str, quote: str = '"') -> list[int]:
    """Delimiters outside quotes in each record of ``sample`` (quote-aware, multi-line aware)."""
    counts: list[int] = []
    count, in_quotes, chars = 0, False, 0
    for char in sample:
        chars += 1
        if char == quote:
            in_quotes = not in_quotes
        elif in_quotes:
            continue
        elif char == delimiter:
            count += 1
        elif char in "\r\n":
            if chars > 1:
                counts.append(count)
            count, chars = 0, 0
    if chars:
        counts.append(count)
    return counts


def sniff_delimiter(sample: str) -> str:
    """The field delimiter among ``, ; \\t |`` that splits the sample's records most consistently.

    Each candidate is counted outside quotes in every record; the one whose count is the same,
    and above zero, in the most records wins (ties: more fields, then the order above). A last
    record cut off by the sample's end is ignored. Falls back to a comma.
    """
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = _record_counts(sample, delimiter)
        if len(counts) > 1 and not sample.endswith(("\n", "\r")):
            counts = counts[:-1]
        counts = counts[:200]
        if not counts or max(counts) == 0:
            continue
        mode = max(set(counts), key=lambda value: (counts.count(value), value))
        if mode == 0:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


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


def _to_text(value: Any) -> Any:
    """A cell as text; ``None`` for missing; lists and dicts kept (multi-label cells in JSON)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | dict):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _unique_names(raw: Iterable[Any]) -> list[str]:
    """Header names stripped, blanks named ``Unnamed: i``, repeats suffixed ``.1``, ``.2``…"""
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, value in enumerate(raw):
        name = "" if value is None else str(_to_text(value)).strip()
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


def _check_header(path: Path, columns: list[str]) -> None:
    if ERROR_COLUMN in columns:
        raise TableReadError(
            f"{path}: a column is named {ERROR_COLUMN!r}, which the reader uses to mark malformed "
            "rows; rename that column."
        )


def _frame(rows: list[list[Any]], columns: list[str], start: int) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*columns, ERROR_COLUMN], dtype=object)
    frame.index = pd.RangeIndex(start, start + len(rows))
    return frame


def _chunks(
    path: Path, columns: list[str], rows: Iterator[list[Any]], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """Group rows (each: values…, error) into frames indexed by global row number."""
    start, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk_rows:
            yield _frame(batch, columns, start)
            start += len(batch)
            batch = []
    if batch or start == 0:
        yield _frame(batch, columns, start)


def _fit_row(values: list[Any], width: int, where: str, fill: str | None) -> list[Any]:
    """Pad (with ``fill``) or cut a row to ``width`` values and append its error (or None)."""
    if len(values) == width:
        return [*values, None]
    if len(values) < width:
        padded = values + [fill] * (width - len(values))
        message = f"{where}: expected {width} fields, found {len(values)}; missing ones left empty"
        return [*padded, message]
    extra = values[width:]
    message = (
        f"{where}: expected {width} fields, found {len(values)}; extra values dropped: "
        f"{[str(value)[:40] for value in extra[:3]]}"
    )
    return [*values[:width], message]


# ----------------------------------------------------------------------------------------------
# CSV / TSV


def _open_text(path: Path, encoding: str) -> TextIO:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise TableReadError(
            f"{path}: unknown encoding {encoding!r}; use a Python codec name such as utf-8, "
            "utf-8-sig, utf-16, cp1254 or iso-8859-9."
        ) from None
    return path.open("r", encoding=encoding, newline="")


def _decode_error(path: Path, encoding: str, error: UnicodeDecodeError) -> TableReadError:
    return TableReadError(
        f"{path}: the file is not valid {encoding} (byte {error.object[error.start : error.end]!r}"
        f" near offset {error.start} of a block); the encoding was "
        f"{'given' if encoding else 'detected'} from the start of the file, but later parts "
        "differ. Save the file as UTF-8, or pass the right encoding (e.g. encoding='cp1254' for "
        "Turkish Windows exports, 'utf-16' for Excel 'Unicode Text')."
    )


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


def _csv_records(handle: TextIO, delimiter: str) -> Iterator[tuple[int, list[str], str | None]]:
    """(first line number, fields, error) per record; malformed records read leniently, marked."""
    if csv.field_size_limit() < MAX_FIELD_CHARS:
        csv.field_size_limit(MAX_FIELD_CHARS)
    tape = _LineTape(iter(handle))
    reader = csv.reader(tape, delimiter=delimiter, strict=True)
    while True:
        tape.record = []
        first_line = tape.line_number + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raw = tape.record
            if "field larger than field limit" in str(error):
                raise TableReadError(
                    f"{handle.name}: line {first_line}: a field runs past "
                    f'{MAX_FIELD_CHARS:,} characters, which almost always means a quote (") '
                    "that is never closed. Fix the quoting near that line, or export the file "
                    "again with quoted text fields."
                ) from None
            if "unexpected end of data" in str(error) and len(raw) > 1:
                # an unclosed quote swallowed the rest of the file: keep the broken line as one
                # marked row and read the lines after it again as rows of their own
                tape.replay(raw[1:])
                raw = raw[:1]
                message = f'line {first_line}: a quote (") is never closed; read as one line'
            else:
                message = f"line {first_line}: {error}; read leniently"
            fields = next(csv.reader(["".join(raw)], delimiter=delimiter, strict=False), [])
            yield first_line, fields, message
            continue
        if fields:  # blank lines are not rows
            yield first_line, fields, None


def _sniff_and_rewind(handle: TextIO) -> str:
    """The delimiter sniffed from the file's start, the handle put back at the start."""
    delimiter = sniff_delimiter(handle.read(SNIFF_CHARS))
    handle.seek(0)
    return delimiter


def count_csv_records(path: str | Path, encoding: str, delimiter: str | None = None) -> int:
    """Records (header included) as the CSV reader will see them, so that quoted line breaks in
    a text do not count as rows. Streams the file once through the C parser; memory stays flat."""
    path = Path(path)
    with _open_text(path, encoding) as handle:
        delimiter = delimiter or _sniff_and_rewind(handle)
        return sum(1 for _ in csv.reader(handle, delimiter=delimiter, strict=False))


def _iter_csv(
    path: Path, delimiter: str | None, encoding: str | None, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    encoding = encoding or detect_encoding(path)
    with _open_text(path, encoding) as handle:
        try:
            delimiter = delimiter or _sniff_and_rewind(handle)
            records = _csv_records(handle, delimiter)
            header = next(records, None)
            if header is None:
                raise TableReadError(
                    f"{path}: the file is empty; a table needs a header row naming its columns."
                )
            columns = _unique_names(header[1])
            _check_header(path, columns)
            width = len(columns)

            def rows() -> Iterator[list[Any]]:
                for line, fields, error in records:
                    row = _fit_row(fields, width, f"line {line}", "")
                    if error is not None:
                        row[-1] = error if row[-1] is None else f"{error}; {row[-1]}"
                    yield row

            yield from _chunks(path, columns, rows(), chunk_rows)
        except UnicodeDecodeError as error:
            raise _decode_error(path, encoding, error) from None


# ----------------------------------------------------------------------------------------------
# Excel


def _iter_xlsx(path: Path, chunk_rows: int, sheet: str | None) -> Iterator[pd.DataFrame]:
    try:
        from openpyxl import load_workbook
    except ImportError as error:  # pragma: no cover - openpyxl is a dependency
        raise TableReadError("reading .xlsx needs openpyxl: pip install openpyxl") from error
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:
        raise TableReadError(
            f"{path}: not a readable .xlsx workbook ({type(error).__name__}: {error}); open it "
            "in Excel and save it again as 'Excel Workbook (.xlsx)', or export it as CSV."
        ) from error
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise TableReadError(
                f"{path}: no sheet {sheet!r}; the workbook has {workbook.sheetnames}."
            )
        worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        values = enumerate(worksheet.iter_rows(values_only=True), start=1)
        _, header_row = next(values, (0, None))
        while header_row is not None and all(is_blank(value) for value in header_row):
            _, header_row = next(values, (0, None))
        if header_row is None:
            raise TableReadError(
                f"{path}: sheet {worksheet.title!r} is empty; put a header row naming the "
                "columns in its first row."
            )
        raw_header = list(header_row)
        while raw_header and is_blank(raw_header[-1]):
            raw_header.pop()
        columns = _unique_names(raw_header)
        _check_header(path, columns)
        width = len(columns)

        def rows() -> Iterator[list[Any]]:
            for number, row in values:
                cells = [_to_text(value) for value in row]
                if all(is_blank(value) for value in cells):
                    continue  # formatted but empty rows
                while len(cells) > width and is_blank(cells[-1]):
                    cells.pop()
                cells += [None] * (width - len(cells))
                yield _fit_row(cells, width, f"sheet {worksheet.title!r} row {number}", None)

        yield from _chunks(path, columns, rows(), chunk_rows)
    finally:
        workbook.close()


# ----------------------------------------------------------------------------------------------
# JSON Lines


def _iter_jsonl(path: Path, encoding: str | None, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """JSON Lines, one object per line; a ``.json`` file holding one array is read whole."""
    encoding = encoding or detect_encoding(path)
    with _open_text(path, encoding) as handle:
        try:
            head = handle.read(4096).lstrip()
            handle.seek(0)
            if head.startswith("["):
                try:
                    items = json.load(handle)
                except json.JSONDecodeError as error:
                    raise TableReadError(
                        f"{path}: starts like a JSON array but does not parse ({error}); "
                        "write one JSON object per line (JSON Lines) instead."
                    ) from None
                lines: Iterable[tuple[int, Any]] = enumerate(items, start=1)
                where = "item"
            else:
                lines = ((number, line) for number, line in enumerate(handle, start=1))
                where = "line"
            yield from _jsonl_frames(lines, where, chunk_rows)
        except UnicodeDecodeError as error:
            raise _decode_error(path, encoding, error) from None


_INVALID = object()


def _jsonl_frames(
    lines: Iterable[tuple[int, Any]], where: str, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    columns: list[str] = []
    known: set[str] = set()
    start, batch = 0, []

    def flush() -> pd.DataFrame:
        frame = pd.DataFrame.from_records(batch, columns=[*columns, ERROR_COLUMN])
        frame = frame.astype(object).where(frame.notna(), None)
        frame.index = pd.RangeIndex(start, start + len(batch))
        return frame

    for number, item in lines:
        if where == "line":
            if not item.strip():
                continue  # blank lines are not rows
            try:
                item = json.loads(item)
            except json.JSONDecodeError as error:
                text = item.strip()[:80]
                message = f"line {number}: not valid JSON ({error.msg} at column {error.colno})"
                batch.append({ERROR_COLUMN: f"{message}: {text!r}"})
                item = _INVALID
        if isinstance(item, dict):
            record = {str(key): _to_text(value) for key, value in item.items()}
            for key in record:
                if key not in known:
                    if key == ERROR_COLUMN:
                        raise TableReadError(
                            f"{where} {number}: a field is named {ERROR_COLUMN!r}, which the "
                            "reader uses to mark malformed rows; rename that field."
                        )
                    known.add(key)
                    columns.append(key)
            record[ERROR_COLUMN] = None
            batch.append(record)
        elif item is not _INVALID:
            found = "null" if item is None else type(item).__name__
            batch.append({ERROR_COLUMN: f"{where} {number}: expected a JSON object, found {found}"})
        if len(batch) >= chunk_rows:
            yield flush()
            start += len(batch)
            batch = []
    if batch or start == 0:
        yield flush()


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
        _check_header(path, columns)
        start = 0
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            data = {
                name: [_to_text(value) for value in batch.column(i).to_pylist()]
                for i, name in enumerate(batch.schema.names)
            }
            data[ERROR_COLUMN] = [None] * batch.num_rows
            frame = pd.DataFrame(data, columns=[*columns, ERROR_COLUMN], dtype=object)
            frame.index = pd.RangeIndex(start, start + batch.num_rows)
            start += batch.num_rows
            yield frame
        if start == 0:
            yield _frame([], columns, 0)


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
) -> Iterator[pd.DataFrame]:
    """Stream a table as DataFrames of at most ``chunk_rows`` rows, in flat memory.

    Each frame's index is the global 0-based row number and its last column is
    :data:`ERROR_COLUMN`. At least one frame is yielded, so a header-only file still names its
    columns. ``format`` defaults to the extension's, ``encoding`` to :func:`detect_encoding`,
    ``delimiter`` (CSV) to :func:`sniff_delimiter` (TSV: tab), ``sheet`` (Excel) to the first.
    """
    path = Path(path)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if not path.is_file():
        where = "a folder" if path.is_dir() else "missing"
        raise TableReadError(f"{path}: cannot read the table: the path is {where}.")
    format = format or detect_format(path)
    if format in ("csv", "tsv"):
        if format == "tsv" and delimiter is None:
            delimiter = "\t"
        return _iter_csv(path, delimiter, encoding, chunk_rows)
    if format == "xlsx":
        return _iter_xlsx(path, chunk_rows, sheet)
    if format == "jsonl":
        return _iter_jsonl(path, encoding, chunk_rows)
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
) -> pd.DataFrame:
    """Read a whole table; the same values, index and :data:`ERROR_COLUMN` as the chunks give."""
    frames = list(
        iter_table_chunks(
            path, DEFAULT_CHUNK_ROWS * 5, format, encoding, delimiter=delimiter, sheet=sheet
        )
    )
    if len(frames) == 1:
        return frames[0]
    columns = list(dict.fromkeys(name for frame in frames for name in frame.columns))
    columns.remove(ERROR_COLUMN)
    table = pd.concat(frames).reindex(columns=[*columns, ERROR_COLUMN])
    return table.astype(object).where(table.notna(), None)


__all__ = [
    "DELIMITERS",
    "ERROR_COLUMN",
    "EXTENSIONS",
    "TableFormat",
    "TableReadError",
    "count_csv_records",
    "detect_encoding",
    "detect_format",
    "is_blank",
    "iter_table_chunks",
    "read_table",
    "sniff_delimiter",
]
