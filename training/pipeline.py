"""One training run end to end, and evaluation of a saved model directory.

``run_training`` is what ``nabiz train`` calls: prepared data (prepared now if missing) →
fine-tuned transformer → TF-IDF baseline on the same split → both evaluated on the test split →
a self-describing model directory (weights, tokenizer, schema, config, metrics, model card).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from nabiz.model.baseline import BaselinePredictor, TfidfBaseline
from nabiz.model.loading import BASELINE_DIR, from_pretrained
from nabiz.model.mixture import mix_scores
from nabiz.model.predictor import METRICS_FILE, ModelInfo, Predictor
from nabiz.settings import Settings, get_settings
from nabiz.training.card import write_model_card
from nabiz.training.config import NabizConfig, SourceSpec, load_config
from nabiz.training.distributed import data_parallel, finish
from nabiz.training.evaluate import evaluate_predictor, format_report

log = logging.getLogger(__name__)
CONFIG_FILE = "training_config.yaml"
DATA_CARD = "data_card.json"


def _split_columns(split, schema) -> tuple[list[str], dict[str, list], list[str]]:
    return (
        list(split["text"]),
        {t.name: list(split[t.name]) for t in schema.tasks},
        list(split["source"]),
    )


def used_sources(config: NabizConfig, settings: Settings) -> list[SourceSpec]:
    from nabiz.training.data import load_manifest, resolve_sources

    if not config.data.sources:
        return list(config.data.files)
    manifest = load_manifest(settings.manifest)
    return [*resolve_sources(manifest, config.data.sources), *config.data.files]


def load_or_prepare(config: NabizConfig, settings: Settings):
    from nabiz.training.data import DataSourceError, load_prepared, prepare_data

    try:
        return load_prepared(config)
    except DataSourceError as missing_or_stale:
        log.info("%s — preparing the data now", missing_or_stale)
        prepare_data(config, settings)
        return load_prepared(config)


def train_baseline(config: NabizConfig, datasets, directory: Path) -> BaselinePredictor:
    texts, gold, _ = _split_columns(datasets["train"], config.schema)
    model = TfidfBaseline(
        config.schema, C=config.baseline.C, max_features=config.baseline.max_features
    ).fit(texts, gold)
    info = ModelInfo(name=f"{config.name}-tfidf", version=config.version, model_type="tfidf")
    predictor = BaselinePredictor(model, info)
    predictor.save_pretrained(directory)
    return predictor


WEIGHT_GRID = [round(0.1 * i, 1) for i in range(10)]


def tune_baseline_weights(
    transformer: Predictor, baseline: Predictor, validation
) -> dict[str, float]:
    """Per single-label task, the baseline share (0..0.9) that maximizes validation macro-F1.

    Multi-label tasks keep the transformer alone: their thresholds were tuned on its scores.
    """
    from nabiz.training.evaluate import task_metrics

    texts, gold, _ = _split_columns(validation, transformer.schema)
    ours = transformer.predict_scores(texts).scores
    theirs = baseline.predict_scores(texts).scores
    weights = {}
    for task in transformer.schema.tasks:
        if task.is_multi_label:
            weights[task.name] = 0.0
            continue

        def validation_f1(w: float, task=task) -> float:
            mixed = mix_scores(
                {task.name: ours[task.name]}, {task.name: theirs[task.name]}, {task.name: w}
            )
            return task_metrics(task, mixed[task.name], gold[task.name]).get("macro_f1", 0.0)

        weights[task.name] = max(WEIGHT_GRID, key=validation_f1)
    return weights


def evaluate_on_split(predictors: dict[str, Predictor], split) -> dict[str, dict]:
    schema = next(iter(predictors.values())).schema
    texts, gold, sources = _split_columns(split, schema)
    return {name: evaluate_predictor(p, texts, gold, sources) for name, p in predictors.items()}


def run_training(
    config: NabizConfig, settings: Settings | None = None, output_dir: Path | None = None
) -> dict[str, Any]:
    """Train, evaluate and save; returns the metrics written to ``metrics.json``."""
    from nabiz.training.train import fine_tune, resolve_device

    settings = settings or get_settings()
    output_dir = Path(output_dir or config.resolve(config.output_dir))
    parallel = data_parallel(settings, config.training.device)  # under torchrun: one of several
    with parallel.main_first():
        datasets = load_or_prepare(config, settings)
    partial = output_dir.with_name(output_dir.name + ".partial")
    if partial.exists() and parallel.is_main:
        shutil.rmtree(partial)

    result = fine_tune(config, datasets, partial, settings)
    finish(parallel)
    if not parallel.is_main:  # rank 0 writes the model directory, once
        return {}
    device = config.training.device
    transformer = from_pretrained(partial, device=device)
    predictors: dict[str, Predictor] = {"nabiz": transformer}
    weights: dict[str, float] = {}
    if config.baseline.enabled:
        log.info("training the TF-IDF baseline on the same split")
        baseline = train_baseline(config, datasets, partial / BASELINE_DIR)
        weights = tune_baseline_weights(transformer, baseline, datasets["validation"])
        log.info("baseline share of the scores, tuned on validation: %s", weights)
        info = ModelInfo.load(partial)
        info.baseline_weights = weights
        info.save(partial)
        predictors = {
            "nabiz": from_pretrained(partial, device=device),
            "transformer": transformer,
            "baseline": baseline,
        }
    test = evaluate_on_split(predictors, datasets["test"])
    print(format_report(test, transformer.schema))

    metrics = {
        "test": test,
        "training": {
            "device": str(resolve_device(config.training.device)),
            "seconds": result.seconds,
            "steps": result.steps,
            "best_validation": result.best_validation,
            "history": result.history,
            "train_truncated_share": result.train_truncated_share,
            "baseline_weights": weights,
            "vocabulary": None if result.trim is None else vars(result.trim),
        },
    }
    _write_run_files(partial, config, metrics, datasets, settings)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    partial.rename(output_dir)
    return metrics


def _frozen_config(config: NabizConfig) -> NabizConfig:
    """The config as saved in the model: data paths made absolute, so evaluate finds them."""
    data = config.data.model_copy(
        update={"prepared_dir": str(config.resolve(config.data.prepared_dir))}
    )
    return config.model_copy(update={"data": data})


def _write_run_files(directory: Path, config, metrics, datasets, settings) -> None:
    (directory / METRICS_FILE).write_text(
        json.dumps(metrics, indent=2, ensure_ascii=False), "utf-8"
    )
    (directory / CONFIG_FILE).write_text(_frozen_config(config).to_yaml(), encoding="utf-8")
    card = Path(config.resolve(config.data.prepared_dir)) / DATA_CARD
    if card.is_file():
        shutil.copy(card, directory / DATA_CARD)
    write_model_card(directory, config, metrics, used_sources(config, settings))


def load_model_config(model_dir: Path) -> NabizConfig:
    path = Path(model_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: use --data FILE to evaluate on a labelled file"
        )
    return load_config(path)


def evaluate_model(
    model_dir: Path,
    split: str = "test",
    data_file: Path | None = None,
    text_column: str = "text",
    settings: Settings | None = None,
) -> dict[str, dict]:
    """Evaluate a model directory (and its baseline, when it has one) on a split or a file."""
    model_dir = Path(model_dir)
    product = from_pretrained(model_dir)
    predictors: dict[str, Predictor] = {"nabiz": product}
    if any(product.info.baseline_weights.values()):
        predictors["transformer"] = from_pretrained(model_dir, ensemble=False)
    if (model_dir / BASELINE_DIR / "nabiz.json").is_file():
        predictors["baseline"] = from_pretrained(model_dir / BASELINE_DIR)
    schema = product.schema
    if data_file is not None:
        texts, gold, sources = read_labelled_file(data_file, schema, text_column)
        return {name: evaluate_predictor(p, texts, gold, sources) for name, p in predictors.items()}
    from nabiz.training.data import load_prepared

    datasets = load_prepared(load_model_config(model_dir))
    if split not in datasets:
        raise ValueError(f"no split {split!r}; the prepared data has {list(datasets)}")
    return evaluate_on_split(predictors, datasets[split])


def read_labelled_file(path: Path, schema, text_column: str = "text"):
    """Texts and gold labels from a CSV/JSONL/Parquet/Excel file with one column per task."""
    from nabiz.tabular import read_table

    frame = read_table(path)
    if text_column not in frame.columns:
        raise ValueError(
            f"{path} has no text column {text_column!r}; its columns are {list(frame.columns)} "
            "(choose one with --text-column)"
        )
    missing = [t.name for t in schema.tasks if t.name not in frame.columns]
    if len(missing) == len(schema.tasks):
        raise ValueError(f"{path} has no label column for any task {schema.names}")
    gold = {}
    for task in schema.tasks:
        values = frame[task.name].tolist() if task.name in frame.columns else [None] * len(frame)
        gold[task.name] = [_cell_label(task, v) for v in values]
    sources = frame["source"].astype(str).tolist() if "source" in frame.columns else None
    return frame[text_column].fillna("").astype(str).tolist(), gold, sources


def _cell_label(task, value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    if task.is_multi_label:
        labels = value if isinstance(value, list) else [p.strip() for p in str(value).split(";")]
        for label in labels:
            task.index(label)
        return labels
    task.index(str(value))
    return str(value)
