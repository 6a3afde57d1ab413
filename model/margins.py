"""How far a text's scores are from changing its answer: the measure of a near tie.

A small perturbation of the scores (int8 or bf16 instead of fp32) changes an answer only where
two labels are nearly tied or a multi-label score sits on its threshold; ``recheck.py`` scores
such texts again exactly, and :func:`choose_margins` measures how near is near.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nabiz.model.schema import LabelSchema, TaskSpec


def thresholds(task: TaskSpec) -> np.ndarray:
    """A multi-label task's decision threshold per label, in label order."""
    return np.array([task.threshold(label) for label in task.labels])


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


SHIFT_QUANTILE = 0.99  # the share of texts whose largest score shift a margin must cover …
SHIFT_FACTOR = 2.0  # … twice: the top label may fall by as much as the second rises


def choose_margins(
    schema: LabelSchema,
    reference: Mapping[str, np.ndarray],
    fast: Mapping[str, np.ndarray],
    quantile: float = SHIFT_QUANTILE,
    factor: float = SHIFT_FACTOR,
) -> dict[str, float]:
    """Per task, the margin below which the fast precision's answer is scored again exactly.

    ``reference`` and ``fast`` are the served scores of the same texts, exact and fast. How far
    the fast precision moves a text's scores (its largest change over the labels) is measured on
    every text; an answer can change only where the top two labels (or a score and its
    threshold) lie closer than the two shifts together, so the margin is ``factor`` × the
    ``quantile`` of those shifts. This uses every text, not only the few whose answer happened to
    change (the widest of those decided the margin at first: one text, a noisy figure), and it
    gives a task that no measured text changed a margin all the same (BENCHMARKS.md §9)."""
    return {
        task.name: factor
        * float(np.quantile(np.abs(fast[task.name] - reference[task.name]).max(axis=1), quantile))
        for task in schema.tasks
    }


def label_agreement(
    reference: Mapping[str, np.ndarray], other: Mapping[str, np.ndarray]
) -> dict[str, float]:
    """Per task, the share of texts whose top label is the same in both score sets."""
    return {
        name: float((ref.argmax(axis=1) == other[name].argmax(axis=1)).mean())
        for name, ref in reference.items()
    }
