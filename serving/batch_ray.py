"""Batch scoring on Ray Data (``nabiz score --engine ray``): the local engine's rows, on a cluster.

The stages stream through Ray Data:

1. **read**: one Ray task per input file reads it with the local engine's reader (nabiz.tabular
   through ``scoring.chunks_from``: encoding detection, the ``_error`` mark of malformed rows,
   every JSON Lines key), in chunks of ``chunk_rows``;
2. **score**: an actor pool (``map_batches`` with a callable class) where each actor loads the model
   once with :func:`nabiz.model.loading.load_predictor`, as the local engine does, and scores each
   batch with the local engine's per-row function (``scoring.score_chunk`` of
   :mod:`nabiz.serving.batch`: text joining, empty texts, channels, times, priority, ``error``);
3. **write**: each block becomes one Parquet file in the output directory.

So the answers are the local engine's: every row once, the same columns, labels, priorities and
errors. The output adds two columns, ``source_file`` (the file's path relative to the input) and
``source_row`` (the 0-based data row in that file), because the rows of a distributed run are not
in input order. The summary (counts per label and level, the first errors, the highest-priority
rows) is gathered by a small actor that every scoring actor reports its batch's counts to, and is
written as ``_summary.json`` (a leading ``_`` keeps Parquet readers from taking it for data).

The output is written to ``<output>.partial`` and renamed when complete. Unlike the local engine a
Ray run cannot be resumed; an interrupted run is started again.
"""

from __future__ import annotations

import glob
import heapq
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from nabiz.model.loading import load_predictor
from nabiz.model.predictor import ModelInfo
from nabiz.model.schema import LabelSchema
from nabiz.serving.batch.columns import ColumnError, unused_column_hints
from nabiz.serving.batch.plan import OutputPlan, plan_output
from nabiz.serving.batch.scoring import (
    DEFAULT_CHUNK_ROWS,
    chunk_sized,
    chunks_from,
    jsonl_columns,
    score_chunk,
)
from nabiz.serving.batch.summary import (
    ERROR_EXAMPLES,
    TOP_ROWS,
    ScoreSummary,
    SummaryCollector,
    Tally,
    TopRow,
    undated_example,
)
from nabiz.serving.priority import LEVELS, PriorityPolicy
from nabiz.serving.ray_sizing import block_bytes_for, default_concurrency
from nabiz.serving.writers import OutputError, arrow_schema, arrow_table, partial_path
from nabiz.settings import Settings
from nabiz.tabular import ERROR_COLUMN, EXTENSIONS, detect_format, iter_table_chunks

logger = logging.getLogger(__name__)

SUMMARY_FILE = "_summary.json"
SOURCE_FILE, SOURCE_ROW = "source_file", "source_row"
# Columns that carry a row's origin from the reader to the scorer (never in the output as such).
_FILE, _ROW = "__nabiz_source_file", "__nabiz_source_row"
# Logical CPUs a reading or writing task asks for: none, so that they are never left waiting for
# CPUs the scoring actors hold (with --concurrency × --cpus-per-actor = every CPU, a task asking
# for any would never start, and the run would hang). They do use the cores: the default
# concurrency leaves one CPU for them.
LIGHT_CPUS = 0
# Batches queued on an actor at a time. Ray's default (4) lets the actor that finished loading
# the model first take the first four batches; a 20,000-row export at 2,000 rows a batch was
# then scored at one actor's rate while the second sat idle (BENCHMARKS.md §12).
TASKS_PER_ACTOR = 1
RAY_MISSING = (
    "the ray engine needs Ray Data: pip install 'nabiz[ray]' (or pip install 'ray[data]'), "
    "on this machine and on every node of the cluster"
)


def _ray():
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise RuntimeError(RAY_MISSING) from error
    return ray


# ----------------------------------------------------------------------------------------------
# inputs


def find_inputs(pattern: str | Path) -> tuple[list[Path], Path]:
    """The input files of ``pattern`` (a file, a directory, or a glob) and the root they are
    named relative to in ``source_file``.

    A directory contributes every table file below it (by extension; names starting with ``.`` or
    ``_`` are skipped, as Parquet readers skip them). Raises ``FileNotFoundError`` when nothing
    matches.
    """
    text = str(pattern)
    path = Path(text)
    if path.is_file():
        return [path], path.parent
    if path.is_dir():
        files = sorted(
            candidate
            for candidate in path.rglob("*")
            if candidate.is_file()
            and candidate.suffix.lower() in EXTENSIONS
            and not any(part.startswith((".", "_")) for part in candidate.relative_to(path).parts)
        )
        if not files:
            raise FileNotFoundError(
                f"{path} holds no table files ({', '.join(sorted(EXTENSIONS))})"
            )
        return files, path
    if glob.has_magic(text):
        files = sorted(
            Path(name) for name in glob.glob(text, recursive=True) if Path(name).is_file()
        )
        if not files:
            raise FileNotFoundError(f"no file matches {text!r}")
        root = Path(os.path.commonpath([str(name.parent.resolve()) for name in files]))
        return files, root
    raise FileNotFoundError(f"{text}: no such file, folder or glob match")


