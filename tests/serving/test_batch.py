"""The batch pipeline: every input format in, every output format out, rows kept, resumable."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from nabiz.model.loading import from_pretrained
from nabiz.model.predictor import Predictor, ScoredBatch
from nabiz.serving.batch import (
    ColumnError,
    ResumeError,
    detect_text_columns,
    normalize_column_name,
    parse_time,
    score_file,
    state_path,
)
from nabiz.serving.priority import load_policy
from nabiz.serving.writers import partial_path
from nabiz.tabular import read_table

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 2, 4, 12, 0)
COLUMNS = ["id", "kanal", "tarih", "baslik", "yorum"]
ROWS = [
    ["1", "Twitter", "03.02.2025 08:12", "Fatura", "Faturam bu ay çok yüksek geldi, açıklama!"],
    ["2", "e-posta", "2025-02-03T09:00:00+03:00", "", "İnternet üç gündür çekmiyor; arıza var."],
    ["3", "telefon", "03.02.2025 10:30", "Teşekkür", "Müşteri hizmetleri çok ilgiliydi."],
    ["4", "web", "03.02.2025 11:00", "", ""],  # empty text
    ["5", "Mağaza", "03.02.2025 12:00", "Şube", "Şubede ığdır, çğüşöı ÇĞÜŞÖİ harfleri."],
    ["6", "SMS", "", "", "Şifre kodu gelmiyor, giriş yapamıyorum."],  # no time: fine
    ["7", "faks", "03.02.2025 13:00", "", "Kayıtlarımı faksla gönderin."],  # unknown channel
    ["8", "", "dün akşam", "", "Kampanya fiyatı mağazada farklı söylendi."],  # bad time
]
BAD_IDS = {"4", "7", "8"}
KEYS = {"id_column": "id", "channel_column": "kanal", "time_column": "tarih"}


# ----------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def predictor(tiny_model_source) -> Predictor:
    return from_pretrained(tiny_model_source, device="cpu")


@pytest.fixture(scope="session")
def policy():
    return load_policy(REPO / "data" / "priority_policy.yaml")


class FakePredictor(Predictor):
    """Deterministic scores from the text's hash: fast, for property tests; records texts."""

    def __init__(self, schema) -> None:
        from nabiz.model.predictor import ModelInfo

        self.schema = schema
        self.info = ModelInfo(name="fake", version="0", model_type="tfidf")
        self.seen: list[str] = []

    def compute_scores(self, texts):
        self.seen.extend(texts)
        scores = {}
        for task in self.schema.tasks:
            rows = []
            for text in texts:
                rng = np.random.default_rng(abs(hash((task.name, text))) % (2**32))
                row = rng.random(task.num_labels)
                rows.append(row / row.sum())
            scores[task.name] = np.asarray(rows, dtype=np.float32)
        return ScoredBatch(scores=scores, truncated=np.zeros(len(texts), dtype=bool))


def write_input(path: Path, columns=COLUMNS, rows=ROWS) -> Path:
    """Write a table in the format (and encoding) the file name asks for."""
    name = path.name
    if name.endswith(".xlsx"):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(columns)
        for row in rows:
            sheet.append([value if value != "" else None for value in row])
        workbook.save(path)
    elif name.endswith(".parquet"):
        table = pa.table({c: [row[i] for row in rows] for i, c in enumerate(columns)})
        pq.write_table(table, path)
    elif name.endswith(".jsonl"):
        lines = [
            json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False) for row in rows
        ]
        lines.insert(2, '{"id": "broken", "yorum": "no closing brace"')  # a broken line
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        delimiter = {"semicolon": ";", "tab": "\t"}.get(path.stem.split("-")[-1], ",")
        if name.endswith(".tsv"):
            delimiter = "\t"
        encoding = {
            "bom": "utf-8-sig",
            "utf16": "utf-16",
            "cp1254": "cp1254",
        }.get(path.stem.split("-")[0], "utf-8")
        with path.open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(columns)
            writer.writerows(rows)
    return path


def read_output(path: Path) -> pd.DataFrame:
    return read_table(path)


def jsonl_rows(path: Path) -> list[dict]:
    # not splitlines(): texts may hold U+2028 and other characters it splits on
    return [json.loads(line) for line in path.read_text("utf-8").split("\n") if line]


def texts(values) -> list[str]:
    """Missing as "" (CSV cannot tell missing from empty)."""
    return ["" if value is None else str(value) for value in values]


def numbers(values) -> list[float | None]:
    return [None if value in (None, "") else float(value) for value in values]


