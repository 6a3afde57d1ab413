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
  "same day": until a time of the received day in the policy's timezone, with a minimum) times the
  level's ``time_factor`` (P1 much shorter).

:func:`compute_priority` is pure and deterministic: it reads the clock only when neither
``received_at`` nor ``now`` is given. Naive datetimes are read in the policy's timezone (feedback
exports carry local wall-clock times); ``respond_by`` is returned in the policy's timezone. Task
and label names come only from the policy file; :meth:`PriorityPolicy.check_against` checks them
against a model's label schema.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from nabiz.text import fold_case_and_accents
from nabiz.yamlio import load_yaml

if TYPE_CHECKING:
    from nabiz.model.predictor import TaskPrediction
    from nabiz.model.schema import LabelSchema

Level = Literal["P1", "P2", "P3", "P4"]
LEVELS: tuple[Level, ...] = get_args(Level)  # most urgent first; the queue orders by it

# Score and contributions are rounded to this many decimals; levels use the rounded score.
SCORE_DIGITS = 4
# Factors contributing less are left out of the reasons (not out of factors).
REASON_MIN_CONTRIBUTION = 0.005


class PolicyError(ValueError):
    """The priority policy is malformed or does not fit the model's label schema."""


class UnknownChannelError(ValueError):
    """A channel the policy does not know; the message lists the accepted ones (API: a 4xx)."""

    def __init__(self, value: str, accepted: Mapping[str, list[str]]) -> None:
        self.value = value
        self.accepted = {channel: list(aliases) for channel, aliases in accepted.items()}
        listing = "; ".join(
            f"{channel} ({', '.join(aliases)})" if aliases else channel
            for channel, aliases in self.accepted.items()
        )
        super().__init__(f"unknown channel {value!r}; accepted channels (aliases): {listing}")


def channel_key(value: str) -> str:
    """Comparison key of a channel name: accents, case, spaces, ``-``, ``_`` and ``.`` don't matter.

    ``"Mağaza"``, ``"MAGAZA"`` and ``"magaza"`` match; so do ``"E-Posta"`` and ``"eposta"``, and
    ``"İnstagram"`` and ``"instagram"`` (Turkish dotted and dotless i both become ``i``).
    """
    folded = fold_case_and_accents(value)
    return "".join(char for char in folded if not char.isspace() and char not in "-_.")


# --- the policy -----------------------------------------------------------------------------------


class SameDayTarget(BaseModel):
    """Answer by ``ends_at`` of the day the feedback arrived, never in less than ``min_hours``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ends_at: time = Field(default=time(23, 59), description="Local end of the answer day, 'HH:MM'.")
    min_hours: float = Field(
        default=2.0, gt=0, description="Floor for feedback that arrives late in (or after) the day."
    )

    @field_validator("ends_at", mode="before")
    @classmethod
    def _time_as_text(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 23:59 as the integer 1439, which pydantic takes as seconds.
        if not isinstance(value, str | time):
            raise ValueError(f"give the time as a quoted 'HH:MM' string, not {value!r}")
        return value

    @field_validator("ends_at")
    @classmethod
    def _naive_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("ends_at is read in the policy's timezone; leave the offset out")
        return value


class ChannelPolicy(BaseModel):
    """One channel's answer-time target: ``hours`` or ``same_day``, exactly one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: float | None = Field(default=None, gt=0)
    same_day: SameDayTarget | None = None
    aliases: list[str] = Field(default_factory=list)
    description: str = ""

    @model_validator(mode="after")
    def _one_target(self) -> ChannelPolicy:
        if (self.hours is None) == (self.same_day is None):
            raise ValueError("give the channel exactly one target: `hours: N` or `same_day: {...}`")
        return self

    def window(self, received: datetime, zone: ZoneInfo) -> timedelta:
        """The answer window, before the level's factor, for feedback received at ``received``."""
        if self.hours is not None:
            return timedelta(hours=self.hours)
        assert self.same_day is not None
        local = received.astimezone(zone)
        day_end = datetime.combine(local.date(), self.same_day.ends_at, tzinfo=zone)
        left = day_end.astimezone(UTC) - received.astimezone(UTC)
        return max(left, timedelta(hours=self.same_day.min_hours))

    def describe(self) -> str:
        if self.hours is not None:
            return f"hedef {format_duration(timedelta(hours=self.hours))}"
        assert self.same_day is not None
        return (
            f"hedef aynı gün ({self.same_day.ends_at:%H:%M}'a kadar, "
            f"en az {format_duration(timedelta(hours=self.same_day.min_hours))})"
        )


