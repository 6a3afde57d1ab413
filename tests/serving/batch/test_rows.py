"""Counting an input's rows for the progress bar."""

from __future__ import annotations

import pytest

from nabiz.serving.batch import estimate_rows
from nabiz.tabular import detect_format
from tests.serving.batch.inputs import ROWS, write_input


@pytest.mark.parametrize(
    "name", ["plain-comma.csv", "utf16-tab.csv", "sheet.xlsx", "table.parquet", "lines.jsonl"]
)
def test_estimate_rows_for_the_progress_bar(tmp_path, name):

    path = write_input(tmp_path / name)
    extra = 1 if name.endswith(".jsonl") else 0  # the broken line
    assert estimate_rows(path, detect_format(path)) == len(ROWS) + extra


def test_estimate_rows_does_not_count_quoted_line_breaks_as_rows(tmp_path):

    path = write_input(
        tmp_path / "multi.csv",
        ["id", "yorum"],
        [["1", "ilk satır\nikinci satır\nüçüncü"], ["2", "tek satır"], ["3", "a;b\r\nc"]],
    )
    assert estimate_rows(path, "csv") == 3
