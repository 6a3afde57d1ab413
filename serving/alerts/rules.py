"""The alert rules file (``data/alert_rules.yaml``, ``NABIZ_ALERT_RULES``): validated on load.

Every threshold and window is a field here, so a team tunes its alerts in the file, not in code.
Task and label names are checked against the loaded model's schema at start-up
(:meth:`AlertRules.fitted`): a rule the model cannot run is skipped with a note in the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nabiz.model.schema import TaskRole

if TYPE_CHECKING:
    from nabiz.model.schema import LabelSchema

CHANNEL = "channel"  # the one group_by key that is not a task of the model
RULE_ID = r"^[a-z][a-z0-9_]*$"


class RulesError(ValueError):
    """The rules file is malformed."""


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, description="Turkish headline of the alert.")
    where: dict[str, str] = Field(
        default_factory=dict, description="task → label: only items with that effective label."
    )


class _SpikeRule(_Rule):
    group_by: list[str] = Field(
        default_factory=list, description="`channel` and/or task names; [] = all together."
    )
    window_hours: int = Field(gt=0, le=24 * 31, description="The recent window, whole hours.")
    baseline_days: float = Field(gt=0, le=366, description="The trailing baseline before it.")
    k: float = Field(ge=0, description="Fire above mean + k·σ of the baseline windows.")
    min_count: int = Field(ge=1, description="Never fire on fewer items than this.")
    cooldown_hours: float = Field(
        default=24, gt=0, description="The same rule and group fires at most once in this time."
    )

    @model_validator(mode="after")
    def _whole_windows(self) -> _SpikeRule:
        windows = self.baseline_days * 24 / self.window_hours
        if windows < 2 or abs(windows - round(windows)) > 1e-9:
            raise ValueError(
                f"baseline_days × 24 / window_hours must be a whole number of at least 2 "
                f"windows (a σ needs two), got {windows:g}"
            )
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError(f"group_by lists a key twice: {self.group_by}")
        return self

    @property
    def baseline_windows(self) -> int:
        return round(self.baseline_days * 24 / self.window_hours)


class VolumeSpikeRule(_SpikeRule):
    kind: Literal["volume_spike"]


class ShareSpikeRule(_SpikeRule):
    kind: Literal["share_spike"]
    share_of: dict[str, str] = Field(
        min_length=1, max_length=1, description="task → label whose share is watched."
    )
    min_baseline_windows: int = Field(
        default=3,
        ge=1,
        description="Baseline windows in which a group had feedback, at least, for its share to "
        "be compared: a share has no usual value without them (67 % negative is no rise for "
        "complaints that were never seen before).",
    )


class OverdueRule(_Rule):
    kind: Literal["overdue"]
    levels: list[Literal["P1", "P2", "P3", "P4"]] = Field(default=["P1"], min_length=1)
    statuses: list[Literal["open", "in_progress"]] = Field(
        default=["open", "in_progress"], min_length=1
    )  # taken is not answered: an item stays overdue until it is resolved
    max_alerts_per_check: int = Field(
        default=20, ge=1, description="A backlog raises this many per check, oldest first."
    )


Rule = Annotated[VolumeSpikeRule | ShareSpikeRule | OverdueRule, Field(discriminator="kind")]


class AlertRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    rules: dict[Annotated[str, Field(pattern=RULE_ID)], Rule] = Field(default_factory=dict)
    topic_task: str | None = Field(
        default="topic",
        exclude=True,
        description="The task whose label an overdue alert names and groups by: the model's "
        "topic role, set by fitted() from its schema (None: the model has no topic).",
    )
    display: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        exclude=True,
        description="Group key (a task, or `channel`) → value → the words people read, set by "
        "fitted() from the schema's display names and the policy's channel titles: a message "
        "says `Fatura ve ödeme / Sosyal medya` as the console does, not `fatura_odeme`.",
    )

    def shown(self, key: str, value: str) -> str:
        """``value`` of group key ``key`` as people read it (itself where it has no name)."""
        return self.display.get(key, {}).get(value, value)

    def fitted(
        self, schema: LabelSchema, channel_titles: Mapping[str, str] | None = None
    ) -> tuple[AlertRules, list[str]]:
        """The rules this model can run, and a note for each one left out; the messages' names
        for labels and channels (:attr:`display`) from ``schema`` and ``channel_titles``.

        A rule that names a task or label the model's schema lacks (a custom taxonomy with the
        default rules file) is skipped with a note, as the priority policy skips optional
        factors: the server still starts, and its log says which alerts are off.
        """
        kept, notes = {}, []
        for name, rule in self.rules.items():
            problems = _problems(rule, schema)
            if problems:
                notes.append(f"alert rule {name!r} skipped: " + "; ".join(problems))
            else:
                kept[name] = rule
        topic = schema.role(TaskRole.TOPIC)
        display = {task.name: dict(task.display) for task in schema.tasks if task.display}
        if channel_titles:
            display[CHANNEL] = dict(channel_titles)
        fitted = {
            "rules": kept,
            "topic_task": None if topic is None else topic.name,
            "display": display,
        }
        return self.model_copy(update=fitted), notes


def _problems(rule: VolumeSpikeRule | ShareSpikeRule | OverdueRule, schema: LabelSchema) -> list:
    pairs = dict(rule.where)
    if isinstance(rule, ShareSpikeRule):
        pairs.update(rule.share_of)
    tasks = list(pairs)
    if isinstance(rule, VolumeSpikeRule | ShareSpikeRule):
        tasks += [key for key in rule.group_by if key != CHANNEL]
    problems = []
    for task in tasks:
        if task not in schema:
            problems.append(f"the model has no task {task!r} (its tasks: {schema.names})")
        elif task in pairs and pairs[task] not in schema.task(task).labels:
            labels = schema.task(task).labels
            problems.append(f"task {task!r} has no label {pairs[task]!r} (its labels: {labels})")
    return problems


def load_rules(path: str | Path) -> AlertRules:
    """Read and validate a rules file; every problem is a :class:`RulesError` naming the field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"alert rules {path} not found; set NABIZ_ALERT_RULES to a rules file "
            "(data/alert_rules.yaml is the documented default)"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RulesError(f"{path}: not valid YAML: {error}") from None
    try:
        return AlertRules.model_validate(raw or {})
    except ValidationError as error:
        lines = [
            f"  - {'.'.join(str(part) for part in item['loc']) or '(top level)'}: {item['msg']}"
            for item in error.errors()
        ]
        raise RulesError(f"{path}: invalid alert rules:\n" + "\n".join(lines)) from None