def check_rows(table: pd.DataFrame, predictor: Predictor, expected_ids: list[str], bad: set[str]):
    assert list(table["id"]) == expected_ids  # every row, in order
    for column in COLUMNS:
        assert column in table.columns
    for task in predictor.schema.tasks:
        assert {task.name, f"{task.name}_score", f"{task.name}_scores"} <= set(table.columns)
    for row in table.to_dict("records"):
        if row["id"] in bad:
            assert row["error"], row
            assert not row["sentiment"] and not row["priority_level"]
        else:
            assert not row["error"], row
            assert row["sentiment"] in predictor.schema.task("sentiment").labels
            assert row["priority_level"] in {"P1", "P2", "P3", "P4"}
            assert row["respond_by"]


# ----------------------------------------------------------------------------------------------
# formats

INPUTS = [
    "plain-comma.csv",
    "plain-semicolon.csv",
    "plain-tab.csv",
    "plain.tsv",
    "bom-semicolon.csv",
    "utf16-tab.csv",
    "cp1254-semicolon.csv",
    "sheet.xlsx",
    "lines.jsonl",
    "table.parquet",
]


@pytest.mark.parametrize("name", INPUTS)
def test_every_input_format_keeps_rows_columns_and_turkish_text(tmp_path, name, predictor, policy):
    source = write_input(tmp_path / name)
    output = tmp_path / "out.csv"
    summary = score_file(
        source, output, predictor, policy, **KEYS, chunk_rows=3, progress=False, now=NOW
    )
    table = read_output(output)
    ids = [row[0] for row in ROWS]
    bad = set(BAD_IDS)
    if name.endswith(".jsonl"):
        ids.insert(2, "")  # the broken line is a row of its own, with an error
        bad.add("")
    check_rows(table, predictor, ids, bad)
    kept = table[table["id"] == "5"].iloc[0]
    assert kept["yorum"] == ROWS[4][4]
    assert kept["baslik"] == "Şube"
    assert summary.rows == len(ids)
    assert summary.failed == len(bad)
    assert summary.scored == len(ids) - len(bad)
    assert summary.text_columns == ["baslik", "yorum"]
    assert sum(summary.label_counts["sentiment"].values()) == summary.scored
    if name.endswith(".jsonl"):
        assert "could not be read" in table.iloc[2]["error"]


@pytest.mark.parametrize("extension", ["csv", "tsv", "jsonl", "parquet", "xlsx"])
def test_every_output_format(tmp_path, extension, predictor, policy):
    source = write_input(tmp_path / "in.csv")
    reference = tmp_path / "reference.jsonl"
    score_file(source, reference, predictor, policy, **KEYS, progress=False, now=NOW)
    output = tmp_path / f"out.{extension}"
    score_file(source, output, predictor, policy, **KEYS, chunk_rows=3, progress=False, now=NOW)
    assert output.is_file()
    assert not partial_path(output).exists() and not state_path(output).exists()
    table = read_output(output)
    check_rows(table, predictor, [row[0] for row in ROWS], BAD_IDS)
    expected = read_output(reference)
    for column in ["sentiment", "topic", "priority_level", "respond_by", "error"]:
        assert texts(table[column]) == texts(expected[column])
    assert numbers(table["sentiment_score"]) == numbers(expected["sentiment_score"])
    if extension == "parquet":
        schema = pq.read_schema(output)
        assert all(schema.field(c).type == pa.string() for c in COLUMNS)
        assert schema.field("sentiment_score").type == pa.float64()
        assert schema.field("truncated").type == pa.bool_()
    if extension == "jsonl":
        first = jsonl_rows(output)[0]
        assert set(first["topic_scores"]) == set(predictor.schema.task("topic").labels)
        assert isinstance(first["priority_reasons"], list)


def test_bad_rows_get_an_error_and_no_prediction(tmp_path, predictor, policy):
    source = write_input(tmp_path / "in.csv")
    output = tmp_path / "out.jsonl"
    summary = score_file(source, output, predictor, policy, **KEYS, progress=False, now=NOW)
    rows = {row["id"]: row for row in jsonl_rows(output)}
    assert "empty text" in rows["4"]["error"]
    assert "unknown channel 'faks'" in rows["7"]["error"]
    assert "dün akşam" in rows["8"]["error"]
    for bad in BAD_IDS:
        assert rows[bad]["sentiment"] is None and rows[bad]["priority_score"] is None
    assert rows["6"]["error"] is None  # a missing time is fine
    assert summary.failed == 3 and len(summary.error_examples) == 3
    assert {top.id for top in summary.top} <= set(rows) - BAD_IDS
    assert "Highest priority" in summary.render()


