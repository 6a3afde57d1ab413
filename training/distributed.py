"""Data-parallel training: ``nabiz train`` under ``torchrun`` or ``accelerate launch``, unchanged.

The launcher starts one process per device and tells each its ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` (read by :mod:`nabiz.settings`). Every process builds the same model from the same
config and seed, goes through the same shuffled batches (the same ``random.Random(seed)``), and
takes its share of each batch: rows ``rank::world_size``. After the backward pass the gradients
are averaged across processes, each weighted by its share of the batch, so one step is one step of
the single-process run on the whole batch: the config's ``batch_size`` stays the global batch and
the learning-rate schedule, the number of steps and the evaluation points do not change with the
number of devices. (Per-task losses are means over each share's labelled texts, so the average is
the single process's loss up to how labels fall between the shares.) Validation runs in every
process and rank 0's figures decide, so that early stopping stops every process at the same step.
Rank 0 alone writes the model directory, the baseline, the metrics and the model card.

Why the gradients are averaged here and not by wrapping the model in ``DistributedDataParallel``:
DDP syncs only what its wrapper's ``forward`` prepared, so a training step that calls parts of the
model directly (the cached frozen-layer path runs only the upper layers) would silently skip the
sync; and a task no text of a share is labelled for leaves its head without a gradient, which DDP
answers with an error unless it searches the graph every step (``find_unused_parameters``). One
all-reduce of all trainable gradients after ``backward`` (missing ones as zeros) computes what DDP
computes, whatever the loop's forward looks like; what it gives up is DDP's overlap of the
all-reduce with the backward pass.

Backends: NCCL on CUDA devices (each process on ``cuda:LOCAL_RANK``), gloo on the CPU.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from nabiz.settings import Settings

log = logging.getLogger(__name__)


def shard(batch: list[int], rank: int, world_size: int) -> tuple[list[int], float]:
    """This process's rows of ``batch`` and their share of it.

    A batch smaller than the number of processes leaves some without rows: they take the first
    row with a share of 0, so that every process still runs a step (and the all-reduce).
    """
    rows = batch[rank::world_size]
    if not rows:
        return batch[:1], 0.0
    return rows, len(rows) / len(batch)


@dataclass(frozen=True)
class DataParallel:
    """Where this process stands among those training together (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes files and prints (rank 0)."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """This process's device: ``cuda:LOCAL_RANK`` when training on CUDA, else ``device``."""
        if not self.enabled or device.type != "cuda":
            return device
        torch.cuda.set_device(self.local_rank)
        return torch.device("cuda", self.local_rank)

    def shard(self, batch: list[int]) -> tuple[list[int], float]:
        return shard(batch, self.rank, self.world_size)

    def broadcast_parameters(self, model: torch.nn.Module) -> None:
        """Start every process from rank 0's weights (the same seed gives them anyway)."""
        if not self.enabled:
            return
        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                dist.broadcast(tensor.data, src=0)

    def average_gradients(self, model: torch.nn.Module, share: float) -> None:
        """Replace each trainable gradient by the share-weighted sum over processes."""
        if not self.enabled:
            return
        from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

        params = [param for param in model.parameters() if param.requires_grad]
        grads = [
            param.grad if param.grad is not None else torch.zeros_like(param) for param in params
        ]
        flat = _flatten_dense_tensors(grads).mul_(share)
        dist.all_reduce(flat)
        for param, grad in zip(params, _unflatten_dense_tensors(flat, grads), strict=True):
            param.grad = grad

    def agree(self, value: Any) -> Any:
        """Rank 0's ``value`` in every process (a decision all must take alike)."""
        if not self.enabled:
            return value
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first (e.g. prepares data), then the others (they reuse it)."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()


def data_parallel(settings: Settings, device: str = "auto") -> DataParallel:
    """This process's place in the run, joining the process group when the launcher started
    several (``WORLD_SIZE`` > 1); a single process is rank 0 of 1 and starts nothing."""
    parallel = DataParallel(settings.rank, settings.world_size, settings.local_rank)
    if parallel.enabled and not dist.is_initialized():
        cuda = torch.cuda.is_available() and device != "cpu"
        backend = "nccl" if cuda else "gloo"
        if cuda:
            torch.cuda.set_device(parallel.local_rank)
        dist.init_process_group(backend=backend)
        log.info("rank %d of %d (%s)", parallel.rank, parallel.world_size, backend)
    return parallel


def finish(parallel: DataParallel) -> None:
    """Leave the process group (after the last collective), all ranks together.

    Rank 0 still tunes, trims and saves after the last step while the others are done. Without
    the barrier they tore their gloo connections down and exited meanwhile, and once in a CI run
    a rank aborted there ("terminate called without an active exception", SIGABRT); the usual
    pattern, a barrier and then the destroy on every rank, leaves no rank tearing down alone."""
    if parallel.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
