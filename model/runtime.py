"""How the encoder runs here: its precision and its runtime, chosen without importing torch.

Two choices, made from the CPU, the device and what the model directory holds:

- **precision** (``NABIZ_PRECISION``): ``auto`` is bf16 on a GPU and on CPUs where bf16 beats
  fp32 (AMX, or AVX512-BF16 on AMD), int8 on other CPUs with AVX512-VNNI when the directory
  holds an accepted int8 plan (``nabiz quantize``), fp32 elsewhere;
- **runtime** (``NABIZ_RUNTIME``): ``torch``, or ONNX Runtime for fp32 on the CPU when the
  directory holds the exported network (``network.onnx``, written by ``nabiz export-onnx``).
  ``auto`` takes ONNX Runtime exactly where the encoder would otherwise run in torch fp32 on the
  CPU: there it kept every label and answered a lone text 1.6–1.8× faster (BENCHMARKS.md §9),
  and a process that scores through it never imports torch (most of a one-text start).

Deciding must not import torch, or choosing ONNX Runtime would save nothing at start; so this
module reads ``/proc/cpuinfo`` and the int8 plan's JSON itself, and asks torch about CUDA only
on a machine with an NVIDIA driver.
"""

from __future__ import annotations

import importlib.util
import os
import platform
from collections.abc import Mapping
from pathlib import Path

from nabiz.model.precision_plan import QUANTIZATION_FILE, PrecisionPlan

PRECISIONS = ("auto", "fp32", "bf16", "int8")
RUNTIMES = ("auto", "torch", "onnx")
ONNX_FILE = "network.onnx"  # the whole network (ids + mask → every head's logits), BERT-fused

# oneDNN ISA caps (``ONEDNN_MAX_CPU_ISA``) below which its kernels have no bf16 instructions.
ONEDNN_ISAS_WITHOUT_BF16 = {
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX512_CORE",
    "AVX512_CORE_VNNI",
}


