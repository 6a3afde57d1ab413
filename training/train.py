"""Fine-tuning: the shared encoder and one head per task, trained together.

A text without a label for a task contributes nothing to that task's loss (its target is masked),
so sources that label only some tasks still train the encoder for all. Class imbalance is met with
class weights; the run evaluates on validation each epoch (or every ``eval_every_steps``), keeps
the best state by mean macro-F1 over tasks and stops early when it stops improving.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from nabiz.model.encoder import resolve_base_encoder
from nabiz.model.network import MultiTaskModel
from nabiz.model.predictor import ModelInfo
from nabiz.model.runtime import bf16_is_fast
from nabiz.model.schema import LabelSchema, TaskSpec
from nabiz.model.tokenize import encode_texts, pad_batch
from nabiz.model.transformer import (
    load_pretrained_encoder,
    resolve_device,
    save_pretrained,
    score_token_ids,
)
from nabiz.model.trim import TrimReport, trim_vocabulary
from nabiz.settings import Settings, get_settings
from nabiz.training.cached import (
    CachedStates,
    can_cache,
    lower_states,
    score_cached,
    upper_forward,
)
from nabiz.training.config import NabizConfig, TrainingConfig
from nabiz.training.distributed import data_parallel
from nabiz.training.statestore import store_folder, stored_states
from nabiz.training.thresholds import tune_thresholds

log = logging.getLogger(__name__)
IGNORE = -100


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


@dataclass
class EncodedSplit:
    """A split as token ids and per-task targets (``IGNORE`` / a zero mask where unlabelled)."""

    ids: list[list[int]]
    truncated: list[bool]
    targets: dict[str, torch.Tensor]  # single: (n,) long; multi: (n, labels) float
    label_mask: dict[str, torch.Tensor]  # (n,) bool: the text has a label for the task
    weight: torch.Tensor | None = None  # (n,) per-text loss weight (the data's `weight` column)

    def __len__(self) -> int:
        return len(self.ids)


def encode_targets(task: TaskSpec, values: list) -> tuple[torch.Tensor, torch.Tensor]:
    mask = torch.tensor([value is not None for value in values], dtype=torch.bool)
    if task.is_multi_label:
        target = torch.zeros((len(values), task.num_labels))
        for i, value in enumerate(values):
            for label in value or []:
                target[i, task.index(label)] = 1.0
        return target, mask
    target = torch.tensor(
        [task.index(value) if value is not None else IGNORE for value in values], dtype=torch.long
    )
    return target, mask


def encode_split(split, tokenizer, schema: LabelSchema, cfg: TrainingConfig) -> EncodedSplit:
    encoded = encode_texts(
        tokenizer, split["text"], cfg.max_length, cfg.text_prefix, cfg.head_fraction
    )
    targets, masks = {}, {}
    for task in schema.tasks:
        targets[task.name], masks[task.name] = encode_targets(task, list(split[task.name]))
    weight = None
    if "weight" in split.column_names:
        weight = torch.tensor(split["weight"], dtype=torch.float32)
        if bool((weight == 1).all()):
            weight = None  # every text weighs the same: the plain loss
    return EncodedSplit(encoded.ids, encoded.truncated, targets, masks, weight)


def class_weights(task: TaskSpec, split: EncodedSplit, scheme: str) -> torch.Tensor | None:
    """Weights that lift rare classes: (N / (K·n_c))^p, p = 1 or ½, normalized to mean 1."""
    if scheme == "none" or task.is_multi_label:
        return None
    target = split.targets[task.name]
    counts = torch.bincount(target[target != IGNORE], minlength=task.num_labels).float()
    present = counts > 0
    power = 0.5 if scheme == "inverse_sqrt" else 1.0
    weights = torch.ones(task.num_labels)
    weights[present] = (counts[present].sum() / (present.sum() * counts[present])) ** power
    return weights / weights[present].mean()


def task_loss(
    task: TaskSpec,
    logits: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    weight,
    text_weight: torch.Tensor | None = None,
) -> torch.Tensor | None:
    """Loss over the texts labelled for this task; None when none of the batch is.

    ``weight`` weighs classes, ``text_weight`` texts (a source's loss weight in the config):
    the loss is the weighted mean, ``Σ w_i·l_i / Σ w_i`` with ``w_i`` = class × text weight,
    which is what cross-entropy's own class weighting computes when every text weighs 1."""
    if not mask.any():
        return None
    if text_weight is None:
        if task.is_multi_label:
            return F.binary_cross_entropy_with_logits(logits[mask], target[mask])
        return F.cross_entropy(logits[mask], target[mask], weight=weight)
    w = text_weight[mask]
    if task.is_multi_label:
        losses = F.binary_cross_entropy_with_logits(
            logits[mask], target[mask], reduction="none"
        ).mean(dim=1)
    else:
        losses = F.cross_entropy(logits[mask], target[mask], reduction="none")
        if weight is not None:
            w = w * weight[target[mask]]
    return (losses * w).sum() / w.sum().clamp(min=1e-8)


def training_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: shuffle, sort within pools of 50 batches, shuffle."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def split_macro_f1(schema: LabelSchema, scores: dict[str, np.ndarray], split: EncodedSplit) -> dict:
    result = {}
    for t in schema.tasks:
        mask = split.label_mask[t.name].numpy()
        if not mask.any():
            continue
        if t.is_multi_label:
            thresholds = np.array([t.threshold(label) for label in t.labels])
            pred = scores[t.name][mask] >= thresholds
            gold = split.targets[t.name][mask].numpy().astype(bool)
        else:
            pred = scores[t.name][mask].argmax(1)
            gold = split.targets[t.name][mask].numpy()
        result[t.name] = float(f1_score(gold, pred, average="macro", zero_division=0))
    return result


def tune_split_thresholds(
    schema: LabelSchema, scores: dict[str, np.ndarray], split: EncodedSplit
) -> LabelSchema:
    """Multi-label thresholds tuned on the encoded validation split (its 0/1 targets and masks
    read back as each text's labels)."""
    gold = {}
    for t in schema.tasks:
        if t.is_multi_label:
            mask = split.label_mask[t.name].numpy()
            targets = split.targets[t.name].numpy()
            gold[t.name] = [
                [label for label, on in zip(t.labels, row, strict=True) if on] if kept else None
                for kept, row in zip(mask, targets, strict=True)
            ]
    return tune_thresholds(schema, scores, gold)


@dataclass
class TrainResult:
    output_dir: Path
    best_validation: dict[str, float]
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    step_seconds: float = 0.0  # mean wall time of one training step (no evaluation)
    bf16: bool = False  # trained under bf16 autocast
    cache_seconds: float = 0.0  # computing the frozen layers' states once, when cached
    train_truncated_share: float = 0.0
    trim: TrimReport | None = None
    schema: LabelSchema | None = None


def training_bf16(setting: bool | str, device_type: str) -> bool:
    """Whether to train under bf16 autocast: ``auto`` does where bf16 beats fp32 (a GPU, a CPU
    with AMX, or AVX512-BF16 on AMD: ``runtime.bf16_is_fast``), where it makes a step faster;
    ``true`` asks for it anywhere (slower than fp32 on other CPUs)."""
    if setting == "auto":
        return bf16_is_fast(device_type)
    return bool(setting)


def _optimizer(model: MultiTaskModel, cfg: TrainingConfig) -> torch.optim.Optimizer:
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = {"enc_decay": [], "enc_no_decay": [], "heads": []}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.startswith("heads."):
            groups["heads"].append(param)
        elif any(key in name for key in no_decay):
            groups["enc_no_decay"].append(param)
        else:
            groups["enc_decay"].append(param)
    return torch.optim.AdamW(
        [
            {
                "params": groups["enc_decay"],
                "lr": cfg.learning_rate,
                "weight_decay": cfg.weight_decay,
            },
            {"params": groups["enc_no_decay"], "lr": cfg.learning_rate, "weight_decay": 0.0},
            {"params": groups["heads"], "lr": cfg.head_learning_rate, "weight_decay": 0.0},
        ]
    )


def fine_tune(
    config: NabizConfig, datasets, output_dir: Path, settings: Settings | None = None
) -> TrainResult:
    """Fine-tune on ``datasets['train']``, select on ``datasets['validation']``, save the best."""
    settings = settings or get_settings()
    cfg = config.training
    schema = config.schema
    set_seed(cfg.seed)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    parallel = data_parallel(settings, cfg.device)  # one process, or one of several: see there
    device = parallel.device(resolve_device(cfg.device))
    bf16 = training_bf16(cfg.bf16, device.type)
    started = time.perf_counter()

    from transformers import AutoTokenizer

    base = resolve_base_encoder(cfg.base_model, settings.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = MultiTaskModel(load_pretrained_encoder(base), schema, dropout=cfg.dropout)
    model.freeze(cfg.freeze_embeddings, cfg.freeze_layers)
    model.to(device)
    cached = cfg.cache_frozen_states and can_cache(model, cfg.freeze_embeddings, cfg.freeze_layers)
    parallel.broadcast_parameters(model)

    train_split = datasets["train"]
    if cfg.max_train_examples and len(train_split) > cfg.max_train_examples:
        train_split = train_split.shuffle(seed=cfg.seed).select(range(cfg.max_train_examples))
    train = encode_split(train_split, tokenizer, schema, cfg)
    valid = encode_split(datasets["validation"], tokenizer, schema, cfg)
    log.info(
        "train %d texts (%.1f%% truncated), validation %d",
        len(train),
        100 * np.mean(train.truncated),
        len(valid),
    )
    pad_id = tokenizer.pad_token_id
    cache_seconds = 0.0
    if cached:
        cache_started = time.perf_counter()

        def compute(ids) -> CachedStates:
            return lower_states(
                model, ids, cfg.freeze_layers, pad_id, cfg.eval_batch_size, device, bf16
            )

        if cfg.store_frozen_states:
            folder = store_folder(settings.cache_dir, base, cfg.freeze_layers, bf16)
            with parallel.main_first():  # rank 0 fills the store, the others then read it
                # one pass over the store for both splits: it is read and rewritten whole
                both = stored_states([*train.ids, *valid.ids], folder, compute)
            train_states, valid_states = both.split(len(train.ids))
        else:
            train_states, valid_states = compute(train.ids), compute(valid.ids)
        cache_seconds = time.perf_counter() - cache_started
        log.info(
            "states after the %d frozen layers computed once: %d texts in %.0f s (%.0f MB)",
            cfg.freeze_layers,
            len(train) + len(valid),
            cache_seconds,
            (train_states.flat.numel() + valid_states.flat.numel()) * 2 / 1e6,
        )

    def forward(rows: list[int]) -> dict[str, torch.Tensor]:
        if cached:
            hidden, mask = train_states.batch(rows, device)
            return upper_forward(model, hidden, mask, cfg.freeze_layers)
        input_ids, mask = pad_batch([train.ids[i] for i in rows], pad_id)
        return model(input_ids.to(device), mask.to(device))

    def score_validation() -> dict[str, np.ndarray]:
        if cached:
            return score_cached(
                model, valid_states, cfg.freeze_layers, schema, cfg.eval_batch_size, device, bf16
            )
        return score_token_ids(model, valid.ids, schema, pad_id, cfg.eval_batch_size, device, bf16)

    weights = {t.name: class_weights(t, train, cfg.class_weighting) for t in schema.tasks}
    weights = {k: (w.to(device) if w is not None else None) for k, w in weights.items()}

    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    total_steps = cfg.max_steps or math.ceil(steps_per_epoch * cfg.epochs)
    eval_every = cfg.eval_every_steps or steps_per_epoch
    optimizer = _optimizer(model, cfg)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(cfg.warmup_ratio * total_steps), total_steps
    )
    rng = random.Random(cfg.seed)

    best_score, best_state, best_valid, stale = -1.0, None, {}, 0
    history: list[dict] = []
    step, step_time = 0, 0.0
    progress = tqdm(
        total=total_steps,
        desc="training",
        unit="step",
        dynamic_ncols=True,
        disable=not parallel.is_main,
    )
    lengths = [len(x) for x in train.ids]
    while step < total_steps and stale <= cfg.early_stopping_patience:
        for whole in training_batches(lengths, cfg.batch_size, rng):
            step_started = time.perf_counter()
            batch, share = parallel.shard(whole)  # all of it in a single process
            model.train()
            idx = torch.as_tensor(batch)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = forward(batch)
            losses = []
            for t in schema.tasks:
                loss = task_loss(
                    t,
                    logits[t.name],
                    train.targets[t.name][idx].to(device),
                    train.label_mask[t.name][idx].to(device),
                    weights[t.name],
                    None if train.weight is None else train.weight[idx].to(device),
                )
                if loss is not None:
                    losses.append(t.loss_weight * loss)
            loss = torch.stack(losses).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            parallel.average_gradients(model, share)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            step_time += time.perf_counter() - step_started
            progress.update(1)
            progress.set_postfix(loss=f"{loss.item():.3f}")
            if step % eval_every == 0 or step == total_steps:
                model.eval()  # the next step sets train mode again
                scores = score_validation()
                f1s = parallel.agree(split_macro_f1(schema, scores, valid))
                mean_f1 = float(np.mean(list(f1s.values())))
                history.append(
                    {
                        "step": step,
                        "loss": float(loss.item()),
                        "validation_macro_f1": f1s,
                        "mean": mean_f1,
                    }
                )
                progress.write(
                    f"step {step}: validation macro-F1 "
                    + ", ".join(f"{k} {v:.3f}" for k, v in f1s.items())
                    + f" (mean {mean_f1:.3f})"
                )
                if mean_f1 > best_score:
                    best_score, best_valid, stale = mean_f1, f1s, 0
                    best_state = {  # frozen weights never change: keep the rest
                        name: param.detach().cpu().clone()
                        for name, param in model.named_parameters()
                        if param.requires_grad
                    }
                else:
                    stale += 1
                    if stale > cfg.early_stopping_patience:
                        progress.write(f"early stop: no improvement in {stale} evaluations")
                        break
            if step >= total_steps:
                break
    progress.close()
    if not parallel.is_main:  # rank 0 alone tunes, trims and saves the model
        return TrainResult(output_dir, best_valid, history, time.perf_counter() - started, step)
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    model.eval()
    scores = score_validation()
    schema = tune_split_thresholds(schema, scores, valid)
    trim = None
    if cfg.trim_vocabulary:
        corpus = [*train_split["text"], *datasets["validation"]["text"]]
        tokenizer, trim = trim_vocabulary(model, tokenizer, corpus, cfg.text_prefix)
        log.info(
            "vocabulary trimmed from %d to %d pieces (%.1fM → %.1fM parameters)",
            trim.vocab_before,
            trim.vocab_after,
            trim.parameters_before / 1e6,
            trim.parameters_after / 1e6,
        )

    info = ModelInfo(
        name=config.name,
        version=config.version,
        model_type="transformer",
        base_model=cfg.base_model,
        max_length=cfg.scoring_max_length,
        text_prefix=cfg.text_prefix,
        head_fraction=cfg.head_fraction,
    )
    save_pretrained(output_dir, model.cpu(), tokenizer, schema, info)
    return TrainResult(
        output_dir,
        best_valid,
        history,
        seconds=time.perf_counter() - started,
        steps=step,
        step_seconds=step_time / max(1, step),
        bf16=bf16,
        cache_seconds=cache_seconds,
        train_truncated_share=float(np.mean(train.truncated)),
        schema=schema,
        trim=trim,
    )
