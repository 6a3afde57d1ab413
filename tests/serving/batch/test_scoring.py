"""The batch scorer: every input format in, every output format out, every row kept in order."""

from __future__ import annotations

import csv
import tempfile
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nabiz.model.schema import LabelSchema, TaskSpec
from nabiz.serving.batch import score_file, state_path
from nabiz.serving.writers import partial_path
from nabiz.tabular import read_table
from nabiz.text import has_visible_text
from tests.serving.batch.inputs import (
    BAD_IDS,
    COLUMNS,
    KEYS,
    NOW,
    REPO,
    ROWS,
    UNDATED_IDS,
    FakePredictor,
    check_rows,
    jsonl_rows,
    numbers,
    read_output,
    texts,
    write_input,
)

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
    check_rows(table, predictor, ids, bad, UNDATED_IDS)
    kept = table[table["id"] == "5"].iloc[0]
    assert kept["yorum"] == ROWS[4][4]
    assert kept["baslik"] == "Şube"
    assert summary.rows == len(ids)
    assert summary.failed == len(bad)
    assert summary.scored == len(ids) - len(bad)
    assert summary.undated == len(UNDATED_IDS)
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
    check_rows(table, predictor, [row[0] for row in ROWS], BAD_IDS, UNDATED_IDS)
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


def test_a_row_without_visible_text_gets_an_error_and_no_prediction(tmp_path, predictor, policy):
    source = write_input(tmp_path / "in.csv")
    output = tmp_path / "out.jsonl"
    summary = score_file(source, output, predictor, policy, **KEYS, progress=False, now=NOW)
    rows = {row["id"]: row for row in jsonl_rows(output)}
    assert "empty text" in rows["4"]["error"]
    assert rows["4"]["sentiment"] is None and rows["4"]["priority_score"] is None
    assert summary.failed == 1
    assert {top.id for top in summary.top} <= set(rows) - BAD_IDS
    assert "Highest priority" in summary.render()


def test_an_unknown_channel_or_unreadable_time_costs_the_row_its_respond_by_not_its_tags(
    tmp_path, predictor, policy
):
    source = write_input(tmp_path / "in.csv")
    output = tmp_path / "out.jsonl"
    summary = score_file(source, output, predictor, policy, **KEYS, progress=False, now=NOW)
    rows = {row["id"]: row for row in jsonl_rows(output)}
    channel, time = rows["7"], rows["8"]
    assert channel["error"].startswith("note: no respond-by: kanal: unknown channel 'faks'")
    assert "e-posta" in channel["error"] and len(channel["error"]) < 200  # not every alias
    assert time["error"].startswith("note: no respond-by: tarih: cannot read the time 'dün akşam'")
    for row in (channel, time):
        assert row["sentiment"] and row["priority_level"] and row["respond_by"] is None
    assert channel["priority_reasons"][-1] == "yanıt için son hesaplanmadı: kanal okunamadı"
    assert time["priority_reasons"][-1] == "yanıt için son hesaplanmadı: tarih okunamadı"
    assert summary.undated == 3 and summary.failed == 1
    assert "3 scored without a respond-by" in summary.render()
    assert "First: row 6: tarih: no time in the cell" in summary.render()


def test_the_summary_counts_rows_without_a_respond_by_by_cause_naming_the_column_to_fix(
    tmp_path, predictor, policy
):
    """QA: "3 scored rows have no respond-by" did not say whether the time or the channel column
    needed the work. Rows 6, 7 and 8: an empty time cell, an unknown channel, an unreadable time."""
    source = write_input(tmp_path / "in.csv")
    output = tmp_path / "out.jsonl"
    summary = score_file(source, output, predictor, policy, **KEYS, progress=False, now=NOW)
    assert summary.undated_by == {"time-blank": 1, "channel-unknown": 1, "time-unreadable": 1}
    lines = summary.render().splitlines()
    start = lines.index(
        "warning: 3 scored rows have no respond-by (tags and level are there), by cause:"
    )
    assert lines[start + 1 : start + 5] == [
        "  1 with a time that could not be read (time column: fix its values, or read them with "
        "--time-format)",
        "  1 with an empty time cell (time column: fill it in)",
        "  1 with a channel the policy does not know (channel column: fix its values, or add the "
        "channel or an alias to the policy)",
        "  First: row 6: tarih: no time in the cell",
    ]