def test_colliding_prediction_columns_are_renamed(tmp_path, predictor, policy):
    source = write_input(
        tmp_path / "in.csv", ["yorum", "sentiment", "error"], [["Harika hizmet", "olumlu", "x"]]
    )
    output = tmp_path / "out.csv"
    summary = score_file(source, output, predictor, policy, progress=False, now=NOW)
    table = read_output(output)
    assert table.iloc[0]["sentiment"] == "olumlu" and table.iloc[0]["error"] == "x"
    assert "nabiz_sentiment" in summary.columns and "nabiz_error" in summary.columns
    assert table.iloc[0]["nabiz_sentiment"] in predictor.schema.task("sentiment").labels


# ----------------------------------------------------------------------------------------------
# text columns


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["id", "Yorum", "tarih"], ["Yorum"]),
        (["ID", "ŞİKAYET METNİ", "Kanal"], ["ŞİKAYET METNİ"]),
        (["id", "baslik", "yorum", "kanal"], ["baslik", "yorum"]),
        (["Title", "Body", "created_at"], ["Title", "Body"]),
        (["tweet_id", "tweet", "user"], ["tweet"]),
        (["müşteri_yorumu", "yorum_tarihi", "puan"], ["müşteri_yorumu"]),
        (["customerComment", "comment_id"], ["customerComment"]),
        (["İçerik", "konu"], ["İçerik"]),
        (["text", "text_length", "language"], ["text"]),
    ],
)
def test_text_column_detection(columns, expected):
    assert detect_text_columns(columns) == expected


@pytest.mark.parametrize(
    ("columns", "says"),
    [
        (["id", "kanal", "tarih"], "cannot tell which column"),
        (["id", "yorum", "text"], "several columns could hold"),
    ],
)
def test_text_column_detection_lists_the_columns_when_unsure(columns, says):
    with pytest.raises(ColumnError) as error:
        detect_text_columns(columns)
    message = str(error.value)
    assert says in message and "--text-column" in message
    for column in columns:
        assert repr(column) in message


def test_unsure_detection_fails_before_writing(tmp_path, predictor, policy):
    source = write_input(tmp_path / "in.csv", ["id", "a", "b"], [["1", "x", "y"]])
    with pytest.raises(ColumnError, match="'a', 'b'"):
        score_file(source, tmp_path / "out.csv", predictor, policy, progress=False)
    assert not (tmp_path / "out.csv").exists() and not partial_path(tmp_path / "out.csv").exists()
    with pytest.raises(ColumnError, match="no text column 'nope'"):
        score_file(source, tmp_path / "o.csv", predictor, policy, ["nope"], progress=False)


def test_several_text_columns_are_joined_in_order(tmp_path, default_schema, policy):
    source = write_input(
        tmp_path / "in.csv",
        ["Konu Başlığı", "Metin", "Not"],
        [["Fatura", "Çok yüksek geldi.", "ek"], ["", "Sadece gövde", ""]],
    )
    fake = FakePredictor(default_schema)
    score_file(source, tmp_path / "o.csv", fake, policy, ["metin", "konu başlığı"], progress=False)
    assert fake.seen == ["Çok yüksek geldi.\n\nFatura", "Sadece gövde"]
    fake.seen.clear()
    summary = score_file(source, tmp_path / "p.csv", fake, policy, progress=False)
    assert summary.text_columns == ["Konu Başlığı", "Metin"]
    assert fake.seen == ["Fatura\n\nÇok yüksek geldi.", "Sadece gövde"]


def test_normalize_column_name():
    assert normalize_column_name("Şikayet_Metni") == "sikayet metni"
    assert normalize_column_name("İÇERİK") == "icerik"
    assert normalize_column_name("customerReviewText") == "customer review text"


@pytest.mark.parametrize(
    "name", ["plain-comma.csv", "utf16-tab.csv", "sheet.xlsx", "table.parquet", "lines.jsonl"]
)
def test_estimate_rows_for_the_progress_bar(tmp_path, name):
    from nabiz.serving.batch import estimate_rows
    from nabiz.tabular import detect_format

    path = write_input(tmp_path / name)
    extra = 1 if name.endswith(".jsonl") else 0  # the broken line
    assert estimate_rows(path, detect_format(path)) == len(ROWS) + extra


def test_parse_time():
    assert parse_time("12.03.2024 14:35") == datetime(2024, 3, 12, 14, 35)
    assert parse_time("2024-03-12T14:35:00Z").utcoffset().total_seconds() == 0
    assert parse_time("12/03/2024") == datetime(2024, 3, 12)
    assert parse_time("1700000000").year == 2023
    with pytest.raises(ValueError, match="cannot read the time"):
        parse_time("32.13.2024")


# ----------------------------------------------------------------------------------------------
# resume


