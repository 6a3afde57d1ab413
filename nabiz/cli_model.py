"""The commands that measure or convert a trained model directory in place: ``nabiz quantize``
(a plan for running below fp32) and ``nabiz export-onnx`` (``network.onnx`` for ONNX Runtime).
Both write into the directory, so both check it can be written before the minutes of work."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nabiz.cli_common import ModelOption, fail, model_dir_or_default, writable_or_fail


class ReducedPrecision(StrEnum):
    """What ``nabiz quantize`` measures a plan for."""

    int8 = "int8"
    bf16 = "bf16"


def quantize(
    model: ModelOption = None,
    texts: Annotated[
        int, typer.Option("--texts", min=2, help="Validation texts to measure the plan on.")
    ] = 2000,
    precision: Annotated[
        ReducedPrecision,
        typer.Option("--precision", help="The reduced precision to measure."),
    ] = ReducedPrecision.int8,
) -> None:
    """Measure int8 (or bf16) on this model and CPU: which near ties need fp32's second look,
    how many labels it keeps, how fast it is; write the plan into the model directory.

    Measured on the validation split of the model's prepared data, against the fp32 labels."""
    from nabiz.model.manifest import MANIFEST_FILE
    from nabiz.training.quantize import quantize_directory

    model_dir = model_dir_or_default(model)
    if model_dir.is_dir():  # the plan goes into the directory: know it can before measuring
        writable_or_fail(model_dir / MANIFEST_FILE, "plan")
    firmer = " (a plan from the model's validation texts is firmer)"
    measured_on = texts_of(model_dir, texts, "measuring", firmer)
    try:
        plan = quantize_directory(model_dir, measured_on, precision.value)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        raise fail(str(exc)) from None
    kept = ", ".join(f"{task} {share:.2%}" for task, share in plan.agreement.items())
    if not plan.keeps_labels:  # then its speed was not measured
        verdict = f"NOT kept (< 99.5 % on some task): auto does not take {precision} for it"
    else:
        speed = f"{precision} {plan.speedup:.2f}x the speed of {plan.compared_with} fp32"
        if precision is ReducedPrecision.bf16:
            outcome = "; served in bf16 (auto on CPUs with native bf16), near ties in fp32"
        elif plan.accepted:
            outcome = "; accepted: auto uses it on CPUs where bf16 is not faster"
        else:
            outcome = (
                ", not fast enough: NOT accepted, auto does not take it (bf16 where it is "
                "native, fp32 elsewhere); int8 only by hand"
            )
        verdict = f"{speed} on this CPU{outcome}"
    typer.echo(
        f"{plan.rechecked:.1%} of {plan.texts} texts rescored in fp32 as near ties; labels "
        f"equal to fp32 on the half that did not choose the margins: {kept}; {verdict}"
    )


def sample_texts() -> list[str]:
    """The complaints of the repository's sample export (``data/samples``), for checks that need
    real Turkish texts when a model's prepared data is not on this machine."""
    import csv

    from nabiz.settings import REPO_ROOT

    path = REPO_ROOT / "data" / "samples" / "sample_export.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return [row["yorum"] for row in csv.DictReader(fh, delimiter=";") if row["yorum"]]


def texts_of(model_dir: Path, count: int, doing: str, note: str = "") -> list[str]:
    """``count`` of the model's validation texts; for a model copied without its prepared data,
    the sample export's texts instead (said on the terminal: ``doing`` on them, ``note``)."""
    from nabiz.training.manifest import DataSourceError
    from nabiz.training.quantize import calibration_texts

    try:
        return calibration_texts(model_dir, count)
    except (FileNotFoundError, KeyError, ValueError, DataSourceError):  # a model copied here
        texts = sample_texts()[:count]
        typer.echo(
            f"no prepared data for {model_dir}: {doing} on the sample export's {len(texts)} "
            f"texts{note}"
        )
        return texts


def export_onnx(
    model: ModelOption = None,
    texts: Annotated[
        int, typer.Option("--texts", min=1, help="Validation texts to check the export on.")
    ] = 200,
) -> None:
    """Export the transformer to network.onnx for ONNX Runtime (CPUs where bf16 is not faster).

    The file is kept only if ONNX Runtime scores the model's validation texts (or, without its
    prepared data, the sample export's) as torch fp32 does; NABIZ_RUNTIME=auto then uses it
    where torch would run fp32 on the CPU. Needs the `onnx` extra."""
    from nabiz.model.runtime import onnxruntime_installed

    if not onnxruntime_installed():
        raise fail("exporting needs ONNX Runtime and onnx: pip install -e '.[onnx]'")
    from nabiz.model.manifest import MANIFEST_FILE
    from nabiz.model.onnx_export import ExportError, export_directory

    model_dir = model_dir_or_default(model)
    if model_dir.is_dir():  # network.onnx goes into the directory: know it can before exporting
        writable_or_fail(model_dir / MANIFEST_FILE, "network.onnx")
    checked = texts_of(model_dir, texts, "checking")
    try:
        report = export_directory(model_dir, checked)
    except (ExportError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    fused = ", ".join(f"{kind} {count}" for kind, count in report.fused.items()) or "nothing"
    equal = ", ".join(f"{task} {share:.1%}" for task, share in report.labels_equal.items())
    typer.echo(
        f"wrote {report.path} ({report.megabytes:.0f} MB, {report.seconds:.1f} s; fused: "
        f"{fused}); on {report.texts} texts its scores are within {report.max_difference:.1g} "
        f"of torch fp32's, top labels equal: {equal}"
    )
