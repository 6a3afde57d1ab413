"""The hand-labelled evaluation sets a config keeps out of the data, scored after training.

``data.exclude`` names files of ids that are evaluation sets (the VakıfBank urgency set): their
texts never reach train, validation or test, so they are the only figures of a domain the model
has no labels from. Each run scores them with the served model, with and without its urgency
cues, so that the model card shows what carries over without a second command.
"""

from __future__ import annotations

import logging
from pathlib import Path

from nabiz.settings import Settings
from nabiz.training.config import NabizConfig

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
        with_cues = evaluate_texts(predictors, texts, gold, sources)
        product = predictors["nabiz"]
        cues, product.urgency_cues = product.urgency_cues, None
        try:  # the cues change only the served model: the others' reports stand for both
            without = evaluate_texts({"nabiz": product}, texts, gold, sources)
        finally:
            product.urgency_cues = cues
        found[path.stem] = {
            "file": exclusion.file,
            "source": exclusion.source,
            "rows": len(frame),
            "tasks": labelled,
            "reports": {"with_cues": with_cues, "without_cues": {**with_cues, **without}},
        }
        log.info("evaluation set %s scored (%d texts)", path.stem, len(frame))
    return found