class Factor(BaseModel):
    """One ingredient of the score: a task and the value of some of its labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    weight: float = Field(gt=0, description="Relative; renormalized over the factors present.")
    values: dict[str, float] = Field(
        min_length=1, description="Label → value in 0..1; labels left out count 0."
    )
    title: str = Field(
        default="", description="Short name used in reasons; the task name if empty."
    )
    optional: bool = Field(
        default=True, description="A model without this task is fine: the factor is skipped."
    )

    @field_validator("values")
    @classmethod
    def _values_in_range(cls, values: dict[str, float]) -> dict[str, float]:
        bad = {label: value for label, value in values.items() if not 0.0 <= value <= 1.0}
        if bad:
            raise ValueError(f"label values must lie in 0..1; got {bad}")
        if not any(value > 0 for value in values.values()):
            raise ValueError("every label value is 0, so the factor can never raise the score")
        return values


class LevelPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_score: float = Field(ge=0, le=1, description="Lowest score that reaches this level.")
    time_factor: float = Field(gt=0, le=1, description="Share of the channel target allowed.")


class PriorityPolicy(BaseModel):
    """The validated policy file. Build it with :func:`load_policy`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    timezone: str = "Europe/Istanbul"
    default_channel: str
    channels: dict[str, ChannelPolicy] = Field(min_length=1)
    factors: dict[str, Factor] = Field(min_length=1)
    levels: dict[Level, LevelPolicy]

    _zone: ZoneInfo = PrivateAttr()
    _channel_index: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as 'Europe/Istanbul'"
            ) from None
        return value

    @field_validator("channels")
    @classmethod
    def _channel_ids(cls, channels: dict[str, ChannelPolicy]) -> dict[str, ChannelPolicy]:
        bad = [name for name in channels if not name or name != name.strip().lower()]
        if bad:
            raise ValueError(f"channel ids must be lower-case without surrounding spaces: {bad}")
        return channels

    @field_validator("levels")
    @classmethod
    def _levels_ordered(cls, levels: dict[Level, LevelPolicy]) -> dict[Level, LevelPolicy]:
        missing = [level for level in LEVELS if level not in levels]
        if missing:
            raise ValueError(f"every level P1..P4 needs an entry; missing {missing}")
        ordered = [levels[level] for level in LEVELS]
        if ordered[-1].min_score != 0:
            raise ValueError("P4.min_score must be 0 so that every score gets a level")
        for higher, lower, upper, below in zip(
            LEVELS, LEVELS[1:], ordered, ordered[1:], strict=False
        ):
            if upper.min_score <= below.min_score:
                raise ValueError(
                    f"min_score must fall from P1 to P4; {higher} has {upper.min_score}, "
                    f"{lower} has {below.min_score}"
                )
            if upper.time_factor > below.time_factor:
                raise ValueError(
                    f"a more urgent level cannot get more time: {higher}.time_factor "
                    f"{upper.time_factor} > {lower}.time_factor {below.time_factor}"
                )
        return {level: levels[level] for level in LEVELS}

    @model_validator(mode="after")
    def _index_channels(self) -> PriorityPolicy:
        if self.default_channel not in self.channels:
            raise ValueError(
                f"default_channel {self.default_channel!r} is not one of the channels "
                f"{list(self.channels)}"
            )
        index: dict[str, str] = {}
        for name, channel in self.channels.items():
            for spelling in [name, *channel.aliases]:
                key = channel_key(spelling)
                if not key:
                    raise ValueError(f"channel {name!r}: alias {spelling!r} is empty")
                owner = index.setdefault(key, name)
                if owner != name:
                    raise ValueError(
                        f"{spelling!r} (compared as {key!r}) is claimed by both channel "
                        f"{owner!r} and channel {name!r}"
                    )
        self._channel_index = index
        self._zone = ZoneInfo(self.timezone)
        return self

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def accepted_channels(self) -> dict[str, list[str]]:
        """Canonical channel id → its aliases, in policy order."""
        return {name: list(channel.aliases) for name, channel in self.channels.items()}

    def check_against(self, schema: LabelSchema) -> list[str]:
        """Check every task and label the policy names against a model's schema.

        Raises :class:`PolicyError` listing every problem: a label the task lacks, or a task the
        schema lacks for a factor not marked ``optional``. Returns notes on the optional factors
        that this model will skip.
        """
        errors: list[str] = []
        notes: list[str] = []
        tasks = {task.name: task for task in schema.tasks}
        for name, factor in self.factors.items():
            task = tasks.get(factor.task)
            if task is None:
                message = (
                    f"factor {name!r} reads task {factor.task!r}, which the model does not have "
                    f"(its tasks: {list(tasks)})"
                )
                if factor.optional:
                    notes.append(f"{message}; the factor is skipped")
                else:
                    errors.append(f"{message}; mark the factor `optional: true` or remove it")
                continue
            unknown = [label for label in factor.values if label not in task.labels]
            if unknown:
                errors.append(
                    f"factor {name!r}: task {factor.task!r} has no label(s) {unknown}; "
                    f"its labels are {task.labels}"
                )
        if errors:
            raise PolicyError(
                "the priority policy does not fit the model's label schema:\n  - "
                + "\n  - ".join(errors)
            )
        return notes


