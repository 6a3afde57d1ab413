"""Does ONNX Runtime make the encoder faster on this CPU, in fp32 and int8, and how faithfully?

Issue 13 ("fast on every CPU"): without native bf16 the encoder runs in torch fp32, and torch's
dynamic int8 moved 14–23 % of labels (BENCHMARKS.md §9). This probe loads a model directory
through the product's own code (``TransformerPredictor.from_pretrained``: the plain-torch BERT of
``bert.py``), exports the whole network (token ids + mask → every task head's logits) to ONNX and
runs it in ONNX Runtime: fp32 as exported, fp32 after ``onnxruntime.transformers``' BERT fusion,
and dynamic int8 (``quantize_dynamic``, per-channel weights) with int8 (U8S8) or uint8 (U8U8)
weights, with and without the FFN output dense layers kept in fp32.

Why the heads are inside the graph: they are four 384×k products (nothing to time), and with them
the ONNX model answers what the product needs (logits per task) in one call, so the labels
compared are exactly the served transformer's argmax; an exported pooled vector would need the
heads in torch beside it for the same result.

Every variant scores the same pre-tokenized texts (``TransformerPredictor.encode``: prefix,
head+tail cut) in the product's length-sorted batches, padded to a multiple of 8
(``length_sorted_batches``/``pad_batch``/``PAD_MULTIPLE``); torch fp32 runs the product's own
``score_token_ids``. Timed: padding, the network, softmax; not tokenization (the same for all).
Speed rounds alternate the variants, so that other load slows them alike; each round is printed.
Labels: per task, the share of texts whose argmax (multi-label: label set at 0.5) equals torch
fp32's, over all texts and per ``source``.

    nice -n 19 python benchmarks/ort_probe.py --model /work/main/models/nabiz-cpu --texts 1000
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_revision, machine_description

from nabiz.model.network import mean_pool
from nabiz.model.onnx_export import fuse_bert
from nabiz.model.onnx_export import written_out_attention as eager_attention
from nabiz.model.tokenize import PAD_MULTIPLE, length_sorted_batches, pad_batch
from nabiz.model.transformer import TransformerPredictor, score_token_ids

# variants built from the BERT-fused graphs: skipping all of them skips the fusion itself
FUSED_VARIANTS = (
    "ort-fp32-fused",
    "ort-fp32-eager-fused",
    *(f"ort-int8-{w}-fused{k}" for w in ("s8", "u8") for k in ("", "-ffnout-fp32")),
)
DEFAULT_DATA = Path("/work/main/.cache/prepared/nabiz-tr-cpu")
BatchRunner = Callable[[np.ndarray, np.ndarray], list[np.ndarray]]


class ExportedNetwork(torch.nn.Module):
    """The product's network with the key mask always passed, for tracing.

    ``BertEncoder.forward`` drops the mask when no row is padded (``bool(mask.all())``), a
    data-dependent branch an exported graph cannot hold; with the mask kept the outputs are the
    same (nothing is masked then). Outputs: the heads' logits, in the schema's task order.

    ``eager_attention``: attention written out (scores, additive mask, softmax, weighted sum)
    instead of ``scaled_dot_product_attention``, the pattern ``onnxruntime.transformers``' BERT
    fusion looks for (it found no attention to fuse in the SDPA graph); the same computation."""

    def __init__(self, network: torch.nn.Module, eager_attention: bool = False) -> None:
        super().__init__()
        self.network = network
        self.eager_attention = eager_attention

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple:
        encoder = self.network.encoder
        hidden = encoder.embeddings(input_ids)
        if self.eager_attention:
            keep = attention_mask[:, None, None, :].to(hidden.dtype)
            mask = (1.0 - keep) * torch.finfo(hidden.dtype).min
        else:
            mask = attention_mask[:, None, None, :].to(torch.bool)
        for layer in encoder.encoder.layer:
            if self.eager_attention:
                attended = layer.attention.output(eager_attention(layer, hidden, mask), hidden)
                hidden = layer.output(layer.intermediate(attended), attended)
            else:
                hidden = layer(hidden, mask)
        pooled = mean_pool(hidden, attention_mask)
        return tuple(head(pooled) for head in self.network.heads.values())


def export_onnx(
    network: torch.nn.Module, path: Path, eager_attention: bool = False, dynamo: bool = True
) -> str:
    """Export with the dynamo exporter (needs onnxscript, works offline), falling back to the
    TorchScript one if it fails, or with the TorchScript one (``dynamo=False``, deprecated but
    present in torch 2.13), whose graph of the written-out attention is the one
    ``onnxruntime.transformers`` fuses into its ``Attention`` op (the dynamo graph is not).
    Returns which exporter wrote ``path``."""
    wrapper = ExportedNetwork(network, eager_attention).eval()
    # batch 2, width 16: the dynamo exporter specializes dimensions of size 0 or 1
    example = (torch.full((2, 16), 5, dtype=torch.long), torch.ones((2, 16), dtype=torch.long))
    inputs = ["input_ids", "attention_mask"]
    outputs = [f"logits_{name}" for name in network.heads]
    names = {"input_names": inputs, "output_names": outputs}  # both exporters take these
    if dynamo:
        batch, width = torch.export.Dim("batch", min=1), torch.export.Dim("width", min=1)
        try:
            torch.onnx.export(
                wrapper,
                example,
                str(path),
                **names,
                dynamo=True,
                dynamic_shapes={name: {0: batch, 1: width} for name in inputs},
                external_data=False,
            )
            return "dynamo"
        except Exception as error:
            print(f"dynamo exporter failed ({type(error).__name__}: {error}); trying TorchScript")
    axes = {0: "batch", 1: "width"}
    with warnings.catch_warnings():  # its deprecation notice, and the tracer's on math.sqrt
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            example,
            str(path),
            **names,
            dynamic_axes={**{n: axes for n in inputs}, **{n: {0: "batch"} for n in outputs}},
            opset_version=17,
            dynamo=False,
        )
    return "torchscript"


def linear_matmuls(path: Path, intermediate: int, hidden: int) -> tuple[list[str], list[str]]:
    """Names of (the encoder's other MatMul nodes, its FFN output dense MatMuls).

    "Other": the attention products (q·kᵀ and weights·v), which have no weight initializer;
    ``quantize_dynamic`` quantizes them too (both inputs per-tensor uint8) unless excluded, and
    the torch int8 attempts quantized Linear layers only. The FFN output dense layers are found
    by their weight, ``intermediate × hidden`` as MatMul's second input (no other layer has that
    shape); the exporters give the nodes different names."""
    import onnx

    model = onnx.load(str(path))
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    others, ffn_out = [], []
    for node in model.graph.node:
        if node.op_type != "MatMul":
            continue
        weight = shapes.get(node.input[1])
        if weight is None:
            others.append(node.name)
        elif weight == (intermediate, hidden):
            ffn_out.append(node.name)
    return others, ffn_out


def quantize(
    source: Path, target: Path, weight_type: str, exclude: Sequence[str], linear_only: bool
) -> None:
    """Dynamic int8: weights per output channel, activations per tensor at run time.

    ``linear_only``: MatMul nodes (and fused ``Attention``, whose weights are the q/k/v
    projections) only, not the embeddings' Gather, which ``quantize_dynamic`` also quantizes by
    default; ``exclude`` should name the unfused attention products."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        per_channel=True,
        weight_type=QuantType.QInt8 if weight_type == "s8" else QuantType.QUInt8,
        nodes_to_exclude=list(exclude),
        op_types_to_quantize=["MatMul", "Attention"] if linear_only else None,
        # types behind the fusion's com.microsoft ops are not inferred; all tensors are float
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def ort_runner(path: Path, threads: int) -> BatchRunner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    inputs = {i.name for i in session.get_inputs()}

    def run(input_ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        feed = {"input_ids": input_ids, "attention_mask": mask}
        return session.run(None, {k: v for k, v in feed.items() if k in inputs})

    return run


def ort_scores(
    run: BatchRunner, ids: Sequence[Sequence[int]], predictor: TransformerPredictor, batch: int
) -> dict[str, np.ndarray]:
    """``score_token_ids`` with ONNX Runtime as the network: same batches, padding, softmax."""
    schema = predictor.schema
    scores = {t.name: np.zeros((len(ids), t.num_labels), dtype=np.float32) for t in schema.tasks}
    pad = predictor.tokenizer.pad_token_id
    for rows in length_sorted_batches([len(row) for row in ids], batch):
        input_ids, mask = pad_batch([ids[i] for i in rows], pad, multiple_of=PAD_MULTIPLE)
        outputs = run(input_ids.numpy(), mask.numpy())
        for task, logits in zip(schema.tasks, outputs, strict=True):
            values = torch.from_numpy(logits)
            probs = values.sigmoid() if task.is_multi_label else values.softmax(dim=-1)
            scores[task.name][rows] = probs.numpy()
    return scores


def labels_of(scores: dict[str, np.ndarray], predictor: TransformerPredictor) -> dict:
    """Argmax per text (multi-label tasks: the label set at 0.5, as a tuple of booleans)."""
    result = {}
    for task in predictor.schema.tasks:
        values = scores[task.name]
        if task.is_multi_label:
            result[task.name] = [tuple(row) for row in (values >= 0.5)]
        else:
            result[task.name] = list(values.argmax(axis=1))
    return result


def load_texts(data: Path, count: int) -> tuple[list[str], list[str]]:
    """``count`` texts spread evenly over the test split, and their sources (a ``datasets``
    directory, or a CSV/parquet file with ``text`` and optionally ``source`` columns for
    development). Evenly, not the first ``count``: the split is ordered by source, and its first
    1,000 texts are all brain_tr."""
    if data.is_dir():
        import datasets

        test = datasets.load_from_disk(str(data))["test"]
        count = min(count, len(test))
        test = test.select(np.linspace(0, len(test) - 1, count).round().astype(int).tolist())
        texts = list(test["text"])
        sources = list(test["source"]) if "source" in test.column_names else ["?"] * len(texts)
        return texts, sources
    import pandas as pd

    frame = pd.read_parquet(data) if data.suffix == ".parquet" else pd.read_csv(data)
    frame = frame.head(count)
    sources = frame["source"] if "source" in frame else ["?"] * len(frame)
    return [str(t) for t in frame["text"]], [str(s) for s in sources]


def print_speed(speed: dict[str, list[tuple[float, float]]], what: str) -> None:
    """Median texts/s per variant over the rounds, and its ratio to torch fp32's median."""
    print(f"\nspeed, {what} (texts/s; × torch-fp32)")
    base1 = np.median([one for one, _ in speed["torch-fp32"]])
    base32 = np.median([many for _, many in speed["torch-fp32"]])
    print("| variant | batch 1 | × | batch 32 | × |\n|---|---:|---:|---:|---:|")
    for name, rounds in speed.items():
        one = np.median([value for value, _ in rounds])
        many = np.median([value for _, value in rounds])
        print(f"| {name} | {one:.1f} | {one / base1:.2f} | {many:.1f} | {many / base32:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--texts", type=int, default=1000, help="test texts for the labels")
    parser.add_argument("--speed-texts", type=int, default=256, help="texts timed at batch 32")
    parser.add_argument("--one-texts", type=int, default=64, help="texts timed one at a time")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the ONNX files here")
    parser.add_argument("--skip", nargs="*", default=[], help="variants to leave out")
    parser.add_argument(
        "--reuse", action="store_true", help="use the ONNX files already in --workdir"
    )
    args = parser.parse_args()

    import onnx
    import onnxruntime

    torch.set_num_threads(args.threads)
    print(machine_description())
    print(
        f"commit {git_revision()}; onnx {onnx.__version__}; onnxruntime {onnxruntime.__version__}"
        f"; ORT intra_op threads {args.threads}; pid {os.getpid()}"
        f"; nice {os.nice(0)}"
    )
    predictor = TransformerPredictor.from_pretrained(args.model, device="cpu", precision="fp32")
    config = predictor.model.encoder.config
    print(
        f"model {args.model} ({predictor.info.name} {predictor.info.version}; "
        f"{config.num_hidden_layers} layers, hidden {config.hidden_size}, "
        f"max_length {predictor.info.max_length}; tasks "
        f"{', '.join(t.name for t in predictor.schema.tasks)})"
    )
    texts, sources = load_texts(args.data, args.texts)
    ids = predictor.encode(texts).ids
    tokens = sum(len(row) for row in ids)
    print(
        f"data {args.data}: {len(texts)} test texts, {tokens} tokens (mean {tokens / len(ids):.1f})"
    )

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ort_probe_"))
    workdir.mkdir(parents=True, exist_ok=True)
    fp32_path = workdir / "model.onnx"
    reuse = args.reuse
    if reuse and fp32_path.exists():
        print(f"reusing the ONNX files in {workdir} (--reuse: exported from this model before)")
    else:
        reuse = False
        started = time.perf_counter()
        exporter = export_onnx(predictor.model, fp32_path)
        print(f"export: {exporter} exporter, {time.perf_counter() - started:.1f} s, {fp32_path}")

    paths = {"ort-fp32": fp32_path}
    fused_variants = [n for n in FUSED_VARIANTS if n not in args.skip]
    if fused_variants:  # the eager-fused graph is also what the fused int8 variants start from
        eager = workdir / "model-eager.onnx"
        if not reuse:
            how = export_onnx(predictor.model, eager, eager_attention=True, dynamo=False)
            print(f"export with written-out attention: {how} exporter, {eager}")
        for name, source in (("ort-fp32-fused", fp32_path), ("ort-fp32-eager-fused", eager)):
            fused = workdir / f"{name}.onnx"
            if not reuse:
                stats = fuse_bert(source, fused, config.num_attention_heads, config.hidden_size)
                print(f"BERT fusion of {source.name}: {stats or 'nothing fused'}")
            paths[name] = fused
    fused_graph = workdir / "ort-fp32-eager-fused.onnx"
    for name in args.skip:
        paths.pop(name, None)
    others, ffn_out = linear_matmuls(fp32_path, config.intermediate_size, config.hidden_size)
    print(f"MatMul nodes: {len(others)} attention products, {len(ffn_out)} FFN output dense")
    logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing": shapes are dynamic
    quantized = {
        f"ort-int8-{weights}{suffix}": (weights, exclude, True)
        for weights in ("s8", "u8")
        for suffix, exclude in (("", others), ("-ffnout-fp32", [*others, *ffn_out]))
    }
    quantized["ort-int8-u8-all"] = ("u8", [], False)  # quantize_dynamic's defaults
    for name, (weights, exclude, linear_only) in quantized.items():
        if name in args.skip:
            continue
        path = workdir / f"{name}.onnx"
        if not reuse:
            quantize(fp32_path, path, weights, exclude, linear_only)
        paths[name] = path
    if fused_variants:  # ORT's own order for BERT: fuse, then quantize
        fused = fused_graph
        _, fused_ffn_out = linear_matmuls(fused, config.intermediate_size, config.hidden_size)
        for weights in ("s8", "u8"):
            for suffix, exclude in (("", []), ("-ffnout-fp32", fused_ffn_out)):
                name = f"ort-int8-{weights}-fused{suffix}"
                if name not in args.skip:
                    if not reuse:
                        quantize(fused, workdir / f"{name}.onnx", weights, exclude, True)
                    paths[name] = workdir / f"{name}.onnx"
        print(f"fused graph: {len(fused_ffn_out)} FFN output dense MatMuls")
    for name, path in paths.items():
        print(f"  {name}: {path.stat().st_size / 1e6:.1f} MB")

    def torch_fp32(rows: Sequence[Sequence[int]], batch: int) -> dict[str, np.ndarray]:
        return score_token_ids(
            predictor.model,
            rows,
            predictor.schema,
            predictor.tokenizer.pad_token_id,
            batch,
            predictor.device,
            False,
        )

    variants: dict[str, Callable[[Sequence[Sequence[int]], int], dict[str, np.ndarray]]] = {
        "torch-fp32": torch_fp32
    }
    for name, path in paths.items():
        run = ort_runner(path, args.threads)
        variants[name] = lambda rows, batch, run=run: ort_scores(run, rows, predictor, batch)

    # labels first (this also warms every variant up on all the batch shapes)
    labels = {}
    for name, score in variants.items():
        started = time.perf_counter()
        labels[name] = labels_of(score(ids, 32), predictor)
        print(
            f"labels {name}: {len(ids)} texts at batch 32 in {time.perf_counter() - started:.1f} s"
        )

    reference = labels["torch-fp32"]
    by_source: dict[str, list[int]] = {}
    for i, source in enumerate(sources):
        by_source.setdefault(source, []).append(i)
    print("\nlabels equal to torch-fp32 (all texts, then the lowest source, n ≥ 50)")
    tasks = [t.name for t in predictor.schema.tasks]
    print("| variant | " + " | ".join(tasks) + " |\n|---|" + "---:|" * len(tasks))
    for name in list(variants)[1:]:
        cells = []
        for task in tasks:
            ref, got = reference[task], labels[name][task]
            share = np.mean([a == b for a, b in zip(ref, got, strict=True)])
            per_source = {
                s: np.mean([ref[i] == got[i] for i in rows])
                for s, rows in by_source.items()
                if len(rows) >= 50
            }
            worst = min(per_source, key=per_source.get) if per_source else None
            cell = f"{100 * share:.2f} %"
            if worst is not None and len(by_source) > 1:
                cell += f" (min {100 * per_source[worst]:.2f} % {worst})"
            cells.append(cell)
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nper source (texts; share equal per task, in the order above)")
    for name in list(variants)[1:]:
        for source, rows in sorted(by_source.items()):
            shares = [
                100 * np.mean([reference[t][i] == labels[name][t][i] for i in rows]) for t in tasks
            ]
            print(
                f"  {name:30s} {source:24s} {len(rows):5d} " + " ".join(f"{s:6.2f}" for s in shares)
            )

    speed_ids = ids[: args.speed_texts]
    one_ids = ids[: args.one_texts]
    # per round: (batch 1, batch 32) in texts per wall second and per CPU second of this thread
    wall: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    cpu: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for round_ in range(1, args.rounds + 1):
        print(f"round {round_} (load avg {os.getloadavg()[0]:.2f})")
        for name, score in variants.items():
            started, started_cpu = time.perf_counter(), time.thread_time()
            score(speed_ids, 32)
            many = (time.perf_counter() - started, time.thread_time() - started_cpu)
            started, started_cpu = time.perf_counter(), time.thread_time()
            for row in one_ids:
                score([row], 1)
            one = (time.perf_counter() - started, time.thread_time() - started_cpu)
            wall[name].append((len(one_ids) / one[0], len(speed_ids) / many[0]))
            cpu[name].append((len(one_ids) / one[1], len(speed_ids) / many[1]))
            print(
                f"  {name:30s} batch 1 {wall[name][-1][0]:7.1f} texts/s "
                f"({cpu[name][-1][0]:7.1f} per CPU s)   batch 32 {wall[name][-1][1]:7.1f} texts/s "
                f"({cpu[name][-1][1]:7.1f} per CPU s)"
            )
    if args.rounds:
        print_speed(wall, f"wall time, median of {args.rounds} rounds")
    if args.rounds and args.threads == 1:
        # one thread computes everything, so its CPU time is the work, whatever else runs
        print_speed(cpu, "CPU time of the one computing thread (texts per CPU second)")
    print(f"\nload avg at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
