"""Post-hoc calibration: one temperature per task, fitted on validation, applied to the scores.

The priority multiplies probabilities, so a score of 0.8 must be right about 80 % of the time.
Class-weighted training and the baseline mixture both bend the probabilities; a temperature per
task, fitted by minimizing the negative log-likelihood on the validation split (Guo et al., 2017),
straightens them without changing which label ranks first, so accuracy and macro-F1 stay as they
are. It works on the final probabilities (``softmax(log p / T)``, which equals dividing the
logits by T), so it applies alike to the transformer, the baseline and their mixture.

Multi-label tasks keep T = 1: their thresholds were tuned on the uncalibrated scores.

``calibration.json`` in a model directory holds one temperature set per way of scoring
(``nabiz``: the served mixture; ``transformer``: the encoder alone; ``baseline``), because each
bends its probabilities differently.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from nabiz.model.schema import LabelSchema, TaskSpec

CALIBRATION_FILE = "calibration.json"
_EPS = 1e-12


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)`` row by row: T > 1 softens, T < 1 sharpens, T = 1 is the identity."""
    if temperature == 1.0:
        return probs
    z = np.log(np.clip(probs, _EPS, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(probs.dtype, copy=False)


def _nll(probs: np.ndarray, gold: np.ndarray) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(gold)), gold], _EPS, 1.0)).mean())


def fit_temperature(probs: np.ndarray, gold: np.ndarray) -> float:
    """The temperature (0.05..20) that minimizes the negative log-likelihood of ``gold``."""
    # imported here: SciPy's optimize package took ~0.6 s of every start of a server or of
    # `nabiz predict`, which only apply temperatures (BENCHMARKS.md §9)
    from scipy.optimize import minimize_scalar

    if len(gold) == 0:
        return 1.0
    result = minimize_scalar(
        lambda log_t: _nll(apply_temperature(probs, float(np.exp(log_t))), gold),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
    )
    return float(np.exp(result.x))


def calibrated_nll(probs: np.ndarray, gold: np.ndarray) -> float:
    """The negative log-likelihood of ``gold`` once ``probs`` get their own fitted temperature:
    how good the scores are as probabilities after the calibration the product applies."""
    return _nll(apply_temperature(probs, fit_temperature(probs, gold)), gold)


def gold_indices(task: TaskSpec, gold: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """The rows that have a gold label, and those labels' indices in the task."""
    rows = np.array([i for i, value in enumerate(gold) if value is not None], dtype=int)
    return rows, np.array([task.index(gold[i]) for i in rows], dtype=int)


class Calibration(BaseModel):
    """Per task, the temperature that the scores are divided by (in log space)."""

    method: str = "temperature"
    temperatures: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def fit(
        cls, schema: LabelSchema, scores: dict[str, np.ndarray], gold: dict[str, Sequence]
    ) -> Calibration:
        temperatures = {}
        for task in schema.tasks:
            if task.is_multi_label:
                continue
            rows, y = gold_indices(task, gold[task.name])
            if len(rows):
                temperatures[task.name] = round(fit_temperature(scores[task.name][rows], y), 4)
        return cls(temperatures=temperatures)

    def apply(self, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {
            name: apply_temperature(values, self.temperatures.get(name, 1.0))
            for name, values in scores.items()
        }


def save_calibration(directory: str | Path, variant: str, calibration: Calibration) -> None:
    """Add (or replace) one way of scoring's calibration in ``calibration.json``."""
    path = Path(directory) / CALIBRATION_FILE
    tree = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    tree[variant] = calibration.model_dump()
    path.write_text(json.dumps(tree, indent=2) + "\n", encoding="utf-8")


def load_calibration(directory: str | Path, variant: str) -> Calibration | None:
    """The calibration of ``variant`` saved in the model directory, or None (uncalibrated)."""
    path = Path(directory) / CALIBRATION_FILE
    if not path.is_file():
        return None
    tree = json.loads(path.read_text(encoding="utf-8"))
    return Calibration.model_validate(tree[variant]) if variant in tree else None
