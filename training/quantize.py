"""``nabiz quantize``: measure an int8 plan for a model directory on real texts and write it there.

The plan (``quantization.json``, see ``nabiz.model.quantize``) is measured against the labels the
product serves: the fp32 transformer mixed with its baseline when the model has one, on the
validation split of the model's own prepared data (or on the texts of a file). The baseline's
scores do not change with the encoder's precision, so they are computed once.

A plan that keeps the labels is then timed against fp32 where ``auto`` would otherwise run it
(ONNX Runtime when the directory has ``network.onnx``), on this CPU: it is accepted only if int8
is measured faster (``ACCEPTED_SPEEDUP``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nabiz.model.loading import from_pretrained
from nabiz.model.manifest import write_manifest
from nabiz.model.mixture import MixturePredictor
from nabiz.model.quantize import plan_quantization
from nabiz.model.quantize_plan import QuantizationPlan
from nabiz.model.runtime import describe_cpu, resolve_runtime
from nabiz.model.transformer import TransformerPredictor, score_token_ids

SPEED_TEXTS = 512  # texts timed per round: a few seconds each on a 2-core CPU
SPEED_ROUNDS = 3


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
    _save(plan, model_dir)
    if plan.keeps_labels:  # int8 by hand loads the saved plan, accepted or not
        plan.speedup, plan.compared_with = measure_speedup(model_dir, texts)
        plan.cpu = describe_cpu()
        _save(plan, model_dir)
    return plan


def _save(plan: QuantizationPlan, model_dir: Path) -> None:
    plan.save(model_dir)
    write_manifest(model_dir)  # quantization.json is part of the model now


def measure_speedup(
    model_dir: Path, texts: Sequence[str], rounds: int = SPEED_ROUNDS
) -> tuple[float, str]:
    """fp32's median time over int8's for the encoder alone (no baseline, no calibration: the
    same work in both) on up to ``SPEED_TEXTS`` texts, alternating, and the fp32 runtime timed."""
    texts = list(texts[:SPEED_TEXTS])
    runtime = resolve_runtime("auto", model_dir, "cpu", "fp32")
    common = {"device": "cpu", "ensemble": False, "calibrated": False}
    fp32 = from_pretrained(model_dir, precision="fp32", runtime=runtime, **common)
    int8 = from_pretrained(model_dir, precision="int8", runtime="torch", **common)
    fp32.predict_scores(texts[:32]), int8.predict_scores(texts[:32])  # warm-up
    times: dict[str, list[float]] = {"fp32": [], "int8": []}
    for _ in range(rounds):
        for name, predictor in (("fp32", fp32), ("int8", int8)):
            start = time.perf_counter()
            predictor.predict_scores(texts)
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["fp32"]) / statistics.median(times["int8"]), runtime
