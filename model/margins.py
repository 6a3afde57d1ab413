"""How far a text's scores are from changing its answer: the measure of a near tie.

A small perturbation of the scores (int8 instead of fp32) changes an answer only where two
labels are nearly tied or a multi-label score sits on its threshold; ``recheck.py`` scores such
texts again exactly, and ``quantize.choose_margins`` measures how near is near.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nabiz.model.schema import LabelSchema, TaskSpec


def thresholds(task: TaskSpec) -> np.ndarray:
    """A multi-label task's decision threshold per label, in label order."""
    return np.array([task.threshold(label) for label in task.labels])


def top_labels(task: TaskSpec, scores: np.ndarray) -> np.ndarray:
    """What a task answers per text, as integers (texts × k): its top label and, for a
    multi-label task, whether each label is over its threshold (``task_prediction``'s two)."""
    top = scores.argmax(axis=1)[:, None]
    if not task.is_multi_label:
        return top
    return np.concatenate([top, (scores >= thresholds(task)).astype(top.dtype)], axis=1)


def decision_margins(
    schema: LabelSchema, scores: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Per task and text, how far the scores are from changing the answer: the top score minus
    the second, and for a multi-label task also the nearest score's distance to its threshold."""
    margins = {}
    for task in schema.tasks:
        values = scores[task.name]
        ordered = np.sort(values, axis=1)
        margin = ordered[:, -1] - ordered[:, -2]  # a task has at least two labels
        if task.is_multi_label:
            margin = np.minimum(margin, np.abs(values - thresholds(task)).min(axis=1))
        margins[task.name] = margin
    return margins
