"""The triage queue's storage operations, as plain functions over a SQLAlchemy session.

Each function that writes commits its own unit of work. The route layer turns the errors here into
HTTP answers: :class:`FeedbackNotFoundError` → 404, :class:`FeedbackConflictError` → 409,
:class:`InvalidCorrectionError` → 422 naming ``corrections.<task>``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from nabiz.model.schema import LabelSchema
from nabiz.serving.priority import LEVELS
from nabiz.serving.queue.models import Feedback, FeedbackLabel, Status, utcnow

DEFAULT_QUEUE_STATUSES: tuple[Status, ...] = (Status.OPEN, Status.IN_PROGRESS)


class QueueError(Exception):
    """Base of the queue's errors."""


def same_text(stored: str, sent: str) -> bool:
    """Whether a retry carries the stored text: equal up to Unicode composition (NFC) and
    whitespace (runs of it, line ends, the ends of the text). A CRM that trims or normalizes
    text on its retry path got 409 for a trailing space, a CRLF or a decomposed "Ş"."""

    def canonical(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).split())

    return stored == sent or canonical(stored) == canonical(sent)


class FeedbackNotFoundError(QueueError, LookupError):
    def __init__(self, feedback_id: str) -> None:
        super().__init__(f"no feedback with id {feedback_id!r}")
        self.feedback_id = feedback_id


class FeedbackConflictError(QueueError):
    """The id is taken by a feedback item with another text, channel or survey answer."""

    def __init__(self, feedback_id: str, differences: Sequence[str] = ("text",)) -> None:
        super().__init__(
            f"feedback {feedback_id!r} already exists with a different {', '.join(differences)}; "
            "ids are the client's and a repeat returns the stored item unchanged, so it must "
            "send the same text, channel and survey (use a new id for new feedback)"
        )
        self.feedback_id = feedback_id


class VersionMismatchError(QueueError):
    """The item changed since the client read it (``If-Match`` names an older version)."""

    def __init__(self, feedback_id: str, expected: int | None, current: int | None) -> None:
        now = "was changed by another request meanwhile"
        if current is not None:
            now = f"is at version {current}, not {expected}"
        super().__init__(
            f"feedback {feedback_id!r} {now}: read it again (GET gives its ETag), then send "
            "your change with If-Match"
        )
        self.current = current


