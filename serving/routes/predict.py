"""``POST /v1/predict``: tag 1..max_items texts and prioritize them.

The texts go through the app's micro-batcher, so concurrent requests share forward passes and the
event loop never runs the model. Channels are checked against the priority policy before any
inference: an unknown one is a 422 at ``body.items.<i>.channel``.

The router is built per app (:func:`make_router`) because the request model carries the app's own
limits (``max_items``, ``max_text_chars``) into validation and into the OpenAPI document.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the request model, a local of
# make_router, as a real class in the endpoint's signature.

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, status
from fastapi.exceptions import RequestValidationError

from nabiz.model.predictor import Prediction
from nabiz.pii import Masked
from nabiz.serving.arrival import FutureArrivalError, resolve_arrival
from nabiz.serving.deps import (
    BatcherDep,
    MetricsDep,
    PolicyDep,
    PredictorDep,
    RequestIdDep,
    SettingsDep,
)
from nabiz.serving.inputs import mask_off_loop
from nabiz.serving.metrics import Metrics
from nabiz.serving.priority import (
    PriorityPolicy,
    UnknownChannelError,
    compute_priority,
    normalize_channel,
)
from nabiz.serving.schemas import (
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_TEXT_CHARS,
    ErrorResponse,
    FeedbackItem,
    ItemResult,
    ModelRef,
    PredictResponse,
    ValidationErrorResponse,
    predict_request_model,
)

INLINE_POSTPROCESS_ITEMS = 32  # bigger requests build their answer in a worker thread

ERROR_RESPONSES: dict[int | str, dict] = {
    status.HTTP_422_UNPROCESSABLE_CONTENT: {
        "model": ValidationErrorResponse,
        "description": (
            "Invalid input; `detail[].loc` names the field (e.g. body.items.3.text) and `msg` "
            "says why: empty text, wrong type, too many items, text too long, unknown channel."
        ),
    },
    status.HTTP_429_TOO_MANY_REQUESTS: {
        "model": ErrorResponse,
        "description": "The inference queue is full; retry after `Retry-After` seconds.",
    },
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "model": ErrorResponse,
        "description": "The model is not loaded (starting or shutting down).",
    },
}


def resolve_channels(items: Sequence[FeedbackItem], policy: PriorityPolicy) -> list[str]:
    """Canonical channel per item; every unknown channel reported at once as a 422."""
    channels, errors = [], []
    for index, item in enumerate(items):
        try:
            channels.append(normalize_channel(item.channel, policy))
        except UnknownChannelError as error:
            errors.append(
                {
                    "type": "unknown_channel",
                    "loc": ("body", "items", index, "channel"),
                    "msg": str(error),
                    "input": item.channel,
                }
            )
    if errors:
        raise RequestValidationError(errors)
    return channels


def resolve_arrivals(
    items: Sequence[FeedbackItem], policy: PriorityPolicy, now: datetime, max_skew: timedelta
) -> list[datetime | None]:
    """Aware ``received_at`` per item (naive: policy timezone); every future one a 422 at once."""
    arrivals, errors = [], []
    for index, item in enumerate(items):
        try:
            arrivals.append(
                resolve_arrival(item.received_at, zone=policy.zone, now=now, max_skew=max_skew)
            )
        except FutureArrivalError as error:
            errors.append(
                {
                    "type": "future_received_at",
                    "loc": ("body", "items", index, "received_at"),
                    "msg": str(error),
                    "input": item.received_at,
                }
            )
    if errors:
        raise RequestValidationError(errors)
    return arrivals


def build_items(
    items: Sequence[FeedbackItem],
    channels: Sequence[str],
    arrivals: Sequence[datetime | None],
    predictions: Sequence[Prediction],
    policy: PriorityPolicy,
    now: datetime,
    masked: Sequence[Masked] | None = None,
) -> list[ItemResult]:
    kinds = [m.kinds for m in masked] if masked is not None else [[] for _ in items]
    return [
        ItemResult.build(
            index,
            prediction,
            compute_priority(
                prediction.tasks, policy, channel, received_at, now=now, cues=prediction.cues
            ),
            item_id=item.id,
            personal_data=found,
        )
        for index, (item, channel, received_at, prediction, found) in enumerate(
            zip(items, channels, arrivals, predictions, kinds, strict=True)
        )
    ]


def record(metrics: Metrics, results: Sequence[ItemResult]) -> None:
    metrics.items.inc(len(results))
    for result in results:
        for task, answer in result.tasks.items():
            metrics.labels.labels(task, answer.label).inc()
        metrics.priorities.labels(result.priority.level).inc()


def make_router(
    max_items: int = DEFAULT_MAX_ITEMS, max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
) -> APIRouter:
    request_model = predict_request_model(max_items, max_text_chars)
    router = APIRouter(prefix="/v1", tags=["predict"])

    @router.post(
        "/predict",
        response_model=PredictResponse,
        responses=ERROR_RESPONSES,
        summary="Tag and prioritize feedback texts",
    )
    async def predict(
        body: request_model,  # type: ignore[valid-type]
        predictor: PredictorDep,
        policy: PolicyDep,
        batcher: BatcherDep,
        metrics: MetricsDep,
        request_id: RequestIdDep,
        settings: SettingsDep,
    ) -> PredictResponse:
        """Tags every item with every task of the loaded model, and gives it a priority.

        Items come back in request order, each with its `index` and your `id`. Each task answers
        `{label, scores, labels}`: `scores` holds every label of the task (probabilities summing
        to 1 for single-label and ordinal tasks, sigmoid scores for multi-label tasks), `labels`
        the chosen label(s). Tasks appear under `tasks` and again as top-level keys of the item.
        Personal data (ids, IBANs, cards, phones, e-mails) is masked before the model sees a
        text; `personal_data` lists the kinds found. A NUL character (`\\u0000`) or a lone
        surrogate in a `text`, `id` or `channel` is a 422 naming the field, as on
        `/v1/feedback`: refused rather than stripped, so the text tagged is the text sent.
        """
        channels = resolve_channels(body.items, policy)
        skew = timedelta(seconds=settings.max_clock_skew_s)
        arrivals = resolve_arrivals(body.items, policy, datetime.now(UTC), skew)
        texts = [item.text for item in body.items]
        masked = await mask_off_loop(texts, settings.mask_personal_data)
        predictions = await batcher.submit([m.text for m in masked])
        now = datetime.now(UTC)
        if len(body.items) > INLINE_POSTPROCESS_ITEMS:
            results = await asyncio.to_thread(
                build_items, body.items, channels, arrivals, predictions, policy, now, masked
            )
        else:
            results = build_items(body.items, channels, arrivals, predictions, policy, now, masked)
        record(metrics, results)
        return PredictResponse(
            request_id=request_id,
            model=ModelRef.of(predictor.info),
            count=len(results),
            items=results,
        )

    return router
