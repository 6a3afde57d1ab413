"""int8 with one activation scale per token instead of one per tensor: labels and speed.

Every encoder Linear of a trained model is replaced by an int8 product through
``torch._int_mm`` (oneDNN's s8×s8→s32 GEMM): weights int8 per output channel (±127, or ±63 with
``--weight-bits 7``), activations int8 with one scale per token, computed at run time. The
product's int8 (``nabiz quantize``, fbgemm's dynamic int8) gives each activation tensor one scale,
which the encoder's outlier channels spoil (BENCHMARKS.md §9); a scale per token is the usual fix
(LLM.int8, SmoothQuant's W8A8 per-token). Prints the share of the served labels (transformer mixed
with the baseline, as the product serves) equal to fp32's, per task and, on the test split, per
source; then the encoder's time in fp32 and in this int8, alternated.

On AVX2 without VNNI oneDNN computes s8×s8 with 16-bit pair sums that saturate for large
weights: ``--weight-bits 7`` keeps them exact there (checked with random matrices).

    python benchmarks/int8_per_token.py --model models/nabiz-cpu [--texts 1000 | --texts 0]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_revision, machine_description


class PerTokenInt8Linear(nn.Module):
    """``linear(x)`` as int8 weights (per output channel) × int8 activations (per token)."""

    def __init__(self, linear: nn.Linear, weight_max: int) -> None:
        super().__init__()
        weight = linear.weight.detach()
        scale = weight.abs().amax(dim=1).clamp(min=1e-8) / weight_max
        quantized = torch.round(weight / scale[:, None]).to(torch.int8)
        self.register_buffer("weight_t", quantized.t().contiguous())  # K × N for _int_mm
        self.register_buffer("weight_scale", scale.float())
        self.bias = linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1])
        scale = rows.abs().amax(dim=1, keepdim=True).clamp(min=1e-8) / 127
        quantized = torch.round(rows / scale).to(torch.int8)
        count = quantized.shape[0]
        if count <= 16:  # _int_mm wants more than 16 rows
            quantized = torch.cat([quantized, quantized.new_zeros(17 - count, rows.shape[1])])
        out = torch._int_mm(quantized, self.weight_t)[:count].float() * (scale * self.weight_scale)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], -1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--texts", type=int, default=1000, help="validation texts; 0: test split")
    parser.add_argument("--weight-bits", type=int, choices=[7, 8], default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternated timing rounds")
    args = parser.parse_args()
    from nabiz.model.loading import from_pretrained
    from nabiz.model.quantize import encoder_linears, label_agreement
    from nabiz.model.transformer import score_token_ids
    from nabiz.training.data import load_prepared
    from nabiz.training.modeleval import load_model_config

    print(machine_description())
    print(
        f"commit {git_revision()}; model {args.model}; weights ±{2 ** (args.weight_bits - 1) - 1}"
    )
    data = load_prepared(load_model_config(args.model))
    if args.texts:
        split = data["validation"].select(range(min(args.texts, len(data["validation"]))))
    else:
        split = data["test"]
    texts, sources = list(split["text"]), np.array(split["source"])
    product = from_pretrained(args.model, device="cpu", precision="fp32")
    transformer, baseline = product.first, product.second.predict_scores(texts).scores
    ids, pad = transformer.encode(texts).ids, transformer.tokenizer.pad_token_id

    def encoder_scores(model: nn.Module) -> dict[str, np.ndarray]:
        args_ = (transformer.schema, pad, transformer.batch_size, transformer.device, False)
        return score_token_ids(model, ids, *args_)

    int8 = copy.deepcopy(transformer.model)
    for name in encoder_linears(int8):
        parent, _, child = name.rpartition(".")
        layer = PerTokenInt8Linear(int8.get_submodule(name), 2 ** (args.weight_bits - 1) - 1)
        setattr(int8.get_submodule(parent), child, layer)
    with torch.inference_mode():
        reference = product.combine(encoder_scores(transformer.model), baseline)
        served = product.combine(encoder_scores(int8), baseline)
    shares = label_agreement(reference, served)
    kept = ", ".join(f"{task} {share:.2%}" for task, share in shares.items())
    print(f"{len(texts)} texts, labels equal to fp32: {kept}")
    if not args.texts:
        for task, ref in reference.items():
            same = ref.argmax(axis=1) == served[task].argmax(axis=1)
            per_source = (
                f"{src} {same[sources == src].mean():.2%}" for src in sorted(set(sources))
            )
            print(f"  {task}: {', '.join(per_source)}")
    times: dict[str, list[float]] = {"fp32": [], "int8": []}
    with torch.inference_mode():
        for _ in range(args.rounds):
            for name, model in (("fp32", transformer.model), ("int8", int8)):
                started = time.perf_counter()
                encoder_scores(model)
                times[name].append(time.perf_counter() - started)
    fp32, fast = float(np.median(times["fp32"])), float(np.median(times["int8"]))
    print(
        f"encoder, {len(texts)} texts, median of {args.rounds} alternated rounds: "
        f"fp32 {fp32:.2f} s, int8 {fast:.2f} s: {fp32 / fast:.2f}x"
    )


if __name__ == "__main__":
    main()
