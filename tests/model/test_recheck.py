"""Near ties scored again in fp32: how near is measured, which texts go back, and that int8 and
bf16 serve fp32's answer for them."""

from __future__ import annotations

import numpy as np
import pytest

from nabiz.model.loading import from_pretrained
from nabiz.model.manifest import write_manifest
from nabiz.model.margins import choose_margins, decision_margins
from nabiz.model.precision_plan import PLAN_FILES, PrecisionPlan
from nabiz.model.recheck import RecheckingPredictor, needs_recheck
from nabiz.model.reference import transformer_of
from nabiz.model.schema import LabelSchema
from nabiz.model.transformer import TransformerPredictor
from nabiz.training.quantize import quantize_directory
from tests.helpers import CUSTOM_TASKS, PLAN_TEXTS

pytestmark = pytest.mark.usefixtures("fast_int8")

SCHEMA = LabelSchema.model_validate({"tasks": CUSTOM_TASKS})


def _scores(mood, area, level) -> dict[str, np.ndarray]:
    return {
        "mood": np.array(mood, np.float32),
        "area": np.array(area, np.float32),
        "level": np.array(level, np.float32),
    }


def test_a_margin_is_the_gap_to_the_runner_up_or_to_a_threshold():
    scores = _scores([[0.5, 0.3, 0.2]], [[0.9, 0.52, 0.1]], [[0.6, 0.4]])
    margins = decision_margins(SCHEMA, scores)
    assert margins["mood"][0] == pytest.approx(0.2)
    assert margins["area"][0] == pytest.approx(0.02)  # 0.52 sits next to its 0.5 threshold
    assert margins["level"][0] == pytest.approx(0.2)


def test_a_margin_is_twice_the_shift_most_texts_stay_within():
    rng = np.random.default_rng(0)
    exact = _scores(rng.random((200, 3)), rng.random((200, 3)), rng.random((200, 2)))
    fast = {name: values + 0.01 for name, values in exact.items()}
    fast["mood"][:, 0] += np.where(np.arange(200) == 7, 0.5, 0.0)  # one text moves far
    margins = choose_margins(SCHEMA, exact, fast, quantile=0.99)
    assert margins["area"] == pytest.approx(0.02)  # no answer changed: a margin all the same
    assert margins["mood"] == pytest.approx(0.02, abs=0.01)  # one text in 200 is not the rule


def test_only_texts_within_a_margin_go_back():
    scores = _scores(
        [[0.5, 0.45, 0.05], [0.9, 0.05, 0.05]], [[0.9, 0.1, 0.1]] * 2, [[0.7, 0.3]] * 2
    )
    again = needs_recheck(SCHEMA, scores, {"mood": 0.1})
    assert again.tolist() == [True, False]


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_a_plan_is_saved_under_its_own_name(tiny_model_dir, precision):
    plan = quantize_directory(tiny_model_dir, PLAN_TEXTS, precision)
    assert (tiny_model_dir / PLAN_FILES[precision]).is_file()
    assert PrecisionPlan.load(tiny_model_dir, precision) == plan
    assert plan.scheme.startswith(precision)
    other = "bf16" if precision == "int8" else "int8"
    assert PrecisionPlan.load(tiny_model_dir, other) is None


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_near_ties_are_served_from_fp32(tiny_model_dir, precision):
    quantize_directory(tiny_model_dir, PLAN_TEXTS, precision)
    served = from_pretrained(tiny_model_dir, device="cpu", precision=precision)
    assert isinstance(served, RecheckingPredictor)
    assert f"torch {precision}" in served.engine and "again in torch fp32" in served.engine
    served.margins = dict.fromkeys(served.margins, 2.0)  # every text is a near tie
    fp32 = from_pretrained(tiny_model_dir, device="cpu", precision="fp32")
    expected, got = fp32.predict_scores(PLAN_TEXTS), served.predict_scores(PLAN_TEXTS)
    for name, values in expected.scores.items():
        np.testing.assert_allclose(got.scores[name], values, rtol=1e-6, atol=1e-7)
    assert served.rechecked == served.scored == len(PLAN_TEXTS)


def test_texts_far_from_a_tie_keep_the_fast_scores(tiny_model_dir):
    quantize_directory(tiny_model_dir, PLAN_TEXTS, "int8")
    served = from_pretrained(tiny_model_dir, device="cpu", precision="int8")
    served.margins = dict.fromkeys(served.margins, 0.0)
    alone = served.fast.predict_scores(PLAN_TEXTS)
    got = served.predict_scores(PLAN_TEXTS)
    for name, values in alone.scores.items():
        np.testing.assert_array_equal(got.scores[name], values)
    assert served.rechecked == 0


def test_the_bf16_copy_leaves_the_fp32_model_in_fp32(tiny_model_dir):
    fp32 = TransformerPredictor.from_pretrained(tiny_model_dir, device="cpu", precision="fp32")
    bf16 = fp32.in_precision("bf16")
    linear = next(m for m in fp32.model.modules() if m.__class__.__name__ == "Linear")
    assert linear.weight.dtype.is_floating_point and str(linear.weight.dtype) == "torch.float32"
    copied = next(m for m in bf16.model.modules() if m.__class__.__name__ == "Linear")
    assert str(copied.weight.dtype) == "torch.bfloat16"
    originals = dict(fp32.model.named_parameters())
    shared = [n for n, p in bf16.model.named_parameters() if p is originals[n]]
    assert shared and all("embeddings" in n or "LayerNorm" in n for n in shared)


def test_without_a_bf16_plan_bf16_is_served_alone(tiny_model_dir):
    served = from_pretrained(tiny_model_dir, device="cpu", precision="bf16")
    assert not isinstance(served, RecheckingPredictor)


def test_the_plain_reference_of_a_rechecked_model_is_its_fp32_transformer(tiny_model_dir):
    quantize_directory(tiny_model_dir, PLAN_TEXTS, "int8")
    served = from_pretrained(tiny_model_dir, device="cpu", precision="int8")
    assert transformer_of(served).precision == "fp32"


def test_a_plan_measured_on_another_cpu_is_used_with_a_warning(tiny_model_dir, caplog):
    plan = quantize_directory(tiny_model_dir, PLAN_TEXTS, "bf16")
    plan.cpu = "Some Other CPU (family 6 model 143); flags avx2 fma amx_bf16"
    plan.save(tiny_model_dir)
    write_manifest(tiny_model_dir)
    with caplog.at_level("WARNING", logger="nabiz.model.loading"):
        served = from_pretrained(tiny_model_dir, device="cpu", precision="bf16")
    assert isinstance(served, RecheckingPredictor)
    assert "Some Other CPU" in caplog.text and "nabiz quantize" in caplog.text


def test_a_plan_measured_on_this_cpu_loads_quietly(tiny_model_dir, caplog):
    quantize_directory(tiny_model_dir, PLAN_TEXTS, "bf16")
    with caplog.at_level("WARNING", logger="nabiz.model.loading"):
        from_pretrained(tiny_model_dir, device="cpu", precision="bf16")
    assert "measured on" not in caplog.text
