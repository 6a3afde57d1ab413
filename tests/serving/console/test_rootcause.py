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
    delta_same, z_same = log_odds(a, a)
    assert np.allclose(delta_same, 0) and np.allclose(z_same, 0)
    delta_ab, z_ab = log_odds(a, b)
    delta_ba, z_ba = log_odds(b, a)
    assert np.allclose(delta_ab, -delta_ba) and np.allclose(z_ab, -z_ba)


def test_the_prior_shrinks_a_rare_phrase_below_a_frequent_one_of_the_same_ratio():
    # both phrases occur 4x as often (relatively) in group a, but one is seen 200 times
    a = np.array([2, 200, 1000])
    b = np.array([1, 100, 2000])
    _, z = log_odds(a, b)
    assert z[1] > z[0] > 0


@given(
    st.lists(st.integers(0, 50), min_size=2, max_size=12),
    st.lists(st.integers(0, 50), min_size=2, max_size=12),
)
def test_log_odds_is_finite_for_any_counts(a, b):
    n = min(len(a), len(b))
    delta, z = log_odds(np.array(a[:n]), np.array(b[:n]))
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
