"""Frozen-layer states kept on disk between runs, per text.

The states after the frozen layers depend only on the base encoder's weights, the number of frozen
layers and a text's token ids. A leave-one-domain-out run, a second run with other upper-layer
settings, or a rerun after a crash sees the same texts again, and computing their states is the
largest fixed cost of a CPU run (several minutes for 30,000 texts on 2 cores). So the states are
stored under ``<cache_dir>/states/<encoder>-layers<k>/``, keyed by a hash of each text's token
ids, and only texts not yet stored are computed. One folder per encoder and depth: a changed
encoder file or a different ``freeze_layers`` never reads another's states.

Files (numpy, written to a temporary folder and renamed, so a killed run leaves the old store):
``states.npy`` (total tokens × hidden, fp16), ``offsets.npy`` (n + 1), ``keys.npy`` (n × 20 bytes).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from nabiz.checksums import file_sha256
from nabiz.training.cached import CachedStates

log = logging.getLogger(__name__)
FILES = ("states.npy", "offsets.npy", "keys.npy")


def store_folder(cache_dir: Path, encoder_dir: str, layers: int, bf16: bool = False) -> Path:
    """Where the states of ``layers`` frozen layers of this encoder live; states computed under
    bf16 autocast differ from fp32 ones in the third digit, so each precision has its own."""
    weights = Path(encoder_dir) / "model.safetensors"
    if weights.is_file():
        fingerprint = file_sha256(weights)[:16]
    else:  # a hub id: its name is all we know of it
        fingerprint = hashlib.sha256(encoder_dir.encode()).hexdigest()[:16]
    precision = "-bf16" if bf16 else ""
    return Path(cache_dir) / "states" / f"{fingerprint}-layers{layers}{precision}"


def text_key(ids: Sequence[int]) -> bytes:
    """SHA-1 of a text's token ids: equal ids, equal states."""
    return hashlib.sha1(np.asarray(ids, dtype=np.int32).tobytes()).digest()


def _read(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if not all((folder / name).is_file() for name in FILES):
        return None
    states = np.load(folder / "states.npy", mmap_mode="r")
    offsets = np.load(folder / "offsets.npy")
    keys = np.load(folder / "keys.npy")
    if len(offsets) != len(keys) + 1 or offsets[-1] != len(states):
        log.warning("state store %s is inconsistent; recomputing", folder)
        return None
    return states, offsets, keys


def _key_index(keys: np.ndarray) -> dict[bytes, int]:
    """Row of each stored key. Read from the raw buffer: numpy's fixed-width bytes drop trailing
    NUL bytes when an element becomes ``bytes``, and one SHA-1 in 256 ends with one (those texts
    were computed again on every run)."""
    raw = np.ascontiguousarray(keys).tobytes()
    width = keys.dtype.itemsize
    return {raw[i * width : (i + 1) * width]: i for i in range(len(keys))}


def _write(folder: Path, states: np.ndarray, offsets: np.ndarray, keys: np.ndarray) -> None:
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "states.npy", states)
    np.save(tmp / "offsets.npy", offsets)
    np.save(tmp / "keys.npy", keys)
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def stored_states(
    ids: Sequence[Sequence[int]],
    folder: Path,
    compute: Callable[[list[Sequence[int]]], CachedStates],
) -> CachedStates:
    """The states of every text in ``ids`` (in order): read where stored, ``compute`` the rest.

    Texts computed now are added to the store, so the next run finds them.
    """
    keys = [text_key(row) for row in ids]
    stored = _read(folder)
    index: dict[bytes, int] = {}
    if stored is not None:
        index = _key_index(stored[2])
    missing = [i for i, key in enumerate(keys) if key not in index]
    # one computation per distinct text
    missing_keys = list(dict.fromkeys(keys[i] for i in missing))
    first_of = {key: i for i, key in reversed(list(enumerate(keys)))}
    fresh = compute([ids[first_of[key]] for key in missing_keys]) if missing_keys else None
    fresh_row = {key: j for j, key in enumerate(missing_keys)}
    log.info(
        "frozen-layer states: %d of %d texts read from %s, %d computed",
        len(ids) - len(missing),
        len(ids),
        folder,
        len(missing_keys),
    )

    lengths = [len(row) for row in ids]
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    hidden = fresh.flat.shape[1] if fresh is not None else stored[0].shape[1]
    flat = np.empty((int(offsets[-1]), hidden), dtype=np.float16)
    fresh_flat = fresh.flat.numpy() if fresh is not None else None
    for i, key in enumerate(keys):
        if key in index:
            j = index[key]
            flat[offsets[i] : offsets[i + 1]] = stored[0][stored[1][j] : stored[1][j + 1]]
        else:
            j = fresh_row[key]
            flat[offsets[i] : offsets[i + 1]] = fresh_flat[fresh.offsets[j] : fresh.offsets[j + 1]]
    if fresh is not None:
        _append(folder, stored, fresh, missing_keys)
    return CachedStates(torch.from_numpy(flat), offsets)


def _append(folder: Path, stored, fresh: CachedStates, fresh_keys: list[bytes]) -> None:
    new_keys = np.frombuffer(b"".join(fresh_keys), dtype="S20")
    new_states = fresh.flat.numpy()
    if stored is None:
        _write(folder, new_states, fresh.offsets.astype(np.int64), new_keys)
        return
    states, offsets, keys = stored
    _write(
        folder,
        np.concatenate([np.asarray(states), new_states]),
        np.concatenate([offsets, offsets[-1] + fresh.offsets[1:]]),
        np.concatenate([keys, new_keys]),
    )
