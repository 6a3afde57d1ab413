"""A mixture of two predictors of the same schema: the served model is the fine-tuned transformer
mixed with the TF-IDF baseline trained on the same split.

The two models err differently (character n-grams catch misspellings and brand names the
fine-tuned encoder has seen too rarely), so their average is better than either. The mixture
knows neither implementation: it takes any two predictors, and refuses them unless they score the
same tasks with the same labels in the same order, since a mixture of two differently ordered
score vectors would be silently wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nabiz.model.predictor import Predictor, ScoredBatch
from nabiz.model.schema import LabelSchema


class SchemaMismatch(ValueError):
    """Two predictors that do not score the same tasks and labels cannot be mixed."""


def schema_disagreements(first: LabelSchema, second: LabelSchema) -> list[str]:
    """Where two schemas differ in what they score (tasks, kinds, labels and their order).

    Decision thresholds of multi-label tasks may differ: they are tuned on one model's scores and
    the mixture uses the first predictor's."""
    if first.names != second.names:
        return [f"tasks {first.names} vs {second.names}"]
    problems = []
    for a, b in zip(first.tasks, second.tasks, strict=True):
        if a.kind != b.kind:
            problems.append(f"task {a.name!r}: kind {a.kind.value} vs {b.kind.value}")
        if a.labels != b.labels:
            problems.append(f"task {a.name!r}: labels {a.labels} vs {b.labels}")
    return problems


def mix_scores(
    first: Mapping[str, np.ndarray], second: Mapping[str, np.ndarray], weights: Mapping[str, float]
) -> dict[str, np.ndarray]:
    """Per task, ``(1 - w)·first + w·second``, ``w`` the task's weight (0 when it has none).

    Two calibrated probability vectors mixed this way stay probability vectors."""
    return {
        name: (1 - weights.get(name, 0.0)) * values + weights.get(name, 0.0) * second[name]
        for name, values in first.items()
    }


class MixturePredictor(Predictor):
    """``(1 - w)·first + w·second`` per task; ``w`` (the second's share) tuned on validation.

    The mixture speaks for the first predictor: its schema, model info and directory are the
    first's, with the multi-label thresholds given in ``thresholds`` (tuned on the mixture's
    own scores) in place of the first's."""

    def __init__(
        self,
        first: Predictor,
        second: Predictor,
        weights: Mapping[str, float],
        thresholds: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        problems = schema_disagreements(first.schema, second.schema)
        if problems:
            raise SchemaMismatch(
                "cannot mix two predictors that score different things: " + "; ".join(problems)
            )
        thresholds = thresholds or {}
        unknown = sorted((set(weights) | set(thresholds)) - set(first.schema.names))
        if unknown:
            raise ValueError(f"weights or thresholds for tasks the schema does not have: {unknown}")
        outside = {name: w for name, w in weights.items() if not 0.0 <= w <= 1.0}
        if outside:
            raise ValueError(f"a mixture weight is a share from 0 to 1, not {outside}")
        self.first = first
        self.second = second
        self.weights = dict(weights)
        self.schema = first.schema
        if thresholds:
            self.schema = LabelSchema(
                tasks=[
                    task.model_copy(update={"thresholds": dict(thresholds[task.name])})
                    if task.name in thresholds
                    else task
                    for task in first.schema.tasks
                ]
            )
        self.info = first.info
        self.path = first.path

    @property
    def engine(self) -> str:
        return f"{self.first.engine}, mixed with {self.second.engine}"

    def combine(
        self, first: Mapping[str, np.ndarray], second: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """The two predictors' scores for the same texts, mixed; shapes must agree."""
        for task in self.schema.tasks:
            a, b = first[task.name], second[task.name]
            if a.shape != b.shape or a.shape[-1] != task.num_labels:
                raise ValueError(
                    f"task {task.name!r}: the two predictors gave scores of shapes {a.shape} and "
                    f"{b.shape} for the same texts"
                )
        return mix_scores(first, second, self.weights)

    def compute_scores(self, texts: Sequence[str]) -> ScoredBatch:
        first = self.first.predict_scores(texts)
        second = self.second.predict_scores(texts)
        truncated = first.truncated
        if len(second.truncated):
            truncated = (truncated | second.truncated) if len(truncated) else second.truncated
        return ScoredBatch(scores=self.combine(first.scores, second.scores), truncated=truncated)
