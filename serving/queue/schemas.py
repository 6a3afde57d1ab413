"""Request and response models of the triage queue API.

Limits live here, so a bad request is a 422 that names its field. Which tasks and labels a
correction may use is not known until a model is loaded; the route checks corrections against
the model's schema and answers with the same 422 shape.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from nabiz.serving.arrival import ArrivalTime
from nabiz.serving.inputs import Storable, has_content, storable
from nabiz.serving.queue.models import ID_MAX_LENGTH, SURVEY_RANGES, Feedback, Status
from nabiz.settings import get_settings

MAX_TEXT_CHARS = get_settings().max_text_chars
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


def _not_a_dot_segment(value: str) -> str:
    """``.`` and ``..`` are path segments to every URL library: ``GET /v1/feedback/..`` is sent
    as ``GET /v1/``, so an item stored under them could never be read, changed or deleted."""
    if value in (".", ".."):
        raise ValueError(f"{value!r} cannot be an id: URLs read it as a folder step")
    return value


# A decomposed id is longer than the id it names ("ş" as "s" + U+0327): the raw text may be this
# many times ID_MAX_LENGTH; the composed form is held to ID_MAX_LENGTH.
RAW_ID_MAX_LENGTH = 4 * ID_MAX_LENGTH


def nfc(value: str) -> str:
    """An id in Unicode's composed form (NFC), at most ``ID_MAX_LENGTH`` characters: ``ş`` typed
    as ``s`` + combining cedilla (macOS file names, some keyboards) names the same item as the
    one-character ``ş``. The length is the composed form's, the one stored."""
    composed = unicodedata.normalize("NFC", value)
    if len(composed) > ID_MAX_LENGTH:
        raise PydanticCustomError(
            "string_too_long",
            "String should have at most {max_length} characters",
            {"max_length": ID_MAX_LENGTH},
        )
    return composed


FeedbackId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=RAW_ID_MAX_LENGTH, pattern=r"^[^\s/]+$"),
    AfterValidator(nfc),
    AfterValidator(_not_a_dot_segment),
    Storable,
]
LabelValue = str | list[str]
SurveyKind = Literal["nps", "csat", "ces"]


class SurveyScore(BaseModel):
    """A survey answer sent with the feedback: NPS 0-10, CSAT 1-5 or CES 1-7."""

    model_config = ConfigDict(extra="forbid")

    kind: SurveyKind
    score: int

    @model_validator(mode="after")
    def _score_in_range(self) -> SurveyScore:
        low, high = SURVEY_RANGES[self.kind]
        if not low <= self.score <= high:
            raise ValueError(f"a {self.kind} score is {low}..{high}, not {self.score}")
        return self


class FeedbackCreate(BaseModel):
    """A customer text to tag, prioritize and queue. ``id`` is the client's: posting it again is
    safe (the stored item comes back), posting it with another text is a conflict (409)."""

    model_config = ConfigDict(extra="forbid")

    id: FeedbackId = Field(
        description="The client's id of this feedback; no spaces or '/', not '.' or '..'; "
        "stored in Unicode's composed form (NFC), at most 128 characters in it."
    )
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    channel: str | None = Field(
        default=None, max_length=64, description="Where it came from; normalized by the policy."
    )
    received_at: ArrivalTime | None = Field(
        default=None,
        description="When the customer sent it (ISO 8601). Without an offset it is read in the "
        "policy's timezone, as on /v1/predict; default: now. Later than now (beyond a small clock "
        "skew, NABIZ_MAX_CLOCK_SKEW_S) is a 422, and so is a time before 1970.",
    )
    survey: SurveyScore | None = Field(
        default=None, description="The survey answer that came with it (NPS, CSAT or CES)."
    )

    @field_validator("text", "channel")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return storable(value)

    @field_validator("text")
    @classmethod
    def _text_has_content(cls, text: str) -> str:
        return has_content(text)  # the rule of /v1/predict


class FeedbackUpdate(BaseModel):
    """A person's handling of an item: a new status, corrected labels, or both.

    ``corrections`` is merged into the item's corrections task by task; ``null`` for a task
    removes that correction. A single-label task takes a label, a multi-label task a list.
    """

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    corrections: dict[str, LabelValue | None] | None = None
    corrected_by: str | None = Field(default=None, max_length=128)

    @field_validator("corrected_by")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return storable(value)

    @model_validator(mode="after")
    def _changes_something(self) -> FeedbackUpdate:
        if self.status is None and self.corrections is None:
            raise ValueError("give a status, corrections, or both")
        return self


