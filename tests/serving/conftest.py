"""Fixtures of the REST API tests: the session's tiny model, settings with a private database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nabiz.model.predictor import Predictor, load_predictor
from nabiz.serving.app import create_app
from nabiz.settings import Settings


@pytest.fixture(scope="session")
def serving_model_dir(tiny_model_source) -> Path:
    """The session's tiny model of the default schema (tests/conftest.py builds it once)."""
    return tiny_model_source


@pytest.fixture(scope="session")
def serving_predictor(serving_model_dir) -> Predictor:
    """Loaded as the app loads it."""
    return load_predictor(serving_model_dir, Settings(device="cpu"))


@pytest.fixture
def make_settings(tmp_path_factory, serving_model_dir) -> Callable[..., Settings]:
    """Settings on the tiny model with a fresh SQLite queue database; keywords override."""

    def make(**overrides) -> Settings:
        db = tmp_path_factory.mktemp("db") / "queue.db"
        values = {
            "model_dir": serving_model_dir,
            "database_url": f"sqlite:///{db}",
            "device": "cpu",
            **overrides,
        }
        return Settings(**values)

    return make


@pytest.fixture(scope="module")
def api_client(tmp_path_factory, serving_model_dir) -> Iterator[TestClient]:
    """One running app per module, loading the model from its directory like production does."""
    db = tmp_path_factory.mktemp("api-db") / "queue.db"
    settings = Settings(model_dir=serving_model_dir, database_url=f"sqlite:///{db}", device="cpu")
    with TestClient(create_app(settings)) as client:
        yield client
