"""One training run end to end, and evaluation of a saved model directory.

``run_training`` is what ``nabiz train`` calls: prepared data (prepared now if missing) →
fine-tuned transformer → TF-IDF baseline on the same split → both evaluated on the test split →
a self-describing model directory (weights, tokenizer, schema, config, metrics, model card).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from nabiz.model.baseline import BaselinePredictor, TfidfBaseline
from nabiz.model.calibration import (
    Calibration,
    calibrated_nll,
    gold_indices,
    save_calibration,
)
from nabiz.model.cues import CueList, UrgencyCues
from nabiz.model.loading import BASELINE_DIR, from_pretrained
from nabiz.model.manifest import unlisted_files, write_manifest
from nabiz.model.mixture import mix_scores
from nabiz.model.predictor import METRICS_FILE, ModelInfo
from nabiz.model.schema import LabelSchema
from nabiz.settings import Settings, get_settings
from nabiz.training.card import write_model_card
from nabiz.training.config import NabizConfig, SourceSpec
from nabiz.training.cues import fit_urgency_cues
from nabiz.training.distributed import data_parallel, finish
from nabiz.training.evalsets_run import score_eval_sets
from nabiz.training.evaluate import (
    encoder_beats_baseline,
    format_check,
    format_report,
    score_metrics,
)
from nabiz.training.modeleval import (
    CONFIG_FILE,
    load_model_config,
    split_columns,
)
from nabiz.training.thresholds import label_matrix, tune_thresholds

log = logging.getLogger(__name__)
# What `nabiz evaluate` writes into a model directory by default (nabiz.cli).
EVALUATION_REPORT = re.compile(r"evaluation_\w+\.json")
DATA_CARD = "data_card.json"


def used_sources(config: NabizConfig, settings: Settings) -> list[SourceSpec]:
    from nabiz.training.data import load_manifest, resolve_sources

    if not config.data.sources:
        return list(config.data.files)
    manifest = load_manifest(settings.manifest)
    return [*resolve_sources(manifest, config.data.sources), *config.data.files]


def load_or_prepare(config: NabizConfig, settings: Settings):
    from nabiz.training.data import (
        DataSourceError,
        load_prepared,
        prepare_data,
        require_labels,
        require_splits,
    )

    try:
        datasets = load_prepared(config, check_files=True)
    except DataSourceError as missing_or_stale:
        log.info("%s — preparing the data now", missing_or_stale)
        prepare_data(config, settings)
        datasets = load_prepared(config)
    require_splits(datasets)
    require_labels(datasets, config)
    return datasets


def train_baseline(config: NabizConfig, datasets, directory: Path) -> BaselinePredictor:
    texts, gold, _ = split_columns(datasets["train"], config.schema)
    model = TfidfBaseline(
        config.schema, C=config.baseline.C, max_features=config.baseline.max_features
    ).fit(texts, gold)
    info = ModelInfo(name=f"{config.name}-tfidf", version=config.version, model_type="tfidf")
    predictor = BaselinePredictor(model, info)
    predictor.save_pretrained(directory)
    return predictor


WEIGHT_GRID = [round(0.1 * i, 1) for i in range(10)]


def tune_baseline_weights(
    schema: LabelSchema,
    ours: dict[str, np.ndarray],
    theirs: dict[str, np.ndarray],
    gold: dict[str, list],
) -> dict[str, float]:
    """Per task, the baseline share (0..0.9) whose mixture, calibrated as the product calibrates
    it (a temperature fitted on the same texts; none for multi-label tasks, whose labels are
    each a yes or no), makes validation's labels most likely.

    Likelihood rather than macro-F1: validation macro-F1 turns on a few texts of the rare classes
    (brain_tr's ``magaza_bayi`` has 4), and one grid step of the share chosen by it moved test
    topic by up to 5 points; the likelihood weighs every text's whole probability vector, and
    the served probabilities are what the priority multiplies (BENCHMARKS.md §8). The grid
    starts at 0 and the first minimum wins, so the baseline enters a task's scores only where
    validation says it helps.
    """
    weights = {}
    for task in schema.tasks:
        if task.is_multi_label:
            rows, truth = label_matrix(task.labels, gold.get(task.name, []))
            mine, other = ours[task.name][rows], theirs[task.name][rows]

            def binary(w: float, mine=mine, other=other, truth=truth) -> float:
                return binary_nll((1 - w) * mine + w * other, truth)

            weights[task.name] = min(WEIGHT_GRID, key=binary) if rows else 0.0
            continue
        rows, labels = gold_indices(task, gold.get(task.name, []))
        if not len(labels):  # no validation text labelled for the task
            weights[task.name] = 0.0
            continue
        mine, other = {task.name: ours[task.name][rows]}, {task.name: theirs[task.name][rows]}

        def loss(w: float, name=task.name, mine=mine, other=other, labels=labels) -> float:
            return calibrated_nll(mix_scores(mine, other, {name: w})[name], labels)

        weights[task.name] = min(WEIGHT_GRID, key=loss)
    return weights


def binary_nll(probs: np.ndarray, truth: np.ndarray) -> float:
    """Mean negative log-likelihood of yes/no labels under their probabilities."""
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    return float(-np.mean(np.where(truth, np.log(p), np.log1p(-p))))


def in_source(source: str, names: list[str]) -> bool:
    """Whether a row's source is one of ``names``: ``shoppingwords_reviews`` also names its
    files ``shoppingwords_reviews.stars`` and ``shoppingwords_reviews.human``."""
    return any(source == name or source.startswith(name + ".") for name in names)


def leave_out_sources(datasets, sources: list[str]):
    """Train and validation without ``sources`` (the test split keeps them, to measure)."""
    if not sources:
        return datasets
    from datasets import DatasetDict

    known = set(datasets["train"]["source"]) | set(datasets["test"]["source"])
    unknown = sorted(name for name in sources if not any(in_source(s, [name]) for s in known))
    if unknown:
        raise ValueError(f"leave_out names unknown sources {unknown}; the data has {sorted(known)}")
    keep = lambda rows: [not in_source(s, sources) for s in rows["source"]]  # noqa: E731
    return DatasetDict(
        {
            name: split.filter(keep, batched=True) if name != "test" else split
            for name, split in datasets.items()
        }
    )


def leave_out_dir(output_dir: Path, leave_out: list[str]) -> Path:
    """Where a leave-out run goes by default: beside the full model, named after what it lacks."""
    if not leave_out:
        return output_dir
    return output_dir.with_name(f"{output_dir.name}-without-{'-'.join(sorted(leave_out))}")


def run_training(
    config: NabizConfig, settings: Settings | None = None, output_dir: Path | None = None
) -> dict[str, Any]:
    """Train, calibrate, evaluate and save; returns the metrics written to ``metrics.json``.

    The encoder and the baseline each score validation and test once; the mixture, its tuning,
    the calibrations and all three predictors' figures (raw and calibrated) are computed from
    those scores, not by running the models again.
    """
    from nabiz.training.train import fine_tune, resolve_device

    settings = settings or get_settings()
    output_dir = Path(output_dir or config.resolve(config.output_dir))
    check_replaceable(output_dir)
    parallel = data_parallel(settings, config.training.device)  # under torchrun: one of several
    with parallel.main_first():
        datasets = leave_out_sources(load_or_prepare(config, settings), config.training.leave_out)
    partial = output_dir.with_name(output_dir.name + ".partial")
    if partial.exists() and parallel.is_main:
        shutil.rmtree(partial)

    result = fine_tune(config, datasets, partial, settings)
    finish(parallel)
    if not parallel.is_main:  # rank 0 writes the model directory, once
        return {}
    device = config.training.device
    transformer = from_pretrained(partial, device=device)
    schema = transformer.schema
    valid_texts, valid_gold, _ = split_columns(datasets["validation"], schema)
    test_texts, test_gold, test_sources = split_columns(datasets["test"], schema)
    raw_valid = {"transformer": transformer.predict_scores(valid_texts).scores}
    raw_test = {"transformer": transformer.predict_scores(test_texts).scores}
    weights: dict[str, float] = {}
    served_schema = schema  # the mixture's own multi-label thresholds, once tuned
    if config.baseline.enabled:
        log.info("training the TF-IDF baseline on the same split")
        baseline = train_baseline(config, datasets, partial / BASELINE_DIR)
        raw_valid["baseline"] = baseline.predict_scores(valid_texts).scores
        if any(task.is_multi_label for task in schema.tasks):  # its own thresholds, as the encoder
            baseline.schema = tune_thresholds(baseline.schema, raw_valid["baseline"], valid_gold)
            baseline.schema.save(partial / BASELINE_DIR)
        raw_test["baseline"] = baseline.predict_scores(test_texts).scores
        weights = tune_baseline_weights(
            schema, raw_valid["transformer"], raw_valid["baseline"], valid_gold
        )
        log.info("baseline share of the scores, tuned on validation: %s", weights)
        info = ModelInfo.load(partial)
        info.baseline_weights = weights
        if any(weights.values()):
            for raw in (raw_valid, raw_test):
                raw["nabiz"] = mix_scores(raw["transformer"], raw["baseline"], weights)
            mixed = [t.name for t in schema.tasks if t.is_multi_label and weights[t.name]]
            tuned = tune_thresholds(schema, raw_valid["nabiz"], {n: valid_gold[n] for n in mixed})
            info.mixture_thresholds = {name: tuned.task(name).thresholds for name in mixed}
            served_schema = tuned
        info.save(partial)
    raw_valid.setdefault("nabiz", raw_valid["transformer"])
    raw_test.setdefault("nabiz", raw_test["transformer"])

    calibrations = {}
    for name, scores in raw_valid.items():
        calibrations[name] = Calibration.fit(schema, scores, valid_gold)
        directory = partial / BASELINE_DIR if name == "baseline" else partial
        save_calibration(directory, name, calibrations[name])
    log.info("temperatures fitted on validation: %s", calibrations["nabiz"].temperatures)
    cues = None
    if config.urgency_cues:
        valid_product = calibrations["nabiz"].apply(raw_valid["nabiz"])
        cues = fit_urgency_cues(
            config.resolve(config.urgency_cues), schema, valid_product, valid_texts, valid_gold
        )
        if cues is not None:
            cues.save(partial)

    schemas = {"transformer": schema, "nabiz": served_schema}
    if config.baseline.enabled:
        schemas["baseline"] = baseline.schema
    test, uncalibrated, without_cues = {}, {}, {}
    for name in ("nabiz", "transformer", "baseline"):
        if name not in raw_test or (name == "nabiz" and not config.baseline.enabled):
            continue
        raw = raw_test[name]
        own = schemas[name]  # each predictor is judged at its own multi-label thresholds
        uncalibrated[name] = score_metrics(own, raw, test_gold, test_sources)
        calibrated = calibrations[name].apply(raw)
        if name == "nabiz" and cues is not None:
            without_cues = score_metrics(own, calibrated, test_gold, test_sources)
            index = schema.task(cues.task).index(cues.label)
            hits = [cues.cues.hits(text) for text in test_texts]
            calibrated = {**calibrated, cues.task: cues.apply(calibrated[cues.task], index, hits)}
        test[name] = score_metrics(own, calibrated, test_gold, test_sources)
        test[name]["n_texts"] = len(test_texts)
    print(format_report(test, schema))
    check = encoder_beats_baseline(test)
    if check:
        print(format_check(check))

    metrics = {
        "test": test,
        "test_uncalibrated": uncalibrated,
        "encoder_vs_baseline": check,
        "calibration": {name: c.temperatures for name, c in calibrations.items()},
        "urgency_cues": None
        if cues is None
        else {
            "coef": cues.coef,
            "intercept": cues.intercept,
            "fitted_on": cues.fitted_on,
            "test_without_cues": without_cues["tasks"].get(cues.task),
        },
        "training": {
            "device": str(resolve_device(config.training.device)),
            "seconds": result.seconds,
            "steps": result.steps,
            "step_seconds": result.step_seconds,
            "bf16": result.bf16,
            "cache_seconds": result.cache_seconds,
            "best_validation": result.best_validation,
            "history": result.history,
            "train_truncated_share": result.train_truncated_share,
            "baseline_weights": weights,
            "leave_out": config.training.leave_out,
            "vocabulary": None if result.trim is None else vars(result.trim),
        },
    }
    metrics["eval_sets"] = score_eval_sets(config, partial, settings)
    full_dir = Path(config.resolve(config.output_dir))
    if not config.training.leave_out:
        metrics["cross_domain"] = cross_domain_figures(output_dir)
    _write_run_files(partial, config, metrics, datasets, settings, output_dir)
    write_manifest(partial)  # last: it lists every file the model was saved with
    if output_dir.exists():
        shutil.rmtree(output_dir)
    partial.rename(output_dir)
    if config.training.leave_out and (full_dir / METRICS_FILE).is_file():
        refresh_model_card(full_dir, settings)  # the full model's card shows this run too
    return metrics


def check_replaceable(output_dir: Path) -> None:
    """The trained model replaces ``output_dir`` whole, at the end of the run: refuse, before
    any minute is spent, a directory holding files that are not a saved model's (its own
    ``evaluation_*.json`` reports aside, which describe the model being replaced). A user's notes
    left beside a model were deleted without a word."""
    if not output_dir.exists():
        return
    if not output_dir.is_dir():
        raise ValueError(f"the output {output_dir} is a file; choose a directory (--output)")
    unlisted = unlisted_files(output_dir)
    if unlisted is None:
        unlisted = [path.relative_to(output_dir).as_posix() for path in output_dir.rglob("*")]
        what = "is not a Nabız model directory"
    else:
        unlisted = [name for name in unlisted if not EVALUATION_REPORT.fullmatch(name)]
        what = "holds files the model there was not saved with"
    if unlisted:
        shown = ", ".join(unlisted[:5]) + (
            f" and {len(unlisted) - 5} more" if len(unlisted) > 5 else ""
        )
        raise ValueError(
            f"{output_dir} {what} ({shown}); training replaces the directory whole and would "
            "delete them: move them, or choose another --output"
        )


def cross_domain_figures(model_dir: Path) -> dict[str, dict]:
    """From the leave-out runs beside ``model_dir`` (``<name>-without-<source>``): per left-out
    source, the served model's test figures on that source, which it never saw in training."""
    found = {}
    for run in sorted(Path(model_dir).parent.glob(f"{Path(model_dir).name}-without-*")):
        path = run / METRICS_FILE
        if not path.is_file():
            continue
        metrics = json.loads(path.read_text(encoding="utf-8"))
        served = metrics.get("test", {}).get("nabiz", {}).get("by_source", {})
        left_out = metrics.get("training", {}).get("leave_out", [])
        for source, figures in served.items():
            if in_source(source, left_out):
                found[source] = figures
    return found


