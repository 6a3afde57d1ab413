"""Reading the received-at time of a row of an export."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, time, timedelta, timezone
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


# Dates written with the month's name, in Turkish as şikayetvar and many Turkish exports show them
# ("31 Aralık 2025 23:30", "3 Şub 2025") or in English as English-language CRMs and Excel in an
# English locale write them ("31 December 2025", "31-Dec-2025", "Dec 31, 2025 11:30 PM"): the
# name or its first three letters, never a guess. A named month says which number is the day, so
# the month may come first too. The two languages share "mar" and "may", for the same months.
_MONTHS = ("ocak", "şubat", "mart", "nisan", "mayıs", "haziran", "temmuz", "ağustos", "eylül",
           "ekim", "kasım", "aralık")  # fmt: skip
_MONTHS_EN = ("january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december")  # fmt: skip
_MONTH_NUMBER = (
    {  # folded: "Aralik", "ARALIK", "EKIM" (typed on other keyboards) read too
        key: number
        for names in (_MONTHS, _MONTHS_EN)
        for number, name in enumerate(names, 1)
        for key in (fold_case_and_accents(name), fold_case_and_accents(name)[:3])
    }
    | {"sept": 9}
)
# A clock after a date (23:30, 8.05, 09:05:07) and a zone after it, as RFC 2822 mail dates and
# English exports end ("+0000", "+03:00", "UTC", "GMT"); a zone without a clock is not read.
_CLOCK = r"(?:,? (\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?(?: ?([+-]\d{2}:?\d{2}|UTC|GMT|Z))?)?"
_NAMED_MONTH = re.compile(r"(\d{1,2})\.?( |-)([^\W\d_]+)\.?\2(\d{4})" + _CLOCK)  # 31 Dec 2025
_MONTH_NAME_FIRST = re.compile(r"([^\W\d_]+)\.? (\d{1,2}),? (\d{4})" + _CLOCK)  # Dec 31, 2025

# A weekday written beside a date ("Çarşamba, 31 Aralık 2025", "31.12.2025 Çar 23:30", "Wed,
# 31 Dec 2025"): the Turkish or English name or a usual short form, folded as the months are. It
# is checked against the date, never used. No weekday's name is a month's (tests hold it).
_WEEKDAYS = ("pazartesi", "salı", "çarşamba", "perşembe", "cuma", "cumartesi", "pazar")
_WEEKDAY_SHORT = (("pzt", "pts"), ("sal",), ("çar", "çrş"), ("per", "prş"), ("cum",),
                  ("cmt", "cts"), ("paz", "pzr"))  # fmt: skip
_WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_SHORT_EN = (("mon",), ("tue", "tues"), ("wed",), ("thu", "thur", "thurs"), ("fri",),
                     ("sat",), ("sun",))  # fmt: skip
_WEEKDAY = {  # folded name → (its number, Monday 0; the week's names in its language)
    fold_case_and_accents(key): (number, names)
    for names, shorts in ((_WEEKDAYS, _WEEKDAY_SHORT), (_WEEKDAYS_EN, _WEEKDAY_SHORT_EN))
    for number, (name, others) in enumerate(zip(names, shorts, strict=True))
    for key in (name, *others)
}

# AM/PM after a clock or before it ("11:30 PM", "11:30pm", "11:30 p.m.", "ÖS 11:30", "11:30 ÖS";
# ÖÖ/ÖS are Turkish Windows' designators, OO/OS typed without Turkish letters): the clock is
# rewritten 24-hour before the date is read; one that is no 12-hour time (13:30 PM) is refused.
_MERIDIEM = r"[ap]\.?m\.?|öö|ös|oo|os"
_CLOCK_MERIDIEM = re.compile(
    rf"(.* )(\d{{1,2}})([:.]\d{{2}}(?:[:.]\d{{2}})?) ?({_MERIDIEM})((?: .*)?)", re.IGNORECASE
)
_MERIDIEM_CLOCK = re.compile(
    rf"(.* )({_MERIDIEM}) (\d{{1,2}})([:.]\d{{2}}(?:[:.]\d{{2}})?)((?: .*)?)", re.IGNORECASE
)
# "saat" or "at" between a date and its clock ("1 Mayıs 2025 saat 14:00", "Dec 31, 2025 at 11:30
# PM"): the word says only that a clock follows. Any other word there is refused, not skipped.
_AT_CLOCK = re.compile(r" (?:saat|at) (?=(?:(?:öö|ös|oo|os) )?\d{1,2}[:.]\d{2})", re.IGNORECASE)
_LEADING_WEEKDAY = re.compile(r"([^\W\d_]+)\.?(?:\s*,\s*|\s+)(\w.*)")
_WEEKDAY_AFTER_DATE = re.compile(  # "31.12.2025 Wed 11:30 PM", "Dec 31, 2025 11:30 PM Wed"
    rf"(.*\d(?:\s*(?:{_MERIDIEM}))?)\s*,?\s+"  # the date, maybe a clock with its AM/PM
    rf"(?!(?:{_MERIDIEM})(?![^\W\d_]))([^\W\d_]+)\.?"  # a word, not PM: the weekday?
    rf"((?:,?\s+(?:(?:{_MERIDIEM})\s+)?\d{{1,2}}[:.]\d{{2}}\S*(?:\s*(?:{_MERIDIEM}))?)?)",  # clock
    re.IGNORECASE,
)


def _split_weekday(text: str) -> tuple[str, str] | None:
    """``(the date without its weekday, the weekday as written)`` when a weekday stands before
    the date or after it (before a time); None when there is none."""
    leading = _LEADING_WEEKDAY.fullmatch(text)
    if leading and fold_case_and_accents(leading[1]) in _WEEKDAY:
        return leading[2], leading[1]
    after = _WEEKDAY_AFTER_DATE.fullmatch(text)
    if after and fold_case_and_accents(after[2]) in _WEEKDAY:
        return after[1] + after[3], after[2]
    return None


def _split_weekdays(text: str) -> tuple[str, list[str]]:
    """``text`` without the weekdays beside its date, and those weekdays as written (a date may
    carry two, before and after: each is checked)."""
    names = []
    while (split := _split_weekday(text)) is not None:
        text, name = split
        names.append(name)
    return text, names


def _check_weekday(name: str, moment: datetime, text: str) -> None:
    """Raises ``ValueError`` when the weekday ``name`` written in ``text`` is not ``moment``'s,
    naming the date's own in the language it was written in: one of the two is wrong, and
    which one cannot be told."""
    number, names = _WEEKDAY[fold_case_and_accents(name)]
    if number != moment.weekday():
        raise ValueError(
            f"the weekday and the date disagree in {text[:40]!r}: {moment:%d.%m.%Y} is a "
            f"{names[moment.weekday()].capitalize()}, not {name}"
        )


def _twenty_four_hour(text: str) -> str | None:
    """``text`` with a 12-hour clock and its AM/PM (ÖÖ/ÖS) written as a 24-hour clock, in place:
    ``31.12.2025 11:30 PM`` → ``31.12.2025 23:30``; ``text`` itself when it has none; None when
    the clock is no 12-hour time (``0:30 AM``, ``13:30 PM``)."""
    if match := _CLOCK_MERIDIEM.fullmatch(text):
        before, hour, minutes, meridiem, after = match.groups()
    elif match := _MERIDIEM_CLOCK.fullmatch(text):
        before, meridiem, hour, minutes, after = match.groups()
    else:
        return text
    if not 1 <= int(hour) <= 12:
        return None
    afternoon = fold_case_and_accents(meridiem).replace(".", "") in ("pm", "os")
    return f"{before}{int(hour) % 12 + 12 * afternoon:02d}{minutes}{after}"


def _named_month(text: str) -> datetime | None:
    """``31 Aralık 2025 23:30``, ``3 Şub 2025``, ``31-Dec-2025`` or ``Dec 31, 2025 23:30`` as a
    datetime (aware where a zone follows the clock); None when it is not one."""
    if match := _NAMED_MONTH.fullmatch(text):
        day, _, name, year, hour, minute, second, zone = match.groups()
    elif match := _MONTH_NAME_FIRST.fullmatch(text):
        name, day, year, hour, minute, second, zone = match.groups()
    else:
        return None
    month = _MONTH_NUMBER.get(fold_case_and_accents(name))
    clock = (int(hour), int(minute), int(second or 0)) if hour else (0, 0, 0)
    try:
        moment = None if month is None else datetime(int(year), month, int(day), *clock)
    except ValueError:  # 31 Şubat
        return None
    return moment if moment is None or zone is None else moment.replace(tzinfo=_zone(zone))


def _zone(written: str) -> timezone:
    """``+0300``, ``-05:00``, ``UTC``, ``GMT`` or ``Z`` as a fixed offset."""
    if written in ("UTC", "GMT", "Z"):
        return UTC
    offset = timedelta(hours=int(written[1:3]), minutes=int(written[-2:]))
    return timezone(-offset if written[0] == "-" else offset)


def _unknown_month(text: str) -> str | None:
    """The word standing where a month's name would be in ``text`` when it is none; for a
    message."""
    match = _NAMED_MONTH.fullmatch(text) or _MONTH_NAME_FIRST.fullmatch(text)
    if match is None:
        return None
    name = match[3] if match.re is _NAMED_MONTH else match[1]
    return None if fold_case_and_accents(name) in _MONTH_NUMBER else name


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

    ISO 8601 (``2024-03-12T14:35``, ``…+03:00``, ``…Z``), day-first dates (``12.03.2024 14:35``,
    ``12/03/2024``), dates with the month's Turkish or English name (``31 Aralık 2025 23:30``,
    ``3 Şub 2025``, ``31 December 2025``, ``31-Dec-2025``, ``Dec 31, 2025``), Unix
    seconds/milliseconds (UTC), or an Excel date serial typed as a number (``45691.5`` =
    2025-02-03 12:00, days since 1899-12-30, for the years 1955–2118: what a date cell
    formatted as a number holds). A 12-hour clock with AM/PM or ÖÖ/ÖS (``11:30 PM``, ``ÖS
    11:30``) is read as the 24-hour one it is. A Turkish or English weekday before the date or
    after it (``Çarşamba, 31 Aralık 2025``, ``31.12.2025 Çar 23:30``, ``Wed 31.12.2025``) is
    checked against the date and dropped. A time without a zone stays naive: the priority reads
    it in the policy's timezone. Raises ``ValueError`` for anything else.
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
    if isinstance(value, NumberText):  # a number cell: no weekday, no format
        days = value.number()
        if days is not None and (moment := _excel_date(days)) is not None:
            return moment
        return _read(text, text)
    rest, weekdays = _split_weekdays(text)
    moment = _read(rest, text) if time_format is None else _read_as(rest, text, time_format)
    for name in weekdays:
        _check_weekday(name, moment, text)
    return moment


def _read_as(rest: str, text: str, time_format: str) -> datetime:
    """``rest`` (the cell's ``text`` without its weekdays) read with ``time_format``; else
    ``text`` itself, for a format that names the weekday (``%a``, ``%A``: strptime does not
    check it, the caller does)."""
    for candidate in (rest, text):
        try:
            return datetime.strptime(candidate, time_format)
        except ValueError:
            continue
    raise ValueError(f"cannot read the time {text[:40]!r} as {time_format!r}")


def _read(rest: str, text: str) -> datetime:
    """``rest`` (the cell's ``text`` without its weekdays) in a layout read without a format;
    a ``ValueError`` quoting ``text`` says why not, and how to have it read where it can."""
    if re.fullmatch(r"\d{10}(\.\d+)?|\d{13}", rest):
        seconds = float(rest) / (1000 if len(rest) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    plain = _twenty_four_hour(_AT_CLOCK.sub(" ", rest))
    if plain is None:
        raise ValueError(
            f"cannot read the time {text[:40]!r}: its clock is no 12-hour time (1:00 to 12:59 "
            "before AM/PM or ÖÖ/ÖS)"
        )
    try:
        return datetime.fromisoformat(plain.replace("Z", "+00:00"))
    except ValueError:
        pass
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(plain, pattern)
        except ValueError:
            continue
    named = _named_month(plain)
    if named is not None:
        return named
    raise ValueError(
        f"cannot read the time {text[:40]!r}; use ISO 8601 (2024-03-12T14:35:00+03:00), "
        f"day-first dates (12.03.2024 14:35) or the month's name (12 Mart 2024, Mar 12, 2024)"
        f"{_hint(rest, plain)}"
    )


# A numeric date whose first number cannot be the day and whose second can (12/31/2025), with an
# optional clock as English-locale exports write it ("12/31/2025, 11:30:00 PM").
_MONTH_FIRST = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:(,? )\d{1,2}:\d{2}(:\d{2})?(?:( ?)[AP]M)?)?",
    re.IGNORECASE,
)


def _hint(rest: str, plain: str) -> str:
    """What the refusal of ``rest`` (``plain`` once a 12-hour clock is rewritten) adds: the
    ``--time-format`` a month-first date needs, the date a serial written as text would be, or
    the word that is no month's name."""
    month_first = _MONTH_FIRST.fullmatch(rest)
    if month_first and int(month_first[1]) <= 12 < int(month_first[3]) <= 31:
        sep, before, seconds, space = month_first[2], *month_first.groups()[4:]
        clock = ""
        if before is not None:  # strptime's %p reads AM and PM (not a.m., not ÖS)
            hour, meridiem = ("%H", "") if space is None else ("%I", f"{space}%p")
            clock = f"{before}{hour}:%M{':%S' if seconds else ''}{meridiem}"
        return f"; it reads month-first: --time-format '%m{sep}%d{sep}%Y{clock}' reads it"
    if (moment := _serial_as_text(rest)) is not None:
        return (
            f"; as an Excel date serial it would be {moment:%d.%m.%Y %H:%M}, but a number in a"
            " text file is not read as one: write the dates as text (31.12.2025 14:05), or"
            " score the .xlsx, whose date and number cells are read"
        )
    if (name := _unknown_month(plain)) is not None:
        return (
            f"; {name[:20]!r} is no month's name (Turkish or English: Aralık, Ara, December, Dec)"
        )
    return ""


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
