"""Data preparation: labelled files in, one deduplicated, split ``DatasetDict`` and a data card out.

``prepare_data`` reads the manifest sources a config names (from the data mirror, checksums
verified, :mod:`~nabiz.training.manifest`) and the config's own files, maps each file's label
columns onto the config's label schema (:mod:`~nabiz.training.labelmaps`,
:mod:`~nabiz.training.loading`), normalizes the text, drops empty texts, keeps evaluation sets out
and applies the row budgets (:mod:`~nabiz.training.sampling`), merges exact and near duplicates and
splits train/validation/test by split group (:mod:`~nabiz.training.splits`), and writes the splits
plus ``data_card.json`` and ``data_card.md`` (:mod:`~nabiz.training.datacard`) to the config's
``data.prepared_dir``. Training then calls ``load_prepared``.

A row without a label for a task keeps ``None`` there (the loss masks it); it is never dropped,
unless its source says ``drop_unlabelled`` and it has no label at all. Multi-label tasks hold a
list of labels, or ``None``. Besides ``id, text, text_original, source`` and the tasks, each row
has ``weight`` (its source's loss weight) and ``group`` (its split group).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets as datasets_lib
import pandas as pd
from datasets import Dataset, DatasetDict, Features, List, Value, load_from_disk

from nabiz.model.schema import LabelSchema, TaskKind
from nabiz.pii import mask_text
from nabiz.settings import Settings, get_settings
from nabiz.text import dedupe_key, has_turkish_letters, near_duplicate_key, normalize_text
from nabiz.training.config import NabizConfig, SourceSpec
from nabiz.training.datacard import (
    CARD_JSON,
    CARD_MD,
    ROW_COUNTS,
    build_card,
    card_markdown,
    fingerprint,
    group_report,
)
from nabiz.training.loading import given_column, load_source_with_stats
from nabiz.training.manifest import (
    DataSourceError,
    file_sha256,
    load_manifest,
    resolve_sources,
    source_group,
    verify_source,
)
from nabiz.training.sampling import apply_budgets, budget_for, excluded_rows, read_excluded_ids
from nabiz.training.splits import (
    SPLITS,
    assign_splits,
    bucket_label,
    merge_duplicates,
    optional_key,
    split_groups,
)

logger = logging.getLogger(__name__)

BASE_COLUMNS = ("id", "text", "text_original", "source", "group")


@dataclass
class PreparedData:
    """What ``prepare_data`` wrote: the splits, the data card, and the folder holding both."""

    datasets: DatasetDict
    card: dict[str, Any]
    path: Path
    warnings: list[str] = field(default_factory=list)


def given_labels(frame: pd.DataFrame, task: str) -> pd.Series:
    """A task's labels as the sources gave them: where people's reading replaced some
    (``read_file``), the label it replaced. Budgets draw and splits stratify on these, so that
    reading the rows of a sample changes their labels, not which rows the sample and each split
    hold (a row read as ``olumsuz`` would otherwise join another label's draw and drop out)."""
    column = given_column(task)
    if column not in frame:
        return frame[task]
    given = frame[column]
    return given.where(given.notna(), frame[task])


def _features(schema: LabelSchema) -> Features:
    columns: dict[str, Any] = {name: Value("string") for name in BASE_COLUMNS}
    columns["weight"] = Value("float32")
    for task in schema.tasks:
        columns[task.name] = List(Value("string")) if task.is_multi_label else Value("string")
    return Features(columns)


def describe_dropped(counts: dict[str, int]) -> str:
    """What preparation dropped, and why, for people: ``83 empty text, 5690 near duplicate``."""
    dropped = [
        f"{n} {key.replace('_', ' ')}"
        for key, n in counts.items()
        if key not in ("read", "kept") and n
    ]
    return ", ".join(dropped) or "none"


def _require_texts(counts: dict[str, int]) -> None:
    """No text left is a data problem to report here, not an IndexError in `nabiz train`."""
    if counts["kept"] == 0:
        raise DataSourceError(
            f"no texts kept of {counts['read']} read ({describe_dropped(counts)} dropped); check "
            "the text columns and the filters."
        )


def require_labels(datasets: DatasetDict, config: NabizConfig) -> None:
    """A task no training text is labelled for would be served from an untrained head, its
    random scores entering the priority: name it instead (a column left out of `labels:`)."""
    train = datasets["train"]
    missing = [task.name for task in config.tasks if not any(train[task.name])]
    if missing:
        raise DataSourceError(
            f"no training text is labelled for task(s) {missing}; give each a column under "
            "`labels:` of a source (data.files[n].labels.<task>), or remove the task."
        )
    # One label in all of train: the head learns to say it whatever the text, and the test split
    # (the same label) scores that as perfect (macro-F1 1.000, calibration error 0).
    alone = {
        task.name: seen.pop()
        for task in config.tasks
        if task.kind != TaskKind.MULTI_LABEL
        and len(seen := {label for label in train[task.name] if label is not None}) == 1
    }
    if alone:
        named = ", ".join(f"{name!r} only {label!r}" for name, label in alone.items())
        raise DataSourceError(
            f"every labelled training text of a task has the same label ({named}): a model "
            "cannot learn to tell labels apart from one; add texts of its other labels (or "
            "map more raw values onto them), or remove the task."
        )


def require_splits(datasets: DatasetDict, names: tuple[str, ...] = ("train", "validation")) -> None:
    """Fine-tuning needs texts to learn from and validation texts to tune on."""
    empty = [name for name in names if len(datasets[name]) == 0]
    if empty:
        sizes = ", ".join(f"{name} {len(datasets[name])}" for name in SPLITS)
        raise DataSourceError(
            f"the prepared {' and '.join(empty)} split{'s are' if len(empty) > 1 else ' is'} "
            f"empty ({sizes} texts); add rows, or raise data.split.validation."
        )


def _collect_specs(config: NabizConfig, settings: Settings) -> list[tuple[SourceSpec, Path, Path]]:
    """(spec, map dir, file) for every manifest source and config file, verified: the file
    checked here is the file read."""
    specs: list[tuple[SourceSpec, Path, Path]] = []
    if config.data.sources:
        manifest = load_manifest(settings.manifest)
        for spec in resolve_sources(manifest, config.data.sources):
            path = verify_source(spec, settings.data_dir)
            specs.append((spec, Path(settings.manifest).parent, path))
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
        spec._config_key = f"data.files[{number}]"
        specs.append((spec, config.config_dir, path))
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


def _removed(
    rows: dict[str, dict[str, int]], before: pd.Series, after: pd.Series, key: str
) -> None:
    """Count, per source, the rows one step removed (``before``/``after``: source columns)."""
    gone = before.value_counts().sub(after.value_counts(), fill_value=0)
    for name, count in gone.items():
        rows[name][key] += int(count)


def _exclude(
    config: NabizConfig, frame: pd.DataFrame, rows: dict[str, dict[str, int]]
) -> tuple[pd.DataFrame, list[dict[str, Any]], list[str]]:
    """Drop the rows of every ``data.exclude`` set, with their split groups."""
    report: list[dict[str, Any]] = []
    warnings: list[str] = []
    for number, exclusion in enumerate(config.data.exclude):
        path = config.resolve(exclusion.file)
        if not path.is_file():
            raise DataSourceError(
                f"data.exclude[{number}]: {path} does not exist; paths in a config are relative "
                f"to the config file's folder {config.config_dir}."
            )
        parts = frame["_part"]
        if not parts.map(lambda p, s=exclusion.source: p == s or source_group(p) == s).any():
            raise DataSourceError(
                f"data.exclude[{number}] names source {exclusion.source!r}, which this config "
                f"does not read (it reads {sorted(set(frame['source']))})."
            )
        ids = read_excluded_ids(exclusion, path)
        matched = excluded_rows(frame, exclusion.source, ids)
        found = set(frame.loc[matched, "_source_id"])
        if len(found) < len(ids):
            warnings.append(
                f"data.exclude[{number}]: {len(ids) - len(found)} of {len(ids)} ids in {path.name} "
                f"are not in source {exclusion.source!r} (e.g. {sorted(ids - found)[:3]})"
            )
        drop = frame["_group"].isin(set(frame.loc[matched, "_group"]))
        _removed(rows, frame["source"], frame.loc[~drop, "source"], "excluded")
        report.append(
            {
                "source": exclusion.source,
                "file": exclusion.file,
                "reason": exclusion.reason,
                "ids": len(ids),
                "ids_found": len(found),
                "rows": int(drop.sum()),
            }
        )
        frame = frame.loc[~drop]
    return frame, report, warnings


def _source_card(spec: SourceSpec, path: Path, stats: Any, weight: float) -> dict[str, Any]:
    return {
        "name": spec.name,
        "path": spec.path,
        "upstream_path": spec.upstream_path,
        "sha256": spec.sha256 or file_sha256(path),
        "rows_read": stats.rows_read,
        "malformed": stats.malformed,
        "malformed_examples": stats.malformed_examples,
        "aggregated": stats.aggregated,
        "ambiguous": stats.ambiguous,
        "mixed": stats.mixed,
        "unlabelled": stats.unlabelled,
        "filtered": stats.filtered_by,
        "weight": weight,
    }


def prepare_data(config: NabizConfig, settings: Settings | None = None) -> PreparedData:
    """Read, map, clean, deduplicate, budget and split the config's data; write it and its card."""
    started = time.perf_counter()
    settings = settings or get_settings()
    schema = config.schema
    tasks = schema.tasks
    stratify = config.data.split.stratify or tasks[0].name
    budgets = config.data.budgets

    frames: list[pd.DataFrame] = []
    source_cards: dict[str, dict[str, Any]] = {}
    rows: dict[str, dict[str, int]] = {}
    for spec, map_dir, path in _collect_specs(config, settings):
        frame, stats = load_source_with_stats(spec, path, schema, map_dir)
        group = source_group(spec.name)
        logger.info("source %s: %d rows read from %s", spec.name, stats.rows_read, path)
        if stats.rows_read == 0:
            raise DataSourceError(
                f"{spec.config_key} ({spec.name!r}): {path} has no rows under its header; "
                "export the data again, or remove the entry."
            )
        frames.append(frame)
        weight = budget_for(spec.name, budgets)[1].weight
        card = source_cards.setdefault(
            group,
            {
                "name": group,
                "licence": spec.licence,
                "attribution": spec.attribution,
                "upstream_repo": spec.upstream_repo,
                "files": [],
                "weights": {},
            },
        )
        card["files"].append(_source_card(spec, path, stats, weight))
        card["weights"][spec.name] = weight
        counts = rows.setdefault(group, dict.fromkeys(ROW_COUNTS, 0))
        counts["read"] += stats.rows_read
        counts["malformed"] += stats.malformed
        counts["aggregated"] += stats.aggregated
        counts["unlabelled"] += stats.unlabelled
        counts["filtered"] += stats.filtered

    columns = ["id", "text_original", "source", "_part", "_source_id", "_title", "_body"]
    columns += ["_priority", *schema.names]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    if settings.mask_personal_data:  # nothing personal reaches the splits or the vocabulary
        frame["text_original"] = frame["text_original"].map(mask_text)
    frame["text"] = frame["text_original"].map(normalize_text)
    if settings.mask_personal_data:  # again: NFKC turns full-width digits into ASCII ones
        frame["text"] = frame["text"].map(mask_text)
    empty = frame["text"] == ""
    _removed(rows, frame["source"], frame.loc[~empty, "source"], "empty_text")
    frame = frame.loc[~empty].reset_index(drop=True)

    # frame["text"] is normalized (then masked): its keys need not normalize it again
    frame["_key"] = [dedupe_key(text, normalized=True) for text in frame["text"]]
    if config.data.dedupe.near_duplicates:
        frame["_near"] = [near_duplicate_key(text, normalized=True) for text in frame["text"]]
    else:
        frame["_near"] = frame["_key"]
    frame["_title_key"] = pd.Series(
        [optional_key(title) for title in frame["_title"].tolist()], index=frame.index, dtype=object
    )
    frame["_group"] = split_groups(frame, config.data.dedupe.template_min_rows)

    frame, exclusions, warnings = _exclude(config, frame, rows)

    duplicates: dict[str, Any] = {}
    before = frame["source"]
    frame, duplicates["exact"] = merge_duplicates(frame, tasks, "_key")
    _removed(rows, before, frame["source"], "duplicate")
    if config.data.dedupe.near_duplicates:
        before = frame["source"]
        frame, duplicates["near"] = merge_duplicates(frame, tasks, "_near")
        _removed(rows, before, frame["source"], "near_duplicate")

    before = frame["source"]
    labels = given_labels(frame, stratify).map(bucket_label)
    frame, budget_report = apply_budgets(frame, budgets, labels, config.data.budget_seed)
    _removed(rows, before, frame["source"], "over_budget")
    frame = frame.reset_index(drop=True)
    after = frame["source"].value_counts()
    for name in rows:
        rows[name]["kept"] = int(after.get(name, 0))
    rows["all"] = {key: sum(counts[key] for counts in rows.values()) for key in ROW_COUNTS}
    _require_texts(rows["all"])

    buckets = frame["source"] + "\x1f" + given_labels(frame, stratify).map(bucket_label)
    split = config.data.split
    frame["split"] = assign_splits(
        frame["_key"], buckets, split.validation, split.test, split.seed, groups=frame["_group"]
    )
    frame["group"] = frame["_group"]

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
    restored = frame["text"].map(has_turkish_letters) & ~frame["text_original"].map(
        has_turkish_letters
    )
    extra = {
        "groups": group_report(frame),
        "restored_letters": frame.loc[restored, "source"].value_counts().sort_index().to_dict(),
        "exclusions": exclusions,
        "budgets": {
            "seed": config.data.budget_seed,
            "entries": {
                name: budget_report.get(name, {}) | budget.model_dump(mode="json")
                for name, budget in budgets.items()
            },
        },
    }
    card = build_card(
        config,
        frame,
        list(source_cards.values()),
        rows,
        duplicates,
        extra,
        time.perf_counter() - started,
    )
    card["warnings"] = warnings + card["warnings"]
    for warning in card["warnings"]:
        logger.warning(warning)
    target = config.resolve(config.data.prepared_dir)
    _write(datasets, card, target)
    logger.info("prepared data written to %s", target)
    return PreparedData(datasets=datasets, card=card, path=target, warnings=card["warnings"])


def load_prepared(config: NabizConfig, check_files: bool = False) -> DatasetDict:
    """The prepared splits of a config; a clear error if they are missing or stale.

    ``check_files`` (training) also calls them stale when a file of ``data.files`` is now another
    path or another content than the data card recorded: the fingerprint leaves locations out so
    that a model directory's config still finds its data, but a re-exported file must be read
    again before training on it. Manifest sources are checked against their sha256 when prepared.
    """
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
    if check_files:
        changed = _changed_files(config, card)
        if changed:
            raise DataSourceError(
                f"the prepared data in {path} was read from other files than config "
                f"{config.name!r} names now ({'; '.join(changed)}); run `{command}` again."
            )
    datasets = load_from_disk(str(path))
    if not isinstance(datasets, DatasetDict):
        raise DataSourceError(f"{path} holds a single Dataset, not train/validation/test splits")
    return datasets


def _changed_files(config: NabizConfig, card: dict[str, Any]) -> list[str]:
    """The config's own files whose path or sha256 differ from what the data card recorded."""
    recorded = {
        item["name"]: item for source in card.get("sources", []) for item in source["files"]
    }
    changed = []
    for spec in config.data.files:
        before = recorded.get(spec.name)
        path = config.resolve(spec.path)
        if before is None:
            changed.append(f"{spec.name}: not in the data card")
        elif before.get("path") != spec.path:
            changed.append(f"{spec.name}: {before.get('path')} → {spec.path}")
        elif not path.is_file() or file_sha256(path) != before.get("sha256"):
            changed.append(f"{spec.name}: {spec.path} changed since it was prepared")
    return changed
