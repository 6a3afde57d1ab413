"""Loading: the one entry point that turns a model directory into a predictor.

``from_pretrained(directory)`` reads ``nabiz.json`` to learn which kind of model the directory
holds and returns what the product serves: the TF-IDF baseline alone, the fine-tuned transformer
alone, or the transformer mixed with the baseline it was trained beside (its ``baseline/``
subdirectory, with the per-task shares ``nabiz.json`` records). Callers never need to know how a
model was trained. This is the top of the model's import order: it knows every implementation,
and nothing in ``nabiz.model`` imports it.
"""

from __future__ import annotations

from pathlib import Path

from nabiz.model.baseline import BaselinePredictor
from nabiz.model.mixture import MixturePredictor
from nabiz.model.predictor import ModelInfo, Predictor
from nabiz.model.transformer import TransformerPredictor

BASELINE_DIR = "baseline"  # the TF-IDF baseline trained on the same split, itself a model dir


def from_pretrained(
    directory: str | Path,
    device: str = "auto",
    ensemble: bool = True,
    precision: str = "fp32",
) -> Predictor:
    """Load whichever kind of model ``directory`` holds.

    ``ensemble=False`` scores with the transformer alone, leaving out the baseline mixture.
    ``precision``: ``fp32``, ``bf16`` (autocast), or ``auto`` (bf16 on a GPU and on CPUs
    with native bf16); the baseline ignores it.
    """
    directory = Path(directory)
    info = ModelInfo.load(directory)
    if info.model_type == "tfidf":
        return BaselinePredictor.from_pretrained(directory)
    transformer = TransformerPredictor.from_pretrained(
        directory, device=device, precision=precision
    )
    if not ensemble or not any(info.baseline_weights.values()):
        return transformer
    baseline = BaselinePredictor.from_pretrained(directory / BASELINE_DIR)
    return MixturePredictor(transformer, baseline, info.baseline_weights)


def load_predictor(directory: str | Path, settings) -> Predictor:
    """The model as the product serves it: the settings' device, threads and precision."""
    if settings.num_threads:
        import torch

        torch.set_num_threads(settings.num_threads)
    return from_pretrained(directory, device=settings.device, precision=settings.precision)
