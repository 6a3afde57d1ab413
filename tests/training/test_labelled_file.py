"""What `nabiz evaluate --data` reads from a labelled file: every unknown label named at once, the
model's spelling of a label in another case, rows without a text left out, no rows an error."""

from __future__ import annotations

import pandas as pd
import pytest

from nabiz.training.modeleval import labelled_columns


def test_every_unknown_label_of_every_task_is_named_with_its_rows(default_schema):
    frame = pd.DataFrame(
        {
            "text": ["a", "b", "c", "d"],
            "sentiment": ["pozitif", "pozitif", "olumsuz", "negatif"],
            "topic": ["kargo", None, "fatura_odeme", None],
        }
    )
    with pytest.raises(ValueError) as error:
        labelled_columns(frame, default_schema, where="gold.csv")
    message = str(error.value)
    assert "task 'sentiment': 'pozitif' (2 rows)" in message
    assert "task 'sentiment': 'negatif' (1 row)" in message
    assert "task 'topic': 'kargo' (1 row)" in message


def test_a_label_in_capitals_is_read_as_the_model_spells_it(default_schema):
    frame = pd.DataFrame({"text": ["a", "b"], "sentiment": ["OLUMSUZ", "Notr"]})
    _, gold, _ = labelled_columns(frame, default_schema)
    assert gold["sentiment"] == ["olumsuz", "notr"]


def test_rows_without_a_text_are_left_out(default_schema):
    frame = pd.DataFrame({"text": ["Fatura yüksek", "  ", None], "sentiment": ["olumsuz"] * 3})
    texts, gold, _ = labelled_columns(frame, default_schema)
    assert texts == ["Fatura yüksek"] and gold["sentiment"] == ["olumsuz"]


def test_a_file_with_a_header_and_no_rows_is_an_error(default_schema):
    frame = pd.DataFrame({"text": [], "sentiment": []})
    with pytest.raises(ValueError, match="no rows with a text"):
        labelled_columns(frame, default_schema, where="gold.csv")


def test_a_multi_label_cell_can_say_no_label_applies_and_an_empty_one_is_unlabelled():
    from nabiz.model.schema import LabelSchema, TaskSpec

    schema = LabelSchema(
        tasks=[TaskSpec(name="kanal", kind="multi_label", labels=["mobil", "şube", "atm"])]
    )
    frame = pd.DataFrame(
        {"text": ["a", "b", "c", "d", "e"], "kanal": ["mobil;ATM", "-", "yok", "", "None"]}
    )
    _, gold, _ = labelled_columns(frame, schema)
    assert gold["kanal"] == [["mobil", "atm"], [], [], None, []]


def test_the_printed_report_gives_macro_f1_per_source_when_texts_come_from_several():
    from nabiz.model.schema import LabelSchema, TaskSpec
    from nabiz.training.evaluate import format_report

    schema = LabelSchema(tasks=[TaskSpec(name="sentiment", labels=["olumsuz", "olumlu"])])
    figures = {"n": 10, "accuracy": 0.9, "macro_f1": 0.9, "ece": 0.01, "per_class": {}}
    weak = figures | {"macro_f1": 0.41}
    report = {
        "tasks": {"sentiment": figures},
        "by_source": {"banka": {"sentiment": weak}, "magaza": {"sentiment": figures}},
    }
    text = format_report({"nabiz": report}, schema)
    assert "macro-F1 per source: nabiz" in text
    assert any(
        line.split()[:2] == ["banka", "sentiment"] and "0.410" in line for line in text.splitlines()
    )
