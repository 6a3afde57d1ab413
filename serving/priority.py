"""Prioritization: turn a prediction's tags into ``{level, score, respond_by, reasons, factors}``.

The rules live in a policy file (``data/priority_policy.yaml`` by default, ``NABIZ_PRIORITY_POLICY``
to point elsewhere; see docs/prioritization.md):

* **score** (0..1) is a weighted mean of *factors*. Each factor reads one task of the model and
  gives some of its labels a value in 0..1; the factor's value is ``Σ P(label) · value`` capped at
  1, so an ordinal task reads as an expected severity (``P(yuksek)·1 + P(orta)·0.5``). A factor
  whose task the model does not predict is skipped, noted in the reasons, and the remaining weights
  are renormalized. ``factors`` in the answer holds each factor's contribution; they sum to score.
* **level** is the first of P1..P4 whose ``min_score`` the score reaches.
* **respond_by** is ``received_at`` plus the channel's answer-time target (a number of hours, or
  "same day": until a time of the received day in the policy's timezone) times the level's
  ``time_factor`` (P1 much shorter); a same-day target is then never less than its ``min_hours``
  (the minimum comes after the level's factor, as docs/prioritization.md says). When the channel
  names a working-hours calendar (``calendars``, with the policy's ``holidays``) the time is counted
  inside working hours only (see :mod:`nabiz.serving.business_hours`), and the reasons say how long
  the clock was paused and why.

:func:`compute_priority` is pure and deterministic: it reads the clock only when neither
``received_at`` nor ``now`` is given. Naive datetimes are read in the policy's timezone (exports
carry local wall-clock times); ``respond_by`` is returned in it. Task and label names come only from
the policy file (read by :mod:`nabiz.serving.priority_policy`, whose
:meth:`PriorityPolicy.check_against` checks them against a model's label schema). Urgency cue
hits (``Prediction.cues``, which moved the urgency scores) follow the factors' reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field

from nabiz.serving.business_hours import Deadline, deadline, format_duration

# The policy file's own module; its names are imported from here too, as before it was one.
from nabiz.serving.priority_policy import LEVELS as LEVELS
from nabiz.serving.priority_policy import Factor as Factor
from nabiz.serving.priority_policy import Level as Level
from nabiz.serving.priority_policy import LevelPolicy as LevelPolicy
from nabiz.serving.priority_policy import PolicyError as PolicyError
from nabiz.serving.priority_policy import PriorityPolicy as PriorityPolicy
from nabiz.serving.priority_policy import UnknownChannelError as UnknownChannelError
from nabiz.serving.priority_policy import channel_key as channel_key
from nabiz.serving.priority_policy import load_policy as load_policy

if TYPE_CHECKING:
    from nabiz.model.predictor import TaskPrediction

# Score and contributions are rounded to this many decimals; levels use the rounded score.
SCORE_DIGITS = 4
# Factors contributing less are left out of the reasons (not out of factors).
REASON_MIN_CONTRIBUTION = 0.005


class Priority(BaseModel):
    """How soon a feedback item should be answered, and why."""

    level: Level
    score: float = Field(ge=0, le=1)
    respond_by: AwareDatetime
    reasons: list[str]
    factors: dict[str, float] = Field(description="Each factor's contribution; they sum to score.")


def normalize_channel(value: str | None, policy: PriorityPolicy) -> str:
    """The canonical channel id for ``value``; the policy's default channel for None or blank.

    Raises :class:`UnknownChannelError` (a ``ValueError``) listing the accepted channels.
    """
    if value is None or not value.strip():
        return policy.default_channel
    channel = policy._channel_index.get(channel_key(value))
    if channel is None:
        raise UnknownChannelError(value, policy.accepted_channels)
    return channel


@dataclass(frozen=True)
class Assessment:
    """Level, score and their reasons: a :class:`Priority` without the deadline, all that a row
    whose channel or received-at time cannot be read still gets (its tags do not depend on them)."""

    level: Level
    score: float
    reasons: list[str]
    factors: dict[str, float]


def assess(
    tasks: Mapping[str, TaskPrediction], policy: PriorityPolicy, cues: Sequence[str] = ()
) -> Assessment:
    """The level and score of one item from its task predictions, with the factors' and cues'
    reasons (the level's own reason first). Raises :class:`PolicyError` when a task lacks a label
    that one of the factors names."""
    notes: list[str] = []
    values: dict[str, float] = {}
    tops: dict[str, tuple[str, float]] = {}
    for name, factor in policy.factors.items():
        prediction = tasks.get(factor.task)
        if prediction is None:
            notes.append(
                f"{factor.title or name}: model '{factor.task}' görevini tahmin etmiyor, atlandı"
            )
            continue
        values[name], tops[name] = _factor_value(name, factor, prediction.scores)

    total_weight = sum(policy.factors[name].weight for name in values)
    contributions = {
        name: policy.factors[name].weight / total_weight * value for name, value in values.items()
    }
    score = round(min(1.0, max(0.0, sum(contributions.values()))), SCORE_DIGITS)
    level = next(level for level in LEVELS if score >= policy.levels[level].min_score)
    level_policy = policy.levels[level]

    reasons = [f"seviye {level}: skor {score:.2f} ≥ {level_policy.min_score:.2f}"]
    ranked = sorted(contributions, key=lambda name: -contributions[name])
    for name in ranked:
        if contributions[name] >= REASON_MIN_CONTRIBUTION:
            label, probability = tops[name]
            title = policy.factors[name].title or name
            # "olasılığı": the factor adds its labels' probabilities, and the one named may not
            # be the task's label ("aciliyet: yuksek (0.03)" read as if the text were urgent)
            reasons.append(
                f"{title}: {label} olasılığı {probability:.2f} → +{contributions[name]:.2f}"
            )
    reasons.extend(cues)
    if not values:
        reasons.append("skoru belirleyecek görev yok: skor 0")
    reasons.extend(notes)
    factors = {name: round(value, SCORE_DIGITS) for name, value in contributions.items()}
    return Assessment(level=level, score=score, reasons=reasons, factors=factors)


def compute_priority(
    tasks: Mapping[str, TaskPrediction],
    policy: PriorityPolicy,
    channel: str | None = None,
    received_at: datetime | None = None,
    now: datetime | None = None,
    cues: Sequence[str] = (),
) -> Priority:
    """Priority of one item from its task predictions (``cues``: see the module): :func:`assess`
    and the respond-by. ``received_at`` defaults to ``now``, which defaults to the clock (the only
    impure path). Raises :class:`UnknownChannelError` for an unknown channel and
    :class:`PolicyError` when a task lacks a label that one of the factors names."""
    channel_id = normalize_channel(channel, policy)
    notes: list[str] = []
    if received_at is None:
        received_at = now if now is not None else datetime.now(UTC)
        notes.append("alınma zamanı verilmedi: şimdiki zaman kullanıldı")
    received = _aware(received_at, policy.zone)
    assessment = assess(tasks, policy, cues)
    level_policy = policy.levels[assessment.level]
    target = policy.channels[channel_id]
    deadline = answer_deadline(policy, channel_id, received, level_policy.time_factor)

    reasons = list(assessment.reasons)
    given = (channel or "").strip()
    if not given:
        reasons.append(f"kanal belirtilmedi: varsayılan {channel_id}")
    shown = channel_id if given in ("", channel_id) else f"{channel_id} ({given})"
    floor = " (en az süre)" if deadline.floored else ""
    reasons.append(
        f"kanal {shown}: {target.describe()}; {assessment.level} ×{level_policy.time_factor:g} → "
        f"{format_duration(deadline.work)}{floor}"
    )
    reasons.extend(deadline.pause_reasons())
    reasons.extend(notes)
    return Priority(
        level=assessment.level,
        score=assessment.score,
        respond_by=deadline.respond_by,
        reasons=reasons,
        factors=assessment.factors,
    )


def queue_key(
    level: str, respond_by: datetime | None, score: float, now: datetime | None = None
) -> tuple[int, datetime, float]:
    """The one urgency order: level (P1 first), where an item past its ``respond_by`` at ``now``
    counts one level higher (nothing is overdue without ``now``); then the earliest
    ``respond_by`` (none last; naive is UTC), the higher score. So a late item rises above every
    item of its own level and joins the level above, ahead of those due later, and an overdue P1
    leads; a late P4 thank-you note does not pass a P1 about to go late. ``sort_key``, the batch
    summary and the queue's SQL ``ORDER BY`` (``repository.queue_order``, tested to agree) rank
    by it; callers add a last tie-break."""
    rank = LEVELS.index(level) if level in LEVELS else len(LEVELS)
    due = respond_by or datetime.max
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    overdue = now is not None and respond_by is not None and is_overdue(due, now)
    return (rank - 1 if overdue else rank, due.astimezone(UTC), -score)


def sort_key(priority: Priority, now: datetime | None = None) -> tuple[int, datetime, float]:
    """Order for a work queue (:func:`queue_key`); pass ``now`` to raise overdue items."""
    return queue_key(priority.level, priority.respond_by, priority.score, now)


def answer_deadline(
    policy: PriorityPolicy, channel: str, received: datetime, time_factor: float
) -> Deadline:
    """The respond-by of an item of ``channel`` received at ``received`` for a level with
    ``time_factor``, counted in the channel's working hours (see :func:`deadline`)."""
    target = policy.channels[channel]
    return deadline(
        received=_aware(received, policy.zone),
        zone=policy.zone,
        calendar=policy.calendar_of(channel),
        time_factor=time_factor,
        hours=target.hours,
        same_day_ends=target.same_day.ends_at if target.same_day else None,
        min_hours=target.same_day.min_hours if target.same_day else 0.0,
    )


def is_overdue(respond_by: datetime, now: datetime) -> bool:
    """Past its respond-by: such an item counts one level higher in the queue and may raise an
    alert."""
    return respond_by < now


# --- helpers --------------------------------------------------------------------------------------


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _factor_value(
    name: str, factor: Factor, scores: Mapping[str, float]
) -> tuple[float, tuple[str, float]]:
    """``min(1, Σ P(label)·value)`` and the label that contributed most (with its probability)."""
    missing = [label for label in factor.values if label not in scores]
    if missing:
        raise PolicyError(
            f"factor {name!r}: task {factor.task!r} has no label(s) {missing}; its labels are "
            f"{list(scores)} (check the policy with policy.check_against(schema) at start-up)"
        )
    total = 0.0
    top = ("", -1.0)
    best = -1.0
    for label, weight in factor.values.items():
        probability = float(scores[label])
        if math.isnan(probability):
            raise ValueError(f"task {factor.task!r}: score of {label!r} is NaN")
        probability = min(1.0, max(0.0, probability))
        total += probability * weight
        if probability * weight > best:
            best, top = probability * weight, (label, probability)
    return min(1.0, total), top
