"""The base types every predictor shares, and the abstract Predictor.

This module is the bottom of the model's one-way import order: base types and the abstract
``Predictor`` (here) → the two implementations (``transformer.py``, ``baseline.py``) → the
mixture of two predictors (``mixture.py``) → loading (``loading.py``, whose ``from_pretrained``
is the one way callers get a predictor for a model directory). Nothing here knows an
implementation. Scores come in the schema's label order: softmax probabilities for single-label
and ordinal tasks, independent sigmoid scores for multi-label tasks.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from nabiz.model.schema import LabelSchema, TaskSpec

MODEL_INFO_FILE = "nabiz.json"
METRICS_FILE = "metrics.json"


class ModelInfo(BaseModel):
    """What a model directory says about itself (``nabiz.json``)."""

    name: str
    version: str
    model_type: Literal["transformer", "tfidf"]
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    base_model: str | None = None
    max_length: int | None = None
    text_prefix: str = ""
    head_fraction: float = 0.5
    library_versions: dict[str, str] = Field(default_factory=dict)
    baseline_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Per task, the share of the baseline's probabilities mixed into the scores "
        "(tuned on validation); empty: the transformer alone.",
    )

    def save(self, directory: str | Path) -> None:
        path = Path(directory) / MODEL_INFO_FILE
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> ModelInfo:
        path = Path(directory) / MODEL_INFO_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{directory} is not a Nabız model directory (no {MODEL_INFO_FILE}); "
                "train one with `nabiz train` or pass --model"
            )
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


@dataclass
class TaskPrediction:
    """One task's answer for one text."""

    label: str  # the top-scoring label
    scores: dict[str, float]  # every label, in schema order
    labels: list[str]  # single-label: [label]; multi-label: every label over its threshold


@dataclass
class Prediction:
    tasks: dict[str, TaskPrediction]
    truncated: bool = False


@dataclass
class ScoredBatch:
    """Raw scores for a batch: one (texts x labels) array per task, in schema label order."""

    scores: dict[str, np.ndarray]
    truncated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def task_prediction(task: TaskSpec, row: np.ndarray) -> TaskPrediction:
    top = task.labels[int(np.argmax(row))]
    scores = {label: float(score) for label, score in zip(task.labels, row, strict=True)}
    if task.is_multi_label:
        chosen = [label for label in task.labels if scores[label] >= task.threshold(label)]
    else:
        chosen = [top]
    return TaskPrediction(label=top, scores=scores, labels=chosen)


class Predictor(ABC):
    """Tags texts with every task of its schema.

    An implementation provides :meth:`compute_scores`; callers use :meth:`predict_scores` (raw
    scores after :meth:`postprocess_scores`) or :meth:`predict` (labels). Post-processing is one
    step on the scores of every task that every predictor goes through, so that a correction of
    the scores (per-task calibration, say) is applied once, wherever the predictor is used.
    """

    schema: LabelSchema
    info: ModelInfo
    path: Path | None = None

    @abstractmethod
    def compute_scores(self, texts: Sequence[str]) -> ScoredBatch:
        """The model's own scores of all labels of all tasks for each text, in input order."""

    def postprocess_scores(self, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The step between the model's scores and everyone who reads them; none yet."""
        return scores

    def predict_scores(self, texts: Sequence[str]) -> ScoredBatch:
        """Scores of all labels of all tasks for each text, in input order."""
        batch = self.compute_scores(texts)
        return ScoredBatch(scores=self.postprocess_scores(batch.scores), truncated=batch.truncated)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Labels and scores per text, in input order."""
        if isinstance(texts, str):
            raise TypeError("predict takes a sequence of texts, not one string")
        if not texts:
            return []
        batch = self.predict_scores(texts)
        return [
            Prediction(
                tasks={
                    task.name: task_prediction(task, batch.scores[task.name][i])
                    for task in self.schema.tasks
                },
                truncated=bool(batch.truncated[i]) if len(batch.truncated) else False,
            )
            for i in range(len(texts))
        ]

    @property
    def metrics(self) -> dict:
        """The evaluation saved with the model (empty when it has none)."""
        if self.path is None or not (self.path / METRICS_FILE).is_file():
            return {}
        return json.loads((self.path / METRICS_FILE).read_text(encoding="utf-8"))
