"""How far a model's test figures move with the training seed alone: the spread to read any
difference between two runs against.

Trains the profile once per seed (same prepared data and split: ``data.split.seed`` is not
touched, so every run is tested on the same rows), or reads model directories already trained,
and prints per source and task the macro-F1 of the served model, the encoder alone and the
baseline alone in each run, with the range, and the bank urgency set's AUC of P(yuksek).

    python benchmarks/seed_spread.py --config configs/default.yaml --profile cpu --seeds 13 14 15
    python benchmarks/seed_spread.py --models models/nabiz-cpu models/seed14 models/seed15
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_revision, machine_description

VARIANTS = ("nabiz", "transformer", "baseline")
MIN_TEXTS = (
    50  # sources with fewer test texts for a task are left out: one text moves them 2 points
)


def train(config: Path, profile: str, seed: int, output: Path) -> float:
    """``nabiz train`` with ``training.seed`` set; returns its wall time in seconds."""
    command = ["nabiz", "train", "--config", str(config), "--profile", profile]
    command += ["--set", f"training.seed={seed}", "--output", str(output)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def figures(model_dir: Path) -> dict[str, float]:
    """``variant source task`` → test macro-F1, and the bank set's AUC, from ``metrics.json``."""
    metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    result = {}
    for variant in VARIANTS:
        for source, tasks in metrics["test"][variant]["by_source"].items():
            for task, report in tasks.items():
                if report.get("n", 0) >= MIN_TEXTS:
                    result[f"{variant} {source} {task}"] = report["macro_f1"]
    bank = metrics.get("eval_sets", {}).get("vakifbank_urgency", {}).get("reports", {})
    for cues, report in bank.items():
        auc = report.get("nabiz", {}).get("tasks", {}).get("urgency", {}).get("auc_top")
        if auc is not None:
            result[f"nabiz bank-urgency-set AUC({cues})"] = auc
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    parser.add_argument("--output-root", type=Path, default=Path("models"))
    parser.add_argument("--models", type=Path, nargs="*", default=[], help="already trained")
    args = parser.parse_args()
    if not args.seeds and not args.models:
        parser.error("give --seeds to train or --models to read")
    print(machine_description())
    print(f"commit {git_revision()}")
    runs = list(args.models)
    for seed in args.seeds:
        output = args.output_root / f"seed-spread-{args.profile}-{seed}"
        print(f"seed {seed}: trained in {train(args.config, args.profile, seed, output):.0f} s")
        runs.append(output)
    table = [figures(run) for run in runs]
    names = [run.name for run in runs]
    print(f"| variant | source | task | {' | '.join(names)} | range |")
    print(f"|---|---|---|{'---:|' * len(names)}---:|")
    for key in table[0]:
        values = [row.get(key) for row in table]
        shown = " | ".join("–" if v is None else f"{v:.3f}" for v in values)
        present = [v for v in values if v is not None]
        spread = max(present) - min(present)
        print(f"| {' | '.join(key.split(' ', 2))} | {shown} | {spread:.3f} |")


if __name__ == "__main__":
    main()
