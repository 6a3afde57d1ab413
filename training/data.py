# Longer than 500 lines: split in progress on the model-data branch.
"""Data preparation: labelled files in, one deduplicated, split ``DatasetDict`` and a data card out.

``prepare_data`` reads the manifest sources a config names (from the data mirror, checksums
verified) and the config's own files, maps each file's label columns onto the config's label
schema, normalizes the text, drops empty texts and exact duplicates, splits each source into
train/validation/test stratified on one task, and writes the splits plus ``data_card.json`` and
``data_card.md`` to the config's ``data.prepared_dir``. Training then calls ``load_prepared``.

Rules worth knowing:

* A row without a label for a task keeps ``None`` there (the loss masks it); it is never dropped.
  Multi-label tasks hold a list of labels, or ``None``.
* A raw label value missing from its map is an error naming the value, the column and the map to
  extend, so a new upstream value is never guessed.
* Duplicates are texts with the same ``nabiz.text.dedupe_key``. The first occurrence (in source
  order, then file order) is kept; its label for each task becomes the most frequent non-missing
  label of the group (ties: the earliest), so a duplicate may fill a label the first row lacks.
  Since each text then appears once, no text can be in two splits.
* The split is deterministic: within each (source, stratification label) bucket, rows are ordered
  by a seeded hash of their text and cut into test, validation and train by the configured
  fractions (half-up rounding, train keeps at least one row). Rows without a stratification label
  form their own bucket.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import shutil
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import datasets as datasets_lib
import pandas as pd
from datasets import Dataset, DatasetDict, Features, List, Value, load_from_disk
from pydantic import ValidationError

from nabiz.checksums import file_sha256
from nabiz.model.schema import LabelSchema, TaskSpec
from nabiz.settings import Settings, get_settings
from nabiz.tabular import ERROR_COLUMN, TableReadError, is_blank, join_text, read_table
from nabiz.text import dedupe_key, normalize_text
from nabiz.training.config import LabelColumn, NabizConfig, SourceSpec
from nabiz.training.tables import markdown_table
from nabiz.yamlio import load_yaml

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
BASE_COLUMNS = ("id", "text", "text_original", "source")
CARD_JSON = "data_card.json"
CARD_MD = "data_card.md"
UNLABELLED = "(unlabelled)"
ROW_COUNTS = ("read", "malformed", "empty_text", "duplicate", "kept")
PART_SEPARATOR = (
    "."  # manifest entry "bilgenai_sikayetvar.tesekkur" is part of "bilgenai_sikayetvar"
)


class DataSourceError(RuntimeError):
    """A data source is missing, differs from its checksum, or does not fit the label schema."""


@dataclass
class PreparedData:
    """What ``prepare_data`` wrote: the splits, the data card, and the folder holding both."""

    datasets: DatasetDict
    card: dict[str, Any]
    path: Path
    warnings: list[str] = field(default_factory=list)


@dataclass
class _SourceStats:
    rows_read: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# manifest


def load_manifest(path: str | Path) -> dict[str, SourceSpec]:
    """The ``sources:`` of a data manifest, validated, keyed by source name."""
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(
            f"data manifest {path} does not exist; set NABIZ_MANIFEST to the manifest file "
            "(the project ships data/manifest.yaml)."
        )
    tree = load_yaml(path.read_text(encoding="utf-8")) or {}
    entries = tree.get("sources") if isinstance(tree, dict) else None
    if not isinstance(entries, dict):
        raise DataSourceError(f"{path}: a manifest is a mapping with a `sources:` mapping inside")
    manifest: dict[str, SourceSpec] = {}
    for name, entry in entries.items():
        if not isinstance(entry, dict):
            raise DataSourceError(f"{path}: source {name!r} must be a mapping of fields")
        if entry.get("name", name) != name:
            raise DataSourceError(f"{path}: source {name!r} has a different name: {entry['name']}")
        try:
            manifest[str(name)] = SourceSpec.model_validate({**entry, "name": str(name)})
        except ValidationError as error:
            raise DataSourceError(f"{path}: source {name!r} is invalid:\n{error}") from None
    return manifest


def source_group(name: str) -> str:
    """The source a manifest part belongs to: ``"bilgenai_sikayetvar.tesekkur"`` → its prefix."""
    return name.split(PART_SEPARATOR, 1)[0]


def resolve_sources(manifest: dict[str, SourceSpec], names: Iterable[str]) -> list[SourceSpec]:
    """Manifest entries for the names a config lists; a name also selects its dotted parts."""
    selected: list[SourceSpec] = []
    for name in names:
        found = [
            spec
            for key, spec in manifest.items()
            if key == name or key.startswith(name + PART_SEPARATOR)
        ]
        if not found:
            available = sorted({source_group(key) for key in manifest} | set(manifest))
            raise DataSourceError(
                f"data.sources names {name!r}, which the manifest does not have; it has "
                f"{available}. Fix the config, or add the source to data/manifest.yaml."
            )
        selected.extend(spec for spec in found if spec not in selected)
    return selected


def _upstream(spec: SourceSpec) -> str:
    if spec.upstream_repo:
        return f"{spec.upstream_repo} (file {spec.upstream_path or spec.path})"
    return "its upstream (the manifest names none)"


def verify_source(spec: SourceSpec, data_dir: str | Path) -> Path:
    """The mirror file of a manifest source, after checking it exists and matches its sha256."""
    data_dir = Path(data_dir)
    path = data_dir / spec.path
    if not data_dir.is_dir():
        raise DataSourceError(
            f"source {spec.name!r}: the data mirror {data_dir} does not exist. Point the setting "
            f"NABIZ_DATA_DIR at the folder that holds the mirrored public datasets, or create it "
            f"and fetch {_upstream(spec)} into {path}."
        )
    if not path.is_file():
        raise DataSourceError(
            f"source {spec.name!r}: {path} is missing from the data mirror {data_dir}. Fetch "
            f"{_upstream(spec)} and save it as {path}, or point NABIZ_DATA_DIR at a mirror that "
            "has it."
        )
    if spec.sha256:
        actual = file_sha256(path)
        if actual != spec.sha256.lower():
            raise DataSourceError(
                f"source {spec.name!r}: {path} has sha256 {actual}, but the manifest expects "
                f"{spec.sha256}. The file was changed or is another version: fetch it again from "
                f"{_upstream(spec)}; if the new version is intended, check its labels and update "
                "sha256 in data/manifest.yaml."
            )
    return path


# ----------------------------------------------------------------------------------------------
# label maps


def _raw_key(value: Any) -> str:
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
            key = _raw_key(row["source_label"] or "")
            label = (row["label"] or "").strip() or None
            if key in mapping and mapping[key] != label:
                raise DataSourceError(
                    f"{path} line {line}: {key!r} is mapped twice for source {source!r} "
                    f"({mapping[key]!r} and {label!r}); keep one row."
                )
            mapping[key] = label
    return mapping


def _map_description(spec: SourceSpec, task: str, column: LabelColumn) -> str:
    where = f"sources.{spec.name}.labels.{task}"
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
    mapping.update({_raw_key(key): value for key, value in (column.map or {}).items()})
    wrong = sorted({label for label in mapping.values() if label and label not in task.labels})
    if wrong:
        raise DataSourceError(
            f"source {spec.name!r}, task {task.name!r}: "
            f"{_map_description(spec, task.name, column)} maps to {wrong}, which are not "
            f"labels of the task; its labels are {task.labels}. "
            "Fix the map or the task's labels in the config."
        )
    return mapping


def _label_values(
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

    def convert(cell: Any) -> Any:
        if isinstance(cell, list):
            parts = [str(part) for part in cell]
        elif is_blank(cell):
            return None
        elif column.separator:
            parts = str(cell).split(column.separator)
        else:
            parts = [str(cell)]
        labels: list[str] = []
        for part in parts:
            key = _raw_key(part)
            if not key:
                continue
            if mapping is None:
                label: str | None = key if key in task.labels else None
                if label is None:
                    unknown[key] += 1
            elif key in mapping:
                label = mapping[key]
            else:
                unknown[key] += 1
                label = None
            if label is not None and label not in labels:
                labels.append(label)
        if not labels:
            return None
        if task.is_multi_label:
            return sorted(labels, key=task.labels.index)
        if len(labels) > 1:
            raise DataSourceError(
                f"source {spec.name!r}, column {column.column!r}: cell {cell!r} holds several "
                f"labels {labels}, but task {task.name!r} is {task.kind.value}. Make the task "
                "multi_label, or map the cell to one label."
            )
        return labels[0]

    cache: dict[Any, Any] = {}
    values: list[Any] = []
    for cell in raw.tolist():
        key = tuple(cell) if isinstance(cell, list) else cell
        if key not in cache:
            cache[key] = convert(cell)
        result = cache[key]
        values.append(list(result) if isinstance(result, list) else result)
    if unknown:
        shown = ", ".join(f"{value!r} ({count} rows)" for value, count in unknown.most_common(10))
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        if mapping is None:
            fix = (
                f"They are not labels of task {task.name!r} ({task.labels}); add a `map:` under "
                f"sources.{spec.name}.labels.{task.name} that maps each raw value to a label "
                "(or to null for unlabelled)."
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


# ----------------------------------------------------------------------------------------------
# one source


def _read(spec: SourceSpec, path: Path) -> pd.DataFrame:
    try:
        return read_table(path, format=spec.format, encoding=spec.encoding)
    except TableReadError as error:
        raise DataSourceError(f"source {spec.name!r}: {error}") from error


def _check_columns(spec: SourceSpec, table: pd.DataFrame, path: Path, schema: LabelSchema) -> None:
    available = [name for name in table.columns if name != ERROR_COLUMN]
    wanted = {name: "text" for name in spec.text}
    for task, column in spec.labels.items():
        if task in schema and column.column is not None:
            wanted.setdefault(column.column, f"labels.{task}.column")
    missing = [(name, where) for name, where in wanted.items() if name not in table.columns]
    if missing:
        listed = ", ".join(f"{name!r} (from {where})" for name, where in missing)
        raise DataSourceError(
            f"source {spec.name!r}: {path} has no column {listed}; its columns are {available}. "
            f"Make sure these columns are present, or fix `text:` / `labels:` of {spec.name!r}."
        )


def _load_source(
    spec: SourceSpec, base_dir: Path, schema: LabelSchema, map_dir: Path
) -> tuple[pd.DataFrame, _SourceStats]:
    path = Path(base_dir) / spec.path
    table = _read(spec, path)
    _check_columns(spec, table, path, schema)
    stats = _SourceStats(rows_read=len(table))
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
    frame = pd.DataFrame(
        {
            "id": [f"{spec.name}:{row}" for row in table.index],
            "text_original": [join_text(parts) for parts in texts],
            "source": source_group(spec.name),
        },
        index=table.index,
    )
    for task in schema.tasks:
        column = spec.labels.get(task.name)
        if column is None:
            frame[task.name] = None
            continue
        raw = (
            table[column.column]
            if column.column is not None
            else pd.Series(None, index=table.index, dtype=object)
        )
        frame[task.name] = pd.Series(
            _label_values(spec, task, column, raw, map_dir), index=table.index, dtype=object
        )
    return frame.reset_index(drop=True), stats


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
    frame, _ = _load_source(spec, base_dir, schema, Path(map_dir) if map_dir else base_dir)
    return frame


# ----------------------------------------------------------------------------------------------
# deduplication and splitting


def _dedupe(frame: pd.DataFrame, tasks: list[TaskSpec]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Keep the first row of each dedupe group, with each task's most frequent label."""
    duplicated = frame.duplicated("_key", keep="first")
    grouped = frame[frame["_key"].isin(frame.loc[duplicated, "_key"])]
    conflicts: Counter[str] = Counter()
    cross_source = 0
    merged = {task.name: frame[task.name].tolist() for task in tasks}
    position = {index: number for number, index in enumerate(frame.index)}
    for _, group in grouped.groupby("_key", sort=False):
        first = group.index[0]
        if group["source"].nunique() > 1:
            cross_source += 1
        for task in tasks:
            votes: Counter[Any] = Counter()
            for value in group[task.name]:
                if value is not None:
                    votes[tuple(value) if isinstance(value, list) else value] += 1
            if not votes:
                continue
            if len(votes) > 1:
                conflicts[task.name] += 1
            winner = votes.most_common(1)[0][0]  # ties: the earliest, as Counter keeps order
            merged[task.name][position[first]] = (
                list(winner) if isinstance(winner, tuple) else winner
            )
    frame = frame.copy()
    for name, values in merged.items():
        frame[name] = pd.Series(values, index=frame.index, dtype=object)
    stats = {
        "groups": int(grouped["_key"].nunique()),
        "cross_source_groups": cross_source,
        "label_conflicts": {task.name: conflicts[task.name] for task in tasks},
    }
    return frame.loc[~duplicated], stats


