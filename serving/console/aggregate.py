"""The insight endpoints' reads: counts and sums computed by the database, not items in Python.

Every query groups the items of a time window by local period (:mod:`.localtime`), topic and/or
channel, and returns one row per group, so what crosses into Python is a few hundred numbers
whatever the queue holds (reading every item into pandas took 45 s on SQLite and 86 s on
PostgreSQL for 100,000 items). Only root causes read texts, and only a bounded, systematic
sample of them (:func:`sample_texts`).

Labels are the effective ones of ``feedback_label`` (a person's correction where one was made),
joined once per task on its primary key (``feedback_id, task, label``). The tasks that play the
roles of sentiment, topic and urgency (:class:`.frame.Roles`, from the model's schema) are
single-label, so each join adds at most one row per item; a role the model lacks reads as NULL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
)

from nabiz.serving.console.analytics import DETRACTOR_MAX, PROMOTER_MIN, SATISFIED_MIN
from nabiz.serving.console.frame import DEFAULT_ROLES, Roles
from nabiz.serving.console.localtime import Period, period_key, period_label
from nabiz.serving.queue.models import Feedback, FeedbackLabel

FEEDBACK = Feedback.__table__
LABELS = FeedbackLabel.__table__
NO_KEY = "-"  # a missing channel or topic, as the frame functions write it


@dataclass(frozen=True)
class Window:
    """Items received in ``[received_from, received_to)`` (either end open when None)."""

    received_from: datetime | None = None
    received_to: datetime | None = None

    def conditions(self) -> list[Any]:
        out = []
        if self.received_from is not None:
            out.append(FEEDBACK.c.received_at >= self.received_from)
        if self.received_to is not None:
            out.append(FEEDBACK.c.received_at < self.received_to)
        return out


def _joined(tasks: Sequence[str | None]) -> tuple[Any, dict[str | None, Any]]:
    """``feedback`` left-joined to each task's label row; the label columns by task (None, a
    role the model lacks: a NULL column)."""
    source: Any = FEEDBACK
    columns: dict[str | None, Any] = {None: cast(null(), String)}  # typed, as PostgreSQL needs
    for task in tasks:
        if task is None:
            continue
        alias = LABELS.alias(f"label_{task}")
        source = source.outerjoin(
            alias, and_(alias.c.feedback_id == FEEDBACK.c.id, alias.c.task == task)
        )
        columns[task] = alias.c.label
    return source, columns


def _negative(sentiment: Any, roles: Roles) -> Any:
    """1 for an item whose sentiment is negative, else 0; NULL for every item when the model
    has no sentiment (so that its sums read as unknown, not as none)."""
    if not roles.knows_negative:
        return cast(null(), Integer)
    return case((sentiment.in_(roles.negative), 1), else_=literal(0))


def _count(value: Any, roles: Roles) -> int | None:
    """A summed negative count: None when the model has no sentiment (the sum was NULL)."""
    return int(value or 0) if roles.knows_negative else None


def time_span(connection: Connection, window: Window) -> tuple[datetime, datetime] | None:
    """(first, last) arrival in the window, from the ``received_at`` index; None when empty."""
    first, last = connection.execute(
        select(func.min(FEEDBACK.c.received_at), func.max(FEEDBACK.c.received_at)).where(
            *window.conditions()
        )
    ).one()
    return None if first is None else (first, last)


@dataclass(frozen=True)
class TrendCount:
    """One (period, key) group: items, negative ones, and the urgency index's sum and count."""

    period: str
    key: str | None
    volume: int
    negative: int | None  # None: the model has no sentiment
    urgency_sum: int
    urgency_count: int


def trend_counts(
    connection: Connection,
    window: Window,
    period: Period,
    by: str,
    tz: str,
    roles: Roles = DEFAULT_ROLES,
) -> list[TrendCount]:
    """Per local period and ``by`` value (``"topic"`` or ``"channel"``, None when the item has
    none): what :func:`.analytics.trends_from_counts` needs."""
    span = time_span(connection, window)
    if span is None:
        return []
    by_topic = by == "topic"
    source, label = _joined([roles.sentiment, roles.urgency] + ([roles.topic] if by_topic else []))
    key = period_key(FEEDBACK.c.received_at, period, tz, *span).label("period")
    group = (label[roles.topic] if by_topic else FEEDBACK.c.channel).label("key")
    urgency = (
        cast(null(), Integer)
        if roles.urgency is None
        else case(
            {name: i for i, name in enumerate(roles.urgency_order)}, value=label[roles.urgency]
        )
    )
    statement = (
        select(
            key,
            group,
            func.count(),
            func.sum(_negative(label[roles.sentiment], roles)),
            func.sum(urgency),
            func.count(urgency),
        )
        .select_from(source)
        .where(*window.conditions())
        .group_by(key, group)
    )
    return [
        TrendCount(period_label(p), k, int(n), _count(neg, roles), int(u or 0), int(un))
        for p, k, n, neg, u, un in connection.execute(statement)
    ]


@dataclass(frozen=True)
class AnswerCount:
    channel: str
    items: int
    within: int
    late: int
    pending: int


def answer_counts(connection: Connection, window: Window, now: datetime) -> list[AnswerCount]:
    """Per channel: answered by respond_by, late (answered after it, or past it unanswered),
    and pending (unanswered, not yet due) — the rules of :func:`.analytics.answer_times`."""
    answered_at, respond_by = FEEDBACK.c.answered_at, FEEDBACK.c.respond_by
    answered = answered_at.is_not(None)
    within = and_(answered, answered_at <= respond_by)
    late = or_(and_(answered, answered_at > respond_by), and_(~answered, respond_by < now))
    pending = and_(~answered, respond_by >= now)
    channel = func.coalesce(FEEDBACK.c.channel, NO_KEY).label("channel")
    statement = (
        select(
            channel,
            func.count(),
            *[func.sum(case((condition, 1), else_=0)) for condition in (within, late, pending)],
        )
        .where(*window.conditions())
        .group_by(channel)
    )
    return [
        AnswerCount(str(c), int(n), int(w or 0), int(la or 0), int(p or 0))
        for c, n, w, la, p in connection.execute(statement)
    ]


