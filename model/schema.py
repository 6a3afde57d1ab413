"""The label schema: which tasks a model predicts and in which order it scores their labels.

The schema is declared once, in the training config, copied into every model directory as
``schema.json`` at training time, and read back from there by the predictor, the REST API and the
batch pipeline. A label's position in ``labels`` is its class index and its place in score vectors,
so the order is part of the contract.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_FILE = "schema.json"


class TaskKind(StrEnum):
    """How a task's labels relate to each other."""

    SINGLE_LABEL = "single_label"  # exactly one label, softmax
    ORDINAL = "ordinal"  # one label from an ordered scale (low → high), softmax
    MULTI_LABEL = "multi_label"  # any number of labels, one sigmoid each


class TaskRole(StrEnum):
    """What a task means to the console and the report: the negative share, the topic mix and
    trends, the mean urgency. A model may have none, some or all of them."""

    SENTIMENT = "sentiment"
    TOPIC = "topic"
    URGENCY = "urgency"


class TaskSpec(BaseModel):
    """One prediction task: its name, its kind and its labels in class-index order."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: TaskKind = TaskKind.SINGLE_LABEL
    labels: list[str] = Field(min_length=2)
    description: str = ""
    loss_weight: float = Field(default=1.0, gt=0)
    thresholds: dict[str, float] | None = Field(
        default=None,
        description="Per-label decision thresholds of a multi-label task, tuned on validation.",
    )
    role: TaskRole | None = Field(
        default=None,
        description="The role the task plays in the console and the report (sentiment, topic, "
        "urgency). Without it a task named like a role plays it.",
    )
    negative: list[str] | None = Field(
        default=None,
        description="A sentiment task's labels that count as negative in the console's negative "
        "share (default: `olumsuz`, when the task has it).",
    )
    title: str | None = Field(
        default=None,
        description="The task's name for people (`Duygu`): the console and the report show it "
        "instead of the task's name.",
    )
    display: dict[str, str] | None = Field(
        default=None,
        description="Label → the words people read (`sebeke_hizmet_kalitesi: Şebeke ve hizmet "
        "kalitesi`): the console and the report show them; the API and files keep the labels.",
    )

    @field_validator("labels")
    @classmethod
    def _labels_unique(cls, labels: list[str]) -> list[str]:
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"labels must be unique; repeated: {duplicates}")
        if any(not label.strip() for label in labels):
            raise ValueError("labels must be non-empty strings")
        return labels

    @model_validator(mode="after")
    def _thresholds_match_labels(self) -> TaskSpec:
        if self.thresholds is not None:
            if self.kind is not TaskKind.MULTI_LABEL:
                raise ValueError(f"task {self.name!r}: thresholds apply to multi_label tasks only")
            unknown = set(self.thresholds) - set(self.labels)
            if unknown:
                raise ValueError(f"task {self.name!r}: thresholds for unknown labels {unknown}")
        unknown = sorted(set(self.negative or []) - set(self.labels))
        if unknown:
            raise ValueError(
                f"task {self.name!r}: negative names {unknown}, which are not among its labels "
                f"{self.labels}"
            )
        unknown = sorted(set(self.display or {}) - set(self.labels))
        if unknown:
            raise ValueError(
                f"task {self.name!r}: display names for {unknown}, which are not among its labels "
                f"{self.labels}"
            )
        if self.role is not None and self.is_multi_label:
            raise ValueError(
                f"task {self.name!r}: a multi_label task cannot play the role {self.role.value!r} "
                "(the console reads one label per text)"
            )
        return self

    @property
    def is_multi_label(self) -> bool:
        return self.kind is TaskKind.MULTI_LABEL

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def index(self, label: str) -> int:
        """Class index of ``label``; a clear error names the valid labels."""
        try:
            return self.labels.index(label)
        except ValueError:
            raise KeyError(
                f"task {self.name!r} has no label {label!r}; its labels are {self.labels}"
            ) from None

    def threshold(self, label: str) -> float:
        return (self.thresholds or {}).get(label, 0.5)


class LabelSchema(BaseModel):
    """The ordered set of tasks a model is trained for."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[TaskSpec] = Field(min_length=1)

    @field_validator("tasks")
    @classmethod
    def _task_names_unique(cls, tasks: list[TaskSpec]) -> list[TaskSpec]:
        names = [task.name for task in tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names must be unique: {names}")
        return tasks

    @model_validator(mode="after")
    def _roles_unique(self) -> LabelSchema:
        for role in TaskRole:
            claimed = [task.name for task in self.tasks if task.role == role]
            if len(claimed) > 1:
                raise ValueError(
                    f"tasks {claimed} all claim the role {role.value!r}; give it to one"
                )
        return self

    @property
    def names(self) -> list[str]:
        return [task.name for task in self.tasks]

    def role(self, role: TaskRole) -> TaskSpec | None:
        """The task that plays ``role``: the one that claims it, else a single-label task of
        that name that claims no other role, else None."""
        for task in self.tasks:
            if task.role == role:
                return task
        for task in self.tasks:
            if task.name == role.value and task.role is None and not task.is_multi_label:
                return task
        return None

    def task(self, name: str) -> TaskSpec:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"no task {name!r}; the schema has {self.names}")

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / SCHEMA_FILE
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> LabelSchema:
        path = Path(directory) / SCHEMA_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: is {directory} a Nabız model directory?")
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
