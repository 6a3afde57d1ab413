"""Training precision: where `training.bf16: auto` trains under bf16 autocast, and a CPU run in
bf16 (frozen-layer states included) that records what it did."""

from __future__ import annotations

import json

import pytest
import yaml

from nabiz.model import runtime
from nabiz.model.tiny import make_tiny_encoder
from nabiz.settings import Settings
from nabiz.training import train
from nabiz.training.config import load_config
from nabiz.training.pipeline import run_training
from tests.helpers import custom_config_dict, labelled_frame


@pytest.mark.parametrize("native", [True, False])
def test_auto_trains_in_bf16_on_a_gpu_whatever_the_cpu(monkeypatch, native):
    monkeypatch.setattr(runtime, "cpu_has_fast_bf16", lambda: native)
    assert train.training_bf16("auto", "cuda")


@pytest.mark.parametrize("native", [True, False])
def test_auto_trains_in_bf16_on_a_cpu_only_where_bf16_is_fast(monkeypatch, native):
    monkeypatch.setattr(runtime, "cpu_has_fast_bf16", lambda: native)
    assert train.training_bf16("auto", "cpu") is native


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_setting_by_hand_is_obeyed_on_any_device(monkeypatch, device):
    monkeypatch.setattr(runtime, "cpu_has_fast_bf16", lambda: False)
    assert train.training_bf16(True, device) and not train.training_bf16(False, device)


def test_a_cpu_run_in_bf16_trains_on_bf16_states_and_says_so(tmp_path):
    frame = labelled_frame(120)
    frame.to_csv(tmp_path / "mine.csv", index=False)
    encoder = make_tiny_encoder(tmp_path / "encoder", frame["metin"])
    tree = custom_config_dict("mine.csv", str(encoder), "prepared", "model")
    tree["training"].update(
        epochs=2, bf16=True, device="cpu", freeze_embeddings=True, freeze_layers=1
    )
    (tmp_path / "my.yaml").write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "no-mirror")
    run_training(load_config(tmp_path / "my.yaml"), settings)
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["training"]["bf16"] is True
    assert "(bf16 autocast)" in (tmp_path / "model" / "README.md").read_text()
    folders = [p.name for p in (tmp_path / "cache" / "states").iterdir()]
    assert len(folders) == 1 and folders[0].endswith("-layers1-bf16")
