"""Loading one source: its file read, checked and mapped onto the label schema, one row per text.

The result has the columns ``id, text_original, source`` and one label column per task, plus
private columns the later steps use (``_part`` the manifest entry, ``_source_id`` the upstream id,
``_title`` / ``_body`` for split grouping, ``_priority`` for label conflicts between duplicates).
Malformed rows of the file are left out and counted; so are rows folded into their text
(``aggregate: agree`` or ``polarity``) and rows left without any label (``drop_unlabelled``).
"""

from __future__ import annotations

import ast
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nabiz.model.schema import LabelSchema, TaskSpec
from nabiz.tabular import ERROR_COLUMN, TableReadError, is_blank, join_text, read_table
from nabiz.text import turkish_lower
from nabiz.training.config import LabelColumn, SourceSpec, TextFilter
from nabiz.training.labelmaps import label_values, labels_from_file
from nabiz.training.manifest import DataSourceError, source_group

logger = logging.getLogger(__name__)

ASTE_SEPARATOR = "####"
ASTE_TEXT, ASTE_POLARITY = "text", "polarity"


@dataclass
class SourceStats:
    """What happened to a source's rows while loading it."""

    rows_read: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    aggregated: int = 0  # records folded into another record of the same text (aggregate: agree)
    ambiguous: int = 0  # (text, task) pairs whose rows disagreed, left unlabelled for that task
    mixed: int = 0  # (text, task) pairs whose rows disagreed, labelled by aggregate: polarity
    unlabelled: int = 0  # rows without any label, dropped (drop_unlabelled)
    filtered: int = 0  # rows dropped by drop_texts
    filtered_by: dict[str, int] = field(default_factory=dict)  # per filter reason


def read_aste(path: Path, encoding: str | None = None) -> pd.DataFrame:
    """ASTE lines ``sentence [none] ####[([3], [5, 6], 'POS'), ...]``: one row per triplet.

    Columns ``text`` and ``polarity`` (POS/NEG/NEU); a sentence without triplets is one row with
    no polarity; a line that does not parse keeps its row with a message in ``_error``. The index
    is the line number, counted from 0.
    """
    rows: list[dict[str, Any]] = []
    index: list[int] = []
    with path.open(encoding=encoding or "utf-8") as handle:
        for number, line in enumerate(handle):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            sentence, separator, triplets = line.rpartition(ASTE_SEPARATOR)
            error = None
            polarities: list[str | None] = [None]
            try:
                if not separator:
                    raise ValueError(f"no {ASTE_SEPARATOR} separator")
                parsed = ast.literal_eval(triplets.strip() or "[]")
                found = [str(item[2]) for item in parsed]
                polarities = found or [None]
            except (ValueError, SyntaxError, TypeError, IndexError) as problem:
                error = f"line {number + 1}: not an ASTE line ({problem})"
            text = sentence.strip().removesuffix("[none]").strip()
            for polarity in polarities:
                rows.append({ASTE_TEXT: text, ASTE_POLARITY: polarity, ERROR_COLUMN: error})
                index.append(number)
                if error:
                    break
    return pd.DataFrame(rows, index=index, columns=[ASTE_TEXT, ASTE_POLARITY, ERROR_COLUMN])


def _read(spec: SourceSpec, path: Path) -> pd.DataFrame:
    try:
        if spec.format == "aste":
            if not path.is_file():
                raise TableReadError(f"{path}: cannot read the file: it is missing.")
            return read_aste(path, spec.encoding)
        return read_table(path, format=spec.format, encoding=spec.encoding)
    except (TableReadError, OSError, UnicodeDecodeError) as error:
        raise DataSourceError(f"source {spec.name!r}: {error}") from error


def _check_columns(spec: SourceSpec, table: pd.DataFrame, path: Path, schema: LabelSchema) -> None:
    available = [name for name in table.columns if name != ERROR_COLUMN]
    wanted = {name: "text" for name in spec.text}
    for task, column in spec.labels.items():
        if task in schema and column.column is not None and column.file is None:
            wanted.setdefault(column.column, f"labels.{task}.column")
    for option in ("id_column", "title_column", "body_column"):
        name = getattr(spec, option)
        if name is not None:
            wanted.setdefault(name, option)
    missing = [(name, where) for name, where in wanted.items() if name not in table.columns]
    if missing:
        listed = ", ".join(f"{name!r} (from {where})" for name, where in missing)
        raise DataSourceError(
            f"source {spec.name!r}: {path} has no column {listed}; its columns are {available}. "
            f"Make sure these columns are present, or fix `text:` / `labels:` of {spec.name!r}."
        )