def refresh_model_card(model_dir: Path, settings: Settings | None = None) -> None:
    """Rewrite a model's card (and its metrics' cross-domain part) from what is on disk now."""
    model_dir = Path(model_dir)
    config = load_model_config(model_dir)
    metrics = json.loads((model_dir / METRICS_FILE).read_text(encoding="utf-8"))
    metrics["cross_domain"] = cross_domain_figures(model_dir)
    (model_dir / METRICS_FILE).write_text(
        json.dumps(metrics, indent=2, ensure_ascii=False), "utf-8"
    )
    write_model_card(model_dir, config, metrics, used_sources(config, settings or get_settings()))
    write_manifest(model_dir)  # the card and metrics changed: list their new checksums


def frozen_config(config: NabizConfig, output_dir: Path) -> NabizConfig:
    """The config as saved in the model: every path the config file gave relative to itself
    made absolute, and ``output_dir`` the directory the model went to, so that `nabiz evaluate`
    finds the data and a copy of the file anywhere trains the same model again (relative paths
    were read against the model directory, and a run with ``--output`` recorded the config's)."""

    def absolute(path: str | None) -> str | None:
        return None if path is None else str(config.resolve(path))

    files = [
        spec.model_copy(
            update={
                "path": absolute(spec.path),
                "labels": {
                    name: column.model_copy(update={"map_file": absolute(column.map_file)})
                    for name, column in spec.labels.items()
                },
            }
        )
        for spec in config.data.files
    ]
    exclude = [
        item.model_copy(update={"file": absolute(item.file)}) for item in config.data.exclude
    ]
    data = config.data.model_copy(
        update={
            "prepared_dir": absolute(config.data.prepared_dir),
            "files": files,
            "exclude": exclude,
        }
    )
    return config.model_copy(
        update={
            "data": data,
            "urgency_cues": absolute(config.urgency_cues),
            "output_dir": str(Path(output_dir).resolve()),
        }
    )


