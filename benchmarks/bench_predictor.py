"""Predictor throughput (texts/s) at several batch sizes, beside the naive way.

The naive way is the same weights run as a first version would: fp32, every text padded to the
max length, texts in arrival order, under ``torch.no_grad``. The product path is
``load_predictor`` with the settings' defaults, as the API and the batch scorer use it (bf16 on
a GPU or a CPU where bf16 beats fp32; ONNX Runtime fp32 where the model has ``network.onnx`` and
bf16 is not faster, which needs ``--skip-naive``). Both run in this process on the same texts,
so the ratio is like for like. On a GPU it also prints the share of the chip's peak bf16 FLOP/s
that the product path reaches.

    python benchmarks/bench_predictor.py --model models/nabiz-cpu [--texts 1024]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_revision, machine_description, test_split_texts

from nabiz.model.loading import load_predictor
from nabiz.model.mixture import MixturePredictor
from nabiz.model.reference import plain_scores
from nabiz.model.transformer import TransformerPredictor
from nabiz.settings import Settings

PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12}


def flops_per_token(model, seq_len: float) -> float:
    """2 x non-embedding parameters, plus attention's QK^T and AV (4 x layers x seq x hidden)."""
    config = model.encoder.config
    embeddings = sum(p.numel() for p in model.encoder.embeddings.parameters())
    dense = sum(p.numel() for p in model.parameters()) - embeddings
    return 2 * dense + 4 * config.num_hidden_layers * seq_len * config.hidden_size


def timed(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/nabiz-cpu"))
    parser.add_argument("--texts", type=int, default=512, help="How many test-split texts.")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument(
        "--stages",
        action="store_true",
        help="Also time each stage alone at each batch size: tokenizing, the encoder on "
        "ready token ids, the transformer alone end to end, and the TF-IDF baseline.",
    )
    parser.add_argument(
        "--max-batches",
        type=int,
        default=0,
        help="Score at most this many batches per batch size (0: all texts); keeps batch 1 short.",
    )
    parser.add_argument(
        "--repeat-texts",
        type=int,
        default=1,
        help="Score the test texts this many times over (a GPU needs more than one split).",
    )
    args = parser.parse_args()

    print(f"# predictor throughput — {machine_description()}; nabiz {git_revision()}")
    texts = test_split_texts(args.model)
    rng = np.random.default_rng(0)
    texts = [texts[i] for i in rng.permutation(len(texts))[: args.texts]] * args.repeat_texts
    predictor = load_predictor(args.model, Settings(device=args.device))
    # The encoder's part: torch, or ONNX Runtime where `auto` chose it (the naive way and the
    # stages need the torch one).
    encoder = predictor.first if isinstance(predictor, MixturePredictor) else predictor
    transformer = encoder if isinstance(encoder, TransformerPredictor) else None
    if transformer is None and not (args.skip_naive and not args.stages):
        parser.error("the model runs in ONNX Runtime here: pass --skip-naive, without --stages")
    runtime = "onnx fp32" if transformer is None else "bf16" if transformer.bf16 else "fp32"
    lengths = [len(x) for x in encoder.encode(texts).ids]
    print(
        f"model {args.model} ({predictor.info.name} {predictor.info.version}, "
        f"{runtime}); {len(texts)} "
        f"test-split texts, tokens mean {np.mean(lengths):.1f} / max {max(lengths)} "
        f"(max length {predictor.info.max_length})"
    )
    print(f"{'batch':>5} {'product t/s':>12} {'naive t/s':>10} {'speed-up':>9} {'same labels':>12}")
    all_texts = texts
    for batch_size in args.batch_sizes:
        texts = all_texts[: batch_size * args.max_batches] if args.max_batches else all_texts
        encoder.batch_size = batch_size
        predictor.predict_scores(texts[: batch_size * 2])  # warm-up
        fast = timed(lambda t=texts: predictor.predict_scores(t), args.repeats)
        line = f"{batch_size:>5} {len(texts) / fast:>12.1f}"
        if not args.skip_naive:
            plain_scores(predictor, texts[: batch_size * 2], batch_size)
            slow = timed(lambda bs=batch_size, t=texts: plain_scores(predictor, t, bs), 1)
            product = predictor.predict_scores(texts).scores
            naive = plain_scores(predictor, texts, batch_size)
            same = np.mean([(product[k].argmax(1) == naive[k].argmax(1)).mean() for k in naive])
            line += f" {len(texts) / slow:>10.1f} {slow / fast:>8.2f}x {100 * same:>11.2f}%"
        if transformer is not None and transformer.device.type == "cuda":
            name = torch.cuda.get_device_name(0)
            peak = next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)
            scored = lengths[: len(texts)]
            tokens_per_s = sum(scored) / fast
            achieved = flops_per_token(transformer.model, float(np.mean(scored))) * tokens_per_s
            if peak:
                line += f"  {achieved / 1e12:.1f} TFLOP/s = {100 * achieved / peak:.1f}% of peak"
        print(line, flush=True)
        if args.stages:
            print_stages(predictor, transformer, texts, batch_size, args.repeats)


def print_stages(predictor, transformer, texts, batch_size: int, repeats: int) -> None:
    """Texts/s of each stage on its own: which one bounds the product path."""
    from nabiz.model.transformer import score_token_ids

    encoded = transformer.encode(texts)

    def encoder_only():
        score_token_ids(
            transformer.model,
            encoded.ids,
            transformer.schema,
            transformer.tokenizer.pad_token_id,
            batch_size,
            transformer.device,
            transformer.bf16,
        )

    stages = {
        "tokenize": lambda: transformer.encode(texts),
        "encoder on token ids": encoder_only,
        "transformer alone": lambda: transformer.predict_scores(texts),
    }
    if predictor is not transformer:
        second = getattr(predictor, "second", None)
        if second is not None:
            stages["baseline alone"] = lambda: second.predict_scores(texts)
    parts = ", ".join(
        f"{name} {len(texts) / timed(fn, repeats):.0f} t/s" for name, fn in stages.items()
    )
    print(f"      stages at batch {batch_size}: {parts}", flush=True)


if __name__ == "__main__":
    main()
