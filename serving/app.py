"""The Nabız REST app: ``create_app()`` builds it, ``run_server()`` serves it with uvicorn.

Start-up (the lifespan) happens once per process, in this order: load the model from
``settings.model_dir`` (unless a predictor was passed in), load the priority policy and check it
against the model's label schema, load the alert rules (those the model cannot run are skipped,
with a warning), bring the triage-queue database to the latest migration, start the
micro-batcher, then the alert engine (:mod:`nabiz.serving.alerts.engine`). Any failure stops the
start with a message that says what to fix; the server never comes up half-configured. Shutdown
stops the alert engine, the batcher (waiting requests get 503) and closes the database.

What the routes find on ``app.state``: ``settings``, ``metrics``, ``predictor``, ``policy``,
``batcher``, ``session_factory``, ``alerts`` (the triage-queue routes read the last four, see
:mod:`nabiz.serving.queue.deps`; they tag new feedback through the same micro-batcher).

The database may be down at start: the server starts anyway, ``/v1/predict`` answers, the queue
routes answer 503 with ``Retry-After`` and a watcher task migrates the database and reloads the
API keys (:mod:`nabiz.serving.auth`) once it answers. At most ``max_concurrent_requests`` requests
are handled at once (503 before the body is read); bodies over :func:`max_body_bytes` get 413.

Errors are JSON, always (:mod:`nabiz.serving.errors`). Every response carries ``X-Request-ID``
(the client's own, when it sent a sane one).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import tzinfo
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI

import nabiz
from nabiz.model.loading import load_predictor
from nabiz.model.predictor import Predictor
from nabiz.serving.alerts.delivery import Backoff
from nabiz.serving.alerts.engine import AlertEngine
from nabiz.serving.alerts.rules import AlertRules, load_rules
from nabiz.serving.auth import REFRESH_S, KeyRing, require
from nabiz.serving.batching import MicroBatcher, inference_thread
from nabiz.serving.errors import install_error_handlers
from nabiz.serving.metrics import Metrics
from nabiz.serving.middleware import (
    BodyLimitMiddleware,
    ConcurrencyLimitMiddleware,
    HeadAsGetMiddleware,
    JsonBodyMiddleware,
    RequestContextMiddleware,
)
from nabiz.serving.openapi import complete_openapi
from nabiz.serving.priority import load_policy
from nabiz.settings import Settings, get_settings

log = logging.getLogger("nabiz.serving")

DEFAULT_QUEUE_PASSES = 16  # without a batch_max_queue setting: this many full passes may wait

DESCRIPTION = """\
Nabız tags Turkish customer feedback with the tasks of its model (by default duygu/sentiment,
konu/topic, aciliyet/urgency and aksiyon) and turns the tags into a priority (P1..P4, an answer
deadline and the reasons).

* `POST /v1/predict` tags 1..`max_items` texts; concurrent requests share forward passes.
* `GET /v1/model` describes the loaded model: its tasks and labels in score order, its metrics.
* The triage queue (`/v1/feedback`, `/v1/queue`) stores tagged feedback for people to work through.
* `/v1/insights/*` (trends, root causes, survey metrics) feed the web console at `/ui`.
* Alerts (`/v1/alerts`): spikes in volume or negative share, overdue P1 items; sent to webhooks.

