"""Evaluating a saved model directory: on a split of its prepared data or on a labelled file.

Used by ``nabiz evaluate``, by training (the hand-labelled sets scored after each run) and by the
benchmarks; kept apart from the training pipeline, which imports it, so that the two never import
each other.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nabiz.model.calibration import load_calibration
from nabiz.model.loading import BASELINE_DIR, from_pretrained
from nabiz.model.mixture import MixturePredictor
from nabiz.model.predictor import Predictor, ScoredBatch
from nabiz.settings import Settings
from nabiz.text import fold_case_and_accents, has_visible_text
from nabiz.training.config import NabizConfig, load_config
from nabiz.training.evaluate import evaluate_predictor

log = logging.getLogger(__name__)

CONFIG_FILE = "training_config.yaml"


def split_columns(split, schema) -> tuple[list[str], dict[str, list], list[str]]:
    return (
        list(split["text"]),
        {t.name: list(split[t.name]) for t in schema.tasks},
        list(split["source"]),
    )


def evaluate_texts(predictors: dict[str, Predictor], texts, gold, sources) -> dict[str, dict]:
    done: dict[int, dict] = {}  # the same predictor under two names runs once
    for p in predictors.values():
        if id(p) not in done:
            done[id(p)] = evaluate_predictor(p, texts, gold, sources)
    return {name: done[id(p)] for name, p in predictors.items()}


def evaluate_on_split(predictors: dict[str, Predictor], split) -> dict[str, dict]:
    schema = next(iter(predictors.values())).schema
    return evaluate_texts(predictors, *split_columns(split, schema))


def load_model_config(model_dir: Path) -> NabizConfig:
    path = Path(model_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: use --data FILE to evaluate on a labelled file"
        )
    return load_config(path)


class _OnePass(Predictor):
    """The network of a served mixture, remembering its last batch's raw scores: the mixture
    and the encoder alone (the same network, other temperatures) read the same texts, and the
    network's pass is most of an evaluation's time. Copies share the memory."""

    def __init__(self, network: Predictor) -> None:
        self.network = network
        self.schema = network.schema
        self.info = network.info
        self.path = network.path
        self.calibration = network.calibration
        self._last: dict[str, object] = {}

    @property
    def engine(self) -> str:
        return self.network.engine

    def compute_scores(self, texts: Sequence[str]) -> ScoredBatch:
        key = tuple(texts)
        if self._last.get("texts") != key:
            self._last.update(texts=key, batch=self.network.compute_scores(texts))
        return self._last["batch"]  # type: ignore[return-value]


def model_predictors(model_dir: Path, cues: bool = True) -> dict[str, Predictor]:
    """The served model (``nabiz``) and, when it has a baseline, the encoder and the baseline
    alone. ``cues=False`` leaves the served model's urgency cues out (to measure what they add).
    The encoder alone is the served mixture's own network with its own temperatures, so one
    pass of the network over a batch serves both (:class:`_OnePass`).
    """
    model_dir = Path(model_dir)
    product = from_pretrained(model_dir)
    if not cues:
        product.urgency_cues = None
    predictors: dict[str, Predictor] = {"nabiz": product}
    if (model_dir / BASELINE_DIR / "nabiz.json").is_file():
        if isinstance(product, MixturePredictor):
            product.first = _OnePass(product.first)
            alone = copy.copy(product.first)
            alone.calibration = load_calibration(model_dir, "transformer")
            predictors["transformer"] = alone  # no baseline, no cues
        elif product.urgency_cues is not None:
            predictors["transformer"] = from_pretrained(model_dir, ensemble=False)  # no cues
        else:
            predictors["transformer"] = product  # no mixture, no cues: the encoder alone
        predictors["baseline"] = from_pretrained(model_dir / BASELINE_DIR)
    return predictors


def evaluate_model(
    model_dir: Path,
    split: str = "test",
    data_file: Path | None = None,
    text_column: str = "text",
    settings: Settings | None = None,
    cues: bool = True,
) -> dict[str, dict]:
    """Evaluate a model directory (and its baseline, when it has one) on a split or a file."""
    predictors = model_predictors(model_dir, cues)
    schema = predictors["nabiz"].schema
    if data_file is not None:
        return evaluate_texts(predictors, *read_labelled_file(data_file, schema, text_column))
    from nabiz.training.data import load_prepared

    datasets = load_prepared(load_model_config(model_dir))
    if split not in datasets:
        raise ValueError(f"no split {split!r}; the prepared data has {list(datasets)}")
    return evaluate_on_split(predictors, datasets[split])


def read_labelled_file(path: Path, schema, text_column: str = "text"):
    """Texts and gold labels from a CSV/JSONL/Parquet/Excel file with one column per task."""
    from nabiz.tabular import read_table

    return labelled_columns(read_table(path), schema, text_column, str(path))


def labelled_columns(frame, schema, text_column: str = "text", where: str = "the data"):
    """Texts, gold labels per task and sources (when there is a ``source`` column) of a table."""
    from nabiz.tabular import ERROR_COLUMN

    columns = [column for column in frame.columns if column != ERROR_COLUMN]
    if text_column not in columns:
        raise ValueError(
            f"{where} has no text column {text_column!r}; its columns are {columns} "
            "(choose one with --text-column)"
        )
    missing = [t.name for t in schema.tasks if t.name not in columns]
    if len(missing) == len(schema.tasks):
        raise ValueError(
            f"{where} has no label column for any task {schema.names}; its columns are "
            f"{columns}. Name each label column as its task, holding the model's labels."
        )
    if missing:
        log.warning("%s has no column for task(s) %s: they are not evaluated", where, missing)
    texts = frame[text_column].fillna("").astype(str)
    blank = ~texts.map(has_visible_text)  # the one rule: Predictor.predict raises on the rest
    if blank.any():
        log.warning("%s: %d row(s) without a text are left out", where, int(blank.sum()))
        frame, texts = frame[~blank], texts[~blank]
    if frame.empty:
        raise ValueError(f"{where} has no rows with a text to evaluate")
    gold, unknown = {}, Counter()
    for task in schema.tasks:
        values = frame[task.name].tolist() if task.name in frame.columns else [None] * len(frame)
        spelled = {fold_case_and_accents(label): label for label in task.labels}
        gold[task.name] = [_cell_label(task, v, spelled, unknown) for v in values]
    if unknown:
        named = "; ".join(
            f"task {task!r}: {label!r} ({n} row{'s' if n > 1 else ''})"
            for (task, label), n in unknown.most_common()
        )
        known = {t.name: t.labels for t in schema.tasks if any(k[0] == t.name for k in unknown)}
        raise ValueError(
            f"{where} has labels the model does not know: {named}; its labels: {known}"
        )
    sources = frame["source"].astype(str).tolist() if "source" in frame.columns else None
    return texts.tolist(), gold, sources


# A multi-label cell saying that none of the task's labels applies (an empty cell is unlabelled:
# the row is left out of the task), unless the task has a label spelled so.
NO_LABEL = frozenset({"-", "yok", "none"})


def _cell_label(task, value, spelled: dict[str, str], unknown: Counter):
    """The model's spelling of a cell's label(s) (``spelled``: each label without case and
    accents → the label, so that ``OLUMSUZ`` is ``olumsuz`` and ``YÜKSEK`` is ``yuksek``); a
    label the task does not have is counted in ``unknown`` and read as none. A multi-label cell
    of :data:`NO_LABEL` is the empty label set."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    if not task.is_multi_label:
        parts = [str(value).strip()]
    else:
        parts = value if isinstance(value, list) else [p.strip() for p in str(value).split(";")]
        word = fold_case_and_accents(str(parts[0])) if len(parts) == 1 else ""
        if word in NO_LABEL and word not in spelled:
            return []  # "no label of the task applies": a negative example for every label
    labels = []
    for label in parts:
        known = label if label in task.labels else spelled.get(fold_case_and_accents(label))
        if known is None:
            unknown[(task.name, label)] += 1
        else:
            labels.append(known)
    if task.is_multi_label:
        return labels
    return labels[0] if labels else None