def file_columns(path: Path, encoding: str | None, chunk_rows: int) -> list[str]:
    """A file's columns as the local engine sees them: the header, or every JSON Lines key."""
    fmt = detect_format(path)
    if fmt == "jsonl":
        columns = jsonl_columns(path, fmt, encoding, chunk_rows)
    else:
        columns = list(next(iter(iter_table_chunks(path, 1, fmt, encoding))).columns)
    return [column for column in columns if column != ERROR_COLUMN]


def union_columns(per_file: Sequence[Sequence[str]]) -> list[str]:
    """Every file's columns, in first-seen order (files in order)."""
    seen: dict[str, None] = {}
    for columns in per_file:
        seen.update(dict.fromkeys(columns))
    return list(seen)


# ----------------------------------------------------------------------------------------------
# the stages


def _read_files(
    batch: dict[str, Any], root: str, columns: list[str], encoding: str | None, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """Read stage: the rows of each file in chunks, with their origin (file, row) as columns."""
    for name in batch["path"]:
        path = Path(name)
        relative = os.path.relpath(path, root)
        wanted = [*columns, ERROR_COLUMN]
        for chunk in chunks_from(path, detect_format(path), encoding, chunk_rows, 0, wanted):
            frame = chunk.reset_index(drop=True)
            frame[_FILE] = relative
            frame[_ROW] = chunk.index.to_numpy(dtype="int64")
            yield frame


@dataclass
class _Job:
    """What every scoring actor needs, fixed on the driver before the first row is read."""

    model_dir: str
    settings: Settings
    policy: PriorityPolicy
    plan: OutputPlan
    now: datetime
    batch_size: int
    top_n: int
    names: dict[str, str]  # source_file / source_row → output name (renamed on a clash)
    threads: int  # torch threads per actor: its CPUs (NABIZ_NUM_THREADS, when set, wins)


class _Scorer:
    """Score stage: one per actor; loads the model once, then scores batch after batch."""

    def __init__(self, job: _Job, collector: Any) -> None:
        self.job = job
        self.collector = collector
        settings = job.settings
        if not settings.num_threads:
            settings = settings.model_copy(update={"num_threads": job.threads})
        self.predictor = load_predictor(job.model_dir, settings)
        self.schema = output_schema(job.plan, job.names)

    def __call__(self, frame: pd.DataFrame) -> Any:
        import pyarrow as pa
        import ray

        job = self.job
        files = frame[_FILE].tolist()
        chunk = frame.drop(columns=[_FILE, _ROW])
        chunk = chunk.astype(object).where(chunk.notna(), None)
        chunk.index = pd.Index(frame[_ROW].astype("int64").tolist())
        numbers: list[int] = []
        rows: list[dict[str, Any]] = []
        origins: list[str] = []
        reports = []
        error = job.plan.names["error"]
        # A batch may span the end of one file and the start of the next: score per file, so
        # that the summary can name each row by its file and number.
        for file, part in chunk.groupby(pd.Series(files).to_numpy(), sort=False):
            tally = Tally(self.predictor, job.top_n)
            scored = score_chunk(
                part,
                job.plan,
                self.predictor,
                job.policy,
                job.now,
                tally,
                job.batch_size,
                lambda _: None,
            )
            errors = [
                (file, int(number), row[error])
                for number, row in zip(part.index, scored, strict=True)
                if row.get(error) is not None
            ]
            for item in tally.top:
                item["file"] = file
            report = tally.to_json() | {"file": file}
            reports.append((report, heapq.nsmallest(ERROR_EXAMPLES, errors)))
            rows += scored
            origins += [file] * len(part)
            numbers += part.index.tolist()
        ray.get(self.collector.add.remote(reports))
        table = arrow_table(rows, job.plan.columns)
        table = table.append_column(job.names[SOURCE_FILE], pa.array(origins, pa.string()))
        table = table.append_column(job.names[SOURCE_ROW], pa.array(numbers, pa.int64()))
        return table.cast(self.schema)


def output_schema(plan: OutputPlan, names: dict[str, str]):
    """The local engine's Parquet schema, then ``source_file`` and ``source_row``."""
    import pyarrow as pa

    schema = arrow_schema(plan.columns)
    schema = schema.append(pa.field(names[SOURCE_FILE], pa.string()))
    return schema.append(pa.field(names[SOURCE_ROW], pa.int64()))


# ----------------------------------------------------------------------------------------------
# the run


@dataclass
class _SchemaOnly:
    """What the plan needs of a predictor (its schema), without loading weights on the driver."""

    schema: LabelSchema
    info: ModelInfo


def _prepare_output(output: Path) -> Path:
    """The partial directory to write into; refuses to replace anything but a Nabız output."""
    if output.exists() and not (output.is_dir() and (output / SUMMARY_FILE).is_file()):
        raise OutputError(
            f"{output} exists and is not the output of an earlier `nabiz score --engine ray` "
            "run; choose a new directory (the ray engine writes a directory of Parquet files)."
        )
    if output.suffix.lower() in (".csv", ".tsv", ".jsonl", ".xlsx", ".parquet", ".pq"):
        logger.info("%s is used as a directory of Parquet files", output)
    partial = partial_path(output)
    if partial.exists():
        shutil.rmtree(partial) if partial.is_dir() else partial.unlink()
    return partial


def _connect(address: str | None) -> None:
    ray = _ray()
    if ray.is_initialized():
        return
    # "local" starts a private instance even where `ray start` left one running on this machine.
    ray.init(address=address or "local", logging_level=logging.WARNING)


def score_with_ray(
    inputs: str | Path,
    output_path: str | Path,
    model_dir: str | Path,
    policy: PriorityPolicy,
    settings: Settings,
    text_columns: Sequence[str] | None = None,
    id_column: str | None = None,
    channel_column: str | None = None,
    time_column: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    batch_size: int | None = None,
    *,
    time_format: str | None = None,
    address: str | None = None,
    concurrency: int | None = None,
    num_gpus: float = 0.0,
    cpus_per_actor: float = 1.0,
    block_bytes: int | None = None,
    encoding: str | None = None,
    now: datetime | None = None,
    top_n: int = TOP_ROWS,
    progress: bool = True,
) -> ScoreSummary:
    """Tag and prioritize every row of ``inputs`` on Ray and write ``output_path`` (a directory).

    ``inputs`` is a file, a directory or a glob of CSV/TSV/JSON Lines/Parquet/Excel files; all
    files share one output schema (the union of their columns, in first-seen order), and each
    must have the text columns. ``address`` joins a running cluster (``ray://…`` or ``host:port``);
    without it a local Ray instance is started, unless this process already runs one.
    ``concurrency`` actors (default: as many as the cluster's GPUs or CPUs hold) each take
    ``num_gpus`` GPUs (0: CPU only) and ``cpus_per_actor`` CPUs, and score ``batch_size`` rows
    per call (default: ``chunk_rows``); the rows are handed to the actors in blocks of about
    ``block_bytes`` (default: :func:`~nabiz.serving.ray_sizing.block_bytes_for` the input's size
    and the actors). The other arguments are those of :func:`nabiz.serving.batch.score_file`.
    """
    started = time.perf_counter()
    output_path, model_dir = Path(output_path), Path(model_dir)
    batch_size = chunk_sized(chunk_rows, batch_size)
    if isinstance(text_columns, str):
        text_columns = [text_columns]
    files, root = find_inputs(inputs)
    if any(output_path.resolve() == file.resolve() for file in files):
        raise ValueError(f"the output {output_path} would overwrite an input; choose another")
    model = _SchemaOnly(LabelSchema.load(model_dir), ModelInfo.load(model_dir))
    for note in policy.check_against(model.schema):
        logger.info("priority policy: %s", note)
    partial = _prepare_output(output_path)

    _connect(address)
    ray = _ray()
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = progress
    context.print_on_execution_start = progress
    read_columns = ray.remote(file_columns)
    per_file = ray.get([read_columns.remote(file, encoding, chunk_rows) for file in files])
    columns = union_columns(per_file)
    plan = plan_output(
        columns, model, text_columns, id_column, channel_column, time_column, time_format
    )
    for file, present in zip(files, per_file, strict=True):
        missing = [name for name in plan.text_columns if name not in present]
        if missing:
            raise ColumnError(
                f"{file} has no column {', '.join(map(repr, missing))} (the text column(s) of "
                f"this run); its columns are: {', '.join(map(repr, present))}."
            )
    taken = {column.name for column in plan.columns}
    names = {}
    for name in (SOURCE_FILE, SOURCE_ROW):
        renamed = name
        while renamed in taken:
            renamed = f"nabiz_{renamed}"
        taken.add(renamed)
        names[name] = renamed

    now = now or datetime.now(UTC).replace(microsecond=0)
    if now.tzinfo is None:
        now = now.replace(tzinfo=policy.zone)
    threads = max(1, int(cpus_per_actor))
    job = _Job(
        str(model_dir.resolve()), settings, policy, plan, now, batch_size, top_n, names, threads
    )
    tasks = {task.name: list(task.labels) for task in model.schema.tasks}
    collector = ray.remote(num_cpus=0)(SummaryCollector).remote(tasks, top_n)
    if concurrency is None:
        concurrency = default_concurrency(ray.cluster_resources(), num_gpus, cpus_per_actor)
    # A reading task's chunks are gathered into blocks of up to this many bytes, and a block
    # goes to one actor: at Ray's default (128 MiB) a 200,000-row CSV was one block, one actor
    # scored all of it and the others sat idle. (Ray's streaming repartition would cut by rows,
    # but its tasks need a CPU, which the actors hold: the run hung.)
    if block_bytes is None:
        block_bytes = block_bytes_for(sum(file.stat().st_size for file in files), concurrency)
    context.target_max_block_size = block_bytes

    dataset = ray.data.from_items(
        [{"path": str(file.resolve())} for file in files], override_num_blocks=len(files)
    )
    dataset = dataset.map_batches(
        _read_files,
        fn_kwargs={
            "root": str(root.resolve()),
            "columns": columns,
            "encoding": encoding,
            "chunk_rows": chunk_rows,
        },
        batch_size=1,
        batch_format="pandas",
        num_cpus=LIGHT_CPUS,
    )
    dataset = dataset.map_batches(
        _Scorer,
        fn_constructor_args=(job, collector),
        batch_size=batch_size,
        batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(
            size=concurrency, max_tasks_in_flight_per_actor=TASKS_PER_ACTOR
        ),
        num_cpus=cpus_per_actor,
        num_gpus=num_gpus or None,
    )
    dataset.write_parquet(str(partial.resolve()), ray_remote_args={"num_cpus": LIGHT_CPUS})

    tally = ray.get(collector.result.remote())
    several = len(files) > 1
    errors = [
        f"{file + ' ' if several else ''}row {number + 1}: {message}"
        for file, number, message in tally["errors"]
    ]
    top = [TopRow(**{k: v for k, v in item.items() if k != "file"}) for item in tally["top"]]
    first = tally["first_undated"]  # (file, row, why) of the first row without a respond-by
    summary = ScoreSummary(
        input_path=Path(inputs),
        output_path=output_path,
        rows=tally["rows"],
        scored=tally["scored"],
        failed=tally["failed"],
        truncated=tally["truncated"],
        noted=tally["noted"],
        undated=tally["undated"],
        undated_by=tally["undated_by"],
        first_undated=undated_example(first[1:], first[0] if several else None) if first else None,
        text_columns=plan.text_columns,
        hints=unused_column_hints(plan.originals, plan.channel_column, plan.time_column),
        columns=[*(column.name for column in plan.columns), *names.values()],
        label_counts=tally["labels"],
        priority_counts={
            level: tally["levels"][level] for level in LEVELS if level in tally["levels"]
        },
        top=top,
        error_examples=errors,
        seconds=time.perf_counter() - started,
    )
    record = {
        **asdict(summary),
        "input_path": str(inputs),
        "output_path": str(output_path),
        "top": tally["top"],  # with each row's file
        "files": [os.path.relpath(file, root) for file in files],
        "engine": "ray",
        "now": now.isoformat(),
    }
    (partial / SUMMARY_FILE).write_text(
        json.dumps(record, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    if output_path.exists():
        shutil.rmtree(output_path)
    partial.rename(output_path)
    return summary


__all__ = [
    "RAY_MISSING",
    "SOURCE_FILE",
    "SOURCE_ROW",
    "SUMMARY_FILE",
    "SummaryCollector",
    "default_concurrency",
    "file_columns",
    "find_inputs",
    "output_schema",
    "score_with_ray",
    "union_columns",
]