def _bucket_label(value: Any) -> str:
    if value is None:
        return UNLABELLED
    return "|".join(value) if isinstance(value, list) else str(value)


def _half_up(value: float) -> int:
    return int(value + 0.5)


def assign_splits(
    keys: pd.Series, buckets: pd.Series, validation: float, test: float, seed: int
) -> pd.Series:
    """``train``/``validation``/``test`` per row, stratified by bucket, from a seeded text hash."""
    order = keys.map(
        lambda key: hashlib.blake2b(f"{seed}\x1f{key}".encode(), digest_size=8).hexdigest()
    )
    split = pd.Series("train", index=keys.index, dtype=object)
    for _, members in order.groupby(buckets, sort=True):
        ranked = members.sort_values(kind="stable").index
        n = len(ranked)
        n_test, n_validation = _half_up(n * test), _half_up(n * validation)
        while n_test + n_validation >= n and (n_test or n_validation):
            if n_test >= n_validation:
                n_test -= 1
            else:
                n_validation -= 1
        split.loc[ranked[:n_test]] = "test"
        split.loc[ranked[n_test : n_test + n_validation]] = "validation"
    return split


# ----------------------------------------------------------------------------------------------
# the data card


def fingerprint(config: NabizConfig) -> str:
    """Hash of what decides the prepared data: tasks and labels, sources, columns, split.

    File locations and provenance are left out, so a config saved into a model directory with
    absolute paths still matches the data it was prepared from.
    """
    data = config.data.model_dump(mode="json", exclude={"prepared_dir", "min_class_examples"})
    provenance = ("path", "sha256", "upstream_repo", "upstream_path", "licence", "attribution")
    for item in data["files"]:
        for key in (*provenance, "notes"):
            item.pop(key, None)
    tree = {
        "tasks": [
            {"name": task.name, "kind": task.kind.value, "labels": task.labels}
            for task in config.tasks
        ],
        "data": data,
    }
    return hashlib.sha256(json.dumps(tree, sort_keys=True).encode()).hexdigest()[:16]


