"""The fine-tuned transformer as a model directory, and its predictor.

The transformer alone: mixing in the TF-IDF baseline is ``mixture.py``'s job and choosing what a
directory holds is ``loading.py``'s.

Directory layout (what ``save_pretrained`` writes):
``config.json`` (the encoder's transformers config), ``model.safetensors`` (encoder and heads),
``tokenizer.json`` + ``tokenizer_config.json``, ``schema.json``, ``nabiz.json``, and, from
training, ``training_config.yaml``, ``metrics.json`` and the model card ``README.md``.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from nabiz.model.bert import BertEncoder, EncoderConfig
from nabiz.model.network import MultiTaskModel
from nabiz.model.predictor import ModelInfo, Predictor, ScoredBatch
from nabiz.model.quantize import QUANTIZATION_FILE, QuantizationPlan
from nabiz.model.schema import LabelSchema
from nabiz.model.tokenize import (
    PieceTokenizer,
    encode_texts,
    length_sorted_batches,
    pad_batch,
)

WEIGHTS_FILE = "model.safetensors"


def library_versions() -> dict[str, str]:
    names = ["nabiz", "torch", "transformers", "tokenizers", "scikit-learn"]
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# oneDNN ISA caps (``ONEDNN_MAX_CPU_ISA``) below which its kernels have no bf16 instructions.
ONEDNN_ISAS_WITHOUT_BF16 = {
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX512_CORE",
    "AVX512_CORE_VNNI",
}


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX), where bf16 is faster.

    A ``ONEDNN_MAX_CPU_ISA`` cap below AVX512_CORE_BF16 counts as no: oneDNN runs the bf16
    matrix products then, and it would emulate them (slower than fp32). It is also how a bf16
    machine stands in for an AVX2-only one (BENCHMARKS.md §9), and ``auto`` must choose there
    as it would on that CPU."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if cap in ONEDNN_ISAS_WITHOUT_BF16:
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = next((line for line in fh if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split()))


PRECISIONS = ("auto", "fp32", "bf16", "int8")


def resolve_precision(
    precision: str, device: torch.device, plan: QuantizationPlan | None = None
) -> str:
    """What ``precision`` means on ``device`` for a model with (or without) an int8 plan.

    ``auto``: bf16 on a GPU and on CPUs with native bf16; int8 on other CPUs when the model
    directory holds a quantization plan that kept ≥ 99.5 % of labels (``nabiz quantize``);
    fp32 elsewhere. ``int8`` by hand needs a plan (accepted or not) and a CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        if device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16()):
            return "bf16"
        if device.type == "cpu" and plan is not None and plan.accepted:
            return "int8"
        return "fp32"
    if precision == "int8":
        if device.type != "cpu":
            raise ValueError("int8 runs on the CPU only; use bf16 or fp32 on a GPU")
        if plan is None:
            raise ValueError(
                f"the model has no {QUANTIZATION_FILE}: run `nabiz quantize --model DIR` first"
            )
    return precision


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether ``precision`` runs the encoder under bf16 autocast on ``device``."""
    return resolve_precision(precision, device) == "bf16"


def load_pretrained_encoder(name_or_path: str) -> torch.nn.Module:
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(name_or_path, add_pooling_layer=False)
    except TypeError:
        return AutoModel.from_pretrained(name_or_path)


def save_pretrained(
    directory: str | Path,
    model: MultiTaskModel,
    tokenizer,
    schema: LabelSchema,
    info: ModelInfo,
) -> Path:
    """Write the weights, encoder config, tokenizer, schema and model info into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.encoder.config.save_pretrained(directory)
    state = {
        name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()
    }
    save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
    tokenizer.save_pretrained(directory)
    schema.save(directory)
    info.library_versions = library_versions()
    info.save(directory)
    return directory


def load_model(
    directory: str | Path,
) -> tuple[MultiTaskModel, PieceTokenizer, LabelSchema, ModelInfo]:
    """Rebuild the network from a model directory (no hub, no pickles, no transformers).

    The encoder is this package's own BERT (``bert.py``) and the tokenizer reads
    ``tokenizer.json`` with the ``tokenizers`` library: importing transformers cost more than the
    rest of a start. The modules are built on the meta device and take the loaded tensors as
    their parameters (``assign``): no random initialization and no copy of 30M weights, which
    ``strict`` loading replaces entirely anyway."""
    directory = Path(directory)
    info = ModelInfo.load(directory)
    schema = LabelSchema.load(directory)
    config = EncoderConfig.from_directory(directory)
    with torch.device("meta"):
        model = MultiTaskModel(BertEncoder(config), schema)
    state = load_file(str(directory / WEIGHTS_FILE))
    model.load_state_dict(state, strict=True, assign=True)
    model.eval()
    return model, PieceTokenizer.from_pretrained(directory), schema, info


