"""Reading real-world exports: stray quotes, trailing delimiters, title rows, sheets, typed
numbers, empty JSON Lines, encodings named wrong, and messages that never quote a row."""

from __future__ import annotations

import csv
import json
import pickle
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

import nabiz.tabular_csv
from nabiz.tabular import (
    ERROR_COLUMN,
    DateText,
    NumberText,
    TableReadError,
    is_note,
    iter_table_chunks,
    read_table,
)

ROWS_20 = [f"{i};Yorum numarası {i}, kargo geç geldi;{i % 5 + 1}" for i in range(1, 21)]


def _semicolon_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "export.csv"
    path.write_text("id;yorum;puan\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_stray_quote_does_not_merge_the_rows_up_to_the_next_quote(tmp_path):
    lines = list(ROWS_20)
    lines[2] = '3;"Rezalet hizmet, param iade edilmedi;4'  # never closed
    lines[14] = '15;"Kargo; hızlı geldi";1'  # the next quote in the file
    table = read_table(_semicolon_file(tmp_path, lines))
    assert table["id"].tolist() == [str(i) for i in range(1, 21)]
    assert table[ERROR_COLUMN].notna().tolist() == [i == 2 for i in range(20)]
    assert 'quote (") is never closed' in table.loc[2, ERROR_COLUMN]
    assert table.loc[2].tolist()[:3] == ["3", '"Rezalet hizmet, param iade edilmedi', "4"]
    assert table.loc[14, "yorum"] == "Kargo; hızlı geldi"
    assert table.loc[3, "yorum"] == "Yorum numarası 4, kargo geç geldi"


def test_a_stray_quote_open_to_the_end_keeps_every_row(tmp_path):
    lines = list(ROWS_20)
    lines[2] = '3;"Rezalet hizmet, param iade edilmedi;4'
    table = read_table(_semicolon_file(tmp_path, lines))
    assert len(table) == 20
    assert table[ERROR_COLUMN].notna().sum() == 1


def test_a_stray_quote_that_reads_past_the_field_limit_keeps_the_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(nabiz.tabular_csv, "MAX_FIELD_CHARS", 2_000)
    previous = csv.field_size_limit(2_000)
    try:
        lines = ['1;"Rezalet;4', *(f"{i};satır {i};1" for i in range(2, 400))]
        table = read_table(_semicolon_file(tmp_path, lines))
        assert len(table) == 399 and table[ERROR_COLUMN].notna().sum() == 1
        path = tmp_path / "one.csv"
        path.write_text('id;yorum;puan\n1;"' + "x" * 3_000 + "\n", encoding="utf-8")
        with pytest.raises(TableReadError, match="never closed"):
            read_table(path)
    finally:
        csv.field_size_limit(previous)


def test_chunks_after_a_stray_quote_keep_their_row_numbers(tmp_path):
    lines = list(ROWS_20)
    lines[2] = '3;"Rezalet;4'
    lines[9] = '10;"Kargo";1'
    chunks = list(iter_table_chunks(_semicolon_file(tmp_path, lines), chunk_rows=6))
    assert [len(chunk) for chunk in chunks] == [6, 6, 6, 2]
    assert [chunk.index[0] for chunk in chunks] == [0, 6, 12, 18]


def test_a_valid_multi_line_text_whose_lines_look_like_rows_stays_one_row(tmp_path):
    path = tmp_path / "valid.csv"
    text = "Merhaba\nkargo geldi, kırık\nama, teşekkürler"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["no", "yorum"], ["r1", text], ["r2", "tamam"]])
    table = read_table(path)
    assert table["yorum"].tolist() == [text, "tamam"]
    assert table[ERROR_COLUMN].isna().all()


