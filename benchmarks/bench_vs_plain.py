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
Peak = cores × clock × fp32 FMA lanes retired per cycle × 2 (an FMA is two FLOPs). The lanes come
from the CPU flags: AVX2 has 8 fp32 lanes per vector and server cores have 2 FMA units (16 lanes a
cycle); AVX-512 has 16 lanes, and Intel server cores retire 2 such FMAs a cycle (32), but AMD Zen 4
(family 25 with avx512f) runs a 512-bit op as two 256-bit halves on its 2 FMA pipes, so it stays at
16 lanes a cycle; Zen 5 (family 26) has full 512-bit pipes, 32 lanes like Intel's. A bf16
dot-product (``vdpbf16ps``, AVX512-BF16) does two products per fp32 lane, so the bf16 peak is twice
the fp32 one. With AMX (``amx_bf16``), oneDNN runs bf16 matrix products on the tile unit instead:
one 16×32 by 32×16 tile product (16,384 FLOPs) every 16 cycles, 1,024 bf16 FLOPs a cycle and
core (Intel's figure for 4th-generation Xeons), 16 times the AVX-512 bf16 rate. The nabiz run is
shown against the peak of the precision it ran in (bf16 under ``auto`` on such a CPU) and the fp32
one. With the AVX2 stand-in (``ONEDNN_MAX_CPU_ISA=AVX2`` etc.)
the peak is the AVX2 one. The clock is /proc/cpuinfo's "cpu MHz" (the base clock a VM reports; turbo
would raise the peak), so each run is also shown against the fp32 rate one large matrix product of
the encoder's shape reaches here, measured in the same run (the faster of torch and ONNX Runtime).

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
from common import git_revision, machine_description

from nabiz.model.runtime import cpu_flags, read_cpuinfo

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


AMX_BF16_FLOPS_PER_CYCLE = 1024  # per core: a 16x32 by 32x16 bf16 tile product in 16 cycles


def peak_flops() -> tuple[float, float, str]:
    """Peak fp32 and bf16 FLOP/s of this machine's CPUs as the libraries may use them (ISA caps
    of the AVX2 stand-in included), and how they were derived."""
    flags = cpu_flags()
    info = read_cpuinfo()
    capped = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in {"AVX2", "AVX", "SSE41"}
    avx512 = "avx512f" in flags and not capped
    zen4 = info.get("vendor_id") == "AuthenticAMD" and info.get("cpu family") == "25"
    if avx512:
        lanes = 16 if zen4 else 32
        what = "AVX-512 on Zen 4 (2x256-bit FMA pipes)" if zen4 else "AVX-512, 2 FMA units"
    elif "avx2" in flags:
        lanes, what = 16, "AVX2, 8 lanes x 2 FMA units"
    else:
        lanes, what = 8, "SSE, 4 lanes x 2 units"
    from nabiz.model.runtime import cpu_has_fast_bf16  # what `auto` decides with

    mhz = float(info.get("cpu MHz", "0"))
    cores = os.cpu_count() or 1
    peak = cores * mhz * 1e6 * lanes * 2
    how = (
        f"{cores} cores x {mhz:.0f} MHz x {lanes} fp32 FMA lanes a cycle ({what}) x 2 "
        f"= {peak / 1e9:.1f} GFLOP/s fp32"
    )
    if not (avx512 and cpu_has_fast_bf16()):
        return peak, peak, how
    if "amx_bf16" in flags:
        peak_bf16 = cores * mhz * 1e6 * AMX_BF16_FLOPS_PER_CYCLE
        return peak, peak_bf16, how + f"; AMX tiles: {peak_bf16 / 1e9:.1f} GFLOP/s bf16"
    return peak, 2 * peak, how + f", x2 for bf16 dot-products = {2 * peak / 1e9:.1f} GFLOP/s bf16"


MATMUL_SHAPE = (4096, 384, 1536)  # the FFN's first product for 4,096 tokens of the encoder


def measured_matmul_flops(repeats: int = 20) -> tuple[float, str]:
    """The fp32 FLOP/s of one large matrix product of the encoder's shape, the faster of torch and
    ONNX Runtime (where installed), best of ``repeats`` calls: what this CPU really sustains.

    The formula's peak takes the clock a VM reports, often the base clock; a core that boosts
    runs faster, and on an AVX2-only Zen 2 one product ran above that "peak" (BENCHMARKS.md §9)."""
    import numpy as np
    import torch

    rows, inner, cols = MATMUL_SHAPE
    x, w = torch.randn(rows, inner), torch.randn(inner, cols)
    runs = {"torch": lambda: torch.mm(x, w)}
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        pass
    else:
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["x", "w"], ["y"])],
            "matmul",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, inner])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, cols])],
            [numpy_helper.from_array(w.numpy(), "w")],
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        session = ort.InferenceSession(
            helper.make_model(graph).SerializeToString(), options, ["CPUExecutionProvider"]
        )
        feed = {"x": np.asarray(x.numpy())}
        runs["onnxruntime"] = lambda: session.run(None, feed)
    best: dict[str, float] = {}
    for name, run in runs.items():
        run()
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        best[name] = 2 * rows * inner * cols / min(times)
    name = max(best, key=best.get)
    return best[name], f"{name}, {rows}x{inner} by {inner}x{cols}"


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
    peak, peak_bf16, how = peak_flops()
    print(
        f"{len(texts)} texts, {sum(lengths)} real tokens, {flops / 1e9:.1f} GFLOP of encoder work"
    )
    print(f"peak: {how}")
    matmul, matmul_how = measured_matmul_flops()
    print(f"one large fp32 product reached {matmul / 1e9:.1f} GFLOP/s ({matmul_how})")
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
                f"{flops / a / peak:.1%} of fp32 peak, {flops / a / matmul:.1%} of the product's"
                + (f", {flops / a / peak_bf16:.1%} of bf16 peak" if peak_bf16 > peak else "")
                + f") | plain script {b:.1f} s ({len(texts) / b:.1f} rows/s, "
                f"{flops / b / peak:.1%} of fp32 peak, {flops / b / matmul:.1%} of the product's) "
                f"| nabiz {b / a:.2f}x faster"
            )
    print(f"median ratio (plain time / nabiz time): {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