Task names come from the model, not from this API: read them from `GET /v1/model`.
Errors are JSON: 422 names the field in `detail[].loc`, 429 means retry later, 503 not ready.
"""


# --- the app ------------------------------------------------------------------------------------


def queue_capacity(settings: Settings) -> int:
    """Texts that may wait for the model before requests get 429 (never below one request)."""
    capacity = settings.batch_max_queue or settings.batch_max_size * DEFAULT_QUEUE_PASSES
    return max(capacity, settings.max_items)


async def start_services(app: FastAPI, settings: Settings, predictor: Predictor | None) -> None:
    """Load the model and policy, migrate the database, start the batcher (see module doc).

    The database may be down: the server starts anyway (``/v1/predict`` needs no database), the
    queue routes answer 503 and a watcher migrates it and loads the API keys once it answers.
    """
    from nabiz.serving.queue.db import make_engine, make_session_factory

    inference = inference_thread()
    app.state.inference_thread = inference
    if predictor is None:
        log.info("loading the model from %s", settings.model_dir)
        loop = asyncio.get_running_loop()
        predictor = await loop.run_in_executor(
            inference, load_predictor, settings.model_dir, settings
        )
    policy = load_policy(settings.priority_policy)
    for note in policy.check_against(predictor.schema):
        log.info("priority policy: %s", note)
    rules, notes = load_rules(settings.alert_rules).fitted(predictor.schema, policy.titles)
    for note in notes:
        log.warning("%s", note)
    engine = make_engine(settings.database_url, timeout_s=settings.database_timeout_s)
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.keyring = KeyRing()
    app.state.database_ready = False
    await prepare_database(app, settings)
    if not app.state.database_ready:
        log.warning("the queue database is not reachable; the queue answers 503 until it is")
    app.state.database_watcher = asyncio.create_task(watch_database(app, settings))
    metrics: Metrics = app.state.metrics
    batcher = MicroBatcher(
        predictor.predict,
        max_batch_size=settings.batch_max_size,
        max_wait_ms=settings.batch_max_wait_ms,
        max_queue_texts=queue_capacity(settings),
        metrics=metrics,
        executor=inference,
    )
    await batcher.start()
    metrics.model_info.labels(predictor.info.name, predictor.info.version).set(1)
    metrics.watch_rechecks(predictor)
    app.state.policy = policy
    app.state.batcher = batcher
    app.state.predictor = predictor
    zone = app.state.policy.zone
    app.state.alerts = await start_alerts(settings, app.state.session_factory, rules, zone)
    log.info(
        "serving %s %s (tasks: %s)",
        predictor.info.name,
        predictor.info.version,
        ", ".join(predictor.schema.names),
    )


async def start_alerts(
    settings: Settings, session_factory: Any, rules: AlertRules, zone: tzinfo
) -> AlertEngine:
    """Start checking the alert rules and delivering alerts to the webhooks of the settings;
    ``zone`` (the priority policy's) dates their messages."""
    engine = AlertEngine(
        session_factory,
        rules,
        webhooks=settings.alert_webhooks,
        check_interval_s=settings.alert_check_interval_s,
        backoff=Backoff(settings.alert_retry_base_s, settings.alert_retry_max_s),
        webhook_timeout_s=settings.alert_webhook_timeout_s,
        zone=zone,
    )
    await engine.start()
    log.info("alert rules: %s; webhooks: %d", ", ".join(rules.rules), len(settings.alert_webhooks))
    return engine


async def prepare_database(app: FastAPI, settings: Settings) -> None:
    """Migrate the queue database (once) and reload the API keys; errors leave it not ready."""
    from nabiz.serving.queue.db import sqlite_file, upgrade_database

    timeout = settings.database_timeout_s * 4  # migrations may run a few statements
    if app.state.database_ready and not await _still_migrated(app, settings):
        log.warning(
            "the queue database has lost its tables or its file (dropped, deleted or created "
            "again?): migrating it again"
        )
        app.state.database_ready = False
    if not app.state.database_ready:
        try:
            await asyncio.wait_for(
                asyncio.to_thread(upgrade_database, settings.database_url), timeout
            )
            app.state.database_ready = True
            app.state.database_file = sqlite_file(app.state.engine)
        except Exception as error:
            log.warning("queue database migration failed: %s", type(error).__name__)
            return
    await app.state.keyring.refresh(app.state.session_factory, settings.database_timeout_s)


async def _still_migrated(app: FastAPI, settings: Settings) -> bool:
    """False when the database answers but its tables are gone, or when its SQLite file was
    deleted or replaced (its pooled connections are closed, so the next ones open the path); an
    unreachable one is not marked here (its routes answer 503 by themselves, and come back)."""
    from nabiz.serving.queue.db import is_migrated, sqlite_file

    engine = app.state.engine
    if getattr(app.state, "database_file", None) != sqlite_file(engine):
        engine.dispose()
        return False
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(is_migrated, app.state.session_factory), settings.database_timeout_s
        )
    except Exception:  # unreachable or slow: nothing to migrate yet
        return True


async def watch_database(app: FastAPI, settings: Settings) -> None:
    """Every few seconds: migrate the database if it was down, reload the API keys."""
    while True:
        await asyncio.sleep(REFRESH_S if app.state.database_ready else 1.0)
        await prepare_database(app, settings)


async def stop_services(app: FastAPI) -> None:
    state = app.state
    alerts: AlertEngine | None = state.alerts
    state.alerts = None
    if alerts is not None:
        await alerts.stop()
    watcher = getattr(state, "database_watcher", None)
    if watcher is not None:
        watcher.cancel()
        state.database_watcher = None
    batcher: MicroBatcher | None = state.batcher
    state.predictor = None
    state.batcher = None
    state.session_factory = None
    if batcher is not None:
        await batcher.stop()
    if state.inference_thread is not None:
        state.inference_thread.shutdown(wait=True, cancel_futures=True)
        state.inference_thread = None
    if state.engine is not None:
        state.engine.dispose()
        state.engine = None