def many_rows(n: int) -> list[list[str]]:
    channels = ["Twitter", "e-posta", "telefon", "web", "SMS", "Mağaza"]
    bodies = ["Fatura çok yüksek", "İnternet yok", "Teşekkürler", "Uygulama çöküyor", ""]
    return [
        [
            str(i),
            channels[i % 6],
            f"0{1 + i % 9}.02.2025 1{i % 10}:00",
            "",
            f"{bodies[i % 5]} #{i}" if bodies[i % 5] else "",
        ]
        for i in range(n)
    ]


def read_any(path: Path):
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".xlsx":
        workbook = load_workbook(path, read_only=True)
        values = [list(row) for row in workbook.active.iter_rows(values_only=True)]
        workbook.close()
        return values
    return path.read_bytes()


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


@pytest.mark.parametrize("extension", ["csv", "jsonl", "parquet", "xlsx"])
def test_resume_after_an_interrupted_run_equals_a_clean_run(tmp_path, extension, predictor, policy):
    source = write_input(tmp_path / "in.csv", rows=many_rows(50))
    clean = tmp_path / f"clean.{extension}"
    score_file(source, clean, predictor, policy, **KEYS, chunk_rows=7, progress=False, now=NOW)

    output = tmp_path / f"out.{extension}"
    with pytest.raises(KeyboardInterrupt):
        score_file(
            source,
            output,
            InterruptedAfter(predictor, chunks=3),
            policy,
            **KEYS,
            chunk_rows=7,
            progress=False,
            now=NOW,
        )
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


def test_resume_refuses_other_options_or_input(tmp_path, predictor, policy):
    source = write_input(tmp_path / "in.csv", rows=many_rows(20))
    output = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt):
        score_file(
            source,
            output,
            InterruptedAfter(predictor, chunks=1),
            policy,
            **KEYS,
            chunk_rows=5,
            progress=False,
        )
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
    assert "came from the interrupted run" in result.output
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


# ----------------------------------------------------------------------------------------------
# the command line


def test_cli_scores_the_sample_export(tmp_path, tiny_model_source):
    from typer.testing import CliRunner

    from nabiz.cli import app

    output = tmp_path / "scored.xlsx"
    result = CliRunner().invoke(
        app,
        [
            "score", str(REPO / "data" / "samples" / "sample_export.csv"), "-o", str(output),
            "--id-column", "id", "--channel-column", "kanal", "--time-column", "tarih",
            "--no-progress",
        ],
        env={"NABIZ_MODEL_DIR": str(tiny_model_source)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Highest priority" in result.output and "sentiment:" in result.output
    table = read_table(output)
    assert len(table) == 40
    assert table["error"].notna().sum() == 4  # two empty rows, a bad date, an unknown channel

    result = CliRunner().invoke(
        app, ["score", str(output), "-o", str(tmp_path / "x.csv"), "-t", "nope"],
        env={"NABIZ_MODEL_DIR": str(tiny_model_source)},
    )  # fmt: skip
    assert result.exit_code == 2 and "no text column 'nope'" in result.output


# ----------------------------------------------------------------------------------------------
# properties

cell = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(cell, min_size=0, max_size=25),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    chunk_rows=st.integers(1, 9),
)
def test_property_every_row_comes_back_in_order(
    default_schema, policy, texts, delimiter, encoding, chunk_rows
):
    fake = FakePredictor(default_schema)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.csv"
        with source.open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(["no", "yorum"])
            writer.writerows([[f"r{i}", text] for i, text in enumerate(texts)])
        output = Path(folder) / "out.jsonl"
        summary = score_file(
            source, output, fake, policy, chunk_rows=chunk_rows, batch_size=4, progress=False,
            now=NOW,
        )  # fmt: skip
        rows = jsonl_rows(output)
    assert [row["no"] for row in rows] == [f"r{i}" for i in range(len(texts))]
    assert [row["yorum"] for row in rows] == texts
    for row, text in zip(rows, texts, strict=True):
        assert (row["error"] is not None) == (not text.strip())
        assert (row["sentiment"] is None) == (not text.strip())
    assert summary.rows == len(texts)
    assert summary.failed == sum(1 for text in texts if not text.strip())


def test_estimate_rows_does_not_count_quoted_line_breaks_as_rows(tmp_path):
    from nabiz.serving.batch import estimate_rows

    path = write_input(
        tmp_path / "multi.csv",
        ["id", "yorum"],
        [["1", "ilk satır\nikinci satır\nüçüncü"], ["2", "tek satır"], ["3", "a;b\r\nc"]],
    )
    assert estimate_rows(path, "csv") == 3