def _label_counts(frame: pd.DataFrame, task: TaskSpec) -> dict[str, int]:
    counts = dict.fromkeys(task.labels, 0)
    unlabelled = 0
    for value in frame[task.name]:
        if value is None:
            unlabelled += 1
        elif isinstance(value, list):
            for label in value:
                counts[label] += 1
        else:
            counts[value] += 1
    counts[UNLABELLED] = unlabelled
    return counts


def _card(
    config: NabizConfig,
    frame: pd.DataFrame,
    sources: list[dict[str, Any]],
    rows: dict[str, dict[str, int]],
    duplicates: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    names = sorted(frame["source"].unique()) if len(frame) else []
    splits: dict[str, Any] = {}
    labels: dict[str, Any] = {}
    for split in SPLITS:
        part = frame[frame["split"] == split]
        splits[split] = {
            "rows": len(part),
            "per_source": {name: int((part["source"] == name).sum()) for name in names},
        }
    for task in config.tasks:
        labels[task.name] = {
            split: {
                "all": _label_counts(frame[frame["split"] == split], task),
                **{
                    name: _label_counts(
                        frame[(frame["split"] == split) & (frame["source"] == name)], task
                    )
                    for name in names
                },
            }
            for split in SPLITS
        }
    minimum = config.data.min_class_examples
    small = [
        {"task": task.name, "label": label, "train_examples": count, "minimum": minimum}
        for task in config.tasks
        for label, count in labels[task.name]["train"]["all"].items()
        if label != UNLABELLED and count < minimum
    ]
    warnings = [
        f"task {item['task']!r}: label {item['label']!r} has {item['train_examples']} training "
        f"examples, fewer than data.min_class_examples={minimum}; merge it into another label "
        "in the mapping table (data/mappings/) or add data"
        for item in small
    ]
    return {
        "name": config.name,
        "version": config.version,
        "fingerprint": fingerprint(config),
        "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 2),
        "split": config.data.split.model_dump(mode="json")
        | {"stratify": config.data.split.stratify or config.tasks[0].name},
        "min_class_examples": minimum,
        "tasks": [
            {"name": task.name, "kind": task.kind.value, "labels": task.labels}
            for task in config.tasks
        ],
        "sources": sources,
        "rows": rows,
        "duplicates": duplicates,
        "splits": splits,
        "label_counts": labels,
        "small_classes": small,
        "warnings": warnings,
    }


def _table(header: list[str], body: list[list[Any]]) -> list[str]:
    return [*markdown_table(header, body), ""]


def card_markdown(card: dict[str, Any]) -> str:
    """The data card as Markdown, for people."""
    lines = [
        f"# Data card: {card['name']} {card['version']}",
        "",
        f"Prepared {card['prepared_at']} in {card['seconds']} s; fingerprint "
        f"`{card['fingerprint']}`. Split validation {card['split']['validation']}, test "
        f"{card['split']['test']}, seed {card['split']['seed']}, stratified per source on "
        f"`{card['split']['stratify']}`. Exact duplicates (same text after normalization and "
        "Turkish lowercasing) are kept once, with each task's most frequent label.",
        "",
    ]
    if card["warnings"]:
        lines += ["## Warnings", "", *[f"- {warning}" for warning in card["warnings"]], ""]
    lines += ["## Sources", ""]
    body = []
    for source in card["sources"]:
        for item in source["files"]:
            body.append(
                [
                    source["name"],
                    f"`{item['path']}`",
                    item["rows_read"],
                    source.get("licence") or "",
                    source.get("attribution") or "",
                ]
            )
    lines += _table(["source", "file", "rows", "licence", "attribution"], body)
    lines += ["## Rows", ""]
    header = ["source", "read", "malformed", "empty text", "duplicate", "kept"]
    body = [[name, *(counts[key] for key in ROW_COUNTS)] for name, counts in card["rows"].items()]
    lines += _table(header, body)
    duplicates = card["duplicates"]
    lines += [
        f"{duplicates['groups']} texts occurred more than once ({duplicates['cross_source_groups']}"
        f" across sources); label conflicts among them: {duplicates['label_conflicts']}.",
        "",
        "## Splits",
        "",
    ]
    names = sorted({name for split in SPLITS for name in card["splits"][split]["per_source"]})
    body = [
        [
            split,
            card["splits"][split]["rows"],
            *(card["splits"][split]["per_source"][n] for n in names),
        ]
        for split in SPLITS
    ]
    lines += _table(["split", "rows", *names], body)
    for task in card["tasks"]:
        counts = card["label_counts"][task["name"]]
        lines += [f"## {task['name']} ({task['kind']})", ""]
        body = []
        for name in ["all", *names]:
            for label in [*task["labels"], UNLABELLED]:
                row = [counts[split][name][label] for split in SPLITS]
                if name != "all" and not any(row):
                    continue
                body.append([name, label, *row])
        lines += _table(["source", "label", *SPLITS], body)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# prepare and load


def _features(schema: LabelSchema) -> Features:
    columns: dict[str, Any] = {name: Value("string") for name in BASE_COLUMNS}
    for task in schema.tasks:
        columns[task.name] = List(Value("string")) if task.is_multi_label else Value("string")
    return Features(columns)


def _collect_specs(
    config: NabizConfig, settings: Settings
) -> list[tuple[SourceSpec, Path, Path, Path]]:
    """(spec, base dir, map dir, file) for every manifest source and config file, verified."""
    specs: list[tuple[SourceSpec, Path, Path, Path]] = []
    if config.data.sources:
        manifest = load_manifest(settings.manifest)
        for spec in resolve_sources(manifest, config.data.sources):
            path = verify_source(spec, settings.data_dir)
            specs.append((spec, Path(settings.data_dir), Path(settings.manifest).parent, path))
    for number, spec in enumerate(config.data.files):
        path = config.resolve(spec.path)
        if not path.is_file():
            raise DataSourceError(
                f"data.files[{number}] ({spec.name!r}): {path} does not exist; paths in a config "
                f"are relative to the config file's folder {config.config_dir}."
            )
        if spec.sha256 and file_sha256(path) != spec.sha256.lower():
            raise DataSourceError(
                f"data.files[{number}] ({spec.name!r}): {path} does not match the sha256 in the "
                f"config ({spec.sha256}); update or remove `sha256:` if the file changed on "
                "purpose."
            )
        specs.append((spec, path.parent, config.config_dir, path))
    names = [spec.name for spec, *_ in specs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataSourceError(f"source names must be unique; repeated: {repeated}")
    return specs


def _write(datasets: DatasetDict, card: dict[str, Any], target: Path) -> None:
    """Write to a sibling folder, then swap it in, so a failed run leaves the old data intact."""
    if target.exists() and any(target.iterdir()) and not (target / CARD_JSON).is_file():
        raise DataSourceError(
            f"{target} exists and does not hold prepared data; choose another data.prepared_dir "
            "or empty that folder."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    quiet = not datasets_lib.are_progress_bars_disabled()
    if quiet:
        datasets_lib.disable_progress_bars()
    try:
        datasets.save_to_disk(str(staging))
    finally:
        if quiet:
            datasets_lib.enable_progress_bars()
    (staging / CARD_JSON).write_text(
        json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (staging / CARD_MD).write_text(card_markdown(card) + "\n", encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


def prepare_data(config: NabizConfig, settings: Settings | None = None) -> PreparedData:
    """Read, map, clean, deduplicate and split the config's data; write it and its data card."""
    started = time.perf_counter()
    settings = settings or get_settings()
    schema = config.schema
    tasks = schema.tasks
    stratify = config.data.split.stratify or tasks[0].name

    frames: list[pd.DataFrame] = []
    source_cards: dict[str, dict[str, Any]] = {}
    rows: dict[str, dict[str, int]] = {}
    for spec, base_dir, map_dir, path in _collect_specs(config, settings):
        frame, stats = _load_source(spec, base_dir, schema, map_dir)
        group = source_group(spec.name)
        logger.info("source %s: %d rows read from %s", spec.name, stats.rows_read, path)
        frames.append(frame)
        card = source_cards.setdefault(
            group,
            {
                "name": group,
                "licence": spec.licence,
                "attribution": spec.attribution,
                "upstream_repo": spec.upstream_repo,
                "files": [],
            },
        )
        card["files"].append(
            {
                "name": spec.name,
                "path": spec.path,
                "upstream_path": spec.upstream_path,
                "sha256": spec.sha256 or file_sha256(path),
                "rows_read": stats.rows_read,
                "malformed": stats.malformed,
                "malformed_examples": stats.malformed_examples,
            }
        )
        counts = rows.setdefault(group, dict.fromkeys(ROW_COUNTS, 0))
        counts["read"] += stats.rows_read
        counts["malformed"] += stats.malformed

    columns = ["id", "text_original", "source", *schema.names]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    frame["text"] = frame["text_original"].map(normalize_text)
    empty = frame["text"] == ""
    for name, count in frame.loc[empty, "source"].value_counts().items():
        rows[name]["empty_text"] += int(count)
    frame = frame.loc[~empty].reset_index(drop=True)

    frame["_key"] = frame["text"].map(dedupe_key)
    before = frame["source"].value_counts()
    frame, duplicates = _dedupe(frame, tasks)
    after = frame["source"].value_counts()
    for name in rows:
        rows[name]["duplicate"] = int(before.get(name, 0) - after.get(name, 0))
        rows[name]["kept"] = int(after.get(name, 0))
    rows["all"] = {key: sum(counts[key] for counts in rows.values()) for key in ROW_COUNTS}

    buckets = frame["source"] + "\x1f" + frame[stratify].map(_bucket_label)
    split = config.data.split
    frame["split"] = assign_splits(frame["_key"], buckets, split.validation, split.test, split.seed)

    features = _features(schema)
    datasets = DatasetDict(
        {
            name: Dataset.from_dict(
                {column: frame.loc[frame["split"] == name, column].tolist() for column in features},
                features=features,
            )
            for name in SPLITS
        }
    )
    card = _card(
        config,
        frame,
        list(source_cards.values()),
        rows,
        duplicates,
        time.perf_counter() - started,
    )
    for warning in card["warnings"]:
        logger.warning(warning)
    target = config.resolve(config.data.prepared_dir)
    _write(datasets, card, target)
    logger.info("prepared data written to %s", target)
    return PreparedData(datasets=datasets, card=card, path=target, warnings=card["warnings"])


def load_prepared(config: NabizConfig) -> DatasetDict:
    """The prepared splits of a config; a clear error if they are missing or stale."""
    path = config.resolve(config.data.prepared_dir)
    command = f"nabiz data prepare --config <the config file in {config.config_dir}>"
    if not (path / CARD_JSON).is_file() or not (path / "dataset_dict.json").is_file():
        raise DataSourceError(
            f"no prepared data in {path} (data.prepared_dir of config {config.name!r}); "
            f"run `{command}` first."
        )
    card = json.loads((path / CARD_JSON).read_text(encoding="utf-8"))
    if card.get("fingerprint") != fingerprint(config):
        raise DataSourceError(
            f"the prepared data in {path} was made for other tasks, labels or data settings than "
            f"config {config.name!r} now has; run `{command}` again."
        )
    datasets = load_from_disk(str(path))
    if not isinstance(datasets, DatasetDict):
        raise DataSourceError(f"{path} holds a single Dataset, not train/validation/test splits")
    return datasets
