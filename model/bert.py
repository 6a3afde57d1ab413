"""The BERT encoder for inference, in plain torch: what scoring runs instead of transformers'.

Importing transformers' BERT modeling code pulls in ``torch.distributed.tensor``, sympy and parts
of dynamo, and took longer than importing torch itself (BENCHMARKS.md §9); a server or a one-text
``nabiz predict`` paid it on every start. The encoder itself is small: embeddings, then per layer
self-attention over ``scaled_dot_product_attention`` and a GELU feed-forward block, each followed
by a residual LayerNorm. The modules here carry the same names as ``BertModel``'s (without the
pooler, which mean pooling never uses), so they load a model directory's ``model.safetensors``
with strict key checking, and the int8 path (``quantize.py``) finds the same ``nn.Linear`` layers
under the same names. Training keeps transformers' ``BertModel`` (dropout, gradient
checkpointing); a test checks that both give the same hidden states.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional

CONFIG_FILE = "config.json"
_ACTIVATIONS = {"gelu": functional.gelu, "relu": functional.relu}


class EncoderConfig:
    """The encoder's ``config.json``: every key as an attribute, written back as it was read.

    Keeping the whole file (not only the keys used here) lets a model loaded for scoring be saved
    again and still be read by transformers' ``AutoConfig``, e.g. after vocabulary trimming."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)
        model_type = values.get("model_type", "bert")
        if model_type != "bert":
            raise ValueError(f"the inference encoder runs BERT models, not {model_type!r}")
        if values.get("hidden_act", "gelu") not in _ACTIVATIONS:
            raise ValueError(f"unsupported hidden_act {values['hidden_act']!r}")

    @classmethod
    def from_directory(cls, directory: str | Path) -> EncoderConfig:
        path = Path(directory) / CONFIG_FILE
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` into ``directory`` (the name transformers' configs use)."""
        path = Path(directory) / CONFIG_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", "utf-8")
        return path


@dataclass
class EncoderOutput:
    """The field of transformers' model output that the network reads."""

    last_hidden_state: torch.Tensor


def _embedding(rows: int, size: int, padding_idx: int | None = None) -> nn.Embedding:
    """An ``nn.Embedding`` that is not initialized on the meta device (``load_model`` builds
    there): torch's ``normal_`` on meta tensors runs Python references that import dynamo and
    sympy, about 1 s of CPU, for values the loaded weights replace."""
    weight = torch.empty(rows, size)
    if not weight.is_meta:
        with torch.no_grad():
            nn.init.normal_(weight)
            if padding_idx is not None:
                weight[padding_idx].zero_()
    return nn.Embedding(rows, size, padding_idx=padding_idx, _weight=weight)


class Embeddings(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        hidden = config.hidden_size
        pad = getattr(config, "pad_token_id", None)
        self.word_embeddings = _embedding(config.vocab_size, hidden, padding_idx=pad)
        self.position_embeddings = _embedding(config.max_position_embeddings, hidden)
        self.token_type_embeddings = _embedding(config.type_vocab_size, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Word + segment 0 + position (from 0, as BERT counts), then LayerNorm."""
        width = input_ids.shape[1]
        positions = torch.arange(width, device=input_ids.device)
        embedded = self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0]
        embedded = embedded + self.position_embeddings(positions)
        return self.LayerNorm(embedded)


class SelfAttention(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        hidden = config.hidden_size
        if hidden % config.num_attention_heads:
            raise ValueError(f"hidden size {hidden} is not a multiple of the number of heads")
        self.heads = config.num_attention_heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        batch, width, size = hidden.shape
        shape = (batch, width, self.heads, size // self.heads)
        query = self.query(hidden).view(shape).transpose(1, 2)
        key = self.key(hidden).view(shape).transpose(1, 2)
        value = self.value(hidden).view(shape).transpose(1, 2)
        attended = functional.scaled_dot_product_attention(query, key, value, attn_mask=mask)
        return attended.transpose(1, 2).reshape(batch, width, size)


class ResidualOutput(nn.Module):
    """Dense projection, added to the block's input, then LayerNorm (BERT's post-norm)."""

    def __init__(self, config: EncoderConfig, inputs: int) -> None:
        super().__init__()
        self.dense = nn.Linear(inputs, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(hidden) + residual)


class Attention(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.self = SelfAttention(config)
        self.output = ResidualOutput(config, config.hidden_size)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.output(self.self(hidden, mask), hidden)


class Intermediate(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.activation = _ACTIVATIONS[getattr(config, "hidden_act", "gelu")]

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden))


class Layer(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.attention = Attention(config)
        self.intermediate = Intermediate(config)
        self.output = ResidualOutput(config, config.intermediate_size)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        attended = self.attention(hidden, mask)
        return self.output(self.intermediate(attended), attended)


class LayerStack(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(config) for _ in range(config.num_hidden_layers))


class BertEncoder(nn.Module):
    """``BertModel`` without the pooler, for inference: same parameter names, same outputs."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = LayerStack(config)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, embeddings: nn.Embedding) -> None:
        self.embeddings.word_embeddings = embeddings

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> EncoderOutput:
        """Hidden states of every token; padded keys (mask 0) are not attended to.

        With no padding in the batch the mask is left out, so attention may take its fused
        kernel; a padded position's own output is computed but means nothing (pooling masks it).
        """
        hidden = self.embeddings(input_ids)
        mask = None
        if attention_mask is not None and not bool(attention_mask.all()):
            mask = attention_mask[:, None, None, :].to(torch.bool)
        for layer in self.encoder.layer:
            hidden = layer(hidden, mask)
        return EncoderOutput(last_hidden_state=hidden)
