"""Seconds per fine-tuning step, with and without the frozen layers' states cached.

Runs the real base encoder on training texts of the prepared data with the `cpu` profile's
settings (or the --profile given), so the figures are those of `nabiz train`:

    python benchmarks/bench_train_step.py --profile cpu --steps 12 [--freeze 6 9] [--bf16]

--bf16 runs the steps and the states pass under bf16 autocast, as `training.bf16: true` does;
on a CPU with AMX or AVX512-BF16 that is where the matrix products get faster.

Prints the machine (CPU model, flags that matter for speed, threads) beside the figures.
"""

from __future__ import annotations

import argparse
import random
import time

import torch

from nabiz.model.encoder import resolve_base_encoder
from nabiz.model.network import MultiTaskModel
from nabiz.model.runtime import describe_cpu
from nabiz.model.tokenize import pad_batch
from nabiz.model.transformer import load_pretrained_encoder
from nabiz.settings import get_settings
from nabiz.training.cached import lower_states, upper_forward
from nabiz.training.config import load_config
from nabiz.training.data import load_prepared
from nabiz.training.train import encode_split, training_batches


def machine() -> str:
    return f"{describe_cpu()}; torch threads {torch.get_num_threads()}"


def time_steps(model, forward, batches, steps: int, bf16: bool) -> tuple[float, float]:
    """Mean wall and CPU seconds (all threads of this process) per step, after two warm-ups.

    On a shared machine the wall time depends on the other users' load; the CPU time much less."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    model.train()
    wall, cpu = [], []
    for batch in batches[: steps + 2]:
        started, cpu_started = time.perf_counter(), time.process_time()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = forward(batch)
        loss = sum(v.logsumexp(-1).mean() for v in logits.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return sum(wall[2:]) / len(wall[2:]), sum(cpu[2:]) / len(cpu[2:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--freeze", type=int, nargs="*", default=None)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (training.bf16)")
    args = parser.parse_args()
    config = load_config(args.config, args.profile)
    cfg = config.training
    from transformers import AutoTokenizer

    base = resolve_base_encoder(cfg.base_model, get_settings().cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(base)
    train = load_prepared(config)["train"]
    n = cfg.batch_size * (args.steps + 2)
    sample = train.shuffle(seed=0).select(range(min(n, len(train))))
    encoded = encode_split(sample, tokenizer, config.schema, cfg)
    batches = training_batches([len(x) for x in encoded.ids], cfg.batch_size, random.Random(0))
    pad = tokenizer.pad_token_id
    device = torch.device("cpu")
    print(machine())
    print(
        f"profile {args.profile}: batch {cfg.batch_size}, max length {cfg.max_length}, "
        f"{'bf16 autocast' if args.bf16 else 'fp32'}"
    )
    for freeze in args.freeze or [cfg.freeze_layers]:
        model = MultiTaskModel(load_pretrained_encoder(base), config.schema)
        model.freeze(True, freeze)

        def plain(rows, model=model):
            ids, mask = pad_batch([encoded.ids[i] for i in rows], pad)
            return model(ids, mask)

        plain_s, plain_cpu = time_steps(model, plain, batches, args.steps, args.bf16)
        started = time.process_time()
        states = lower_states(model, encoded.ids, freeze, pad, 128, device, args.bf16)
        per_text = (time.process_time() - started) / len(encoded.ids)

        def cached(rows, model=model, states=states, freeze=freeze):
            hidden, mask = states.batch(rows, device)
            return upper_forward(model, hidden, mask, freeze)

        cached_s, cached_cpu = time_steps(model, cached, batches, args.steps, args.bf16)
        print(
            f"freeze {freeze:>2}: uncached {plain_cpu:.2f} CPU-s/step ({plain_s:.2f} s wall), "
            f"cached {cached_cpu:.2f} CPU-s/step ({cached_s:.2f} s wall), "
            f"x{plain_cpu / cached_cpu:.2f} in CPU time; states once: "
            f"{1000 * per_text:.1f} CPU-ms/text",
            flush=True,
        )


if __name__ == "__main__":
    main()