def _write_run_files(
    directory: Path, config, metrics, datasets, settings, output_dir: Path
) -> None:
    (directory / METRICS_FILE).write_text(
        json.dumps(metrics, indent=2, ensure_ascii=False), "utf-8"
    )
    config_text = frozen_config(config, output_dir).to_yaml()
    (directory / CONFIG_FILE).write_text(config_text, encoding="utf-8")
    card = Path(config.resolve(config.data.prepared_dir)) / DATA_CARD
    if card.is_file():
        shutil.copy(card, directory / DATA_CARD)
    write_model_card(directory, config, metrics, used_sources(config, settings))


def attach_urgency_cues(
    model_dir: Path,
    cue_file: Path | None = None,
    data_file: Path | None = None,
    text_column: str = "text",
) -> UrgencyCues | None:
    """Fit the combiner for a saved model and save it there: on its prepared validation split,
    or on ``data_file``, a sector's own labelled texts (a text column and a column named as the
    urgency task; :func:`~nabiz.training.modeleval.read_labelled_file`). The cue list is
    ``cue_file``, else the model's own copy (``urgency_cues.json``)."""
    if cue_file is not None:  # a missing or broken cue file fails before anything is scored
        cue_list = CueList.load(cue_file)
    elif (saved := UrgencyCues.load(model_dir)) is not None:
        cue_list = saved.cues
    else:
        raise FileNotFoundError(
            f"{model_dir} holds no urgency cue list (urgency_cues.json): name one with --cues"
        )
    predictor = from_pretrained(model_dir)
    predictor.urgency_cues = None  # fit on the calibrated scores without any earlier cues
    if data_file is None:
        from nabiz.training.data import load_prepared

        config = load_model_config(model_dir)
        prepared = leave_out_sources(load_prepared(config), config.training.leave_out)
        texts = list(prepared["validation"]["text"])
        gold = {t.name: list(prepared["validation"][t.name]) for t in predictor.schema.tasks}
    else:
        from nabiz.training.modeleval import read_labelled_file

        texts, gold, _ = read_labelled_file(data_file, predictor.schema, text_column)
    scores = predictor.predict_scores(texts).scores
    cues = fit_urgency_cues(
        cue_list, predictor.schema, scores, texts, gold, in_domain=data_file is not None
    )
    if cues is not None:
        cues.save(model_dir)
        write_manifest(model_dir)  # urgency_cues.json changed
    return cues
