"""The hand-labelled evaluation sets a config keeps out of the data, scored after training.

``data.exclude`` names files of ids that are evaluation sets (the VakıfBank urgency set): their
texts never reach train, validation or test, so they are the only figures of a domain the model
has no labels from. Each run scores them with the served model, with and without its urgency
cues, so that the model card shows what carries over without a second command.
"""

from __future__ import annotations

import logging
from pathlib import Path

from nabiz.model.predictor import Predictor, ScoredBatch
from nabiz.settings import Settings
from nabiz.training.config import NabizConfig
from nabiz.training.evaluate import batch_report

log = logging.getLogger(__name__)


def score_eval_sets(config: NabizConfig, model_dir: Path, settings: Settings) -> dict[str, dict]:
    """Per evaluation set: its file, source, and the reports with and without the cues.

    A set whose file or source text cannot be read is skipped with a warning (a data scientist's
    own config may exclude ids whose labels live elsewhere).
    """
    from nabiz.training.evaltexts import eval_texts
    from nabiz.training.modeleval import evaluate_texts, labelled_columns, model_predictors

    found: dict[str, dict] = {}
    predictors = None
    for exclusion in config.data.exclude:
        path = config.resolve(exclusion.file)
        try:
            frame = eval_texts(path, exclusion.source, settings)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("evaluation set %s not scored: %s", path, exc)
            continue
        labelled = [t.name for t in config.schema.tasks if t.name in frame.columns]
        if not labelled:
            log.warning("evaluation set %s has no column named after a task; not scored", path)
            continue
        predictors = predictors or model_predictors(model_dir)  # loaded once, for every set
        texts, gold, sources = labelled_columns(frame, config.schema, where=str(path))
        product = predictors["nabiz"]
        served, without = served_reports(product, texts, gold, sources)
        others = {name: p for name, p in predictors.items() if p is not product}
        with_cues = {
            **{name: served for name in predictors},  # the encoder alone may be the product
            **evaluate_texts(others, texts, gold, sources),  # the cues are the product's only
        }
        found[path.stem] = {
            "file": exclusion.file,
            "source": exclusion.source,
            "rows": len(frame),
            "tasks": labelled,
            "reports": {"with_cues": with_cues, "without_cues": {**with_cues, "nabiz": without}},
        }
        log.info("evaluation set %s scored (%d texts)", path.stem, len(frame))
    return found


def served_reports(product: Predictor, texts: list[str], gold, sources) -> tuple[dict, dict]:
    """The served model's reports with and without its urgency cues, from one pass of the
    network: the cues act on the calibrated scores alone (:meth:`Predictor.apply_cues`), and a
    pass over the bank set's 180 long complaints takes 15 s on a 2-core AVX2-only CPU."""
    batch = product.compute_scores(texts)
    calibrated = product.postprocess_scores(batch.scores)
    cued, _ = product.apply_cues(texts, calibrated)
    with_cues = batch_report(product, ScoredBatch(cued, batch.truncated), gold, sources)
    without = batch_report(product, ScoredBatch(calibrated, batch.truncated), gold, sources)
    return with_cues, without
