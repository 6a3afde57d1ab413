"""Deduplication and leak-free splitting.

Three keys per text:

* ``dedupe_key`` — normalized, Turkish-lowercased: **exact duplicates**, kept once.
* ``near_duplicate_key`` — also without punctuation, digits, @mentions, URLs and symbols: **near
  duplicates**, kept once as well (``data.dedupe.near_duplicates``).
* the **split group** — texts that must share a split although they differ: şikayetvar complaints
  with the same title (``title_column``), and rows whose body is a template that recurs in at least
  ``data.dedupe.template_min_rows`` rows ("Teşekkürler."; ``body_column``). A row has one group
  key: its template body if it has one, else its title, else its near-duplicate key; rows whose
  near-duplicate keys are equal are joined into one group as well (union-find), so a duplicate
  removed later cannot link two splits.

Why one key per row rather than joining every row that shares a title *or* a template body: on the
BilgenAI thank-you notes, joining both chains 2,666 of 4,475 notes into a single group (titles link
bodies link titles), which no split can hold. With a template body taking precedence over the
title, the largest group is the 511 "Teşekkürler" notes; the data card reports how many titles
still occur in more than one split.

When duplicates are merged, the first row (source order, then file order) is kept; its label for
each task becomes the most frequent label among the rows of the highest ``label_priority`` that
have one (ties: the earliest), so a duplicate may fill a label the first row lacks.

Splits are made per group: within each (source, stratification label) bucket, groups are laid
end to end in the order of a seeded hash of their key, and the rows are cut at the target counts
(test first, then validation, half-up rounding; train keeps at least one row); a group goes where
its middle row falls; a group larger than the test and validation targets goes to train and takes
no place in the order. With groups of one row this is an exact stratified split. Why cut a hash
order rather than fill the split furthest below target: a group's place in the order depends on
its own key only, so a changed, added or removed text moves the groups at the cuts, a row or two,
and no others. (Filling by deficit gave each group its split by its position in the order, and 13
texts whose numbers were newly masked moved 906 of 2,025 brain_tr test texts.)
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from typing import Any

import pandas as pd

from nabiz.model.schema import TaskSpec
from nabiz.text import near_duplicate_key

SPLITS = ("train", "validation", "test")
UNLABELLED = "(unlabelled)"


def _seeded_hash(seed: int, key: str) -> str:
    return hashlib.blake2b(f"{seed}\x1f{key}".encode(), digest_size=8).hexdigest()


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, first: str, second: str) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            self.parent[max(a, b)] = min(a, b)  # the smaller key names the group: order-free


def optional_key(value: Any) -> str | None:
    """The near-duplicate key of a title or body cell; ``None`` for a missing or blank one."""
    return near_duplicate_key(value) if isinstance(value, str) and value.strip() else None


def split_groups(frame: pd.DataFrame, template_min_rows: int) -> pd.Series:
    """The split group of every row (see the module docstring); needs ``_near``, ``_title_key``
    (:func:`optional_key` of each title, which the data card reads too) and ``_body``."""
    bodies = [optional_key(body) for body in frame["_body"].tolist()]  # not Series.map: it turns
    titles = frame["_title_key"].tolist()  # None into NaN
    body_rows = Counter(body for body in bodies if body)
    own: list[str] = []
    for near, title, body in zip(frame["_near"], titles, bodies, strict=True):
        if body and body_rows[body] >= template_min_rows:
            own.append(f"body:{body}")
        elif title:
            own.append(f"title:{title}")
        else:
            own.append(f"text:{near}")
    groups = _UnionFind()
    for near, key in zip(frame["_near"], own, strict=True):
        groups.union(f"text:{near}", key)
    return pd.Series([groups.find(key) for key in own], index=frame.index, dtype=object)


def merge_duplicates(
    frame: pd.DataFrame, tasks: list[TaskSpec], key: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Keep the first row of each ``key`` group, with each task's merged label; and counts."""
    positions: dict[Any, list[int]] = defaultdict(list)
    for position, value in enumerate(frame[key].tolist()):
        positions[value].append(position)
    repeated = [members for members in positions.values() if len(members) > 1]
    sources = frame["source"].tolist()
    priority = frame["_priority"].tolist() if "_priority" in frame else [0] * len(frame)
    merged = {task.name: frame[task.name].tolist() for task in tasks}
    conflicts: Counter[str] = Counter()
    cross_source = 0
    for members in repeated:
        if len({sources[m] for m in members}) > 1:
            cross_source += 1
        for task in tasks:
            values = merged[task.name]
            labelled = [m for m in members if values[m] is not None]
            if not labelled:
                continue
            as_key = [tuple(v) if isinstance(v, list) else v for v in (values[m] for m in labelled)]
            if len(set(as_key)) > 1:
                conflicts[task.name] += 1
            top = max(priority[m] for m in labelled)
            votes = Counter(k for m, k in zip(labelled, as_key, strict=True) if priority[m] == top)
            winner = votes.most_common(1)[0][0]  # ties: the earliest, as Counter keeps order
            values[members[0]] = list(winner) if isinstance(winner, tuple) else winner
    dropped = {m for members in repeated for m in members[1:]}
    result = frame.copy()
    for name, values in merged.items():
        result[name] = pd.Series(values, index=frame.index, dtype=object)
    keep = [position not in dropped for position in range(len(frame))]
    stats = {
        "groups": len(repeated),
        "rows_removed": len(dropped),
        "cross_source_groups": cross_source,
        "label_conflicts": {task.name: conflicts[task.name] for task in tasks},
    }
    return result.loc[keep], stats


