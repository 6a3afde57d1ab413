"""Reading the received-at time of a row of an export."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from nabiz.tabular import DateText, NumberText
from nabiz.text import fold_case_and_accents, turkish_lower

# Day-first dates as Turkish exports write them (12.03.2024, 12/03/2024, 12-03-2024) and year-first
# ones (2024/03/12, 2024.03.12), each with seconds, with minutes or without a time: 15 formats.
# dateutil's parser is not used: where these formats refuse, it guesses, and a guessed date moves
# a respond-by time unnoticed. Measured with python-dateutil 4.0 (dayfirst=True): "05.13.2024" →
# 13 May (day and month swapped to fit), "12.03" → 12 December of the current year, "3" → the 3rd
# of the current month, "2024.13.05" → 13 May; tests/serving/batch/test_times.py holds them refused.
_TIME_FORMATS = tuple(
    f"{date}{clock}"
    for date in (*(f"%d{s}%m{s}%Y" for s in "./-"), *(f"%Y{s}%m{s}%d" for s in "/."))
    for clock in (" %H:%M:%S", " %H:%M", "")
)


# Dates written with the Turkish month's name, as şikayetvar and many Turkish exports show them
# ("31 Aralık 2025 23:30", "3 Şub 2025"): the name or its first three letters, never a guess.
_MONTHS = ("ocak", "şubat", "mart", "nisan", "mayıs", "haziran", "temmuz", "ağustos", "eylül",
           "ekim", "kasım", "aralık")  # fmt: skip
_MONTH_NUMBER = {  # without accents too: "Aralik", "Subat" (exports typed on other keyboards)
    key: number
    for number, name in enumerate(_MONTHS, 1)
    for key in (name, name[:3], fold_case_and_accents(name), fold_case_and_accents(name)[:3])
}
_WEEKDAYS = ("pazartesi", "salı", "çarşamba", "perşembe", "cuma", "cumartesi", "pazar")
_WEEKDAY_NUMBER = {  # the name, its short form (Pzt, Sal, Çar, Per, Cum, Cmt, Paz), unaccented
    key: number
    for number, (name, short) in enumerate(
        zip(_WEEKDAYS, ("pzt", "sal", "çar", "per", "cum", "cmt", "paz"), strict=True)
    )
    for key in (name, short, fold_case_and_accents(name), fold_case_and_accents(short))
}
_WORD = r"([a-zçğıöşü]+)"
_NAMED_MONTH = re.compile(
    rf"(?:{_WORD},? +)?(\d{{1,2}})\.? +{_WORD}\.? +(\d{{4}})(?:,? +{_WORD})?"
    r"(?:,? +(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?"
)


def _named_month(text: str) -> datetime | None:
    """``31 Aralık 2025 23:30`` (or ``3 Şub 2025``, with a weekday before the day or after the
    year: ``Çarşamba, 31 Aralık 2025``) as a datetime; None when it is not one. A weekday that
    is not the date's is a ``ValueError``: one of the two is wrong, and choosing would guess."""
    match = _NAMED_MONTH.fullmatch(turkish_lower(text))
    if match is None or match[3] not in _MONTH_NUMBER:
        return None
    before, day, _, year, after, hour, minute, second = match.groups()
    clock = (int(hour), int(minute), int(second or 0)) if hour else (0, 0, 0)
    try:
        moment = datetime(int(year), _MONTH_NUMBER[match[3]], int(day), *clock)
    except ValueError:  # 31 Şubat
        return None
    weekday = before or after
    if weekday is not None and _WEEKDAY_NUMBER.get(weekday) != moment.weekday():
        if weekday not in _WEEKDAY_NUMBER:
            return None
        raise ValueError(
            f"cannot read the time {text[:40]!r}: {moment:%d.%m.%Y} is a "
            f"{_WEEKDAYS[moment.weekday()].capitalize()}, not {weekday.capitalize()}"
        )
    return moment


# Excel's day 0 (its 1900 system, leap-year bug included), and the serials read as dates:
# 1955-01-01 to early 2119; a number outside them is no date a complaint was received on.
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_SERIALS = (20090, 79993)


