"""Length-sorted batches: every text once, similar lengths together, bounded in texts and tokens."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nabiz.model.tokenize import length_sorted_batches

LENGTHS = st.lists(st.integers(min_value=1, max_value=512), max_size=300)


@given(LENGTHS, st.integers(min_value=1, max_value=128), st.integers(min_value=1, max_value=4096))
def test_every_text_is_in_one_batch_within_the_text_and_token_bounds(lengths, size, tokens):
    batches = length_sorted_batches(lengths, size, max_tokens=tokens)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert 1 <= len(batch) <= size
        longest = max(lengths[i] for i in batch)
        assert len(batch) == 1 or len(batch) * longest <= tokens


@given(LENGTHS, st.integers(min_value=1, max_value=128))
def test_without_a_token_bound_batches_are_full_but_the_last(lengths, size):
    batches = length_sorted_batches(lengths, size)
    assert all(len(batch) == size for batch in batches[:-1])


def test_long_texts_go_in_smaller_batches_than_short_ones():
    lengths = [256] * 64 + [16] * 64
    sizes = [len(batch) for batch in length_sorted_batches(lengths, 64, max_tokens=1536)]
    assert sizes[0] == 6 and sizes[-1] > 32


def test_fp32_on_the_cpu_scores_in_token_bounded_batches_and_bf16_does_not(monkeypatch):
    import torch

    from nabiz.model import transformer
    from nabiz.model.tokenize import FP32_BATCH_TOKENS

    seen = []
    monkeypatch.setattr(
        transformer, "batched_scores", lambda *args, **kwargs: seen.append(kwargs["max_tokens"])
    )
    for bf16 in (False, True):
        transformer.score_token_ids(None, [[1]], None, 0, 64, torch.device("cpu"), bf16)
    assert seen == [FP32_BATCH_TOKENS, None]
