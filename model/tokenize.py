"""Tokenizing for the encoder: prefix, head+tail truncation, dynamic padding.

Bank complaints run to a thousand characters while most tweets fit in 64 tokens. Keeping the
start *and* the end of a long text keeps both the subject and the closing demand ("…iade
edilmezse BDDK'ya şikayet edeceğim"), which a plain head cut loses. Which texts were cut is
reported per text, so callers can tell the model saw only part of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class EncodedTexts:
    ids: list[list[int]]  # with the special tokens, at most max_length each
    truncated: list[bool]


def head_tail(ids: list[int], budget: int, head_fraction: float) -> list[int]:
    """Keep ``budget`` ids: ``head_fraction`` of them from the start, the rest from the end."""
    if len(ids) <= budget:
        return ids
    head = round(budget * head_fraction)
    tail = budget - head
    return ids[:head] + (ids[len(ids) - tail :] if tail else [])


def encode_texts(
    tokenizer,
    texts: Sequence[str],
    max_length: int,
    prefix: str = "",
    head_fraction: float = 0.5,
) -> EncodedTexts:
    """Token ids per text, ``<s> … </s>`` around a head+tail cut of the prefixed text."""
    pieces = tokenizer([prefix + text for text in texts], add_special_tokens=False, verbose=False)[
        "input_ids"
    ]
    prefix_len = len(tokenizer(prefix, add_special_tokens=False)["input_ids"]) if prefix else 0
    budget = max_length - 2
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    ids, truncated = [], []
    for row in pieces:
        cut = len(row) > budget
        if cut and prefix_len:
            # the prefix is part of the head the model expects; cut the body only
            body = head_tail(row[prefix_len:], budget - prefix_len, head_fraction)
            row = row[:prefix_len] + body
        elif cut:
            row = head_tail(row, budget, head_fraction)
        ids.append([cls_id, *row, sep_id])
        truncated.append(cut)
    return EncodedTexts(ids, truncated)


def pad_batch(
    rows: Sequence[Sequence[int]], pad_id: int, pad_to: int | None = None, multiple_of: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest row, rounded up to ``multiple_of`` (or to ``pad_to``): input ids
    and attention mask."""
    width = pad_to or -(-max(len(row) for row in rows) // multiple_of) * multiple_of
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
        attention_mask[i, : len(row)] = 1
    return input_ids, attention_mask


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches with similar lengths together (less padding); callers restore the order."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
