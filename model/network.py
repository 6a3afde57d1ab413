"""The multi-task network: one shared encoder, mean pooling, one linear head per task."""

from __future__ import annotations

import torch
from torch import nn

from nabiz.model.schema import LabelSchema


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors under the mask: the pooling e5 was trained with."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class MultiTaskModel(nn.Module):
    """Tags a batch with every task of the schema in a single encoder pass."""

    def __init__(self, encoder: nn.Module, schema: LabelSchema, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict(
            {task.name: nn.Linear(hidden, task.num_labels) for task in schema.tasks}
        )

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Logits per task, shape (batch, labels of that task)."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = self.dropout(mean_pool(hidden, attention_mask))
        return {name: head(pooled).float() for name, head in self.heads.items()}

    def freeze(self, embeddings: bool, bottom_layers: int) -> None:
        """Stop gradients into the word embeddings and the lowest encoder layers."""
        if embeddings:
            for param in self.encoder.embeddings.parameters():
                param.requires_grad_(False)
        layers = self.encoder.encoder.layer
        if bottom_layers > len(layers):
            raise ValueError(f"freeze_layers={bottom_layers} but the encoder has {len(layers)}")
        for layer in layers[:bottom_layers]:
            for param in layer.parameters():
                param.requires_grad_(False)
