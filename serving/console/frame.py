"""The one table every insight is computed from, whether it came from the queue or a scored file.

Columns of a *feedback frame* (one row per feedback item):

``id``, ``text``, ``channel`` (str or None), ``received_at`` (UTC, tz-aware; NaT when unknown),
``sentiment``, ``topic`` (effective labels of the tasks playing those roles), ``negative``
(1.0 when the sentiment label is a negative one, 0.0 otherwise, NaN for every row when the model
has no sentiment task), ``urgency`` (the urgency label's index in the model's order, 0 = lowest;
NaN when unknown), ``level`` (P1..P4), ``respond_by`` (UTC), ``answered_at`` (UTC or NaT),
``status``, ``survey_kind`` (nps/csat/ces or None) and ``survey_score`` (float or NaN).

Which tasks play the roles of sentiment, topic and urgency comes from the model's schema
(:class:`Roles`): a task's ``role`` in the training config, else the task of that name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from nabiz.model.schema import LabelSchema, TaskRole

SENTIMENT_TASK = "sentiment"
TOPIC_TASK = "topic"
URGENCY_TASK = "urgency"
NEGATIVE = "olumsuz"
URGENCY_ORDER = ("dusuk", "orta", "yuksek")


@dataclass(frozen=True)
class Roles:
    """The model's tasks that play sentiment, topic and urgency (None: it has no such task),
    the sentiment labels that count as negative, and the urgency labels from low to high.
    The defaults are the default taxonomy's."""

    sentiment: str | None = SENTIMENT_TASK
    negative: tuple[str, ...] = (NEGATIVE,)
    topic: str | None = TOPIC_TASK
    urgency: str | None = URGENCY_TASK
    urgency_order: tuple[str, ...] = URGENCY_ORDER
    # label → the words people read (the config's `display`), for the report's tables
    sentiment_words: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    topic_words: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, schema: LabelSchema) -> Roles:
        sentiment = schema.role(TaskRole.SENTIMENT)
        topic = schema.role(TaskRole.TOPIC)
        urgency = schema.role(TaskRole.URGENCY)
        negative: tuple[str, ...] = ()
        if sentiment is not None:
            declared = sentiment.negative
            negative = tuple(declared if declared is not None else [NEGATIVE])
            negative = tuple(label for label in negative if label in sentiment.labels)
        return cls(
            sentiment=None if sentiment is None else sentiment.name,
            negative=negative,
            topic=None if topic is None else topic.name,
            urgency=None if urgency is None else urgency.name,
            urgency_order=URGENCY_ORDER if urgency is None else tuple(urgency.labels),
            sentiment_words=dict(sentiment.display or {}) if sentiment is not None else {},
            topic_words=dict(topic.display or {}) if topic is not None else {},
        )

    @property
    def knows_negative(self) -> bool:
        """Whether a negative share means anything for this model."""
        return self.sentiment is not None and bool(self.negative)


DEFAULT_ROLES = Roles()  # the default taxonomy's tasks


FRAME_COLUMNS = (
    "id",
    "text",
    "channel",
    "received_at",
    "sentiment",
    "negative",
    "topic",
    "urgency",
    "level",
    "respond_by",
    "answered_at",
    "status",
    "survey_kind",
    "survey_score",
)
TIME_COLUMNS = ("received_at", "respond_by", "answered_at")


def urgency_index(labels: pd.Series, order: Sequence[str] = URGENCY_ORDER) -> pd.Series:
    """Urgency labels as 0, 1, 2… in the model's order (NaN for anything else)."""
    return labels.map({label: float(i) for i, label in enumerate(order)})


def normalize_frame(frame: pd.DataFrame, roles: Roles = DEFAULT_ROLES) -> pd.DataFrame:
    """The frame with every column present and typed (missing columns become empty); the
    ``negative`` column from ``sentiment`` and the roles' negative labels."""
    out = pd.DataFrame(index=frame.index)
    for column in FRAME_COLUMNS:
        out[column] = frame.get(column)
    if roles.knows_negative:
        out["negative"] = out["sentiment"].isin(roles.negative).astype(float)
    else:
        out["negative"] = float("nan")
    for column in TIME_COLUMNS:
        out[column] = pd.to_datetime(out[column], utc=True, errors="coerce", format="ISO8601")
    out["urgency"] = pd.to_numeric(out["urgency"], errors="coerce")
    out["survey_score"] = pd.to_numeric(out["survey_score"], errors="coerce")
    out["text"] = out["text"].fillna("").astype(str)
    return out.reset_index(drop=True)
