"""Export people's corrections from the triage queue as training data.

The file has one row per corrected item: ``id``, ``text``, ``source`` (``corrections``) and one
column per corrected task holding the person's label, empty where that item's task was not
corrected, so training masks it rather than learning the model's own guess. JSON Lines keeps a
multi-label correction as a list; CSV joins it with ``;`` (the source entry says so).

Next to the file goes ``<name>.source.yaml``: the ``data.files`` entry (a
:class:`nabiz.training.config.SourceSpec`) to paste into a training config.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import inspect, select
from sqlalchemy.engine import URL

from nabiz.model.schema import LabelSchema
from nabiz.pii import mask_text
from nabiz.serving.queue.db import make_engine, make_session_factory
from nabiz.serving.queue.models import Feedback
from nabiz.serving.queue.repository import iter_corrections
from nabiz.spreadsheet import neutralize_formula

logger = logging.getLogger(__name__)

SOURCE_NAME = "corrections"
MULTI_SEPARATOR = ";"
BASE_COLUMNS = ("id", "text", "source")
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}


def column_for(task: str) -> str:
    """A task's column; a task named like a base column gets a ``label_`` prefix."""
    return f"label_{task}" if task in BASE_COLUMNS else task


def source_entry(
    path: Path, tasks: list[str], multi_label: set[str], file_format: str
) -> dict[str, Any]:
    """The ``data.files`` entry that reads an export back (fields of ``SourceSpec``)."""
    labels: dict[str, Any] = {}
    for task in tasks:
        spec: dict[str, Any] = {"column": column_for(task)}
        if file_format == "csv" and task in multi_label:
            spec["separator"] = MULTI_SEPARATOR
        labels[task] = spec
    return {"name": SOURCE_NAME, "path": str(path), "text": ["text"], "labels": labels}


def source_snippet(entry: Mapping[str, Any]) -> str:
    body = yaml.safe_dump([dict(entry)], allow_unicode=True, sort_keys=False, width=100)
    return (
        "# Add this entry under `data.files:` in your training config, then run\n"
        "# `nabiz data prepare` and `nabiz train` as usual. Empty labels are masked in training.\n"
        + body
    )


def _checked(
    corrections: Mapping[str, Any], schema: LabelSchema | None, dropped: Counter[str]
) -> dict[str, Any]:
    """Corrections that fit ``schema`` (all of them without one); the rest counted in dropped."""
    if schema is None:
        return dict(corrections)
    kept: dict[str, Any] = {}
    for task_name, value in corrections.items():
        if task_name not in schema:
            dropped[f"task {task_name!r} is not in the schema"] += 1
            continue
        task = schema.task(task_name)
        values = value if isinstance(value, list) else [value]
        unknown = [v for v in values if v not in task.labels]
        if unknown:
            dropped[f"task {task_name!r} has no label {unknown[0]!r}"] += 1
            continue
        if task.is_multi_label:
            kept[task_name] = [label for label in task.labels if label in values]
        elif len(values) == 1:
            kept[task_name] = values[0]
        else:
            dropped[f"task {task_name!r} takes one label, got a list"] += 1
    return kept


def export_corrections(
    database_url: str | URL | None,
    output: str | Path,
    schema: LabelSchema | None = None,
    mask_personal_data: bool = True,
) -> int:
    """Write every corrected item of the queue at ``database_url`` to ``output``; rows written.

    ``.jsonl`` (or ``.ndjson``/``.json``) writes JSON Lines, ``.csv`` writes UTF-8 CSV. With a
    ``schema`` (the training config's), corrections for tasks or labels it lacks are left out and
    logged, and columns follow its task order. Also writes ``<output stem>.source.yaml``.
    """
    output = Path(output)
    file_format = FORMATS.get(output.suffix.lower())
    if file_format is None:
        raise ValueError(f"cannot tell the format of {output}: name it .jsonl (JSON Lines) or .csv")
    engine = make_engine(database_url)
    session_factory = make_session_factory(engine)
    dropped: Counter[str] = Counter()
    try:
        if not inspect(engine).has_table(Feedback.__tablename__):
            raise ValueError(
                f"{engine.url!r} holds no triage queue (no {Feedback.__tablename__!r} table); "
                "check --database-url, or start the API once so that it creates the tables"
            )
        with session_factory() as session:
            # First pass over the corrections only: which tasks get a column.
            seen: set[str] = set()
            statement = select(Feedback.corrections).where(Feedback.corrections.is_not(None))
            for corrections in session.scalars(statement.execution_options(yield_per=1000)):
                seen.update(_checked(corrections or {}, schema, Counter()))
            if schema is not None:
                tasks = [name for name in schema.names if name in seen]
                multi = {t.name for t in schema.tasks if t.is_multi_label}
            else:
                tasks = sorted(seen)
                multi = set()

            def rows() -> Iterator[dict[str, Any]]:
                for item in iter_corrections(session):
                    kept = _checked(item.corrections or {}, schema, dropped)
                    if not kept:
                        continue
                    if schema is None:
                        multi.update(t for t, v in kept.items() if isinstance(v, list))
                    # Stored texts are masked already; rows stored before masking existed are not.
                    text = mask_text(item.text) if mask_personal_data else item.text
                    row = {"id": item.id, "text": text, "source": SOURCE_NAME}
                    row.update({column_for(task): kept.get(task) for task in tasks})
                    yield row

            written = _write(output, file_format, rows(), [*BASE_COLUMNS, *map(column_for, tasks)])
    finally:
        engine.dispose()

    for reason, count in sorted(dropped.items()):
        logger.warning("left out %d correction(s): %s", count, reason)
    entry = source_entry(output.resolve(), tasks, multi, file_format)
    snippet_path(output).write_text(source_snippet(entry), encoding="utf-8")
    return written


def snippet_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(f"{output.stem}.source.yaml")


def _write(
    output: Path, file_format: str, rows: Iterator[dict[str, Any]], columns: list[str]
) -> int:
    """Write atomically: a half-written export never replaces a good one."""
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", text=True)
    written = 0
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            if file_format == "csv":
                writer = csv.DictWriter(stream, fieldnames=columns)
                writer.writeheader()
                for row in rows:
                    writer.writerow(
                        {
                            key: neutralize_formula(
                                MULTI_SEPARATOR.join(value) if isinstance(value, list) else value
                            )
                            for key, value in row.items()
                        }
                    )
                    written += 1
            else:
                for row in rows:
                    stream.write(json.dumps(row, ensure_ascii=False) + "\n")
                    written += 1
        os.chmod(temporary, 0o644)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return written
