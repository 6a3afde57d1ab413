"""Label maps: a source's raw label values onto the config's label schema.

A map comes from the manifest or config (``map:``) and/or a mapping CSV under ``data/mappings/``
(``map_file:``). A raw value missing from its map is an error naming the value, the column and the
map to extend, so a new upstream value is never guessed; a value mapped to null (or an empty
``label`` cell) leaves the row unlabelled for that task.
"""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from nabiz.model.schema import TaskSpec
from nabiz.tabular import is_blank
from nabiz.training.config import LabelColumn, SourceSpec
from nabiz.training.manifest import DataSourceError, source_group


def raw_key(value: Any) -> str:
    return unicodedata.normalize("NFC", str(value).strip())


def load_label_map(path: Path, source: str) -> dict[str, str | None]:
    """``source_label → label`` from a mapping CSV; with a ``source`` column, this source's rows.

    An empty ``label`` maps to ``None`` (unlabelled). Rows for a dotted part's group also apply.
    """
    if not path.is_file():
        raise DataSourceError(f"source {source!r}: label map file {path} does not exist")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        if "source_label" not in fields or "label" not in fields:
            raise DataSourceError(
                f"{path}: a label map needs the columns source_label and label (and optionally "
                f"source, note); it has {fields}"
            )
        names = {source, source_group(source)}
        mapping: dict[str, str | None] = {}
        for line, row in enumerate(reader, start=2):
            if "source" in fields and (row.get("source") or "").strip() not in names:
                continue
            key = raw_key(row["source_label"] or "")
            label = (row["label"] or "").strip() or None
            if key in mapping and mapping[key] != label:
                raise DataSourceError(
                    f"{path} line {line}: {key!r} is mapped twice for source {source!r} "
                    f"({mapping[key]!r} and {label!r}); keep one row."
                )
            mapping[key] = label
    return mapping


def labels_from_file(
    spec: SourceSpec, column: LabelColumn, ids: list[str | None], base: Path
) -> pd.Series:
    """The raw label of each row from a repository file, joined on the source's id.

    The file holds ``id`` and ``column.column``; an id the file lacks gives ``None``.
    """
    path = base / str(column.file)
    if spec.id_column is None:
        raise DataSourceError(
            f"source {spec.name!r}: labels from the file {column.file} are joined on the "
            "source's id_column, and the source has none"
        )
    if not path.is_file():
        raise DataSourceError(f"source {spec.name!r}: label file {path} does not exist")
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if "id" not in table.columns or column.column not in table.columns:
        raise DataSourceError(
            f"{path}: a label file needs the columns id and {column.column!r}; it has "
            f"{list(table.columns)}"
        )
    twice = table["id"][table["id"].duplicated()].tolist()
    if twice:
        raise DataSourceError(f"{path}: ids labelled twice, e.g. {twice[:3]}; keep one row each")
    by_id = dict(zip(table["id"].str.strip(), table[column.column], strict=True))
    unknown = set(by_id) - {i for i in ids if i is not None}
    if unknown:
        raise DataSourceError(
            f"{path}: {len(unknown)} ids are not in source {spec.name!r}, e.g. "
            f"{sorted(unknown)[:3]}; a label file names texts of its source only"
        )
    return pd.Series([by_id.get(i) if i is not None else None for i in ids], dtype=object)


def _map_description(spec: SourceSpec, task: str, column: LabelColumn) -> str:
    where = f"{spec.config_key}.labels.{task}"
    if column.map_file and column.map is not None:
        return f"`{where}.map` or the map file {column.map_file}"
    if column.map_file:
        return f"the map file {column.map_file} (rows with source={spec.name})"
    if column.map is not None:
        return f"`{where}.map`"
    return f"a `map:` under `{where}` (raw values are used as labels when there is none)"


def _build_map(
    spec: SourceSpec, task: TaskSpec, column: LabelColumn, map_dir: Path
) -> dict[str, str | None] | None:
    if column.map is None and column.map_file is None:
        return None
    mapping: dict[str, str | None] = {}
    if column.map_file:
        mapping.update(load_label_map(map_dir / column.map_file, spec.name))
    mapping.update({raw_key(key): value for key, value in (column.map or {}).items()})
    wrong = sorted({label for label in mapping.values() if label and label not in task.labels})
    if wrong:
        raise DataSourceError(
            f"source {spec.name!r}, task {task.name!r}: "
            f"{_map_description(spec, task.name, column)} maps to {wrong}, which are not "
            f"labels of the task; its labels are {task.labels}. "
            "Fix the map or the task's labels in the config."
        )
    return mapping


