"""``network.onnx``: the torch network exported for ONNX Runtime, fused, and checked before it is
written into the model directory.

The export is the whole network, token ids and mask in, every task head's logits out, so that ONNX
Runtime answers what the product needs in one call. Attention is written out (scores, additive
mask, softmax, weighted sum) instead of ``scaled_dot_product_attention``: that is the pattern
``onnxruntime.transformers``' BERT fusion turns into its ``Attention`` operator, which made a lone
text 1.82× faster than torch fp32 on an AVX2 CPU, against 1.58× for the unfused graph
(BENCHMARKS.md §9). The TorchScript exporter writes that pattern; the dynamo exporter's graph did
not fuse. Before the file is kept, ONNX Runtime and torch fp32 score the same texts; a file whose
scores differ by more than :data:`MAX_SCORE_DIFFERENCE` is not written.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nabiz.model.manifest import write_manifest
from nabiz.model.margins import label_agreement
from nabiz.model.network import MultiTaskModel, mean_pool
from nabiz.model.onnx_predictor import (
    INPUT_NAMES,
    OnnxTransformerPredictor,
    open_session,
    output_name,
)
from nabiz.model.runtime import ONNX_FILE
from nabiz.model.transformer import TransformerPredictor

MAX_SCORE_DIFFERENCE = 1e-3  # largest |ONNX − torch| of any score a kept file may show
OPSET = 17


class ExportError(RuntimeError):
    """The network could not be exported, or the export does not score as torch does."""


class ExportedNetwork(torch.nn.Module):
    """The product's network as a graph can hold it: the mask always applied (``BertEncoder``
    drops it when nothing is padded, a branch on the data) and attention written out."""

    def __init__(self, network: MultiTaskModel) -> None:
        super().__init__()
        self.network = network
        # in eval mode itself too: the exporter puts the wrapper back in the mode it found it
        # in, and train mode would reach the network's dropout (seen: scores moved by 0.09)
        self.eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple:
        encoder = self.network.encoder
        hidden = encoder.embeddings(input_ids)
        keep = attention_mask[:, None, None, :].to(hidden.dtype)
        mask = (1.0 - keep) * torch.finfo(hidden.dtype).min
        for layer in encoder.encoder.layer:
            attended = layer.attention.output(written_out_attention(layer, hidden, mask), hidden)
            hidden = layer.output(layer.intermediate(attended), attended)
        pooled = mean_pool(hidden, attention_mask)
        return tuple(head(pooled) for head in self.network.heads.values())


def written_out_attention(
    layer: torch.nn.Module, hidden: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """``SelfAttention.forward`` without SDPA: softmax(q·kᵀ/√d + mask)·v, heads concatenated."""
    attention = layer.attention.self
    batch, width, size = hidden.shape
    shape = (batch, width, attention.heads, size // attention.heads)
    query = attention.query(hidden).view(shape).transpose(1, 2)
    key = attention.key(hidden).view(shape).transpose(1, 2)
    value = attention.value(hidden).view(shape).transpose(1, 2)
    scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(size // attention.heads)
    weights = torch.softmax(scores + mask, dim=-1)
    return torch.matmul(weights, value).transpose(1, 2).reshape(batch, width, size)


def export_graph(network: MultiTaskModel, path: Path) -> None:
    """Write the unfused graph with dynamic batch and width (TorchScript exporter, opset 17)."""
    outputs = [output_name(name) for name in network.heads]
    example = (torch.full((2, 16), 5, dtype=torch.long), torch.ones((2, 16), dtype=torch.long))
    axes = {0: "batch", 1: "width"}
    with warnings.catch_warnings():  # its deprecation notice, and the tracer's on math.sqrt
        warnings.simplefilter("ignore")
        torch.onnx.export(
            ExportedNetwork(network),
            example,
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=outputs,
            dynamic_axes={**{n: axes for n in INPUT_NAMES}, **{n: {0: "batch"} for n in outputs}},
            opset_version=OPSET,
            dynamo=False,
        )


def fuse_bert(source: Path, target: Path, heads: int, hidden: int) -> dict[str, int]:
    """``onnxruntime.transformers``' BERT fusion (attention, LayerNorm, GELU, bias adds);
    returns the fused operators it made, by kind."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(source), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
    )
    optimized.save_model_to_file(str(target))
    return {
        kind: count for kind, count in optimized.get_fused_operator_statistics().items() if count
    }


@dataclass
class ExportReport:
    path: Path
    seconds: float
    megabytes: float
    fused: dict[str, int]
    texts: int
    max_difference: float  # largest |ONNX − torch| over every score of every text
    labels_equal: dict[str, float]  # per task, the share of texts with the same top label


def export_directory(directory: str | Path, texts: Sequence[str]) -> ExportReport:
    """Export ``directory``'s transformer to ``network.onnx`` inside it, after checking on
    ``texts`` that ONNX Runtime gives torch fp32's scores; the manifest then lists the file."""
    if not texts:
        raise ExportError("checking the export needs texts; none were given")
    directory = Path(directory)
    started = time.perf_counter()
    torch_model = TransformerPredictor.from_pretrained(directory, device="cpu", precision="fp32")
    config = torch_model.model.encoder.config
    with tempfile.TemporaryDirectory(prefix="nabiz-onnx-") as work:
        raw, fused_path = Path(work) / "raw.onnx", Path(work) / ONNX_FILE
        try:
            export_graph(torch_model.model, raw)
            fused = fuse_bert(raw, fused_path, config.num_attention_heads, config.hidden_size)
        except Exception as error:  # the exporters raise many kinds; the message is what helps
            raise ExportError(f"exporting {directory} failed: {error}") from error
        onnx_model = OnnxTransformerPredictor(
            open_session(fused_path), torch_model.tokenizer, torch_model.schema, torch_model.info
        )
        reference = torch_model.compute_scores(texts).scores
        exported = onnx_model.compute_scores(texts).scores
        difference = max(float(np.abs(reference[k] - exported[k]).max()) for k in reference)
        if difference > MAX_SCORE_DIFFERENCE:
            raise ExportError(
                f"the exported network's scores differ from torch's by up to {difference:.2g} "
                f"(allowed {MAX_SCORE_DIFFERENCE:g}) on {len(texts)} texts; not written"
            )
        target = directory / ONNX_FILE
        shutil.move(fused_path, target)
    write_manifest(directory)  # network.onnx is part of the model now
    return ExportReport(
        path=target,
        seconds=time.perf_counter() - started,
        megabytes=target.stat().st_size / 1e6,
        fused=fused,
        texts=len(texts),
        max_difference=difference,
        labels_equal=label_agreement(reference, exported),
    )
