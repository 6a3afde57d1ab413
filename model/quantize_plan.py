"""The int8 plan a model directory may hold (``quantization.json``), readable without torch.

Choosing how to run a model (``runtime.py``) asks whether the directory's plan was accepted before
anything imports torch; the plan is data, and applying it is ``quantize.py``'s job.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

QUANTIZATION_FILE = "quantization.json"


ACCEPTED_AGREEMENT = 0.995  # the share of labels equal to fp32's that int8 must keep, per task
# How much faster than fp32 int8 must score the plan's texts to be chosen automatically: a plan
# that keeps the labels by keeping most layers in fp32 can be slower than fp32 (the dynamic
# quantization's own work, the outlier split's extra product), as the first accepted plan was
# (BENCHMARKS.md §9); 10 % clears the noise of a few timed rounds on a 2-core machine.
ACCEPTED_SPEEDUP = 1.1


class QuantizationPlan(BaseModel):
    """Which encoder Linear layers stay in fp32, and which input channels of the others are
    computed in fp32 beside the int8 product; measured on real texts by ``plan_quantization``."""

    scheme: str = "dynamic-int8-per-channel-outlier-split"
    keep_fp32: list[str] = Field(
        default_factory=list, description="Module names (within the model) kept in fp32."
    )
    outliers: dict[str, list[int]] = Field(
        default_factory=dict,
        description="Per quantized layer, the input channels computed in fp32 beside it.",
    )
    agreement: dict[str, float] = Field(
        default_factory=dict,
        description="Per task, the share of labels equal to fp32's on the texts the plan was "
        "measured on (the served labels: with the baseline mixture when the model has one).",
    )
    texts: int = Field(default=0, description="How many texts the plan was measured on.")
    layers: int = Field(default=0, description="How many encoder Linear layers the model has.")
    speedup: float | None = Field(
        default=None,
        description="fp32's time over int8's for the encoder on the plan's texts, fp32 run "
        "where `auto` would run it (`compared_with`), on the CPU named in `cpu`; None: not "
        "measured, because the labels fell short first.",
    )
    compared_with: str = Field(default="", description="The fp32 runtime timed: torch or onnx.")
    cpu: str = Field(default="", description="The CPU the speed was measured on.")

    @property
    def keeps_labels(self) -> bool:
        """Whether int8 kept at least ``ACCEPTED_AGREEMENT`` of every task's labels, with at
        least one layer in int8 (a plan with every layer in fp32 would only rename fp32)."""
        if not self.agreement or len(self.keep_fp32) >= self.layers:
            return False
        return min(self.agreement.values()) >= ACCEPTED_AGREEMENT

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
        path = Path(directory) / QUANTIZATION_FILE
        if not path.is_file():
            return None
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
