"""Turkish letters put back into text typed without them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nabiz.deasciify import deasciify

CANDIDATES = set("cCgGoOuUiIsSçÇğĞöÖüÜıİşŞ")


def test_a_sentence_typed_in_ascii_gets_its_letters_back() -> None:
    assert deasciify("Opusmegi cagristiran catirtilar.") == "Öpüşmeği çağrıştıran çatırtılar."


def test_capital_i_becomes_dotted_where_the_word_has_a_dotted_i() -> None:
    assert deasciify("IPTAL ETMEK ISTIYORUM") == "İPTAL ETMEK İSTİYORUM"


def test_words_that_need_no_change_keep_their_spelling() -> None:
    assert deasciify("Very good product, thanks a lot") == "Very good product, thanks a lot"


@given(st.text(max_size=80))
def test_only_the_six_letters_and_their_turkish_forms_ever_change(text: str) -> None:
    out = deasciify(text)
    assert len(out) == len(text)
    assert all(
        a == b or (a in CANDIDATES and b in CANDIDATES) for a, b in zip(text, out, strict=True)
    )
