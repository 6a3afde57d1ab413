"""The plans a model directory may hold for running below fp32, readable without torch.

A plan says, for one reduced precision (int8 or bf16), per task the margin under which a text's
answer is a near tie and is scored again in fp32, and what that kept and cost where it was
measured (``nabiz quantize``). Choosing how to run a model (``runtime.py``) asks whether the
int8 plan was accepted before anything imports torch; the plan is data, and applying it is
``quantize.py``'s and ``loading.py``'s job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

PLAN_FILES = {"int8": "quantization.json", "bf16": "bf16_rechecks.json"}
QUANTIZATION_FILE = PLAN_FILES["int8"]

ACCEPTED_AGREEMENT = 0.995  # the share of labels equal to fp32's a plan must keep, per task
# How much faster than fp32 int8 must score the plan's texts to be chosen automatically: int8's
# own work (a scale per token, the rescaling) and its rechecks can eat what the int8 products
# save, as with AVX-512 VNNI here (BENCHMARKS.md §9); 10 % clears the noise of a few timed rounds
# on a 2-core machine. (Without AVX512-VNNI int8 is not measured at all: ``runtime.py``.)
ACCEPTED_SPEEDUP = 1.1

SCHEMES = {"int8": "int8-per-token-recheck", "bf16": "bf16-autocast-recheck"}
# int8 weights in 7 bits (±63): with its kernels capped to AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``, the
# AVX2 stand-in) oneDNN adds pairs of u8×s8 products in 16 bits, which ±127 weights overflow and
# ±63 cannot, so one plan gives the same labels under any cap; 8 bits moved no fewer labels.
INT8_WEIGHT_BITS = 7


class PrecisionPlan(BaseModel):
    """How a reduced precision serves this model, measured on real texts by ``nabiz quantize``.

    int8: every encoder Linear in int8 with one activation scale per token (``quantize.py``);
    bf16: autocast with the Linear weights stored in bf16. Both: per task the margin below which
    a text is scored again in fp32."""

    precision: Literal["int8", "bf16"] = "int8"
    scheme: str = ""
    weight_bits: int | None = Field(
        default=None, ge=2, le=8, description="Bits of int8's weights; None for bf16."
    )
    recheck_margins: dict[str, float] = Field(
        default_factory=dict,
        description="Per task, the margin (top score minus the second; for a multi-label task "
        "also a score's distance to its threshold) under which the reduced precision's answer "
        "is scored again in fp32. 0 or missing: never rechecked for that task.",
    )
    agreement: dict[str, float] = Field(
        default_factory=dict,
        description="Per task, the share of served labels (with the baseline mixture when the "
        "model has one) equal to fp32's, rechecks included, on the half of the plan's texts "
        "that did not choose the margins (both halves in turn).",
    )
    agreement_alone: dict[str, float] = Field(
        default_factory=dict, description="The same share without any recheck."
    )
    rechecked: float = Field(
        default=0.0, description="The share of the plan's texts scored again in fp32."
    )
    texts: int = Field(default=0, description="How many texts the plan was measured on.")
    speedup: float | None = Field(
        default=None,
        description="fp32's time over this precision's (rechecks included) for the served "
        "predictor on the plan's texts, fp32 run where `auto` would run it (`compared_with`), "
        "on the CPU named in `cpu`; None: not measured, because the labels fell short first.",
    )
    compared_with: str = Field(default="", description="The fp32 runtime timed: torch or onnx.")
    cpu: str = Field(default="", description="The CPU the plan was measured on.")

    def model_post_init(self, _context) -> None:
        self.scheme = self.scheme or SCHEMES[self.precision]
        if self.precision == "int8" and self.weight_bits is None:
            self.weight_bits = INT8_WEIGHT_BITS

    @property
    def keeps_labels(self) -> bool:
        """Whether the precision with its rechecks kept at least ``ACCEPTED_AGREEMENT`` of every
        task's labels on the held-out halves."""
        return bool(self.agreement) and min(self.agreement.values()) >= ACCEPTED_AGREEMENT

    @property
    def accepted(self) -> bool:
        """Whether ``auto`` may choose int8: it keeps the labels and was measured faster than
        fp32. Speed depends on the CPU, so a plan is measured on the kind of CPU that serves.
        (bf16 is chosen by the CPU's flags; its plan only adds the rechecks.)"""
        return self.keeps_labels and self.speedup is not None and self.speedup >= ACCEPTED_SPEEDUP

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / PLAN_FILES[self.precision]
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path, precision: str = "int8") -> PrecisionPlan | None:
        """The directory's plan for ``precision``; None when it has none, or one of a scheme
        this version no longer runs (the first int8, one scale per tensor): such a model serves
        as if never measured."""
        path = Path(directory) / PLAN_FILES[precision]
        if not path.is_file():
            return None
        plan = cls.model_validate_json(path.read_text(encoding="utf-8"))
        return plan if plan.precision == precision and plan.scheme == SCHEMES[precision] else None
