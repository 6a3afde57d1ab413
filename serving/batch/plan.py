"""The plan of a run's output, fixed before the first row is scored: which columns hold the
text, the id, the channel and the time, and the output's columns (the input's, then the
prediction's, renamed ``nabiz_<name>`` where an input column has the name)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nabiz.model.predictor import Predictor
from nabiz.serving.batch.columns import ColumnError, find_column, resolve_text_columns
from nabiz.serving.batch.times import check_time_format
from nabiz.serving.writers import Column
from nabiz.tabular import ERROR_COLUMN


@dataclass
class OutputPlan:
    """Everything fixed before the first row is scored."""

    originals: list[str]
    text_columns: list[str]
    id_column: str | None
    channel_column: str | None
    time_column: str | None
    names: dict[str, str]  # prediction column key → output name (renamed on a clash)
    columns: list[Column]
    time_format: str | None = None  # a strptime format the time column is read with, else guessed


def _prediction_columns(predictor: Predictor) -> list[Column]:
    columns = []
    for task in predictor.schema.tasks:
        columns += [
            Column(task.name, "list" if task.is_multi_label else "text"),
            Column(f"{task.name}_score", "float"),
            Column(f"{task.name}_scores", "json"),
        ]
    columns += [
        Column("truncated", "bool"),
        Column("priority_level", "text"),
        Column("priority_score", "float"),
        Column("respond_by", "text"),
        Column("priority_reasons", "list"),
        Column("error", "text"),
    ]
    return columns


def plan_output(
    originals: list[str],
    predictor: Predictor,
    text_columns: Sequence[str] | None,
    id_column: str | None,
    channel_column: str | None,
    time_column: str | None,
    time_format: str | None = None,
) -> OutputPlan:
    originals = [column for column in originals if column != ERROR_COLUMN]
    texts = resolve_text_columns(originals, text_columns)

    def optional(name: str | None, what: str) -> str | None:
        return find_column(originals, name, what) if name else None

    if time_format:
        try:
            check_time_format(time_format)
        except ValueError as exc:
            raise ColumnError(str(exc)) from None
    taken = set(originals)
    names: dict[str, str] = {}
    columns = [Column(name, "text") for name in originals]
    for column in _prediction_columns(predictor):
        name = column.name
        while name in taken:
            name = f"nabiz_{name}"
        taken.add(name)
        names[column.name] = name
        columns.append(Column(name, column.kind))
    return OutputPlan(
        originals=originals,
        text_columns=texts,
        id_column=optional(id_column, "id column"),
        channel_column=optional(channel_column, "channel column"),
        time_column=optional(time_column, "time column"),
        names=names,
        columns=columns,
        time_format=time_format or None,
    )
