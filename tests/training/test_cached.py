"""Frozen lower layers computed once: the upper layers on cached states give the model's logits."""

from __future__ import annotations

import torch

from nabiz.model.network import MultiTaskModel
from nabiz.model.tiny import make_tiny_encoder
from nabiz.model.tokenize import pad_batch
from nabiz.model.transformer import load_pretrained_encoder
from nabiz.training.cached import can_cache, lower_states, upper_forward

TEXTS = ["internet yok", "faturam çok yüksek geldi, açıklama bekliyorum", "teşekkürler", "iptal"]


def test_upper_layers_on_cached_states_give_the_full_models_logits(tmp_path, default_schema):
    encoder_dir = make_tiny_encoder(tmp_path / "enc", TEXTS)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    model = MultiTaskModel(load_pretrained_encoder(str(encoder_dir)), default_schema).eval()
    ids = [tokenizer(t)["input_ids"] for t in TEXTS]
    pad = tokenizer.pad_token_id
    states = lower_states(model, ids, 1, pad, batch_size=3, device=torch.device("cpu"))
    rows = [3, 0, 2, 1]  # another order and batch than the cache was built in
    hidden, mask = states.batch(rows, torch.device("cpu"))
    cached = upper_forward(model, hidden, mask, 1)
    input_ids, full_mask = pad_batch([ids[i] for i in rows], pad)
    with torch.no_grad():
        full = model(input_ids, full_mask)
    for name in full:
        torch.testing.assert_close(cached[name], full[name], atol=2e-3, rtol=1e-3)


def test_only_a_fully_frozen_bottom_can_be_cached(tmp_path, default_schema):
    encoder_dir = make_tiny_encoder(tmp_path / "enc", TEXTS)
    model = MultiTaskModel(load_pretrained_encoder(str(encoder_dir)), default_schema)
    assert can_cache(model, freeze_embeddings=True, freeze_layers=1)
    assert not can_cache(model, freeze_embeddings=False, freeze_layers=1)
    assert not can_cache(model, freeze_embeddings=True, freeze_layers=0)
