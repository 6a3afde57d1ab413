"""The Ray engine gives the local engine's answers: every row once, same labels, priorities."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from nabiz.cli import app
from nabiz.model.loading import load_predictor
from nabiz.serving.batch import ColumnError, score_file
from nabiz.serving.batch_ray import (
    SOURCE_FILE,
    SOURCE_ROW,
    SUMMARY_FILE,
    SummaryCollector,
    default_concurrency,
    find_inputs,
    score_with_ray,
    union_columns,
)
from nabiz.serving.ray_sizing import block_bytes_for
from nabiz.serving.writers import OutputError
from nabiz.settings import Settings
from tests.serving.batch.inputs import KEYS, NOW, ROWS, write_input
from tests.serving.conftest import SERVING_TEST_PRECISION

ray = pytest.importorskip("ray", reason="the ray engine needs the `ray` extra (scripts/test.sh)")

SETTINGS = Settings(device="cpu", precision=SERVING_TEST_PRECISION)
# Small batches and chunks, so that a run has many blocks, batches spanning two files, and
# actors that each see part of every file.
SMALL = {"chunk_rows": 5, "batch_size": 4}
# Two actors holding both CPUs: reading and writing must still go on beside them.
ACTORS = {"concurrency": 2, "cpus_per_actor": 1}


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance with 2 CPUs for the module (the engine joins it)."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def policy():
    from nabiz.serving.priority import load_policy

    return load_policy(Path(__file__).resolve().parents[3] / "data" / "priority_policy.yaml")


def many_rows(copies: int) -> list[list[str]]:
    """ROWS (with its bad rows) repeated with fresh ids and slightly different texts."""
    rows = []
    for copy in range(copies):
        for row in ROWS:
            text = f"{row[4]} ({copy})" if row[4] else ""
            rows.append([f"{copy}-{row[0]}", *row[1:4], text])
    return rows


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A folder of three exports in three formats (the JSON Lines one has a broken line)."""
    folder = tmp_path_factory.mktemp("exports")
    write_input(folder / "a.csv", rows=many_rows(3))
    write_input(folder / "b.jsonl", rows=many_rows(2))
    (folder / "more").mkdir()
    write_input(folder / "more" / "c.parquet", rows=many_rows(4))
    (folder / "_notes.csv").write_text("not,an,export\n", encoding="utf-8")  # skipped: "_"
    return folder


def local_runs(inputs: Path, tmp_path: Path, model_dir: Path, policy) -> dict[str, tuple]:
    """Each file scored by the local engine: (its output table, its summary)."""
    predictor = load_predictor(model_dir, SETTINGS)
    runs = {}
    for name in ["a.csv", "b.jsonl", "more/c.parquet"]:
        output = tmp_path / "local" / f"{name.replace('/', '_')}.parquet"
        summary = score_file(
            inputs / name, output, predictor, policy, **KEYS, **SMALL, progress=False, now=NOW
        )
        runs[name] = (pd.read_parquet(output), summary)
    return runs