def cpu_has_fast_bf16() -> bool:
    """Whether bf16 matrix products run faster than fp32 on this CPU (:func:`bf16_beats_fp32`).

    A ``ONEDNN_MAX_CPU_ISA`` cap below AVX512_CORE_BF16 counts as no: oneDNN runs the bf16
    matrix products then, and it would emulate them (slower than fp32). It is also how a bf16
    machine stands in for an AVX2-only one (BENCHMARKS.md §9), and ``auto`` must choose there
    as it would on that CPU."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if cap in ONEDNN_ISAS_WITHOUT_BF16:
        return False
    return bf16_beats_fp32(read_cpuinfo())


def bf16_beats_fp32(cpuinfo: Mapping[str, str]) -> bool:
    """From ``/proc/cpuinfo``'s fields: AMX (Intel), or AVX512-BF16 on an AMD CPU.

    AVX512-BF16 alone is not enough. AMD's Zen 4 and Zen 5 run its dot products at twice the
    fp32 rate (bf16 inference 2.3-2.7x fp32 there), but an Intel core without AMX (Cooper Lake,
    or a VM that hides a Sapphire/Emerald Rapids' AMX) runs them no faster than its fp32 FMAs
    and pays for the conversions: on such a Xeon the encoder ran at 0.52-0.75x fp32 in bf16 and a
    training step at 0.6-0.8x (BENCHMARKS.md §9)."""
    flags = set(cpuinfo.get("flags", "").split())
    if "amx_bf16" in flags:
        return True
    return "avx512_bf16" in flags and cpuinfo.get("vendor_id") == "AuthenticAMD"


def cpu_has_fast_int8() -> bool:
    """Whether torch's int8 matrix product (``torch._int_mm``) runs oneDNN's kernels here.

    torch calls oneDNN for it only on a CPU with AVX512-VNNI; elsewhere it runs a plain loop,
    which on an AVX2-only AMD EPYC (Zen 2) took 45x fp32's time for the FFN's 1280x384x1536
    (BENCHMARKS.md §9): int8 there would score a batch tens of times slower than fp32."""
    return "avx512_vnni" in read_cpuinfo().get("flags", "").split()


def slower_than_fp32(precision: str) -> str | None:
    """Why ``precision`` would run slower than fp32 on this CPU, or None where it would not:
    int8 without AVX512-VNNI (:func:`cpu_has_fast_int8`), bf16 without native bf16 (emulated: 9x
    fp32's time on an AVX2-only Zen 2, BENCHMARKS.md §9). ``auto`` never chooses it there; loading
    it by hand warns, and ``nabiz quantize`` does not measure int8 there."""
    if precision == "int8" and not cpu_has_fast_int8():
        return "without AVX512-VNNI torch's int8 products run a plain loop, tens of times slower"
    if precision == "bf16" and not cpu_has_fast_bf16():
        return "without native bf16 its products are emulated, several times slower"
    return None


def parse_cpuinfo(text: str) -> dict[str, str]:
    """The first processor's block of ``/proc/cpuinfo`` as ``{field: value}``."""
    first = text.split("\n\n", 1)[0]
    fields = (line.split(":", 1) for line in first.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in fields}


SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16")


def cpu_flags() -> list[str]:
    """The CPU flags that decide which kernels run (AVX2/FMA, AVX-512, VNNI, bf16, AMX)."""
    present = set(read_cpuinfo().get("flags", "").split())
    return [flag for flag in SPEED_FLAGS if flag in present]


def cpu_name() -> str:
    """The CPU's model name with its family and model numbers.

    A VM may name every AMD part "AMD EPYC": the family tells Zen 4 (25) from Zen 5 (26), whose
    AVX-512 pipes are twice as wide, so figures from the two differ by up to 2x.
    """
    info = read_cpuinfo()
    name = info.get("model name") or platform.processor() or "unknown CPU"
    return f"{name} (family {info.get('cpu family', '?')} model {info.get('model', '?')})"


def describe_cpu() -> str:
    """:func:`cpu_name` and :func:`cpu_flags` in one line, for a figure's record."""
    return f"{cpu_name()}; flags {' '.join(cpu_flags()) or '-'}"


def read_cpuinfo() -> dict[str, str]:
    """This machine's :func:`parse_cpuinfo`; empty where there is no ``/proc/cpuinfo``."""
    try:
        return parse_cpuinfo(Path("/proc/cpuinfo").read_text(encoding="utf-8"))
    except OSError:
        return {}


def bf16_is_fast(device: str) -> bool:
    """Whether bf16 runs faster than fp32 on a device type (``cpu``/``cuda``): always on a GPU,
    on a CPU where :func:`cpu_has_fast_bf16`. Inference (``auto`` precision) and training
    decide by it."""
    return device == "cuda" or (device == "cpu" and cpu_has_fast_bf16())


def device_type(device: str) -> str:
    """``cpu`` or ``cuda`` for a device setting (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    ``auto`` is CUDA when torch sees a GPU; torch is asked only where an NVIDIA driver is
    loaded, so that a CPU-only machine decides without importing it."""
    if device != "auto":
        return device.split(":", 1)[0]
    if not Path("/proc/driver/nvidia/version").exists():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_precision(precision: str, device: str, plan: PrecisionPlan | None = None) -> str:
    """What ``precision`` means on a ``device`` type (``cpu``/``cuda``) for a model with (or
    without) an int8 plan; ``int8`` by hand needs a plan (accepted or not) and a CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        if bf16_is_fast(device):
            return "bf16"
        if device == "cpu" and plan is not None and plan.accepted and cpu_has_fast_int8():
            return "int8"
        return "fp32"
    if precision == "int8":
        if device != "cpu":
            raise ValueError("int8 runs on the CPU only; use bf16 or fp32 on a GPU")
        if plan is None:
            raise ValueError(
                f"the model has no {QUANTIZATION_FILE} of this version's int8 scheme: run "
                "`nabiz quantize --model DIR` first"
            )
    return precision


def onnxruntime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def resolve_runtime(runtime: str, directory: str | Path, device: str, precision: str) -> str:
    """``torch`` or ``onnx`` for a model directory, given the device and precision settings.

    ``onnx`` by hand fails with the reason when it cannot run (no exported network, ONNX Runtime
    not installed, a GPU, bf16 or int8 asked for; precision ``auto`` means fp32 then); ``auto``
    takes torch in those cases, and where ``auto`` precision would be bf16 or int8."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if runtime == "torch":
        return "torch"
    directory = Path(directory)
    problem = None
    if not (directory / ONNX_FILE).is_file():
        problem = f"{directory} has no {ONNX_FILE}: run `nabiz export-onnx --model {directory}`"
    elif not onnxruntime_installed():
        problem = "ONNX Runtime is not installed: pip install -e '.[onnx]'"
    elif device_type(device) != "cpu":
        problem = "the ONNX runtime runs on the CPU only; use the torch runtime on a GPU"
    elif runtime == "onnx":  # by hand: precision auto means what this runtime runs
        if precision not in ("auto", "fp32"):
            problem = f"the ONNX runtime runs fp32, not {precision}: set the precision to fp32"
    elif resolve_precision(precision, "cpu", PrecisionPlan.load(directory)) != "fp32":
        problem = "torch runs this precision faster here"  # bf16 or an accepted int8 plan
    if problem is None:
        return "onnx"
    if runtime == "onnx":
        raise ValueError(problem)
    return "torch"
