"""The triage queue's tables.

``feedback`` holds one customer text per client id with what the model said about it (labels and
scores as JSON keyed by task name, so any taxonomy fits without a migration), the priority computed
from that, the workflow status, and a person's corrections kept beside the model's labels.

``feedback_label`` is a small index of each item's *effective* labels (the correction where a person
made one, else the model's): one row per (item, task, label). It lets the queue filter by any task's
label — single- or multi-label — with an index on both SQLite and PostgreSQL, instead of reaching
into JSON. The repository rewrites an item's rows whenever its labels or corrections change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from nabiz.serving.priority import LEVELS
from nabiz.text import search_key

ID_MAX_LENGTH = 128
SURVEY_RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}  # kind -> (lowest, highest)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Status(StrEnum):
    """Where a feedback item is in its handling."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC on every backend.

    SQLite has no time zones: the value is stored as UTC without an offset and read back with
    ``UTC`` attached, so comparisons and ordering agree with PostgreSQL's ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the queue stores time-zone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# The queue index's columns; it is named because the convention's name would be longer than
# PostgreSQL's 63 characters.
QUEUE_INDEX_COLUMNS = (
    "status", "priority_level", "respond_by", "priority_score", "created_at", "id"
)  # fmt: skip


class Feedback(Base):
    """One customer text, its prediction, its priority and its handling."""

    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(ID_MAX_LENGTH), primary_key=True)  # the client's id
    text: Mapped[str] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=Status.OPEN.value)

    # The model's answer. labels: task -> label (single-label, ordinal) or list of labels
    # (multi-label); scores: task -> {label: score} in the schema's label order.
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON)
    scores: Mapped[dict[str, dict[str, float]]] = mapped_column(JSON)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)

    priority_level: Mapped[str] = mapped_column(String(2))
    priority_score: Mapped[float] = mapped_column(Float)
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime)
    priority_reasons: Mapped[list[str]] = mapped_column(JSON)
    priority_factors: Mapped[dict[str, Any]] = mapped_column(JSON)

    # A person's corrections: task -> label or list of labels; NULL when nobody corrected it.
    corrections: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    corrected_by: Mapped[str | None] = mapped_column(String(128))
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Bumped by every change; the API's ETag. SQLAlchemy checks it in each UPDATE's WHERE, so two
    # writers that read the same version cannot both commit (the second gets StaleDataError).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # When a person resolved it, None once reopened (compared with respond_by for answer times), and
    # the survey answer that came with it: nps 0-10, csat 1-5, ces 1-7.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    survey_kind: Mapped[str | None] = mapped_column(String(8))
    survey_score: Mapped[int | None] = mapped_column(Integer)
    # The text as the queue's search reads it (nabiz.text.search_key), written with the item:
    # a LIKE on it finds "İzmir şubesi" when a person types "izmir subesi", on both databases.
    search_text: Mapped[str | None] = mapped_column(
        Text, default=lambda context: search_key(context.get_current_parameters()["text"])
    )

    label_rows: Mapped[list[FeedbackLabel]] = relationship(
        back_populates="feedback", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        CheckConstraint("status IN ('open', 'in_progress', 'resolved')", name="status_valid"),
        CheckConstraint(
            f"priority_level IN ({', '.join(repr(level) for level in LEVELS)})",
            name="priority_level_valid",
        ),
        # The queue: filter by status, sort by level, respond_by, score, arrival and id. The index
        # holds every sort key (migrations 0004, 0005), so a page is sorted from the index alone:
        # without id SQLite read every row to sort (3 s for 100,000 items), without the score
        # both databases read every open item's row (172 ms of CPU on SQLite, 18 ms with it).
        Index("ix_feedback_queue_order", *QUEUE_INDEX_COLUMNS),
        Index(None, "channel", "status"),
        Index(None, "corrected_at"),
        Index(None, "received_at"),  # alert windows (migration 0003)
        Index(None, "created_at"),  # retention: `nabiz queue purge` deletes by age
        CheckConstraint(
            "survey_kind IS NULL OR survey_kind IN ('nps', 'csat', 'ces')", name="survey_kind_valid"
        ),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own mapping

    @hybrid_method
    def overdue_at(self, now: datetime) -> Any:
        """The one overdue rule: past its respond-by at ``now`` and not resolved.

        On a row it is a ``bool`` (the API's ``overdue`` flag); on the class a SQL condition
        (``GET /v1/queue?overdue=true``, and the queue order, which raises an overdue item one
        level): one expression, so the filter, the order and the flag cannot disagree."""
        return (self.status != Status.RESOLVED.value) & (self.respond_by < now)

    def effective_labels(self) -> dict[str, Any]:
        """The model's labels with a person's corrections laid over them."""
        return {**self.labels, **(self.corrections or {})}


class FeedbackLabel(Base):
    """One effective label of one item (see the module docstring)."""

    __tablename__ = "feedback_label"

    feedback_id: Mapped[str] = mapped_column(
        String(ID_MAX_LENGTH), ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True
    )
    task: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(128), primary_key=True)

    feedback: Mapped[Feedback] = relationship(back_populates="label_rows")

    __table_args__ = (
        Index(None, "task", "label"),
        # covers reading one task's labels of every item (the console's trends; migration 0004)
        Index(None, "task", "feedback_id", "label"),
    )


class ApiKey(Base):
    """A client's API key: only its SHA-256 is kept (the key is shown once, at creation)."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the key's first characters, to recognise it
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
