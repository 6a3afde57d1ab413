"""How a Ray scoring run is cut up: how many actors, and how many rows each block hands one.

Pure arithmetic, kept apart from Ray so that it is tested without a cluster.
"""

from __future__ import annotations

# Bytes (in memory) of the rows in a block handed to an actor, at most: a few thousand reviews.
MAX_BLOCK_BYTES = 4 * 1024 * 1024
# ... and at least, so that a tiny input is not cut into blocks of a few rows each.
MIN_BLOCK_BYTES = 64 * 1024
# Blocks each actor should get at least. A block goes to one actor, whole: in 4 MiB blocks a
# 20,000-row export (5.8 MB) was two, too few for two actors to share evenly.
BLOCKS_PER_ACTOR = 4


def default_concurrency(resources: dict[str, float], num_gpus: float, cpus_per_actor: float) -> int:
    """Actors the cluster can hold: one per ``num_gpus`` GPUs, or else one per
    ``cpus_per_actor`` CPUs, keeping one CPU for the reading tasks."""
    if num_gpus > 0:
        return max(1, int(resources.get("GPU", 0) // num_gpus))
    return max(1, int((resources.get("CPU", 1) - 1) // cpus_per_actor))


def block_bytes_for(input_bytes: int, actors: int) -> int:
    """Bytes per block: :data:`BLOCKS_PER_ACTOR` blocks for every actor out of the input's size,
    kept between :data:`MIN_BLOCK_BYTES` and :data:`MAX_BLOCK_BYTES`. The input's size on disk
    stands in for its size in memory (close for text; compressed Parquet only gets more blocks)."""
    share = input_bytes // (BLOCKS_PER_ACTOR * max(1, actors))
    return int(min(MAX_BLOCK_BYTES, max(MIN_BLOCK_BYTES, share)))
