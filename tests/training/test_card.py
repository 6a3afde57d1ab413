"""The model card says where a figure rests on a handful of texts."""

from __future__ import annotations

from nabiz.model.schema import LabelSchema, TaskSpec
from nabiz.training.card import _per_class_rows

TOPIC = TaskSpec(name="topic", labels=["fatura", "magaza", "diger"])


def _report(supports: dict[str, int]) -> dict:
    per_class = {
        label: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": n}
        for label, n in supports.items()
    }
    return {"tasks": {"topic": {"per_class": per_class}}}


def test_a_class_with_few_test_texts_is_named_under_its_task():
    lines = _per_class_rows(
        LabelSchema(tasks=[TOPIC]), _report({"fatura": 200, "magaza": 3, "diger": 50})
    )
    note = [line for line in lines if line.startswith("Few test texts")]
    assert note == [
        "Few test texts: `magaza` (3). Each such class is one of the 3 whose F1 the topic "
        "macro-F1 averages, and rests on those texts alone: one of them can move the macro-F1 by "
        "several points."
    ]


def test_classes_with_enough_test_texts_get_no_note():
    lines = _per_class_rows(
        LabelSchema(tasks=[TOPIC]), _report({"fatura": 200, "magaza": 20, "diger": 10})
    )
    assert not any(line.startswith(("Few test texts", "No test text")) for line in lines)


def test_a_class_without_test_texts_is_named_as_outside_the_macro_f1():
    lines = _per_class_rows(
        LabelSchema(tasks=[TOPIC]), _report({"fatura": 200, "magaza": 0, "diger": 10})
    )
    assert not any(line.startswith("Few test texts") for line in lines)
    [note] = [line for line in lines if line.startswith("No test text")]
    assert note.startswith("No test text: `magaza`. The topic macro-F1 averages only the classes")
