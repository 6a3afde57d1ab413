"""The on-disk store of frozen-layer states: computed once per text, read back exactly."""

from __future__ import annotations

import numpy as np
import torch

from nabiz.training.cached import CachedStates
from nabiz.training.statestore import store_folder, stored_states, text_key

HIDDEN = 4


class Computer:
    """Stands in for the frozen layers: a state per token that depends on its id only."""

    def __init__(self) -> None:
        self.texts_computed = 0

    def __call__(self, ids) -> CachedStates:
        self.texts_computed += len(ids)
        lengths = [len(row) for row in ids]
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(lengths)
        tokens = torch.tensor([t for row in ids for t in row], dtype=torch.float16)
        flat = tokens[:, None].repeat(1, HIDDEN) + torch.arange(HIDDEN, dtype=torch.float16)
        return CachedStates(flat, offsets)


TEXTS = [[5, 6, 7], [8], [9, 10], [5, 6, 7]]


def test_a_second_run_reads_every_state_and_computes_none(tmp_path):
    first = Computer()
    expected = stored_states(TEXTS, tmp_path / "s", first)
    second = Computer()
    again = stored_states(TEXTS, tmp_path / "s", second)
    assert first.texts_computed == 3  # the repeated text once
    assert second.texts_computed == 0
    assert torch.equal(again.flat, expected.flat)
    assert np.array_equal(again.offsets, expected.offsets)


def test_a_text_whose_key_ends_in_a_nul_byte_is_read_back_too(tmp_path):
    # one SHA-1 in 256 ends with 0x00, which numpy's fixed-width bytes drop when read one by one
    nul_ended = next([i, i + 1] for i in range(100_000) if text_key([i, i + 1]).endswith(b"\0"))
    stored_states([nul_ended, [8]], tmp_path / "s", Computer())
    again = Computer()
    stored_states([nul_ended, [8]], tmp_path / "s", again)
    assert again.texts_computed == 0


def test_only_texts_not_stored_are_computed_and_then_stored(tmp_path):
    stored_states(TEXTS[:2], tmp_path / "s", Computer())
    partly = Computer()
    states = stored_states([[8], [11, 12]], tmp_path / "s", partly)
    assert partly.texts_computed == 1
    assert torch.equal(states.flat, Computer()([[8], [11, 12]]).flat)
    later = Computer()
    stored_states([[11, 12], [5, 6, 7]], tmp_path / "s", later)
    assert later.texts_computed == 0


def test_another_depth_or_encoder_has_its_own_folder(tmp_path):
    encoder = tmp_path / "enc"
    encoder.mkdir()
    (encoder / "model.safetensors").write_bytes(b"weights one")
    eight = store_folder(tmp_path, str(encoder), 8)
    assert store_folder(tmp_path, str(encoder), 6) != eight
    (encoder / "model.safetensors").write_bytes(b"weights two")
    assert store_folder(tmp_path, str(encoder), 8) != eight


def test_states_computed_in_bf16_have_their_own_folder(tmp_path):
    encoder = tmp_path / "enc"
    encoder.mkdir()
    (encoder / "model.safetensors").write_bytes(b"weights")
    assert store_folder(tmp_path, str(encoder), 8, bf16=True) != store_folder(
        tmp_path, str(encoder), 8
    )


def test_split_gives_each_part_its_own_texts():
    states = Computer()(TEXTS)
    first, rest = states.split(1)
    assert len(first) == 1 and len(rest) == 3
    assert torch.equal(first.flat, Computer()(TEXTS[:1]).flat)
    assert torch.equal(rest.flat, Computer()(TEXTS[1:]).flat)
    assert np.array_equal(rest.offsets, Computer()(TEXTS[1:]).offsets)
