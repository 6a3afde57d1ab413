"""Fixtures of the batch scorer's tests: the session's tiny model and the default policy."""

from __future__ import annotations

import pytest

from nabiz.model.loading import from_pretrained
from nabiz.model.predictor import Predictor
from nabiz.serving.priority import load_policy
from tests.serving.batch.inputs import REPO


@pytest.fixture(scope="session")
def predictor(tiny_model_source) -> Predictor:
    return from_pretrained(tiny_model_source, device="cpu")


@pytest.fixture(scope="session")
def policy():
    return load_policy(REPO / "data" / "priority_policy.yaml")
