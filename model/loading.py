"""Loading: the one entry point that turns a model directory into a predictor.

``from_pretrained(directory)`` reads ``nabiz.json`` to learn which kind of model the directory
holds and returns what the product serves: the TF-IDF baseline alone, the fine-tuned transformer
alone, or the transformer mixed with the baseline it was trained beside (its ``baseline/``
subdirectory, with the per-task shares ``nabiz.json`` records). Callers never need to know how a
model was trained. This is the top of the model's import order: it knows every implementation,
and nothing in ``nabiz.model`` imports it.

The transformer runs in torch or, from the directory's ``network.onnx``, in ONNX Runtime
(``runtime.resolve_runtime`` chooses). The torch implementation is imported only when chosen:
a process that scores through ONNX Runtime never imports torch.
"""

from __future__ import annotations

import logging
from pathlib import Path

from nabiz.model.baseline import BaselinePredictor
from nabiz.model.calibration import load_calibration
from nabiz.model.cues import UrgencyCues
from nabiz.model.manifest import verify_manifest
from nabiz.model.mixture import MixturePredictor, SchemaMismatch
from nabiz.model.precision_plan import PrecisionPlan
from nabiz.model.predictor import ModelInfo, Predictor
from nabiz.model.recheck import RecheckingPredictor
from nabiz.model.runtime import (
    describe_cpu,
    device_type,
    resolve_precision,
    resolve_runtime,
    slower_than_fp32,
)
from nabiz.model.schema import SCHEMA_FILE

log = logging.getLogger(__name__)

BASELINE_DIR = "baseline"  # the TF-IDF baseline trained on the same split, itself a model dir


def from_pretrained(
    directory: str | Path,
    device: str = "auto",
    ensemble: bool = True,
    precision: str = "fp32",
    calibrated: bool = True,
    runtime: str = "torch",
    num_threads: int = 0,
) -> Predictor:
    """Load whichever kind of model ``directory`` holds.

    ``ensemble=False`` scores with the transformer alone, leaving out the baseline mixture.
    ``precision``: ``fp32``, ``bf16`` (autocast), ``int8`` (the directory's quantization plan,
    CPU only) or ``auto`` (bf16 on a GPU and on CPUs where bf16 beats fp32, int8 on other CPUs
    when the directory's plan was accepted, fp32 elsewhere); the baseline ignores it. On the
    CPU, where the directory holds a plan for the precision chosen (``nabiz quantize``), texts
    whose answer it leaves near a tie are scored again in fp32 (``RecheckingPredictor``).
    ``calibrated=False`` gives the raw scores: no temperatures (``calibration.json``) and no
    urgency cues (``urgency_cues.json``). ``runtime``: ``torch``, ``onnx`` (the directory's
    ``network.onnx`` in ONNX Runtime, fp32 on the CPU) or ``auto`` (ONNX Runtime where torch
    would run fp32 on the CPU and the file and ONNX Runtime are there). ``num_threads`` (0: one
    per CPU) sets ONNX Runtime's threads; torch's are process-wide (``load_predictor`` sets them).

    Each way of scoring has its own temperatures (``nabiz``: the served mixture, fitted on the
    mixture of the two raw parts; ``transformer`` alone; ``baseline`` alone); the urgency cues
    belong to the served model only.
    """
    directory = Path(directory)
    verify_manifest(directory)  # ModelIntegrityError names a missing or changed file
    info = ModelInfo.load(directory)
    if info.model_type == "tfidf":
        baseline = BaselinePredictor.from_pretrained(directory)
        if calibrated:
            baseline.calibration = load_calibration(directory, "baseline")
        return baseline
    baseline = None
    if ensemble and any(info.baseline_weights.values()):
        baseline = BaselinePredictor.from_pretrained(directory / BASELINE_DIR)  # raw part
    if resolve_runtime(runtime, directory, device, precision) == "onnx":
        from nabiz.model.onnx_predictor import OnnxTransformerPredictor

        transformer = OnnxTransformerPredictor.from_pretrained(directory, threads=num_threads)
        return _served(directory, transformer, baseline, calibrated, ensemble)
    from nabiz.model.transformer import TransformerPredictor

    kind = device_type(device)
    chosen = resolve_precision(precision, kind, PrecisionPlan.load(directory))
    if kind == "cpu" and (slower := slower_than_fp32(chosen)):
        log.warning(
            "%s asked for on this CPU (%s): %s than fp32; NABIZ_PRECISION=auto runs fp32 here",
            chosen,
            describe_cpu(),
            slower,
        )
    plan = PrecisionPlan.load(directory, chosen) if chosen in ("int8", "bf16") else None
    if plan is None or kind != "cpu":
        transformer = TransformerPredictor.from_pretrained(
            directory, device=device, precision=precision
        )
        return _served(directory, transformer, baseline, calibrated, ensemble)
    here = describe_cpu()
    if plan.cpu and plan.cpu != here:  # another CPU may round differently
        log.warning(
            "the %s plan of %s was measured on %s, and this CPU is %s: its margins may not fit "
            "here; run `nabiz quantize --model %s --precision %s` on this kind of CPU",
            chosen,
            directory,
            plan.cpu,
            here,
            directory,
            chosen,
        )
    exact = TransformerPredictor.from_pretrained(directory, device="cpu", precision="fp32")
    fast = exact.in_precision(chosen, plan)
    return RecheckingPredictor(
        _served(directory, fast, baseline, calibrated, ensemble),
        _served(directory, exact, baseline, calibrated, ensemble),
        plan.recheck_margins,
        precision=chosen,
    )


def _served(
    directory: Path,
    transformer: Predictor,
    baseline: Predictor | None,
    calibrated: bool,
    ensemble: bool,
) -> Predictor:
    """The transformer as served: mixed with the baseline when given one, with the temperatures
    of that way of scoring and, for the served model (``ensemble``), the urgency cues."""
    served: Predictor = transformer
    variant = "transformer"
    if baseline is not None:
        try:
            info = transformer.info
            served = MixturePredictor(
                transformer, baseline, info.baseline_weights, info.mixture_thresholds
            )
        except SchemaMismatch as error:
            raise SchemaMismatch(
                f"{directory / BASELINE_DIR / SCHEMA_FILE} does not match "
                f"{directory / SCHEMA_FILE}: {error}"
            ) from None
        variant = "nabiz"
    if calibrated:
        served.calibration = load_calibration(directory, variant)
        if ensemble:
            served.urgency_cues = UrgencyCues.load(directory)
    return served


def load_predictor(directory: str | Path, settings) -> Predictor:
    """The model as the product serves it: the settings' device, threads, precision, runtime."""
    runtime = resolve_runtime(settings.runtime, directory, settings.device, settings.precision)
    if settings.num_threads and runtime == "torch":
        import torch

        torch.set_num_threads(settings.num_threads)
    return from_pretrained(
        directory,
        device=settings.device,
        precision=settings.precision,
        runtime=runtime,
        num_threads=settings.num_threads,
    )