class TaskPredictionPublic(BaseModel):
    label: str = Field(description="The top-scoring label.")
    labels: list[str] = Field(description="Single-label: [label]; multi-label: those chosen.")
    scores: dict[str, float] = Field(description="Every label's score, in schema order.")


class PredictionPublic(BaseModel):
    model_name: str
    model_version: str
    tasks: dict[str, TaskPredictionPublic]
    truncated: bool = False


class PriorityPublic(BaseModel):
    level: str = Field(description="P1 (most urgent) … P4.")
    score: float
    respond_by: datetime = Field(
        description="In the priority policy's timezone, as on /v1/predict."
    )
    reasons: list[Any] = Field(default_factory=list)
    factors: dict[str, Any] = Field(default_factory=dict)


class FeedbackPublic(BaseModel):
    id: str
    text: str
    channel: str | None
    received_at: datetime = Field(description="In the priority policy's timezone.")
    created_at: datetime
    updated_at: datetime
    status: Status
    prediction: PredictionPublic
    priority: PriorityPublic
    corrections: dict[str, LabelValue] = Field(
        default_factory=dict, description="A person's labels, by task; empty when uncorrected."
    )
    corrected_by: str | None = None
    corrected_at: datetime | None = None
    answered_at: datetime | None = Field(
        default=None,
        description="When a person marked it resolved (what the respond-by asks for; "
        "'in_progress' only says someone took it; reopened, it is unanswered again).",
    )
    survey: SurveyScore | None = None
    labels: dict[str, LabelValue] = Field(
        description="Effective labels: the corrections where made, else the model's labels."
    )
    overdue: bool = Field(
        default=False,
        description="Past its respond-by and not resolved: the queue shows it first, and "
        "`GET /v1/queue?overdue=true` lists exactly these.",
    )

    @classmethod
    def from_row(
        cls, row: Feedback, *, zone: tzinfo, now: datetime | None = None
    ) -> FeedbackPublic:
        """The item as the API answers it; its times in ``zone`` (the priority policy's: the
        zone ``respond_by`` is promised in, as on ``/v1/predict``), the same instants as stored
        (in UTC). ``overdue`` at ``now`` (default: the clock) by :meth:`Feedback.overdue_at`."""

        def local(moment: datetime) -> datetime:
            return moment.astimezone(zone)

        tasks = {}
        for task, scores in row.scores.items():
            chosen = row.labels.get(task)
            top = max(scores, key=scores.__getitem__) if scores else str(chosen)
            labels = chosen if isinstance(chosen, list) else [chosen]
            tasks[task] = TaskPredictionPublic(label=top, labels=labels, scores=scores)
        return cls(
            id=row.id,
            text=row.text,
            channel=row.channel,
            received_at=local(row.received_at),
            created_at=local(row.created_at),
            updated_at=local(row.updated_at),
            status=Status(row.status),
            prediction=PredictionPublic(
                model_name=row.model_name,
                model_version=row.model_version,
                tasks=tasks,
                truncated=row.truncated,
            ),
            priority=PriorityPublic(
                level=row.priority_level,
                score=row.priority_score,
                respond_by=local(row.respond_by),
                reasons=row.priority_reasons or [],
                factors=row.priority_factors or {},
            ),
            corrections=row.corrections or {},
            corrected_by=row.corrected_by,
            corrected_at=local(row.corrected_at) if row.corrected_at else None,
            answered_at=local(row.answered_at) if row.answered_at else None,
            survey=(
                SurveyScore(kind=row.survey_kind, score=row.survey_score)  # type: ignore[arg-type]
                if row.survey_kind is not None and row.survey_score is not None
                else None
            ),
            labels=row.effective_labels(),
            overdue=bool(row.overdue_at(now or datetime.now(UTC))),
        )


class QueuePage(BaseModel):
    """One page of the queue, most urgent first; ``count`` is the total that match."""

    count: int
    items: list[FeedbackPublic]
    limit: int
    offset: int
