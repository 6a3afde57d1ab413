"""Labels kept in the repository for a mirrored source, joined on the source's id."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nabiz.settings import REPO_ROOT
from nabiz.training.config import LabelColumn, SourceSpec, load_config
from nabiz.training.data import DataSourceError, load_source
from nabiz.training.manifest import load_manifest


@pytest.fixture(scope="module")
def schema():
    return load_config(REPO_ROOT / "configs" / "default.yaml").schema


def csv_source(folder: Path, name: str, rows: dict, labels: dict) -> SourceSpec:
    """A source named ``name`` whose ``rows`` are written as a CSV in ``folder``; ids in `id`."""
    pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
    return SourceSpec(
        name=name,
        path=f"{name}.csv",
        format="csv",
        text=["text"],
        id_column="id",
        labels=labels,
    )


def complaints(folder: Path) -> SourceSpec:
    rows = {"id": [7, 8, 9], "text": ["kartım bloke", "şube kalabalık", "faiz yüksek"]}
    return csv_source(
        folder, "bank", rows, {"urgency": LabelColumn(column="urgency", file="labels.csv")}
    )


def test_rows_get_the_label_of_their_id_and_others_stay_unlabelled(schema, tmp_path):
    spec = complaints(tmp_path)
    (tmp_path / "labels.csv").write_text("id,urgency\n7,yuksek\n9,orta\n", encoding="utf-8")
    frame = load_source(spec, tmp_path, schema)
    assert frame.set_index("id")["urgency"].to_dict() == {
        "bank:7": "yuksek",
        "bank:8": None,
        "bank:9": "orta",
    }


def test_an_id_the_source_lacks_is_an_error(schema, tmp_path):
    spec = complaints(tmp_path)
    (tmp_path / "labels.csv").write_text("id,urgency\n7,yuksek\n70,orta\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match=r"not in source 'bank'.*70"):
        load_source(spec, tmp_path, schema)


def test_a_label_outside_the_task_is_an_error(schema, tmp_path):
    spec = complaints(tmp_path)
    (tmp_path / "labels.csv").write_text("id,urgency\n7,acil\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match="acil"):
        load_source(spec, tmp_path, schema)


def test_a_source_without_ids_cannot_join_a_label_file(schema, tmp_path):
    spec = complaints(tmp_path).model_copy(update={"id_column": None})
    (tmp_path / "labels.csv").write_text("id,urgency\n7,yuksek\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match="id_column"):
        load_source(spec, tmp_path, schema)


def test_every_label_file_the_manifest_names_gives_each_id_one_label_of_its_task(schema):
    manifest = load_manifest(REPO_ROOT / "data" / "manifest.yaml")
    files = [
        (name, task, file, label_column)
        for name, spec in manifest.items()
        for task, column in spec.labels.items()
        for file, label_column in ((column.file, column.column), (column.read_file, task))
        if file
    ]
    assert {(name, task, file) for name, task, file, _ in files} >= {
        ("vakifbank_sikayetvar", "urgency", "labels/vakifbank_urgency_train.csv"),
        ("shoppingwords_reviews.stars", "topic", "labels/shoppingwords_topic.csv"),
        ("shoppingwords_reviews.stars", "sentiment", "labels/shoppingwords_sentiment_read.csv"),
    }
    for name, task, file, label_column in files:
        table = pd.read_csv(REPO_ROOT / "data" / file, dtype=str)
        assert table["id"].is_unique, f"{file}: an id labelled twice"
        outside = set(table[label_column]) - set(schema.task(task).labels)
        assert not outside, f"{name}: {file} has labels outside {task}: {outside}"


def rated(folder: Path) -> SourceSpec:
    rows = {"id": [1, 2, 3], "stars": [3, 3, 5], "text": ["iade ettim", "idare eder", "bayıldım"]}
    stars = LabelColumn(column="stars", map={"3": "notr", "5": "olumlu"}, read_file="read.csv")
    return csv_source(folder, "shop", rows, {"sentiment": stars})


def test_a_read_label_replaces_the_mapped_one_for_the_ids_it_names(schema, tmp_path):
    spec = rated(tmp_path)
    (tmp_path / "read.csv").write_text("id,sentiment\n1,olumsuz\n", encoding="utf-8")
    frame = load_source(spec, tmp_path, schema)
    assert frame.set_index("id")["sentiment"].to_dict() == {
        "shop:1": "olumsuz",
        "shop:2": "notr",
        "shop:3": "olumlu",
    }


def test_a_read_label_outside_the_task_is_an_error(schema, tmp_path):
    spec = rated(tmp_path)
    (tmp_path / "read.csv").write_text("id,sentiment\n1,kötü\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match="kötü"):
        load_source(spec, tmp_path, schema)


def test_labels_from_a_file_take_no_read_file():
    with pytest.raises(ValueError, match="correct the file"):
        LabelColumn(column="urgency", file="labels.csv", read_file="read.csv")
