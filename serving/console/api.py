"""Insight endpoints the console draws from, over the triage queue (all JSON, read-only).

``GET /v1/insights/trends``
    Volume, negative share and mean urgency per day or week, overall and per topic or channel,
    plus the answer-time picture per channel (:mod:`.analytics`).
``GET /v1/insights/root-causes``
    For a topic and a period: the phrases that set it apart from its previous period and from
    the other topics, with example texts, and what changed across topics (:mod:`.rootcause`).
``GET /v1/insights/survey``
    NPS, CSAT and CES per period, channel and topic, with each topic's impact.

Periods are local to the priority policy's time zone. The texts behind a point of a trend come
from ``GET /v1/queue`` with ``received_from``/``received_to`` and the topic or channel filter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime
from sqlalchemy import func, select

from nabiz.serving.console import analytics, rootcause, schemas
from nabiz.serving.console.frame import NEGATIVE
from nabiz.serving.console.store import load_frame
from nabiz.serving.queue.deps import PolicyDep, PredictorDep, SessionDep
from nabiz.serving.queue.models import Feedback

router = APIRouter(prefix="/v1/insights", tags=["insights"])

PeriodQuery = Annotated[Literal["day", "week"], Query(description="Calendar day or ISO week.")]
FromQuery = Annotated[AwareDatetime | None, Query(description="Received at or after.")]
ToQuery = Annotated[AwareDatetime | None, Query(description="Received before.")]


def _urgency_order(predictor) -> tuple[str, ...] | None:
    schema = predictor.schema
    return tuple(schema.task("urgency").labels) if "urgency" in schema else None


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
    """Per period: volume, negative share, mean urgency; and answers within target per channel."""
    frame = load_frame(session, received_from, received_to, urgency_order=_urgency_order(predictor))
    result = analytics.trends(frame, period, by, policy.timezone)
    return schemas.TrendsPublic(
        timezone=policy.timezone,
        bounds=[analytics.period_bounds(p, period, policy.timezone) for p in result["periods"]],
        answer_times=analytics.answer_times(frame, datetime.now(UTC)),
        **result,
    )


@router.get("/root-causes", response_model=schemas.RootCausesPublic)
def root_causes(
    session: SessionDep,
    policy: PolicyDep,
    topic: Annotated[str | None, Query(max_length=128)] = None,
    period: PeriodQuery = "week",
    start: Annotated[
        date | None,
        Query(description="Local start date of the period (YYYY-MM-DD); default: the latest."),
    ] = None,
) -> schemas.RootCausesPublic:
    """What sets a topic's feedback apart in a period, and which topics moved."""
    tz = policy.timezone
    if start is not None and not 1970 <= start.year <= 2200:  # what pandas' timestamps hold
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "start"),
                    "msg": "start must be a date from 1970 to 2200",
                    "type": "value_error",
                    "input": str(start),
                }
            ]
        )
    if start is None:
        latest = session.scalar(select(func.max(Feedback.received_at)))
        if latest is None:
            return schemas.RootCausesPublic(
                topic=topic, period=period, start=None, previous_start=None, count=0,
                vs_previous=[], vs_topics=[], changes=[],
            )  # fmt: skip
        start = analytics.period_start(pd.Series([pd.Timestamp(latest)]), period, tz).iloc[0]
    begin, end = analytics.period_bounds(str(start), period, tz)
    previous_begin = begin - (end - begin)
    previous_start = analytics.period_start(pd.Series([pd.Timestamp(previous_begin)]), period, tz)
    frame = load_frame(session, previous_begin, end, with_text=True)
    now = (frame["received_at"] >= begin).to_numpy()
    changes = rootcause.what_changed(frame[now], frame[~now])
    vs_previous: list[dict] = []
    vs_topics: list[dict] = []
    count = 0
    if topic is not None and not frame.empty:
        counted = rootcause.PhraseCounts.of(frame["text"].tolist())
        negative = (frame["sentiment"] == NEGATIVE).to_numpy()
        of_topic = (frame["topic"] == topic).to_numpy()
        count = int((of_topic & now).sum())
        vs_previous = rootcause.distinctive_phrases(
            counted, of_topic & now, of_topic & ~now, prefer=negative
        )
        vs_topics = rootcause.distinctive_phrases(
            counted, of_topic & now, ~of_topic & now, prefer=negative
        )
    return schemas.RootCausesPublic(
        topic=topic,
        period=period,
        start=str(start),
        previous_start=str(previous_start.iloc[0]),
        count=count,
        vs_previous=vs_previous,  # type: ignore[arg-type]
        vs_topics=vs_topics,  # type: ignore[arg-type]
        changes=changes,  # type: ignore[arg-type]
    )


@router.get("/survey", response_model=schemas.SurveyPublic)
def survey(
    session: SessionDep,
    policy: PolicyDep,
    period: PeriodQuery = "week",
    received_from: FromQuery = None,
    received_to: ToQuery = None,
) -> schemas.SurveyPublic:
    """NPS (% promoters − % detractors), CSAT (% 4-5) and CES (mean), with topic impacts."""
    frame = load_frame(session, received_from, received_to)
    metrics = analytics.survey_metrics(frame, period, policy.timezone)
    return schemas.SurveyPublic(period=period, metrics=metrics)  # type: ignore[arg-type]


__all__ = ["router"]
