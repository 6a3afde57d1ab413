"""The priority policy file: its factors, levels, channels and calendars, read and checked.

``data/priority_policy.yaml`` by default (``NABIZ_PRIORITY_POLICY`` to point elsewhere; see
docs/prioritization.md). :func:`load_policy` reads and validates one;
:meth:`PriorityPolicy.check_against` checks the tasks and labels it names against a model's label
schema. What the policy computes is :mod:`nabiz.serving.priority`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from nabiz.serving.business_hours import (
    BoundCalendar,
    BusinessCalendar,
    ChannelPolicy,
    HolidayPolicy,
)
from nabiz.text import fold_case_and_accents
from nabiz.yamlio import load_yaml

if TYPE_CHECKING:
    from nabiz.model.schema import LabelSchema

Level = Literal["P1", "P2", "P3", "P4"]
LEVELS: tuple[Level, ...] = get_args(Level)  # most urgent first; the queue orders by it


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
    holidays: HolidayPolicy = Field(default_factory=HolidayPolicy)
    calendars: dict[str, BusinessCalendar] = Field(default_factory=dict)
    default_channel: str
    channels: dict[str, ChannelPolicy] = Field(min_length=1)
    factors: dict[str, Factor] = Field(min_length=1)
    levels: dict[Level, LevelPolicy]

    _zone: ZoneInfo = PrivateAttr()
    _channel_index: dict[str, str] = PrivateAttr(default_factory=dict)
    _calendars: dict[str, BoundCalendar] = PrivateAttr(default_factory=dict)

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
        unknown = {
            name: channel.calendar
            for name, channel in self.channels.items()
            if channel.calendar is not None and channel.calendar not in self.calendars
        }
        if unknown:
            raise ValueError(
                f"channels name calendars that are not under `calendars`: {unknown}; "
                f"the calendars are {list(self.calendars)}"
            )
        self._calendars = {
            name: BoundCalendar(name, calendar, self._zone, self.holidays)
            for name, calendar in self.calendars.items()
        }
        return self

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def calendar_of(self, channel: str) -> BoundCalendar | None:
        """The working-hours calendar a channel counts its time in (None: around the clock)."""
        name = self.channels[channel].calendar
        return None if name is None else self._calendars[name]

    @property
    def accepted_channels(self) -> dict[str, list[str]]:
        """Canonical channel id → its aliases, in policy order."""
        return {name: list(channel.aliases) for name, channel in self.channels.items()}

    @property
    def titles(self) -> dict[str, str]:
        """Channel id → its name for people, where the policy gives one (`Sosyal medya`)."""
        return {name: channel.title for name, channel in self.channels.items() if channel.title}

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
                stand_in = _role_player(schema, factor.task)
                if stand_in is not None:
                    # a model whose urgency task is named otherwise: skipping the factor would
                    # leave the priority to the other factors alone (every complaint P1)
                    errors.append(
                        f"{message}, but its task {stand_in!r} plays the role {factor.task!r}: "
                        f"point the factor at it (`task: {stand_in}` and that task's labels)"
                    )
                    continue
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
                + "\nA model with its own tasks needs a policy whose factors read them: copy the "
                "policy, edit its factors and set NABIZ_PRIORITY_POLICY to the copy "
                "(docs/prioritization.md)."
            )
        return notes


def _role_player(schema: LabelSchema, name: str) -> str | None:
    """The task of ``schema`` that plays the role called ``name`` (None when ``name`` is no
    role, or no task plays it)."""
    from nabiz.model.schema import TaskRole

    if name not in TaskRole._value2member_map_:
        return None
    task = schema.role(TaskRole(name))
    return task.name if task is not None else None


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
        raw = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except ValueError as error:
        raise PolicyError(str(error)) from None
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