def test_a_broken_multi_line_text_without_row_like_lines_is_read_as_one_marked_row(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text('no,yorum\nr1,"Kargo geldi\nama "kırık" çıktı"\nr2,tamam\n', encoding="utf-8")
    table = read_table(path)
    assert table["no"].tolist() == ["r1", "r2"]
    assert table[ERROR_COLUMN].notna().tolist() == [True, False]


def test_trailing_delimiters_are_not_errors_but_extra_values_are(tmp_path):
    path = tmp_path / "trail.csv"
    path.write_text(
        "id,yorum\n1,Kargo geç geldi,\n2,Ürün harika,, \n3,Fazla,değer\n", encoding="utf-8"
    )
    table = read_table(path)
    assert table["yorum"].tolist() == ["Kargo geç geldi", "Ürün harika", "Fazla"]
    assert table[ERROR_COLUMN].notna().tolist() == [False, False, True]
    assert "1 extra value(s) dropped" in table.loc[2, ERROR_COLUMN]


def test_a_bad_json_line_is_named_by_number_and_position_never_by_its_text(tmp_path):
    path = tmp_path / "pii.jsonl"
    secret = "ali.veli@example.com, IBAN TR330006100519786457841326"
    path.write_text(
        '{"id": 1, "yorum": "Kargo geç geldi"}\n'
        f'{{"id": 2, "yorum": "Mailim {secret} iade yapın",}}\n',
        encoding="utf-8",
    )
    message = read_table(path).loc[1, ERROR_COLUMN]
    assert message.startswith("line 2: not valid JSON (") and "column" in message
    assert "example.com" not in message and "TR33" not in message and "Mailim" not in message


@pytest.mark.parametrize("content", ["", "\n\n  \n", "[]"])
def test_an_empty_json_lines_file_says_it_is_empty(tmp_path, content):
    path = tmp_path / ("rows.json" if content == "[]" else "rows.jsonl")
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TableReadError, match="the file is empty"):
        read_table(path)


@pytest.mark.parametrize("body", ["id,yorum\n1,Kargo\n".encode("utf-16-le"), b"id,yorum\n1,a\n"])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_utf16_named_for_a_file_without_bom_suggests_the_byte_order(tmp_path, body, suffix):
    path = tmp_path / f"nobom{suffix}"
    path.write_bytes(body)
    with pytest.raises(TableReadError, match="utf-16-le") as caught:
        read_table(path, encoding="utf-16")
    assert "BOM" in str(caught.value)


# ----------------------------------------------------------------------------------------------
# numbers


def test_numbers_of_excel_json_and_parquet_are_number_texts(tmp_path):
    book = Workbook()
    book.active.append(["yorum", "tutar"])
    book.active.append(["a", -150])
    book.active.append(["b", -2.0])
    book.active.append(["c", "-5"])
    book.save(tmp_path / "a.xlsx")
    lines = [
        {"yorum": "a", "tutar": -150},
        {"yorum": "b", "tutar": -2.0},
        {"yorum": "c", "tutar": "-5"},
    ]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    pq.write_table(pa.table({"yorum": ["a", "b"], "tutar": [-150, 7]}), tmp_path / "a.parquet")
    for name in ["a.xlsx", "a.jsonl", "a.parquet"]:
        table = read_table(tmp_path / name)
        assert table.loc[0, "tutar"] == "-150" and isinstance(table.loc[0, "tutar"], NumberText)
        assert not isinstance(table.loc[0, "yorum"], NumberText)
    table = read_table(tmp_path / "a.jsonl")
    assert table.loc[1, "tutar"] == "-2" and table.loc[1, "tutar"].number() == -2
    assert type(table.loc[2, "tutar"]) is str  # typed as text in the file: text
    assert pickle.loads(pickle.dumps(NumberText("-2.5"))).number() == -2.5


def test_an_excel_date_cell_is_read_with_its_own_number_format(tmp_path):
    book = Workbook()
    book.active.append(["yorum", "tarih"])
    for text, day, shown in [("a", 3, "dd.mm.yyyy"), ("b", 4, "dd.mm.yyyy hh:mm"), ("c", 5, None)]:
        book.active.append([text, datetime(2025, 2, day, 14, 5)])
        if shown:
            book.active.cell(book.active.max_row, 2).number_format = shown
    book.save(tmp_path / "d.xlsx")
    dates = read_table(tmp_path / "d.xlsx")["tarih"].tolist()
    assert dates == ["2025-02-03 14:05:00", "2025-02-04 14:05:00", "2025-02-05 14:05:00"]
    assert [value.number_format for value in dates] == [
        "dd.mm.yyyy", "dd.mm.yyyy hh:mm", "yyyy-mm-dd h:mm:ss",  # openpyxl's, as the cell has it
    ]  # fmt: skip
    kept = pickle.loads(pickle.dumps(dates[0], protocol=0))
    assert isinstance(kept, DateText) and kept.number_format == "dd.mm.yyyy"


def test_a_parquet_timestamp_has_no_number_format(tmp_path):
    pq.write_table(pa.table({"tarih": [datetime(2025, 2, 3, 14, 5)]}), tmp_path / "t.parquet")
    value = read_table(tmp_path / "t.parquet").loc[0, "tarih"]
    assert isinstance(value, DateText) and value.number_format is None