def bucket_label(value: Any) -> str:
    """A label (or list of labels, or ``None``) as one stratification bucket name."""
    if value is None:
        return UNLABELLED
    return "|".join(value) if isinstance(value, list) else str(value)


def _half_up(value: float) -> int:
    return int(value + 0.5)


def _targets(n: int, validation: float, test: float) -> dict[str, int]:
    n_test, n_validation = _half_up(n * test), _half_up(n * validation)
    while n_test + n_validation >= n and (n_test or n_validation):
        if n_test >= n_validation:
            n_test -= 1
        else:
            n_validation -= 1
    return {"test": n_test, "validation": n_validation, "train": n - n_test - n_validation}


def assign_splits(
    keys: pd.Series,
    buckets: pd.Series,
    validation: float,
    test: float,
    seed: int,
    groups: pd.Series | None = None,
) -> pd.Series:
    """``train``/``validation``/``test`` per row, stratified by bucket; a group never straddles.

    ``groups`` defaults to ``keys`` (every distinct key its own group). A group's bucket is its
    first row's.
    """
    groups = keys if groups is None else groups
    first_bucket: dict[Any, Any] = {}
    sizes: Counter[Any] = Counter()
    for group, bucket in zip(groups.tolist(), buckets.tolist(), strict=True):
        first_bucket.setdefault(group, bucket)
        sizes[group] += 1
    per_bucket: dict[Any, list[Any]] = defaultdict(list)
    for group, bucket in first_bucket.items():
        per_bucket[bucket].append(group)
    chosen: dict[Any, str] = {}
    for members in per_bucket.values():
        targets = _targets(sum(sizes[g] for g in members), validation, test)
        test_end = targets["test"]
        validation_end = test_end + targets["validation"]
        too_large = max(targets["test"], targets["validation"])
        before = 0
        for group in sorted(members, key=lambda g: (_seeded_hash(seed, str(g)), str(g))):
            if sizes[group] > too_large:  # it would overfill either split: train, out of the cut
                chosen[group] = "train"
                continue
            middle = before + sizes[group] / 2
            if middle < test_end:
                chosen[group] = "test"
            elif middle < validation_end:
                chosen[group] = "validation"
            else:
                chosen[group] = "train"
            before += sizes[group]
    return pd.Series([chosen[g] for g in groups.tolist()], index=keys.index, dtype=object)
