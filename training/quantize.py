"""``nabiz quantize``: measure a reduced precision's plan for a model directory on real texts and
write it there (int8: ``quantization.json``; bf16: ``bf16_rechecks.json``).

The plan (``quantization.json``, see ``nabiz.model.quantize``) is measured against the labels the
product serves: the fp32 transformer mixed with its baseline when the model has one, calibrated,
with its urgency cues, on the validation split of the model's own prepared data. It holds per task
the margin under which the precision's answer is scored again in fp32, and the share of labels it
so keeps on texts that did not choose the margins.

A plan that keeps the labels is then timed against fp32 where ``auto`` would otherwise run it
(ONNX Runtime when the directory has ``network.onnx``), on this CPU: an int8 plan is accepted only
if int8 is measured faster (``ACCEPTED_SPEEDUP``); bf16 is chosen by the CPU's flags, and its
plan adds only the rechecks.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from nabiz.model.loading import from_pretrained
from nabiz.model.manifest import write_manifest
from nabiz.model.margins import choose_margins, label_agreement
from nabiz.model.precision_plan import PLAN_FILES, PrecisionPlan
from nabiz.model.predictor import ModelInfo
from nabiz.model.recheck import needs_recheck
from nabiz.model.runtime import describe_cpu, resolve_runtime, slower_than_fp32

# Texts timed per round, a few seconds on a 2-core CPU. Fewer are repeated up to it: a plan
# measured on 200 texts timed int8 at 1.19x fp32 where 512 of the same model's texts gave 1.03x.
SPEED_TEXTS = 512
SPEED_ROUNDS = 3


def calibration_texts(model_dir: Path, limit: int) -> list[str]:
    """The first ``limit`` texts of the validation split the model was trained beside."""
    from nabiz.training.data import load_prepared
    from nabiz.training.modeleval import load_model_config

    texts = load_prepared(load_model_config(model_dir))["validation"]["text"]
    return list(texts[:limit])


def quantize_directory(
    model_dir: str | Path, texts: Sequence[str], precision: str = "int8"
) -> PrecisionPlan:
    """Measure the ``precision`` plan on ``texts`` and save it into ``model_dir``; returns it.

    The margins are chosen on one half of the texts and checked on the other, both ways round,
    so the agreement the plan records is measured on texts that did not choose them; the plan
    keeps the margins chosen on all texts."""
    if precision not in PLAN_FILES:
        raise ValueError(f"a plan is measured for {' or '.join(PLAN_FILES)}, not {precision!r}")
    if precision == "int8" and (slower := slower_than_fp32("int8")):
        raise ValueError(
            f"int8 cannot pay on this CPU ({describe_cpu()}): {slower} than fp32; fp32 in ONNX "
            "Runtime (`nabiz export-onnx`) is the fast way here"
        )
    if len(texts) < 2:
        raise ValueError("measuring a plan needs texts; give at least two")
    model_dir = Path(model_dir)
    if ModelInfo.load(model_dir).model_type != "transformer":
        raise ValueError(f"{model_dir} holds no transformer; only a transformer has a precision")
    texts = list(texts)
    exact = from_pretrained(model_dir, device="cpu", precision="fp32").predict_scores(texts).scores
    with _previous_plan_kept_on_failure(model_dir, precision):
        # loading the precision by hand needs a plan: one without margins, until they are known
        _save(PrecisionPlan(precision=precision, texts=len(texts)), model_dir)
        fast = from_pretrained(model_dir, device="cpu", precision=precision)
        alone = fast.predict_scores(texts).scores
    schema = fast.schema
    halves = [np.arange(len(texts)) % 2 == side for side in (0, 1)]
    checked = {name: values.copy() for name, values in alone.items()}
    for chooses, checks in (halves, halves[::-1]):
        margins = choose_margins(schema, _rows(exact, chooses), _rows(alone, chooses))
        again = checks & needs_recheck(schema, alone, margins)
        for name in alone:
            checked[name][again] = exact[name][again]
    margins = choose_margins(schema, exact, alone)
    plan = PrecisionPlan(
        precision=precision,
        recheck_margins=margins,
        agreement=label_agreement(exact, checked),
        agreement_alone=label_agreement(exact, alone),
        rechecked=float(needs_recheck(schema, alone, margins).mean()),
        texts=len(texts),
        cpu=describe_cpu(),
    )
    _save(plan, model_dir)
    if plan.keeps_labels:  # the precision by hand loads the saved plan, accepted or not
        plan.speedup, plan.compared_with = measure_speedup(model_dir, texts, precision)
        _save(plan, model_dir)
    return plan


@contextmanager
def _previous_plan_kept_on_failure(model_dir: Path, precision: str) -> Iterator[None]:
    """Put back the plan file as it was (or none) if the block fails or is interrupted (Ctrl-C),
    so that a measurement cut short never leaves the margin-less plan it loads with."""
    path = model_dir / PLAN_FILES[precision]
    previous = path.read_bytes() if path.is_file() else None
    try:
        yield
    except BaseException:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(previous)
        write_manifest(model_dir)
        raise


def _rows(scores: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[rows] for name, values in scores.items()}


def _save(plan: PrecisionPlan, model_dir: Path) -> None:
    plan.save(model_dir)
    write_manifest(model_dir)  # the plan is part of the model now


def timed_texts(texts: Sequence[str], count: int = SPEED_TEXTS) -> list[str]:
    """The first ``count`` of ``texts``, or all of them repeated in turn up to ``count``."""
    return [texts[i % len(texts)] for i in range(count)]


def measure_speedup(
    model_dir: Path, texts: Sequence[str], precision: str, rounds: int = SPEED_ROUNDS
) -> tuple[float, str]:
    """fp32's median time over ``precision``'s for the served predictor (baseline, calibration
    and the rechecks: what a caller waits for) on ``SPEED_TEXTS`` texts, alternating, and the
    fp32 runtime timed."""
    texts = timed_texts(texts)
    fp32_runtime = resolve_runtime("auto", model_dir, "cpu", "fp32")
    fp32 = from_pretrained(model_dir, device="cpu", precision="fp32", runtime=fp32_runtime)
    fast = from_pretrained(model_dir, device="cpu", precision=precision, runtime="torch")
    fp32.predict_scores(texts[:32]), fast.predict_scores(texts[:32])  # warm-up
    times: dict[str, list[float]] = {"fp32": [], precision: []}
    for _ in range(rounds):
        for name, predictor in (("fp32", fp32), (precision, fast)):
            start = time.perf_counter()
            predictor.predict_scores(texts)
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["fp32"]) / statistics.median(times[precision]), fp32_runtime