def load_policy(path: str | Path | None = None) -> PriorityPolicy:
    """Read and validate a policy file (``settings.priority_policy`` when ``path`` is None)."""
    if path is None:
        from nabiz.settings import get_settings

        path = get_settings().priority_policy
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"priority policy {path} not found; set NABIZ_PRIORITY_POLICY to a policy file "
            "(data/priority_policy.yaml is the documented default)"
        )
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise PolicyError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise PolicyError(f"{path}: a priority policy is a YAML mapping, got {type(raw).__name__}")
    try:
        return PriorityPolicy.model_validate(raw)
    except ValidationError as error:
        raise PolicyError(f"{path}: invalid priority policy:\n{_describe(error)}") from None


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  - {where}: {item['msg']}")
    return "\n".join(lines)


# --- the answer -----------------------------------------------------------------------------------


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


def compute_priority(
    tasks: Mapping[str, TaskPrediction],
    policy: PriorityPolicy,
    channel: str | None = None,
    received_at: datetime | None = None,
    now: datetime | None = None,
) -> Priority:
    """Priority of one feedback item from its task predictions.

    ``received_at`` defaults to ``now``, which defaults to the clock (the only impure path); ``now``
    is not used otherwise. Naive datetimes are read in the policy's timezone. Raises
    :class:`UnknownChannelError` for an unknown channel and :class:`PolicyError` when a task lacks
    a label that one of the factors names.
    """
    zone = policy.zone
    channel_id = normalize_channel(channel, policy)
    notes: list[str] = []
    if received_at is None:
        received_at = now if now is not None else datetime.now(UTC)
        notes.append("alınma zamanı verilmedi: şimdiki zaman kullanıldı")
    received = _aware(received_at, zone)

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

    target = policy.channels[channel_id]
    scaled = target.window(received, zone) * level_policy.time_factor
    seconds = max(1, round(scaled.total_seconds()))
    respond_by = (received.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(zone)

    reasons = [f"seviye {level}: skor {score:.2f} ≥ {level_policy.min_score:.2f}"]
    ranked = sorted(contributions, key=lambda name: -contributions[name])
    for name in ranked:
        if contributions[name] >= REASON_MIN_CONTRIBUTION:
            label, probability = tops[name]
            title = policy.factors[name].title or name
            reasons.append(f"{title}: {label} ({probability:.2f}) → +{contributions[name]:.2f}")
    if not values:
        reasons.append("skoru belirleyecek görev yok: skor 0")
    given = (channel or "").strip()
    if not given:
        reasons.append(f"kanal belirtilmedi: varsayılan {channel_id}")
    shown = channel_id if given in ("", channel_id) else f"{channel_id} ({given})"
    reasons.append(
        f"kanal {shown}: {target.describe()}; {level} ×{level_policy.time_factor:g} → "
        f"{format_duration(timedelta(seconds=seconds))}"
    )
    reasons.extend(notes)

    return Priority(
        level=level,
        score=score,
        respond_by=respond_by,
        reasons=reasons,
        factors={name: round(value, SCORE_DIGITS) for name, value in contributions.items()},
    )


def queue_key(level: str, respond_by: datetime | None, score: float) -> tuple[int, datetime, float]:
    """The one urgency order: level (P1 first), earliest ``respond_by`` (none last; naive is UTC),
    higher score. ``sort_key``, the batch summary and the queue's SQL ``ORDER BY``
    (``repository.QUEUE_ORDER``, tested to agree) rank by it; callers add a last tie-break."""
    rank = LEVELS.index(level) if level in LEVELS else len(LEVELS)
    due = respond_by or datetime.max
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return (rank, due.astimezone(UTC), -score)


def sort_key(priority: Priority) -> tuple[int, datetime, float]:
    """Order for a work queue (:func:`queue_key`)."""
    return queue_key(priority.level, priority.respond_by, priority.score)


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


def format_duration(duration: timedelta) -> str:
    """``2 saat``, ``30 dk``, ``13 saat 59 dk``; under a minute is ``<1 dk``."""
    minutes = round(duration.total_seconds() / 60)
    if minutes < 1:
        return "<1 dk"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} dk"
    return f"{hours} saat {minutes} dk" if minutes else f"{hours} saat"