def test_a_row_with_both_an_unknown_channel_and_an_unreadable_time_counts_under_each(
    tmp_path, predictor, policy
):
    rows = [
        ["1", "faks", "dün akşam", "", "Faturam yüksek geldi."],
        ["2", "faks", "03.02.2025 13:00", "", "Kayıtlarımı faksla gönderin."],
    ]
    source = write_input(tmp_path / "in.csv", rows=rows)
    summary = score_file(
        source, tmp_path / "out.csv", predictor, policy, **KEYS, progress=False, now=NOW
    )
    assert summary.undated == 2
    assert summary.undated_by == {"channel-unknown": 2, "time-unreadable": 1}
    assert "(1 of them have both a time and a channel problem: counted twice)" in summary.render()


def test_a_blank_time_in_the_named_column_gives_no_respond_by_not_the_scoring_time(
    tmp_path, predictor, policy
):
    """QA: a 2025 complaint with an empty time cell was due the day the export was scored."""
    source = write_input(tmp_path / "in.csv")
    output = tmp_path / "out.jsonl"
    score_file(source, output, predictor, policy, **KEYS, progress=False, now=NOW)
    blank = {row["id"]: row for row in jsonl_rows(output)}["6"]
    assert blank["respond_by"] is None and blank["sentiment"]
    assert blank["error"] == "note: no respond-by: tarih: no time in the cell"


def test_a_month_first_date_names_the_format_that_reads_it_and_that_format_reads_it(
    tmp_path, predictor, policy
):
    source = tmp_path / "in.csv"
    source.write_text("id,yorum,tarih\n1,Kartımdan iki kez çekildi,12/31/2025 14:05\n", "utf-8")
    output = tmp_path / "out.jsonl"
    summary = score_file(source, output, predictor, policy, time_column="tarih", progress=False)
    assert "--time-format '%m/%d/%Y %H:%M' reads it" in summary.render()
    score_file(
        source, output, predictor, policy, time_column="tarih", time_format="%m/%d/%Y %H:%M",
        progress=False, now=datetime(2026, 1, 2, 9, 0),
    )  # fmt: skip
    row = jsonl_rows(output)[0]
    # Read month-first, the complaint arrived on 31 December; its answer is due after that (how
    # long after depends on the level the tiny model gives, which may differ from CPU to CPU).
    received = datetime.fromisoformat("2025-12-31T14:05:00+03:00")
    assert row["error"] is None and datetime.fromisoformat(row["respond_by"]) > received


def test_a_row_whose_text_is_only_zero_width_characters_gets_an_error(tmp_path, predictor, policy):
    source = tmp_path / "in.csv"
    source.write_text("id,yorum\n1,Fatura yüksek\n2,\u200b\u200d\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    summary = score_file(source, output, predictor, policy, progress=False, now=NOW)
    rows = {row["id"]: row for row in jsonl_rows(output)}
    assert "empty text" in rows["2"]["error"] and rows["1"]["error"] is None
    assert summary.failed == 1


def test_an_error_quoting_a_value_it_could_not_read_masks_personal_data_in_it(
    tmp_path, predictor, policy
):
    source = tmp_path / "in.csv"
    source.write_text(
        "id,yorum,tarih,kanal\n"
        "1,Fatura yüksek,TC 10000000146 hesabımda,web\n"
        "2,Fatura yüksek,,0532 123 45 67\n",
        encoding="utf-8",
    )
    output = tmp_path / "out.jsonl"
    summary = score_file(
        source, output, predictor, policy, time_column="tarih", channel_column="kanal",
        progress=False, now=NOW,
    )  # fmt: skip
    errors = [row["error"] for row in jsonl_rows(output)]
    assert "[TCKN]" in errors[0] and "[TELEFON]" in errors[1]
    shown = "".join(errors) + summary.render()
    assert "10000000146" not in shown and "0532 123 45 67" not in shown


def test_json_lines_numbers_and_booleans_come_back_as_json_numbers_and_booleans(
    tmp_path, predictor, policy
):
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": 0, "puan": 4.5, "cozuldu": false, "yorum": "Geç", "uzun": 1234567890123456789}\n'
        '{"id": "A-7", "puan": null, "cozuldu": true, "yorum": "Teşekkürler", "uzun": 1}\n',
        encoding="utf-8",
    )  # fmt: skip
    output = tmp_path / "out.jsonl"
    score_file(source, output, predictor, policy, progress=False, now=NOW)
    first, second = jsonl_rows(output)
    assert (first["id"], first["puan"], first["cozuldu"]) == (0, 4.5, False)
    assert first["uzun"] == 1234567890123456789
    assert (second["id"], second["puan"], second["cozuldu"]) == ("A-7", None, True)


