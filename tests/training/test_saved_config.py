"""The config saved in a model directory trains the same model again from wherever it is copied."""

from __future__ import annotations

import shutil
from pathlib import Path

from nabiz.training.config import load_config
from nabiz.training.data import prepare_data
from nabiz.training.pipeline import frozen_config
from tests.training.test_data import FEEDBACK, fixture_spec, make_config, offline_settings


def test_the_saved_config_names_every_file_absolutely_and_the_real_output(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(FEEDBACK, project / "feedback.csv")
    config = make_config(project, [fixture_spec(path="feedback.csv")], prepared_dir="prepared")
    saved = frozen_config(config, project / "models" / "banka2")
    copy = tmp_path / "elsewhere" / "deeper" / "rerun.yaml"
    copy.parent.mkdir(parents=True)
    copy.write_text(saved.to_yaml(), encoding="utf-8")

    again = load_config(copy)
    assert Path(again.data.files[0].path) == project / "feedback.csv"
    assert Path(again.data.files[0].labels["subject"].map_file) == project / "subject.csv"
    assert Path(again.output_dir) == project / "models" / "banka2"
    prepared = prepare_data(again, offline_settings(tmp_path))
    assert len(prepared.datasets["train"]) > 0
