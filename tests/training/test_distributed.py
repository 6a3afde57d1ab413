"""Data-parallel training: shares of a batch, averaged gradients, `nabiz train` under torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import yaml
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import load_file

from nabiz.model.tiny import make_tiny_encoder
from nabiz.training.distributed import DataParallel, shard
from tests.helpers import custom_config_dict, labelled_frame

REPO = Path(__file__).resolve().parents[2]


@given(st.lists(st.integers(), min_size=1, max_size=50), st.integers(1, 8))
def test_the_shares_of_a_batch_cover_it_once(batch, world_size):
    parts = [shard(batch, rank, world_size) for rank in range(world_size)]
    rows = [row for part, share in parts if share for row in part]
    assert sorted(rows) == sorted(batch)
    assert sum(share for _, share in parts) == pytest.approx(1.0)
    assert all(part for part, _ in parts)  # every process has rows to run a step on


def test_one_process_is_rank_0_of_1_and_changes_nothing():
    parallel = DataParallel()
    model = torch.nn.Linear(3, 1)
    model(torch.ones(2, 3)).sum().backward()
    before = model.weight.grad.clone()
    parallel.average_gradients(model, 1.0)
    assert parallel.is_main and not parallel.enabled
    assert parallel.shard([4, 5, 6]) == ([4, 5, 6], 1.0)
    assert torch.equal(model.weight.grad, before)


def _gradient_worker(rank: int, world_size: int, init_file: str, queue) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    frozen = torch.nn.Linear(4, 1).requires_grad_(False)  # never synced, never touched
    unused = torch.nn.Linear(4, 1)  # no gradient on rank 1: averaged as zeros there
    data = torch.arange(20.0).reshape(5, 4) / 10
    rows, share = shard(list(range(5)), rank, world_size)
    loss = model(data[rows]).pow(2).mean() + frozen(data[rows]).sum()
    if rank == 0:
        loss = loss + unused(data[rows]).mean()
    loss.backward()
    parallel = DataParallel(rank, world_size)
    parallel.average_gradients(torch.nn.ModuleList([model, frozen, unused]), share)
    # plain lists: a tensor in a queue is shared memory that dies with this process
    queue.put((rank, model.weight.grad.tolist(), unused.weight.grad.tolist(), frozen.weight.grad))
    dist.destroy_process_group()


def test_averaged_gradients_are_the_whole_batch_gradient(tmp_path):
    context = mp.get_context("spawn")
    queue = context.Queue()
    init = str(tmp_path / "init")
    workers = [
        context.Process(target=_gradient_worker, args=(rank, 2, init, queue)) for rank in (0, 1)
    ]
    for worker in workers:
        worker.start()
    results = dict((item[0], item[1:]) for item in (queue.get(timeout=120) for _ in workers))
    for worker in workers:
        worker.join(timeout=60)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    data = torch.arange(20.0).reshape(5, 4) / 10
    model(data).pow(2).mean().backward()
    for rank in (0, 1):
        weight, _, frozen = results[rank]
        assert torch.allclose(torch.tensor(weight), model.weight.grad, atol=1e-6)
        assert frozen is None
    unused = results[0][1]
    assert unused == results[1][1] and any(unused[0])  # the same in both processes


@pytest.fixture(scope="module")
def torchrun_run(tmp_path_factory):
    """`nabiz train` on a tiny encoder, launched by torchrun as 2 CPU processes (gloo)."""
    root = tmp_path_factory.mktemp("ddp")
    frame = labelled_frame(120)
    frame.to_csv(root / "mine.csv", index=False)
    encoder = make_tiny_encoder(root / "encoder", frame["metin"])
    tree = custom_config_dict("mine.csv", str(encoder), "prepared", "model")
    tree["training"].update(epochs=4, batch_size=16, device="cpu", early_stopping_patience=10)
    (root / "my.yaml").write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    env = {
        **os.environ,
        "NABIZ_CACHE_DIR": str(root / "cache"),
        "NABIZ_DATA_DIR": str(root / "no-mirror"),
        "OMP_NUM_THREADS": "1",
    }
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node=2",
        "--standalone",
        "-m",
        "nabiz",
        "train",
        "--config",
        str(root / "my.yaml"),
    ]
    result = subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    return root, result


def test_torchrun_with_two_processes_trains_and_saves_once(torchrun_run):
    root, result = torchrun_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    model = root / "model"
    for name in ["model.safetensors", "schema.json", "metrics.json", "README.md", "baseline"]:
        assert (model / name).exists(), name
    assert not (root / "model.partial").exists()
    assert result.stdout.count("model written to") == 1  # rank 0 only
    metrics = json.loads((model / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["training"]["steps"] == 4 * 5  # 72 training texts / 16 per global batch
    assert len(metrics["training"]["history"]) == 4  # evaluated once per epoch, by rank 0's figures
    trained = load_file(model / "model.safetensors")
    initial = load_file(root / "encoder" / "model.safetensors")
    name = next(key for key in trained if key.endswith("layer.1.output.dense.weight"))
    start = next(key for key in initial if key.endswith("layer.1.output.dense.weight"))
    assert not torch.allclose(trained[name], initial[start])  # the encoder was fine-tuned
