"""The acceptance check of a faster way to score: its served labels against torch fp32's on a
whole test split.

Loads the model twice through the product's entry point (``from_pretrained``, with the baseline
mixture when the model has one): torch ``precision="fp32"``, and the variant: ``int8`` (the
directory's ``quantization.json``, written by ``nabiz quantize``), ``bf16`` (with the rechecks of
its ``bf16_rechecks.json`` when ``nabiz quantize --precision bf16`` wrote one) or ``onnx`` (ONNX
Runtime fp32 on the directory's ``network.onnx``, written by ``nabiz export-onnx``). Prints per
task and source the share of labels equal to fp32's and the macro-F1 of both against the gold
labels, and each run's time. Acceptance: ≥ 99.5 % equal and macro-F1 within 0.3 points, per task
and source.

    python benchmarks/label_agreement.py --model models/nabiz-cpu --variant onnx [--prepared DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_revision, machine_description


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--prepared", type=Path, default=None, help="default: the model's own")
    parser.add_argument("--limit", type=int, default=0, help="first N test texts (0: all)")
    parser.add_argument("--variant", choices=["int8", "bf16", "onnx"], default="int8")
    parser.add_argument(
        "--speed-rounds", type=int, default=3, help="A/B rounds of fp32 vs the variant, 256 texts"
    )
    args = parser.parse_args()
    import datasets
    from sklearn.metrics import f1_score

    from nabiz.model.loading import from_pretrained

    print(machine_description())
    print(f"commit {git_revision()}; model {args.model}")
    if args.prepared:
        test = datasets.load_from_disk(str(args.prepared))["test"]
    else:
        from nabiz.training.data import load_prepared
        from nabiz.training.modeleval import load_model_config

        test = load_prepared(load_model_config(args.model))["test"]
    if args.limit:
        test = test.select(range(min(args.limit, len(test))))
    texts = list(test["text"])
    labels = {}
    variant = args.variant
    predictors = {
        "fp32": from_pretrained(args.model, device="cpu", precision="fp32"),
        variant: from_pretrained(
            args.model,
            device="cpu",
            precision="fp32" if variant == "onnx" else variant,
            runtime="onnx" if variant == "onnx" else "torch",
        ),
    }
    print(", ".join(f"{name}: {predictor.engine}" for name, predictor in predictors.items()))
    sample = texts[:256]
    for round_ in range(args.speed_rounds):  # alternating, so that other load slows both alike
        times = {}
        for name, predictor in predictors.items():
            started = time.perf_counter()
            predictor.predict(sample)
            times[name] = time.perf_counter() - started
        print(
            f"speed round {round_ + 1}, {len(sample)} texts: fp32 {times['fp32']:.1f} s, "
            f"{variant} {times[variant]:.1f} s: {variant} {times['fp32'] / times[variant]:.2f}x"
        )
    for name, predictor in predictors.items():
        started = time.perf_counter()
        predictions = predictor.predict(texts)
        elapsed = time.perf_counter() - started
        print(f"{name}: {len(texts)} texts in {elapsed:.1f} s ({len(texts) / elapsed:.1f}/s)")
        rechecked = getattr(predictor, "rechecked", None)  # int8's near ties, again in fp32
        if rechecked is not None:
            print(f"  {name} rescored {rechecked} of {predictor.scored} texts in fp32")
        labels[name] = {
            task.name: np.array([p.tasks[task.name].label for p in predictions])
            for task in predictor.schema.tasks
        }
    sources = np.array(test["source"])
    print(f"| task | source | texts | labels equal to fp32 | macro-F1 fp32 | {variant} | Δ |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for task, fp32 in labels["fp32"].items():
        other = labels[variant][task]
        gold = np.array([g if g is not None else "" for g in test[task]])
        for source in ["all", *sorted(set(sources))]:
            rows = np.ones(len(texts), bool) if source == "all" else sources == source
            same = float((fp32[rows] == other[rows]).mean())
            has_gold = rows & (gold != "")
            if has_gold.any():
                f_fp32 = 100 * f1_score(gold[has_gold], fp32[has_gold], average="macro")
                f_other = 100 * f1_score(gold[has_gold], other[has_gold], average="macro")
                f1 = f"{f_fp32:.2f} | {f_other:.2f} | {f_other - f_fp32:+.2f}"
            else:
                f1 = "– | – | –"
            print(f"| {task} | {source} | {int(rows.sum())} | {same:.2%} | {f1} |")


if __name__ == "__main__":
    main()
