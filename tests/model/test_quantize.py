"""int8 inference: a measured plan in the model directory, labels kept, chosen only when safe."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nabiz.model import runtime as runtime_module
from nabiz.model.loading import from_pretrained
from nabiz.model.quantize import OutlierSplitLinear, encoder_linears, quantize_model
from nabiz.model.quantize_plan import QUANTIZATION_FILE, QuantizationPlan
from nabiz.model.runtime import resolve_precision
from nabiz.model.tiny import DEFAULT_CORPUS
from nabiz.model.transformer import load_model
from nabiz.training.quantize import quantize_directory

TEXTS = [
    *DEFAULT_CORPUS[:-1],
    "Paketimi değiştirdim ama fatura eski fiyattan geldi, iade istiyorum.",
    "Mağazadaki çalışan çok kabaydı, bir daha gitmem.",
    "Sms kampanyaları yüzünden telefonum susmuyor, listeden çıkarın!",
    "Teşekkürler, arıza bir saatte giderildi.",
    "Uygulamaya giriş yapamıyorum, şifre sıfırlama mesajı gelmiyor.",
    "Şebeke çekmiyor evde, taşınacağım başka operatöre.",
]


@settings(max_examples=25, deadline=None)
@given(
    outliers=st.sets(st.integers(0, 15), min_size=1, max_size=6),
    scale=st.floats(1.0, 200.0),
)
def test_the_outlier_split_is_the_same_function_in_fp32(outliers, scale):
    torch.manual_seed(0)
    linear = torch.nn.Linear(16, 8)
    x = torch.randn(3, 5, 16)
    index = torch.tensor(sorted(outliers))
    x[..., index] *= scale
    split = OutlierSplitLinear(linear, index)
    torch.testing.assert_close(split(x), linear(x), rtol=1e-5, atol=1e-4 * scale)


def test_layers_kept_in_fp32_stay_plain_linears(tiny_model_dir):
    model = load_model(tiny_model_dir)[0]
    names = encoder_linears(model)
    assert names and all(name.startswith("encoder.") for name in names)
    quantized = quantize_model(model, keep_fp32=names[:2])
    assert type(quantized.get_submodule(names[0])) is torch.nn.Linear
    assert type(quantized.get_submodule(names[2])) is not torch.nn.Linear
    assert type(quantized.heads[next(iter(quantized.heads))]) is torch.nn.Linear


def test_an_unknown_layer_name_is_refused(tiny_model_dir):
    model = load_model(tiny_model_dir)[0]
    with pytest.raises(ValueError, match="not encoder Linear"):
        quantize_model(model, keep_fp32=["encoder.nope"])


def test_int8_without_a_plan_says_how_to_make_one(tiny_model_dir):
    with pytest.raises(ValueError, match="nabiz quantize"):
        from_pretrained(tiny_model_dir, device="cpu", precision="int8")


def test_the_plan_keeps_the_labels_on_the_texts_it_was_measured_on(tiny_model_dir):
    plan = quantize_directory(tiny_model_dir, TEXTS)
    assert (tiny_model_dir / QUANTIZATION_FILE).is_file()
    assert QuantizationPlan.load(tiny_model_dir) == plan
    fp32 = from_pretrained(tiny_model_dir, device="cpu", precision="fp32").predict(TEXTS)
    int8 = from_pretrained(tiny_model_dir, device="cpu", precision="int8")
    assert getattr(int8, "first", int8).precision == "int8"  # the transformer of a mixture
    got = int8.predict(TEXTS)
    for task, share in plan.agreement.items():
        same = np.mean(
            [a.tasks[task].label == b.tasks[task].label for a, b in zip(fp32, got, strict=True)]
        )
        assert same == pytest.approx(share)
        assert same >= 0.995  # the plan returns layers to fp32 until this holds


def test_a_plan_that_keeps_the_labels_is_timed_against_fp32_on_this_cpu(tiny_model_dir):
    plan = quantize_directory(tiny_model_dir, TEXTS)
    assert plan.keeps_labels
    assert plan.speedup > 0
    assert plan.compared_with == "torch"  # the tiny directory has no network.onnx
    assert "flags" in plan.cpu
    assert QuantizationPlan.load(tiny_model_dir).speedup == plan.speedup


@pytest.mark.parametrize(
    ("speedup", "accepted"), [(None, False), (0.8, False), (1.05, False), (1.3, True)]
)
def test_a_plan_that_keeps_the_labels_is_accepted_only_when_measured_faster(speedup, accepted):
    plan = QuantizationPlan(agreement={"sentiment": 0.999}, layers=12, speedup=speedup)
    assert plan.keeps_labels
    assert plan.accepted is accepted


def test_auto_takes_int8_only_on_a_cpu_without_bf16_and_with_an_accepted_plan(monkeypatch):
    cpu, gpu = "cpu", "cuda"
    accepted = QuantizationPlan(
        agreement={"sentiment": 0.999, "topic": 0.996}, layers=12, speedup=1.5
    )
    rejected = QuantizationPlan(agreement={"sentiment": 0.999, "topic": 0.97}, layers=12)
    all_fp32 = QuantizationPlan(
        keep_fp32=[f"l{i}" for i in range(12)], agreement={"sentiment": 1.0}, layers=12
    )
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: False)
    assert resolve_precision("auto", cpu, accepted) == "int8"
    assert resolve_precision("auto", cpu, rejected) == "fp32"
    assert resolve_precision("auto", cpu, None) == "fp32"
    assert resolve_precision("auto", cpu, all_fp32) == "fp32"  # nothing int8: no point
    assert resolve_precision("auto", gpu, accepted) == "bf16"
    assert resolve_precision("int8", cpu, rejected) == "int8"  # by hand, the user's choice
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: True)
    assert resolve_precision("auto", cpu, accepted) == "bf16"


def test_a_onednn_cap_below_bf16_counts_as_a_cpu_without_native_bf16(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not runtime_module.cpu_has_fast_bf16()
    accepted = QuantizationPlan(agreement={"sentiment": 0.999}, layers=12, speedup=1.5)
    assert resolve_precision("auto", "cpu", accepted) == "int8"
    assert resolve_precision("auto", "cpu", None) == "fp32"
