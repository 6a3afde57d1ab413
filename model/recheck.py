"""A fast predictor whose near ties are scored again by an exact one.

int8 (``quantize.py``) and bf16 move a text's scores by a little; that changes its answer only
where two labels were nearly tied, or a multi-label score sat on its threshold. Such texts are few
and visible in the fast scores themselves, so they are scored again by the exact predictor (fp32)
and take its answer: the served labels are then fp32's wherever the fast precision could have
changed them, at the cost of scoring the ties twice. How close counts as a tie is measured per
task, model and precision by ``nabiz quantize`` (``margins.choose_margins``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nabiz.model.margins import decision_margins
from nabiz.model.predictor import Predictor, ScoredBatch
from nabiz.model.schema import LabelSchema


def needs_recheck(
    schema: LabelSchema, scores: Mapping[str, np.ndarray], margins: Mapping[str, float]
) -> np.ndarray:
    """Which texts have some task's answer closer to a change than that task's margin."""
    measured = decision_margins(schema, scores)
    rows = len(next(iter(scores.values())))
    flagged = np.zeros(rows, dtype=bool)
    for name, margin in margins.items():
        if name in measured:
            flagged |= measured[name] < margin
    return flagged


class RecheckingPredictor(Predictor):
    """``fast``'s served scores, with the texts ``needs_recheck`` flags scored by ``exact``.

    Both are whole served predictors (mixture, calibration and urgency cues included), so the
    margins apply to the scores people see; this wrapper adds no step of its own. It speaks for
    ``fast``: schema, model info and directory are the fast one's."""

    def __init__(
        self,
        fast: Predictor,
        exact: Predictor,
        margins: Mapping[str, float],
        precision: str = "",
    ) -> None:
        unknown = sorted(set(margins) - set(fast.schema.names))
        if unknown:
            raise ValueError(f"recheck margins for tasks the schema does not have: {unknown}")
        self.fast = fast
        self.exact = exact
        self.margins = dict(margins)
        self.precision = precision  # the fast one's (int8, bf16), for people and /metrics
        self.schema = fast.schema
        self.info = fast.info
        self.path = fast.path
        self.scored = 0  # texts scored, and how many of them were rechecked: for /metrics
        self.rechecked = 0

    @property
    def engine(self) -> str:
        return f"{self.fast.engine}; near ties again in {self.exact.engine}"

    def compute_scores(self, texts: Sequence[str]) -> ScoredBatch:
        return self.predict_scores(texts)

    def predict_scores(self, texts: Sequence[str]) -> ScoredBatch:
        batch = self.fast.predict_scores(texts)
        again = np.flatnonzero(needs_recheck(self.schema, batch.scores, self.margins))
        self.scored += len(texts)
        self.rechecked += len(again)
        if not len(again):
            return batch
        exact = self.exact.predict_scores([texts[i] for i in again])
        scores = {name: values.copy() for name, values in batch.scores.items()}
        for name, values in exact.scores.items():
            scores[name][again] = values
        # Truncation and cue hits read the text alone: the same in both.
        return ScoredBatch(scores=scores, truncated=batch.truncated, cues=batch.cues)
