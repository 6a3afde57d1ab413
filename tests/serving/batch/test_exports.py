"""Scoring real-world exports: typed numbers, long Excel cells, notes, title rows, and the
command's checks of its paths before any row is scored."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

import nabiz.model.loading
from nabiz.cli import app
from nabiz.serving.batch import score_file
from nabiz.serving.writers import Column, ExcelWriter
from nabiz.tabular import DateText
from tests.serving.batch.inputs import NOW, FakePredictor, jsonl_rows

runner = CliRunner()


def _book(path: Path, rows: list[list], title: str = "Sheet") -> Path:
    book = Workbook()
    book.active.title = title
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def _score(source: Path, output: Path, schema, policy, **options):
    fake = FakePredictor(schema)
    summary = score_file(source, output, fake, policy, progress=False, now=NOW, **options)
    return summary, fake


TYPED = [
    ["yorum", "tutar", "telefon"],
    ["Kargo geç geldi", -150, 905551234567],
    ['=HYPERLINK("http://x","tıkla")', -2.0, None],
    ["Fatura yüksek", "-5", "+905551234567"],
]


def test_typed_numbers_stay_numbers_and_text_that_starts_like_a_formula_is_guarded(
    tmp_path, default_schema, policy
):
    source = _book(tmp_path / "in.xlsx", TYPED)
    book = load_workbook(source)
    book.active["A3"].data_type = "s"  # a text that starts with "=", not a formula
    book.save(source)
    _score(source, tmp_path / "out.csv", default_schema, policy, mask_personal_data=False)
    lines = (tmp_path / "out.csv").read_text("utf-8-sig").splitlines()
    assert lines[1].startswith("Kargo geç geldi,-150,905551234567,")
    assert lines[2].startswith('"\'=HYPERLINK(""http://x"",""tıkla"")",-2,,')
    assert lines[3].startswith("Fatura yüksek,'-5,'+905551234567,")  # typed as text: guarded

    _score(source, tmp_path / "out.xlsx", default_schema, policy, mask_personal_data=False)
    sheet = load_workbook(tmp_path / "out.xlsx").active
    assert [sheet.cell(row, 2).value for row in (2, 3, 4)] == [-150, -2, "'-5"]
    assert sheet.cell(2, 3).value == 905551234567 and sheet.cell(2, 3).data_type == "n"
    assert sheet.cell(3, 1).value == "'" + TYPED[2][0] and sheet.cell(3, 1).data_type == "s"
    assert sheet.cell(4, 3).value == "'+905551234567"


def test_date_and_time_cells_stay_dates_in_an_excel_output_and_iso_text_elsewhere(
    tmp_path, default_schema, policy
):
    when, day = datetime(2025, 2, 3, 14, 5), date(2025, 2, 4)
    source = _book(tmp_path / "in.xlsx", [["yorum", "tarih", "gun"], ["Kargo geç", when, day]])
    _score(source, tmp_path / "out.xlsx", default_schema, policy, time_column="tarih")
    sheet = load_workbook(tmp_path / "out.xlsx").active
    assert sheet.cell(2, 2).value == when and sheet.cell(2, 2).is_date
    assert sheet.cell(2, 3).value.date() == day and sheet.cell(2, 3).is_date
    _score(source, tmp_path / "out.csv", default_schema, policy)
    written = (tmp_path / "out.csv").read_text("utf-8-sig")
    assert "Kargo geç,2025-02-03 14:05:00,2025-02-04" in written


def _formats_through(tmp_path, schema, policy, cells: list[tuple]) -> list[tuple]:
    """(value, number format) of the ``tarih`` cells of an Excel output scored from a workbook
    whose ``tarih`` cells are ``cells`` (value, number format)."""
    book = Workbook()
    book.active.append(["yorum", "tarih"])
    for row, (value, number_format) in enumerate(cells, start=2):
        book.active.append([f"Kargo geç {row}", value])
        book.active.cell(row, 2).number_format = number_format
    book.save(tmp_path / "in.xlsx")
    _score(tmp_path / "in.xlsx", tmp_path / "out.xlsx", schema, policy)
    sheet = load_workbook(tmp_path / "out.xlsx").active
    assert all(sheet.cell(row, 2).is_date for row in range(2, len(cells) + 2))
    return [
        (sheet.cell(r, 2).value, sheet.cell(r, 2).number_format) for r in range(2, len(cells) + 2)
    ]


def test_a_date_cell_formatted_day_first_keeps_its_format_in_an_excel_output(
    tmp_path, default_schema, policy
):
    cells = [(datetime(2025, 2, 3), "dd.mm.yyyy")]
    assert _formats_through(tmp_path, default_schema, policy, cells) == cells


def test_a_date_and_time_cell_keeps_its_hours_and_minutes_format_in_an_excel_output(
    tmp_path, default_schema, policy
):
    cells = [(datetime(2025, 2, 3, 14, 5), "dd.mm.yyyy hh:mm")]
    assert _formats_through(tmp_path, default_schema, policy, cells) == cells


def test_a_column_mixing_date_formats_keeps_each_cells_format(tmp_path, default_schema, policy):
    cells = [
        (datetime(2025, 2, 3, 14, 5), "dd.mm.yyyy hh:mm"),
        (datetime(2025, 2, 4), "dd.mm.yyyy"),
        (datetime(2025, 2, 5), "d mmmm yyyy"),
        (datetime(2025, 2, 6), "mm-dd-yy"),  # Excel's built-in short date, shown in the locale's
    ]
    assert _formats_through(tmp_path, default_schema, policy, cells) == cells


def test_parquet_dates_are_shown_day_first_in_an_excel_output(tmp_path, default_schema, policy):
    when, day, clock = datetime(2025, 2, 3, 14, 5, 30), date(2025, 2, 4), time(9, 15, 30)
    table = pa.table({"yorum": ["Kargo geç"], "an": [when], "gun": [day], "saat": [clock]})
    pq.write_table(table, tmp_path / "in.parquet")
    _score(tmp_path / "in.parquet", tmp_path / "out.xlsx", default_schema, policy)
    sheet = load_workbook(tmp_path / "out.xlsx").active
    assert sheet.cell(2, 2).value == when  # the seconds kept in the value, not shown
    assert sheet.cell(2, 2).number_format == "dd.mm.yyyy hh:mm"
    assert sheet.cell(2, 3).value.date() == day and sheet.cell(2, 3).number_format == "dd.mm.yyyy"
    assert sheet.cell(2, 4).value == clock and sheet.cell(2, 4).number_format == "hh:mm:ss"


def test_a_resumed_excel_output_keeps_the_formats_of_the_parts_written_before(tmp_path):
    columns = [Column("tarih")]
    first = ExcelWriter(tmp_path / "out.xlsx", columns)
    first.start()
    checkpoint = first.write_chunk([{"tarih": DateText("2025-02-03 00:00:00", "dd.mm.yyyy")}])
    first.close()
    again = ExcelWriter(tmp_path / "out.xlsx", columns)
    again.start(checkpoint)
    again.write_chunk([{"tarih": DateText("2025-02-03 14:05:00", "dd.mm.yyyy hh:mm")}])
    again.finish()
    sheet = load_workbook(tmp_path / "out.xlsx").active
    assert [sheet.cell(r, 1).number_format for r in (2, 3)] == ["dd.mm.yyyy", "dd.mm.yyyy hh:mm"]


def test_parts_written_without_formats_get_the_default_ones(tmp_path):
    writer = ExcelWriter(tmp_path / "out.xlsx", [Column("tarih")])
    writer.start()
    writer.write_chunk([{"tarih": DateText("2025-02-03 14:05:00", "hh:mm")}])
    part = next(writer.partial.glob("part-*.parquet"))
    old = pq.read_table(part)
    pq.write_table(old.drop_columns([old.column_names[-1]]), part)  # as a part before formats
    writer.finish()
    cell = load_workbook(tmp_path / "out.xlsx").active.cell(2, 1)
    assert cell.value == datetime(2025, 2, 3, 14, 5) and cell.number_format == "dd.mm.yyyy hh:mm"


def test_an_integer_too_long_for_excel_stays_exact_as_text(tmp_path, default_schema, policy):
    source = tmp_path / "in.jsonl"
    source.write_text('{"yorum": "Kargo", "no": 1234567890123456789}\n', encoding="utf-8")
    _score(source, tmp_path / "out.xlsx", default_schema, policy)
    assert load_workbook(tmp_path / "out.xlsx").active.cell(2, 2).value == "1234567890123456789"


def test_texts_over_excels_cell_limit_are_cut_and_counted(tmp_path, default_schema, policy):
    source = tmp_path / "in.csv"
    source.write_text("yorum\n" + "ş" * 40_000 + "\nkısa\n", encoding="utf-8")
    summary, _ = _score(source, tmp_path / "out.xlsx", default_schema, policy)
    assert any(
        "1 cell(s) longer than Excel's 32,767 characters were cut" in n for n in summary.notes
    )
    assert "32,767 characters were cut" in summary.render()
    assert len(load_workbook(tmp_path / "out.xlsx").active.cell(2, 1).value) == 32_767
    csv_summary, _ = _score(source, tmp_path / "out.csv", default_schema, policy)
    assert csv_summary.notes == []


def test_a_value_without_a_header_keeps_the_rows_prediction_and_a_note(
    tmp_path, default_schema, policy
):
    rows = [
        ["id", "yorum", None, None],
        ["1", "Kargo çok geç geldi", None, None],
        ["2", "Param iade edilmedi", None, "not: müşteri tekrar aradı"],
    ]
    source = _book(tmp_path / "in.xlsx", rows)
    summary, _ = _score(source, tmp_path / "out.jsonl", default_schema, policy)
    second = jsonl_rows(tmp_path / "out.jsonl")[1]
    assert second["sentiment"] and second["priority_level"]
    assert second["error"].startswith("note: sheet 'Sheet' row 3: 1 value(s) in column(s) D")
    assert (summary.scored, summary.failed, summary.noted) == (2, 0, 1)
    assert "1 scored with a note" in summary.render()


def test_a_title_row_above_the_header_is_skipped_and_said(tmp_path, default_schema, policy):
    rows = [
        ["Şikayetler (Aralık 2026)"],
        ["müşteri_no", "şikayet_metni", "kanal"],
        [101, "Kartımdan iki kez ödeme çekildi", "SMS"],
        [102, "Şubede çok beklettiler", "mağaza"],
    ]
    source = _book(tmp_path / "in.xlsx", rows, title="Rapor")
    summary, fake = _score(source, tmp_path / "out.csv", default_schema, policy)
    assert summary.scored == 2 and summary.text_columns == ["şikayet_metni"]
    assert fake.seen == ["Kartımdan iki kez ödeme çekildi", "Şubede çok beklettiler"]
    assert "the header was taken from row 2 of sheet 'Rapor'" in summary.render()


# ----------------------------------------------------------------------------------------------
# the command


@pytest.fixture
def fake(monkeypatch, default_schema) -> FakePredictor:
    predictor = FakePredictor(default_schema)
    monkeypatch.setattr(nabiz.model.loading, "load_predictor", lambda *args: predictor)
    return predictor


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.csv"
    path.write_text("id,yorum\n1,Kargo geç geldi\n2,Ürün harika\n", encoding="utf-8")
    return path


def _run(*args: object):
    return runner.invoke(app, [str(arg) for arg in args])


def _one_line_error(result, text: str) -> None:
    """Exit 2 with an ``error:`` line, not a traceback (an uncaught exception exits 1)."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "error:" in result.output and text in result.output


