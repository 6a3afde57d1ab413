"""Resuming: an interrupted or killed run continues to the output an uninterrupted run writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nabiz.model.predictor import Predictor
from nabiz.serving.batch import ResumeError, score_file, state_path
from nabiz.serving.writers import partial_path
from nabiz.tabular import read_table
from tests.serving.batch.inputs import KEYS, NOW, ROWS, many_rows, numbers, read_any, write_input


class InterruptedAfter(Predictor):
    """``predictor``, until Ctrl-C arrives while it scores the chunk after the first ``chunks``
    (these tests' chunks are smaller than a batch: one call a chunk)."""

    def __init__(self, predictor: Predictor, chunks: int) -> None:
        self.predictor, self.chunks, self.calls = predictor, chunks, 0
        self.schema, self.info, self.path = predictor.schema, predictor.info, predictor.path

    def compute_scores(self, texts):
        if self.calls == self.chunks:
            raise KeyboardInterrupt("Ctrl-C in the middle of the run")
        self.calls += 1
        return self.predictor.predict_scores(texts)


def interrupt(source, output, predictor, policy, chunks: int, chunk_rows: int) -> None:
    """A run of ``source`` into ``output`` stopped by Ctrl-C after ``chunks`` chunks."""
    with pytest.raises(KeyboardInterrupt):
        score_file(
            source,
            output,
            InterruptedAfter(predictor, chunks=chunks),
            policy,
            **KEYS,
            chunk_rows=chunk_rows,
            progress=False,
            now=NOW,
        )


@pytest.mark.parametrize("extension", ["csv", "jsonl", "parquet", "xlsx"])
def test_resume_after_an_interrupted_run_equals_a_clean_run(tmp_path, extension, predictor, policy):
    source = write_input(tmp_path / "in.csv", rows=many_rows(50))
    clean = tmp_path / f"clean.{extension}"
    score_file(source, clean, predictor, policy, **KEYS, chunk_rows=7, progress=False, now=NOW)

    output = tmp_path / f"out.{extension}"
    interrupt(source, output, predictor, policy, chunks=3, chunk_rows=7)
    assert not output.exists()
    state = json.loads(state_path(output).read_text("utf-8"))
    assert state["rows_done"] == 21
    partial = partial_path(output)
    # a chunk that was being written when the run died, never checkpointed
    if partial.is_dir():
        (partial / "part-000003.parquet").write_bytes(b"PAR1 half a part")
    else:
        with partial.open("ab") as handle:
            handle.write(b"21,half a row\r\n22,")

    summary = score_file(
        source, output, predictor, policy, **KEYS, chunk_rows=7, resume=True, progress=False
    )  # `now` comes from the state
    assert read_any(output) == read_any(clean)
    assert summary.rows == 50 and summary.resumed_rows == 21
    assert not partial.exists() and not state_path(output).exists()
    ids = [str(row["id"]) for row in read_table(output).to_dict("records")]
    assert ids == [str(i) for i in range(50)]


def test_a_resumed_run_keeps_the_causes_of_missing_respond_bys_counted_before(
    tmp_path, predictor, policy
):
    rows = many_rows(20)
    for i in (2, 12):  # one before the interruption, one after
        rows[i][1] = "faks"
    source = write_input(tmp_path / "in.csv", rows=rows)
    output = tmp_path / "out.csv"
    interrupt(source, output, predictor, policy, chunks=1, chunk_rows=7)
    summary = score_file(
        source, output, predictor, policy, **KEYS, chunk_rows=7, resume=True, progress=False
    )
    assert summary.resumed_rows == 7
    assert summary.undated == 2 and summary.undated_by == {"channel-unknown": 2}


def test_resume_refuses_other_options_or_input(tmp_path, predictor, policy):
    source = write_input(tmp_path / "in.csv", rows=many_rows(20))
    output = tmp_path / "out.csv"
    interrupt(source, output, predictor, policy, chunks=1, chunk_rows=5)
    with pytest.raises(ResumeError, match="time_column"):
        score_file(
            source,
            output,
            predictor,
            policy,
            id_column="id",
            channel_column="kanal",
            resume=True,
            progress=False,
        )
    with source.open("a", encoding="utf-8") as handle:
        handle.write("99,web,,,yeni satır\n")
    with pytest.raises(ResumeError, match="not the file"):
        score_file(source, output, predictor, policy, **KEYS, resume=True, progress=False)
    # without --resume the leftovers are discarded and the run starts over
    summary = score_file(source, output, predictor, policy, **KEYS, progress=False)
    assert summary.rows == 21 and summary.resumed_rows == 0


def test_resume_without_a_partial_run_starts_fresh(tmp_path, predictor, policy):
    source = write_input(tmp_path / "in.csv")
    summary = score_file(
        source, tmp_path / "o.csv", predictor, policy, **KEYS, resume=True, progress=False
    )
    assert summary.rows == len(ROWS) and summary.resumed_rows == 0


KILLED_RUN = """
import sys
from nabiz.cli import app
sys.argv = ["nabiz", "score", *sys.argv[1:]]
app()
"""


def test_resume_after_the_process_is_killed(tmp_path, tiny_model_source, predictor, policy):
    """SIGKILL a real `nabiz score` mid-run, then --resume: no gaps, no duplicates."""
    rows = many_rows(600)
    source = write_input(tmp_path / "in.csv", rows=rows)
    output = tmp_path / "out.csv"
    args = [
        str(source), "--output", str(output), "--model", str(tiny_model_source),
        "--id-column", "id", "--channel-column", "kanal", "--time-column", "tarih",
        "--chunk-rows", "30", "--batch-size", "30", "--no-progress",
    ]  # fmt: skip
    # fp32 like the `predictor` fixture the clean run uses: bf16 scores move with batch-mates
    env = {**os.environ, "NABIZ_DEVICE": "cpu", "NABIZ_NUM_THREADS": "1", "NABIZ_PRECISION": "fp32"}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, *args], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    state = state_path(output)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if json.loads(state.read_text("utf-8"))["rows_done"] >= 90:
                break
        except (ValueError, OSError, KeyError):
            pass
        time.sleep(0.01)
    assert process.poll() is None, process.stderr.read().decode()
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    assert not output.exists() and partial_path(output).exists()

    from typer.testing import CliRunner

    from nabiz.cli import app

    result = CliRunner().invoke(
        app, ["score", *args, "--resume"], env={"NABIZ_DEVICE": "cpu", "NABIZ_PRECISION": "fp32"}
    )
    assert result.exit_code == 0, result.output
    assert "in the interrupted run before it" in result.output
    table = read_table(output)
    assert list(table["id"]) == [row[0] for row in rows]  # each row once, in order
    assert list(table["yorum"]) == [row[4] for row in rows]
    assert ((table["error"] != "") == (table["yorum"] == "")).all()
    clean = tmp_path / "clean.csv"
    score_file(source, clean, predictor, policy, **KEYS, chunk_rows=30, progress=False)
    expected = read_table(clean)
    for column in [c for c in table.columns if c.endswith("_score")]:
        got, want = numbers(table[column]), numbers(expected[column])
        assert [g is None for g in got] == [w is None for w in want]
        assert np.allclose([g or 0 for g in got], [w or 0 for w in want], atol=1e-3), column
