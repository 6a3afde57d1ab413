"""A leave-one-domain-out run from the command line, on a tiny encoder and two made-up sources.

One run covers what a data scientist repeats with one command: `nabiz train --leave-out SOURCE`
trains without the source (on cached frozen-layer states), calibrates, and tests on every source;
`nabiz evaluate` then reports whether the encoder alone beats the baseline alone.
"""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from nabiz.cli import app
from nabiz.model.calibration import load_calibration
from nabiz.model.tiny import make_tiny_encoder
from nabiz.training.config import load_config
from nabiz.training.pipeline import leave_out_sources
from tests.helpers import custom_config_dict, labelled_frame

runner = CliRunner()


@pytest.fixture(scope="module")
def leave_out_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("leave_out")
    frame = labelled_frame(160)
    frame.iloc[:100].to_csv(root / "a.csv", index=False)
    frame.iloc[100:].to_csv(root / "b.csv", index=False)
    encoder = make_tiny_encoder(root / "encoder", frame["metin"])
    tree = custom_config_dict("a.csv", str(encoder), "prepared", "model")
    second = json.loads(json.dumps(tree["data"]["files"][0]))
    tree["data"]["files"][0]["name"] = "a"
    second.update(name="b", path="b.csv")
    tree["data"]["files"].append(second)
    tree["training"].update(epochs=4, freeze_embeddings=True, freeze_layers=1)
    config = root / "my.yaml"
    config.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["train", "--config", str(config), "--leave-out", "b"])
    assert result.exit_code == 0, result.output
    return root, config


def test_leave_out_run_is_written_beside_the_full_model(leave_out_run):
    root, _ = leave_out_run
    assert (root / "model-without-b" / "model.safetensors").is_file()
    assert not (root / "model").exists()


def test_left_out_source_is_not_trained_on_but_tested(leave_out_run):
    root, config_path = leave_out_run
    metrics = json.loads((root / "model-without-b" / "metrics.json").read_text())
    assert metrics["training"]["leave_out"] == ["b"]
    assert metrics["test"]["nabiz"]["by_source"]["b"]["mood"]["n"] > 0
    config = load_config(config_path, overrides=["training.leave_out=[b]"])
    from nabiz.training.data import load_prepared

    kept = leave_out_sources(load_prepared(config), config.training.leave_out)
    assert set(kept["train"]["source"]) == {"a"} and set(kept["validation"]["source"]) == {"a"}
    assert "b" in set(kept["test"]["source"])


def test_an_unknown_source_to_leave_out_is_a_clear_error(leave_out_run):
    _, config = leave_out_run
    result = runner.invoke(app, ["train", "--config", str(config), "--leave-out", "nope"])
    assert result.exit_code == 2
    assert "unknown sources ['nope']" in result.output


def test_training_stores_a_calibration_per_way_of_scoring(leave_out_run):
    root, _ = leave_out_run
    model = root / "model-without-b"
    assert load_calibration(model, "transformer") is not None
    assert load_calibration(model / "baseline", "baseline") is not None
    metrics = json.loads((model / "metrics.json").read_text())
    assert "ece" in metrics["test_uncalibrated"]["transformer"]["tasks"]["mood"]
    assert "Calibration" in (model / "README.md").read_text()


def test_evaluate_reports_whether_the_encoder_beats_the_baseline(leave_out_run):
    root, _ = leave_out_run
    model = root / "model-without-b"
    result = runner.invoke(app, ["evaluate", "--model", str(model)])
    assert result.exit_code == 0, result.output
    assert "encoder beats baseline on every task:" in result.output
    report = json.loads((model / "evaluation_test.json").read_text())
    check = report["encoder_vs_baseline"]
    assert set(check) == {"mood", "area", "level"}
    for row in check.values():
        assert row["beats"] == (row["transformer"] > row["baseline"])
    strict = runner.invoke(app, ["evaluate", "--model", str(model), "--require-encoder-wins"])
    every = all(row["beats"] for row in check.values())
    assert strict.exit_code == (0 if every else 2)


def test_the_full_models_card_finds_the_leave_out_runs_beside_it(leave_out_run):
    from nabiz.training.pipeline import cross_domain_figures

    root, _ = leave_out_run
    figures = cross_domain_figures(root / "model")
    assert set(figures) == {"b"}
    assert figures["b"]["mood"]["n"] > 0