class InvalidCorrectionError(QueueError, ValueError):
    """A correction names a task or label the model's schema does not have."""

    def __init__(self, task: str, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.task = task
        self.message = message
        self.value = value


@dataclass
class Assessment:
    """What the model and the priority policy said about one text: what gets stored."""

    model_name: str
    model_version: str
    labels: dict[str, str | list[str]]  # task -> label, or chosen labels for multi-label tasks
    scores: dict[str, dict[str, float]]  # task -> {label: score}, schema order
    priority_level: str
    priority_score: float
    respond_by: datetime
    priority_reasons: list[Any] = field(default_factory=list)
    priority_factors: dict[str, Any] = field(default_factory=dict)
    truncated: bool = False


@dataclass(frozen=True)
class QueueFilters:
    """Which items a queue page shows.

    ``labels`` filters on effective labels (a person's correction where made, else the model's):
    ``{"topic": "fatura_odeme"}`` keeps items whose topic is that label; a multi-label task
    matches when the label is among the item's labels.
    """

    statuses: Sequence[Status | str] = DEFAULT_QUEUE_STATUSES
    channel: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    levels: Sequence[str] = ()  # P1..P4; empty: every level
    overdue_at: datetime | None = None  # only items overdue at this moment (Feedback.overdue_at)
    received_from: datetime | None = None  # received_at >= this
    received_to: datetime | None = None  # received_at < this
    # words (nabiz.text.search_words) the text must hold a word beginning with, in any order
    search: Sequence[str] = ()


# --- reading ------------------------------------------------------------------------------------


def find_feedback(session: Session, feedback_id: str) -> Feedback | None:
    return session.get(Feedback, feedback_id)


def get_feedback(session: Session, feedback_id: str) -> Feedback:
    row = find_feedback(session, feedback_id)
    if row is None:
        raise FeedbackNotFoundError(feedback_id)
    return row


def _queue_conditions(filters: QueueFilters) -> list[Any]:
    conditions: list[Any] = []
    if filters.statuses:
        conditions.append(Feedback.status.in_([Status(s).value for s in filters.statuses]))
    if filters.channel is not None:
        conditions.append(Feedback.channel == filters.channel)
    if filters.levels:
        conditions.append(Feedback.priority_level.in_(list(filters.levels)))
    if filters.overdue_at is not None:
        conditions.append(Feedback.overdue_at(filters.overdue_at))
    if filters.received_from is not None:
        conditions.append(Feedback.received_at >= filters.received_from)
    if filters.received_to is not None:
        conditions.append(Feedback.received_at < filters.received_to)
    for word in filters.search:  # letters and digits only: nothing for LIKE to escape
        conditions.append(Feedback.search_text.like(f"% {word}%"))
    for task, label in filters.labels.items():
        conditions.append(
            exists().where(
                FeedbackLabel.feedback_id == Feedback.id,
                FeedbackLabel.task == task,
                FeedbackLabel.label == label,
            )
        )
    return conditions


# nabiz.serving.priority.queue_key in SQL (level, respond_by, the higher score), then arrival;
# tests/serving/test_queue.py checks that the two orders agree.
QUEUE_ORDER = (
    Feedback.priority_level,  # 'P1' < 'P2' < 'P3' < 'P4', as LEVELS orders them
    Feedback.respond_by,
    Feedback.priority_score.desc(),
    Feedback.created_at,
    Feedback.id,  # a stable order for paging
)


def queue_order(now: datetime) -> tuple[Any, ...]:
    """:data:`QUEUE_ORDER` with an overdue item's level raised by one (an overdue P1 sorts as
    'P0'): ``queue_key(…, now)`` in SQL. Overdue is :meth:`Feedback.overdue_at`, the rule of each
    item's ``overdue`` flag: a resolved item is never overdue (``queue_key`` knows no status; for
    unresolved items the two agree)."""
    level = Feedback.priority_level
    overdue = Feedback.overdue_at(now)
    one_up = dict(zip(LEVELS, ("P0", *LEVELS[:-1]), strict=True))  # 'P0' < 'P1', as strings
    raised = case(*((and_(overdue, level == name), up) for name, up in one_up.items()), else_=level)
    return (raised, *QUEUE_ORDER[1:])


def list_queue(
    session: Session,
    filters: QueueFilters | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[int, list[Feedback]]:
    """(how many items match, one page of them) in :func:`queue_order` at ``now`` (default: the
    clock)."""
    if limit < 1 or offset < 0:
        raise ValueError("limit must be at least 1 and offset at least 0")
    conditions = _queue_conditions(filters or QueueFilters())
    count = session.scalar(select(func.count()).select_from(Feedback).where(*conditions)) or 0
    order = queue_order(now or utcnow())
    # Sort the narrow keys and fetch the page's rows by id afterwards: sorting whole rows (text,
    # scores, reasons as JSON) made the database sort about 1.5 KB per item (100,000 items on
    # SQLite: seconds instead of a few hundred ms).
    ids = session.scalars(
        select(Feedback.id).where(*conditions).order_by(*order).limit(limit).offset(offset)
    ).all()
    if not ids:
        return count, []
    by_id = {row.id: row for row in session.scalars(select(Feedback).where(Feedback.id.in_(ids)))}
    return count, [by_id[feedback_id] for feedback_id in ids]


def iter_corrections(session: Session, batch_size: int = 500) -> Iterator[Feedback]:
    """Every item a person corrected, oldest correction first, read in batches."""
    statement = (
        select(Feedback)
        .where(Feedback.corrections.is_not(None))
        .order_by(Feedback.corrected_at, Feedback.id)
        .execution_options(yield_per=batch_size)
    )
    yield from session.scalars(statement)


# --- writing ------------------------------------------------------------------------------------


def _label_pairs(labels: Mapping[str, Any]) -> set[tuple[str, str]]:
    pairs = set()
    for task, value in labels.items():
        for label in value if isinstance(value, list) else [value]:
            if label is not None:
                pairs.add((task, str(label)))
    return pairs


def _sync_label_rows(row: Feedback) -> None:
    """Make ``feedback_label`` hold exactly the item's effective labels."""
    wanted = _label_pairs(row.effective_labels())
    kept = [r for r in row.label_rows if (r.task, r.label) in wanted]
    have = {(r.task, r.label) for r in kept}
    row.label_rows = kept + [
        FeedbackLabel(task=task, label=label) for task, label in sorted(wanted - have)
    ]


SAME_INSTANT = timedelta(milliseconds=1)  # what every backend stores of a time, and more


def _aware_utc(moment: datetime) -> datetime:
    """SQLite hands times back without their offset: they were stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def create_or_get_feedback(
    session: Session,
    *,
    feedback_id: str,
    text: str,
    channel: str | None,
    received_at: datetime,
    assess: Callable[[], Assessment],
    survey_kind: str | None = None,
    survey_score: int | None = None,
    channel_given: bool = True,
    received_at_given: bool = False,
    same_within: timedelta = timedelta(0),
) -> tuple[Feedback, bool]:
    """Store a new item, or return the stored one: ``(row, created)``.

    Idempotent on the client's id: the same id with the same text returns the stored item without
    running the model again (``assess`` is only called for a new id; "the same" up to whitespace
    and Unicode composition, :func:`same_text`); the same id with another text raises
    :class:`FeedbackConflictError`, and so does a repeat that names another channel
    (``channel_given``: the client named one), another survey answer or another ``received_at``
    (``received_at_given``; more than ``same_within`` apart: the allowed clock skew, since a time
    a little ahead of the server's clock was stored as the clock's time), which would otherwise
    be dropped without a word. Two concurrent posts of one id store it once.
    """

    def check_repeat(existing: Feedback) -> tuple[Feedback, bool]:
        differences = []
        if not same_text(existing.text, text):
            differences.append("text")
        if channel_given and existing.channel != channel:
            differences.append(f"channel ({existing.channel!r} stored, {channel!r} sent)")
        sent = (survey_kind, survey_score)
        if survey_kind is not None and (existing.survey_kind, existing.survey_score) != sent:
            differences.append("survey answer")
        stored_at, sent_at = _aware_utc(existing.received_at), _aware_utc(received_at)
        if received_at_given and abs(stored_at - sent_at) > max(same_within, SAME_INSTANT):
            differences.append(
                f"received_at ({stored_at.isoformat()} stored, {sent_at.isoformat()} sent)"
            )
        if differences:
            raise FeedbackConflictError(feedback_id, differences)
        return existing, False

    existing = find_feedback(session, feedback_id)
    if existing is not None:
        return check_repeat(existing)

    assessment = assess()
    now = utcnow()
    row = Feedback(
        id=feedback_id,
        text=text,
        channel=channel,
        received_at=received_at,
        created_at=now,
        updated_at=now,
        status=Status.OPEN.value,
        model_name=assessment.model_name,
        model_version=assessment.model_version,
        labels=assessment.labels,
        scores=assessment.scores,
        truncated=assessment.truncated,
        priority_level=assessment.priority_level,
        priority_score=assessment.priority_score,
        respond_by=assessment.respond_by,
        priority_reasons=list(assessment.priority_reasons),
        priority_factors=dict(assessment.priority_factors),
        corrections=None,
        survey_kind=survey_kind,
        survey_score=survey_score,
    )
    _sync_label_rows(row)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # Another request stored this id between our look-up and our insert.
        session.rollback()
        existing = find_feedback(session, feedback_id)
        if existing is None:
            raise
        return check_repeat(existing)
    return row, True


def validate_corrections(
    corrections: Mapping[str, Any], schema: LabelSchema
) -> dict[str, str | list[str] | None]:
    """Check corrections against a label schema and normalize them.

    A single-label or ordinal task takes one label; a multi-label task takes a list (a lone string
    is read as a one-label list; an empty list means none of the labels apply). ``None`` means
    "remove this task's correction". Unknown tasks or labels raise :class:`InvalidCorrectionError`.
    """
    normalized: dict[str, str | list[str] | None] = {}
    for task_name, value in corrections.items():
        if task_name not in schema:
            raise InvalidCorrectionError(
                task_name,
                f"unknown task {task_name!r}; the model's tasks are {schema.names}",
                task_name,
            )
        task = schema.task(task_name)
        if value is None:
            normalized[task_name] = None
            continue
        if task.is_multi_label:
            values = [value] if isinstance(value, str) else list(value)
        elif isinstance(value, str):
            values = [value]
        else:
            raise InvalidCorrectionError(
                task_name,
                f"task {task_name!r} takes one label, not a list; its labels are {task.labels}",
                value,
            )
        unknown = [v for v in values if v not in task.labels]
        if unknown:
            raise InvalidCorrectionError(
                task_name,
                f"task {task_name!r} has no label {unknown[0]!r}; its labels are {task.labels}",
                value,
            )
        if task.is_multi_label:
            normalized[task_name] = [label for label in task.labels if label in values]
        else:
            normalized[task_name] = values[0]
    return normalized


def update_status_and_corrections(
    session: Session,
    feedback_id: str,
    *,
    status: Status | str | None = None,
    corrections: Mapping[str, Any] | None = None,
    corrected_by: str | None = None,
    schema: LabelSchema | None = None,
    reprioritize: Callable[[Feedback], Assessment | None] | None = None,
    expected_version: int | None = None,
) -> Feedback:
    """Change an item's status and/or merge a person's corrections into it.

    Corrections are validated against ``schema`` (the serving model's) when given, merged task by
    task into the stored ones (``None`` removes a task's correction) and kept beside the model's
    labels, which never change. ``reprioritize``, when given, is called with the corrected row and
    may return a new assessment whose priority replaces the stored one.

    ``expected_version`` (the client's ``If-Match``): the change is made only if the item is still
    at that version, checked again by the UPDATE itself, so of two concurrent writers that read
    the same version one wins and the other gets :class:`VersionMismatchError`.
    """
    row = get_feedback(session, feedback_id)
    if expected_version is not None and row.version != expected_version:
        current = row.version
        session.rollback()
        raise VersionMismatchError(feedback_id, expected_version, current)
    checked = None
    if corrections is not None:
        checked = (
            validate_corrections(corrections, schema) if schema is not None else dict(corrections)
        )
    try:  # a concurrent writer shows up at the flush: its UPDATE matched no row
        with session.no_autoflush:  # one UPDATE, so one version step, per change
            _apply_update(row, status, checked, corrected_by, reprioritize)
            if session.is_modified(row):  # a PATCH that changes nothing keeps the version
                row.updated_at = utcnow()
        session.commit()
    except StaleDataError:
        session.rollback()
        raise VersionMismatchError(feedback_id, expected_version, None) from None
    return row


def _apply_update(
    row: Feedback,
    status: Status | str | None,
    checked: dict[str, Any] | None,
    corrected_by: str | None,
    reprioritize: Callable[[Feedback], Assessment | None] | None,
) -> None:
    if status is not None:
        row.status = Status(status).value
        # answered when resolved, not when claimed: "İşlemde" says someone took it, not that the
        # customer heard back, and the queue counts an item overdue until it is resolved; a
        # reopened item is unanswered again, and its answer is the resolution that holds
        if row.status != Status.RESOLVED.value:
            row.answered_at = None
        elif row.answered_at is None:
            row.answered_at = utcnow()
    if checked is not None:
        merged = dict(row.corrections or {})
        for task, value in checked.items():
            if value is None:
                merged.pop(task, None)
            else:
                merged[task] = value
        if merged != (row.corrections or {}):  # the same corrections again change nothing
            row.corrections = merged or None
            row.corrected_at = utcnow() if merged else None
            row.corrected_by = (corrected_by or row.corrected_by) if merged else None
            _sync_label_rows(row)
            if reprioritize is not None:
                assessment = reprioritize(row)
                if assessment is not None:
                    _apply_priority(row, assessment)
    # a PATCH without corrections (a status change) leaves who corrected as it was: the audit
    # names the person who made the corrections, not the one who closed the item


def delete_feedback(session: Session, feedback_id: str) -> None:
    """Erase one item and its label rows (the right to erasure)."""
    row = get_feedback(session, feedback_id)
    session.delete(row)
    session.commit()


def purge_older_than(session: Session, cutoff: datetime) -> int:
    """Delete every item that entered the queue before ``cutoff``; how many were deleted."""
    old = select(Feedback.id).where(Feedback.created_at < cutoff)
    session.execute(delete(FeedbackLabel).where(FeedbackLabel.feedback_id.in_(old)))
    result = session.execute(
        delete(Feedback)
        .where(Feedback.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(result.rowcount or 0)


def _apply_priority(row: Feedback, assessment: Assessment) -> None:
    row.priority_level = assessment.priority_level
    row.priority_score = assessment.priority_score
    row.respond_by = assessment.respond_by
    row.priority_reasons = list(assessment.priority_reasons)
    row.priority_factors = dict(assessment.priority_factors)
