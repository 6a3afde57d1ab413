"""Root causes: weighted log-odds with an informative prior, and the what-changed test."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from nabiz.serving.console.frame import normalize_frame
from nabiz.serving.console.rootcause import (
    PhraseCounts,
    benjamini_hochberg,
    distinctive_phrases,
    log_odds,
    tokenize,
    two_proportion_p,
    what_changed,
)


def test_tokenize_lowercases_turkish_and_drops_function_words():
    assert tokenize("İADE ve Iğdır için FATURA") == ["iade", "ığdır", "fatura"]


def test_log_odds_is_zero_for_identical_groups_and_antisymmetric():
    a = np.array([10, 5, 1, 0])
    b = np.array([3, 8, 2, 4])
    delta_same, z_same = log_odds(a, a, 20, 20)
    assert np.allclose(delta_same, 0) and np.allclose(z_same, 0)
    delta_ab, z_ab = log_odds(a, b, 20, 30)
    delta_ba, z_ba = log_odds(b, a, 30, 20)
    assert np.allclose(delta_ab, -delta_ba) and np.allclose(z_ab, -z_ba)


def test_the_prior_shrinks_a_rare_phrase_below_a_frequent_one_of_the_same_ratio():
    # both phrases are used by a 4x larger share of group a's texts, but one by 200 of them
    _, z = log_odds(np.array([2, 200]), np.array([1, 100]), 1000, 2000)
    assert z[1] > z[0] > 0


@given(st.data(), st.integers(1, 60), st.integers(1, 60))
def test_log_odds_is_finite_for_any_counts(data, texts_a, texts_b):
    uses = st.lists(st.integers(0, min(texts_a, texts_b)), min_size=1, max_size=12)
    a = data.draw(uses)
    b = data.draw(st.lists(st.integers(0, texts_b), min_size=len(a), max_size=len(a)))
    delta, z = log_odds(np.array(a), np.array(b), texts_a, texts_b)
    assert np.isfinite(delta).all() and np.isfinite(z).all()


def test_distinctive_phrases_find_the_planted_phrase_with_examples():
    texts = ["kargo geç geldi"] * 30 + ["kartımdan çift çekim yapıldı iade yok"] * 12
    texts += ["kargo geç geldi, paket ezik"] * 30
    target = np.array([False] * 30 + [True] * 12 + [False] * 30)
    found = distinctive_phrases(PhraseCounts.of(texts), target, ~target)
    phrases = [p["phrase"] for p in found]
    assert "çift çekim" in phrases
    assert "kargo" not in phrases
    first = found[phrases.index("çift çekim")]
    assert first["count"] == 12 and first["count_other"] == 0
    assert all("çift çekim" in example for example in first["examples"])


def test_a_phrase_in_every_text_of_a_small_group_and_none_of_the_others_is_listed():
    # 36 outage complaints against 10 texts of other topics: counted over phrase tokens with a
    # fixed prior of 500, no phrase reached z 1.96
    outage = [f"{n} gündür internet yok, arıza kaydı açtım kimse gelmedi" for n in range(36)]
    others = [
        "faturama fazla ücret yansımış",
        "müşteri hizmetleri telefonu açmıyor",
        "kampanya fiyatı değişti haberim olmadı",
        "uygulama şifre kabul etmiyor",
        "ek paket pahalı",
        "mağazadaki çalışan kaba davrandı",
        "numara taşıma yapacağım",
        "reklam mesajları durmadan geliyor",
        "faturam yine yüksek geldi",
        "kampanyadan çıkmak istiyorum",
    ]
    target = np.array([True] * 36 + [False] * 10)
    found = distinctive_phrases(PhraseCounts.of(outage + others), target, ~target)
    assert "internet" in [p["phrase"] for p in found]


def test_a_phrase_repeated_inside_one_text_counts_that_text_once():
    texts = ["rezalet rezalet rezalet kargo"] * 5 + ["fatura geldi"] * 20
    target = np.array([True] * 5 + [False] * 20)
    found = distinctive_phrases(PhraseCounts.of(texts), target, ~target)
    assert next(p for p in found if p["phrase"] == "rezalet")["count"] == 5


def test_a_phrase_in_three_of_many_texts_and_none_of_the_others_is_not_listed():
    texts = ["kargo geç geldi"] * 33 + ["kargo geç geldi, kapıda ödeme yok"] * 3
    texts += ["fatura yüksek"] * 10
    target = np.array([True] * 36 + [False] * 10)
    found = distinctive_phrases(PhraseCounts.of(texts), target, ~target)
    assert "kapıda ödeme" not in [p["phrase"] for p in found]


def test_distinctive_phrases_list_nothing_when_the_groups_say_the_same():
    texts = ["fatura yüksek geldi"] * 20 + ["fatura yüksek geldi"] * 20
    target = np.array([True] * 20 + [False] * 20)
    assert distinctive_phrases(PhraseCounts.of(texts), target, ~target) == []


def test_two_proportion_p_matches_a_known_value():
    # 60/100 against 40/100: z = 2.828, two-sided p = 0.00468
    assert abs(two_proportion_p(60, 100, 40, 100) - 0.00468) < 1e-4
    assert two_proportion_p(5, 10, 5, 10) == 1.0
    assert two_proportion_p(1, 0, 1, 10) is None


@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), max_size=30))
def test_bh_q_values_are_at_least_p_and_at_most_one(ps):
    qs = benjamini_hochberg(ps)
    for p, q in zip(ps, qs, strict=True):
        assert (p is None) == (q is None)
        if p is not None:
            assert p - 1e-12 <= q <= 1.0 + 1e-12


def test_what_changed_flags_a_topic_whose_negative_share_jumped():
    def frame(rows):
        return normalize_frame(pd.DataFrame(rows, columns=["topic", "sentiment"]))

    before = frame([("fatura_odeme", "olumsuz")] * 20 + [("fatura_odeme", "olumlu")] * 80)
    before = pd.concat(
        [before, frame([("urun_paket", "olumsuz")] * 30 + [("urun_paket", "notr")] * 70)]
    )
    now = frame([("fatura_odeme", "olumsuz")] * 70 + [("fatura_odeme", "olumlu")] * 30)
    now = pd.concat([now, frame([("urun_paket", "olumsuz")] * 31 + [("urun_paket", "notr")] * 69)])
    changes = what_changed(now, before)
    assert changes[0]["topic"] == "fatura_odeme" and changes[0]["significant"]
    assert abs(changes[0]["negative_change"] - 0.5) < 1e-9
    other = next(c for c in changes if c["topic"] == "urun_paket")
    assert not other["significant"]
