"""A queue database dropped and created again under a running server: 503s, then migrated again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text as sa_text

from nabiz.serving.app import create_app
from nabiz.serving.queue.db import (
    VERSION_TABLE,
    make_engine,
    make_session_factory,
    upgrade_database,
)
from nabiz.serving.queue.keys import create_key
from nabiz.serving.queue.models import Base
from tests.serving.conftest import fresh_postgresql_database
from tests.serving.live import live_server

TEXT = "İnternetim üç gündür çekmiyor, arıza kaydı açın."


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path) -> Iterator[str]:
    """An empty database of each backend, for this test alone (it loses its tables)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'queue.db'}"
        return
    with fresh_postgresql_database("nabiz_lost") as url:
        yield url


def drop_every_table(url: str) -> None:
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(sa_text(f"DROP TABLE {VERSION_TABLE}"))
    engine.dispose()


def test_a_database_that_lost_its_tables_answers_503_then_is_migrated_again(
    make_settings, serving_predictor, fresh_url
):
    settings = make_settings(database_url=fresh_url, database_timeout_s=2)
    app = create_app(settings, predictor=serving_predictor)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.post("/v1/feedback", json={"id": "before", "text": TEXT}).status_code == 201
        drop_every_table(fresh_url)

        queue = client.get("/v1/queue")
        assert queue.status_code == 503, queue.text  # not a 500: retry, it mends itself
        assert int(queue.headers["retry-after"]) > 0

        deadline = time.monotonic() + 15
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.2)
        assert client.post("/v1/feedback", json={"id": "after", "text": TEXT}).status_code == 201
        assert [item["id"] for item in client.get("/v1/queue").json()["items"]] == ["after"]


def test_readiness_says_a_database_without_the_tables_is_not_migrated(
    make_settings, serving_predictor, fresh_url
):
    settings = make_settings(database_url=fresh_url, database_timeout_s=2)
    app = create_app(settings, predictor=serving_predictor)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/readyz").status_code == 200
        watcher = app.state.database_watcher  # stop it mending, from the server's own loop
        watcher.get_loop().call_soon_threadsafe(watcher.cancel)
        time.sleep(0.2)
        drop_every_table(fresh_url)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "reachable, not migrated yet"


def test_keys_stay_required_when_the_database_comes_back_without_them(
    make_settings, serving_predictor, fresh_url
):
    """NABIZ_AUTH=auto opens a server with no keys; a key table emptied under it must not."""
    upgrade_database(fresh_url)
    engine = make_engine(fresh_url)
    with make_session_factory(engine)() as session:
        create_key(session, "crm", ["admin"])
    settings = make_settings(database_url=fresh_url, database_timeout_s=2)
    app = create_app(settings, predictor=serving_predictor)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/v1/queue").status_code == 401
        drop_every_table(fresh_url)
        deadline = time.monotonic() + 15
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1.5)  # a key ring reload after the migration
        assert client.get("/v1/queue").status_code == 401
        assert client.delete("/v1/feedback/x").status_code == 401
        with make_session_factory(engine)() as session:
            _, new_key = create_key(session, "crm-2", ["admin"])
        time.sleep(1.5)
        answer = client.get("/v1/queue", headers={"Authorization": f"Bearer {new_key}"})
        assert answer.status_code == 200, answer.text
    engine.dispose()


def test_tables_dropped_under_the_version_that_names_them_are_made_again(
    make_settings, serving_predictor, fresh_url
):
    """The version table left: migrating to it created nothing, and the queue answered 503 with
    /readyz flapping between ready and not (QA)."""
    settings = make_settings(database_url=fresh_url, database_timeout_s=2)
    app = create_app(settings, predictor=serving_predictor)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.post("/v1/feedback", json={"id": "before", "text": TEXT}).status_code == 201
        engine = make_engine(fresh_url)
        with engine.begin() as connection:
            connection.execute(sa_text("DROP TABLE feedback_label"))
            connection.execute(sa_text("DROP TABLE feedback"))
        engine.dispose()
        deadline = time.monotonic() + 15
        while client.post("/v1/feedback", json={"id": "after", "text": TEXT}).status_code != 201:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.3)
        assert client.get("/readyz").status_code == 200
        assert [item["id"] for item in client.get("/v1/queue").json()["items"]] == ["after"]


def test_a_sqlite_file_deleted_under_the_server_is_made_again_and_written_to(
    make_settings, serving_predictor, tmp_path
):
    """The pooled connections kept writing to the deleted file: a 201 for an item that was gone
    at the next restart (QA)."""
    path = tmp_path / "queue.db"
    url = f"sqlite:///{path}"
    app = create_app(make_settings(database_url=url), predictor=serving_predictor)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.post("/v1/feedback", json={"id": "before", "text": TEXT}).status_code == 201
        for leftover in tmp_path.glob("queue.db*"):
            leftover.unlink()
        deadline = time.monotonic() + 15
        while not path.exists() or client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert client.post("/v1/feedback", json={"id": "after", "text": TEXT}).status_code == 201
    engine = make_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(sa_text("SELECT id FROM feedback")).scalars().all()
    engine.dispose()
    assert stored == ["after"]  # in the file at the path, where a restart will find it
