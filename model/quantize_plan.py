"""The int8 plan a model directory may hold (``quantization.json``), readable without torch.

Choosing how to run a model (``runtime.py``) asks whether the directory's plan was accepted before
anything imports torch; the plan is data, and applying it is ``quantize.py``'s job.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

QUANTIZATION_FILE = "quantization.json"


ACCEPTED_AGREEMENT = 0.995  # the share of labels equal to fp32's that int8 must keep, per task


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

    @property
    def accepted(self) -> bool:
        """Whether int8 kept enough labels to be chosen automatically (and quantizes at least
        one layer: a plan that had to keep every layer in fp32 would only rename fp32)."""
        if not self.agreement or len(self.keep_fp32) >= self.layers:
            return False
        return min(self.agreement.values()) >= ACCEPTED_AGREEMENT

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
