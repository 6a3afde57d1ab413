"""Which columns hold the text: detection from the names, and joining several in order."""

from __future__ import annotations

import pytest

from nabiz.serving.batch import ColumnError, detect_text_columns, normalize_column_name, score_file
from nabiz.serving.writers import partial_path
from tests.serving.batch.inputs import FakePredictor, write_input


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
