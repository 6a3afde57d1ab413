"""Post-hoc calibration: temperatures fitted on validation, saved, and applied by the Predictor."""

from __future__ import annotations

import numpy as np
import pytest

from nabiz.model.calibration import (
    Calibration,
    apply_temperature,
    fit_temperature,
    load_calibration,
    save_calibration,
)
from nabiz.model.loading import from_pretrained
from nabiz.model.manifest import write_manifest
from nabiz.training.evaluate import expected_calibration_error

TEXTS = ["Faturam iki katı geldi", "internet üç gündür yok", "teşekkürler, çok iyi", "iptal"]


def overconfident(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose logits are three times too sharp: right 60 % of the time at ~95 % confidence."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), gold] += 1.0
    probs = np.exp(3 * logits)
    return probs / probs.sum(1, keepdims=True), gold


def test_temperature_recovers_the_sharpening_and_lowers_the_calibration_error():
    probs, gold = overconfident()
    temperature = fit_temperature(probs, gold)
    assert 2.5 < temperature < 3.5
    calibrated = apply_temperature(probs, temperature)
    assert expected_calibration_error(calibrated, gold) < expected_calibration_error(probs, gold)


def test_temperature_keeps_the_top_label():
    probs, _ = overconfident(200)
    assert (apply_temperature(probs, 2.7).argmax(1) == probs.argmax(1)).all()


def test_multi_label_tasks_keep_their_scores(default_schema):
    from nabiz.model.schema import LabelSchema, TaskKind, TaskSpec

    schema = LabelSchema(
        tasks=[TaskSpec(name="area", kind=TaskKind.MULTI_LABEL, labels=["a", "b"])]
    )
    fitted = Calibration.fit(schema, {"area": np.full((4, 2), 0.9)}, {"area": [["a"]] * 4})
    assert fitted.temperatures == {}


def test_calibration_file_round_trip(tmp_path):
    calibration = Calibration(temperatures={"sentiment": 1.7, "urgency": 0.8})
    save_calibration(tmp_path, "nabiz", calibration)
    save_calibration(tmp_path, "transformer", Calibration(temperatures={"sentiment": 1.2}))
    assert load_calibration(tmp_path, "nabiz") == calibration
    assert load_calibration(tmp_path, "baseline") is None


def test_saved_calibration_gives_the_same_calibrated_scores_after_loading(tiny_model_dir):
    """save → load: the Predictor applies exactly the stored temperatures to its raw scores."""
    raw = from_pretrained(tiny_model_dir, device="cpu").predict_scores(TEXTS).scores
    calibration = Calibration(temperatures={"sentiment": 0.25, "urgency": 4.0})
    expected = calibration.apply(raw)
    from nabiz.model.predictor import ModelInfo

    mixed = any(ModelInfo.load(tiny_model_dir).baseline_weights.values())
    save_calibration(tiny_model_dir, "nabiz" if mixed else "transformer", calibration)
    write_manifest(tiny_model_dir)  # as training does, last
    loaded = from_pretrained(tiny_model_dir, device="cpu")
    scores = loaded.predict_scores(TEXTS).scores
    for task in ("sentiment", "urgency"):
        np.testing.assert_allclose(scores[task], expected[task], atol=1e-6)
        assert not np.allclose(scores[task], raw[task], atol=1e-3)
    np.testing.assert_array_equal(scores["topic"], raw["topic"])
    again = from_pretrained(tiny_model_dir, device="cpu").predict_scores(TEXTS).scores
    for task in scores:
        np.testing.assert_array_equal(again[task], scores[task])
    uncalibrated = from_pretrained(tiny_model_dir, device="cpu", calibrated=False)
    np.testing.assert_array_equal(
        uncalibrated.predict_scores(TEXTS).scores["sentiment"], raw["sentiment"]
    )


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_calibrated_scores_stay_probabilities(temperature):
    probs, _ = overconfident(50)
    out = apply_temperature(probs.astype(np.float32), temperature)
    np.testing.assert_allclose(out.sum(1), 1.0, atol=1e-5)
    assert out.dtype == np.float32
