"""Tokenizing for the encoder: prefix, head+tail truncation, dynamic padding.

Bank complaints run to a thousand characters while most tweets fit in 64 tokens. Keeping the
start *and* the end of a long text keeps both the subject and the closing demand ("…iade
edilmezse BDDK'ya şikayet edeceğim"), which a plain head cut loses. Which texts were cut is
reported per text, so callers can tell the model saw only part of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS = (
    "bos_token",
    "eos_token",
    "cls_token",
    "sep_token",
    "pad_token",
    "unk_token",
    "mask_token",
)


class PieceTokenizer:
    """A model directory's ``tokenizer.json`` through the ``tokenizers`` library alone.

    Scoring used transformers' ``AutoTokenizer``, which imports transformers (seconds at every
    start, BENCHMARKS.md §9) only to call the same Rust tokenizer. This answers the part of
    ``PreTrainedTokenizerFast`` that Nabız uses (calling it, the special tokens and their ids,
    ``backend_tokenizer``, ``save_pretrained``), so that ``encode_texts`` and vocabulary trimming
    take either; a test checks the ids equal transformers'."""

    def __init__(self, backend, config: dict) -> None:
        backend.no_truncation()
        backend.no_padding()
        self.backend_tokenizer = backend
        self.config = config
        self.model_max_length = config.get("model_max_length")
        for key in SPECIAL_TOKENS:
            token = config.get(key)
            if isinstance(token, dict):  # an AddedToken as older transformers wrote it
                token = token.get("content")
            setattr(self, key, token)
            setattr(self, key + "_id", backend.token_to_id(token) if token is not None else None)

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> PieceTokenizer:
        from tokenizers import Tokenizer

        directory = Path(directory)
        config_path = directory / TOKENIZER_CONFIG_FILE
        config = json.loads(config_path.read_text("utf-8")) if config_path.is_file() else {}
        return cls(Tokenizer.from_file(str(directory / TOKENIZER_FILE)), config)

    @property
    def all_special_ids(self) -> list[int]:
        ids = (getattr(self, key + "_id") for key in SPECIAL_TOKENS)
        return sorted({i for i in ids if i is not None})

    def __len__(self) -> int:
        return self.backend_tokenizer.get_vocab_size(with_added_tokens=True)

    def __call__(
        self, text: str | Sequence[str], add_special_tokens: bool = True, verbose: bool = True
    ) -> dict[str, list]:
        """``{"input_ids": ids}``: one list for a string, a list of lists for a sequence."""
        if isinstance(text, str):
            ids = self.backend_tokenizer.encode(text, add_special_tokens=add_special_tokens).ids
            return {"input_ids": ids}
        encoded = self.backend_tokenizer.encode_batch(
            list(text), add_special_tokens=add_special_tokens
        )
        return {"input_ids": [row.ids for row in encoded]}

    def save_pretrained(self, directory: str | Path) -> None:
        directory = Path(directory)
        self.backend_tokenizer.save(str(directory / TOKENIZER_FILE))
        (directory / TOKENIZER_CONFIG_FILE).write_text(
            json.dumps(self.config, indent=2, ensure_ascii=False) + "\n", "utf-8"
        )


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


def pad_arrays(
    rows: Sequence[Sequence[int]], pad_id: int, pad_to: int | None = None, multiple_of: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad to the longest row, rounded up to ``multiple_of`` (or to ``pad_to``): input ids
    and attention mask, int64."""
    width = pad_to or -(-max(len(row) for row in rows) // multiple_of) * multiple_of
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = row
        attention_mask[i, : len(row)] = 1
    return input_ids, attention_mask


def pad_batch(
    rows: Sequence[Sequence[int]], pad_id: int, pad_to: int | None = None, multiple_of: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`pad_arrays` as torch tensors (torch is imported here only: scoring through ONNX
    Runtime pads with ``pad_arrays`` and never imports it)."""
    import torch

    input_ids, attention_mask = pad_arrays(rows, pad_id, pad_to, multiple_of)
    return torch.from_numpy(input_ids), torch.from_numpy(attention_mask)


def length_sorted_batches(
    lengths: Sequence[int], batch_size: int, max_tokens: int | None = None
) -> list[list[int]]:
    """Index batches with similar lengths together (less padding); callers restore the order.

    With ``max_tokens`` a batch also holds at most that many tokens once padded to its longest
    text, so long texts go in smaller batches (whose activations stay in the CPU's caches)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    if max_tokens is None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    batches: list[list[int]] = []
    start = 0
    while start < len(order):
        longest = max(lengths[order[start]], 1)  # the batch's first text is its longest
        size = max(1, min(batch_size, max_tokens // longest))
        batches.append(order[start : start + size])
        start += size
    return batches


# Batch widths are rounded up to a multiple of 8. Every distinct (batch, width) shape costs the
# CPU backend (oneDNN) a cached kernel with its own buffers: with exact widths the 1..64 token
# widths times the batch sizes seen kept adding cache entries, and a long batch run's memory
# grew (about 130 MB more at 200k rows than at 20k). Eight widths instead of 64 bound it, at the
# same speed (measured in BENCHMARKS.md).
PAD_MULTIPLE = 8

# At most this many padded tokens a call where the network runs in fp32 (ONNX Runtime, torch
# without native bf16): the fp32 activations of 64 long texts (64 x 256 tokens x 1536 FFN values,
# 100 MB) spill out of the CPU's caches. On the 2,000 test texts read at 256 tokens, with AVX-512
# hidden from the libraries (benchmarks/avx2_standin.sh, Zen 4), the encoder's calls took
# 29.6-30.6 s in ONNX Runtime and 32.7 s in torch fp32 in batches of 1,536 tokens, against
# 33.5-35.1 s and 36.9-37.3 s in batches of 64 texts. torch bf16, with activations half the
# size, gained nothing (19-22 s for every plan), so bf16 batches stay 64 texts (BENCHMARKS.md §9).
FP32_BATCH_TOKENS = 1536
