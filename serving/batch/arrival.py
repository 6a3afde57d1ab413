"""A row's arrival as the priority reads it: its channel and received-at time, and which of the
two could not be read. Such a row loses its respond-by, not its tags (:mod:`.scoring`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from nabiz.pii import mask_text
from nabiz.serving.batch.plan import OutputPlan
from nabiz.serving.batch.times import parse_time
from nabiz.serving.priority import PriorityPolicy, UnknownChannelError, normalize_channel
from nabiz.tabular import is_blank


class UndatedCause(StrEnum):
    """Why a row has no respond-by, by the column to fix: the run's summary counts each apart, so
    that a thousand undated rows say whether the time or the channel column needs the work."""

    TIME_UNREADABLE = "time-unreadable"  # a value in the time column that is no time read
    TIME_BLANK = "time-blank"  # an empty cell of the time column (not the scoring time)
    CHANNEL_UNKNOWN = "channel-unknown"  # a channel that is none of the policy's nor an alias


class Unread(NamedTuple):
    """Why a column's value could not be read: the cause counted, and the words of the note."""

    cause: UndatedCause
    why: str


@dataclass(frozen=True)
class Arrival:
    """A row's channel and received-at time as the priority reads them, and the columns of the two
    that could not be read (with why): such a row loses its respond-by, not its tags."""

    channel: str | None = None
    received: datetime | None = None
    unread: dict[str, Unread] = field(default_factory=dict)  # column → its cause and why

    @property
    def problem(self) -> str:
        """The row's note after ``no respond-by:``: each column not read, with why."""
        return "; ".join(f"{column}: {unread.why}" for column, unread in self.unread.items())

    @property
    def causes(self) -> list[UndatedCause]:
        """Why the row has no respond-by, one cause per column not read (empty: it has one)."""
        return [unread.cause for unread in self.unread.values()]


def read_arrival(
    record: dict[str, Any], plan: OutputPlan, policy: PriorityPolicy, mask: bool
) -> Arrival:
    """The arrival of one row of a chunk from the plan's channel and time columns; with ``mask``,
    personal data in a message about a value is masked."""
    channel = received = None
    unread: dict[str, Unread] = {}
    if plan.channel_column is not None:
        value = record.get(plan.channel_column)
        if not is_blank(value):
            channel = str(value).strip()
            try:
                normalize_channel(channel, policy)
            except UnknownChannelError as problem:  # once per row: the channels, not aliases
                names = ", ".join(problem.accepted)
                unread[plan.channel_column] = Unread(
                    UndatedCause.CHANNEL_UNKNOWN,
                    f"unknown channel {channel[:40]!r}; the policy's channels: {names}"
                    " (or an alias)",
                )
    if plan.time_column is not None:
        value = record.get(plan.time_column)
        if is_blank(value):  # not the scoring time: a 2025 complaint would be due tomorrow
            unread[plan.time_column] = Unread(UndatedCause.TIME_BLANK, "no time in the cell")
        else:
            try:
                received = parse_time(value, plan.time_format)
            except ValueError as problem:
                unread[plan.time_column] = Unread(UndatedCause.TIME_UNREADABLE, str(problem))
    if mask:  # the message quotes the value, which may be anything (a TC number in a wrong column)
        unread = {column: it._replace(why=mask_text(it.why)) for column, it in unread.items()}
    return Arrival(channel, received, unread)