def _agree(values: list[Any]) -> tuple[Any, bool]:
    """The one label all non-missing values share (``None`` if none or several), and whether
    they disagreed."""
    distinct: list[Any] = []
    for value in values:
        if value is None:
            continue
        key = tuple(value) if isinstance(value, list) else value
        if key not in distinct:
            distinct.append(key)
    if len(distinct) != 1:
        return None, len(distinct) > 1
    only = distinct[0]
    return (list(only) if isinstance(only, tuple) else only), False


def _polarity(values: list[Any], neutral: str) -> tuple[Any, bool]:
    """A text's label from its aspects' labels: the neutral label yields to any other, and two
    or more others (a praised aspect beside a criticised one) make the text neutral (mixed). The
    second value says whether the rows disagreed."""
    distinct = {value for value in values if value is not None}
    polar = distinct - {neutral}
    if not distinct:
        return None, False
    if not polar:
        return neutral, False
    return (polar.pop() if len(polar) == 1 else neutral), len(distinct) > 1


def given_column(task: str) -> str:
    """The column keeping a task's labels as the source gave them, where people's reading
    (``read_file``) replaced some: budgets draw and splits stratify on it (``prepare``)."""
    return f"_given_{task}"


def _read_labels(
    spec: SourceSpec,
    task: TaskSpec,
    column: LabelColumn,
    upstream: list,
    labels: pd.Series,
    map_dir: Path,
) -> pd.Series:
    """``labels`` with a person's reading (``column.read_file``) in place of them where the file
    names the row's id; its values must be labels of the task."""
    read_column = LabelColumn(column=task.name, file=column.read_file)
    raw = labels_from_file(spec, read_column, upstream, map_dir)
    read = pd.Series(
        label_values(spec, task, LabelColumn(column=task.name), raw, map_dir),
        index=labels.index,
        dtype=object,
    )
    changed = int((read.notna() & (read != labels)).sum())
    logger.info(
        "source %s: %d %s labels read by people, %d of them differ from the %s",
        spec.name,
        int(read.notna().sum()),
        task.name,
        changed,
        column.column or "fixed value",
    )
    return read.where(read.notna(), labels)


def _aggregate(
    frame: pd.DataFrame, tasks: list[TaskSpec], stats: SourceStats, neutral: dict[str, str]
) -> pd.DataFrame:
    """One row per text (its first row): each task's label where all the text's rows agree, or
    by `_polarity` for the tasks with a neutral label."""
    positions: dict[str, list[int]] = {}
    for position, text in enumerate(frame["text_original"].tolist()):
        positions.setdefault(text, []).append(position)
    firsts = [members[0] for members in positions.values()]
    result = frame.iloc[firsts].copy()
    for task in tasks:
        values = frame[task.name].tolist()
        labels = []
        for members in positions.values():
            members_values = [values[m] for m in members]
            if task.name in neutral:
                label, conflict = _polarity(members_values, neutral[task.name])
                stats.mixed += int(conflict)
            else:
                label, conflict = _agree(members_values)
                stats.ambiguous += int(conflict)  # counted once per task and text
            labels.append(label)
        result[task.name] = pd.Series(labels, index=result.index, dtype=object)
    return result


def _drop_matching(
    frame: pd.DataFrame, text_filter: TextFilter, stats: SourceStats, number: int
) -> pd.DataFrame:
    """Drop the rows whose Turkish-lowercased text matches the filter (and whose labels are in
    its ``labels``), counting them."""
    pattern = re.compile(text_filter.pattern)
    hit = pd.Series(
        [bool(pattern.search(turkish_lower(text))) for text in frame["text_original"].tolist()],
        index=frame.index,
    )
    for task, labels in text_filter.labels.items():
        if task not in frame.columns:
            raise DataSourceError(f"drop_texts[{number}] names task {task!r}, not in the schema")
        hit &= frame[task].isin(labels)
    count = int(hit.sum())
    stats.filtered += count
    name = text_filter.reason or f"drop_texts[{number}]"
    stats.filtered_by[name] = stats.filtered_by.get(name, 0) + count
    return frame.loc[~hit]


def _text_of(table: pd.DataFrame, column: str | None) -> list[str | None]:
    if column is None:
        return [None] * len(table)
    return [None if is_blank(value) else str(value) for value in table[column].tolist()]


