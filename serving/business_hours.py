"""Working hours and public holidays: answer time counted only while a team is at work.

A respond-by promise ("e-posta: one working day") means nothing if the clock runs through nights,
weekends and bayrams. A :class:`BusinessCalendar` holds one team's weekly opening hours and, when
it keeps holidays, the public-holiday calendar of the policy (:class:`HolidayPolicy`). Its two
operations are what the priority step needs:

* :meth:`BusinessCalendar.add`: the moment a given amount of working time after ``start`` ends
  (Zendesk-style SLA business hours: the clock runs only inside opening hours);
* :meth:`BusinessCalendar.open_time` the working time between two moments.

A channel's answer-time target (:class:`ChannelPolicy`: hours, or "same day") and
:func:`deadline`, which turns a target, a level's share of it and a calendar into a respond-by,
live here too; the priority policy (:mod:`nabiz.serving.priority`) holds them by channel.

Holidays come from the ``holidays`` package's Turkey calendar (fixed national days and the movable
Ramazan and Kurban bayramları, with the arife half days that end at 13:00), plus any dates the
policy lists itself with a reason. All times are wall-clock times in the policy's timezone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any, Literal
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES_TR = ("Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar")
MAX_SEARCH_DAYS = 400  # a calendar must open at least once in this many days (checked on load)


def _parse_clock(value: str, *, allow_24: bool) -> time | None:
    """``"HH:MM"`` as a time; ``"24:00"`` (end of day) as None when allowed."""
    hours, sep, minutes = value.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"give times as quoted 'HH:MM' strings, not {value!r}")
    if allow_24 and (int(hours), int(minutes)) == (24, 0):
        return None
    return time(int(hours), int(minutes))


class ExtraHoliday(BaseModel):
    """A closed (or half) day the holiday library does not know, and why it is listed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    reason: str = Field(min_length=1, description="Why the day is listed (e.g. an idari izin).")
    half_day: bool = Field(default=False, description="Open until half_day_ends, then closed.")


class HolidayPolicy(BaseModel):
    """The public holidays of the policy: a country of the ``holidays`` package plus extra days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str | None = Field(
        default="TR", description="ISO country code for the holidays package; null for none."
    )
    half_day_ends: str = Field(
        default="13:00", description="On half days (arife, 28 Ekim) work stops at this time."
    )
    extra: list[ExtraHoliday] = Field(default_factory=list)

    @field_validator("half_day_ends", mode="before")
    @classmethod
    def _time_as_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"give the time as a quoted 'HH:MM' string, not {value!r}")
        _parse_clock(value, allow_24=False)
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                holidays_lib.country_holidays(value, years=2025)
            except NotImplementedError:
                raise ValueError(f"the holidays package has no country {value!r}") from None
        return value

    @cached_property
    def _library(self) -> tuple[holidays_lib.HolidayBase | None, holidays_lib.HolidayBase | None]:
        if self.country is None:
            return None, None
        language = "tr" if self.country == "TR" else None
        full = holidays_lib.country_holidays(self.country, language=language)
        try:
            half = holidays_lib.country_holidays(
                self.country, language=language, categories=("half_day",)
            )
        except (NotImplementedError, ValueError):  # a country without half days
            half = None
        return full, half

    @property
    def half_day_end(self) -> time:
        clock = _parse_clock(self.half_day_ends, allow_24=False)
        assert clock is not None
        return clock

    def on(self, day: date) -> tuple[str, bool] | None:
        """``(name, half_day)`` when ``day`` is a holiday, else None."""
        for extra in self.extra:
            if extra.date == day:
                return extra.reason, extra.half_day
        full, half = self._library
        if full is not None and day in full:
            return str(full.get(day)), False
        if half is not None and day in half:
            return str(half.get(day)), True
        return None


class BusinessCalendar(BaseModel):
    """One team's opening hours: the same hours on each listed weekday, holidays closed or not."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[Weekday] = Field(min_length=1, description="Weekdays it works (mon..sun).")
    hours: str = Field(
        description="Opening hours each working day, 'HH:MM-HH:MM' (the end may be 24:00)."
    )
    holidays: bool = Field(
        default=True, description="Closed on the policy's public holidays (half days: till noon)."
    )
    description: str = ""

    @field_validator("hours", mode="before")
    @classmethod
    def _hours_as_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"give the hours as a quoted 'HH:MM-HH:MM' string, not {value!r}")
        start, sep, end = value.replace(" ", "").partition("-")
        if not sep:
            raise ValueError(f"give the hours as 'HH:MM-HH:MM', not {value!r}")
        opens = _parse_clock(start, allow_24=False)
        closes = _parse_clock(end, allow_24=True)
        if closes is not None and opens is not None and closes <= opens:
            raise ValueError(f"closing time must come after opening time in {value!r}")
        return value

    @model_validator(mode="after")
    def _distinct_days(self) -> BusinessCalendar:
        if len(set(self.days)) != len(self.days):
            raise ValueError(f"a weekday is listed twice in {self.days}")
        return self

    @property
    def opens(self) -> time:
        clock = _parse_clock(self.hours.replace(" ", "").split("-")[0], allow_24=False)
        assert clock is not None
        return clock

    @property
    def closes(self) -> time | None:
        """Closing time; None means midnight at the end of the day (24:00)."""
        return _parse_clock(self.hours.replace(" ", "").split("-")[1], allow_24=True)

    def describe(self) -> str:
        days = ", ".join(WEEKDAY_NAMES_TR[WEEKDAYS.index(day)] for day in self.days)
        holidays_text = "resmi tatillerde kapalı" if self.holidays else "tatillerde de açık"
        return f"{days} {self.hours}; {holidays_text}"


