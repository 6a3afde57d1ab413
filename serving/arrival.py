"""When feedback arrived: the client's ``received_at``, read the same way on every endpoint.

A time without a UTC offset is wall-clock time in the policy's timezone (exports from Turkish call
centres carry local time); one with an offset keeps its instant. A time in the future cannot be an
arrival: a little ahead is a client clock running fast (``NABIZ_MAX_CLOCK_SKEW_S``, default 5
minutes, allowed and clamped to now so the answer time is not stretched); more is a 422. Left
alone, a year-2200 ``received_at`` gets a respond-by that never comes and sinks to the bottom of the
queue.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator

EARLIEST = datetime(1970, 1, 1)  # a received_at outside these years is a typo, not feedback
LATEST = datetime(2200, 1, 1)


def plausible_arrival(moment: datetime) -> datetime:
    """``moment`` if it lies between :data:`EARLIEST` and :data:`LATEST`. Answer deadlines are
    computed from it, day by day in the policy's calendar; a year-1 date runs off the calendar's
    start (an OverflowError, a 500) where it should be the client's 422."""
    if not EARLIEST <= moment.replace(tzinfo=None) <= LATEST:
        raise ValueError(f"received_at must lie between {EARLIEST:%Y} and {LATEST:%Y}")
    return moment


ArrivalTime = Annotated[datetime, AfterValidator(plausible_arrival)]


def in_zone(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """``moment`` with ``zone`` where it has no UTC offset: how a filter's bound such as
    ``received_from=2026-12-07`` (midnight) is read, as ``received_at`` is."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=zone)


def _not_bare_digits(value: object) -> object:
    """``20261110`` or ``1762722000`` in a query: pydantic reads digits as Unix seconds (1970-08-23
    for the first), and the filter silently matched nothing."""
    if isinstance(value, str) and value.strip().isdigit():
        raise ValueError(
            f"{value!r} is not read as a time: give a date (2026-11-10) or an ISO 8601 time"
        )
    return value


TimeBound = Annotated[
    datetime, BeforeValidator(_not_bare_digits), AfterValidator(plausible_arrival)
]
"""A filter's bound in a query (``received_from``): as :data:`ArrivalTime`, digits refused."""


TIME_BOUND_HELP = (
    "ISO 8601; without a UTC offset it is read in the policy's timezone, and a date alone "
    "(2026-12-07) is that day's midnight."
)


class FutureArrivalError(ValueError):
    """``received_at`` lies further in the future than the allowed clock skew."""

    def __init__(self, moment: datetime, now: datetime, skew: timedelta) -> None:
        ahead = moment - now
        super().__init__(
            f"received_at {moment.isoformat()} is {_seconds(ahead)} s in the future (the server's "
            f"clock reads {now.isoformat()}; at most {_seconds(skew)} s of clock skew is allowed): "
            "send the time the feedback arrived, with its UTC offset"
        )


def _seconds(delta: timedelta) -> int:
    return round(delta.total_seconds())


def resolve_arrival(
    moment: datetime | None, *, zone: ZoneInfo, now: datetime, max_skew: timedelta
) -> datetime | None:
    """The aware arrival time of ``moment`` (None stays None: the caller uses now).

    Naive times are read in ``zone``; a time up to ``max_skew`` ahead of ``now`` is taken as now;
    later ones raise :class:`FutureArrivalError`.
    """
    aware = in_zone(moment, zone)
    if aware is None:
        return None
    if aware > now + max_skew:
        raise FutureArrivalError(aware, now, max_skew)
    return min(aware, now.astimezone(aware.tzinfo))
