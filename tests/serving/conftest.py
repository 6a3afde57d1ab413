"""Fixtures of the REST API tests: the session's tiny model, settings with a private database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nabiz.model.loading import load_predictor
from nabiz.model.predictor import Predictor
from nabiz.serving.app import create_app
from nabiz.settings import Settings

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