def label_values(
    spec: SourceSpec, task: TaskSpec, column: LabelColumn, raw: pd.Series, map_dir: Path
) -> list[Any]:
    """One task's label per row: a label, a list of labels (multi-label), or ``None``."""
    if column.value is not None:
        fixed = column.value.split(column.separator) if column.separator else [column.value]
        fixed = [label.strip() for label in fixed if label.strip()]
        wrong = [label for label in fixed if label not in task.labels]
        if wrong:
            raise DataSourceError(
                f"source {spec.name!r}, task {task.name!r}: fixed label value {column.value!r} is "
                f"not a label of the task; its labels are {task.labels}."
            )
        value: Any = sorted(fixed, key=task.labels.index) if task.is_multi_label else fixed[0]
        return [value] * len(raw)

    mapping = _build_map(spec, task, column, map_dir)
    unknown: Counter[str] = Counter()
    if column.empty_means == "none" and not task.is_multi_label:
        raise DataSourceError(
            f"source {spec.name!r}, task {task.name!r}: `empty_means: none` (no label applies) "
            f"needs a multi_label task; {task.name!r} is {task.kind.value}."
        )
    empty: Any = [] if column.empty_means == "none" else None

    def convert(cell: Any) -> tuple[Any, list[str]]:
        """The cell's label(s), and the raw values the map does not cover."""
        uncovered: list[str] = []
        if isinstance(cell, list):
            parts = [str(part) for part in cell]
        elif is_blank(cell):
            return empty, uncovered
        elif column.separator:
            parts = str(cell).split(column.separator)
        else:
            parts = [str(cell)]
        labels: list[str] = []
        for part in parts:
            key = raw_key(part)
            if not key:
                continue
            if mapping is None:
                label: str | None = key if key in task.labels else None
                if label is None:
                    uncovered.append(key)
            elif key in mapping:
                label = mapping[key]
            else:
                uncovered.append(key)
                label = None
            if label is not None and label not in labels:
                labels.append(label)
        if not labels:
            return None, uncovered
        if task.is_multi_label:
            return sorted(labels, key=task.labels.index), uncovered
        if len(labels) > 1:
            raise DataSourceError(
                f"source {spec.name!r}, column {column.column!r}: cell {cell!r} holds several "
                f"labels {labels}, but task {task.name!r} is {task.kind.value}. Make the task "
                "multi_label, or map the cell to one label."
            )
        return labels[0], uncovered

    cache: dict[Any, tuple[Any, list[str]]] = {}
    values: list[Any] = []
    for cell in raw.tolist():
        key = tuple(cell) if isinstance(cell, list) else cell
        if key not in cache:
            cache[key] = convert(cell)
        result, uncovered = cache[key]
        unknown.update(uncovered)  # per row, so that the counts below are rows
        values.append(list(result) if isinstance(result, list) else result)
    if unknown:
        shown = ", ".join(f"{value!r} ({count} rows)" for value, count in unknown.most_common(10))
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        if mapping is None:
            fix = (
                f"They are not labels of task {task.name!r} ({task.labels}); add a `map:` under "
                f"`{spec.config_key}.labels.{task.name}` that maps each raw value to a label "
                "(or to null for unlabelled)."
            )
            if not column.separator and any(sep in value for value in unknown for sep in ";,|"):
                fix += (
                    f" If a cell holds several labels, set `separator:` on the column "
                    f"(task {task.name!r} is {task.kind.value})."
                )
        else:
            fix = (
                f"Add each to {_map_description(spec, task.name, column)} with a label of task "
                f"{task.name!r} ({task.labels}), or with an empty label / null to leave such rows "
                "unlabelled."
            )
        raise DataSourceError(
            f"source {spec.name!r}: column {column.column!r} (task {task.name!r}) has values the "
            f"label map does not cover: {shown}{more}. {fix}"
        )
    return values
