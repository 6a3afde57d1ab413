"""Decision thresholds of multi-label tasks, tuned on validation: per label, the grid value with
the best F1.

Each predictor is tuned on its own scores. The encoder's sigmoids and the TF-IDF baseline's
logistic regressions sit on different scales, so a threshold tuned for one and applied to the
other compares one predictor at its best with the other at an arbitrary cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import f1_score

from nabiz.model.schema import LabelSchema

THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def best_thresholds(
    labels: Sequence[str], scores: np.ndarray, gold: np.ndarray
) -> dict[str, float]:
    """``scores`` and ``gold`` (booleans): one row per text labelled for the task, one column per
    label. Ties go to the lowest threshold."""
    thresholds = {}
    for j, label in enumerate(labels):
        f1s = [
            f1_score(gold[:, j], scores[:, j] >= threshold, zero_division=0)
            for threshold in THRESHOLD_GRID
        ]
        thresholds[label] = float(THRESHOLD_GRID[int(np.argmax(f1s))])
    return thresholds


def label_matrix(
    labels: Sequence[str], gold: Sequence[list[str] | None]
) -> tuple[list[int], np.ndarray]:
    """The rows labelled for a multi-label task, and their labels as a boolean matrix."""
    rows = [i for i, value in enumerate(gold) if value is not None]
    return rows, np.array([[label in gold[i] for label in labels] for i in rows], dtype=bool)


def tune_thresholds(
    schema: LabelSchema,
    scores: Mapping[str, np.ndarray],
    gold: Mapping[str, Sequence[list[str] | None]],
) -> LabelSchema:
    """``schema`` with each multi-label task's thresholds tuned on ``scores`` against ``gold``
    (per text, its labels, or None where the text is unlabelled for the task)."""
    tasks = []
    for task in schema.tasks:
        if task.is_multi_label:
            rows, truth = label_matrix(task.labels, gold.get(task.name, []))
            if rows:
                tuned = best_thresholds(task.labels, scores[task.name][rows], truth)
                task = task.model_copy(update={"thresholds": tuned})
        tasks.append(task)
    return LabelSchema(tasks=tasks)
