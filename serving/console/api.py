"""Insight endpoints the console draws from, over the triage queue (all JSON, read-only).

``GET /v1/insights/trends``
    Volume, negative share and mean urgency per day or week, overall and per topic or channel,
    plus the answer-time picture per channel (:mod:`.analytics`).
``GET /v1/insights/root-causes``
    For a topic and a period: the phrases that set it apart from its previous period and from
    the other topics, with example texts, and what changed across topics (:mod:`.rootcause`).
``GET /v1/insights/survey``
    NPS, CSAT and CES per period, channel and topic, with each topic's impact.

Every route needs a ``queue:read`` key when keys are asked for (:mod:`nabiz.serving.auth`): the
answers hold customer texts and counts from the queue. Periods are local to the priority policy's
time zone. The texts behind a point of a trend come
from ``GET /v1/queue`` with ``received_from``/``received_to`` and the topic or channel filter.

The database does the counting (:mod:`.aggregate`: ``GROUP BY`` local period, topic, channel);
Python gets one row per group and builds the answer (:mod:`.summaries`). Root causes read texts,
but at most :data:`ROOT_CAUSE_TEXTS` per group (the topic in the period, the topic in the
previous period, the other topics in the period), a systematic sample when there are more; the
answer says how many were read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from nabiz.serving.arrival import TIME_BOUND_HELP, TimeBound, in_zone
from nabiz.serving.auth import require
from nabiz.serving.console import aggregate, analytics, rootcause, schemas, summaries
from nabiz.serving.console.aggregate import Window
from nabiz.serving.console.frame import Roles
from nabiz.serving.errors import invalid_input
from nabiz.serving.inputs import Storable
from nabiz.serving.queue.deps import PolicyDep, PredictorDep, SessionDep
from nabiz.serving.queue.models import Feedback
from nabiz.serving.routes.queue import AUTH, check_label

# Texts read per group for root causes. Phrase counting (unigrams and bigrams, Python tokenizer)
# took 1.2 s for 100,000 short texts in the report's profile, so three full groups cost well under
# a second even for long texts; a larger group is sampled evenly over its period
# (aggregate.sample_texts).
ROOT_CAUSE_TEXTS = 2_000

# The scope is the router's: every insight reads the queue, so none can be added without it.
router = APIRouter(
    prefix="/v1/insights",
    tags=["insights"],
    dependencies=[Depends(require("queue:read"))],
    responses=AUTH,
)

PeriodQuery = Annotated[Literal["day", "week"], Query(description="Calendar day or ISO week.")]
FromQuery = Annotated[
    TimeBound | None, Query(description=f"Received at or after. {TIME_BOUND_HELP}")
]
ToQuery = Annotated[TimeBound | None, Query(description=f"Received before. {TIME_BOUND_HELP}")]


def _roles(predictor) -> Roles:
    """The served model's sentiment, topic and urgency tasks (its schema says which)."""
    return Roles.of(predictor.schema)


@router.get("/trends", response_model=schemas.TrendsPublic)
def trends(
    session: SessionDep,
    policy: PolicyDep,
    predictor: PredictorDep,
    period: PeriodQuery = "day",
    by: Annotated[Literal["topic", "channel"], Query()] = "topic",
    received_from: FromQuery = None,
    received_to: ToQuery = None,
) -> schemas.TrendsPublic:
    """Per period: volume, negative share, mean urgency; and answers within target per channel.

    Every period from the window's start (or the first item's) to its end (or the last item's)
    is listed, the empty ones with volume 0 and no shares, so a chart's days are evenly spaced.
    """
    connection = session.connection()
    tz = policy.timezone
    window = Window(in_zone(received_from, policy.zone), in_zone(received_to, policy.zone))
    counts = aggregate.trend_counts(connection, window, period, by, tz, _roles(predictor))
    span = analytics.window_periods(window.received_from, window.received_to, period, tz)
    result = summaries.trends_from_counts(counts, period, by, span)
    answers = aggregate.answer_counts(connection, window, datetime.now(UTC))
    return schemas.TrendsPublic(
        timezone=tz,
        bounds=_within(window, [analytics.period_bounds(p, period, tz) for p in result["periods"]]),
        answer_times=summaries.answer_times_from_counts(answers),
        **result,
    )


def _within(window: Window, bounds: list[tuple[datetime, datetime]]):
    """Each period's range cut at the window's ends: a week the window starts or ends inside
    counted only its part, and its bounds select in the queue what was counted."""
    low, high = window.received_from, window.received_to
    return [
        (max(begin, low) if low else begin, min(end, high) if high else end)
        for begin, end in bounds
    ]


