"""Text normalization shared by data preparation and inference."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nabiz.deasciify import deasciify
from nabiz.text import (
    dedupe_key,
    fold_case_and_accents,
    near_duplicate_key,
    normalize_text,
    restore_turkish_letters,
    turkish_lower,
)


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


def test_turkish_letters_written_as_capitals_are_restored() -> None:
    text = "az Once turkcell mUSteri hizmetlerindeki kIza ayar verdim"
    assert normalize_text(text) == "az önce turkcell müşteri hizmetlerindeki kıza ayar verdim"


def test_text_typed_without_turkish_letters_gets_them_back() -> None:
    assert normalize_text("kargo cok gec geldi, urun de kirik cikti") == (
        "kargo çok geç geldi, ürün de kırık çıktı"
    )
    assert normalize_text("FATURA COK YUKSEK GELDI") == "FATURA ÇOK YÜKSEK GELDİ"


def test_a_text_with_one_turkish_letter_is_left_as_written() -> None:
    text = "Internet 3 gundur yok, paramı geri istiyorum"
    assert normalize_text(text) == text


def test_restoring_leaves_mentions_hashtags_and_urls_alone() -> None:
    text = "@TurkcellHizmet internet Cok yavaS, gOrUSelim #gUnaydIn https://t.co/AbIcOs"
    assert restore_turkish_letters(text) == (
        "@TurkcellHizmet internet çok yavaş, görüşelim #gUnaydIn https://t.co/AbIcOs"
    )


def test_restoring_leaves_the_masks_of_personal_data_alone() -> None:
    masked = "kartimdan para cekildi iban [IBAN] telefon [TELEFON]"
    assert normalize_text(masked) == "kartımdan para çekildi iban [IBAN] telefon [TELEFON]"


@pytest.mark.parametrize(
    "text",
    [
        "iOS guncellemesi sonrasi uygulama acilmiyor",  # one capital after a lowercase letter
        "Turkcell mUSteri hizmetleri",  # a capital outside I G U C O S: ordinary casing
        "FATURAM COK YUKSEK",  # all capitals: none follows a lowercase letter
    ],
)
def test_ordinary_casing_is_read_as_plain_ascii_not_as_capitals(text: str) -> None:
    assert restore_turkish_letters(text) == deasciify(text)


@pytest.mark.parametrize("text", ["Very good", "iOS 18", "Kargo hızlı"])
def test_short_texts_and_texts_with_turkish_letters_are_left_as_written(text: str) -> None:
    assert restore_turkish_letters(text) == text


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text())
def test_dedupe_key_is_idempotent(text: str) -> None:
    key = dedupe_key(text)
    assert dedupe_key(key) == key


@given(st.text())
def test_keys_of_an_already_normalized_text_are_the_keys_of_the_text(text: str) -> None:
    normalized = normalize_text(text)
    assert dedupe_key(normalized, normalized=True) == dedupe_key(text)
    assert near_duplicate_key(normalized, normalized=True) == near_duplicate_key(text)


def test_near_duplicate_key_ignores_punctuation_digits_mentions_urls_and_case() -> None:
    first = "@Turkcell FATURAM 120 TL geldi!!! https://t.co/abc123 😡"
    second = "faturam 95 tl geldi... www.turkcell.com.tr"
    assert near_duplicate_key(first) == near_duplicate_key(second) == "faturam tl geldi"


def test_near_duplicate_key_lowercases_the_turkish_way() -> None:
    assert near_duplicate_key("IŞIK YOK") == near_duplicate_key("ışık yok") == "ışık yok"


def test_near_duplicate_key_keeps_words_apart() -> None:
    assert near_duplicate_key("Kargo hızlı") != near_duplicate_key("Kargo yavaş")


def test_near_duplicate_key_of_a_text_without_words_is_its_exact_key() -> None:
    assert near_duplicate_key("10/10") == dedupe_key("10/10")
    assert near_duplicate_key("5") != near_duplicate_key("4")


@given(st.text(max_size=60))
def test_exact_duplicates_are_near_duplicates(text: str) -> None:
    variant = "  " + text.upper().replace("I", "İ") + " "
    if dedupe_key(variant) == dedupe_key(text):
        assert near_duplicate_key(variant) == near_duplicate_key(text)


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
