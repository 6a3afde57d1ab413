"""Fitting the urgency cues' combiner on validation, at training time or onto a saved model."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nabiz.model.cues import CueList, UrgencyCues
from nabiz.model.schema import LabelSchema, TaskRole

log = logging.getLogger(__name__)

MIN_IN_DOMAIN_EACH = 15  # texts of the urgent label, and of the others, for a sector's own fit


def fit_urgency_cues(
    cue_file: Path | CueList,
    schema: LabelSchema,
    scores: dict[str, np.ndarray],
    texts: Sequence[str],
    gold: dict[str, Sequence],
    task: str | None = None,
    label: str | None = None,
    in_domain: bool = False,
) -> UrgencyCues | None:
    """The cue weight chosen on calibrated scores and labels (validation's, or with
    ``in_domain`` a sector's own: :meth:`UrgencyCues.fit`); None when the schema has no such task
    and label, or the labels hold no text of that label or only such texts.

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
        log.info("no urgency cues: the labels have no %r / non-%r mix to fit on", label, label)
        return None
    urgent, others = int((y == index).sum()), int((y != index).sum())
    if in_domain and (urgent < MIN_IN_DOMAIN_EACH or others < MIN_IN_DOMAIN_EACH):
        # 5 texts gave an intercept of -2.8, and the fitted copy tagged 21 of 65 urgent ones
        raise ValueError(
            f"too few labelled texts to fit the cues on: {urgent} {label!r} and {others} others; "
            f"give at least {MIN_IN_DOMAIN_EACH} of each (a hundred texts or so in all)"
        )
    cue_list = cue_file if isinstance(cue_file, CueList) else CueList.load(cue_file)
    cues = UrgencyCues(task=task, label=label, cues=cue_list)
    cues.fit(scores[task][rows], index, [texts[i] for i in rows], y, in_domain=in_domain)
    log.info("urgency cues: %s", describe_fit(cues, in_domain))
    return cues


def describe_fit(cues: UrgencyCues, in_domain: bool) -> str:
    """How the weight was chosen, in words, for the log and the CLI."""
    if cues.cues.weight is not None:
        how = "fixed in the cue file"
    elif in_domain:
        how = "the most likely on your labelled texts"
    else:
        how = (
            f"the largest costing at most {cues.cues.max_validation_cost:.0%} of the validation "
            "log-loss"
        )
    return (
        f"+{cues.coef[1]:.2f} log-odds of P({cues.label}) per cue group hit ({how}; "
        f"{cues.fitted_on['rows']} texts, {cues.fitted_on['rows_with_hits']} with hits)"
    )
