"""Start-up: `nabiz serve` from process start to `/readyz` 200, and `nabiz predict "…"` wall time.

Each round starts the server twice, on a fresh SQLite queue database (the first start of a new
install: every migration runs) and again on the now migrated one (a restart), then runs
`nabiz predict` once. Wall seconds are what a user waits; CPU seconds (user + system of the child,
until it is stopped) say how much work it was, which a loaded machine does not inflate as much.
The CPU flags, the precision setting and the load average are printed with the figures.

    python benchmarks/bench_startup.py --model models/nabiz-cpu [--rounds 3]
    # the AVX2-only stand-in on a bf16 machine: fp32, no AVX-512 or bf16 kernels in oneDNN or
    # in torch's own CPU kernels
    NABIZ_PRECISION=fp32 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 \
        python benchmarks/bench_startup.py ...
    # another checkout (its commit is printed): its venv's nabiz
    python benchmarks/bench_startup.py --nabiz /other/checkout/.venv/bin/nabiz ...
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nabiz.model.runtime import cpu_flags

TEXT = "Üç gündür internet yok, paramı geri istiyorum!"
ENV_SHOWN = (
    "NABIZ_PRECISION",
    "NABIZ_RUNTIME",
    "ONEDNN_MAX_CPU_ISA",
    "ATEN_CPU_CAPABILITY",
    "NABIZ_NUM_THREADS",
    "OMP_NUM_THREADS",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def checkout_revision(nabiz: str) -> str:
    """The commit of the checkout whose ``.venv/bin/nabiz`` is timed (or of this directory)."""
    root = Path(nabiz).parents[2] if Path(nabiz).parent.parent.name == ".venv" else Path.cwd()
    result = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{result.stdout.strip() or 'unknown'}{' (with uncommitted changes)' if dirty else ''}"


def time_server_start(
    nabiz: str, model: Path, database: Path, timeout_s: float
) -> tuple[float, float]:
    """Seconds from spawning `nabiz serve` to the first `/readyz` 200, and the CPU it used."""
    port = free_port()
    env = dict(os.environ, NABIZ_DATABASE_URL=f"sqlite:///{database}")
    cpu_before = children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [nabiz, "serve", "--model", str(model), "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        while time.perf_counter() - started < timeout_s:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - started, _stop(proc, cpu_before)
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"not ready within {timeout_s} s")
    finally:
        if proc.poll() is None:
            _stop(proc, cpu_before)


def _stop(proc: subprocess.Popen, cpu_before: float) -> float:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return children_cpu() - cpu_before


def time_predict(nabiz: str, model: Path, text: str) -> tuple[float, float]:
    cpu_before = children_cpu()
    started = time.perf_counter()
    result = subprocess.run(
        [nabiz, "predict", text, "--model", str(model)], capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if result.returncode:
        raise RuntimeError(f"nabiz predict failed: {result.stderr[-2000:]}")
    return wall, children_cpu() - cpu_before


def summary(name: str, walls: list[float], cpus: list[float]) -> str:
    rounds = ", ".join(f"{w:.2f}" for w in walls)
    return (
        f"{name}: wall {rounds} s; median {statistics.median(walls):.2f} s "
        f"(CPU median {statistics.median(cpus):.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--text", default=TEXT)
    parser.add_argument(
        "--nabiz",
        default=str(Path(sys.executable).with_name("nabiz")),
        help="The nabiz executable to time (another checkout's venv to compare).",
    )
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()

    flags = cpu_flags()
    print(f"commit {checkout_revision(args.nabiz)}; nabiz {args.nabiz}; model {args.model}")
    print(f"CPU x{os.cpu_count()}, flags: {' '.join(flags)}")
    print("env: " + ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in ENV_SHOWN))
    print(f"load average at start: {load_average()}")
    results: dict[str, tuple[list[float], list[float]]] = {
        "serve, fresh database": ([], []),
        "serve, restart": ([], []),
        "predict": ([], []),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            database = Path(tmp) / f"queue-{round_}.db"
            measured = {
                "serve, fresh database": time_server_start(
                    args.nabiz, args.model, database, args.timeout
                ),
                "serve, restart": time_server_start(args.nabiz, args.model, database, args.timeout),
                "predict": time_predict(args.nabiz, args.model, args.text),
            }
            for name, (wall, cpu) in measured.items():
                results[name][0].append(wall)
                results[name][1].append(cpu)
            line = "; ".join(
                f"{name} {wall:.2f} s (CPU {cpu:.2f} s)" for name, (wall, cpu) in measured.items()
            )
            print(f"round {round_ + 1}: {line}; load {load_average()}", flush=True)
    for name, (walls, cpus) in results.items():
        print(summary(name, walls, cpus))
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