# --- a channel's answer-time target ---------------------------------------------------------------


class SameDayTarget(BaseModel):
    """Answer by ``ends_at`` of the day the feedback arrived, never in less than ``min_hours``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ends_at: time = Field(default=time(23, 59), description="Local end of the answer day, 'HH:MM'.")
    min_hours: float = Field(
        default=2.0, gt=0, description="Floor for feedback that arrives late in (or after) the day."
    )

    @field_validator("ends_at", mode="before")
    @classmethod
    def _time_as_text(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 23:59 as the integer 1439, which pydantic takes as seconds.
        if not isinstance(value, str | time):
            raise ValueError(f"give the time as a quoted 'HH:MM' string, not {value!r}")
        return value

    @field_validator("ends_at")
    @classmethod
    def _naive_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("ends_at is read in the policy's timezone; leave the offset out")
        return value


class ChannelPolicy(BaseModel):
    """One channel's answer-time target: ``hours`` or ``same_day``, exactly one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: float | None = Field(default=None, gt=0)
    same_day: SameDayTarget | None = None
    aliases: list[str] = Field(default_factory=list)
    calendar: str | None = Field(
        default=None,
        description="A working-hours calendar of the policy; the time is counted inside it. "
        "None: calendar time (around the clock).",
    )
    description: str = ""
    title: str | None = Field(
        default=None, description="The channel's name for people (`Sosyal medya`), for the console."
    )

    @model_validator(mode="after")
    def _one_target(self) -> ChannelPolicy:
        if (self.hours is None) == (self.same_day is None):
            raise ValueError("give the channel exactly one target: `hours: N` or `same_day: {...}`")
        return self

    def describe(self) -> str:
        working = f" (çalışma saati, {self.calendar} takvimi)" if self.calendar else ""
        if self.hours is not None:
            return f"hedef {format_duration(timedelta(hours=self.hours))}{working}"
        assert self.same_day is not None
        return (
            f"hedef aynı gün ({self.same_day.ends_at:%H:%M}'a kadar, "
            f"en az {format_duration(timedelta(hours=self.same_day.min_hours))}){working}"
        )


