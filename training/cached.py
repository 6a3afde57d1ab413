"""Frozen lower layers computed once: their outputs per text, and the upper layers run on them.

With the embeddings and the bottom ``k`` encoder layers frozen, their output for a text never
changes during fine-tuning. Computing it once per text (one forward pass of the lower layers, in
eval mode) and training the upper layers, the pooling and the heads on the stored states removes
the lower half of every training step's forward pass, and makes every later epoch and every
validation pass cheaper too. States are kept in fp16 (half the memory; the upper layers compute
in fp32 or bf16 as before), one flat tensor with offsets per text.

Unlike the uncached run, the frozen layers see no dropout (they run once, in eval mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from nabiz.model.network import MultiTaskModel, mean_pool
from nabiz.model.schema import LabelSchema
from nabiz.model.tokenize import length_sorted_batches, pad_batch
from nabiz.model.transformer import task_probabilities


def _bidirectional_mask(encoder, hidden: torch.Tensor, attention_mask: torch.Tensor):
    """The attention mask in the form the encoder's layers take (what ``BertModel`` builds)."""
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(
        config=encoder.config, inputs_embeds=hidden, attention_mask=attention_mask
    )


def can_cache(model: MultiTaskModel, freeze_embeddings: bool, freeze_layers: int) -> bool:
    """Whether everything below layer ``freeze_layers`` is frozen, so its outputs are fixed."""
    return freeze_embeddings and freeze_layers > 0 and hasattr(model.encoder, "embeddings")


@dataclass
class CachedStates:
    """Per text, the hidden states after the frozen layers: ``flat[offsets[i]:offsets[i+1]]``."""

    flat: torch.Tensor  # (total tokens, hidden), fp16
    offsets: np.ndarray  # (n + 1,)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> list[int]:
        return np.diff(self.offsets).tolist()

    def split(self, n: int) -> tuple[CachedStates, CachedStates]:
        """The first ``n`` texts and the rest, as two views of the same memory."""
        cut = int(self.offsets[n])
        return (
            CachedStates(self.flat[:cut], self.offsets[: n + 1]),
            CachedStates(self.flat[cut:], self.offsets[n:] - cut),
        )

    def batch(
        self, rows: Sequence[int], device: torch.device, multiple_of: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded states (batch, width, hidden) in fp32 and their attention mask."""
        lengths = [int(self.offsets[i + 1] - self.offsets[i]) for i in rows]
        width = max(lengths)
        width = -(-width // multiple_of) * multiple_of
        hidden = torch.zeros((len(rows), width, self.flat.shape[1]), dtype=torch.float32)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, (i, n) in enumerate(zip(rows, lengths, strict=True)):
            hidden[j, :n] = self.flat[self.offsets[i] : self.offsets[i + 1]]
            mask[j, :n] = 1
        return hidden.to(device), mask.to(device)


@torch.inference_mode()
def lower_states(
    model: MultiTaskModel,
    ids: Sequence[Sequence[int]],
    layers: int,
    pad_id: int,
    batch_size: int,
    device: torch.device,
    bf16: bool = False,
) -> CachedStates:
    """Run the embeddings and the bottom ``layers`` encoder layers once over every text (under
    bf16 autocast with ``bf16``, as training then runs)."""
    encoder = model.encoder
    was_training = encoder.training
    encoder.eval()
    lengths = [len(row) for row in ids]
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    flat = torch.empty((int(offsets[-1]), encoder.config.hidden_size), dtype=torch.float16)
    batches = length_sorted_batches(lengths, batch_size)
    for batch in tqdm(batches, desc=f"layers 1-{layers}, once", unit="batch", dynamic_ncols=True):
        input_ids, mask = pad_batch([ids[i] for i in batch], pad_id)
        input_ids, mask = input_ids.to(device), mask.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            hidden = encoder.embeddings(input_ids=input_ids)
            attn = _bidirectional_mask(encoder, hidden, mask)
            for layer in encoder.encoder.layer[:layers]:
                hidden = layer(hidden, attn)
        hidden = hidden.float().cpu()
        for j, i in enumerate(batch):
            flat[offsets[i] : offsets[i + 1]] = hidden[j, : lengths[i]]
    encoder.train(was_training)
    return CachedStates(flat, offsets)


def upper_forward(
    model: MultiTaskModel, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int
) -> dict[str, torch.Tensor]:
    """The network from layer ``start`` on: the same logits as ``model(ids, mask)`` would give."""
    encoder = model.encoder
    attn = _bidirectional_mask(encoder, hidden, attention_mask)
    for layer in encoder.encoder.layer[start:]:
        hidden = layer(hidden, attn)
    pooled = model.dropout(mean_pool(hidden, attention_mask))
    return {name: head(pooled).float() for name, head in model.heads.items()}


@torch.inference_mode()
def score_cached(
    model: MultiTaskModel,
    states: CachedStates,
    start: int,
    schema: LabelSchema,
    batch_size: int,
    device: torch.device,
    bf16: bool,
) -> dict[str, np.ndarray]:
    """Label scores per task for cached texts, in input order (the model in eval mode)."""
    scores = {t.name: np.zeros((len(states), t.num_labels), dtype=np.float32) for t in schema.tasks}
    for batch in length_sorted_batches(states.lengths(), batch_size):
        hidden, mask = states.batch(batch, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = upper_forward(model, hidden, mask, start)
        for name, probs in task_probabilities(logits, schema).items():
            scores[name][batch] = probs
    return scores
