"""The fine-tuned transformer as a model directory, and its predictor.

The transformer alone: mixing in the TF-IDF baseline is ``mixture.py``'s job and choosing what a
directory holds is ``loading.py``'s.

Directory layout (what ``save_pretrained`` writes):
``config.json`` (the encoder's transformers config), ``model.safetensors`` (encoder and heads),
``tokenizer.json`` + ``tokenizer_config.json``, ``schema.json``, ``nabiz.json``, and, from
training, ``training_config.yaml``, ``metrics.json`` and the model card ``README.md``.
"""

from __future__ import annotations

import copy
import importlib.metadata
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from nabiz.model.bert import BertEncoder, EncoderConfig
from nabiz.model.network import MultiTaskModel
from nabiz.model.precision_plan import PrecisionPlan
from nabiz.model.predictor import (
    ModelInfo,
    Predictor,
    ScoredBatch,
    batched_scores,
    encode_for_model,
    probabilities,
)
from nabiz.model.quantize import quantize_model
from nabiz.model.runtime import resolve_precision
from nabiz.model.schema import LabelSchema
from nabiz.model.tokenize import FP32_BATCH_TOKENS, PieceTokenizer

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
    _readable_as_the_others(directory / WEIGHTS_FILE)
    tokenizer.save_pretrained(directory)
    schema.save(directory)
    info.library_versions = library_versions()
    info.save(directory)
    return directory


def _readable_as_the_others(path: Path) -> None:
    """safetensors writes its file with mode 0600 (a temporary file renamed): a service account,
    another team or a Ray worker that is not its owner could not load the model. Give it the mode
    every other file gets (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)


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
        quantization: PrecisionPlan | None = None,
    ) -> None:
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.precision = resolve_precision(precision, self.device.type, quantization)
        self.bf16 = self.precision == "bf16"
        self.model = model.to(self.device).eval()
        if self.precision == "int8":  # the fp32 model stays the caller's, for rechecks
            self.model = quantize_model(self.model, quantization.weight_bits)
        if self.bf16:
            store_linear_weights_in_bf16(self.model)
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
            quantization=PrecisionPlan.load(directory),
        )

    def in_precision(
        self, precision: str, plan: PrecisionPlan | None = None
    ) -> TransformerPredictor:
        """This fp32 predictor's network in ``int8`` (as ``plan`` says) or ``bf16``, sharing
        every tensor the precision does not replace; this one stays fp32 (``loading`` keeps it
        for the rechecks of near ties)."""
        if self.precision != "fp32":
            raise ValueError(f"only an fp32 predictor is converted, not a {self.precision} one")
        model = self.model if precision == "int8" else copy_with_own_linears(self.model)
        return TransformerPredictor(
            model,
            self.tokenizer,
            self.schema,
            self.info,
            device=self.device,
            batch_size=self.batch_size,
            path=self.path,
            precision=precision,
            quantization=plan if precision == "int8" else None,
        )

    @property
    def engine(self) -> str:
        return f"torch {self.precision} on {self.device}"

    def encode(self, texts: Sequence[str]):
        return encode_for_model(self.tokenizer, self.info, texts)

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


def copy_with_own_linears(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` whose Linear layers have parameters of their own (for
    :func:`store_linear_weights_in_bf16`, which casts them in place) and that shares every
    other tensor (embeddings, LayerNorms) with ``model``."""
    own = {id(p) for m in model.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters()}
    tensors = [*model.parameters(), *model.buffers()]
    return copy.deepcopy(model, memo={id(t): t for t in tensors if id(t) not in own})


def store_linear_weights_in_bf16(model: torch.nn.Module) -> None:
    """Cast every Linear layer's weight and bias to bf16, in place (the predictor owns its model).

    Under bf16 autocast a Linear layer computes in bf16 anyway, but autocast casts an fp32
    weight again on every call (its cast cache lives for one autocast region): for one text that
    cast was half the work, 17.4 of the encoder's ms on a 2-core AMX Xeon against 9.5 with the
    weights stored in bf16, with bit-identical scores (BENCHMARKS.md §9). LayerNorm, embeddings
    and the attention's softmax keep the precision autocast gives them."""
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.to(torch.bfloat16)


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
    """Label scores per task for encoded texts, in input order (``batched_scores`` with the
    torch network; bf16 autocast when asked).

    The model must be in eval mode; this does not set it, because ``model.eval()`` walks every
    module (~0.35 ms), a cost no one-text request should pay."""

    def logits_of(input_ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(
                torch.from_numpy(input_ids).to(device), torch.from_numpy(mask).to(device)
            )
        return {name: value.float().cpu().numpy() for name, value in logits.items()}

    max_tokens = FP32_BATCH_TOKENS if device.type == "cpu" and not bf16 else None  # CPU caches
    return batched_scores(ids, schema, pad_id, batch_size, logits_of, max_tokens=max_tokens)


def task_probabilities(
    logits: dict[str, torch.Tensor], schema: LabelSchema
) -> dict[str, np.ndarray]:
    """Logits to scores per task (:func:`nabiz.model.predictor.probabilities`)."""
    return {
        task.name: probabilities(task, logits[task.name].float().cpu().numpy())
        for task in schema.tasks
    }