@dataclass(frozen=True)
class ScoreCount:
    """Survey answers of one kind in one (period, channel, topic) group."""

    kind: str
    period: str
    channel: str
    topic: str
    responses: int
    total: int  # sum of the scores (CES)
    promoters: int  # NPS, analytics.PROMOTER_MIN and above
    detractors: int  # NPS, analytics.DETRACTOR_MAX and below
    satisfied: int  # CSAT, analytics.SATISFIED_MIN and above


def score_counts(
    connection: Connection, window: Window, period: Period, tz: str, roles: Roles = DEFAULT_ROLES
) -> list[ScoreCount]:
    """Survey answers per kind, local period, channel and topic (``-`` when missing)."""
    span = time_span(connection, window)
    if span is None:
        return []
    source, label = _joined([roles.topic])
    score = FEEDBACK.c.survey_score
    key = period_key(FEEDBACK.c.received_at, period, tz, *span).label("period")
    channel = func.coalesce(FEEDBACK.c.channel, NO_KEY).label("channel")
    topic = func.coalesce(label[roles.topic], NO_KEY).label("topic")
    statement = (
        select(
            FEEDBACK.c.survey_kind,
            key,
            channel,
            topic,
            func.count(),
            func.sum(score),
            *[
                func.sum(case((test, 1), else_=0))
                for test in (score >= PROMOTER_MIN, score <= DETRACTOR_MAX, score >= SATISFIED_MIN)
            ],
        )
        .select_from(source)
        .where(FEEDBACK.c.survey_kind.is_not(None), score.is_not(None), *window.conditions())
        .group_by(FEEDBACK.c.survey_kind, key, channel, topic)
    )
    return [
        ScoreCount(kind, period_label(p), ch, tp, int(n), int(s), int(pr), int(de), int(sa))
        for kind, p, ch, tp, n, s, pr, de, sa in connection.execute(statement)
    ]


@dataclass(frozen=True)
class TopicCount:
    topic: str | None
    count: int
    negative: int | None  # None: the model has no sentiment


def topic_counts(
    connection: Connection,
    begin: datetime,
    end: datetime,
    previous_begin: datetime,
    roles: Roles = DEFAULT_ROLES,
) -> tuple[list[TopicCount], list[TopicCount]]:
    """Items and negative items per topic in ``[begin, end)`` and in ``[previous_begin, begin)``
    (topic None: items without one, counted in the totals of what changed)."""
    source, label = _joined([roles.sentiment, roles.topic])
    current = case((FEEDBACK.c.received_at >= begin, 1), else_=0).label("current")
    topic = label[roles.topic].label("topic")
    negative = func.sum(_negative(label[roles.sentiment], roles))
    statement = (
        select(current, topic, func.count(), negative)
        .select_from(source)
        .where(FEEDBACK.c.received_at >= previous_begin, FEEDBACK.c.received_at < end)
        .group_by(current, topic)
    )
    now: list[TopicCount] = []
    before: list[TopicCount] = []
    for is_current, name, n, neg in connection.execute(statement):
        (now if is_current else before).append(TopicCount(name, int(n), _count(neg, roles)))
    return now, before


def sample_texts(
    connection: Connection,
    begin: datetime,
    end: datetime,
    topic: str,
    *,
    of_topic: bool,
    matching: int,
    cap: int,
    roles: Roles = DEFAULT_ROLES,
) -> list[tuple[str, bool]]:
    """(text, negative?) of the items received in ``[begin, end)`` whose topic is ``topic``
    (``of_topic``) or is not (``of_topic=False``): all of them when ``matching`` (how many
    there are) is at most ``cap``, else every ``ceil(matching / cap)``-th in arrival order — a
    systematic sample spread over the whole period, at most ``cap`` texts, the same on every
    call."""
    if matching <= 0 or cap <= 0:
        return []
    step = max(1, math.ceil(matching / cap))
    source, label = _joined([roles.topic])
    # a join on the label's key, not [NOT] EXISTS: without statistics (a fresh bulk load,
    # autovacuum off) PostgreSQL ran the anti-join as a nested loop over every label (52 s)
    chosen = label[roles.topic] == topic
    ranked = (
        select(
            FEEDBACK.c.id,
            func.row_number().over(order_by=(FEEDBACK.c.received_at, FEEDBACK.c.id)).label("rank"),
        )
        .select_from(source)
        .where(
            FEEDBACK.c.received_at >= begin,
            FEEDBACK.c.received_at < end,
            chosen if of_topic else or_(label[roles.topic].is_(None), ~chosen),
        )
        .subquery("ranked")
    )
    sentiment = LABELS.alias("label_sentiment")
    statement = (
        select(FEEDBACK.c.text, _negative(sentiment.c.label, roles))
        .select_from(
            ranked.join(FEEDBACK, FEEDBACK.c.id == ranked.c.id).outerjoin(
                sentiment,
                and_(sentiment.c.feedback_id == ranked.c.id, sentiment.c.task == roles.sentiment),
            )
        )
        .where((ranked.c.rank - 1) % step == 0)
        .order_by(ranked.c.rank)
        .limit(cap)
    )
    return [(str(text), bool(negative)) for text, negative in connection.execute(statement)]
