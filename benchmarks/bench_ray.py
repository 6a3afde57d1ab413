"""The Ray engine against the local engine: rows/s and peak memory on the same rows, 1 → 2 actors.

Generates one CSV export of --rows rows (id, channel, time and text columns; texts from the
model's test split when it has one, else made of Turkish sample sentences), then runs, each in a
child process on this machine:

* ``nabiz score export.csv -o out.parquet`` (the local engine: one process, torch's threads);
* ``nabiz score export.csv -o out/ --engine ray --concurrency K --cpus-per-actor C`` for each
  K in --actors (a local Ray instance that the command starts).

For each it reports the wall time of the whole command, rows/s, and the peak memory: the sum of
the RSS of the command's whole process tree (Ray's GCS, raylet, workers and actors are children
of the command), sampled every --sample seconds. Pages shared between processes (the model files
mapped by several actors, Ray's object store) count once per process, so the Ray figure is an
upper bound. A run of --warmup-rows rows measures the fixed cost of each configuration (process
start, Ray start, actors loading the model); "rows/s net" takes it out.

    python benchmarks/bench_ray.py --model models/nabiz-cpu --rows 200000
    python benchmarks/bench_ray.py --model tiny --rows 200000   # the test suite's tiny model
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_revision, machine_description

CHANNELS = ["e-posta", "sms", "twitter", "telefon", "web", "mağaza"]
SENTENCES = [
    "Faturam bu ay çok yüksek geldi, açıklama bekliyorum.",
    "İnternet üç gündür çekmiyor, arıza kaydı açtım ama kimse aramadı.",
    "Müşteri hizmetleri çok ilgiliydi, teşekkür ederim.",
    "Numaramı başka operatöre taşıyacağım, yeter artık!",
    "Uygulama sürekli hata veriyor, giriş yapamıyorum.",
    "Kampanya fiyatı mağazada farklı söylendi, hangisi doğru?",
    "Paketimde kalan internet hakkını göremiyorum.",
    "Şubedeki çalışan sorunumu hemen çözdü, çok memnun kaldım.",
]


def sample_texts(model_dir: Path) -> tuple[list[str], str]:
    """The model's test-split texts when it was trained here, else sentences joined 1..6."""
    if (model_dir / "training_config.yaml").is_file():
        with contextlib.suppress(Exception):
            from common import test_split_texts

            return test_split_texts(model_dir), "the model's test split"
    rng = random.Random(0)
    texts = [" ".join(rng.choices(SENTENCES, k=rng.randint(1, 6))) for _ in range(5_000)]
    return texts, "sample sentences, 1-6 per text"


def generate_export(path: Path, rows: int, texts: list[str]) -> None:
    rng = random.Random(0)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "kanal", "tarih", "yorum"])
        for i in range(rows):
            day = f"2025-03-{1 + i % 28:02d}T10:00:00+03:00"
            writer.writerow([i, rng.choice(CHANNELS), day, rng.choice(texts)])


def tree_rss_mib(root: int) -> float:
    """The summed RSS of ``root`` and all its descendants, from /proc (Linux)."""
    parents: dict[int, int] = {}
    rss: dict[int, float] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        pid = int(status.parent.name)
        parents[pid] = int(fields.get("PPid", "0").strip())
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(rss.get(pid, 0.0) for pid in tree)


@dataclass
class Run:
    label: str
    rows: int
    seconds: float
    peak_mib: float


def run(label: str, command: list[str], rows: int, every: float) -> Run:
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, tree_rss_mib(child.pid))
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=every)
    seconds = time.perf_counter() - started
    output = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        print(output[-4000:])
        raise SystemExit(f"{label} failed with exit code {child.returncode}")
    return Run(label, rows, seconds, peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="Model directory, or 'tiny'.")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--warmup-rows", type=int, default=200)
    parser.add_argument("--actors", default="1,2", help="Actor counts to run, comma-separated.")
    parser.add_argument("--cpus-per-actor", type=float, default=1.0)
    parser.add_argument(
        "--batch-size", type=int, default=None, help="Rows per model call (default: nabiz's)"
    )
    parser.add_argument(
        "--no-local", action="store_true", help="Run only the Ray engine (local measured before)."
    )
    parser.add_argument("--sample", type=float, default=0.5, help="Seconds between RSS samples.")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-ray-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.model == "tiny":
        from nabiz.model.tiny import make_tiny_model
        from nabiz.training.config import load_config

        root = Path(__file__).resolve().parents[1]
        schema = load_config(root / "configs" / "default.yaml").schema
        model = make_tiny_model(work / "tiny-model", schema)
        model_note = "the tests' tiny random model (2 layers, hidden 32): engine overhead"
    else:
        model = Path(args.model)
        model_note = str(model)
    texts, source = sample_texts(model)

    print(f"# bench_ray: {machine_description()}; git {git_revision()}")
    print(f"# model {model_note}; texts from {source}; batch size {args.batch_size or 'default'}")
    exports = {}
    for rows in (args.warmup_rows, args.rows):
        exports[rows] = work / f"export-{rows}.csv"
        generate_export(exports[rows], rows, texts)

    nabiz = [sys.executable, "-m", "nabiz", "score"]
    common = ["--model", str(model), "--no-progress"]
    if args.batch_size:
        common += ["--batch-size", str(args.batch_size)]
    common += ["--channel-column", "kanal", "--time-column", "tarih"]
    configs: list[tuple[str, list[str], str]] = [] if args.no_local else [("local", [], ".parquet")]
    for actors in [int(n) for n in args.actors.split(",")]:
        ray = ["--engine", "ray", "--concurrency", str(actors)]
        ray += ["--cpus-per-actor", str(args.cpus_per_actor)]
        label = f"ray, {actors} actor{'s' if actors > 1 else ''} x {args.cpus_per_actor:g} CPU"
        configs.append((label, ray, ""))

    print(
        f"{'engine':<26} {'rows':>8} {'wall s':>8} {'rows/s':>8} {'fixed s':>8} "
        f"{'rows/s net':>10} {'peak MiB':>9}"
    )
    for label, extra, suffix in configs:
        measured = {}
        for rows, export in exports.items():
            output = work / f"out-{rows}{suffix}"
            if output.is_dir():
                shutil.rmtree(output)
            command = [*nabiz, str(export), "--output", str(output), *common, *extra]
            measured[rows] = run(label, command, rows, args.sample)
        fixed, full = measured[args.warmup_rows], measured[args.rows]
        net = (full.rows - fixed.rows) / max(1e-9, full.seconds - fixed.seconds)
        print(
            f"{label:<26} {full.rows:>8,} {full.seconds:>8.1f} {full.rows / full.seconds:>8,.0f} "
            f"{fixed.seconds:>8.1f} {net:>10,.0f} {full.peak_mib:>9,.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
