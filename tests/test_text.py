"""Text normalization shared by data preparation and inference."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nabiz.text import dedupe_key, fold_case_and_accents, normalize_text, turkish_lower


def test_normalize_keeps_casing_and_turkish_letters() -> None:
    assert normalize_text("İYİ Günler, ğüşıöç") == "İYİ Günler, ğüşıöç"


def test_normalize_folds_spaces_and_trims() -> None:
    assert normalize_text("  Fatura \t çok   yüksek  ") == "Fatura çok yüksek"


def test_normalize_keeps_one_blank_line_between_paragraphs() -> None:
    assert normalize_text("Başlık\r\n\r\n\r\n  Metin  \n\n\nSon") == "Başlık\n\nMetin\n\nSon"


def test_normalize_replaces_control_characters() -> None:
    assert normalize_text("a\x00b\x07c") == "a b c"


def test_normalize_applies_nfkc() -> None:
    decomposed = "s\u0327"  # s + combining cedilla
    assert normalize_text(decomposed) == "ş"
    assert normalize_text("ﬁyat") == "fiyat"  # the fi ligature


def test_normalize_of_only_whitespace_is_empty() -> None:
    assert normalize_text(" \n\t \r\n") == ""


def test_turkish_lower_handles_dotted_and_dotless_i() -> None:
    assert turkish_lower("IŞIK İZMİR") == "ışık izmir"
    assert "İ".lower() != "i"  # what str.lower gets wrong: i + combining dot


def test_dedupe_key_ignores_case_and_spacing() -> None:
    assert dedupe_key("  TEŞEKKÜRLER   çok\nhızlı ") == dedupe_key("teşekkürler çok hızlı")


def test_dedupe_key_keeps_different_words_apart() -> None:
    assert dedupe_key("ışık") != dedupe_key("isik")


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text())
def test_dedupe_key_is_idempotent(text: str) -> None:
    key = dedupe_key(text)
    assert dedupe_key(key) == key


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Şikayet_Metni", "sikayet_metni"),
        ("MAĞAZA", "magaza"),
        ("İnstagram", "instagram"),
        ("INSTAGRAM", "instagram"),
        ("ılık", "ilik"),
        ("Çağrı Merkezi", "cagri merkezi"),
        ("Kâğıt", "kagit"),
    ],
)
def test_names_fold_case_and_accents_the_same_way_everywhere(name, folded):
    assert fold_case_and_accents(name) == folded
