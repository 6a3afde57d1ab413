"""The int8 plan a model directory may hold (``quantization.json``), readable without torch.

Choosing how to run a model (``runtime.py``) asks whether the directory's plan was accepted before
anything imports torch; the plan is data, and applying it is ``quantize.py``'s job.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

QUANTIZATION_FILE = "quantization.json"


ACCEPTED_AGREEMENT = 0.995  # the share of labels equal to fp32's that int8 must keep, per task
# How much faster than fp32 int8 must score the plan's texts to be chosen automatically: int8's
# own work (a scale per token, the rescaling) and its rechecks can eat what the int8 products
# save, as on AVX2 without VNNI (BENCHMARKS.md §9); 10 % clears the noise of a few timed rounds
# on a 2-core machine.
ACCEPTED_SPEEDUP = 1.1


SCHEME = "int8-per-token-recheck"


class QuantizationPlan(BaseModel):
    """How int8 serves this model: every encoder Linear in int8 with one activation scale per
    token, and per task the margin below which a text is scored again in fp32; measured on real
    texts by ``nabiz quantize``."""

    scheme: str = SCHEME
    weight_bits: int = Field(default=7, ge=2, le=8, description="Bits of the int8 weights.")
    recheck_margins: dict[str, float] = Field(
        default_factory=dict,
        description="Per task, the margin (top score minus the second; for a multi-label task "
        "also a score's distance to its threshold) under which int8's answer is scored again "
        "in fp32. 0 or missing: never rechecked for that task.",
    )
    agreement: dict[str, float] = Field(
        default_factory=dict,
        description="Per task, the share of served labels (with the baseline mixture when the "
        "model has one) equal to fp32's on the texts the plan was measured on, rechecks "
        "included.",
    )
    agreement_int8_alone: dict[str, float] = Field(
        default_factory=dict, description="The same share without any recheck."
    )
    rechecked: float = Field(
        default=0.0, description="The share of the plan's texts scored again in fp32."
    )
    texts: int = Field(default=0, description="How many texts the plan was measured on.")
    speedup: float | None = Field(
        default=None,
        description="fp32's time over int8's (rechecks included) for the served predictor on "
        "the plan's texts, fp32 run where `auto` would run it (`compared_with`), on the CPU "
        "named in `cpu`; None: not measured, because the labels fell short first.",
    )
    compared_with: str = Field(default="", description="The fp32 runtime timed: torch or onnx.")
    cpu: str = Field(default="", description="The CPU the speed was measured on.")

    @property
    def keeps_labels(self) -> bool:
        """Whether int8 with its rechecks kept at least ``ACCEPTED_AGREEMENT`` of every task's
        labels on the plan's texts."""
        return bool(self.agreement) and min(self.agreement.values()) >= ACCEPTED_AGREEMENT

    @property
    def accepted(self) -> bool:
        """Whether ``auto`` may choose int8: it keeps the labels and was measured faster than
        fp32. Speed depends on the CPU, so a plan is measured on the kind of CPU that serves."""
        return self.keeps_labels and self.speedup is not None and self.speedup >= ACCEPTED_SPEEDUP

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / QUANTIZATION_FILE
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> QuantizationPlan | None:
        """The directory's plan; None when it has none, or one of an int8 scheme this version
        no longer runs (the first, per-tensor one): such a model serves as if never quantized."""
        path = Path(directory) / QUANTIZATION_FILE
        if not path.is_file():
            return None
        plan = cls.model_validate_json(path.read_text(encoding="utf-8"))
        return plan if plan.scheme == SCHEME else None