def parse_time(value: Any, time_format: str | None = None) -> datetime:
    """A received-at time from an export cell; with ``time_format`` (a :func:`check_time_format`
    strptime format, for exports written month-first) the cell's text is read with it alone.

    ISO 8601 (``2024-03-12T14:35``, ``…+03:00``, ``…Z``), Turkish day-first dates
    (``12.03.2024 14:35``, ``12/03/2024``, ``31 Aralık 2025 23:30``, ``3 Şub 2025``), Unix
    seconds/milliseconds (UTC), or an Excel date serial typed as a number (``45691.5`` =
    2025-02-03 12:00, days since 1899-12-30, for the years 1955–2118: what a date cell
    formatted as a number holds). A time without a zone stays naive: the priority reads it in the
    policy's timezone. Raises ``ValueError`` for anything else.
    """
    if isinstance(value, datetime):
        return value
    if isinstance(value, DateText):  # a typed date cell: nothing to guess, whatever the format
        moment = value.moment()
        if isinstance(moment, datetime):
            return moment
        if isinstance(moment, time):  # a time of day alone is no received-at time
            raise ValueError(f"cannot read the time {str(value)!r}: a time of day with no date")
        return datetime(moment.year, moment.month, moment.day)
    if time_format is not None and not isinstance(value, NumberText):
        text = str(value).strip()
        try:
            return datetime.strptime(text, time_format)
        except ValueError:
            raise ValueError(f"cannot read the time {text[:40]!r} as {time_format!r}") from None
    days = value.number() if isinstance(value, NumberText) else None
    if days is not None and _EXCEL_SERIALS[0] <= days < _EXCEL_SERIALS[1]:
        return _EXCEL_EPOCH + timedelta(seconds=round(days * 86400))  # a float's noise off
    text = str(value).strip()
    if re.fullmatch(r"\d{10}(\.\d+)?|\d{13}", text):
        seconds = float(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    named = _named_month(text)
    if named is not None:
        return named
    month_first = re.fullmatch(
        r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})( \d{1,2}:\d{2}(:\d{2})?)?", text
    )
    if month_first and int(month_first[1]) <= 12 < int(month_first[3]) <= 31:
        sep = month_first[2]
        clock = (" %H:%M:%S" if month_first[6] else " %H:%M") if month_first[5] else ""
        hint = f"; it reads month-first: --time-format '%m{sep}%d{sep}%Y{clock}' reads it"
    elif (
        re.fullmatch(r"\d{5}(\.\d+)?", text)
        and _EXCEL_SERIALS[0] <= float(text) < _EXCEL_SERIALS[1]
    ):
        moment = _EXCEL_EPOCH + timedelta(seconds=round(float(text) * 86400))
        hint = (
            f"; as an Excel date serial it would be {moment:%d.%m.%Y %H:%M}, but a serial in a"
            " text column is not read as one: save the column as dates, or as text dates"
        )
    else:
        hint = ""
    raise ValueError(
        f"cannot read the time {text[:40]!r}; use ISO 8601 (2024-03-12T14:35:00+03:00) "
        f"or day-first dates (12.03.2024 14:35){hint}"
    )


def check_time_format(time_format: str) -> str:
    """``time_format`` if it is a strptime format that names a day, a month and a year and reads
    back what it writes; else a ``ValueError`` saying what is wrong (before any row is read)."""
    sample = datetime(2024, 3, 12, 14, 35, 9)
    missing = [
        part
        for part, codes in (("day", "dj"), ("month", "mbB"), ("year", "Yy"))
        if not any(f"%{code}" in time_format for code in codes)
    ]
    if missing:
        raise ValueError(
            f"the time format {time_format!r} names no {' or '.join(missing)} "
            "(strptime codes: %d day, %m month, %Y year, %H:%M time; e.g. '%m/%d/%Y %H:%M')"
        )
    try:
        datetime.strptime(sample.strftime(time_format), time_format)
    except ValueError as exc:
        raise ValueError(f"the time format {time_format!r} cannot be read back: {exc}") from None
    return time_format
