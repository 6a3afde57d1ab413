"""Response models of the insight endpoints (``/v1/insights/...``) the console draws from."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class TrendSeries(BaseModel):
    key: str = Field(description="'hepsi' (every item) or a topic/channel.")
    volume: list[int]
    negative_share: list[float | None] = Field(
        description="Share of negative sentiment (the sentiment task's negative labels, "
        "'olumsuz' in the default taxonomy), 0..1; null without items or without a sentiment task."
    )
    mean_urgency: list[float | None] = Field(description="Mean urgency index, 0 = dusuk.")


class AnswerTime(BaseModel):
    channel: str
    items: int
    within: int = Field(description="Answered (moved out of open) by respond_by.")
    late: int = Field(description="Answered after respond_by, or past it and unanswered.")
    pending: int = Field(description="Unanswered and not yet due.")
    within_share: float | None = Field(description="within / (within + late).")


class TrendsPublic(BaseModel):
    period: Literal["day", "week"]
    by: Literal["topic", "channel"]
    timezone: str
    periods: list[str] = Field(description="Local start date of each period, YYYY-MM-DD.")
    bounds: list[tuple[datetime, datetime]] = Field(
        description=(
            "Each period as a UTC [from, to) range, for GET /v1/queue's filters: the "
            "first and last cut at the requested window's ends, as their counts are."
        )
    )
    series: list[TrendSeries]
    answer_times: list[AnswerTime]


class Phrase(BaseModel):
    phrase: str
    z: float = Field(description="z-score of the weighted log-odds (>= 1.96 listed).")
    log_odds: float
    count: int = Field(description="Texts of interest that use the phrase.")
    count_other: int = Field(description="Comparison texts that use the phrase.")
    examples: list[str]


class Change(BaseModel):
    topic: str
    count: int
    count_before: int
    share: float | None
    share_before: float | None
    share_change: float | None
    share_p: float | None
    share_q: float | None = Field(description="Benjamini-Hochberg adjusted p.")
    negative_share: float | None
    negative_share_before: float | None
    negative_change: float | None
    negative_p: float | None
    negative_q: float | None
    significant: bool = Field(description="share_q or negative_q below 0.05.")


class TextsRead(BaseModel):
    """How many texts the phrases were counted on (at most ``text_cap`` per group)."""

    topic: int = Field(description="Of the topic in the period.")
    previous: int = Field(description="Of the topic in the previous period.")
    other_topics: int = Field(description="Of the other topics in the period.")


class RootCausesPublic(BaseModel):
    topic: str | None
    period: Literal["day", "week"]
    start: str | None = Field(description="Local start date of the period examined.")
    previous_start: str | None
    count: int = Field(description="Items of the topic in the period.")
    vs_previous: list[Phrase] = Field(description="Against the topic's previous period.")
    vs_topics: list[Phrase] = Field(description="Against the other topics, same period.")
    changes: list[Change] = Field(description="Every topic, this period against the previous.")
    text_cap: int = Field(
        description="At most this many texts are read per group; a larger group is sampled "
        "evenly over its period (every k-th in arrival order)."
    )
    texts_read: TextsRead


class SurveyCell(BaseModel):
    key: str
    value: float | None
    responses: int
    impact: float | None = Field(
        default=None, description="Metric without this topic minus the metric with it."
    )


class SurveyMetric(BaseModel):
    kind: Literal["nps", "csat", "ces"]
    name: str
    value: float | None
    responses: int
    by_period: list[SurveyCell]
    by_channel: list[SurveyCell]
    by_topic: list[SurveyCell]


class SurveyPublic(BaseModel):
    period: Literal["day", "week"]
    metrics: list[SurveyMetric]
