"""The /v1 JSON contract: request and response models, their limits and their Turkish examples.

Limits live here, on the models (list length, text length, id and channel length), so that a bad
request is a 422 naming the field before any model code runs. The item limit and the text limit
are settings (``NABIZ_MAX_ITEMS``, ``NABIZ_MAX_TEXT_CHARS``); :func:`predict_request_model` builds
the request model with an app's own limits, so its OpenAPI document states the limits it enforces.

Task names are not fixed: they come from the loaded model's label schema. Every item carries
``tasks: {task: {label, scores, labels}}`` for every task of the schema, in schema order, and for
convenience each task again as a top-level key of the item (``item["sentiment"]`` is
``item["tasks"]["sentiment"]``), except a task whose name is one of the item's own fields
(:data:`ITEM_FIELDS`), which appears under ``tasks`` only. OpenAPI describes those keys as
``additionalProperties`` of type ``TaskResult``; ``GET /v1/model`` lists the tasks and labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from nabiz.model.predictor import ModelInfo, Prediction, Predictor, TaskPrediction
from nabiz.model.schema import TaskKind, TaskRole
from nabiz.serving.arrival import ArrivalTime
from nabiz.serving.inputs import has_content, storable
from nabiz.serving.priority import Priority

DEFAULT_MAX_ITEMS = 256
DEFAULT_MAX_TEXT_CHARS = 20_000
MAX_ID_CHARS = 256
MAX_CHANNEL_CHARS = 64

EXAMPLE_TEXTS = [
    "Faturama tanımadığım bir ek paket ücreti yansımış, iki gündür müşteri hizmetlerine "
    "ulaşamıyorum. Acilen iade istiyorum!",
    "Mağazadaki çalışan arkadaş çok ilgiliydi, yeni hattımı beş dakikada açtı. Teşekkürler.",
]

# --- request -----------------------------------------------------------------------------------


class FeedbackItem(BaseModel):
    """One customer message to tag."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "sikayet-1042",
                    "text": EXAMPLE_TEXTS[0],
                    "channel": "twitter",
                    "received_at": "2025-03-14T09:30:00+03:00",
                }
            ]
        },
    )

    text: str = Field(
        min_length=1,
        max_length=DEFAULT_MAX_TEXT_CHARS,
        description="The feedback text (Turkish). Must hold a visible character (not only "
        "whitespace, control or zero-width characters) and no NUL.",
        examples=[EXAMPLE_TEXTS[0]],
    )
    id: str | None = Field(
        default=None,
        max_length=MAX_ID_CHARS,
        description="Your id for the item; echoed back unchanged.",
        examples=["sikayet-1042"],
    )
    channel: str | None = Field(
        default=None,
        max_length=MAX_CHANNEL_CHARS,
        description=(
            "Where the feedback arrived (a channel of the priority policy or one of its aliases; "
            "case and Turkish accents don't matter). Sets the answer-time target; the policy's "
            "default channel when absent. An unknown channel is a 422."
        ),
        examples=["twitter", "çağrı merkezi"],
    )
    received_at: ArrivalTime | None = Field(
        default=None,
        description=(
            "When the feedback arrived (ISO 8601). Without an offset it is read in the policy's "
            "timezone (Europe/Istanbul); absent means now."
        ),
        examples=["2025-03-14T09:30:00+03:00"],
    )

    @field_validator("text", "id", "channel")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        """The rule of ``/v1/feedback``: NUL and lone surrogates are a 422, not stripped
        (:mod:`nabiz.serving.inputs` says why)."""
        return storable(value)

    @field_validator("text")
    @classmethod
    def _text_has_content(cls, text: str) -> str:
        return has_content(text)


