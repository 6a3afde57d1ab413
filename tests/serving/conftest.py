"""Fixtures of the REST API tests: the session's tiny model, settings with a private database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url, text

from nabiz.model.loading import load_predictor
from nabiz.model.predictor import Predictor
from nabiz.serving.app import create_app
from nabiz.serving.queue.db import make_engine, upgrade_database
from nabiz.settings import Settings

# --- queue database backends (SQLite and PostgreSQL) ---------------------------------------------


def _postgres_admin_url() -> str:
    return os.environ.get("NABIZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_postgresql_database(prefix: str = "nabiz_test") -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped afterwards; skips the test where
    PostgreSQL cannot be reached, except on CI (``CI`` set), where that is a failure."""
    psycopg = pytest.importorskip("psycopg")
    admin = make_url(_postgres_admin_url()).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    try:
        connection = psycopg.connect(conninfo, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):  # CI machines have the database: missing is a failure there
            pytest.fail(f"PostgreSQL is not reachable at {admin!r} and CI is set: {error}")
        pytest.skip(f"PostgreSQL is not reachable at {admin!r}: {error}")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin.set(drivername="postgresql+psycopg", database=name).render_as_string(
                hide_password=False
            )
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    with fresh_postgresql_database() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('queue') / 'nabiz.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_url(request) -> str:
    """Each backend, migrated once per session with the packaged Alembic migrations."""
    url = request.getfixturevalue(f"{request.param}_url")
    upgrade_database(url)
    return url


@pytest.fixture
def database_url(migrated_url) -> str:
    """A migrated database with empty tables."""
    engine = make_engine(migrated_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM feedback_label"))
        connection.execute(text("DELETE FROM feedback"))
        connection.execute(text("DELETE FROM api_key"))
    engine.dispose()
    return migrated_url


# These tests compare what the app returns with what the predictor gives for each text alone, to
# 1e-5. In bf16 (the default on CPUs with native bf16) a text's scores move by ~1e-3 with the
# other texts in its batch, so the serving tests run in fp32; tests/training/test_train.py checks
# that bf16 gives the fp32 labels.
SERVING_TEST_PRECISION = "fp32"


@pytest.fixture(scope="session")
def serving_model_dir(tiny_model_source) -> Path:
    """The session's tiny model of the default schema (tests/conftest.py builds it once)."""
    return tiny_model_source


@pytest.fixture(scope="session")
def serving_predictor(serving_model_dir) -> Predictor:
    """Loaded as the app loads it, in fp32 (see ``SERVING_TEST_PRECISION``)."""
    return load_predictor(
        serving_model_dir, Settings(device="cpu", precision=SERVING_TEST_PRECISION)
    )


@pytest.fixture
def make_settings(tmp_path_factory, serving_model_dir) -> Callable[..., Settings]:
    """Settings on the tiny model with a fresh SQLite queue database; keywords override."""

    def make(**overrides) -> Settings:
        db = tmp_path_factory.mktemp("db") / "queue.db"
        values = {
            "model_dir": serving_model_dir,
            "database_url": f"sqlite:///{db}",
            "device": "cpu",
            "precision": SERVING_TEST_PRECISION,
            **overrides,
        }
        return Settings(**values)

    return make


@pytest.fixture(scope="module")
def api_client(tmp_path_factory, serving_model_dir) -> Iterator[TestClient]:
    """One running app per module, loading the model from its directory like production does."""
    db = tmp_path_factory.mktemp("api-db") / "queue.db"
    settings = Settings(
        model_dir=serving_model_dir,
        database_url=f"sqlite:///{db}",
        device="cpu",
        precision=SERVING_TEST_PRECISION,
    )
    with TestClient(create_app(settings)) as client:
        yield client
