"""Vocabulary trimming keeps the outputs of every text whose pieces it kept."""

from __future__ import annotations

import numpy as np

from nabiz.model.loading import from_pretrained
from nabiz.model.transformer import TransformerPredictor, load_model, save_pretrained
from nabiz.model.trim import trim_vocabulary

CORPUS = [
    "Faturam bu ay çok yüksek geldi, açıklama bekliyorum.",
    "İnternet üç gündür çekmiyor, arıza kaydı açtım.",
    "Müşteri hizmetleri çok ilgiliydi, teşekkür ederim.",
]


def test_trimmed_model_scores_corpus_texts_exactly_as_before(tiny_model_dir, tmp_path):
    model, tokenizer, schema, info = load_model(tiny_model_dir)
    before = TransformerPredictor(model, tokenizer, schema, info, "cpu").predict_scores(CORPUS)
    trimmed_tokenizer, report = trim_vocabulary(model, tokenizer, CORPUS, info.text_prefix)
    save_pretrained(tmp_path / "trimmed", model, trimmed_tokenizer, schema, info)
    after = from_pretrained(tmp_path / "trimmed", "cpu", ensemble=False).predict_scores(CORPUS)
    for name in schema.names:
        np.testing.assert_allclose(after.scores[name], before.scores[name], rtol=0, atol=1e-6)
    assert report.vocab_after < report.vocab_before
    assert report.parameters_after < report.parameters_before


def test_trimmed_tokenizer_still_reads_unseen_text(tiny_model_dir):
    model, tokenizer, _, info = load_model(tiny_model_dir)
    trimmed, _ = trim_vocabulary(model, tokenizer, CORPUS[:1], info.text_prefix)
    ids = trimmed("Kampanya fiyatı mağazada farklı söylendi.")["input_ids"]
    assert max(ids) < len(trimmed) and len(ids) > 2
