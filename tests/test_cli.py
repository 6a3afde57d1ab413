"""The command line: each command reaches its function, and bad input ends in a one-line error."""

from __future__ import annotations

import pandas as pd
import yaml
from typer.testing import CliRunner

from nabiz.cli import app
from tests.helpers import custom_config_dict, labelled_frame

runner = CliRunner()


def _write_config(tmp_path, **training) -> str:
    labelled_frame(60).to_csv(tmp_path / "mine.csv", index=False)
    tree = custom_config_dict("mine.csv", "unused-base", "prepared", "model")
    tree["training"].update(training)
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_data_prepare_reports_what_it_kept(tmp_path):
    result = runner.invoke(app, ["data", "prepare", "--config", _write_config(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "60 texts kept of 60 read" in result.output
    assert (tmp_path / "prepared" / "data_card.md").is_file()


def test_an_invalid_override_is_a_clear_error(tmp_path):
    config = _write_config(tmp_path)
    result = runner.invoke(app, ["train", "--config", config, "--set", "training.epochs=-1"])
    assert result.exit_code == 2
    assert "epochs" in result.output


def test_an_unknown_profile_names_the_profiles(tmp_path):
    result = runner.invoke(app, ["train", "--config", _write_config(tmp_path), "--profile", "gpu"])
    assert result.exit_code == 2
    assert "no profile 'gpu'" in result.output


def test_evaluate_without_a_model_says_how_to_get_one(tmp_path):
    result = runner.invoke(app, ["evaluate", "--model", str(tmp_path)])
    assert result.exit_code == 2
    assert "nabiz train" in result.output


def test_evaluate_refuses_a_report_path_it_cannot_write_before_scoring(tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("nothing is scored when the report cannot be written")

    monkeypatch.setattr("nabiz.training.modeleval.evaluate_model", never)
    output = tmp_path / "no such folder" / "report.json"
    result = runner.invoke(app, ["evaluate", "--model", str(tmp_path), "--output", str(output)])
    assert result.exit_code == 2
    assert "cannot write the report" in " ".join(result.output.split())


def test_predict_refuses_a_text_with_nothing_visible_before_loading_a_model(tmp_path):
    result = runner.invoke(app, ["predict", "\u200b \u200d", "--model", str(tmp_path / "none")])
    assert result.exit_code != 0
    assert "text is empty" in result.output


def test_a_config_with_a_bad_indent_is_a_one_line_error(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("name: x\ntasks:\n  - name: a\n   labels: [b, c]\n", encoding="utf-8")
    result = runner.invoke(app, ["train", "--config", str(config)])
    assert result.exit_code == 2
    assert "bad.yaml, line 4, column 4: not valid YAML" in result.output
    assert "Traceback" not in result.output


def test_train_refuses_an_output_holding_files_that_are_not_a_models_before_training(tmp_path):
    output = tmp_path / "models" / "banka"
    output.mkdir(parents=True)
    (output / "notlar.txt").write_text("teslim notları", encoding="utf-8")
    result = runner.invoke(
        app, ["train", "--config", _write_config(tmp_path), "--output", str(output)]
    )
    assert result.exit_code == 2
    assert "is not a Nabız model directory (notlar.txt)" in result.output
    assert (output / "notlar.txt").is_file()


def test_data_prepare_says_when_duplicate_texts_disagreed_on_a_label(tmp_path):
    config = _write_config(tmp_path)
    frame = labelled_frame(60)
    other = next(mood for mood in frame["duygu"] if mood != frame["duygu"][0])
    pd.concat([frame, frame.iloc[[0]].assign(duygu=other)]).to_csv(tmp_path / "mine.csv")
    result = runner.invoke(app, ["data", "prepare", "--config", config])
    assert result.exit_code == 0, result.output
    assert "duplicate texts with different labels (mood 1 groups)" in result.output
