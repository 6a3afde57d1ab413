"""Urgency cues: a transparent list of phrases whose hits move P(yuksek).

Urgency labels exist only for telecom texts, but what makes a complaint urgent is much the same in
every sector: money taken or blocked, fraud, a legal threat, health or safety, a service down for
days, a threat to leave. The cue list (``data/urgency_cues.yaml``) names those phrases. Each cue
group a text hits adds ``weight`` to the log-odds of the model's P(yuksek); the other urgency
labels keep their proportions.

How much weight cannot be learnt from the labels at hand: brain_tr's telecom severity labels are
most of validation, and given the model's score the cue phrases add nothing there (a logistic fit
gave them a negative weight; on the 2,066 validation texts of the default model every weight above
0 raises the log-loss of P(yuksek)). What validation can say is how much weight the in-domain
labels tolerate: the weight is the largest whose validation log-loss of P(yuksek) stays within
``max_validation_cost`` (5 %) of the log-loss without cues. A log-loss moves smoothly with the
weight and with the model's scores, so the weight does too; macro-F1, used before, moves by whole
texts and chose 0.75, 0.25 and 0 in three runs of one configuration. A sector with its own
urgency labels fits the weight on them instead (``nabiz fit-cues --data``): the weight, and an
intercept, under which they are most likely. The cue file may also fix it (``weight``). The
model's own log-odds keep their calibrated scale (coefficient 1; no intercept but a sector's).

The model directory keeps a copy of the cue list with its weight (``urgency_cues.json``), so a
saved model scores the same however the data file changes later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, Field, PrivateAttr, field_validator

from nabiz.text import normalize_text, turkish_lower

CUES_FILE = "urgency_cues.json"
_EPS = 1e-6
WEIGHT_GRID = tuple(np.round(np.arange(0, 3.0001, 0.05), 2).tolist())


class CueGroup(BaseModel):
    title: str = Field(description="Shown in the priority's reasons.")
    patterns: list[str] = Field(min_length=1)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"cue pattern {pattern!r} is not a regular expression: {exc}"
                ) from None
        return patterns


@dataclass(frozen=True)
class CueHit:
    group: str
    title: str
    matched: str

    def reason(self) -> str:
        return f"aciliyet işareti: {self.title} («{self.matched}»)"


class CueList(BaseModel):
    """Named groups of patterns; a text hits a group when one of its patterns matches."""

    version: int = 1
    groups: dict[str, CueGroup] = Field(min_length=1)
    weight: float | None = Field(
        default=None,
        ge=0,
        description="Log-odds one cue group hit adds to P(yuksek); none: chosen on labels "
        "(see UrgencyCues.fit).",
    )
    max_validation_cost: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="How much the cues may raise the validation log-loss of P(yuksek), as a "
        "share of the log-loss without them.",
    )
    _compiled: dict[str, re.Pattern] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context) -> None:
        self._compiled = {
            name: re.compile("|".join(f"(?:{p})" for p in group.patterns))
            for name, group in self.groups.items()
        }

    @classmethod
    def load(cls, path: str | Path) -> CueList:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"urgency cue file {path} does not exist")
        return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))

    def hits(self, text: str) -> list[CueHit]:
        """The groups a text hits, each with the first phrase that matched."""
        lowered = turkish_lower(normalize_text(text))
        found = []
        for name, pattern in self._compiled.items():
            match = pattern.search(lowered)
            if match:
                found.append(CueHit(name, self.groups[name].title, match.group(0).strip()))
        return found


def _log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _log_loss(
    scores: np.ndarray,
    label_index: int,
    features: np.ndarray,
    weight: float,
    is_label: np.ndarray,
    intercept: float = 0.0,
) -> float:
    """Mean log-loss of P(label) against the rest, with the cues at ``weight``: a proper score,
    smooth in the weight (macro-F1, used before, moved by whole texts: on 2,066 validation texts
    the chosen weight went 0.75, 0.25, 0 over three runs of one configuration)."""
    moved = _moved(scores, label_index, features, weight, intercept=intercept)
    p = np.clip(moved[:, label_index], _EPS, 1 - _EPS)
    return float(-np.mean(np.where(is_label, np.log(p), np.log1p(-p))))


def _most_likely(
    scores: np.ndarray, label_index: int, features: np.ndarray, is_label: np.ndarray
) -> tuple[float, float]:
    """The (weight, intercept) of ``WEIGHT_GRID`` × [-5, 5] with the least log-loss."""
    from scipy.optimize import minimize_scalar

    best = (np.inf, 0.0, 0.0)
    for weight in WEIGHT_GRID:

        def loss(b: float, w: float = weight) -> float:
            return _log_loss(scores, label_index, features, w, is_label, b)

        found = minimize_scalar(loss, bounds=(-5.0, 5.0), method="bounded")
        best = min(best, (float(found.fun), weight, float(found.x)))
    return best[1], best[2]


def _moved(
    scores: np.ndarray,
    label_index: int,
    features: np.ndarray,
    weight: float,
    slope: float = 1.0,
    intercept: float = 0.0,
) -> np.ndarray:
    """``scores`` with P(label) = σ(slope·log-odds + weight·cue groups + intercept), the other
    labels scaled to keep their proportions."""
    z = features @ np.array([slope, weight]) + intercept
    new = 1.0 / (1.0 + np.exp(-z))
    rest = np.clip(1.0 - scores[:, label_index], _EPS, None)
    out = scores * ((1.0 - new) / rest)[:, None]
    out[:, label_index] = new
    return out.astype(scores.dtype, copy=False)


class UrgencyCues(BaseModel):
    """The cue list and its weight for one model: what ``urgency_cues.json`` holds.

    P(label) = σ(coef[0]·log-odds of the model's P(label) + coef[1]·cue groups hit + intercept).
    A weight chosen by ``fit`` is ``coef = [1, weight]``, ``intercept = 0``; a model directory
    written before that holds a fitted logistic combiner, and is applied as written."""

    task: str = "urgency"
    label: str = "yuksek"
    cues: CueList
    coef: list[float] = Field(default_factory=lambda: [1.0, 0.0])  # [log-odds, cue groups hit]
    intercept: float = 0.0
    fitted_on: dict[str, int] = Field(default_factory=dict, description="Rows, and rows with hits.")

    def features(self, scores: np.ndarray, label_index: int, counts: np.ndarray) -> np.ndarray:
        return np.column_stack([_log_odds(scores[:, label_index]), counts])

    def fit(
        self,
        scores: np.ndarray,
        label_index: int,
        texts: Sequence[str],
        gold: np.ndarray,
        in_domain: bool = False,
    ):
        """Choose the cue weight: ``gold`` holds each text's label index in the task.

        The cue file's weight when it fixes one. Else, with ``in_domain`` (labels from the
        sector the cues are for, ``nabiz fit-cues --data``), the weight and an intercept under
        which those labels are most likely: the intercept takes up how often the label occurs in
        that sector (a third of the bank set is ``yuksek``, 4 % of brain_tr), which the weight
        alone would otherwise absorb. Else (the training's validation split, telecom severity)
        the largest weight whose cost in validation log-loss of P(label) stays within
        ``max_validation_cost`` (a share of the log-loss without cues): see the module.
        Weights are searched on ``WEIGHT_GRID`` (0 to 3 in steps of 0.05)."""
        counts = np.array([len(self.cues.hits(t)) for t in texts], dtype=float)
        is_label = np.asarray(gold) == label_index
        features = self.features(scores, label_index, counts)
        weight, intercept = self.cues.weight, 0.0
        if weight is None and in_domain:
            weight, intercept = _most_likely(scores, label_index, features, is_label)
        elif weight is None:
            losses = [_log_loss(scores, label_index, features, w, is_label) for w in WEIGHT_GRID]
            allowed = losses[0] * (1 + self.cues.max_validation_cost)
            weight = max(w for w, loss in zip(WEIGHT_GRID, losses, strict=True) if loss <= allowed)
        self.coef, self.intercept = [1.0, round(float(weight), 2)], round(float(intercept), 3)
        self.fitted_on = {"rows": len(gold), "rows_with_hits": int((counts > 0).sum())}
        return self

    def apply(
        self, scores: np.ndarray, label_index: int, hits: Sequence[Sequence[CueHit]]
    ) -> np.ndarray:
        """The task's scores with P(label) moved by the hits; other labels keep proportions."""
        counts = np.array([len(h) for h in hits], dtype=float)
        features = self.features(scores, label_index, counts)
        return _moved(scores, label_index, features, self.coef[1], self.coef[0], self.intercept)

    def save(self, directory: str | Path) -> None:
        path = Path(directory) / CUES_FILE
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> UrgencyCues | None:
        path = Path(directory) / CUES_FILE
        if not path.is_file():
            return None
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
