"""The base types every predictor shares, and the abstract Predictor.

This module is the bottom of the model's one-way import order: base types and the abstract
``Predictor`` (here) → the implementations (``transformer.py`` in torch, ``onnx_predictor.py`` in
ONNX Runtime, ``baseline.py``) → the mixture of two predictors (``mixture.py``) → loading
(``loading.py``, whose ``from_pretrained`` is the one way callers get a predictor for a model
directory). Nothing here knows an
implementation. Scores come in the schema's label order: softmax probabilities for single-label
and ordinal tasks, independent sigmoid scores for multi-label tasks.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from nabiz.model.calibration import Calibration
from nabiz.model.cues import CueHit, UrgencyCues
from nabiz.model.schema import LabelSchema, TaskSpec
from nabiz.model.tokenize import (
    PAD_MULTIPLE,
    EncodedTexts,
    encode_texts,
    length_sorted_batches,
    pad_arrays,
)
from nabiz.text import EMPTY_TEXT, has_visible_text, normalize_text

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
    mixture_thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Per multi-label task mixed with the baseline, its labels' decision "
        "thresholds tuned on the mixture's validation scores (schema.json keeps the "
        "transformer's own, for the transformer alone).",
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
    cues: list[str] = field(default_factory=list)  # urgency cue hits, as reasons (Turkish)


@dataclass
class ScoredBatch:
    """Raw scores for a batch: one (texts x labels) array per task, in schema label order."""

    scores: dict[str, np.ndarray]
    truncated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    cues: list[list[CueHit]] = field(default_factory=list)  # per text; empty: no cue list


def probabilities(task: TaskSpec, logits: np.ndarray) -> np.ndarray:
    """A task's logits (texts × labels) to its scores: softmax over the labels, or one sigmoid
    per label for a multi-label task (as ½(1 + tanh(x/2)), which cannot overflow). Computed in
    the logits' own float precision (at least float32): the baseline's are float64."""
    logits = np.asarray(logits, dtype=np.result_type(logits, np.float32))
    if task.is_multi_label:
        return 0.5 * (1.0 + np.tanh(0.5 * logits))
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def encode_for_model(tokenizer, info: ModelInfo, texts: Sequence[str]) -> EncodedTexts:
    """Texts as a model directory's network reads them: normalized, with its prefix, cut to its
    ``max_length`` keeping its share of head; the same for every runtime."""
    return encode_texts(
        tokenizer,
        [normalize_text(text) for text in texts],
        max_length=info.max_length or 512,
        prefix=info.text_prefix,
        head_fraction=info.head_fraction,
    )


LogitsFn = Callable[[np.ndarray, np.ndarray], Mapping[str, np.ndarray]]


def batched_scores(
    ids: Sequence[Sequence[int]],
    schema: LabelSchema,
    pad_id: int,
    batch_size: int,
    logits_of: LogitsFn,
    multiple_of: int = PAD_MULTIPLE,
    max_tokens: int | None = None,
) -> dict[str, np.ndarray]:
    """Label scores per task for encoded texts, in input order: length-sorted batches (of at most
    ``max_tokens`` padded tokens, when given) padded to a multiple of ``multiple_of`` tokens,
    ``logits_of(input_ids, mask)`` (a runtime's network: logits per task) on each, then each
    task's softmax or sigmoids."""
    scores = {t.name: np.zeros((len(ids), t.num_labels), dtype=np.float32) for t in schema.tasks}
    for batch in length_sorted_batches([len(row) for row in ids], batch_size, max_tokens):
        input_ids, mask = pad_arrays([ids[i] for i in batch], pad_id, multiple_of=multiple_of)
        logits = logits_of(input_ids, mask)
        for task in schema.tasks:
            scores[task.name][batch] = probabilities(task, logits[task.name])
    return scores


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
    calibration: Calibration | None = None  # per-task temperatures fitted on validation
    urgency_cues: UrgencyCues | None = None  # the served model's cue combiner

    @property
    def engine(self) -> str:
        """What computes the scores in this process, for people and logs (``torch bf16 on
        cpu``, ``onnxruntime fp32 on cpu``, …)."""
        return type(self).__name__

    @abstractmethod
    def compute_scores(self, texts: Sequence[str]) -> ScoredBatch:
        """The model's own scores of all labels of all tasks for each text, in input order."""

    def postprocess_scores(self, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The step between the model's scores and everyone who reads them: the calibration
        (per-task temperatures) when the model directory has one (``calibration.json``)."""
        return scores if self.calibration is None else self.calibration.apply(scores)

    def apply_cues(
        self, texts: Sequence[str], scores: dict[str, np.ndarray]
    ) -> tuple[dict[str, np.ndarray], list[list[CueHit]]]:
        """The urgency cues' combiner on calibrated scores (when the model has one), and the
        hits per text; they read the text, so they come after the scores-only step."""
        cues = self.urgency_cues
        if cues is None or cues.task not in scores:
            return scores, []
        hits = [cues.cues.hits(text) for text in texts]
        index = self.schema.task(cues.task).index(cues.label)
        return {**scores, cues.task: cues.apply(scores[cues.task], index, hits)}, hits

    def predict_scores(self, texts: Sequence[str]) -> ScoredBatch:
        """Scores of all labels of all tasks for each text, in input order."""
        batch = self.compute_scores(texts)
        scores, hits = self.apply_cues(texts, self.postprocess_scores(batch.scores))
        return ScoredBatch(scores=scores, truncated=batch.truncated, cues=hits)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Labels and scores per text, in input order. A text with nothing visible in it (only
        whitespace, control or zero-width characters) is a ``ValueError`` naming its position,
        as the API's 422 and a file row's error: its "labels" would say nothing about anyone.

        A text that occurs more than once is scored once: every part of a prediction (network,
        baseline, cues) is a function of the text alone, and real exports repeat texts ("Çok
        güzel", "Teşekkürler", a templated complaint), so the repeats cost nothing.
        """
        if isinstance(texts, str):
            raise TypeError("predict takes a sequence of texts, not one string")
        if not texts:
            return []
        empty = [i for i, text in enumerate(texts) if not has_visible_text(text)]
        if empty:
            shown = ", ".join(map(str, empty[:10])) + (", …" if len(empty) > 10 else "")
            raise ValueError(f"{EMPTY_TEXT} (positions {shown} of {len(texts)} texts)")
        position: dict[str, int] = {}
        rows = [position.setdefault(text, len(position)) for text in texts]
        batch = self.predict_scores(list(position))
        return [
            Prediction(
                tasks={
                    task.name: task_prediction(task, batch.scores[task.name][i])
                    for task in self.schema.tasks
                },
                truncated=bool(batch.truncated[i]) if len(batch.truncated) else False,
                cues=[hit.reason() for hit in batch.cues[i]] if batch.cues else [],
            )
            for i in rows
        ]

    @property
    def metrics(self) -> dict:
        """The evaluation saved with the model (empty when it has none)."""
        if self.path is None or not (self.path / METRICS_FILE).is_file():
            return {}
        return json.loads((self.path / METRICS_FILE).read_text(encoding="utf-8"))