@router.get("/root-causes", response_model=schemas.RootCausesPublic)
def root_causes(
    session: SessionDep,
    policy: PolicyDep,
    predictor: PredictorDep,
    topic: Annotated[str | None, Query(max_length=128), Storable] = None,
    period: PeriodQuery = "week",
    start: Annotated[
        date | None,
        Query(description="Local start date of the period (YYYY-MM-DD); default: the latest."),
    ] = None,
) -> schemas.RootCausesPublic:
    """What sets a topic's feedback apart in a period, and which topics moved.

    A week starts on its Monday (ISO): a `start` inside the week means the week that holds it,
    and the answer's `start` says which Monday that was."""
    tz = policy.timezone
    roles = _roles(predictor)
    if topic is not None:  # as the queue's topic filter: a label of the topic task
        check_label(predictor.schema, roles.topic or "topic", topic, ("query", "topic"), topic)
    if start is not None and not 1970 <= start.year <= 2200:  # what pandas' timestamps hold
        raise invalid_input(
            ("query", "start"), "start must be a date from 1970 to 2200", str(start)
        )
    if start is not None and period == "week":
        start -= timedelta(days=start.weekday())
    if start is None:
        latest = session.scalar(select(func.max(Feedback.received_at)))
        if latest is None:
            return schemas.RootCausesPublic(
                topic=topic, period=period, start=None, previous_start=None, count=0,
                vs_previous=[], vs_topics=[], changes=[], text_cap=ROOT_CAUSE_TEXTS,
                texts_read=schemas.TextsRead(topic=0, previous=0, other_topics=0),
            )  # fmt: skip
        start = analytics.period_start(pd.Series([pd.Timestamp(latest)]), period, tz).iloc[0]
    begin, end = analytics.period_bounds(str(start), period, tz)
    previous_begin = begin - (end - begin)
    previous_start = analytics.period_start(pd.Series([pd.Timestamp(previous_begin)]), period, tz)
    connection = session.connection()
    now, before = aggregate.topic_counts(connection, begin, end, previous_begin, roles)
    changes = summaries.changes_from_topic_counts(now, before)
    vs_previous: list[dict] = []
    vs_topics: list[dict] = []
    count = 0
    groups: list[list[tuple[str, bool]]] = [[], [], []]
    if topic is not None:
        count = sum(c.count for c in now if c.topic == topic)
        matching = (count, sum(c.count for c in before if c.topic == topic))
        others = sum(c.count for c in now) - count
        groups = [
            aggregate.sample_texts(
                connection,
                *span,
                topic,
                of_topic=of_topic,
                matching=n,
                cap=ROOT_CAUSE_TEXTS,
                roles=roles,
            )
            for span, of_topic, n in [
                ((begin, end), True, matching[0]),
                ((previous_begin, begin), True, matching[1]),
                ((begin, end), False, others),
            ]
        ]
        texts = [pair for group in groups for pair in group]
        counted = rootcause.PhraseCounts.of([text for text, _ in texts])
        negative = np.array([is_negative for _, is_negative in texts], dtype=bool)
        sizes = [len(group) for group in groups]
        target, previous, other = (np.repeat(np.eye(3, dtype=bool)[i], sizes) for i in range(3))
        vs_previous = rootcause.distinctive_phrases(counted, target, previous, prefer=negative)
        vs_topics = rootcause.distinctive_phrases(counted, target, other, prefer=negative)
    return schemas.RootCausesPublic(
        topic=topic,
        period=period,
        start=str(start),
        previous_start=str(previous_start.iloc[0]),
        count=count,
        vs_previous=vs_previous,  # type: ignore[arg-type]
        vs_topics=vs_topics,  # type: ignore[arg-type]
        changes=changes,  # type: ignore[arg-type]
        text_cap=ROOT_CAUSE_TEXTS,
        texts_read=schemas.TextsRead(
            topic=len(groups[0]), previous=len(groups[1]), other_topics=len(groups[2])
        ),
    )


@router.get("/survey", response_model=schemas.SurveyPublic)
def survey(
    session: SessionDep,
    policy: PolicyDep,
    predictor: PredictorDep,
    period: PeriodQuery = "week",
    received_from: FromQuery = None,
    received_to: ToQuery = None,
) -> schemas.SurveyPublic:
    """NPS (% promoters − % detractors), CSAT (% 4-5) and CES (mean), with topic impacts."""
    window = Window(in_zone(received_from, policy.zone), in_zone(received_to, policy.zone))
    counts = aggregate.score_counts(
        session.connection(), window, period, policy.timezone, _roles(predictor)
    )
    metrics = summaries.survey_from_counts(counts)
    return schemas.SurveyPublic(period=period, metrics=metrics)  # type: ignore[arg-type]


__all__ = ["router"]