# ----------------------------------------------------------------------------------------------
# Excel: sheets, title rows, values without a header


def _book(path: Path, sheets: dict[str, list[list]], active: int = 0) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.active = active
    book.save(path)
    return path


DATA = [["no", "yorum"], ["1", "Kargo geç geldi"], ["2", "Param iade edilmedi"]]


@pytest.mark.parametrize(
    "above",
    [
        [["Şikayetler (Aralık 2026)"]],
        [["Aralık 2026 Şikayet Raporu"], [], ["Hazırlayan: CRM"], [None, None]],
    ],
)
def test_a_title_block_above_the_header_is_skipped_and_said(tmp_path, above):
    path = _book(tmp_path / "t.xlsx", {"Rapor": [*above, *DATA]})
    chunks = list(iter_table_chunks(path))
    table = chunks[0]
    assert list(table.columns) == ["no", "yorum", ERROR_COLUMN]
    assert table["yorum"].tolist() == ["Kargo geç geldi", "Param iade edilmedi"]
    assert table.attrs["header_row"] == len(above) + 1
    assert table.attrs["title_rows"] == sum(1 for row in above if any(row))


def test_a_one_column_sheet_takes_its_first_row_as_the_header(tmp_path):
    rows = [["yorum"], *([f"metin {i}"] for i in range(12)), ["metin 12", "not"]]
    table = read_table(_book(tmp_path / "one.xlsx", {"S": rows}))
    assert list(table.columns) == ["yorum", ERROR_COLUMN]
    assert len(table) == 13
    assert is_note(table.loc[12, ERROR_COLUMN])


def test_the_header_row_can_be_named_in_excel_and_csv(tmp_path):
    path = _book(tmp_path / "t.xlsx", {"S": [["Başlık"], ["x", "y"], *DATA]})
    assert read_table(path, header_row=3)["yorum"].tolist()[0] == "Kargo geç geldi"
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("Şikayetler (Aralık 2026)\n\nno;yorum\n1;Kargo\n", encoding="utf-8")
    table = read_table(csv_path, header_row=3)
    assert list(table.columns) == ["no", "yorum", ERROR_COLUMN]
    assert table["yorum"].tolist() == ["Kargo"] and table[ERROR_COLUMN].isna().all()
    with pytest.raises(TableReadError, match="no row 9"):
        read_table(path, header_row=9)


@pytest.mark.parametrize(("active", "expected"), [(1, "Veri"), (0, "Veri")])
def test_the_sheet_is_the_active_one_unless_empty_then_the_first_with_data(
    tmp_path, active, expected
):
    cover = [] if active == 0 else [["Aralık 2026 müşteri yorumları"], ["Hazırlayan: CRM"]]
    path = _book(tmp_path / "c.xlsx", {"Kapak": cover, "Veri": DATA}, active=active)
    table = next(iter(iter_table_chunks(path)))
    assert table.attrs["sheet"] == expected and table.attrs["sheets"] == ["Kapak", "Veri"]
    assert table["yorum"].tolist() == ["Kargo geç geldi", "Param iade edilmedi"]
    if cover:
        assert read_table(path, sheet="Kapak").columns[0] == "Aralık 2026 müşteri yorumları"
    else:
        with pytest.raises(TableReadError, match="'Kapak' is empty"):
            read_table(path, sheet="Kapak")


def test_a_sheet_name_for_a_csv_file_is_an_error(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("yorum\nx\n", encoding="utf-8")
    with pytest.raises(TableReadError, match="sheets"):
        read_table(path, sheet="Veri")


def test_a_value_in_a_column_without_a_header_is_a_note_naming_the_column(tmp_path):
    rows = [["id", "yorum", None, None], ["1", "Kargo", None, "not: müşteri tekrar aradı"]]
    table = read_table(_book(tmp_path / "s.xlsx", {"Sheet": rows}))
    message = table.loc[0, ERROR_COLUMN]
    assert is_note(message) and "column(s) D" in message
    assert "müşteri" not in message
    assert table.loc[0, "yorum"] == "Kargo"


def test_json_array_items_are_numbered(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"yorum": "a"}, 3]), encoding="utf-8")
    assert read_table(path).loc[1, ERROR_COLUMN] == "item 2: expected a JSON object, found int"
