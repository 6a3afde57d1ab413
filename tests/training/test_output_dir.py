"""`nabiz train` replaces its output directory whole: one holding others' files is refused."""

from __future__ import annotations

import pytest

from nabiz.model.manifest import write_manifest
from nabiz.training.pipeline import check_replaceable


def _saved_model(folder):
    folder.mkdir()
    (folder / "nabiz.json").write_text("{}", encoding="utf-8")
    write_manifest(folder)
    return folder


def test_a_saved_model_with_its_own_evaluation_reports_may_be_replaced(tmp_path):
    model = _saved_model(tmp_path / "model")
    (model / "evaluation_test.json").write_text("{}", encoding="utf-8")
    check_replaceable(model)
    check_replaceable(tmp_path / "not-yet")


def test_a_file_added_beside_a_saved_model_is_named_and_kept(tmp_path):
    model = _saved_model(tmp_path / "model")
    (model / "notlar.txt").write_text("teslim notları", encoding="utf-8")
    with pytest.raises(ValueError, match=r"not saved with \(notlar\.txt\).*would delete them"):
        check_replaceable(model)


def test_a_directory_that_is_no_model_is_refused(tmp_path):
    (tmp_path / "data.csv").write_text("id,text\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"is not a Nabız model directory \(data\.csv\)"):
        check_replaceable(tmp_path)