def test_the_output_naming_the_input_is_a_one_line_error(fake, small):
    result = _run("score", small, "-o", small, "--no-progress")
    _one_line_error(result, "would overwrite the input")
    assert fake.seen == []


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_an_output_that_cannot_be_written_is_refused_before_scoring(fake, small, tmp_path, where):
    (tmp_path / "out.csv").mkdir()
    output = tmp_path / "out.csv" if where == "folder" else small / "x.csv"
    result = _run("score", small, "-o", output, "--no-progress")
    _one_line_error(result, "is an existing folder" if where == "folder" else "is a file")
    assert fake.seen == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.csv", "small.csv"]


def test_report_folders_are_created_and_a_folder_as_report_is_refused_first(fake, small, tmp_path):
    result = _run("score", small, "-o", tmp_path / "a.csv", "--report", tmp_path / "new/r.html")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "r.html").is_file()

    (tmp_path / "rep").mkdir()
    fake.seen.clear()
    result = _run("score", small, "-o", tmp_path / "b.csv", "--report", tmp_path / "rep")
    _one_line_error(result, "the report")
    assert fake.seen == [] and not (tmp_path / "b.csv").exists()

    result = _run("report", tmp_path / "a.csv", "-o", tmp_path / "other/deeper/r.html")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "other" / "deeper" / "r.html").is_file()
    _one_line_error(_run("report", tmp_path / "a.csv", "-o", tmp_path / "rep"), "existing folder")
    assert not list((tmp_path / "rep").iterdir()) and not (tmp_path / "rep.partial").exists()
    _one_line_error(_run("report", tmp_path / "a.csv", "-o", tmp_path / "a.csv"), "overwrite")


