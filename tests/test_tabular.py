"""Reading feedback tables: encodings, delimiters, formats, malformed rows and chunking."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from nabiz.tabular import (
    ERROR_COLUMN,
    TableReadError,
    detect_encoding,
    detect_format,
    is_blank,
    iter_table_chunks,
    join_text,
    read_table,
    sniff_delimiter,
)

FIXTURES = Path(__file__).parent / "fixtures"
TURKISH = "ğüşıöç ĞÜŞİÖÇ"


@pytest.fixture
def workbook_path(tmp_path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Yorumlar"
    sheet.append(["metin", "puan", "tarih"])
    sheet.append([f"Kargo geç geldi {TURKISH}", 1, None])
    sheet.append([None, None, None])  # a formatted but empty row
    sheet.append(["Çok memnunum", 5.0, "2024-07-01"])
    path = tmp_path / "yorumlar.xlsx"
    book.save(path)
    return path


@pytest.fixture
def parquet_path(tmp_path: Path) -> Path:
    table = pa.table({"metin": [f"row {i}" for i in range(25)], "puan": [i % 3 for i in range(25)]})
    path = tmp_path / "yorumlar.parquet"
    pq.write_table(table, path, row_group_size=7)
    return path


def test_cp1254_file_decodes_turkish_letters() -> None:
    path = FIXTURES / "turkish_cp1254.csv"
    assert detect_encoding(path) == "cp1254"
    table = read_table(path)
    assert TURKISH in table.loc[1, "text"]
    assert table.loc[0, "text"].endswith("İade istiyorum.")


def test_utf16_file_with_bom_decodes_turkish_letters() -> None:
    path = FIXTURES / "turkish_utf16.csv"
    assert detect_encoding(path) == "utf-16"
    table = read_table(path)
    assert list(table.columns) == ["text", "duygu", "konu", ERROR_COLUMN]
    assert TURKISH in table.loc[1, "text"]


def test_utf16_without_bom_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "le.csv"
    path.write_bytes(f"text\n{TURKISH}\n".encode("utf-16-le"))
    assert detect_encoding(path) == "utf-16-le"
    assert read_table(path).loc[0, "text"] == TURKISH


def test_utf8_bom_is_stripped_from_first_header() -> None:
    path = FIXTURES / "turkish_semicolon.csv"
    assert detect_encoding(path) == "utf-8-sig"
    assert read_table(path).columns[0] == "text"


def test_utf8_sample_cut_inside_a_character_is_still_utf8(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_bytes(("text\n" + "ş" * 100).encode("utf-8"))
    assert detect_encoding(path, sample_bytes=6) == "utf-8"  # 5 bytes + half of "ş"


def test_semicolon_delimiter_is_sniffed() -> None:
    table = read_table(FIXTURES / "turkish_semicolon.csv")
    assert list(table.columns) == ["text", "duygu", "konu", ERROR_COLUMN]
    assert table.loc[0, "text"] == "Faturam bu ay çok yüksek geldi, İade istiyorum."


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n4;5;6\n", ";"),
        ("a\tb\n1, 2\t3\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ('text,label\n"a;b;c;d",x\n"e;f",y\n', ","),
        ("just one column\nrow\n", ","),
    ],
)
def test_sniff_delimiter_picks_the_consistent_one(sample: str, expected: str) -> None:
    assert sniff_delimiter(sample) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", "csv"),
        ("a.TXT", "csv"),
        ("a.tsv", "tsv"),
        ("a.xlsx", "xlsx"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.json", "jsonl"),
        ("a.parquet", "parquet"),
    ],
)
def test_detect_format_from_extension(name: str, expected: str) -> None:
    assert detect_format(name) == expected


def test_unknown_extension_lists_supported_ones() -> None:
    with pytest.raises(TableReadError, match=r"supported extensions are .*\.csv.*\.parquet"):
        detect_format("export.xls")


def test_empty_cells_stay_empty_strings_and_na_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "na.csv"
    path.write_text("text,label\nNA,\nnull,x\n", encoding="utf-8")
    table = read_table(path)
    assert table["text"].tolist() == ["NA", "null"]
    assert table["label"].tolist() == ["", "x"]


def test_ragged_csv_rows_are_kept_and_marked() -> None:
    table = read_table(FIXTURES / "ragged.csv")
    assert len(table) == 4
    assert table[ERROR_COLUMN].isna().tolist() == [True, False, False, True]
    assert table.loc[1].tolist()[:3] == ["4", "5", ""]
    assert "found 4" in table.loc[2, ERROR_COLUMN]
    assert table.loc[3, "b"] == 'on "bir"'


def test_unclosed_quote_does_not_swallow_later_rows(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('text,label\nok,a\n"never closed,b\nnext,c\nlast,d\n', encoding="utf-8")
    table = read_table(path)
    assert len(table) == 4
    assert table["text"].tolist()[2:] == ["next", "last"]
    assert "never closed" in table.loc[1, ERROR_COLUMN]


def test_text_after_closing_quote_is_read_leniently_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('text,label\n"big" deal,a\nfine,b\n', encoding="utf-8")
    table = read_table(path)
    assert table["text"].tolist() == ["big deal", "fine"]
    assert table[ERROR_COLUMN].notna().tolist() == [True, False]


def test_multiline_quoted_field_is_one_row() -> None:
    table = read_table(FIXTURES / "feedback.csv")
    assert len(table) == 12
    assert table.loc[6, "text"] == "İnternet hızı çok düşük\nakşamları hiç açılmıyor"


def test_broken_jsonl_line_becomes_a_marked_row() -> None:
    table = read_table(FIXTURES / "broken.jsonl")
    assert len(table) == 5
    assert table[ERROR_COLUMN].notna().tolist() == [False, False, True, False, True]
    assert "line 3: not valid JSON" in table.loc[2, ERROR_COLUMN]
    assert "expected a JSON object" in table.loc[4, ERROR_COLUMN]
    assert table["n"].tolist() == ["1", "2", None, None, None]
    assert table.loc[3, "ekstra"] == "true"


def test_json_array_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"text": "a"}, {"text": "b", "labels": ["x", "y"]}]))
    table = read_table(path)
    assert table["text"].tolist() == ["a", "b"]
    assert table.loc[1, "labels"] == ["x", "y"]


def test_xlsx_reads_text_numbers_and_skips_empty_rows(workbook_path: Path) -> None:
    table = read_table(workbook_path)
    assert list(table.columns) == ["metin", "puan", "tarih", ERROR_COLUMN]
    assert len(table) == 2
    assert TURKISH in table.loc[0, "metin"]
    assert table["puan"].tolist() == ["1", "5"]
    assert table.loc[0, "tarih"] is None


def test_xlsx_unknown_sheet_names_the_sheets(workbook_path: Path) -> None:
    with pytest.raises(TableReadError, match="Yorumlar"):
        read_table(workbook_path, sheet="Sheet9")


def test_parquet_values_come_back_as_text(parquet_path: Path) -> None:
    table = read_table(parquet_path)
    assert len(table) == 25
    assert table.loc[4, "puan"] == "1"


@pytest.mark.parametrize("fixture", ["csv", "jsonl", "xlsx", "parquet"])
def test_chunks_keep_row_count_order_and_global_index(
    fixture: str, tmp_path: Path, workbook_path: Path, parquet_path: Path
) -> None:
    paths = {
        "csv": FIXTURES / "feedback.csv",
        "jsonl": FIXTURES / "broken.jsonl",
        "xlsx": workbook_path,
        "parquet": parquet_path,
    }
    whole = read_table(paths[fixture])
    chunks = list(iter_table_chunks(paths[fixture], chunk_rows=3))
    assert all(len(chunk) <= 3 for chunk in chunks)
    joined = pd.concat(chunks)
    assert joined.index.tolist() == list(range(len(whole)))
    first = whole.columns[0]
    assert joined[first].tolist() == whole[first].tolist()


def test_header_only_file_yields_one_empty_chunk_with_columns(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("text,label\n", encoding="utf-8")
    chunks = list(iter_table_chunks(path))
    assert len(chunks) == 1
    assert list(chunks[0].columns) == ["text", "label", ERROR_COLUMN]
    assert chunks[0].empty


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(TableReadError, match="header row"):
        read_table(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TableReadError, match="missing"):
        read_table(tmp_path / "nope.csv")


def test_wrong_encoding_later_in_file_says_how_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"text\n" + b"a\n" * 50 + "ş\n".encode("cp1254"))
    with pytest.raises(TableReadError, match="encoding="):
        read_table(path, encoding="utf-8")


def test_duplicate_and_blank_headers_get_unique_names(tmp_path: Path) -> None:
    path = tmp_path / "headers.csv"
    path.write_text("text,text, \n1,2,3\n", encoding="utf-8")
    assert list(read_table(path).columns) == ["text", "text.1", "Unnamed: 2", ERROR_COLUMN]


@pytest.mark.parametrize(("value", "blank"), [(None, True), (float("nan"), True), (" ", True)])
def test_is_blank_treats_none_nan_and_whitespace_as_missing(value: object, blank: bool) -> None:
    assert is_blank(value) is blank
    assert is_blank("x") is False


def test_a_rows_text_columns_join_with_a_blank_line_skipping_blanks():
    assert join_text([" Fatura ", None, float("nan"), "  ", "Çok yüksek."]) == (
        "Fatura\n\nÇok yüksek."
    )
    assert join_text([["fatura", "şebeke"], {"a": "ş"}]) == '["fatura", "şebeke"]\n\n{"a": "ş"}'


@pytest.mark.parametrize(
    ("start", "what"),
    [
        (b"PK\x03\x04\x14\x00", "ZIP archive"),
        (b"PAR1\x15\x04", "Parquet file"),
        (b"%PDF-1.7", "PDF"),
    ],
)
@pytest.mark.parametrize("name", ["export.csv", "export.jsonl"])
def test_a_binary_file_named_like_text_is_refused_by_what_it_is(tmp_path, start, what, name):
    path = tmp_path / name
    path.write_bytes(start + bytes(range(256)) * 4)
    with pytest.raises(TableReadError, match=rf"is not a .* text file: it is an? {what}"):
        read_table(path)
