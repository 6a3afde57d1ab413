"""FastAPI dependencies of the triage queue routes, read from ``app.state``.

The app that includes :data:`nabiz.serving.routes.queue.router` sets, before serving requests
(typically in its lifespan):

``app.state.session_factory``
    a ``sqlalchemy.orm.sessionmaker`` bound to the queue database: run
    ``upgrade_database(settings.database_url)`` once, then
    ``make_session_factory(settings.database_url)`` (both in :mod:`nabiz.serving.queue.db`).
``app.state.predictor``
    the loaded :class:`nabiz.model.predictor.Predictor`; its ``schema`` validates corrections and
    queue filters, and its ``info.name``/``info.version`` are stored with each item.
``app.state.policy``
    the :class:`nabiz.serving.priority.PriorityPolicy` from ``load_policy(...)``.

Optional: ``app.state.batcher``, the app's :class:`nabiz.serving.batching.MicroBatcher`. When it is
set and running, new feedback is tagged through it (shared forward passes, one inference thread);
otherwise ``predictor.predict`` runs in the thread pool. Its ``Overloaded``/``BatcherStopped``
errors propagate to the app's exception handlers.

A missing required field answers 503 (not ready; :func:`nabiz.serving.deps.app_state`). To tag
some other way, override :func:`get_assessor` (``app.dependency_overrides[get_assessor] = ...``)
with a dependency returning an :data:`Assessor`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from nabiz.model.predictor import Prediction, TaskPrediction
from nabiz.model.schema import LabelSchema
from nabiz.serving.deps import PolicyDep, PredictorDep, app_state
from nabiz.serving.priority import Priority, compute_priority
from nabiz.serving.queue.models import Feedback, utcnow
from nabiz.serving.queue.repository import Assessment
from nabiz.settings import get_settings

Assessor = Callable[[str, str, datetime], Awaitable[Assessment]]
"""``await assess(text, canonical channel, received_at)``: tag one text and prioritize it."""


def get_session(request: Request) -> Iterator[Session]:
    if getattr(request.app.state, "database_ready", True) is False:
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the queue database is unreachable (or not migrated yet); retry later",
            headers={"Retry-After": "5"},
        )
    factory = app_state(request, "session_factory", "the triage queue's database")
    with factory() as session:
        yield session


def get_clock_skew(request: Request) -> timedelta:
    """How far ahead of the server's clock a ``received_at`` may lie (the app's settings)."""
    settings = getattr(request.app.state, "settings", None) or get_settings()
    return timedelta(seconds=settings.max_clock_skew_s)


def get_alert_trigger(request: Request) -> Callable[[str, datetime], None]:
    """``trigger(feedback_id, received_at)``: tell the app's alert engine that an item was stored.

    Without an engine on ``app.state.alerts`` (a queue-only app) it does nothing.
    """
    engine = getattr(request.app.state, "alerts", None)
    if engine is None:
        return lambda _feedback_id, _received_at: None
    return engine.feedback_stored


SessionDep = Annotated[Session, Depends(get_session)]
ClockSkewDep = Annotated[timedelta, Depends(get_clock_skew)]
AlertTriggerDep = Annotated[Callable[[str, datetime], None], Depends(get_alert_trigger)]


def assessment_from(
    prediction: Prediction,
    priority: Priority,
    schema: LabelSchema,
    model_name: str,
    model_version: str,
) -> Assessment:
    """What gets stored for a text: the model's labels and scores and the computed priority.

    Labels are a list for the schema's multi-label tasks (those over their thresholds) and the top
    label for the others.
    """
    multi = {task.name for task in schema.tasks if task.is_multi_label}
    return _assessment(
        model_name,
        model_version,
        labels={
            task: list(answer.labels) if task in multi else answer.label
            for task, answer in prediction.tasks.items()
        },
        scores={task: dict(answer.scores) for task, answer in prediction.tasks.items()},
        truncated=prediction.truncated,
        priority=priority,
    )


def _assessment(
    model_name: str,
    model_version: str,
    labels: dict[str, Any],
    scores: dict[str, dict[str, float]],
    truncated: bool,
    priority: Priority,
) -> Assessment:
    return Assessment(
        model_name=model_name,
        model_version=model_version,
        labels=labels,
        scores=scores,
        truncated=truncated,
        priority_level=priority.level,
        priority_score=priority.score,
        respond_by=priority.respond_by,
        priority_reasons=list(priority.reasons),
        priority_factors=dict(priority.factors),
    )


def get_assessor(request: Request, predictor: PredictorDep, policy: PolicyDep) -> Assessor:
    """Tag one text with the loaded model (through the app's batcher when it runs one) and
    prioritize it with the loaded policy."""
    batcher = getattr(request.app.state, "batcher", None)

    async def assess(text: str, channel: str, received_at: datetime) -> Assessment:
        if batcher is not None and batcher.running:
            prediction = (await batcher.submit([text]))[0]
        else:
            prediction = (await run_in_threadpool(predictor.predict, [text]))[0]
        priority = compute_priority(
            prediction.tasks, policy, channel, received_at, now=utcnow(), cues=prediction.cues
        )
        return assessment_from(
            prediction, priority, predictor.schema, predictor.info.name, predictor.info.version
        )

    return assess


AssessorDep = Annotated[Assessor, Depends(get_assessor)]


def corrected_tasks(row: Feedback) -> dict[str, TaskPrediction]:
    """The item's task predictions with a person's corrections taken as certain.

    A corrected task scores 1 for the corrected label(s) and 0 for the others, so the priority of
    a corrected item follows the person's labels; uncorrected tasks keep the model's scores.
    """
    tasks: dict[str, TaskPrediction] = {}
    corrections = row.corrections or {}
    for task, scores in row.scores.items():
        stored = row.labels.get(task)
        if task in corrections:
            value = corrections[task]
            chosen = value if isinstance(value, list) else [value]
            new_scores = {label: 1.0 if label in chosen else 0.0 for label in scores}
            top = chosen[0] if chosen else max(scores, key=scores.__getitem__)
            tasks[task] = TaskPrediction(label=top, scores=new_scores, labels=list(chosen))
        else:
            top = max(scores, key=scores.__getitem__)
            labels = stored if isinstance(stored, list) else [top]
            tasks[task] = TaskPrediction(label=top, scores=dict(scores), labels=list(labels))
    return tasks


def get_reprioritizer(policy: PolicyDep) -> Callable[[Feedback], Assessment]:
    """Recompute a corrected item's priority (its ``received_at`` and channel are kept)."""

    def reprioritize(row: Feedback) -> Assessment:
        tasks = corrected_tasks(row)
        priority = compute_priority(tasks, policy, row.channel, row.received_at, now=utcnow())
        return _assessment(
            row.model_name, row.model_version, row.labels, row.scores, row.truncated, priority
        )

    return reprioritize


ReprioritizerDep = Annotated[Callable[[Feedback], Assessment], Depends(get_reprioritizer)]
