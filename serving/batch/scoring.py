"""Scoring an export: the plan of the output's columns, each chunk's rows, and the run.

See the package's docstring (:mod:`nabiz.serving.batch`) for what a run promises.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from nabiz.model.predictor import Prediction, Predictor
from nabiz.model.schema import TaskSpec
from nabiz.pii import mask_text
from nabiz.serving.batch.arrival import Arrival, read_arrival
from nabiz.serving.batch.columns import unused_column_hints
from nabiz.serving.batch.lock import output_lock
from nabiz.serving.batch.plan import OutputPlan, plan_output
from nabiz.serving.batch.resume import (
    STATE_VERSION,
    check_resumable,
    file_fingerprint,
    load_state,
    save_state,
    state_path,
)
from nabiz.serving.batch.rows import estimate_rows
from nabiz.serving.batch.summary import (
    TOP_ROWS,
    UNDATED_NOTE,
    ScoreSummary,
    Tally,
    TopRow,
    reading_notes,
    undated_example,
)
from nabiz.serving.priority import (
    LEVELS,
    PriorityPolicy,
    assess,
    compute_priority,
)
from nabiz.serving.writers import (
    OutputError,
    PartialWriter,
    check_target,
    open_writer,
    output_format,
    partial_path,
)
from nabiz.tabular import (
    ERROR_COLUMN,
    TableFormat,
    detect_format,
    is_blank,
    is_note,
    iter_table_chunks,
    join_text,
)
from nabiz.text import has_visible_text

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 2_000


def chunk_sized(chunk_rows: int, batch_size: int | None) -> int:
    """The texts per predictor call: ``batch_size``, or by default the whole chunk.

    A whole chunk lets the predictor sort its texts by length before cutting them into the
    network's batches: 2,000 sorted texts instead of 256 cut the padded tokens of 2,000 test texts
    from 1.17x to 1.09x the real ones (BENCHMARKS.md §9).
    """
    if chunk_rows < 1 or (batch_size is not None and batch_size < 1):
        raise ValueError("chunk_rows and batch_size must be at least 1")
    return chunk_rows if batch_size is None else batch_size


def jsonl_columns(path: Path, fmt: TableFormat, encoding: str | None, chunk_rows: int) -> list[str]:
    """Every key of a JSON Lines file (keys may first appear on any line), in first-seen order."""
    seen: dict[str, None] = {}
    for chunk in iter_table_chunks(path, max(chunk_rows, 20_000), fmt, encoding):
        seen.update(dict.fromkeys(chunk.columns))
    return list(seen)


def _digest(value: Any) -> str:
    if hasattr(value, "model_dump_json"):
        text = value.model_dump_json()
    else:
        try:
            text = json.dumps(value, sort_keys=True, default=str)
        except TypeError:
            text = repr(value)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _options(
    plan: OutputPlan, predictor: Predictor, policy: Any, output: Path, reading: dict[str, Any]
) -> dict[str, Any]:
    return {
        **reading,  # sheet, header_row: None unless given (as before they existed)
        "output_format": output_format(output),
        "text_columns": plan.text_columns,
        "id_column": plan.id_column,
        "channel_column": plan.channel_column,
        "time_column": plan.time_column,
        "time_format": plan.time_format,
        "columns": [asdict(column) for column in plan.columns],
        "model": {
            "name": predictor.info.name,
            "version": predictor.info.version,
            "created_at": predictor.info.created_at,
            "schema": _digest(predictor.schema),
        },
        "policy": _digest(policy),
    }


def score_chunk(
    chunk: pd.DataFrame,
    plan: OutputPlan,
    predictor: Predictor,
    policy: PriorityPolicy,
    now: datetime,
    tally: Tally,
    batch_size: int,
    advance,
    mask: bool = True,
) -> list[dict[str, Any]]:
    """Output rows of one chunk, in order; with ``mask``, personal data in the text columns is
    masked (:mod:`nabiz.pii`) in what the model reads and in what is written."""
    names = plan.names
    rows: list[dict[str, Any]] = []
    pending: list[tuple[int, str, Arrival, str | None]] = []  # (position, text, arrival, note)
    records = chunk.to_dict("records")
    for position, (number, record) in enumerate(zip(chunk.index, records, strict=True)):
        row = {name: record.get(name) for name in plan.originals}
        if mask:
            for name in plan.text_columns:
                if isinstance(row.get(name), str):
                    row[name] = mask_text(row[name])
        rows.append(row)
        error = record.get(ERROR_COLUMN)
        read_note = None
        if is_note(error):  # the row's values were read exactly: scored, the note kept
            read_note, error = error, None
        if error is not None:
            error = f"the row could not be read faithfully: {error}"
        text = ""
        if error is None:
            text = join_text([record.get(name) for name in plan.text_columns])
            if mask:
                text = mask_text(text)
            if not has_visible_text(text):
                error = f"empty text in {' + '.join(plan.text_columns)}"
        if error is not None:
            if mask:  # an error quotes the value it could not read, which may be anything
                error = mask_text(error)
            row[names["error"]] = error
            tally.add_error(int(number), error)
        else:
            pending.append((position, text, read_arrival(record, plan, policy, mask), read_note))

    candidates = []
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        predictions = predictor.predict([item[1] for item in batch])
        for (position, text, arrival, read_note), prediction in zip(
            batch, predictions, strict=True
        ):
            row = rows[position]
            _fill_prediction(row, prediction, predictor, names, tally)
            number = int(chunk.index[position])
            notes = [read_note] if read_note is not None else []
            if not arrival.unread:
                priority = compute_priority(
                    prediction.tasks,
                    policy,
                    channel=arrival.channel,
                    received_at=arrival.received,
                    now=now,
                    cues=prediction.cues,
                )
                respond_by = priority.respond_by.isoformat()
            else:  # tagged and levelled all the same: neither depends on the arrival
                priority = assess(prediction.tasks, policy, prediction.cues)
                unread = " ve ".join(arrival.unread)
                priority.reasons.append(f"yanıt için son hesaplanmadı: {unread} okunamadı")
                respond_by = None
                notes.append(UNDATED_NOTE + arrival.problem)
                tally.add_undated(number, arrival)
            row[names["priority_level"]] = str(priority.level)
            row[names["priority_score"]] = round(float(priority.score), 4)
            row[names["respond_by"]] = respond_by
            row[names["priority_reasons"]] = list(priority.reasons)
            row[names["error"]] = "; ".join(notes) or None
            level = str(priority.level)
            tally.levels[level] = tally.levels.get(level, 0) + 1
            if read_note is not None:
                tally.add_note(number, read_note)
            candidates.append(
                {
                    "row": number,
                    "id": None if plan.id_column is None else _text(row.get(plan.id_column)),
                    "priority_level": level,
                    "priority_score": round(float(priority.score), 4),
                    "respond_by": respond_by,
                    "labels": {
                        task.name: _shown(task, prediction) for task in predictor.schema.tasks
                    },
                    "text": _excerpt(text),
                }
            )
        advance(len(batch))
    tally.add_top(candidates)
    advance(len(rows) - len(pending))
    tally.rows += len(rows)
    return rows


def _shown(task: TaskSpec, prediction: Prediction) -> str:
    """A task's tag as the output file has it: a multi-label task's labels over their thresholds
    ("—" for none), not its top label, which the summary showed where the file's cell was empty."""
    answer = prediction.tasks[task.name]
    if not task.is_multi_label:
        return answer.label
    return "+".join(answer.labels) or "—"