class TransformerPredictor(Predictor):
    """Runs the multi-task network over length-sorted, dynamically padded batches."""

    def __init__(
        self,
        model: MultiTaskModel,
        tokenizer,
        schema: LabelSchema,
        info: ModelInfo,
        device: str | torch.device = "auto",
        batch_size: int = 64,
        path: Path | None = None,
        precision: str = "fp32",
        quantization: QuantizationPlan | None = None,
    ) -> None:
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.precision = resolve_precision(precision, self.device, quantization)
        self.bf16 = self.precision == "bf16"
        self.model = model.to(self.device).eval()
        if self.precision == "int8":
            self.model = quantization.apply(self.model).eval()
        self.tokenizer = tokenizer
        self.schema = schema
        self.info = info
        self.batch_size = batch_size
        self.path = path

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        device: str = "auto",
        precision: str = "fp32",
    ) -> TransformerPredictor:
        """The transformer of ``directory`` alone (``loading.from_pretrained`` adds the mixture)."""
        model, tokenizer, schema, info = load_model(directory)
        return cls(
            model,
            tokenizer,
            schema,
            info,
            device=device,
            path=Path(directory),
            precision=precision,
            quantization=QuantizationPlan.load(directory),
        )

    def encode(self, texts: Sequence[str]):
        from nabiz.text import normalize_text

        return encode_texts(
            self.tokenizer,
            [normalize_text(text) for text in texts],
            max_length=self.info.max_length or 512,
            prefix=self.info.text_prefix,
            head_fraction=self.info.head_fraction,
        )

    def compute_scores(self, texts: Sequence[str]) -> ScoredBatch:
        encoded = self.encode(texts)
        scores = score_token_ids(
            self.model,
            encoded.ids,
            self.schema,
            self.tokenizer.pad_token_id,
            self.batch_size,
            self.device,
            self.bf16,
        )
        return ScoredBatch(scores=scores, truncated=np.asarray(encoded.truncated, dtype=bool))


# Batch widths are rounded up to a multiple of 8. Every distinct (batch, width) shape costs the
# CPU backend (oneDNN) a cached kernel with its own buffers: with exact widths the 1..64 token
# widths times the batch sizes seen kept adding cache entries, and a long batch run's memory
# grew (about 130 MB more at 200k rows than at 20k). Eight widths instead of 64 bound it, at the
# same speed (measured in BENCHMARKS.md).
PAD_MULTIPLE = 8


@torch.inference_mode()
def score_token_ids(
    model: MultiTaskModel,
    ids: Sequence[Sequence[int]],
    schema: LabelSchema,
    pad_id: int,
    batch_size: int,
    device: torch.device,
    bf16: bool,
) -> dict[str, np.ndarray]:
    """Label scores per task for encoded texts, in input order (length-sorted batches inside).

    The model must be in eval mode; this does not set it, because ``model.eval()`` walks every
    module (~0.35 ms), a cost no one-text request should pay."""
    scores = {t.name: np.zeros((len(ids), t.num_labels), dtype=np.float32) for t in schema.tasks}
    for batch in length_sorted_batches([len(row) for row in ids], batch_size):
        input_ids, mask = pad_batch([ids[i] for i in batch], pad_id, multiple_of=PAD_MULTIPLE)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(input_ids.to(device), mask.to(device))
        for name, probs in task_probabilities(logits, schema).items():
            scores[name][batch] = probs
    return scores


def task_probabilities(
    logits: dict[str, torch.Tensor], schema: LabelSchema
) -> dict[str, np.ndarray]:
    """Logits to scores per task: softmax over the labels, or a sigmoid per label (multi-label)."""
    result = {}
    for task in schema.tasks:
        values = logits[task.name].float()
        probs = values.sigmoid() if task.is_multi_label else values.softmax(dim=-1)
        result[task.name] = probs.cpu().numpy()
    return result
