"""``nabiz quantize``: measure an int8 plan for a model directory on real texts and write it there.

The plan (``quantization.json``, see ``nabiz.model.quantize``) is measured against the labels the
product serves: the fp32 transformer mixed with its baseline when the model has one, on the
validation split of the model's own prepared data (or on the texts of a file). The baseline's
scores do not change with the encoder's precision, so they are computed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nabiz.model.loading import from_pretrained
from nabiz.model.manifest import write_manifest
from nabiz.model.mixture import MixturePredictor
from nabiz.model.quantize import plan_quantization
from nabiz.model.quantize_plan import QuantizationPlan
from nabiz.model.transformer import TransformerPredictor, score_token_ids


def calibration_texts(model_dir: Path, limit: int) -> list[str]:
    """The first ``limit`` texts of the validation split the model was trained beside."""
    from nabiz.training.data import load_prepared
    from nabiz.training.modeleval import load_model_config

    texts = load_prepared(load_model_config(model_dir))["validation"]["text"]
    return list(texts[:limit])


def quantize_directory(
    model_dir: str | Path, texts: Sequence[str], target: float | None = None
) -> QuantizationPlan:
    """Measure the plan on ``texts`` and save it into ``model_dir``; returns it."""
    if not texts:
        raise ValueError("quantizing needs texts to measure on; none were given")
    model_dir = Path(model_dir)
    product = from_pretrained(model_dir, device="cpu", precision="fp32")
    transformer, baseline = product, None
    if isinstance(product, MixturePredictor):
        transformer, baseline = product.first, product.second.predict_scores(texts).scores
    if not isinstance(transformer, TransformerPredictor):
        raise ValueError(f"{model_dir} holds no transformer; only a transformer is quantized")
    ids = transformer.encode(texts).ids
    pad_id = transformer.tokenizer.pad_token_id

    def score(model) -> dict[str, np.ndarray]:
        scores = score_token_ids(
            model,
            ids,
            transformer.schema,
            pad_id,
            transformer.batch_size,
            transformer.device,
            False,
        )
        return product.combine(scores, baseline) if baseline is not None else scores

    kwargs = {} if target is None else {"target": target}
    plan = plan_quantization(transformer.model, score, **kwargs)
    plan.save(model_dir)
    write_manifest(model_dir)  # quantization.json is part of the model now
    return plan
