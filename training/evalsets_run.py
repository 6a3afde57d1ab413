"""The hand-labelled evaluation sets a config keeps out of the data, scored after training.

``data.exclude`` names files of ids that are evaluation sets (the VakıfBank urgency set): their
texts never reach train, validation or test, so they are the only figures of a domain the model
has no labels from. Each run scores them with the served model, with and without its urgency
cues, so that the model card shows what carries over without a second command.
"""

from __future__ import annotations

import logging
import tempfile
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
    from nabiz.training.modeleval import evaluate_model

    found: dict[str, dict] = {}
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
        with tempfile.TemporaryDirectory() as folder:
            texts = Path(folder) / "eval.csv"
            frame.to_csv(texts, index=False)
            reports = {
                "with_cues": evaluate_model(model_dir, data_file=texts, settings=settings),
                "without_cues": evaluate_model(
                    model_dir, data_file=texts, settings=settings, cues=False
                ),
            }
        found[path.stem] = {
            "file": exclusion.file,
            "source": exclusion.source,
            "rows": len(frame),
            "tasks": labelled,
            "reports": reports,
        }
        log.info("evaluation set %s scored (%d texts)", path.stem, len(frame))
    return found
