"""Reading the received-at time of a row of an export."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, time, timedelta
from typing import Any

from nabiz.tabular import DateText, NumberText
from nabiz.text import fold_case_and_accents

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
_MONTH_NUMBER = {  # folded: "Aralik", "ARALIK", "EKIM" (typed on other keyboards) read too
    key: number
    for number, name in enumerate(_MONTHS, 1)
    for key in (fold_case_and_accents(name), fold_case_and_accents(name)[:3])
}
_NAMED_MONTH = re.compile(
    r"(\d{1,2})\.? +([^\W\d_]+)\.? +(\d{4})(?:,? +(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?"
)

# A weekday written beside a date ("Çarşamba, 31 Aralık 2025", "31.12.2025 Çar 23:30"): the name
# or a usual short form, folded as the months are. It is checked against the date, never used.
_WEEKDAYS = ("pazartesi", "salı", "çarşamba", "perşembe", "cuma", "cumartesi", "pazar")
_WEEKDAY_SHORT = (("pzt", "pts"), ("sal",), ("çar", "çrş"), ("per", "prş"), ("cum",),
                  ("cmt", "cts"), ("paz", "pzr"))  # fmt: skip
_WEEKDAY_NUMBER = {
    fold_case_and_accents(key): number
    for number, (name, shorts) in enumerate(zip(_WEEKDAYS, _WEEKDAY_SHORT, strict=True))
    for key in (name, *shorts)
}
_LEADING_WEEKDAY = re.compile(r"([^\W\d_]+)\.?(?:\s*,\s*|\s+)(\d.*)")
_WEEKDAY_AFTER_DATE = re.compile(r"(.*\d)\s*,?\s+([^\W\d_]+)\.?((?:,?\s+\d{1,2}[:.]\d{2}\S*)?)")


def _split_weekday(text: str) -> tuple[str, str] | None:
    """``(the date without its weekday, the weekday as written)`` when a weekday stands before
    the date or after it (before a time); None when there is none."""
    leading = _LEADING_WEEKDAY.fullmatch(text)
    if leading and fold_case_and_accents(leading[1]) in _WEEKDAY_NUMBER:
        return leading[2], leading[1]
    after = _WEEKDAY_AFTER_DATE.fullmatch(text)
    if after and fold_case_and_accents(after[2]) in _WEEKDAY_NUMBER:
        return after[1] + after[3], after[2]
    return None


def _named_month(text: str) -> datetime | None:
    """``31 Aralık 2025 23:30`` (or ``3 Şub 2025``) as a datetime; None when it is not one."""
    match = _NAMED_MONTH.fullmatch(text)
    if match is None:
        return None
    day, name, year, hour, minute, second = match.groups()
    month = _MONTH_NUMBER.get(fold_case_and_accents(name))
    clock = (int(hour), int(minute), int(second or 0)) if hour else (0, 0, 0)
    try:
        return None if month is None else datetime(int(year), month, int(day), *clock)
    except ValueError:  # 31 Şubat
        return None


# Excel's day 0 (its 1900 system, leap-year bug included), and the serials read as dates:
# 1955-01-01 to early 2119; a number outside them is no date a complaint was received on.
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_SERIALS = (20090, 79993)


def _excel_date(days: float) -> datetime | None:
    """The date an Excel serial stands for, to the second (a float's noise off); None outside
    :data:`_EXCEL_SERIALS`."""
    if not _EXCEL_SERIALS[0] <= days < _EXCEL_SERIALS[1]:
        return None
    return _EXCEL_EPOCH + timedelta(seconds=round(days * 86400))


def _serial_as_text(text: str) -> datetime | None:
    """The date ``45691.5`` or ``45691,5`` (Turkish Excel's CSV) would be as an Excel serial;
    only for a message: such text is not read as a date."""
    if not re.fullmatch(r"\d{5}([.,]\d*)?", text):
        return None
    return _excel_date(float(text.replace(",", ".")))


def parse_time(value: Any, time_format: str | None = None) -> datetime:
    """A received-at time from an export cell; with ``time_format`` (a :func:`check_time_format`
    strptime format, for exports written month-first) the cell's text is read with it alone.

    ISO 8601 (``2024-03-12T14:35``, ``…+03:00``, ``…Z``), Turkish day-first dates
    (``12.03.2024 14:35``, ``12/03/2024``, ``31 Aralık 2025 23:30``, ``3 Şub 2025``), Unix
    seconds/milliseconds (UTC), or an Excel date serial typed as a number (``45691.5`` =
    2025-02-03 12:00, days since 1899-12-30, for the years 1955–2118: what a date cell
    formatted as a number holds). A Turkish weekday before the date or after it (``Çarşamba,
    31 Aralık 2025``, ``31.12.2025 Çar 23:30``) is checked against the date and dropped. A time
    without a zone stays naive: the priority reads it in the policy's timezone. Raises
    ``ValueError`` for anything else.
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
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())  # NBSPs, doubled spaces
    weekday = None if isinstance(value, NumberText) else _split_weekday(text)
    if weekday is not None:  # the date read without it (a second weekday is checked there too)
        rest, name = weekday
        try:
            moment = parse_time(rest, time_format)
        except ValueError as error:  # its message quotes the cell as written
            raise ValueError(str(error).replace(repr(rest[:40]), repr(text[:40]), 1)) from None
        if _WEEKDAY_NUMBER[fold_case_and_accents(name)] != moment.weekday():
            raise ValueError(
                f"the weekday and the date disagree in {text[:40]!r}: {moment:%d.%m.%Y} is a "
                f"{_WEEKDAYS[moment.weekday()].capitalize()}, not {name}"
            )
        return moment
    if time_format is not None and not isinstance(value, NumberText):
        try:
            return datetime.strptime(text, time_format)
        except ValueError:
            raise ValueError(f"cannot read the time {text[:40]!r} as {time_format!r}") from None
    days = value.number() if isinstance(value, NumberText) else None
    if days is not None and (moment := _excel_date(days)) is not None:
        return moment
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
    elif (moment := _serial_as_text(text)) is not None:
        hint = (
            f"; as an Excel date serial it would be {moment:%d.%m.%Y %H:%M}, but a number in a"
            " text file is not read as one: write the dates as text (31.12.2025 14:05), or"
            " score the .xlsx, whose date and number cells are read"
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
