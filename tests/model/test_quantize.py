"""int8 inference: per-token int8 layers, a measured plan in the model directory, chosen
automatically only when it keeps the labels and is faster (the rechecks: test_recheck.py)."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nabiz.model import runtime as runtime_module
from nabiz.model.loading import from_pretrained
from nabiz.model.manifest import verify_manifest
from nabiz.model.precision_plan import QUANTIZATION_FILE, PrecisionPlan
from nabiz.model.quantize import PerTokenInt8Linear, encoder_linears, quantize_model
from nabiz.model.runtime import resolve_precision
from nabiz.model.transformer import load_model
from nabiz.training import quantize as quantize_module
from nabiz.training.quantize import SPEED_TEXTS, quantize_directory, timed_texts
from tests.helpers import PLAN_TEXTS


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 40),
    outliers=st.sets(st.integers(0, 63), max_size=4),
    scale=st.floats(1.0, 50.0),
)
def test_a_per_token_int8_layer_stays_close_to_its_fp32_linear(rows, outliers, scale):
    torch.manual_seed(rows)
    linear = torch.nn.Linear(64, 32)
    x = torch.randn(rows, 64)
    x[:, sorted(outliers)] *= scale  # outlier channels, as the encoder's LayerNorms give them
    expected = linear(x)
    got = PerTokenInt8Linear(linear)(x)
    error = (got - expected).norm() / expected.norm()
    assert error < 0.05 * (1 + scale / 10)


def test_every_encoder_linear_runs_in_int8_and_everything_else_is_shared(tiny_model_dir):
    model = load_model(tiny_model_dir)[0]
    names = encoder_linears(model)
    quantized = quantize_model(model)
    assert names and all(type(quantized.get_submodule(n)) is PerTokenInt8Linear for n in names)
    assert all(type(model.get_submodule(n)) is torch.nn.Linear for n in names)  # untouched
    originals = dict(model.named_parameters())
    for name, tensor in quantized.named_parameters():
        assert tensor is originals[name]  # the same tensor, not a copy


def _plan(agreement: dict[str, float], speedup: float | None = None) -> PrecisionPlan:
    return PrecisionPlan(agreement=agreement, speedup=speedup)


def test_int8_without_a_plan_says_how_to_make_one(tiny_model_dir):
    with pytest.raises(ValueError, match="nabiz quantize"):
        from_pretrained(tiny_model_dir, device="cpu", precision="int8")


def test_a_plan_of_the_old_per_tensor_scheme_counts_as_none(tiny_model_dir):
    old = {"scheme": "dynamic-int8-per-channel-outlier-split", "keep_fp32": [], "layers": 12}
    (tiny_model_dir / QUANTIZATION_FILE).write_text(json.dumps(old), encoding="utf-8")
    assert PrecisionPlan.load(tiny_model_dir) is None
    with pytest.raises(ValueError, match="nabiz quantize"):
        resolve_precision("int8", "cpu", PrecisionPlan.load(tiny_model_dir))


def test_the_plan_records_what_it_measured_and_is_saved(tiny_model_dir, fast_int8):
    plan = quantize_directory(tiny_model_dir, PLAN_TEXTS)
    assert PrecisionPlan.load(tiny_model_dir) == plan
    assert plan.texts == len(PLAN_TEXTS)
    assert set(plan.agreement) == set(plan.recheck_margins) == set(plan.agreement_alone)
    assert 0.0 <= plan.rechecked <= 1.0


def test_a_plan_that_keeps_the_labels_is_timed_against_fp32_on_this_cpu(tiny_model_dir, fast_int8):
    plan = quantize_directory(tiny_model_dir, PLAN_TEXTS)
    assert plan.keeps_labels  # the tiny model's half-and-half check, on 24 texts
    assert plan.speedup > 0
    assert plan.compared_with == "torch"  # the tiny directory has no network.onnx
    assert "flags" in plan.cpu


def test_a_plan_on_few_texts_is_timed_on_as_many_as_one_on_many():
    assert timed_texts(["a", "b"]) == ["a", "b"] * (SPEED_TEXTS // 2)
    assert timed_texts([str(i) for i in range(2 * SPEED_TEXTS)]) == [
        str(i) for i in range(SPEED_TEXTS)
    ]


@pytest.mark.parametrize(
    ("speedup", "accepted"), [(None, False), (0.8, False), (1.05, False), (1.3, True)]
)
def test_a_plan_that_keeps_the_labels_is_accepted_only_when_measured_faster(speedup, accepted):
    plan = _plan({"sentiment": 0.999}, speedup)
    assert plan.keeps_labels
    assert plan.accepted is accepted


def test_auto_takes_int8_only_on_a_cpu_without_bf16_and_with_an_accepted_plan(
    monkeypatch, fast_int8
):
    cpu, gpu = "cpu", "cuda"
    accepted = _plan({"sentiment": 0.999, "topic": 0.996}, speedup=1.5)
    rejected = _plan({"sentiment": 0.999, "topic": 0.97}, speedup=1.5)
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: False)
    assert resolve_precision("auto", cpu, accepted) == "int8"
    assert resolve_precision("auto", cpu, rejected) == "fp32"
    assert resolve_precision("auto", cpu, None) == "fp32"
    assert resolve_precision("auto", gpu, accepted) == "bf16"
    assert resolve_precision("int8", cpu, rejected) == "int8"  # by hand, the user's choice
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: True)
    assert resolve_precision("auto", cpu, accepted) == "bf16"


def test_a_onednn_cap_below_bf16_counts_as_a_cpu_without_native_bf16(monkeypatch, fast_int8):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not runtime_module.cpu_has_fast_bf16()
    accepted = _plan({"sentiment": 0.999}, speedup=1.5)
    assert resolve_precision("auto", "cpu", accepted) == "int8"
    assert resolve_precision("auto", "cpu", None) == "fp32"


def test_auto_takes_no_int8_plan_on_a_cpu_without_avx512_vnni(monkeypatch):
    accepted = _plan({"sentiment": 0.999}, speedup=1.5)
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: False)
    monkeypatch.setattr(runtime_module, "cpu_has_fast_int8", lambda: False)
    assert resolve_precision("auto", "cpu", accepted) == "fp32"


@pytest.mark.parametrize(
    ("flags", "fast"), [("avx2 fma", False), ("avx2 avx512f avx512_vnni", True)]
)
def test_int8_counts_as_fast_only_with_avx512_vnni(monkeypatch, flags, fast):
    monkeypatch.setattr(runtime_module, "read_cpuinfo", lambda: {"flags": flags})
    assert runtime_module.cpu_has_fast_int8() is fast


def test_measuring_int8_on_a_cpu_without_avx512_vnni_is_refused(monkeypatch, tiny_model_dir):
    monkeypatch.setattr(runtime_module, "cpu_has_fast_int8", lambda: False)
    with pytest.raises(ValueError, match="AVX512-VNNI"):
        quantize_directory(tiny_model_dir, PLAN_TEXTS)
    assert PrecisionPlan.load(tiny_model_dir) is None  # nothing written


def test_int8_by_hand_on_a_cpu_without_avx512_vnni_warns_that_it_is_slow(
    monkeypatch, caplog, tiny_model_dir, fast_int8
):
    quantize_directory(tiny_model_dir, PLAN_TEXTS)
    monkeypatch.setattr(runtime_module, "cpu_has_fast_int8", lambda: False)
    from_pretrained(tiny_model_dir, device="cpu", precision="int8")
    assert "without AVX512-VNNI" in caplog.text


@pytest.mark.parametrize("measured_before", [False, True])
def test_a_measurement_cut_short_leaves_the_plan_as_it_was(
    monkeypatch, tiny_model_dir, fast_int8, measured_before
):
    if measured_before:
        quantize_directory(tiny_model_dir, PLAN_TEXTS)
    path = tiny_model_dir / QUANTIZATION_FILE
    before = path.read_bytes() if measured_before else None
    real = quantize_module.from_pretrained

    def interrupted(directory, **kwargs):
        if kwargs.get("precision") == "int8":
            raise KeyboardInterrupt  # Ctrl-C while int8 scores the texts
        return real(directory, **kwargs)

    monkeypatch.setattr(quantize_module, "from_pretrained", interrupted)
    with pytest.raises(KeyboardInterrupt):
        quantize_directory(tiny_model_dir, PLAN_TEXTS)
    assert (path.read_bytes() if path.exists() else None) == before
    verify_manifest(tiny_model_dir)  # the manifest lists what is there


def test_quantize_measures_on_the_sample_export_when_the_model_came_without_its_data(
    tiny_model_dir,
):
    from typer.testing import CliRunner

    from nabiz.cli import app

    args = ["quantize", "--model", str(tiny_model_dir), "--texts", "12", "--precision", "bf16"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "measuring on the sample export's 12 texts" in " ".join(result.output.split())
    assert verify_manifest(tiny_model_dir)  # the plan is listed and checked