class BoundCalendar:
    """A :class:`BusinessCalendar` bound to a timezone and a holiday policy: the arithmetic."""

    def __init__(
        self, name: str, calendar: BusinessCalendar, zone: ZoneInfo, holidays: HolidayPolicy
    ) -> None:
        self.name = name
        self.calendar = calendar
        self.zone = zone
        self.holiday_policy = holidays

    def closed_because(self, day: date) -> str | None:
        """Why ``day`` has no working time at all (a Turkish phrase), or None when it has some."""
        if WEEKDAYS[day.weekday()] not in self.calendar.days:
            return "hafta sonu" if day.weekday() >= 5 else "çalışma günü değil"
        if self.calendar.holidays:
            holiday = self.holiday_policy.on(day)
            if holiday is not None:
                name, half = holiday
                if not half or self.holiday_policy.half_day_end <= self.calendar.opens:
                    return name
        return None

    def interval(self, day: date) -> tuple[datetime, datetime] | None:
        """The open interval of ``day`` as aware datetimes, or None on a closed day."""
        if self.closed_because(day) is not None:
            return None
        opens = datetime.combine(day, self.calendar.opens, tzinfo=self.zone)
        closes_at = self.calendar.closes
        if closes_at is None:
            closes = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        else:
            closes = datetime.combine(day, closes_at, tzinfo=self.zone)
        if self.calendar.holidays:
            holiday = self.holiday_policy.on(day)
            if holiday is not None and holiday[1]:
                closes = min(
                    closes,
                    datetime.combine(day, self.holiday_policy.half_day_end, tzinfo=self.zone),
                )
        return opens, closes

    def intervals_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (clipped to begin no earlier than ``start``), in order."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)  # a 24:00 close spills over
        for offset in range(MAX_SEARCH_DAYS + 2):
            span = self.interval(day + timedelta(days=offset))
            if span is None or span[1] <= start:
                continue
            yield max(span[0], start), span[1]
        raise ValueError(
            f"calendar {self.name!r} has no working time within {MAX_SEARCH_DAYS} days of {start}"
        )

    def is_open(self, moment: datetime) -> bool:
        opening, _ = next(self.intervals_from(moment))
        return opening == moment

    def add(self, start: datetime, work: timedelta) -> datetime:
        """The moment at which ``work`` of working time, counted from ``start``, has passed.

        The result is always inside (or at the end of) an open interval. ``work`` of zero gives
        the first open moment at or after ``start``.
        """
        left = work
        for opening, closing in self.intervals_from(start):
            if opening + left <= closing:
                return opening + left
            left -= closing - opening
        raise AssertionError("unreachable")  # pragma: no cover

    def open_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time between ``start`` and ``end`` (zero when ``end`` is not after ``start``)."""
        total = timedelta(0)
        if end <= start:
            return total
        for opening, closing in self.intervals_from(start):
            if opening >= end:
                break
            total += min(closing, end) - opening
        return total

    def closures_between(self, start: datetime, end: datetime) -> list[str]:
        """Why the clock stood still between two moments: the closed days (weekend, holiday) and
        the half days cut short, for reasons. Nights alone give an empty list."""
        names: list[str] = []
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            why = self.closed_because(day)
            if why is None and self.calendar.holidays:
                holiday = self.holiday_policy.on(day)
                span = self.interval(day)
                if holiday is not None and holiday[1] and span is not None:
                    usual_close = datetime.combine(
                        day, self.calendar.closes or time(23, 59), tzinfo=self.zone
                    )
                    if span[1] < end and start < usual_close and span[1] < usual_close:
                        why = holiday[0]
            if why is not None and why not in names:
                names.append(why)
            day += timedelta(days=1)
        return names


# --- deadlines ---------------------------------------------------------------------------------


class Deadline(BaseModel):
    """When an item is due, and how the clock ran to get there."""

    model_config = ConfigDict(frozen=True)

    received: AwareDatetime
    started: AwareDatetime = Field(description="First working moment at or after received.")
    respond_by: AwareDatetime
    work: timedelta = Field(description="Answer time granted, counted in working time.")
    floored: bool = Field(description="The same-day minimum, not the level's share, decided.")
    calendar: str | None = None
    closures: list[str] = Field(default_factory=list)

    @property
    def paused(self) -> timedelta:
        """Calendar time between received and respond_by that did not count."""
        return (self.respond_by - self.received) - self.work

    def pause_reasons(self) -> list[str]:
        """Turkish reasons that say when and why the clock stood still (none when it never did)."""
        if self.calendar is None or self.paused < timedelta(minutes=1):
            return []
        reasons = []
        if self.started > self.received:
            reasons.append(
                f"mesai dışında geldi: süre {self.started:%d.%m.%Y %H:%M}'de başladı "
                f"({self.calendar} takvimi)"
            )
        why = ", ".join(self.closures) if self.closures else "mesai dışı saatler"
        reasons.append(f"süre {format_duration(self.paused)} durdu ({why})")
        return reasons


def deadline(
    *,
    received: datetime,
    zone: ZoneInfo,
    calendar: BoundCalendar | None,
    time_factor: float,
    hours: float | None,
    same_day_ends: time | None,
    min_hours: float,
) -> Deadline:
    """The respond-by of an item received at ``received`` (aware) for a level with ``time_factor``,
    the channel's target given as ``hours`` or as ``same_day_ends`` with ``min_hours``.

    An ``hours`` target grants ``hours × time_factor`` of working time. A same-day target grants
    ``time_factor`` of the working time left until ``ends_at`` of the (first working) day, and
    never less than ``min_hours``: the minimum comes last, so a P1 call at 23:30 still gets two
    hours. Without a calendar, working time is calendar time.
    """
    received = received.astimezone(zone)
    started = calendar.add(received, timedelta(0)) if calendar is not None else received
    floored = False
    if hours is not None:
        work = timedelta(hours=hours) * time_factor
    else:
        assert same_day_ends is not None
        day_end = datetime.combine(started.date(), same_day_ends, tzinfo=zone)
        if calendar is not None:
            left = calendar.open_time(started, day_end)
        else:
            left = max(timedelta(0), day_end - started)
        minimum = timedelta(hours=min_hours)
        work = left * time_factor
        if work < minimum:
            work, floored = minimum, True
    work = timedelta(seconds=max(1, round(work.total_seconds())))
    if calendar is None:
        respond_by = (received.astimezone(UTC) + work).astimezone(zone)
        return Deadline(
            received=received, started=started, respond_by=respond_by, work=work, floored=floored
        )
    respond_by = calendar.add(started, work).astimezone(zone)
    return Deadline(
        received=received,
        started=started,
        respond_by=respond_by,
        work=work,
        floored=floored,
        calendar=calendar.name,
        closures=calendar.closures_between(received, respond_by),
    )


def format_duration(duration: timedelta) -> str:
    """``2 saat``, ``30 dk``, ``13 saat 59 dk``; under a minute is ``<1 dk``."""
    minutes = round(duration.total_seconds() / 60)
    if minutes < 1:
        return "<1 dk"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} dk"
    return f"{hours} saat {minutes} dk" if minutes else f"{hours} saat"
