"""Probes and descriptions: ``/healthz``, ``/readyz``, ``/v1/model``, ``/metrics``.

``/healthz`` answers as long as the process serves HTTP (liveness). ``/readyz`` answers 200 only
when the model is loaded, the inference worker runs and the database answers within
``READY_DB_TIMEOUT`` seconds with the queue's tables in it (a database dropped and created again is
"not migrated" until the server's watcher migrates it, within seconds); otherwise 503 with what
failed (readiness).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse

from nabiz.serving.auth import BEARER, require
from nabiz.serving.deps import MetricsDep, PolicyDep, PredictorDep, SettingsDep
from nabiz.serving.queue.db import is_migrated
from nabiz.serving.schemas import ErrorResponse, Health, Limits, ModelPublic, Readiness

READY_DB_TIMEOUT = 3.0

router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["health"], summary="Liveness")
async def healthz() -> Health:
    """The process is up and serving HTTP."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    tags=["health"],
    summary="Readiness",
    responses={503: {"model": Readiness, "description": "Not ready; `checks` says why."}},
)
async def readyz(request: Request) -> Response:
    """Model loaded, inference worker running, database reachable."""
    state = request.app.state
    checks: dict[str, str] = {}
    checks["model"] = "ok" if getattr(state, "predictor", None) is not None else "not loaded"
    batcher = getattr(state, "batcher", None)
    checks["batcher"] = "ok" if batcher is not None and batcher.running else "not running"
    session_factory = getattr(state, "session_factory", None)
    if session_factory is None:
        checks["database"] = "not configured"
    else:
        try:
            migrated = await asyncio.wait_for(
                asyncio.to_thread(is_migrated, session_factory), READY_DB_TIMEOUT
            )
            checks["database"] = "ok" if migrated else "reachable, not migrated yet"
        except TimeoutError:
            checks["database"] = f"no answer within {READY_DB_TIMEOUT:g} s"
        except Exception as error:  # report, never raise: this is a probe
            checks["database"] = f"unreachable: {type(error).__name__}"
    if checks["database"] == "ok" and not getattr(state, "database_ready", True):
        checks["database"] = "reachable, not migrated yet"
    ready = all(value == "ok" for value in checks.values())
    body = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return JSONResponse(
        body.model_dump(),
        status_code=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
    )


@router.get(
    "/v1/model",
    response_model=ModelPublic,
    tags=["model"],
    summary="The loaded model",
    responses={503: {"model": ErrorResponse, "description": "No model loaded."}},
    dependencies=[Depends(require("predict"))],
)
async def model(predictor: PredictorDep, policy: PolicyDep, settings: SettingsDep) -> ModelPublic:
    """Name, version, label schema (tasks and labels in score order), channels and test metrics."""
    limits = Limits(
        max_items=settings.max_items,
        max_text_chars=settings.max_text_chars,
        batch_max_size=settings.batch_max_size,
        batch_max_wait_ms=settings.batch_max_wait_ms,
    )
    return ModelPublic.of(predictor, policy.accepted_channels, limits, policy.titles)


@router.get(
    "/metrics",
    tags=["health"],
    response_class=Response,
    openapi_extra={"security": [{"ApiKey": []}, {}]},  # an admin key, or none if public_metrics
    responses={
        200: {
            "description": "Prometheus text exposition (requests, latency, texts scored, queue).",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        401: {"description": "No API key, or an unknown or revoked one (unless public_metrics)."},
        403: {"description": "The API key is not an `admin` key (unless public_metrics)."},
    },
)
async def metrics(request: Request, app_metrics: MetricsDep, settings: SettingsDep) -> Response:
    """Prometheus exposition of this app's registry (an ``admin`` key unless public_metrics)."""
    if not settings.public_metrics:
        await require("admin")(request, await BEARER(request))
    return Response(app_metrics.render(), media_type=app_metrics.content_type)
