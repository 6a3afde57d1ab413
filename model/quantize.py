"""int8 inference for CPUs without native bf16: dynamic int8 with per-channel weights, the layers
that quantize badly kept in fp32.

On an AVX2-only CPU the fp32 encoder is the slow part of every request, and bf16 brings nothing
there (no native bf16 instructions). Dynamic int8 (weights int8 per output channel, activations
quantized per tensor at run time) runs the Linear layers 2–4× faster, but quantizing *every* layer
moved 14–23 % of labels: a few layers carry activation outliers that one scale per tensor cannot
represent. Which layers those are depends on the fine-tuned weights, so it is measured per model
(``plan_quantization``, run by ``nabiz quantize``) and written into the model directory as
``quantization.json``; loading with ``precision="int8"`` (or ``auto`` on such a CPU) applies it.
The plan is small JSON, not a second copy of the weights: quantizing at load takes a fraction of a
second and keeps the directory one set of weights.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from nabiz.model.quantize_plan import ACCEPTED_AGREEMENT, QuantizationPlan


def encoder_linears(model: nn.Module) -> list[str]:
    """Names of the encoder's Linear layers, in forward order (the task heads are left out:
    they are tiny and their outputs are the labels)."""
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name.startswith("encoder.")
    ]


class OutlierSplitLinear(nn.Module):
    """``linear(x)`` as an int8-friendly part over the ordinary input channels plus an fp32 part
    over the few outlier channels (LLM.int8's decomposition, Dettmers et al. 2022).

    The encoder's LayerNorm outputs carry a handful of channels 10–40× larger than the rest
    (channels 15, 35, 146 and 321 of multilingual-e5-small, in every layer), and one int8 scale
    per tensor sized for them leaves the other channels a few levels. Zeroing those channels in
    the int8 part and adding them back through a tiny fp32 matrix keeps the scale small."""

    def __init__(self, linear: nn.Linear, outliers: torch.Tensor) -> None:
        super().__init__()
        keep = torch.ones(linear.in_features, dtype=linear.weight.dtype)
        keep[outliers] = 0.0
        self.register_buffer("keep", keep)
        self.register_buffer("outliers", outliers.to(torch.long))
        self.main = nn.Linear(linear.in_features, linear.out_features, linear.bias is not None)
        self.side = nn.Linear(len(outliers), linear.out_features, bias=False)
        with torch.no_grad():
            self.main.weight.copy_(linear.weight * keep)
            if linear.bias is not None:
                self.main.bias.copy_(linear.bias)
            self.side.weight.copy_(linear.weight[:, self.outliers])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x * self.keep) + self.side(x.index_select(-1, self.outliers))


@torch.inference_mode()
def _run_hooked(model: nn.Module, run: Callable[[nn.Module], object], hooks: dict) -> None:
    """``run(model)`` with a forward hook on each named submodule, removed afterwards."""
    handles = [model.get_submodule(name).register_forward_hook(h) for name, h in hooks.items()]
    try:
        run(model)
    finally:
        for handle in handles:
            handle.remove()


def activation_ranges(
    model: nn.Module, run: Callable[[nn.Module], object], names: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Per Linear in ``names``, the largest |input| per input channel while ``run(model)`` runs
    (padding positions included: their hidden states are as large as real tokens')."""
    ranges: dict[str, torch.Tensor] = {}

    def hook(name: str):
        def record(_module, args, _output):
            x = args[0].detach().abs().reshape(-1, args[0].shape[-1]).amax(dim=0).float()
            ranges[name] = torch.maximum(ranges[name], x) if name in ranges else x

        return record

    _run_hooked(model, run, {name: hook(name) for name in names})
    return ranges


def outlier_channels(ranges: dict[str, torch.Tensor], ratio: float = 6.0, most: int = 16):
    """Per layer, the input channels whose largest |x| exceeds ``ratio`` × the median channel's
    (at most ``most`` of them, largest first)."""
    result = {}
    for name, amax in ranges.items():
        order = torch.argsort(amax, descending=True)[:most]
        result[name] = order[amax[order] > ratio * amax.median()].sort().values
    return result


def quantize_model(
    model: nn.Module,
    keep_fp32: Sequence[str] = (),
    per_channel: bool = True,
    outliers: dict[str, torch.Tensor] | None = None,
):
    """A copy of ``model`` with every encoder Linear not in ``keep_fp32`` in dynamic int8,
    split into an int8 and an fp32 part (``OutlierSplitLinear``) where ``outliers`` names
    channels for it."""
    from torch.ao.quantization import (
        default_dynamic_qconfig,
        per_channel_dynamic_qconfig,
        quantize_dynamic,
    )

    # torch.ao eager quantization is deprecated in favour of torchao (not a dependency here); it
    # still runs fbgemm's int8 kernels, and its warning is not news to every caller.
    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    keep = set(keep_fp32)
    unknown = keep - set(encoder_linears(model))
    if unknown:
        raise ValueError(f"not encoder Linear layers of this model: {sorted(unknown)}")
    model = copy.deepcopy(model)
    spec = {}
    for name in encoder_linears(model):
        if name in keep:
            continue
        if outliers and name in outliers and len(outliers[name]):
            parent, _, child = name.rpartition(".")
            linear = model.get_submodule(name)
            setattr(model.get_submodule(parent), child, OutlierSplitLinear(linear, outliers[name]))
            name = f"{name}.main"
        spec[name] = qconfig
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings(
            "ignore", message=r"torch\.quantize_per_tensor", category=UserWarning
        )
        return quantize_dynamic(model, qconfig_spec=spec, dtype=torch.qint8, inplace=True)


def apply_plan(plan: QuantizationPlan, model: nn.Module) -> nn.Module:
    """A copy of ``model`` quantized as ``plan`` says."""
    outliers = {name: torch.tensor(idx, dtype=torch.long) for name, idx in plan.outliers.items()}
    return quantize_model(model, plan.keep_fp32, outliers=outliers)


def label_agreement(reference: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> dict:
    """Per task, the share of texts whose top label is the same in both score sets."""
    return {
        name: float((ref.argmax(axis=1) == other[name].argmax(axis=1)).mean())
        for name, ref in reference.items()
    }


ScoreFn = Callable[[nn.Module], dict[str, np.ndarray]]


@torch.inference_mode()
def layer_errors(
    model: nn.Module, quantized: nn.Module, run: Callable[[nn.Module], object]
) -> dict[str, float]:
    """Per encoder Linear, the relative error of its quantized counterpart on the inputs the
    fp32 model gives it while ``run(model)`` runs: a one-pass measure of which layers quantize
    badly (the whole-model check comes after, in ``plan_quantization``)."""
    errors: dict[str, list[float]] = {}

    def hook(name: str):
        twin = quantized.get_submodule(name)

        def record(_module, args, output):
            diff = (twin(args[0]) - output).norm() / output.norm().clamp(min=1e-12)
            errors.setdefault(name, []).append(float(diff))

        return record

    _run_hooked(model, run, {name: hook(name) for name in encoder_linears(model)})
    return {name: float(np.mean(values)) for name, values in errors.items()}


def plan_quantization(
    model: nn.Module,
    score: ScoreFn,
    target: float = ACCEPTED_AGREEMENT,
    outlier_ratio: float = 6.0,
    max_outliers: int = 16,
) -> QuantizationPlan:
    """Quantize as much as keeps every task's labels equal to fp32's on ``target`` of the texts.

    ``score(model)`` runs a model over the calibration texts and returns the served scores per
    task. Steps: the largest |input| per channel of each layer gives its outlier channels; each
    layer's error when quantized alone orders the layers; then the most error-prone are returned
    to fp32 (1, 2, 4, … of them) until the whole model keeps ``target`` of the labels. A model that
    never reaches it gets the plan with the best agreement measured, recorded as not accepted."""
    names = encoder_linears(model)
    reference = score(model)
    ranges = activation_ranges(model, score, names)
    outliers = outlier_channels(ranges, outlier_ratio, max_outliers)
    errors = layer_errors(model, quantize_model(model, outliers=outliers), score)
    order = sorted(names, key=errors.__getitem__, reverse=True)
    texts = len(next(iter(reference.values())))
    best: QuantizationPlan | None = None
    count = 0
    while True:
        keep = order[:count]
        candidate = QuantizationPlan(
            keep_fp32=keep,
            outliers={n: idx.tolist() for n, idx in outliers.items() if n not in keep},
            texts=texts,
            layers=len(names),
        )
        candidate.agreement = label_agreement(reference, score(apply_plan(candidate, model)))
        if best is None or min(candidate.agreement.values()) > min(best.agreement.values()):
            best = candidate
        if min(candidate.agreement.values()) >= target or count == len(names):
            return candidate if min(candidate.agreement.values()) >= target else best
        count = min(len(names), max(1, 2 * count))
