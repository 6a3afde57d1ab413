"""What every benchmark prints first: the machine it ran on, and the texts it runs over."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from nabiz.model.runtime import SPEED_FLAGS, cpu_flags, cpu_name

# Environment variables that make the libraries use narrower instructions than the CPU has: how a
# bf16 machine stood in for an AVX2-only one before benchmarks/avx2_standin.sh, which also hides
# AVX-512 from the CPUID that ONNX Runtime and numpy read (BENCHMARKS.md §9).
ISA_CAPS = (
    "ONEDNN_MAX_CPU_ISA",
    "ATEN_CPU_CAPABILITY",
    "FBGEMM_ENABLE_INSTRUCTIONS",
    "MKL_ENABLE_INSTRUCTIONS",
)


def machine_description() -> str:
    import torch

    flags = cpu_flags()
    missing = [flag for flag in SPEED_FLAGS if flag not in flags]
    parts = [
        f"date {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"CPU {cpu_name()} x{os.cpu_count()} (torch threads {torch.get_num_threads()})",
        f"flags {' '.join(flags) or 'unknown'} (no {' '.join(missing)})",
        f"torch {torch.__version__} (ATen {torch.backends.cpu.get_cpu_capability()})",
    ]
    caps = [f"{name}={os.environ[name]}" for name in ISA_CAPS if os.environ.get(name)]
    parts.append(f"ISA caps: {' '.join(caps)}" if caps else "ISA caps: none")
    if os.environ.get("CPU_STANDIN"):  # set by benchmarks/avx2_standin.sh
        parts.append(f"stand-in: {os.environ['CPU_STANDIN']}")
    if torch.cuda.is_available():
        parts.append(f"GPU {torch.cuda.get_device_name(0)}")
    try:
        load = os.getloadavg()[0]
        parts.append(f"load avg {load:.2f}")
    except OSError:
        pass
    return "; ".join(parts)


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def test_split_texts(model_dir: Path) -> list[str]:
    """The texts of the model's own test split: the real length distribution."""
    from nabiz.training.data import load_prepared
    from nabiz.training.modeleval import load_model_config

    return list(load_prepared(load_model_config(model_dir))["test"]["text"])
