"""Reading JSON Lines (and a ``.json`` file holding one array) for :mod:`nabiz.tabular`.

Columns are the keys in the order they first appear; a line that does not parse is a row with a
message naming its line and the position of the fault, never its text (it may hold a customer's
e-mail or IBAN).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from nabiz.tabular_detect import TableReadError, detect_encoding
from nabiz.tabular_rows import (
    ERROR_COLUMN,
    open_text,
    rows_frame,
    text_error,
    to_text,
)


def iter_jsonl(path: Path, encoding: str | None, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """JSON Lines, one object per line; a ``.json`` file holding one array is read whole."""
    given = encoding is not None
    encoding = encoding or detect_encoding(path)
    with open_text(path, encoding) as handle:
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
            yield from _jsonl_frames(path, lines, where, chunk_rows)
        except UnicodeError as error:
            raise text_error(path, encoding, given, error) from None


_INVALID = object()


def _jsonl_frames(
    path: Path, lines: Iterable[tuple[int, Any]], where: str, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    columns: list[str] = []
    known: set[str] = set()
    start, batch = 0, []

    def flush() -> pd.DataFrame:
        names = [*columns, ERROR_COLUMN]
        values = [[record.get(name) for name in names] for record in batch]
        return rows_frame(values, columns, start)  # (not from_records: it drops NumberText)

    for number, item in lines:
        if where == "line":
            if not item.strip():
                continue  # blank lines are not rows
            try:
                item = json.loads(item)
            except json.JSONDecodeError as error:
                # the position only, never the line's text: it may hold personal data
                message = f"line {number}: not valid JSON ({error.msg} at column {error.colno})"
                batch.append({ERROR_COLUMN: message})
                item = _INVALID
        if isinstance(item, dict):
            record = {str(key): to_text(value) for key, value in item.items()}
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
    if start == 0 and not batch:
        what = "no item in its array" if where == "item" else "no line with a JSON object"
        raise TableReadError(
            f"{path}: the file is empty ({what}); write one JSON object per row, such as "
            '{"yorum": "..."}.'
        )
    if batch:
        yield flush()