def max_body_bytes(settings: Settings) -> int:
    """Largest request body worth reading: a full predict request with every character escaped
    (``\\uXXXX``, 6 bytes) plus room for ids and fields; anything larger is a 413 unread."""
    return settings.max_items * (settings.max_text_chars * 6 + 2048) + 64 * 1024


def create_app(settings: Settings | None = None, predictor: Predictor | None = None) -> FastAPI:
    """The app; the model is loaded at start-up (or ``predictor`` is used as given)."""
    from nabiz.serving.console.api import router as insights_router
    from nabiz.serving.console.web import install_console
    from nabiz.serving.routes import health
    from nabiz.serving.routes import predict as predict_routes
    from nabiz.serving.routes.alerts import router as alerts_router
    from nabiz.serving.routes.queue import router as queue_router

    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await start_services(app, settings, predictor)
            yield
        finally:  # also after a failed start: stop what did start
            await stop_services(app)

    app = FastAPI(
        title="Nabız API",
        version=getattr(nabiz, "__version__", "0.1.0"),
        summary="Turkish customer-feedback tagging and triage.",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from the package by install_console, not from a CDN
        redoc_url=None,
        # Without public docs there are none: the schema lists every route a caller could try.
        openapi_url="/openapi.json" if settings.public_docs else None,
        # operationId = the route's function name (`predict`, `read_queue`), unique in the app:
        # generated clients name their functions by it (`predict_v1_predict_post` otherwise)
        generate_unique_id_function=lambda route: route.name,
    )
    metrics = Metrics()
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.database_ready = False
    names = ("predictor", "policy", "batcher", "session_factory", "engine", "inference_thread")
    for name in (*names, "alerts", "keyring", "database_watcher"):
        setattr(app.state, name, None)

    app.add_middleware(HeadAsGetMiddleware)  # innermost: the others see the HEAD it was
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes(settings))
    app.add_middleware(ConcurrencyLimitMiddleware, limit=settings.max_concurrent_requests)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)  # outermost: ids on every answer
    install_error_handlers(app)

    app.include_router(
        predict_routes.make_router(settings.max_items, settings.max_text_chars),
        dependencies=[Depends(require("predict"))],
    )
    app.include_router(health.router)
    app.include_router(queue_router)
    app.include_router(insights_router)
    install_console(app, docs=settings.public_docs)
    app.include_router(alerts_router)
    complete_openapi(app)
    return app


class OpenBindRefused(RuntimeError):
    """A server on a non-loopback address would answer anyone: refused unless allowed."""


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, settings: Settings) -> None:
    """Refuse to listen beyond loopback without keys, unless ``allow_open_bind`` says so.

    Open means: ``auth=off``, or ``auth=auto`` with no active key in the database. With
    ``auth=required`` nobody gets in without a key, so any address is fine.
    """
    if _is_loopback(host) or settings.allow_open_bind or settings.auth == "required":
        return
    if settings.auth == "auto":
        from nabiz.serving.queue.db import make_engine, make_session_factory, upgrade_database
        from nabiz.serving.queue.keys import active_keys

        engine = make_engine(settings.database_url, timeout_s=settings.database_timeout_s)
        try:
            upgrade_database(engine)
            with make_session_factory(engine)() as session:
                if active_keys(session):
                    return
        except Exception as error:  # unknown keys: the server would refuse every request
            log.warning("cannot read API keys (%s)", type(error).__name__)
            return
        finally:
            engine.dispose()
    raise OpenBindRefused(
        f"{host} is not a loopback address and the server would ask for no API key: create "
        "one (`nabiz keys create NAME --scope predict`), set NABIZ_AUTH=required, or set "
        "NABIZ_ALLOW_OPEN_BIND=true if anyone who can reach the port may use it"
    )


def run_server(
    model_dir: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
) -> None:
    """Serve the app with uvicorn (``nabiz serve``) in one process.

    One process on purpose: the micro-batcher can only merge requests that reach the same
    process, and torch already uses every core for one pass. Scale out with more replicas.
    """
    import uvicorn

    settings = get_settings()
    if model_dir is not None:
        settings = settings.model_copy(update={"model_dir": Path(model_dir)})
    check_bind(host, settings)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