def test_utf16_without_bom_named_as_utf16_is_a_one_line_error(fake, tmp_path):
    source = tmp_path / "u.csv"
    source.write_bytes("yorum\nKargo geç geldi\n".encode("utf-16-le"))
    result = _run("score", source, "-o", tmp_path / "o.csv", "--encoding", "utf-16")
    _one_line_error(result, "utf-16-le")


def test_a_bad_json_lines_row_is_reported_without_its_personal_data(fake, tmp_path):
    source = tmp_path / "pii.jsonl"
    source.write_text(
        '{"yorum": "Kargo geç geldi"}\n'
        '{"yorum": "Mailim ali.veli@example.com IBAN TR330006100519786457841326",}\n',
        encoding="utf-8",
    )
    output = tmp_path / "o.csv"
    result = _run("score", source, "-o", output, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "row 2: the row could not be read faithfully: line 2: not valid JSON" in result.output
    for text in (result.output, output.read_text("utf-8-sig")):
        assert "example.com" not in text and "TR33" not in text


def test_nothing_scored_is_a_warning_and_exit_code_1(fake, tmp_path):
    source = tmp_path / "empty_texts.csv"
    source.write_text("id,yorum\n1,\n2, \n", encoding="utf-8")
    result = _run("score", source, "-o", tmp_path / "o.csv", "--no-progress")
    assert result.exit_code == 1, result.output
    assert "warning: no row was scored" in result.output
    assert (tmp_path / "o.csv").is_file()


def test_sheet_and_header_row_reach_the_reader(fake, tmp_path):
    book = Workbook()
    book.active.title = "Kapak"
    book.active.append(["Aralık 2026"])
    data = book.create_sheet("Veri")
    for row in [["Rapor"], ["a", "b"], ["no", "yorum"], ["1", "Kargo geç geldi"]]:
        data.append(row)
    book.save(tmp_path / "in.xlsx")
    output = tmp_path / "o.jsonl"
    result = _run(
        "score", tmp_path / "in.xlsx", "-o", output, "--sheet", "Veri", "--header-row", "3",
        "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert jsonl_rows(output)[0]["yorum"] == "Kargo geç geldi"
    assert "read sheet 'Veri' of 'Kapak', 'Veri'" in result.output
    assert "the header was taken from row 3 of sheet 'Veri'" in result.output
    result = _run("score", tmp_path / "in.xlsx", "-o", output, "--sheet", "Yok")
    _one_line_error(result, "no sheet 'Yok'")


def test_the_command_keeps_an_excel_inputs_date_formats(fake, tmp_path):
    book = Workbook()
    book.active.append(["yorum", "tarih"])
    book.active.append(["Kargo geç geldi", datetime(2025, 2, 3, 14, 5)])
    book.active["B2"].number_format = "dd.mm.yyyy hh:mm"
    book.save(tmp_path / "in.xlsx")
    result = _run("score", tmp_path / "in.xlsx", "-o", tmp_path / "o.xlsx", "--no-progress")
    assert result.exit_code == 0, result.output
    cell = load_workbook(tmp_path / "o.xlsx").active["B2"]
    assert cell.value == datetime(2025, 2, 3, 14, 5) and cell.number_format == "dd.mm.yyyy hh:mm"


def test_a_report_named_other_than_html_is_refused_before_scoring(fake, tmp_path):
    small = tmp_path / "small.csv"
    small.write_text("id,yorum\n1,Kargo geç geldi\n", encoding="utf-8")
    fake.seen.clear()
    result = _run("score", small, "-o", tmp_path / "b.csv", "--report", tmp_path / "r.pdf")
    _one_line_error(result, "name it .html")
    assert fake.seen == [] and not (tmp_path / "b.csv").exists()


def test_a_time_format_naming_no_date_is_a_one_line_error_before_the_model_loads(small, tmp_path):
    result = _run("score", small, "-o", tmp_path / "o.csv", "--time-format", "%H:%M")
    _one_line_error(result, "names no day or month or year")


def test_a_time_format_without_a_time_column_is_a_one_line_error(small, tmp_path):
    result = _run("score", small, "-o", tmp_path / "o.csv", "--time-format", "%m/%d/%Y")
    _one_line_error(result, "name it with --time-column")
