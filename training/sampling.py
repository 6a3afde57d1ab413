"""Which rows enter the prepared data: evaluation sets kept out, per-source row budgets and weights.

* ``data.exclude`` names files of upstream ids (``id_column`` values) of rows that belong to an
  evaluation set labelled elsewhere (the hand-labelled VakıfBank urgency set). Those rows, and every
  row in their split group (near duplicates, the same title), are dropped before deduplication and
  splitting, so the evaluation texts never reach training, validation or test.
* ``data.budgets`` caps a source's rows (after deduplication) by sampling stratified on the
  stratification task, seeded: ``proportional`` keeps the label shares, ``equal`` takes the same
  number per label where there are enough. Which rows are taken depends only on the seed and the
  texts, not on file order. A budget's ``weight`` becomes the rows' ``weight`` column, for the loss.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from nabiz.tabular import TableReadError, is_blank, read_table
from nabiz.training.config import Exclusion, SourceBudget
from nabiz.training.manifest import PART_SEPARATOR, DataSourceError


def read_excluded_ids(exclusion: Exclusion, path: Path) -> set[str]:
    """The ids an exclusion file lists, as text."""
    try:
        table = read_table(path)
    except TableReadError as error:
        raise DataSourceError(f"data.exclude ({exclusion.source!r}): {error}") from error
    if exclusion.column not in table.columns:
        raise DataSourceError(
            f"data.exclude ({exclusion.source!r}): {path} has no column {exclusion.column!r}; "
            f"its columns are {[c for c in table.columns if not c.startswith('_')]}."
        )
    ids = {str(value).strip() for value in table[exclusion.column] if not is_blank(value)}
    if not ids:
        raise DataSourceError(f"data.exclude ({exclusion.source!r}): {path} lists no ids")
    return ids


def _belongs(part: str, name: str) -> bool:
    return part == name or part.startswith(name + PART_SEPARATOR)


def excluded_rows(frame: pd.DataFrame, source: str, ids: set[str]) -> pd.Series:
    """Rows of ``source`` (a group or part name) whose upstream id is in ``ids``."""
    of_source = frame["_part"].map(lambda part: _belongs(part, source))
    return of_source & frame["_source_id"].isin(ids)


def budget_for(part: str, budgets: dict[str, SourceBudget]) -> tuple[str | None, SourceBudget]:
    """The budget entry that applies to a manifest entry or file: its own, else its group's."""
    if part in budgets:
        return part, budgets[part]
    group = part.split(PART_SEPARATOR, 1)[0]
    if group in budgets:
        return group, budgets[group]
    return None, SourceBudget()


def _allocate(sizes: dict[str, int], rows: int, strategy: str) -> dict[str, int]:
    """Rows to take per label: proportional (largest remainder) or equal (water-filling)."""
    total = sum(sizes.values())
    if rows >= total:
        return dict(sizes)
    if strategy == "equal":
        quota = dict.fromkeys(sizes, 0)
        left = rows
        open_labels = sorted(sizes, key=lambda label: (sizes[label], label))
        while left and open_labels:
            share = left // len(open_labels)
            if share == 0:  # fewer rows left than labels: one each, in label order
                for label in sorted(open_labels)[:left]:
                    quota[label] += 1
                break
            for label in list(open_labels):
                take = min(share, sizes[label] - quota[label])
                quota[label] += take
                left -= take
                if quota[label] == sizes[label]:
                    open_labels.remove(label)
        return quota
    exact = {label: size * rows / total for label, size in sizes.items()}
    quota = {label: int(value) for label, value in exact.items()}
    by_remainder = sorted(exact, key=lambda label: (-(exact[label] - quota[label]), label))
    for label in by_remainder[: rows - sum(quota.values())]:
        quota[label] += 1
    return quota


def apply_budgets(
    frame: pd.DataFrame,
    budgets: dict[str, SourceBudget],
    stratify: pd.Series,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """The rows each budget keeps, with a ``weight`` column; and per budget entry its counts.

    ``stratify`` holds each row's stratification bucket (see ``splits.bucket_label``) and
    ``frame`` a ``_key`` column (the text's dedupe key) that orders the seeded draw.
    """
    entries = frame["_part"].map(lambda part: budget_for(part, budgets)[0])
    weights = []
    for part, label in zip(frame["_part"].tolist(), stratify.tolist(), strict=True):
        budget = budget_for(part, budgets)[1]
        weights.append(float(budget.weight * budget.label_weights.get(label, 1.0)))
    frame = frame.assign(weight=pd.Series(weights, index=frame.index, dtype=float))
    keep = pd.Series(True, index=frame.index)
    report: dict[str, dict[str, int]] = {}
    for name in sorted(entry for entry in entries.dropna().unique()):
        budget = budgets[name]
        members = frame.index[entries == name]
        report[name] = {"available": len(members), "kept": len(members)}
        if budget.rows is None or budget.rows >= len(members):
            continue
        labels = stratify.loc[members]
        quota = _allocate(labels.value_counts().to_dict(), budget.rows, budget.stratify)
        draw = frame.loc[members, "_key"].map(
            lambda key: hashlib.blake2b(f"{seed}\x1f{key}".encode(), digest_size=8).hexdigest()
        )
        for label, take in quota.items():
            ranked = draw[labels == label].sort_values(kind="stable").index
            keep.loc[ranked[take:]] = False
        report[name]["kept"] = int(keep.loc[members].sum())
    return frame.loc[keep], report
