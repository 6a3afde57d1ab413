"""`nabiz score` end to end against the plain transformers script a data scientist would write.

Both run as child processes on the same texts (the model's test split, in its order, repeated to
--rows), start-up included, alternating A/B/A/B so that a machine shared with other work slows
both alike. The plain script is written out below: the same encoder weights, fp32, batches of 32
in arrival order, padded to the longest text of the batch, truncated at the model's max length,
mean pooling, no task heads and no TF-IDF baseline (so it does less work than `nabiz score`).

It also prints the share of the CPU's peak fp32 FLOP/s that each run reaches, counting the
encoder's FLOPs per real (unpadded) token:
  per layer 2·(4·h² + 2·h·f) for the Linear layers + 4·L·h for attention (QKᵀ and AV over L
  positions), times the layers; the embedding lookups, LayerNorm, softmax and GELU are left out.
Peak = cores × clock × FP32 lanes per vector × 2 (an FMA is two FLOPs) × FMA units per core; the
lanes and units come from the CPU flags (AVX-512: 16 lanes, else AVX2: 8; 2 FMA units, which
holds for AMD Zen 2–4 and Intel server cores since Skylake), the clock from /proc/cpuinfo's
"cpu MHz" (the base clock a VM reports; turbo would raise the peak).

    python benchmarks/bench_vs_plain.py --model models/nabiz-cpu --rows 2000 --rounds 2
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_flags, git_revision, machine_description

PLAIN_SCRIPT = """
import csv, sys
import numpy as np
import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModel, AutoTokenizer

model_dir, input_csv, output, max_length, prefix = sys.argv[1:6]
tokenizer = AutoTokenizer.from_pretrained(model_dir)
model = AutoModel.from_config(AutoConfig.from_pretrained(model_dir), add_pooling_layer=False)
state = load_file(f"{model_dir}/model.safetensors")
model.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("encoder.")})
model.eval()
with open(input_csv, encoding="utf-8") as fh:
    texts = [prefix + row["yorum"] for row in csv.DictReader(fh)]
vectors = []
with torch.no_grad():
    for start in range(0, len(texts), 32):
        batch = tokenizer(texts[start:start + 32], padding=True, truncation=True,
                          max_length=int(max_length), return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        vectors.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
np.save(output, np.concatenate(vectors))
"""


def peak_flops() -> tuple[float, str]:
    """Peak fp32 FLOP/s of this machine's CPUs, and how it was derived."""
    flags = cpu_flags()
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    fma_units = 2
    mhz = 0.0
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("cpu MHz"):
            mhz = float(line.split(":")[1])
            break
    cores = os.cpu_count() or 1
    peak = cores * mhz * 1e6 * lanes * 2 * fma_units
    how = (
        f"{cores} cores x {mhz:.0f} MHz x {lanes} fp32 lanes x 2 (FMA) x {fma_units} FMA units "
        f"= {peak / 1e9:.1f} GFLOP/s"
    )
    return peak, how


def encoder_flops(config: dict, tokens_per_text: list[int]) -> float:
    """FLOPs of the encoder over texts of these (real) token counts."""
    h, f, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    total = 0.0
    for length in tokens_per_text:
        per_token = 2 * (4 * h * h + 2 * h * f) + 4 * length * h
        total += layers * per_token * length
    return total


def timed(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--precision", default="auto", help="NABIZ_PRECISION for the nabiz runs (auto, fp32, int8)"
    )
    parser.add_argument(
        "--prepared",
        type=Path,
        default=None,
        help="A prepared dataset directory whose test split to use (default: the model's own)",
    )
    args = parser.parse_args()
    from common import test_split_texts
    from transformers import AutoTokenizer

    from nabiz.model.predictor import ModelInfo
    from nabiz.model.tokenize import encode_texts

    print(machine_description())
    print(f"commit {git_revision()}; model {args.model}; NABIZ_PRECISION={args.precision}")
    info = ModelInfo.load(args.model)
    if args.prepared:
        import datasets

        texts = list(datasets.load_from_disk(str(args.prepared))["test"]["text"])
    else:
        texts = test_split_texts(args.model)
    texts = (texts * (args.rows // len(texts) + 1))[: args.rows]
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    lengths = [
        len(r) for r in encode_texts(tokenizer, texts, info.max_length, info.text_prefix).ids
    ]
    config = json.loads((args.model / "config.json").read_text())
    flops = encoder_flops(config, lengths)
    peak, how = peak_flops()
    print(
        f"{len(texts)} texts, {sum(lengths)} real tokens, {flops / 1e9:.1f} GFLOP of encoder work"
    )
    print(f"peak: {how}")
    env = {**os.environ, "NABIZ_PRECISION": args.precision}
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = tmp / "export.csv"
        with source.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "yorum"])
            writer.writerows(enumerate(texts))
        (tmp / "plain.py").write_text(PLAIN_SCRIPT, encoding="utf-8")
        nabiz = [
            sys.executable, "-m", "nabiz", "score", str(source), "--output", str(tmp / "out.csv"),
            "--text-column", "yorum", "--model", str(args.model), "--no-progress",
        ]  # fmt: skip
        plain = [
            sys.executable, str(tmp / "plain.py"), str(args.model), str(source),
            str(tmp / "plain.npy"), str(info.max_length), info.text_prefix,
        ]  # fmt: skip
        for round_ in range(args.rounds):
            a = timed(nabiz, env)
            b = timed(plain, env)
            ratios.append(b / a)
            print(
                f"round {round_ + 1}: nabiz score {a:.1f} s ({len(texts) / a:.1f} rows/s, "
                f"{flops / a / peak:.1%} of peak) | plain script {b:.1f} s "
                f"({len(texts) / b:.1f} rows/s, {flops / b / peak:.1%} of peak) | "
                f"nabiz {b / a:.2f}x faster"
            )
    print(f"median ratio (plain time / nabiz time): {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
