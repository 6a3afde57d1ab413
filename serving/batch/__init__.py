"""The batch pipeline: tag and prioritize every row of a feedback export (``nabiz score``).

``score_file`` reads CSV/TSV, Excel, JSON Lines or Parquet in chunks (:mod:`nabiz.tabular`),
tags each chunk's texts with the predictor, computes each row's priority
(:mod:`nabiz.serving.priority`) and appends the chunk to the output (:mod:`nabiz.serving.writers`),
so memory stays flat however large the file is.

Promises:

* **Every input row is an output row, in order**, with all its original columns followed by the
  prediction and priority columns. A row that cannot be scored — unreadable (the reader marked
  it), empty text — gets a message in ``error`` and no prediction. A row the reader read exactly
  but with a note (an Excel value in a column without a header, left out) is scored and keeps the
  note in ``error``; so is a row whose channel is unknown or whose time cannot be read, with no
  ``respond_by`` (the tags and the level do not depend on them).
* **Columns follow the model's schema**: per task ``<task>`` (the label; for a multi-label task
  the labels over their thresholds), ``<task>_score`` (the top label's score) and
  ``<task>_scores`` (every label's score, JSON); then ``truncated``, ``priority_level``,
  ``priority_score``, ``respond_by``, ``priority_reasons`` and ``error``. A prediction column whose
  name an input column already has is written as ``nabiz_<name>``.
* **Interrupt-safe and resumable**: the output is written to ``<output>.partial`` and renamed only
  when complete. After every chunk the partial output is flushed and the state file
  ``<output>.partial.state.json`` records the rows done, the writer's checkpoint, the running
  summary, a fingerprint of the input (size and hashes of its first and last MiB) and the options.
  ``resume=True`` checks fingerprint and options, drops whatever a killed run half wrote after its
  last complete chunk and continues with the next row, so the result equals an uninterrupted run.
  ``now`` (which the priority's deadlines and ages are computed against) is saved too and reused.
* **One run per output**: ``<output>.lock`` is held for the whole run, so a second run into the
  same output is refused instead of interleaving its rows with the first's
  (:mod:`~nabiz.serving.batch.lock`).

The package, one concern a module: :mod:`~nabiz.serving.batch.columns` (which columns hold the
text), :mod:`~nabiz.serving.batch.plan` (the output's columns), :mod:`~nabiz.serving.batch.times`
(received-at times), :mod:`~nabiz.serving.batch.rows` (row counts for the progress bar),
:mod:`~nabiz.serving.batch.lock` (one run per output),
:mod:`~nabiz.serving.batch.resume` (the state of an interrupted run),
:mod:`~nabiz.serving.batch.summary` (the run's counts and report) and
:mod:`~nabiz.serving.batch.scoring` (the run itself); the output formats are
:mod:`nabiz.serving.writers`.
"""

from nabiz.serving.batch.columns import (
    TEXT_COLUMN_NAMES,
    TITLE_COLUMN_NAMES,
    ColumnError,
    detect_text_columns,
    normalize_column_name,
    resolve_text_columns,
)
from nabiz.serving.batch.resume import ResumeError, file_fingerprint, state_path
from nabiz.serving.batch.rows import estimate_rows
from nabiz.serving.batch.scoring import score_file
from nabiz.serving.batch.summary import ScoreSummary, TopRow
from nabiz.serving.batch.times import parse_time

__all__ = [
    "TEXT_COLUMN_NAMES",
    "TITLE_COLUMN_NAMES",
    "ColumnError",
    "ResumeError",
    "ScoreSummary",
    "TopRow",
    "detect_text_columns",
    "estimate_rows",
    "file_fingerprint",
    "normalize_column_name",
    "parse_time",
    "resolve_text_columns",
    "score_file",
    "state_path",
]
