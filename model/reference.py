"""The plain way to score, as a first version would: the reference for the fast path.

fp32, every text padded to ``max_length``, batches in arrival order. The fast path (length-sorted
batches, dynamic padding, bf16) is measured (benchmarks/) and tested against it; nothing in
serving uses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from nabiz.model.mixture import MixturePredictor
from nabiz.model.network import MultiTaskModel
from nabiz.model.predictor import Predictor
from nabiz.model.recheck import RecheckingPredictor
from nabiz.model.tokenize import pad_batch
from nabiz.model.transformer import TransformerPredictor, load_model, task_probabilities


def transformer_of(predictor: Predictor) -> TransformerPredictor:
    """The fine-tuned transformer inside a loaded predictor (itself, a mixture's first part, or
    the fp32 one that rescores a reduced precision's near ties)."""
    if isinstance(predictor, RecheckingPredictor):
        return transformer_of(predictor.exact)
    if isinstance(predictor, MixturePredictor):
        return transformer_of(predictor.first)
    if isinstance(predictor, TransformerPredictor):
        return predictor
    raise TypeError(f"{type(predictor).__name__} holds no transformer")


@lru_cache(maxsize=2)
def _network_from(directory: Path, device: str) -> MultiTaskModel:
    return load_model(directory)[0].to(device).eval()


def fp32_network(transformer: TransformerPredictor) -> MultiTaskModel:
    """The transformer's network with its fp32 weights: its own, or, for a bf16 predictor (which
    stores its Linear weights in bf16), the network loaded again from its directory."""
    if not transformer.bf16:
        return transformer.model
    if transformer.path is None:
        raise ValueError("a bf16 predictor built without a directory has no fp32 weights to run")
    return _network_from(Path(transformer.path), str(transformer.device))


@torch.no_grad()
def plain_scores(
    predictor: Predictor, texts: Sequence[str], batch_size: int
) -> dict[str, np.ndarray]:
    """What ``predictor.predict_scores(texts).scores`` gives, with the transformer run the plain
    way; a mixture's other part is scored as it always is."""
    if isinstance(predictor, MixturePredictor):
        first = plain_scores(predictor.first, texts, batch_size)
        second = predictor.second.predict_scores(texts).scores
        mixed = predictor.postprocess_scores(predictor.combine(first, second))
        return predictor.apply_cues(texts, mixed)[0]
    transformer = transformer_of(predictor)
    info, tokenizer, schema = transformer.info, transformer.tokenizer, transformer.schema
    ids = transformer.encode(texts).ids
    network = fp32_network(transformer)
    parts: dict[str, list[np.ndarray]] = {t.name: [] for t in schema.tasks}
    for start in range(0, len(ids), batch_size):
        rows = ids[start : start + batch_size]
        input_ids, mask = pad_batch(rows, tokenizer.pad_token_id, pad_to=info.max_length)
        logits = network(input_ids.to(transformer.device), mask.to(transformer.device))
        for name, probs in task_probabilities(logits, schema).items():
            parts[name].append(probs)
    scores = transformer.postprocess_scores(
        {name: np.concatenate(chunks) for name, chunks in parts.items()}
    )
    return transformer.apply_cues(texts, scores)[0]