def _text(value: Any) -> str | None:
    return None if is_blank(value) else str(value)


def _excerpt(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _fill_prediction(
    row: dict[str, Any],
    prediction: Prediction,
    predictor: Predictor,
    names: dict[str, str],
    tally: Tally,
) -> None:
    tally.scored += 1
    if prediction.truncated:
        tally.truncated += 1
    row[names["truncated"]] = bool(prediction.truncated)
    for task in predictor.schema.tasks:
        answer = prediction.tasks[task.name]
        scores = {label: round(float(score), 4) for label, score in answer.scores.items()}
        top = answer.scores[answer.label]
        row[names[task.name]] = list(answer.labels) if task.is_multi_label else answer.label
        row[names[f"{task.name}_score"]] = round(float(top), 4) if not math.isnan(top) else None
        row[names[f"{task.name}_scores"]] = scores
        counts = tally.labels[task.name]
        for label in answer.labels if task.is_multi_label else [answer.label]:
            counts[label] = counts.get(label, 0) + 1


def chunks_from(
    path: Path,
    fmt: TableFormat,
    encoding: str | None,
    chunk_rows: int,
    first_row: int,
    columns: list[str] | None,
    **reading: Any,
) -> Iterator[pd.DataFrame]:
    """The input's chunks from row ``first_row`` on (every column of ``columns`` present);
    ``reading``: the reader's ``sheet`` and ``header_row``."""
    reading = {key: value for key, value in reading.items() if value is not None}
    for chunk in iter_table_chunks(path, chunk_rows, fmt, encoding, **reading):
        if len(chunk) and chunk.index[-1] < first_row:
            continue
        if first_row and len(chunk) and chunk.index[0] < first_row:
            chunk = chunk.loc[first_row:]
        if columns is not None and list(chunk.columns) != columns:
            chunk = chunk.reindex(columns=columns)
            chunk = chunk.astype(object).where(chunk.notna(), None)
        yield chunk


def score_file(
    input_path: str | Path,
    output_path: str | Path,
    predictor: Predictor,
    policy: PriorityPolicy,
    text_columns: Sequence[str] | None = None,
    id_column: str | None = None,
    channel_column: str | None = None,
    time_column: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    batch_size: int | None = None,
    resume: bool = False,
    progress: bool = True,
    *,
    encoding: str | None = None,
    now: datetime | None = None,
    top_n: int = TOP_ROWS,
    mask_personal_data: bool = True,
    sheet: str | None = None,
    header_row: int | None = None,
    time_format: str | None = None,
) -> ScoreSummary:
    """Tag and prioritize every row of ``input_path`` and write ``output_path``.

    ``text_columns`` (joined with a blank line, in order) default to :func:`detect_text_columns`;
    ``channel_column`` and ``time_column`` feed the priority; ``id_column`` names rows in the
    summary. ``chunk_rows`` rows are read, scored and written at a time (and are the unit of
    resumption); ``batch_size`` texts go to the predictor per call (default: the whole chunk, see
    :func:`chunk_sized`). ``resume`` continues an interrupted run into the same output (starting
    fresh when there is none); without it, a leftover partial output is discarded. ``now`` is the
    time the priority is computed at (default: when the run started; a resumed run keeps its
    original). ``encoding`` overrides the detected text encoding of CSV/TSV/JSON Lines input.
    ``mask_personal_data`` masks ids, IBANs, cards, phones and e-mails in the text columns before
    scoring and writing (:mod:`nabiz.pii`). ``sheet`` and ``header_row`` choose where an Excel
    (or CSV) table starts (:func:`nabiz.tabular.iter_table_chunks`). ``time_format`` reads the
    time column with one strptime format (``%m/%d/%Y``) instead of the usual ones
    (:func:`~nabiz.serving.batch.times.parse_time`). A row whose channel or time cannot be read is
    tagged and levelled without a respond-by, and says why in its error column (a note).
    """
    started = time.perf_counter()
    input_path, output_path = Path(input_path), Path(output_path)
    batch_size = chunk_sized(chunk_rows, batch_size)
    # fail on the output before reading anything
    if input_path.resolve() == output_path.resolve():
        raise OutputError(
            f"the output {output_path} would overwrite the input; name another output file"
        )
    output_format(output_path)
    check_target(output_path)
    with output_lock(output_path):
        reading = {"sheet": sheet, "header_row": header_row}
        if isinstance(text_columns, str):
            text_columns = [text_columns]
        fmt = detect_format(input_path)
        for note in policy.check_against(predictor.schema):
            logger.info("priority policy: %s", note)

        all_columns = None
        if fmt == "jsonl":
            all_columns = jsonl_columns(input_path, fmt, encoding, chunk_rows)
            if ERROR_COLUMN in all_columns:
                all_columns.remove(ERROR_COLUMN)
            all_columns.append(ERROR_COLUMN)
        chunks = chunks_from(input_path, fmt, encoding, chunk_rows, 0, all_columns, **reading)
        first = next(chunks)
        read = dict(first.attrs)
        plan = plan_output(
            list(first.columns),
            predictor,
            text_columns,
            id_column,
            channel_column,
            time_column,
            time_format,
        )
        options = _options(plan, predictor, policy, output_path, reading)
        fingerprint = file_fingerprint(input_path)
        state_file = state_path(output_path)
        output_path.parent.mkdir(parents=True, exist_ok=True)
        writer: PartialWriter = open_writer(output_path, plan.columns)
        tally = Tally(predictor, top_n)

        state = load_state(state_file) if resume else None
        if resume and state is None and partial_path(output_path).exists():
            logger.warning("no state for %s; starting over", partial_path(output_path))
        rows_done = 0
        if state is not None:
            check_resumable(state, fingerprint, options, input_path)
            rows_done = int(state["rows_done"])
            writer.start(state["writer"])
            tally.load(state["summary"])
            now = datetime.fromisoformat(state["now"])
            if rows_done:
                chunks.close()
                chunks = chunks_from(
                    input_path, fmt, encoding, chunk_rows, rows_done, all_columns, **reading
                )
                first = None
        else:
            if state_file.exists():
                state_file.unlink()
            if partial_path(output_path).exists():
                logger.warning(
                    "discarding the partial output of an earlier run (--resume would continue it)"
                )
            writer.start(None)
            now = now or datetime.now(UTC).replace(microsecond=0)
            if now.tzinfo is None:
                now = now.replace(tzinfo=policy.zone)
            state = {
                "version": STATE_VERSION,
                "input": {"path": str(input_path.resolve()), "fingerprint": fingerprint},
                "options": options,
                "now": now.isoformat(),
                "rows_done": 0,
                "writer": None,
                "summary": tally.to_json(),
            }
            save_state(state_file, state)

        from tqdm.auto import tqdm

        total = estimate_rows(input_path, fmt, encoding, sheet=sheet)
        bar = tqdm(
            total=total,
            initial=rows_done,
            unit=" rows",
            desc=f"scoring {input_path.name}",
            disable=not progress,
            dynamic_ncols=True,
            smoothing=0.1,
        )

        def advance(n: int) -> None:
            bar.update(n)
            if bar.total is not None and bar.n > bar.total:
                bar.total = bar.n

        resumed_rows = rows_done
        try:
            stream = chunks if first is None else _prepend(first, chunks)
            for chunk in stream:
                rows = score_chunk(
                    chunk,
                    plan,
                    predictor,
                    policy,
                    now,
                    tally,
                    batch_size,
                    advance,
                    mask=mask_personal_data,
                )
                checkpoint = writer.write_chunk(rows)
                rows_done += len(rows)
                state.update(rows_done=rows_done, writer=checkpoint, summary=tally.to_json())
                save_state(state_file, state)
            bar.total = bar.n
            bar.refresh()
        finally:
            bar.close()
            writer.close()
        writer.finish()
        state_file.unlink(missing_ok=True)
        notes = reading_notes(read)
        cut = getattr(writer, "cells_cut", 0)
        if cut:
            notes.append(
                f"{cut:,} cell(s) longer than Excel's 32,767 characters were cut (ending in …); "
                "write .csv, .jsonl or .parquet to keep whole texts"
            )

        return ScoreSummary(
            input_path=input_path,
            output_path=output_path,
            rows=tally.rows,
            scored=tally.scored,
            failed=tally.failed,
            truncated=tally.truncated,
            noted=tally.noted,
            undated=tally.undated,
            undated_by=tally.undated_by,
            first_undated=undated_example(tally.first_undated),
            resumed_rows=resumed_rows,
            text_columns=plan.text_columns,
            hints=unused_column_hints(plan.originals, plan.channel_column, plan.time_column),
            notes=notes,
            columns=[column.name for column in plan.columns],
            label_counts=tally.labels,
            priority_counts={
                level: tally.levels[level] for level in LEVELS if level in tally.levels
            },
            top=[TopRow(**item) for item in tally.top],
            error_examples=list(tally.errors),
            seconds=time.perf_counter() - started,
        )


def _prepend(first: pd.DataFrame, rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    yield first
    yield from rest
