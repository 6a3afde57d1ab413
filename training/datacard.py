"""The data card: what the prepared data holds, where it came from, and what preparation removed.

``data_card.json`` is for programs (the model card reads its sources, licences and counts);
``data_card.md`` is the same for people. Row counts per source add up:
``read = malformed + aggregated + unlabelled + filtered + empty_text + excluded + duplicate +
near_duplicate + over_budget + kept``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from nabiz.model.schema import TaskSpec
from nabiz.training.config import NabizConfig
from nabiz.training.splits import SPLITS, UNLABELLED
from nabiz.training.tables import markdown_table

CARD_JSON = "data_card.json"
CARD_MD = "data_card.md"
ROW_COUNTS = (
    "read",
    "malformed",
    "aggregated",
    "unlabelled",
    "filtered",
    "empty_text",
    "excluded",
    "duplicate",
    "near_duplicate",
    "over_budget",
    "kept",
)


def fingerprint(config: NabizConfig) -> str:
    """Hash of what decides the prepared data: tasks and labels, sources, columns, split, budgets.

    File locations and provenance are left out, so a config saved into a model directory with
    absolute paths still matches the data it was prepared from.
    """
    data = config.data.model_dump(mode="json", exclude={"prepared_dir", "min_class_examples"})
    provenance = ("path", "sha256", "upstream_repo", "upstream_path", "licence", "attribution")
    for item in data["files"]:
        for key in (*provenance, "notes"):
            item.pop(key, None)
    for item in data["exclude"]:
        item.pop("file", None)
        item.pop("reason", None)
    tree = {
        "tasks": [
            {"name": task.name, "kind": task.kind.value, "labels": task.labels}
            for task in config.tasks
        ],
        "data": data,
    }
    return hashlib.sha256(json.dumps(tree, sort_keys=True).encode()).hexdigest()[:16]


def label_counts(frame: pd.DataFrame, task: TaskSpec) -> dict[str, int]:
    """Rows per label of one task (a multi-label row counts once per label), and unlabelled."""
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


def group_report(frame: pd.DataFrame) -> dict[str, Any]:
    """Split groups of more than one row, the largest, and titles still found in two splits."""
    sizes = frame.groupby("_group").size()
    titled = frame.dropna(subset=["_title_key"])
    spread = titled.groupby("_title_key")["split"].nunique()
    return {
        "multi_row_groups": int((sizes > 1).sum()),
        "rows_in_multi_row_groups": int(sizes[sizes > 1].sum()),
        "largest_group": int(sizes.max()) if len(sizes) else 0,
        "groups_crossing_splits": int((frame.groupby("_group")["split"].nunique() > 1).sum()),
        "titles_in_several_splits": int((spread > 1).sum()),
    }


def build_card(
    config: NabizConfig,
    frame: pd.DataFrame,
    sources: list[dict[str, Any]],
    rows: dict[str, dict[str, int]],
    duplicates: dict[str, Any],
    extra: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    """The card as a JSON-ready dict. ``extra`` adds sections (budgets, exclusions, groups)."""
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
                "all": label_counts(frame[frame["split"] == split], task),
                **{
                    name: label_counts(
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
        f"examples, fewer than data.min_class_examples={minimum}; map its raw values onto "
        "another label (the source's `map:` or map file) or add data"
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
        **extra,
        "splits": splits,
        "label_counts": labels,
        "small_classes": small,
        "warnings": warnings,
    }


def _table(header: list[str], body: list[list[Any]]) -> list[str]:
    return [*markdown_table(header, body), ""]


def source_table(card: dict[str, Any]) -> list[str]:
    """Markdown rows: each source with its licence, attribution, rows kept and loss weight (the
    model card shows this table too)."""
    body = []
    for source in card["sources"]:
        kept = card["rows"].get(source["name"], {}).get("kept", 0)
        body.append(
            [
                source["name"],
                source.get("upstream_repo") or "",
                source.get("licence") or "",
                source.get("attribution") or "",
                kept,
                ", ".join(f"{k} {v}" for k, v in sorted(source.get("weights", {}).items())),
            ]
        )
    return _table(["source", "upstream", "licence", "attribution", "rows kept", "weight"], body)


def card_markdown(card: dict[str, Any]) -> str:
    """The data card as Markdown, for people."""
    lines = [
        f"# Data card: {card['name']} {card['version']}",
        "",
        f"Prepared {card['prepared_at']} in {card['seconds']} s; fingerprint "
        f"`{card['fingerprint']}`. Split validation {card['split']['validation']}, test "
        f"{card['split']['test']}, seed {card['split']['seed']}, stratified per source on "
        f"`{card['split']['stratify']}`. Exact duplicates (same text after normalization and "
        "Turkish lowercasing) and near duplicates (also without punctuation, digits, @mentions, "
        "URLs and symbols) are kept once, with each task's most frequent label; related texts "
        "(a shared şikayetvar title or templated body) share a split.",
        "",
    ]
    if card["warnings"]:
        lines += ["## Warnings", "", *[f"- {warning}" for warning in card["warnings"]], ""]
    lines += ["## Sources", "", *source_table(card), "### Files", ""]
    body = []
    for source in card["sources"]:
        for item in source["files"]:
            body.append(
                [
                    item["name"],
                    f"`{item['path']}`",
                    item["rows_read"],
                    item.get("ambiguous", 0),
                    item.get("mixed", 0),
                    f"`{item['sha256'][:12]}…`",
                ]
            )
    header = ["file", "mirror path", "rows", "ambiguous texts", "mixed texts", "sha256"]
    lines += _table(header, body)
    lines += ["## Rows", ""]
    header = ["source", *(key.replace("_", " ") for key in ROW_COUNTS)]
    body = [
        [name, *(counts.get(key, 0) for key in ROW_COUNTS)] for name, counts in card["rows"].items()
    ]
    lines += _table(header, body)
    duplicates = card["duplicates"]
    for kind in ("exact", "near"):
        item = duplicates.get(kind)
        if item:
            lines.append(
                f"- {kind} duplicates: {item['groups']} texts occurred more than once "
                f"({item['cross_source_groups']} across sources), {item['rows_removed']} rows "
                f"removed; label conflicts: {item['label_conflicts']}."
            )
    restored = card.get("restored_letters")
    if restored:
        per_source = ", ".join(f"{name} {count:,}" for name, count in restored.items())
        lines.append(
            f"- Turkish letters restored (written as ASCII capitals, or typed without them): "
            f"{sum(restored.values()):,} kept texts ({per_source}); `text_original` keeps them "
            "as written."
        )
    groups = card.get("groups")
    if groups:
        lines.append(
            f"- split groups: {groups['multi_row_groups']} groups of several rows "
            f"({groups['rows_in_multi_row_groups']} rows, the largest {groups['largest_group']}); "
            f"groups crossing splits: {groups['groups_crossing_splits']}; titles still found in "
            f"several splits: {groups['titles_in_several_splits']}."
        )
    for item in card.get("exclusions", []):
        lines.append(
            f"- excluded ({item['reason'] or 'evaluation set'}): {item['ids']} ids of "
            f"{item['source']} from `{item['file']}`, {item['rows']} rows with their groups."
        )
    lines += ["", "## Splits", ""]
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
