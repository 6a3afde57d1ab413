"""ONNX Runtime: the exported network scores as torch does, and is chosen only where torch would
run fp32 on the CPU."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nabiz.cli import app
from nabiz.model import runtime as runtime_module
from nabiz.model.loading import from_pretrained
from nabiz.model.manifest import ModelIntegrityError, verify_manifest
from nabiz.model.onnx_export import ExportError, export_directory
from nabiz.model.onnx_predictor import OnnxTransformerPredictor
from nabiz.model.precision_plan import PrecisionPlan
from nabiz.model.runtime import ONNX_FILE, resolve_runtime

pytest.importorskip("onnxruntime")

REPO = Path(__file__).resolve().parents[2]

TEXTS = [
    "Faturam bu ay çok yüksek geldi!",
    "İnternet üç gündür yok, arıza kaydı açtım ama kimse aramadı.",
    "Teşekkürler, sorunum hemen çözüldü.",
    "Kartımdan iki kez çekim yapıldı, iade edilmezse avukata gideceğim. " * 30,
    "",
]


@pytest.fixture(scope="module")
def exported_source(tiny_model_source, tmp_path_factory) -> Path:
    directory = Path(shutil.copytree(tiny_model_source, tmp_path_factory.mktemp("onnx") / "m"))
    export_directory(directory, TEXTS)
    return directory


@pytest.fixture
def exported_dir(exported_source, tmp_path) -> Path:
    return Path(shutil.copytree(exported_source, tmp_path / "model"))


def test_the_served_scores_through_onnx_equal_torch_fp32(exported_dir):
    torch_scores = from_pretrained(exported_dir, runtime="torch").predict_scores(TEXTS)
    onnx_model = from_pretrained(exported_dir, runtime="onnx")
    onnx_scores = onnx_model.predict_scores(TEXTS)
    assert isinstance(onnx_model.first, OnnxTransformerPredictor)  # mixed with its baseline
    for task, values in torch_scores.scores.items():
        np.testing.assert_allclose(onnx_scores.scores[task], values, atol=1e-4)
    assert list(onnx_scores.truncated) == list(torch_scores.truncated)


def test_onnx_batches_are_padded_to_their_longest_text_only(exported_dir):
    predictor = OnnxTransformerPredictor.from_pretrained(exported_dir)
    widths = []
    network = predictor.logits

    def recorded(input_ids, mask):
        widths.append(input_ids.shape[1])
        return network(input_ids, mask)

    predictor.logits = recorded
    texts = TEXTS[:3]
    predictor.predict_scores(texts)
    assert widths == [max(len(row) for row in predictor.encode(texts).ids)]


def test_the_exported_file_is_listed_in_the_manifest(exported_dir):
    assert verify_manifest(exported_dir)
    with (exported_dir / ONNX_FILE).open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelIntegrityError, match=ONNX_FILE):
        from_pretrained(exported_dir, runtime="onnx")


def test_an_export_that_scores_differently_is_not_written(tiny_model_dir, monkeypatch):
    from nabiz.model import onnx_export

    monkeypatch.setattr(onnx_export, "MAX_SCORE_DIFFERENCE", -1.0)
    with pytest.raises(ExportError, match="not written"):
        export_directory(tiny_model_dir, TEXTS)
    assert not (tiny_model_dir / ONNX_FILE).exists()


def test_auto_takes_onnx_where_torch_would_run_fp32_on_the_cpu(exported_dir, monkeypatch):
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: False)
    assert resolve_runtime("auto", exported_dir, "cpu", "auto") == "onnx"
    assert resolve_runtime("auto", exported_dir, "cpu", "fp32") == "onnx"
    assert resolve_runtime("auto", exported_dir, "cpu", "bf16") == "torch"  # asked for by hand
    assert resolve_runtime("auto", exported_dir, "cuda", "auto") == "torch"
    assert resolve_runtime("torch", exported_dir, "cpu", "auto") == "torch"
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: True)
    assert resolve_runtime("auto", exported_dir, "cpu", "auto") == "torch"  # bf16 is faster


def test_auto_keeps_an_accepted_int8_plan_on_torch(exported_dir, monkeypatch, fast_int8):
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: False)
    PrecisionPlan(agreement={"sentiment": 0.999}, speedup=1.5).save(exported_dir)
    assert resolve_runtime("auto", exported_dir, "cpu", "auto") == "torch"


def test_auto_runs_onnx_beside_an_accepted_int8_plan_on_a_cpu_without_avx512_vnni(
    exported_dir, monkeypatch
):
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: False)
    monkeypatch.setattr(runtime_module, "cpu_has_fast_int8", lambda: False)
    PrecisionPlan(agreement={"sentiment": 0.999}, speedup=1.5).save(exported_dir)
    assert resolve_runtime("auto", exported_dir, "cpu", "auto") == "onnx"


def test_auto_stays_on_onnx_when_the_int8_plan_was_not_measured_faster(exported_dir, monkeypatch):
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: False)
    PrecisionPlan(agreement={"sentiment": 0.999}, speedup=0.9).save(exported_dir)
    assert resolve_runtime("auto", exported_dir, "cpu", "auto") == "onnx"


def test_auto_without_the_file_or_onnxruntime_stays_on_torch(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: False)
    assert resolve_runtime("auto", tiny_model_dir, "cpu", "auto") == "torch"
    (tiny_model_dir / ONNX_FILE).write_bytes(b"")
    monkeypatch.setattr(runtime_module, "onnxruntime_installed", lambda: False)
    assert resolve_runtime("auto", tiny_model_dir, "cpu", "auto") == "torch"


def test_onnx_by_hand_without_the_file_names_the_command(tiny_model_dir):
    with pytest.raises(ValueError, match="nabiz export-onnx"):
        from_pretrained(tiny_model_dir, runtime="onnx")


def test_onnx_by_hand_with_bf16_is_refused(exported_dir):
    with pytest.raises(ValueError, match="runs fp32"):
        resolve_runtime("onnx", exported_dir, "cpu", "bf16")


def test_onnx_by_hand_takes_auto_precision_as_fp32_even_with_native_bf16(exported_dir, monkeypatch):
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: True)
    assert resolve_runtime("onnx", exported_dir, "cpu", "auto") == "onnx"


def test_scoring_through_onnx_never_imports_torch(exported_dir):
    script = (
        "import sys\n"
        "from nabiz.model.loading import from_pretrained\n"
        f"model = from_pretrained({str(exported_dir)!r}, runtime='onnx')\n"
        "model.predict(['Kartımdan iki kez para çekildi'])\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd="/"
    )
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize("config", ["none", "its data elsewhere"])
def test_export_onnx_checks_on_the_sample_export_without_prepared_data(tiny_model_dir, config):
    if config != "none":  # a model copied from the machine that trained it
        shutil.copy(REPO / "configs" / "default.yaml", tiny_model_dir / "training_config.yaml")
    env = {**os.environ, "NABIZ_RUNTIME": "onnx"}
    result = CliRunner().invoke(app, ["export-onnx", "--model", str(tiny_model_dir)], env=env)
    assert result.exit_code == 0, result.output
    assert "sample export" in result.output
    assert "top labels equal" in result.output
    assert (tiny_model_dir / ONNX_FILE).is_file()
