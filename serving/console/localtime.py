"""Local calendar days and ISO weeks of a time column, computed in SQL the same way on SQLite and
PostgreSQL, so that insights can ``GROUP BY`` a Turkish team's day instead of a UTC day.

Neither database is asked about time zones: SQLite has none, and PostgreSQL's zone database need
not be the one Python reads. Python works out the zone's UTC offset over the data's time span
instead — a piecewise-constant function: one value for Europe/Istanbul since 2016, a change at
each daylight-saving switch elsewhere — and the SQL adds it to the epoch seconds with a ``CASE``
on the switch instants::

    day = (epoch_seconds(t) + offset(t) + 719162 · 86400) / 86400     -- integer division
    week = day − day % 7

``day`` counts days since 0001-01-01 (a Monday, so ``day − day % 7`` is the week's Monday) and is
positive for every time the queue accepts, so integer division floors on both databases; Python
turns it back into a date with :func:`period_label`. SQLite stores the queue's times as UTC text
with microseconds; its epoch seconds are ``strftime('%s')`` of the text without the fraction,
PostgreSQL's ``floor(extract(epoch from t))``: both whole seconds, floored.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

Period = Literal["day", "week"]
DAY_S = 86_400
EPOCH_DAY = date(1970, 1, 1).toordinal() - 1  # days from 0001-01-01 to 1970-01-01
SAMPLE_STEP_S = 12 * 3600  # offsets are sampled this often; switches are then found to the second


class EpochSeconds(FunctionElement):
    """Whole seconds since 1970-01-01 UTC of a time column (SQLite and PostgreSQL)."""

    type = BigInteger()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(EpochSeconds, "sqlite")
def _epoch_sqlite(element: EpochSeconds, compiler: Any, **kw: Any) -> str:
    # the stored text is 'YYYY-MM-DD HH:MM:SS.ffffff': cut the fraction, which strftime would
    # round to milliseconds (23:59:59.9999 would become the next day)
    column = compiler.process(element.clauses, **kw)
    return f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"


@compiles(EpochSeconds, "postgresql")
def _epoch_postgresql(element: EpochSeconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(EpochSeconds)
def _epoch_other(element: EpochSeconds, compiler: Any, **kw: Any) -> str:
    raise NotImplementedError(f"local days in SQL: no epoch seconds for {compiler.dialect.name}")


def utc_offsets(tz: str, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offset in seconds over ``[start, end]``: ``[(since, offset), …]``, the
    first ``since`` being ``start``. Sampled every 12 hours and bisected to the second where it
    changes (zones do not switch twice within 12 hours)."""
    zone = ZoneInfo(tz)

    def offset(second: int) -> int:
        shift = datetime.fromtimestamp(second, UTC).astimezone(zone).utcoffset()
        return int(shift.total_seconds()) if shift is not None else 0

    first, last = math.floor(start.timestamp()), math.floor(end.timestamp()) + 1
    out = [(datetime.fromtimestamp(first, UTC), offset(first))]
    previous = first
    for sample in [*range(first + SAMPLE_STEP_S, last, SAMPLE_STEP_S), last]:
        if offset(sample) != out[-1][1]:
            low, high = previous, sample  # offset(low) is the old one, offset(high) the new
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == out[-1][1] else (low, middle)
            out.append((datetime.fromtimestamp(high, UTC), offset(high)))
        previous = sample
    return out


def period_key(column: Any, period: Period, tz: str, start: datetime, end: datetime) -> Any:
    """A SQL expression: the local day (``period="day"``) or the Monday of the ISO week of
    ``column`` as days since 0001-01-01, exact for times in ``[start, end]``."""
    offsets = utc_offsets(tz, start, end)
    if len(offsets) == 1:
        shift: Any = literal(offsets[0][1], BigInteger)
    else:
        shift = case(
            *[
                (column < since, literal(value, BigInteger))
                for (_, value), (since, _) in itertools.pairwise(offsets)
            ],
            else_=literal(offsets[-1][1], BigInteger),
        )
    day = (EpochSeconds(column) + shift + literal(EPOCH_DAY * DAY_S, BigInteger)) // literal(
        DAY_S, BigInteger
    )
    return day if period == "day" else day - day % literal(7, BigInteger)


def period_label(day: int) -> str:
    """A :func:`period_key` value as the local date ``YYYY-MM-DD``."""
    return date.fromordinal(int(day) + 1).isoformat()
