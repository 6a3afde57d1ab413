"""Fitting the urgency cues' combiner on validation, at training time or onto a saved model."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nabiz.model.cues import CueList, UrgencyCues
from nabiz.model.schema import LabelSchema, TaskRole

log = logging.getLogger(__name__)


def fit_urgency_cues(
    cue_file: Path,
    schema: LabelSchema,
    scores: dict[str, np.ndarray],
    texts: Sequence[str],
    gold: dict[str, Sequence],
    task: str | None = None,
    label: str | None = None,
) -> UrgencyCues | None:
    """The cue weight chosen on validation scores (calibrated) and labels; None when the schema
    has no such task and label, or validation has no text of that label.

    By default the task is the one playing the urgency role (named `urgency`, or `role: urgency`)
    and the label its most urgent one, the last of its labels (`yuksek` in the default taxonomy).
    """
    spec = schema.role(TaskRole.URGENCY) if task is None else None
    if task in schema.names:
        spec = schema.task(task)
    if spec is None or spec.is_multi_label or (label is not None and label not in spec.labels):
        log.info("no urgency cues: the schema has no urgency task (%s) with label %r", task, label)
        return None
    task, label = spec.name, label or spec.labels[-1]
    rows = [i for i, value in enumerate(gold[task]) if value is not None]
    y = np.array([spec.index(gold[task][i]) for i in rows])
    index = spec.index(label)
    if not (y == index).any() or (y == index).all():
        log.info("no urgency cues: validation has no %r / non-%r mix to fit on", label, label)
        return None
    cues = UrgencyCues(task=task, label=label, cues=CueList.load(cue_file))
    cues.fit(scores[task][rows], index, [texts[i] for i in rows], y)
    log.info(
        "urgency cues: %.2f log-odds of P(%s) per cue group hit (%s; %d validation texts, "
        "%d with hits)",
        cues.coef[1],
        label,
        "fixed in the cue file" if cues.cues.weight is not None else "chosen on validation",
        cues.fitted_on["rows"],
        cues.fitted_on["rows_with_hits"],
    )
    return cues
