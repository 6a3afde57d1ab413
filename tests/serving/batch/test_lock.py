"""One run at a time per output: a second run into the same output is refused, naming the first."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nabiz.serving.batch import score_file
from nabiz.serving.batch.lock import lock_path, output_lock
from nabiz.serving.writers import OutputError, partial_path
from tests.serving.batch.inputs import KEYS, NOW, jsonl_rows, write_input


def test_a_second_run_into_an_output_being_written_is_refused_and_touches_nothing(
    tmp_path, predictor, policy
):
    source = write_input(tmp_path / "in.csv")
    output = tmp_path / "out.jsonl"
    with output_lock(output):
        partial_path(output).write_text("the first run's rows\n", encoding="utf-8")
        with pytest.raises(OutputError, match=r"another run is writing .*out.jsonl \(pid \d+"):
            score_file(source, output, predictor, policy, **KEYS, progress=False, now=NOW)
        assert partial_path(output).read_text(encoding="utf-8") == "the first run's rows\n"
    partial_path(output).unlink()
    score_file(source, output, predictor, policy, **KEYS, progress=False, now=NOW)
    assert len(jsonl_rows(output)) == 8


def test_the_lock_goes_away_with_the_run(tmp_path, predictor, policy):
    source = write_input(tmp_path / "in.csv")
    output = tmp_path / "out.jsonl"
    score_file(source, output, predictor, policy, **KEYS, progress=False, now=NOW)
    assert not lock_path(output).exists()


def test_a_killed_run_leaves_no_lock_that_stops_the_next(tmp_path):
    output = tmp_path / "out.csv"
    holder = (
        "import os, sys; from nabiz.serving.batch.lock import output_lock\n"
        f"with output_lock({str(output)!r}): os._exit(9)"  # dies holding it, as kill -9 would
    )
    assert subprocess.run([sys.executable, "-c", holder], check=False).returncode == 9
    assert lock_path(output).exists()
    with output_lock(output):
        assert lock_path(output).read_text(encoding="utf-8").startswith("pid ")
