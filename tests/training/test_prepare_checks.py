"""What data preparation and training refuse, and say, when a data scientist's own files are
wrong: no rows, no labels for a task, a file that changed since it was prepared; and what an
empty multi-label cell means."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nabiz.training.data import (
    DataSourceError,
    load_prepared,
    prepare_data,
    require_labels,
    require_splits,
)
from tests.training.test_data import FEEDBACK, fixture_spec, make_config, offline_settings, rows_of


def test_a_file_with_only_a_header_is_an_error_not_an_empty_split(tmp_path: Path) -> None:
    (tmp_path / "header.csv").write_text("id,text,duygu,konu\n", encoding="utf-8")
    config = make_config(tmp_path, [fixture_spec(path="header.csv")])
    with pytest.raises(DataSourceError, match=r"data\.files\[0\].*no rows under its header"):
        prepare_data(config, offline_settings(tmp_path))


def test_no_text_kept_is_an_error_with_the_counts(tmp_path: Path) -> None:
    (tmp_path / "blank.csv").write_text("id,text,duygu,konu\n1, ,kotu,para\n", encoding="utf-8")
    config = make_config(tmp_path, [fixture_spec(path="blank.csv")])
    with pytest.raises(DataSourceError, match=r"no texts kept of 1 read \(1 empty text dropped\)"):
        prepare_data(config, offline_settings(tmp_path))


def test_too_few_texts_to_validate_on_is_an_error_naming_the_empty_split(tmp_path: Path) -> None:
    lines = FEEDBACK.read_text(encoding="utf-8").splitlines()
    (tmp_path / "two.csv").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    config = make_config(tmp_path, [fixture_spec(path="two.csv")])
    prepared = prepare_data(config, offline_settings(tmp_path))
    with pytest.raises(DataSourceError, match=r"validation split is empty \(train 2, "):
        require_splits(prepared.datasets)


def test_training_refuses_a_task_no_text_is_labelled_for(tmp_path: Path) -> None:
    labels = {"mood": {"column": "duygu", "map": {"kotu": "neg", "iyi": "pos"}}}
    config = make_config(tmp_path, [fixture_spec(labels=labels)])
    prepared = prepare_data(config, offline_settings(tmp_path))
    with pytest.raises(DataSourceError, match=r"labelled for task\(s\) \['subject'\]"):
        require_labels(prepared.datasets, config)


def test_training_refuses_a_task_whose_training_texts_all_have_one_label(tmp_path: Path) -> None:
    labels = {
        "mood": {"column": "duygu", "map": {"kotu": "neg", "iyi": "neg"}},
        "subject": {"column": "konu", "separator": "|", "map_file": "subject.csv"},
    }
    config = make_config(tmp_path, [fixture_spec(labels=labels)])
    prepared = prepare_data(config, offline_settings(tmp_path))
    with pytest.raises(DataSourceError, match=r"same label \('mood' only 'neg'\)"):
        require_labels(prepared.datasets, config)


SUBJECTS = (
    "id,text,duygu,konu\n1,Fatura yüksek geldi,kotu,para\n2,Uygulama açılmıyor,kotu,uygulama\n"
    "3,Çok memnunum,iyi,\n4,Harika bir gün,iyi,\n"
)


@pytest.mark.parametrize(("empty_means", "blank"), [("unlabelled", None), ("none", [])])
def test_an_empty_multi_label_cell_is_unlabelled_or_says_no_label_applies(
    tmp_path: Path, empty_means: str, blank
) -> None:
    (tmp_path / "subjects.csv").write_text(SUBJECTS, encoding="utf-8")
    subject = {"column": "konu", "map_file": "subject.csv", "empty_means": empty_means}
    labels = {"mood": {"column": "duygu", "map": {"kotu": "neg", "iyi": "pos"}}, "subject": subject}
    config = make_config(tmp_path, [fixture_spec(path="subjects.csv", labels=labels)])
    rows = rows_of(prepare_data(config, offline_settings(tmp_path)))
    as_lists = {i: (None if v is None else list(v)) for i, v in rows["subject"].items()}
    assert as_lists == {
        "fixture:0": ["money"],
        "fixture:1": ["app"],
        "fixture:2": blank,
        "fixture:3": blank,
    }


def test_no_label_applies_is_refused_for_a_single_label_task(tmp_path: Path) -> None:
    labels = {
        "mood": {"column": "duygu", "map": {"kotu": "neg", "iyi": "pos"}, "empty_means": "none"}
    }
    config = make_config(tmp_path, [fixture_spec(labels=labels)])
    with pytest.raises(DataSourceError, match="needs a multi_label task"):
        prepare_data(config, offline_settings(tmp_path))


def test_training_calls_prepared_data_stale_when_its_file_changed(tmp_path: Path) -> None:
    shutil.copy(FEEDBACK, tmp_path / "export.csv")
    config = make_config(tmp_path, [fixture_spec(path="export.csv")])
    prepare_data(config, offline_settings(tmp_path))
    load_prepared(config, check_files=True)  # unchanged: loads
    with (tmp_path / "export.csv").open("a", encoding="utf-8") as export:
        export.write("99,Yeni satır: kargo gelmedi,kotu,para\n")
    with pytest.raises(
        DataSourceError, match=r"fixture: export\.csv changed since it was prepared"
    ):
        load_prepared(config, check_files=True)
    load_prepared(config)  # evaluation reads the splits it has


def test_training_calls_prepared_data_stale_when_its_file_is_another_path(tmp_path: Path) -> None:
    shutil.copy(FEEDBACK, tmp_path / "export.csv")
    shutil.copy(FEEDBACK, tmp_path / "other.csv")
    prepare_data(
        make_config(tmp_path, [fixture_spec(path="export.csv")]), offline_settings(tmp_path)
    )
    moved = make_config(tmp_path, [fixture_spec(path="other.csv")])
    with pytest.raises(DataSourceError, match=r"export\.csv → other\.csv"):
        load_prepared(moved, check_files=True)
