"""Fixtures shared across the suite: a tiny untrained model directory of the default schema."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nabiz.model.tiny import make_tiny_model
from nabiz.training.config import load_config

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def default_schema():
    return load_config(REPO / "configs" / "default.yaml").schema


@pytest.fixture(scope="session")
def tiny_model_source(tmp_path_factory, default_schema) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model", default_schema)


@pytest.fixture
def tiny_model_dir(tiny_model_source, tmp_path) -> Path:
    """A private copy, so a test may write into its model directory."""
    return Path(shutil.copytree(tiny_model_source, tmp_path / "model"))


@pytest.fixture
def fast_int8(monkeypatch):
    """This CPU counted as one where torch's int8 products are fast (AVX512-VNNI), whatever it
    is: the tiny model's int8 is quick even in the plain loop of a CPU without it."""
    from nabiz.model import runtime

    monkeypatch.setattr(runtime, "cpu_has_fast_int8", lambda: True)
