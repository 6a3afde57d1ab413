"""Batch scorer rows/s and peak memory on a generated export, and cold start of the server.

Generates a CSV export of --rows rows (texts drawn from the model's test split, with id, channel
and time columns), runs `nabiz score` on it in a child process and reports rows/s and the child's
peak RSS. Then starts `nabiz serve` --cold-starts times and reports process start → /readyz 200,
and the model directory's size on disk.

    python benchmarks/bench_batch.py --model models/nabiz-cpu --rows 1000000
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from bench_api import free_port, start_server
from common import git_revision, machine_description, test_split_texts

CHANNELS = ["e-posta", "sms", "twitter", "telefon", "web", "mağaza"]


def generate_export(path: Path, rows: int, texts: list[str]) -> None:
    rng = random.Random(0)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "kanal", "tarih", "yorum"])
        for i in range(rows):
            writer.writerow(
                [
                    i,
                    rng.choice(CHANNELS),
                    f"2025-03-{1 + i % 28:02d}T10:00:00+03:00",
                    rng.choice(texts),
                ]
            )


def rss_mib(pid: int) -> float | None:
    """Resident set size of a live process, from /proc (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def sample_rss(child: subprocess.Popen, every: float) -> list[tuple[float, float]]:
    """(seconds, RSS MiB) of the child until it exits: shows whether memory levels off or keeps
    growing with the rows, which the peak alone cannot tell."""
    started = time.perf_counter()
    timeline: list[tuple[float, float]] = []
    while child.poll() is None:
        rss = rss_mib(child.pid)
        if rss is not None:
            timeline.append((time.perf_counter() - started, rss))
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=every)
    return timeline


def print_rss_timeline(timeline: list[tuple[float, float]], parts: int = 10) -> None:
    """The highest RSS in each tenth of the run."""
    if not timeline:
        return
    end = timeline[-1][0] or 1.0
    peaks = [0.0] * parts
    for seconds, rss in timeline:
        part = min(parts - 1, int(seconds / end * parts))
        peaks[part] = max(peaks[part], rss)
    print("RSS by tenth of the run (MiB): " + " ".join(f"{p:.0f}" for p in peaks))


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/nabiz-cpu"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument("--rss-every", type=float, default=2.0, help="seconds between samples")
    parser.add_argument("--output-format", default="csv", choices=["csv", "jsonl", "parquet"])
    args = parser.parse_args()

    print(f"# batch scorer and cold start — {machine_description()}; nabiz {git_revision()}")
    workdir = Path(tempfile.mkdtemp(prefix="nabiz-batch-"))
    export = workdir / "export.csv"
    generate_export(export, args.rows, test_split_texts(args.model))
    print(f"export: {args.rows} rows, {export.stat().st_size / 1e6:.1f} MB")
    output = workdir / f"scored.{args.output_format}"
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nabiz.cli",
            "score",
            str(export),
            "--output",
            str(output),
            "--model",
            str(args.model),
        ],
        stdout=subprocess.DEVNULL,
        env=dict(os.environ, TQDM_DISABLE="1"),
    )
    timeline = sample_rss(child, args.rss_every)
    if child.returncode != 0:
        raise SystemExit(f"nabiz score failed with exit code {child.returncode}")
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"score: {args.rows / seconds:.1f} rows/s ({seconds:.0f} s), peak RSS "
        f"{peak_kb / 1024:.0f} MB, output {output.stat().st_size / 1e6:.1f} MB"
    )

    print_rss_timeline(timeline)

    print(
        f"model directory: {directory_size(args.model) / 1e6:.1f} MB "
        f"(weights {(args.model / 'model.safetensors').stat().st_size / 1e6:.1f} MB)"
    )
    times = []
    for _ in range(args.cold_starts):
        proc, ready = start_server(args.model, free_port(), {}, workdir)
        proc.terminate()
        proc.wait(timeout=30)
        times.append(ready)
    print(
        "cold start (process start → /readyz 200): "
        + ", ".join(f"{t:.2f} s" for t in times)
        + f"; median {sorted(times)[len(times) // 2]:.2f} s"
    )


if __name__ == "__main__":
    main()