def load_source_with_stats(
    spec: SourceSpec, path: Path, schema: LabelSchema, map_dir: Path
) -> tuple[pd.DataFrame, SourceStats]:
    """:func:`load_source` of the file at ``path`` (resolved and verified by the caller) and what
    happened to the rows (for the data card)."""
    table = _read(spec, path)
    _check_columns(spec, table, path, schema)
    # a record is a file row, or an ASTE line (read as one row per triplet)
    stats = SourceStats(rows_read=int(table.index.nunique()))
    errors = table[ERROR_COLUMN].notna()
    if errors.any():
        stats.malformed = int(errors.sum())
        stats.malformed_examples = table.loc[errors, ERROR_COLUMN].head(5).tolist()
        logger.warning(
            "source %s: %d malformed rows dropped, e.g. %s",
            spec.name,
            stats.malformed,
            stats.malformed_examples[:2],
        )
        table = table.loc[~errors]

    texts = table[spec.text].to_numpy().tolist()
    if spec.id_column is not None:
        upstream = [None if is_blank(v) else str(v).strip() for v in table[spec.id_column]]
        ids = [
            f"{spec.name}:{value if value is not None else f'row{row}'}"
            for value, row in zip(upstream, table.index, strict=True)
        ]
    else:
        upstream = [None] * len(table)
        ids = [f"{spec.name}:{row}" for row in table.index]
    frame = pd.DataFrame(
        {
            "id": ids,
            "text_original": [join_text(parts) for parts in texts],
            "source": source_group(spec.name),
            "_part": spec.name,
            "_priority": spec.label_priority,
        },
        index=table.index,
    )
    # object columns: pandas would store a missing title as NaN (str dtype), not None
    for name, values in (
        ("_source_id", upstream),
        ("_title", _text_of(table, spec.title_column)),
        ("_body", _text_of(table, spec.body_column)),
    ):
        frame[name] = pd.Series(values, index=table.index, dtype=object)
    for task in schema.tasks:
        column = spec.labels.get(task.name)
        if column is None:
            frame[task.name] = None
            continue
        if column.file is not None:
            raw = labels_from_file(spec, column, upstream, map_dir)
            raw.index = table.index
        elif column.column is not None:
            raw = table[column.column]
        else:
            raw = pd.Series(None, index=table.index, dtype=object)
        frame[task.name] = pd.Series(
            label_values(spec, task, column, raw, map_dir), index=table.index, dtype=object
        )
        if column.read_file is not None:
            frame[given_column(task.name)] = frame[task.name]
            frame[task.name] = _read_labels(spec, task, column, upstream, frame[task.name], map_dir)
    records = int(frame.index.nunique())
    frame = frame.reset_index(drop=True)
    if spec.aggregate is not None:
        neutral = spec.neutral_labels  # empty for "agree"
        frame = _aggregate(frame, schema.tasks, stats, neutral).reset_index(drop=True)
        stats.aggregated = records - len(frame)
    for number, text_filter in enumerate(spec.drop_texts):
        frame = _drop_matching(frame, text_filter, stats, number)
    if spec.drop_unlabelled:
        names = [task.name for task in schema.tasks]
        labelled = frame[names].notna().any(axis=1) if names else pd.Series(True, frame.index)
        stats.unlabelled = int((~labelled).sum())
        frame = frame.loc[labelled].reset_index(drop=True)
    clashes = frame.groupby("id")["text_original"].nunique()
    if (clashes > 1).any():  # the same id twice with the same text is a duplicate, merged later
        raise DataSourceError(
            f"source {spec.name!r}: id_column {spec.id_column!r} gives different texts the same "
            f"id, e.g. {sorted(clashes[clashes > 1].index)[:3]}; an id must name one text."
        )
    return frame, stats


def load_source(
    spec: SourceSpec,
    base_dir: str | Path,
    schema: LabelSchema,
    *,
    map_dir: str | Path | None = None,
) -> pd.DataFrame:
    """One source as rows of ``id, text_original, source`` and one label column per task.

    ``spec.path`` is read from ``base_dir``; ``map_file`` paths from ``map_dir`` (default
    ``base_dir``). Labels are a schema label or ``None`` (single-label, ordinal) or a list of
    labels or ``None`` (multi-label). Malformed rows of the file are left out (and logged).
    """
    base_dir = Path(base_dir)
    frame, _ = load_source_with_stats(
        spec,
        base_dir / Path(spec.path).expanduser(),
        schema,
        Path(map_dir) if map_dir else base_dir,
    )
    return frame
