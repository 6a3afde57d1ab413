"""Batch scorer rows/s and peak memory on a generated export, and cold start of the server.

Generates a CSV export of --rows rows (texts drawn from the model's test split, with id, channel
and time columns), runs `nabiz score` on it in a child process and reports rows/s, the child's
peak RSS and its RSS over the run. Then scores a smaller export (--compare-rows) both the product
way and the naive way (the same pipeline over fp32, every text padded to max_length, arrival
order), as a ratio. Then starts `nabiz serve` --cold-starts times and reports process start →
/readyz 200, and the model directory's size on disk.

    python benchmarks/bench_batch.py --model models/nabiz-cpu --rows 1000000
"""

from __future__ import annotations

import argparse
import csv
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


def score_command(export: Path, output: Path, model: Path) -> list[str]:
    """`nabiz score` as a user runs it: the product path."""
    command = [sys.executable, "-m", "nabiz.cli", "score", str(export)]
    return [*command, "--output", str(output), "--model", str(model), "--no-progress"]


def run_child(command: list[str]) -> tuple[float, list[tuple[float, float]]]:
    """Seconds and RSS timeline of one child process; exits if it fails."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    timeline = sample_rss(child, 2.0)
    if child.returncode != 0:
        raise SystemExit(f"{command[3:5]} failed with exit code {child.returncode}")
    return time.perf_counter() - started, timeline


def naive_score(export: Path, output: Path, model: Path) -> None:
    """The same pipeline (reading, priority, writing) with the naive model path behind it: fp32,
    every text padded to max_length, batches in arrival order (`plain_scores`)."""
    import numpy as np

    from nabiz.model.loading import from_pretrained
    from nabiz.model.predictor import Predictor, ScoredBatch
    from nabiz.model.reference import plain_scores, transformer_of
    from nabiz.serving.batch import score_file
    from nabiz.serving.priority import load_policy
    from nabiz.settings import Settings

    class PlainPredictor(Predictor):
        """The loaded model (mixture and all), its transformer run the plain way."""

        def __init__(self, product: Predictor) -> None:
            self.product, self.transformer = product, transformer_of(product)
            self.schema, self.info, self.path = product.schema, product.info, product.path

        def compute_scores(self, texts):
            truncated = np.asarray(self.transformer.encode(texts).truncated, dtype=bool)
            scores = plain_scores(self.product, texts, self.transformer.batch_size)
            return ScoredBatch(scores, truncated)

    predictor = PlainPredictor(from_pretrained(model, device="cpu", precision="fp32"))
    policy = load_policy(Settings().priority_policy)
    score_file(export, output, predictor, policy, progress=False)


def compare_with_naive(workdir: Path, model: Path, rows: int) -> None:
    """Product and naive `nabiz score` on the same smaller export, in this run, as a ratio."""
    export = workdir / "compare.csv"
    generate_export(export, rows, test_split_texts(model))
    product, _ = run_child(score_command(export, workdir / "compare-product.csv", model))
    naive_command = [sys.executable, __file__, "--naive-child", str(export)]
    naive_command += [str(workdir / "compare-naive.csv"), "--model", str(model)]
    naive, _ = run_child(naive_command)
    print(
        f"same {rows} rows: product {rows / product:.1f} rows/s, naive {rows / naive:.1f} "
        f"rows/s, speed-up {naive / product:.2f}x"
    )


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/nabiz-cpu"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument(
        "--compare-rows",
        type=int,
        default=10_000,
        help="rows of a second export scored both ways (product and naive); 0 skips it",
    )
    parser.add_argument("--naive-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output-format", default="csv", choices=["csv", "jsonl", "parquet"])
    args = parser.parse_args()
    if args.naive_child:
        naive_score(*args.naive_child, args.model)
        return

    print(f"# batch scorer and cold start — {machine_description()}; nabiz {git_revision()}")
    workdir = Path(tempfile.mkdtemp(prefix="nabiz-batch-"))
    export = workdir / "export.csv"
    generate_export(export, args.rows, test_split_texts(args.model))
    print(f"export: {args.rows} rows, {export.stat().st_size / 1e6:.1f} MB")
    output = workdir / f"scored.{args.output_format}"
    seconds, timeline = run_child(score_command(export, output, args.model))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # only child so far
    print(
        f"score: {args.rows / seconds:.1f} rows/s ({seconds:.0f} s), peak RSS "
        f"{peak_kb / 1024:.0f} MB, output {output.stat().st_size / 1e6:.1f} MB"
    )
    print_rss_timeline(timeline)

    if args.compare_rows:
        compare_with_naive(workdir, args.model, args.compare_rows)

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