def assert_same_answers(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Equal columns and values; scores to 1e-4 (they are rounded to 4 decimals, and a text's
    batch-mates differ between the engines)."""
    assert list(ours.columns) == list(theirs.columns)
    assert len(ours) == len(theirs)
    for column in theirs.columns:
        left, right = ours[column].tolist(), theirs[column].tolist()
        if column.endswith("_score") or column == "priority_score":
            assert (
                pd.Series(left, dtype=float)
                .sub(pd.Series(right, dtype=float))
                .abs()
                .fillna(0)
                .max()
                <= 1e-4
            ), column
        elif column.endswith("_scores"):
            for a, b in zip(left, right, strict=True):
                if pd.isna(a) or pd.isna(b):
                    assert pd.isna(a) and pd.isna(b), column
                    continue
                a, b = json.loads(a), json.loads(b)
                assert a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 1e-4 for k in a), column
        else:
            assert [_plain(v) for v in left] == [_plain(v) for v in right], column


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def test_ray_and_local_engines_give_the_same_rows_and_counts(
    local_ray, inputs, tmp_path, tiny_model_source, policy
):
    output = tmp_path / "scored"
    summary = score_with_ray(
        inputs, output, tiny_model_source, policy, SETTINGS, **KEYS, **SMALL, **ACTORS, now=NOW
    )
    ray_table = pd.read_parquet(output)
    runs = local_runs(inputs, tmp_path, tiny_model_source, policy)

    assert len(ray_table) == sum(len(table) for table, _ in runs.values())
    assert not ray_table.duplicated([SOURCE_FILE, SOURCE_ROW]).any()  # every row once
    assert set(ray_table[SOURCE_FILE]) == set(runs)
    for name, (local, _) in runs.items():
        part = ray_table[ray_table[SOURCE_FILE] == name].sort_values(SOURCE_ROW)
        assert part[SOURCE_ROW].tolist() == list(range(len(local)))
        assert_same_answers(part.drop(columns=[SOURCE_FILE, SOURCE_ROW]), local)

    summaries = [summary for _, summary in runs.values()]
    for field in ["rows", "scored", "failed", "truncated", "noted", "undated"]:
        assert getattr(summary, field) == sum(getattr(s, field) for s in summaries), field
    notes = ray_table["error"].dropna().str.startswith("note: ")
    assert summary.failed == int((~notes).sum()) > 0
    assert summary.undated == int(notes.sum()) > 0
    causes = Counter()  # the Ray summary splits them by cause as the local one does
    for local_summary in summaries:
        causes.update(local_summary.undated_by)
    assert summary.undated_by == dict(causes) and sum(causes.values()) >= summary.undated
    for task, counts in summary.label_counts.items():
        assert counts == {
            label: sum(s.label_counts[task][label] for s in summaries) for label in counts
        }
    assert summary.priority_counts == {
        level: sum(s.priority_counts.get(level, 0) for s in summaries)
        for level in summary.priority_counts
    }
    first_file = runs["a.csv"][1]  # the first errors are the first file's, named by file
    assert summary.error_examples == [f"a.csv {line}" for line in first_file.error_examples]
    written = json.loads((output / SUMMARY_FILE).read_text(encoding="utf-8"))
    assert written["rows"] == summary.rows and written["engine"] == "ray"
    assert written["files"] == list(runs)


def test_one_file_is_cut_into_several_blocks_so_every_actor_gets_rows(
    local_ray, tmp_path, tiny_model_source, policy
):
    # One reading task gathers a file's rows into blocks of ``block_bytes``; a whole file in one
    # block would go to one actor while the others sat idle. Each scored batch is one file.
    source = tmp_path / "one.csv"
    write_input(source, rows=many_rows(4))
    rows = len(pd.read_csv(source))
    output = tmp_path / "scored"
    score_with_ray(
        source,
        output,
        tiny_model_source,
        policy,
        SETTINGS,
        **KEYS,
        **SMALL,
        **ACTORS,
        now=NOW,
        block_bytes=64,
    )
    sizes = [len(pd.read_parquet(file)) for file in output.glob("*.parquet")]
    assert len(sizes) >= 2 and max(sizes) <= SMALL["batch_size"]
    assert sum(sizes) == rows


def test_a_file_without_the_text_column_is_named(local_ray, tmp_path, tiny_model_source, policy):
    (tmp_path / "in").mkdir()
    write_input(tmp_path / "in" / "good.csv")
    write_input(tmp_path / "in" / "odd.csv", columns=["id", "kanal", "tarih", "baslik", "not"])
    with pytest.raises(ColumnError, match=r"odd\.csv has no column 'yorum'"):
        score_with_ray(tmp_path / "in", tmp_path / "out", tiny_model_source, policy, SETTINGS)


def test_an_existing_folder_that_is_not_an_output_is_kept(tmp_path, tiny_model_source, policy):
    source = write_input(tmp_path / "export.csv")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("important", encoding="utf-8")
    with pytest.raises(OutputError, match="not the output"):
        score_with_ray(source, tmp_path / "mine", tiny_model_source, policy, SETTINGS)
    assert (tmp_path / "mine" / "keep.txt").read_text(encoding="utf-8") == "important"


def test_score_command_runs_the_ray_engine(local_ray, tmp_path, tiny_model_source, monkeypatch):
    (tmp_path / "in").mkdir()
    write_input(tmp_path / "in" / "x.csv")
    write_input(tmp_path / "in" / "y.csv")
    monkeypatch.setenv("NABIZ_PRECISION", SERVING_TEST_PRECISION)
    monkeypatch.setenv("NABIZ_DEVICE", "cpu")
    result = CliRunner().invoke(
        app,
        [
            "score",
            str(tmp_path / "in" / "*.csv"),
            "--output",
            str(tmp_path / "out"),
            "--engine",
            "ray",
            "--concurrency",
            "1",
            "--model",
            str(tiny_model_source),
            "--channel-column",
            "kanal",
            "--no-progress",
            "--report",
            str(tmp_path / "report.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"Wrote {2 * len(ROWS)} rows to {tmp_path / 'out'}" in result.output
    assert len(pd.read_parquet(tmp_path / "out")) == 2 * len(ROWS)
    assert "En acil kayıtlar" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "pass --time-column 'tarih'" in result.output  # the same note as the local engine


def test_resume_is_refused_with_the_ray_engine(tmp_path, tiny_model_source):
    source = write_input(tmp_path / "export.csv")
    result = CliRunner().invoke(
        app,
        ["score", str(source), "-o", str(tmp_path / "out"), "--engine", "ray", "--resume"],
    )
    assert result.exit_code == 2
    assert "--resume" in result.output


# ----------------------------------------------------------------------------------------------
# without Ray running


def test_inputs_are_a_file_a_folder_or_a_glob(inputs):
    files, root = find_inputs(inputs)
    assert [file.relative_to(inputs).as_posix() for file in files] == [
        "a.csv",
        "b.jsonl",
        "more/c.parquet",
    ]
    assert root == inputs
    assert find_inputs(inputs / "a.csv") == ([inputs / "a.csv"], inputs)
    files, root = find_inputs(f"{inputs}/**/*.parquet")
    assert files == [inputs / "more" / "c.parquet"] and root == (inputs / "more").resolve()
    with pytest.raises(FileNotFoundError, match="no file matches"):
        find_inputs(f"{inputs}/*.xlsx")
    with pytest.raises(FileNotFoundError, match="no such file"):
        find_inputs(inputs / "missing.csv")


def test_columns_of_several_files_are_joined_in_first_seen_order():
    assert union_columns([["id", "yorum"], ["yorum", "kanal"], ["id"]]) == ["id", "yorum", "kanal"]


def test_actors_fill_the_cluster_and_leave_a_cpu_for_reading():
    assert default_concurrency({"CPU": 16.0}, 0, 1) == 15
    assert default_concurrency({"CPU": 16.0}, 0, 4) == 3
    assert default_concurrency({"CPU": 2.0}, 0, 2) == 1
    assert default_concurrency({"CPU": 64.0, "GPU": 8.0}, 1, 1) == 8
    assert default_concurrency({"CPU": 64.0, "GPU": 8.0}, 0.5, 1) == 16


def test_every_actor_gets_several_blocks_of_a_small_export():
    # 5.8 MB for two actors: eight blocks of 725 kB, not one 4 MiB block and a remainder
    assert block_bytes_for(5_800_000, actors=2) == 5_800_000 // 8


def test_blocks_stay_between_64_kib_and_4_mib():
    assert block_bytes_for(10**10, actors=2) == 4 * 1024 * 1024
    assert block_bytes_for(1_000, actors=2) == 64 * 1024
    assert block_bytes_for(1_000, actors=0) == 64 * 1024


def test_the_summary_adds_up_reports_and_keeps_the_first_errors():
    collector = SummaryCollector({"sentiment": ["olumsuz", "olumlu"]}, top_n=1)
    tally = {
        "rows": 3,
        "scored": 2,
        "failed": 1,
        "truncated": 0,
        "noted": 0,
        "undated": 1,
        "undated_by": {"time-unreadable": 1},
        "first_undated": [2, "tarih: cannot read the time 'dün'"],
        "labels": {"sentiment": {"olumsuz": 2, "olumlu": 0}},
        "levels": {"P2": 2},
        "top": [],
        "errors": [],
    }
    top = {"row": 4, "id": None, "priority_level": "P1", "priority_score": 0.9}
    top |= {"respond_by": None, "labels": {}, "text": "x", "file": "b.csv"}
    collector.add(
        [
            (tally | {"file": "b.csv"}, [("b.csv", 7, "empty")]),
            (tally | {"top": [top], "file": "a.csv"}, [("a.csv", 9, "x")]),
        ]
    )
    result = collector.result()
    assert (result["rows"], result["scored"], result["failed"]) == (6, 4, 2)
    assert result["labels"]["sentiment"] == {"olumsuz": 4, "olumlu": 0}
    assert result["levels"] == {"P2": 4}
    assert result["errors"] == [("a.csv", 9, "x"), ("b.csv", 7, "empty")]
    assert result["top"] == [top]
    assert result["undated"] == 2 and result["first_undated"][:2] == ("a.csv", 2)
    assert result["undated_by"] == {"time-unreadable": 2}
