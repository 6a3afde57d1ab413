"""Why dynamic int8 moved labels, and which layers to keep in fp32: measured on real texts.

Runs a multi-task model over the prepared test split in fp32 and in several int8 variants and
prints, per task and source, the share of labels equal to fp32's; per encoder Linear layer, how
far its input activations reach beyond their spread (max |x| / std: the outliers one int8 scale
per tensor cannot hold) and how much quantizing that layer alone moves the scores.

``--model DIR``: a trained model directory. Without it (no trained model yet), a proxy: the
converted base encoder with task heads fitted by logistic regression on its fp32 embeddings of
``--train-texts`` training texts. The proxy's heads are not fine-tuned, so its label margins differ
from a trained model's; its figures show the mechanism, a trained model's figures decide.

    python benchmarks/quant_sensitivity.py [--model DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from common import machine_description

from nabiz.model.network import MultiTaskModel, mean_pool
from nabiz.model.quantize import (
    activation_ranges,
    encoder_linears,
    label_agreement,
    outlier_channels,
    quantize_model,
)
from nabiz.model.tokenize import PAD_MULTIPLE, encode_texts, length_sorted_batches, pad_batch
from nabiz.model.transformer import load_model, load_pretrained_encoder, task_probabilities

REPO = Path(__file__).resolve().parent.parent


def batches(ids, pad_id, batch_size=64):
    for batch in length_sorted_batches([len(r) for r in ids], batch_size):
        yield batch, pad_batch([ids[i] for i in batch], pad_id, multiple_of=PAD_MULTIPLE)


@torch.inference_mode()
def run_scores(model, ids, schema, pad_id) -> dict[str, np.ndarray]:
    out = {t.name: np.zeros((len(ids), t.num_labels), np.float32) for t in schema.tasks}
    for batch, (input_ids, mask) in batches(ids, pad_id):
        for name, probs in task_probabilities(model(input_ids, mask), schema).items():
            out[name][batch] = probs
    return out


@torch.inference_mode()
def pooled(encoder, ids, pad_id) -> np.ndarray:
    out = np.zeros((len(ids), encoder.config.hidden_size), np.float32)
    for batch, (input_ids, mask) in batches(ids, pad_id):
        hidden = encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        out[batch] = mean_pool(hidden, mask).numpy()
    return out


def proxy_model(encoder_dir: Path, data, schema, n_train: int):
    """Base encoder + logistic-regression heads on its fp32 embeddings."""
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    model = MultiTaskModel(load_pretrained_encoder(str(encoder_dir)), schema).eval()
    train = data["train"].shuffle(seed=0).select(range(n_train))
    ids = encode_texts(tokenizer, train["text"], 64, "query: ").ids
    x = pooled(model.encoder, ids, tokenizer.pad_token_id)
    for task in schema.tasks:
        rows = [i for i, v in enumerate(train[task.name]) if v is not None]
        y = np.array([task.index(train[task.name][i]) for i in rows])
        clf = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced").fit(x[rows], y)
        weight = np.zeros((task.num_labels, x.shape[1]), np.float32)
        bias = np.full(task.num_labels, -30.0, np.float32)
        if len(clf.classes_) == 2:
            weight[clf.classes_[1]], bias[clf.classes_[1]] = clf.coef_[0], clf.intercept_[0]
            bias[clf.classes_[0]] = 0.0
        else:
            weight[clf.classes_], bias[clf.classes_] = clf.coef_, clf.intercept_
        head = model.heads[task.name]
        head.weight.data = torch.from_numpy(weight)
        head.bias.data = torch.from_numpy(bias)
    return model, tokenizer


def input_outliers(model, ids, pad_id) -> dict[str, float]:
    """Per encoder Linear: max |input| / std of its input, over the real (unpadded) tokens."""
    stats: dict[str, float] = {}
    hooks = []
    for name in encoder_linears(model):
        module = model.get_submodule(name)

        def hook(_m, args, name=name):
            x = args[0].detach().reshape(-1, args[0].shape[-1])
            x = x[x.abs().sum(dim=1) > 0]
            ratio = float(x.abs().max() / x.std())
            stats[name] = max(stats.get(name, 0.0), ratio)

        hooks.append(module.register_forward_hook(lambda m, a, o, h=hook: h(m, a)))
    run_scores(model, ids, SCHEMA, pad_id)
    for h in hooks:
        h.remove()
    return stats


def main() -> None:
    global SCHEMA
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument(
        "--encoder", type=Path, default=REPO / ".cache/encoders/multilingual-e5-small"
    )
    parser.add_argument("--data", type=Path, default=REPO / ".cache/prepared/nabiz-tr")
    parser.add_argument("--train-texts", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=0, help="test texts (0: the whole split)")
    parser.add_argument("--probe-texts", type=int, default=256)
    parser.add_argument("--only-split", action="store_true")
    args = parser.parse_args()
    import datasets

    torch.manual_seed(0)
    print(machine_description())
    data = datasets.load_from_disk(str(args.data))
    if args.model:
        model, tokenizer, SCHEMA, info = load_model(args.model)
        max_length, prefix = info.max_length or 64, info.text_prefix
    else:
        from nabiz.training.config import load_config

        SCHEMA = load_config(REPO / "configs/default.yaml").schema
        model, tokenizer = proxy_model(args.encoder, data, SCHEMA, args.train_texts)
        max_length, prefix = 64, "query: "
    pad = tokenizer.pad_token_id
    test = data["test"] if not args.limit else data["test"].select(range(args.limit))
    ids = encode_texts(tokenizer, test["text"], max_length, prefix).ids
    sources = np.array(test["source"])
    t0 = time.perf_counter()
    reference = run_scores(model, ids, SCHEMA, pad)
    print(f"fp32 over {len(ids)} test texts: {time.perf_counter() - t0:.1f} s")

    def report(title, scores):
        agree = label_agreement(reference, scores)
        per_source = []
        for src in sorted(set(sources)):
            rows = sources == src
            sub = label_agreement(
                {k: v[rows] for k, v in reference.items()}, {k: v[rows] for k, v in scores.items()}
            )
            per_source.append(f"{src}: " + " ".join(f"{k}={v:.3f}" for k, v in sub.items()))
        print(f"{title}: " + " ".join(f"{k}={v:.4f}" for k, v in agree.items()))
        for line in per_source:
            print("    " + line)

    linears = encoder_linears(model)
    kinds = sorted({n.split(".", 4)[-1] for n in linears})
    for per_channel in () if args.only_split else (False, True):
        t0 = time.perf_counter()
        scores = run_scores(quantize_model(model, per_channel=per_channel), ids, SCHEMA, pad)
        label = "per-channel" if per_channel else "per-tensor"
        report(f"int8 all layers, {label} ({time.perf_counter() - t0:.1f} s)", scores)
    calib = [ids[i] for i in range(0, len(ids), max(1, len(ids) // args.probe_texts))]
    ranges = activation_ranges(model, lambda m: run_scores(m, calib, SCHEMA, pad), linears)
    ffn_out = [n for n in linears if n.endswith("output.dense") and "attention" not in n]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        report(
            "bf16 autocast (emulated here without native bf16)", run_scores(model, ids, SCHEMA, pad)
        )
    for engine in ("onednn", "x86"):
        torch.backends.quantized.engine = engine
        outl = outlier_channels(ranges, 6.0, 16)
        t0 = time.perf_counter()
        scores = run_scores(quantize_model(model, outliers=outl), ids, SCHEMA, pad)
        report(f"engine {engine} split r=6 k=16 ({time.perf_counter() - t0:.1f} s)", scores)
    for ratio, most in () if args.only_split else ((6.0, 16), (4.0, 32), (3.0, 64)):
        outl = outlier_channels(ranges, ratio, most)
        n_out = sum(len(v) for v in outl.values())
        q = quantize_model(model, outliers=outl)
        report(f"int8 split r={ratio} k={most} ({n_out} ch)", run_scores(q, ids, SCHEMA, pad))
        q = quantize_model(model, ffn_out, outliers=outl)
        report(f"int8 split r={ratio} k={most}, FFN out fp32", run_scores(q, ids, SCHEMA, pad))
    if args.only_split:
        return
    for kind in kinds:
        keep = [n for n in linears if not n.endswith(kind)]
        report(f"int8 only {kind}", run_scores(quantize_model(model, keep), ids, SCHEMA, pad))

    probe = ids[: args.probe_texts]
    outliers = input_outliers(model, probe, pad)
    ref_probe = {k: v[: args.probe_texts] for k, v in reference.items()}
    print("\nper layer: input max|x|/std, score change (mean TV distance) with only it in int8")
    sens = {}
    for name in linears:
        scores = run_scores(
            quantize_model(model, [n for n in linears if n != name]), probe, SCHEMA, pad
        )
        sens[name] = float(
            np.mean([np.abs(scores[t] - r).sum(axis=1).mean() for t, r in ref_probe.items()])
        )
        print(f"  {name:55s} {outliers[name]:8.1f} {sens[name]:.5f}")
    order = sorted(linears, key=sens.__getitem__, reverse=True)
    for k in (1, 2, 4, 8, 12):
        keep = order[:k]
        t0 = time.perf_counter()
        scores = run_scores(quantize_model(model, keep), ids, SCHEMA, pad)
        report(f"int8, {k} most sensitive kept fp32 ({time.perf_counter() - t0:.1f} s)", scores)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
