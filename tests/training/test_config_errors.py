"""A config that does not validate says where and what, one line per problem, without a dump."""

from __future__ import annotations

from pathlib import Path

import pytest

from nabiz.training.config import NabizConfig, load_config
from nabiz.training.config_errors import ConfigError

DEFAULT = Path(__file__).resolve().parents[2] / "configs" / "default.yaml"


def test_a_misspelt_override_names_its_key_and_the_nearest_one():
    with pytest.raises(ConfigError) as error:
        load_config(DEFAULT, "cpu", ["training.epoch=1", "trainig.epochs=1"])
    message = str(error.value)
    assert "2 problems" in message
    assert "training.epoch: unknown key 'epoch'; did you mean 'epochs'?" in message
    assert "trainig: unknown key 'trainig'; did you mean 'training'?" in message


def test_a_bad_value_names_its_place_and_hides_the_input(tmp_path):
    config = tmp_path / "my.yaml"
    text = DEFAULT.read_text(encoding="utf-8").replace("kind: ordinal", "kind: ordinall")
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(config)
    message = str(error.value)
    assert "tasks[2].kind: Input should be 'single_label', 'ordinal' or 'multi_label'" in message
    assert "input_value" not in message and "errors.pydantic.dev" not in message


def test_a_misspelt_task_under_a_files_labels_names_the_tasks_and_the_nearest(tmp_path):
    from tests.helpers import custom_config_dict

    tree = custom_config_dict("mine.csv", "unused-base", "prepared", "model")
    labels = tree["data"]["files"][0]["labels"]
    task = next(iter(labels))
    labels[task[:-1] + "x" + task[-1:]] = labels.pop(task)
    with pytest.raises(ValueError, match=rf"unknown task\(s\).*did you mean .* → '{task}'\?"):
        NabizConfig.model_validate(tree | {"config_dir": tmp_path})
