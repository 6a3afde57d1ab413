"""/metrics shows what the rechecks cost: texts scored in int8 and how many fp32 scored again."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from nabiz.model.loading import from_pretrained
from nabiz.model.tiny import DEFAULT_CORPUS
from nabiz.serving.app import create_app
from nabiz.training.quantize import quantize_directory

pytestmark = pytest.mark.usefixtures("fast_int8")

TEXTS = DEFAULT_CORPUS[:6]


def test_metrics_count_int8_texts_and_their_rechecks(make_settings, tiny_model_dir):
    quantize_directory(tiny_model_dir, DEFAULT_CORPUS)
    predictor = from_pretrained(tiny_model_dir, device="cpu", precision="int8")
    predictor.margins = dict.fromkeys(predictor.margins, 0.0)
    predictor.margins[predictor.schema.tasks[0].name] = 2.0  # every text is a near tie
    with TestClient(create_app(make_settings(), predictor)) as client:
        response = client.post("/v1/predict", json={"items": [{"text": t} for t in TEXTS[:3]]})
        assert response.status_code == 200
        text = client.get("/metrics").text
    assert 'nabiz_reduced_precision_texts_total{precision="int8"} 3.0' in text
    assert 'nabiz_fp32_rescored_texts_total{precision="int8"} 3.0' in text


def test_metrics_have_no_such_series_in_fp32(make_settings, serving_predictor):
    with TestClient(create_app(make_settings(), serving_predictor)) as client:
        assert "rescored" not in client.get("/metrics").text