def test_the_summary_shows_a_multi_label_tasks_labels_as_the_file_has_them(
    tmp_path, default_schema, policy
):
    tags = TaskSpec(name="etiket", kind="multi_label", labels=["kargo", "iade", "kalite", "fiyat"])
    fake = FakePredictor(LabelSchema(tasks=[*default_schema.tasks, tags]))
    source = write_input(tmp_path / "in.csv")
    output = tmp_path / "out.jsonl"
    summary = score_file(source, output, fake, policy, **KEYS, progress=False, now=NOW)
    by_row = {int(row["id"]) - 1: row["etiket"] for row in jsonl_rows(output)}
    assert summary.top
    for top in summary.top:
        assert top.labels["etiket"] == ("+".join(by_row[top.row]) or "—")


def test_a_channel_or_time_column_left_unnamed_is_pointed_out_not_guessed(
    tmp_path, predictor, policy
):
    source = write_input(tmp_path / "in.csv")
    summary = score_file(source, tmp_path / "out.jsonl", predictor, policy, progress=False)
    rows = jsonl_rows(tmp_path / "out.jsonl")
    assert not any("faks" in (row["error"] or "") for row in rows)  # the channels were not read
    assert "pass --channel-column 'kanal'" in summary.render()
    assert "pass --time-column 'tarih'" in summary.render()
    named = score_file(source, tmp_path / "named.jsonl", predictor, policy, **KEYS, progress=False)
    assert named.hints == []


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
    errors = table["error"].dropna()
    assert len(errors) == 4  # two empty rows; a bad date and an unknown channel (notes)
    assert errors.str.startswith("note: no respond-by: ").sum() == 2

    result = CliRunner().invoke(
        app, ["score", str(output), "-o", str(tmp_path / "x.csv"), "-t", "nope"],
        env={"NABIZ_MODEL_DIR": str(tiny_model_source)},
    )  # fmt: skip
    assert result.exit_code == 2 and "no text column 'nope'" in result.output


class CallSizes(FakePredictor):
    """A fake predictor that records how many texts each call brought."""

    def __init__(self, schema) -> None:
        super().__init__(schema)
        self.calls: list[int] = []

    def compute_scores(self, texts):
        self.calls.append(len(texts))
        return super().compute_scores(texts)


def test_cli_hands_the_predictor_whole_chunks_unless_told(tmp_path, monkeypatch, default_schema):
    """The model sorts the texts of one call by length, so bigger calls pad less."""
    from typer.testing import CliRunner

    import nabiz.model.loading
    from nabiz.cli import app

    fake = CallSizes(default_schema)
    monkeypatch.setattr(nabiz.model.loading, "load_predictor", lambda *args: fake)
    source = tmp_path / "in.csv"
    source.write_text("yorum\n" + "".join(f"metin {i}\n" for i in range(300)), encoding="utf-8")
    base = ["score", str(source), "-o", str(tmp_path / "out.csv"), "--no-progress"]
    assert CliRunner().invoke(app, base).exit_code == 0
    assert fake.calls == [300]
    fake.calls.clear()
    assert CliRunner().invoke(app, [*base, "--chunk-rows", "120"]).exit_code == 0
    assert fake.calls == [120, 120, 60]
    fake.calls.clear()
    result = CliRunner().invoke(app, [*base, "--chunk-rows", "120", "--batch-size", "100"])
    assert result.exit_code == 0, result.output
    assert fake.calls == [100, 20, 100, 20, 60]


@pytest.mark.parametrize("sizes", [{"chunk_rows": 0}, {"batch_size": 0}])
def test_a_size_below_one_is_refused_before_anything_is_written(tmp_path, predictor, policy, sizes):
    source = tmp_path / "in.csv"
    source.write_text("yorum\nmetin\n", encoding="utf-8")
    with pytest.raises(ValueError, match="at least 1"):
        score_file(source, tmp_path / "out.csv", predictor, policy, progress=False, **sizes)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv"]


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
        assert (row["error"] is not None) == (not has_visible_text(text))
        assert (row["sentiment"] is None) == (not has_visible_text(text))
    assert summary.rows == len(texts)
    assert summary.failed == sum(1 for text in texts if not has_visible_text(text))