class PredictRequest(BaseModel):
    """A batch of 1..max_items feedback items; results come back in the same order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": "sikayet-1042",
                            "text": EXAMPLE_TEXTS[0],
                            "channel": "twitter",
                            "received_at": "2025-03-14T09:30:00+03:00",
                        },
                        {"id": "yorum-77", "text": EXAMPLE_TEXTS[1], "channel": "magaza"},
                    ]
                }
            ]
        },
    )

    items: list[FeedbackItem] = Field(min_length=1, max_length=DEFAULT_MAX_ITEMS)


def predict_request_model(
    max_items: int = DEFAULT_MAX_ITEMS, max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
) -> type[PredictRequest]:
    """The request model with these limits (the defaults give the module's own classes)."""
    if max_items == DEFAULT_MAX_ITEMS and max_text_chars == DEFAULT_MAX_TEXT_CHARS:
        return PredictRequest
    text_field = FeedbackItem.model_fields["text"]
    item_model = create_model(
        "FeedbackItem",
        __base__=FeedbackItem,
        __module__=__name__,
        text=(
            str,
            Field(
                min_length=1,
                max_length=max_text_chars,
                description=text_field.description,
                examples=text_field.examples,
            ),
        ),
    )
    item_model.__doc__ = FeedbackItem.__doc__
    request_model = create_model(
        "PredictRequest",
        __base__=PredictRequest,
        __module__=__name__,
        items=(list[item_model], Field(min_length=1, max_length=max_items)),
    )
    request_model.__doc__ = PredictRequest.__doc__
    return request_model


# --- response ----------------------------------------------------------------------------------


class TaskResult(BaseModel):
    """One task's answer for one text."""

    label: str = Field(
        description="The top-scoring label. For a multi-label task it is there even when no "
        "label reaches its threshold: what the text was tagged with is `labels`.",
        examples=["olumsuz"],
    )
    scores: dict[str, float] = Field(
        description=(
            "Every label of the task with its score, in the schema's label order: probabilities "
            "that sum to 1 for single-label and ordinal tasks, independent sigmoid scores for "
            "multi-label tasks."
        ),
        examples=[{"olumsuz": 0.91, "notr": 0.06, "olumlu": 0.03}],
    )
    labels: list[str] = Field(
        description=(
            "Single-label and ordinal tasks: [label]. Multi-label tasks: every label whose score "
            "reaches its threshold (possibly none)."
        ),
        examples=[["olumsuz"]],
    )

    @classmethod
    def from_prediction(cls, prediction: TaskPrediction) -> TaskResult:
        return cls(label=prediction.label, scores=prediction.scores, labels=prediction.labels)


class ItemResult(BaseModel):
    """Tags, scores and priority of one item; ``index`` is its place in the request."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "description": (
                "Besides the fields below, every task of the model whose name is not one of them "
                "appears again as a top-level key with the same TaskResult as under `tasks` "
                "(e.g. `sentiment`, `topic`, `urgency`); GET /v1/model lists the tasks."
            )
        },
    )
    __pydantic_extra__: dict[str, TaskResult] = Field(init=False)

    index: int = Field(ge=0, description="Position of the item in the request.")
    id: str | None = Field(description="The item's id, as sent (null when none was sent).")
    tasks: dict[str, TaskResult] = Field(
        description="Every task of the model's schema, in schema order."
    )
    priority: Priority
    truncated: bool = Field(
        description="True when the text was longer than the model reads and was cut (head+tail)."
    )
    personal_data: list[str] = Field(
        default_factory=list,
        description=(
            "Kinds of personal data found in the text and masked before the model saw it "
            "(iban, eposta, hesap, telefon, kart, tckn); never the values themselves."
        ),
        examples=[["telefon"]],
    )

    @classmethod
    def build(
        cls,
        index: int,
        prediction: Prediction,
        priority: Priority,
        item_id: str | None = None,
        personal_data: list[str] | None = None,
    ) -> ItemResult:
        tasks = {name: TaskResult.from_prediction(p) for name, p in prediction.tasks.items()}
        aliases = {name: result for name, result in tasks.items() if name not in ITEM_FIELDS}
        return cls(
            index=index,
            id=item_id,
            tasks=tasks,
            priority=priority,
            truncated=prediction.truncated,
            personal_data=personal_data or [],
            **aliases,
        )


ITEM_FIELDS = frozenset(ItemResult.model_fields)


class ModelRef(BaseModel):
    name: str = Field(examples=["nabiz-tr"])
    version: str = Field(examples=["0.1.0"])

    @classmethod
    def of(cls, info: ModelInfo) -> ModelRef:
        return cls(name=info.name, version=info.version)


def _task_example(scores: dict[str, float]) -> dict[str, Any]:
    top = max(scores, key=scores.__getitem__)
    return {"label": top, "scores": scores, "labels": [top]}


_EXAMPLE_TASKS = {
    "sentiment": _task_example({"olumsuz": 0.93, "notr": 0.05, "olumlu": 0.02}),
    "topic": _task_example(
        {
            "fatura_odeme": 0.81,
            "fiyat_kampanya": 0.06,
            "musteri_hizmetleri": 0.07,
            "uygulama_web": 0.01,
            "sebeke_hizmet_kalitesi": 0.01,
            "urun_paket": 0.02,
            "iptal_tasima": 0.01,
            "reklam_mesaj": 0.0,
            "magaza_bayi": 0.0,
            "diger": 0.01,
        }
    ),
    "urgency": _task_example({"dusuk": 0.04, "orta": 0.21, "yuksek": 0.75}),
    "aksiyon": _task_example({"hayir": 0.08, "evet": 0.92}),
}
PREDICT_RESPONSE_EXAMPLE = {
    "request_id": "3f2c9a7e5b1d4e6f8a0b1c2d3e4f5a6b",
    "model": {"name": "nabiz-tr", "version": "0.1.0"},
    "count": 1,
    "items": [
        {
            "index": 0,
            "id": "sikayet-1042",
            "tasks": _EXAMPLE_TASKS,
            "priority": {
                "level": "P1",
                "score": 0.8477,
                "respond_by": "2025-03-14T10:30:00+03:00",
                "reasons": [
                    "seviye P1: skor 0.85 ≥ 0.75",
                    "aciliyet: yuksek olasılığı 0.75 → +0.43",
                    "duygu: olumsuz olasılığı 0.93 → +0.19",
                    "aksiyon: evet olasılığı 0.92 → +0.18",
                    "konu: fatura_odeme olasılığı 0.81 → +0.05",
                    "kanal sosyal_medya (twitter): hedef 4 saat; P1 ×0.25 → 1 saat",
                ],
                "factors": {
                    "urgency": 0.4275,
                    "negative_sentiment": 0.186,
                    "needs_action": 0.184,
                    "topic_risk": 0.0502,
                },
            },
            "truncated": False,
            **_EXAMPLE_TASKS,
        }
    ],
}


class PredictResponse(BaseModel):
    """Results for every item of the request, in request order."""

    model_config = ConfigDict(json_schema_extra={"examples": [PREDICT_RESPONSE_EXAMPLE]})

    request_id: str = Field(description="Also in the X-Request-ID header; quote it in reports.")
    model: ModelRef
    count: int = Field(ge=0, description="Number of items.")
    items: list[ItemResult]


# --- model, health -------------------------------------------------------------------------------


class TaskPublic(BaseModel):
    name: str = Field(examples=["sentiment"])
    kind: TaskKind
    labels: list[str] = Field(examples=[["olumsuz", "notr", "olumlu"]])
    description: str = ""
    thresholds: dict[str, float] | None = None
    role: TaskRole | None = Field(
        default=None,
        description="The role the task plays for the console (its config's `role`, or its name): "
        "the sentiment, topic or urgency that the console charts and filters by.",
    )
    title: str | None = Field(default=None, description="The task's name for people.")
    display: dict[str, str] = Field(
        default_factory=dict,
        description="Label → the words people read, where the model's config gives them; "
        "show a label without one as it is.",
    )


class Limits(BaseModel):
    max_items: int
    max_text_chars: int
    batch_max_size: int
    batch_max_wait_ms: float


class ModelPublic(BaseModel):
    """The loaded model: what it predicts and how well it did on its test split."""

    model_config = ConfigDict(protected_namespaces=())

    name: str
    version: str
    model_type: str
    created_at: str
    base_model: str | None
    max_length: int | None
    engine: str = Field(
        description="What computes the scores in this server: the runtime, precision and "
        "device of the transformer (torch or ONNX Runtime, chosen by NABIZ_RUNTIME and "
        "NABIZ_PRECISION), and the baseline it is mixed with."
    )
    tasks: list[TaskPublic]
    channels: dict[str, list[str]] = Field(
        description="Channels the priority policy accepts, with their aliases."
    )
    channel_titles: dict[str, str] = Field(
        default_factory=dict, description="Channel → its name for people, where the policy has one."
    )
    metrics: dict[str, Any] = Field(
        description="Summary of the evaluation saved with the model (figures only, no tables)."
    )
    limits: Limits

    @classmethod
    def of(
        cls,
        predictor: Predictor,
        channels: Mapping[str, list[str]],
        limits: Limits,
        channel_titles: Mapping[str, str] | None = None,
    ):
        info = predictor.info
        schema = predictor.schema
        roles = {task.name: role for role in TaskRole if (task := schema.role(role)) is not None}
        return cls(
            name=info.name,
            version=info.version,
            model_type=info.model_type,
            created_at=info.created_at,
            base_model=info.base_model,
            max_length=info.max_length,
            engine=predictor.engine,
            tasks=[
                TaskPublic(
                    name=t.name,
                    kind=t.kind,
                    labels=t.labels,
                    description=t.description,
                    thresholds=t.thresholds,
                    role=roles.get(t.name),
                    title=t.title,
                    display=t.display or {},
                )
                for t in schema.tasks
            ],
            channels=dict(channels),
            channel_titles=dict(channel_titles or {}),
            metrics=summarize_metrics(predictor.metrics),
            limits=limits,
        )


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str] = Field(
        description="Each check ('model', 'database', 'batcher') and 'ok' or what is wrong.",
        examples=[{"model": "ok", "database": "ok", "batcher": "ok"}],
    )


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(
        description="Where the problem is, e.g. ['body', 'items', 3, 'text']."
    )
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    detail: list[ErrorDetail]
    request_id: str | None = None


class ErrorResponse(BaseModel):
    detail: str
    request_id: str | None = None


# --- helpers -------------------------------------------------------------------------------------

_DROPPED_METRICS = frozenset({"per_class", "confusion_matrix", "history", "by_source"})


def summarize_metrics(metrics: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """The figures of ``metrics.json``: nested mappings of numbers and strings, no tables."""
    summary: dict[str, Any] = {}
    for key, value in metrics.items():
        if key in _DROPPED_METRICS:
            continue
        if isinstance(value, Mapping):
            if depth < 5:
                nested = summarize_metrics(value, depth + 1)
                if nested:
                    summary[str(key)] = nested
        elif isinstance(value, bool | int | float | str) or value is None:
            summary[str(key)] = value
    return summary
