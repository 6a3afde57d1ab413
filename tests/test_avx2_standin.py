"""The AVX2 stand-in hides AVX-512 from every library and leaves the program otherwise intact."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "avx2_standin.sh"


def _flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.partition(":")[2].split())


pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None or not {"avx512f", "cpuid_fault"} <= _flags(),
    reason="needs gcc and a CPU with AVX-512 whose kernel can make CPUID fault (cpuid_fault)",
)


@pytest.fixture(scope="module")
def standin_env(tmp_path_factory) -> dict[str, str]:
    lib = tmp_path_factory.mktemp("standin") / "avx2_standin.so"
    return {**os.environ, "AVX2_STANDIN_LIB": str(lib)}


def run_python(env: dict[str, str], code: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), sys.executable, *flags, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_torch_and_numpy_see_avx2_without_avx512(standin_env):
    code = (
        "import os; os.environ.pop('ATEN_CPU_CAPABILITY')\n"
        "from numpy._core._multiarray_umath import __cpu_features__ as f\n"
        "import torch\n"
        "print(torch.backends.cpu.get_cpu_capability(), f['AVX2'], f['AVX512F'])"
    )
    done = run_python(standin_env, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["AVX2", "True", "False"]


def test_a_program_with_its_own_segfault_handler_still_runs(standin_env):
    done = run_python(standin_env, "import numpy, torch; print('ok')", "-X", "faulthandler")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_real_segfault_still_kills_the_process(standin_env):
    done = run_python(standin_env, "import ctypes; ctypes.string_at(0)")
    assert done.returncode == -signal.SIGSEGV
