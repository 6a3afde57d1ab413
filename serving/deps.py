"""FastAPI dependencies of the Nabız app, declared once as ``Annotated`` aliases.

Everything comes from ``app.state``, which :func:`nabiz.serving.app.create_app`'s lifespan fills:
``settings``, ``metrics``, ``predictor``, ``policy``, ``batcher``, ``session_factory`` (the last
three are also what the triage-queue routes read, through :func:`app_state` too). A missing piece
means the app is not ready: the dependency raises :class:`NotReady` and the client gets a 503 — in
any app that includes the routers, since ``NotReady`` is an ``HTTPException``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from nabiz.model.predictor import Predictor
from nabiz.serving.batching import MicroBatcher
from nabiz.serving.metrics import Metrics
from nabiz.serving.priority import PriorityPolicy
from nabiz.settings import Settings


class NotReady(HTTPException):
    """A piece the request needs is not loaded (yet); HTTP 503."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, detail=detail)

    def __str__(self) -> str:
        return str(self.detail)


def app_state(request: Request, name: str, what: str) -> Any:
    """``app.state.<name>``; :class:`NotReady` names ``what`` when it is not set."""
    value = getattr(request.app.state, name, None)
    if value is None:
        raise NotReady(f"the service is not ready: {what} is not loaded")
    return value


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


def app_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def app_predictor(request: Request) -> Predictor:
    return app_state(request, "predictor", "the model")


def app_policy(request: Request) -> PriorityPolicy:
    return app_state(request, "policy", "the priority policy")


def app_batcher(request: Request) -> MicroBatcher:
    batcher = app_state(request, "batcher", "the inference worker")
    if not batcher.running:
        raise NotReady("the service is not ready: the inference worker is not running")
    return batcher


def request_id(request: Request) -> str:
    """The id the request-id middleware gave this request."""
    return getattr(request.state, "request_id", None) or "-"


SettingsDep = Annotated[Settings, Depends(app_settings)]
MetricsDep = Annotated[Metrics, Depends(app_metrics)]
PredictorDep = Annotated[Predictor, Depends(app_predictor)]
PolicyDep = Annotated[PriorityPolicy, Depends(app_policy)]
BatcherDep = Annotated[MicroBatcher, Depends(app_batcher)]
RequestIdDep = Annotated[str, Depends(request_id)]
