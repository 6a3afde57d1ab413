"""The label schema: validated once, saved into the model, read back identically."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nabiz.model.schema import LabelSchema, TaskKind, TaskRole, TaskSpec


def test_schema_round_trips_through_its_file(tmp_path, default_schema):
    default_schema.save(tmp_path)
    assert LabelSchema.load(tmp_path) == default_schema


def test_label_order_is_the_class_index(default_schema):
    sentiment = default_schema.task("sentiment")
    assert [sentiment.index(label) for label in sentiment.labels] == [0, 1, 2]


def test_unknown_label_error_lists_the_valid_labels(default_schema):
    with pytest.raises(KeyError, match="olumsuz"):
        default_schema.task("sentiment").index("kızgın")


def test_repeated_labels_are_refused():
    with pytest.raises(ValidationError, match="repeated"):
        TaskSpec(name="t", labels=["a", "b", "a"])


def test_repeated_task_names_are_refused():
    task = TaskSpec(name="t", labels=["a", "b"])
    with pytest.raises(ValidationError, match="unique"):
        LabelSchema(tasks=[task, task])


def test_thresholds_belong_to_multi_label_tasks_only():
    with pytest.raises(ValidationError, match="multi_label"):
        TaskSpec(name="t", labels=["a", "b"], thresholds={"a": 0.3})


def test_multi_label_threshold_defaults_to_one_half():
    task = TaskSpec(name="t", kind=TaskKind.MULTI_LABEL, labels=["a", "b"], thresholds={"a": 0.3})
    assert (task.threshold("a"), task.threshold("b")) == (0.3, 0.5)


def test_loading_from_a_directory_without_schema_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"schema\.json"):
        LabelSchema.load(tmp_path)


def test_a_task_named_like_a_role_plays_it_unless_another_task_claims_it():
    named = TaskSpec(name="sentiment", labels=["olumsuz", "olumlu"])
    assert LabelSchema(tasks=[named]).role(TaskRole.SENTIMENT) is named
    claimed = TaskSpec(name="duygu", labels=["kotu", "iyi"], role="sentiment")
    schema = LabelSchema(tasks=[named, claimed])
    assert schema.role(TaskRole.SENTIMENT) is claimed
    assert schema.role(TaskRole.TOPIC) is None


def test_two_tasks_cannot_claim_one_role():
    first = TaskSpec(name="a", labels=["x", "y"], role="topic")
    second = TaskSpec(name="b", labels=["x", "y"], role="topic")
    with pytest.raises(ValidationError, match="claim the role 'topic'"):
        LabelSchema(tasks=[first, second])


def test_a_multi_label_task_cannot_play_a_role():
    with pytest.raises(ValidationError, match="cannot play the role"):
        TaskSpec(name="birim", kind=TaskKind.MULTI_LABEL, labels=["a", "b"], role="topic")


def test_negative_labels_must_be_labels_of_the_task():
    with pytest.raises(ValidationError, match=r"negative names \['kötü'\]"):
        TaskSpec(name="duygu", labels=["kotu", "iyi"], role="sentiment", negative=["kötü"])


def test_display_names_must_name_the_task_s_own_labels():
    with pytest.raises(ValidationError, match=r"display names for \['kotu'\]"):
        TaskSpec(name="duygu", labels=["olumsuz", "olumlu"], display={"kotu": "Kötü"})


def test_display_names_and_title_are_saved_with_the_schema(tmp_path, default_schema):
    default_schema.save(tmp_path)
    topic = LabelSchema.load(tmp_path).tasks[1]
    assert topic.title == "Konu"
    assert topic.display["sebeke_hizmet_kalitesi"] == "Şebeke ve hizmet kalitesi"
