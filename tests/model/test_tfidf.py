"""Inference TF-IDF without scikit-learn gives scikit-learn's numbers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from nabiz.model.tfidf import TfidfTransform, linear_scores

CORPUS = [
    "faturam bu ay çok yüksek geldi, açıklama bekliyorum.",
    "internet üç gündür çekmiyor; arıza kaydı açtım!!",
    "müşteri hizmetleri çok ilgiliydi teşekkür ederim",
    "numaramı başka operatöre taşıyacağım, yeter artık",
    "a b c  ğüşiöç   x1 y_2 uygulama hata hata hata",
]
WORDS = st.sampled_from(["fatura", "ç", "internet", "a", "hata", "çok", "ğü", "x1", "!!", "iş"])
TEXTS = st.lists(
    st.lists(WORDS, max_size=12).map(" ".join) | st.text(max_size=40), min_size=1, max_size=6
)


def fitted(analyzer: str, ngram_range: tuple[int, int]):
    vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, sublinear_tf=True)
    vectorizer.fit(CORPUS)
    transform = TfidfTransform(analyzer, ngram_range, vectorizer.vocabulary_, vectorizer.idf_)
    return vectorizer, transform


@settings(max_examples=60, deadline=None)
@given(texts=TEXTS)
def test_features_and_scores_equal_scikit_learns(texts):
    char_v, char_t = fitted("char_wb", (2, 5))
    word_v, word_t = fitted("word", (1, 2))
    width = len(char_t.idf) + len(word_t.idf)
    weights = np.random.default_rng(0).normal(size=(width, 3)).astype(np.float32)
    bias = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    expected_features = np.hstack(
        [char_v.transform(texts).toarray(), word_v.transform(texts).toarray()]
    )
    expected = expected_features @ weights + bias
    got = linear_scores([char_t, word_t], weights, bias, texts)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
