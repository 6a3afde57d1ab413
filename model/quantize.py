"""int8 inference for CPUs without native bf16: every encoder Linear as an int8 product with one
activation scale per token, and the margins below which a text is scored again in fp32.

Why this form (BENCHMARKS.md §9). Dynamic int8 with one activation scale per *tensor* (fbgemm's,
the product's first int8) moved 14–23 % of labels: the encoder's LayerNorm outputs carry a few
channels 10–40× larger than the rest, and one scale sized for them leaves the others a few
levels; keeping the worst layers in fp32 until 99.5 % of labels held left almost nothing in int8.
One scale per token (LLM.int8's and SmoothQuant's W8A8 per-token) fixes the cause: with all 72
layers in int8, 98.6–99.8 % of the labels held. What still moved were near ties, mostly texts
that have no topic, whose topic scores are nearly equal, so that any perturbation reorders
them. Those are recognisable from int8's own scores, so ``nabiz quantize`` measures per task the
margin below which int8's answer cannot be trusted (``margins.choose_margins``), and the served
predictor scores those texts again in fp32 (``recheck.py``, with ``loading.py``).

Weights are int8 per output channel in 7 bits (``precision_plan.INT8_WEIGHT_BITS``), not 8.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from nabiz.model.precision_plan import INT8_WEIGHT_BITS

INT_MM_MIN_ROWS = 17  # torch._int_mm on the CPU wants more than 16 rows


def encoder_linears(model: nn.Module) -> list[str]:
    """Names of the encoder's Linear layers, in forward order (the task heads are left out:
    they are tiny and their outputs are the labels)."""
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name.startswith("encoder.")
    ]


class PerTokenInt8Linear(nn.Module):
    """``linear(x)`` as int8 weights (one scale per output channel) × int8 activations (one
    scale per token, computed at run time), summed in int32 by ``torch._int_mm`` (oneDNN)."""

    def __init__(self, linear: nn.Linear, weight_bits: int = INT8_WEIGHT_BITS) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        levels = 2 ** (weight_bits - 1) - 1
        scale = weight.abs().amax(dim=1).clamp(min=1e-8) / levels
        quantized = torch.round(weight / scale[:, None]).to(torch.int8)
        self.register_buffer("weight_t", quantized.t().contiguous())  # in × out, as _int_mm wants
        self.register_buffer("weight_scale", scale)
        self.bias = linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1]).float()
        scale = rows.abs().amax(dim=1, keepdim=True).clamp(min=1e-8) / 127
        quantized = torch.round(rows / scale).to(torch.int8)
        count = quantized.shape[0]
        if count < INT_MM_MIN_ROWS:
            padding = quantized.new_zeros(INT_MM_MIN_ROWS - count, quantized.shape[1])
            quantized = torch.cat([quantized, padding])
        # In place: the product's float copy is the only new tensor this big. Out of place, the
        # rescaling took 7.7 of 16 ms for the FFN's 384→1536 over 4,096 tokens; in place 2.5.
        out = torch._int_mm(quantized, self.weight_t)[:count].float()
        out.mul_(scale).mul_(self.weight_scale)
        if self.bias is not None:
            out.add_(self.bias)
        return out.reshape(*x.shape[:-1], -1)


def quantize_model(model: nn.Module, weight_bits: int = INT8_WEIGHT_BITS) -> nn.Module:
    """A copy of ``model`` with every encoder Linear in per-token int8.

    Everything else (embeddings, LayerNorms, biases, heads) is the same tensors as ``model``'s,
    not copies: the served predictor keeps the fp32 model for its rechecks, and the embeddings
    alone are most of the model's memory."""
    shared = {id(tensor): tensor for tensor in [*model.parameters(), *model.buffers()]}
    quantized = copy.deepcopy(model, memo=shared)
    for name in encoder_linears(quantized):
        parent, _, child = name.rpartition(".")
        linear = quantized.get_submodule(name)
        setattr(quantized.get_submodule(parent), child, PerTokenInt8Linear(linear, weight_bits))
    return quantized.eval()
