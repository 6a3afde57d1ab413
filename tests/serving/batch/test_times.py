"""Reading the received-at time of a row."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nabiz.serving.batch import parse_time
from nabiz.serving.batch.times import _MONTH_NUMBER, _WEEKDAY, check_time_format
from nabiz.tabular import DateText, NumberText


def test_parse_time():
    assert parse_time("12.03.2024 14:35") == datetime(2024, 3, 12, 14, 35)
    assert parse_time("2024-03-12T14:35:00Z").utcoffset().total_seconds() == 0
    assert parse_time("12/03/2024") == datetime(2024, 3, 12)
    assert parse_time("1700000000").year == 2023
    with pytest.raises(ValueError, match="cannot read the time"):
        parse_time("32.13.2024")


@pytest.mark.parametrize("guess", ["05.13.2024", "12.03", "3", "2024.13.05", "12.03.24"])
def test_a_date_that_would_need_a_guess_is_refused(guess):
    """Where a general date parser guesses (swaps day and month, fills in this year), we stop."""
    with pytest.raises(ValueError, match="cannot read the time"):
        parse_time(guess)


@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    layout=st.sampled_from(["%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y.%m.%d"]),
    clock=st.sampled_from([" %H:%M:%S", " %H:%M", ""]),
)
def test_every_written_layout_reads_back(moment, layout, clock):
    precision = {" %H:%M:%S": {"microsecond": 0}, " %H:%M": {"second": 0, "microsecond": 0}}
    expected = moment.replace(
        **precision.get(clock, {"hour": 0, "minute": 0, "second": 0, "microsecond": 0})
    )
    assert parse_time(moment.strftime(layout + clock)) == expected


def test_an_excel_date_serial_typed_as_a_number_is_a_time():
    assert parse_time(NumberText("45691.5")) == datetime(2025, 2, 3, 12, 0)
    assert parse_time(NumberText("45691")) == datetime(2025, 2, 3)


@pytest.mark.parametrize("value", [NumberText("3"), NumberText("12000"), "45691.5"])
def test_a_number_outside_the_serials_or_a_serial_written_as_text_is_refused(value):
    with pytest.raises(ValueError, match="cannot read the time"):
        parse_time(value)


@pytest.mark.parametrize("text", ["45691.5", "45691,5"])  # Turkish Excel writes a decimal comma
def test_a_serial_written_as_text_is_refused_saying_the_date_it_would_be(text):
    with pytest.raises(ValueError, match=r"Excel date serial it would be 03\.02\.2025 12:00"):
        parse_time(text)


def test_a_month_first_date_is_refused_naming_the_format_that_reads_it():
    with pytest.raises(ValueError, match=r"month-first: --time-format '%m/%d/%Y' reads it"):
        parse_time("12/31/2025")


def test_only_a_date_that_fits_month_first_alone_gets_the_hint():
    """12/03/2025 fits both orders and is read day-first (Turkish exports); 31/31/2025 fits
    neither."""
    assert parse_time("12/03/2025") == datetime(2025, 3, 12)
    with pytest.raises(ValueError) as refused:
        parse_time("31/31/2025")
    assert "month-first" not in str(refused.value)


def test_a_named_format_alone_reads_the_cell():
    assert parse_time("12/31/2025 14:05", "%m/%d/%Y %H:%M") == datetime(2025, 12, 31, 14, 5)
    with pytest.raises(ValueError, match="as '%m/%d/%Y'"):
        parse_time("31.12.2025", "%m/%d/%Y")  # the usual formats are not tried behind it


@pytest.mark.parametrize(
    ("time_format", "why"),
    [
        ("%H:%M", "names no day or month or year"),
        ("%m/%d", "names no year"),
        ("%d.%m.%Y %Q", "cannot be read back"),
    ],
)
def test_a_time_format_without_a_date_or_that_cannot_be_read_back_is_refused(time_format, why):
    with pytest.raises(ValueError, match=why):
        check_time_format(time_format)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31 Aralık 2025 23:30", datetime(2025, 12, 31, 23, 30)),  # as şikayetvar shows a date
        ("3 Şub 2025", datetime(2025, 2, 3)),
        ("3 ŞUBAT 2025 09:05:07", datetime(2025, 2, 3, 9, 5, 7)),
        ("1 Mayıs 2024", datetime(2024, 5, 1)),
        ("15 Eki 2024 8.05", datetime(2024, 10, 15, 8, 5)),
        ("31 Aralik 2025", datetime(2025, 12, 31)),  # typed without Turkish letters
        ("3 SUBAT 2025", datetime(2025, 2, 3)),
    ],
)
def test_a_date_with_the_turkish_months_name_is_read(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["31 Şubat 2025", "12 Foo 2025", "Aralık 2025", "31 Aralık"])
def test_a_named_month_date_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError, match="cannot read the time"):
        parse_time(text)


@pytest.mark.parametrize(
    "text",
    [
        "Çarşamba, 31 Aralık 2025 23:30",
        "31 Aralık 2025 Çarşamba 23:30",
        "Çar. 31 Ara. 2025 23:30",
        "carsamba 31 aralik 2025 23:30",
        "ÇARSAMBA 31 ARALIK 2025 23:30",  # upper case typed without Turkish letters
        "Çarşamba,31.12.2025 23:30",
        "31.12.2025 Çarşamba 23:30",
        "31 Aralık 2025 23:30 Çarşamba",
        "Çrş\u00a031 Aralık 2025 23:30",  # a non-breaking space
    ],
)
def test_a_date_with_its_weekday_is_read(text):
    assert parse_time(text) == datetime(2025, 12, 31, 23, 30)


@pytest.mark.parametrize("text", ["PAZARTESI 29 ARALIK 2025", "Pts 29 Ara 2025", "29 EKIM 2025"])
def test_a_dotless_i_typed_as_i_reads_as_the_weekday_or_month(text):
    assert parse_time(text).day == 29


@pytest.mark.parametrize(
    "text", ["Perşembe, 31 Aralık 2025", "Çarşamba, 31 Aralık 2025 Perşembe", "Perşembe 31.12.2025"]
)
def test_a_weekday_that_is_not_the_dates_is_refused_saying_which_day_it_is(text):
    with pytest.raises(ValueError, match=r"31\.12\.2025 is a Çarşamba, not Perşembe"):
        parse_time(text)


def test_a_word_after_the_year_that_is_no_weekday_is_refused_not_skipped():
    with pytest.raises(ValueError, match="cannot read the time 'Çarşamba 31 Aralık 2025 akşam 1"):
        parse_time("Çarşamba 31 Aralık 2025 akşam 11:30")


@pytest.mark.parametrize(
    "text",
    ["Çarşamba 31 Aralık 2025 saat 23:30", "31.12.2025 saat 23:30", "Dec 31, 2025 at 11:30 PM",
     "31 Aralık 2025 Saat ÖS 11:30"],
)  # fmt: skip
def test_saat_or_at_before_the_clock_is_read(text):
    assert parse_time(text) == datetime(2025, 12, 31, 23, 30)


def test_a_weekday_beside_a_month_first_date_is_read_with_its_format():
    assert parse_time("Çarşamba 12/31/2025 14:05", "%m/%d/%Y %H:%M") == datetime(
        2025, 12, 31, 14, 5
    )


def test_a_typed_cell_holding_a_time_of_day_alone_is_refused_not_a_crash():
    """An Excel cell formatted as a time (14:35) has no date: a row note, as before typed dates
    were read as such (it raised AttributeError, which ended the whole run)."""
    with pytest.raises(ValueError, match="a time of day with no date"):
        parse_time(DateText("14:35:00"))
    assert parse_time(DateText("2025-12-31"), "%m/%d/%Y") == datetime(2025, 12, 31)


@pytest.mark.parametrize(
    "text",
    [
        "31 December 2025 23:30",  # Excel's English long date, en-GB
        "31 Dec 2025 23:30",
        "31 DEC. 2025 23:30",
        "31-Dec-2025 23:30",  # Excel's d-mmm-yyyy
        "Dec 31, 2025 23:30",  # en-US: the month first, named
        "December 31 2025 23:30",
    ],
)
def test_a_date_with_the_english_months_name_is_read(text):
    assert parse_time(text) == datetime(2025, 12, 31, 23, 30)


TURKISH_MONTHS = ["ocak", "şubat", "mart", "nisan", "mayıs", "haziran", "temmuz", "ağustos",
                  "eylül", "ekim", "kasım", "aralık"]  # fmt: skip
ENGLISH_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December"]  # fmt: skip


@pytest.mark.parametrize("number", range(1, 13))
def test_every_months_short_and_full_name_reads_as_its_own_month_in_both_languages(number):
    """Both languages shorten March and May alike ("mar", "may"): the same month in each."""
    turkish, english = TURKISH_MONTHS[number - 1], ENGLISH_MONTHS[number - 1]
    for name in (turkish, turkish[:3], english, english[:3]):
        assert parse_time(f"1 {name} 2025").month == number, name


def test_september_is_also_sept():
    assert parse_time("Sept 3, 2025") == datetime(2025, 9, 3)


def test_no_weekdays_name_is_a_months_name():
    """A weekday is split off before the date is read: a month's name taken for one would be
    dropped and the date refused (or, worse, read without it)."""
    assert not set(_WEEKDAY) & set(_MONTH_NUMBER)


@pytest.mark.parametrize(
    "text",
    [
        "Wednesday, 31 December 2025 23:30",
        "Wednesday, December 31, 2025 23:30",  # Excel's English long date, en-US
        "Wed 31.12.2025 23:30",
        "WED, 31 DEC 2025 23:30",
        "31.12.2025 Wed 23:30",
        "31 Dec 2025 23:30 Wednesday",
    ],
)
def test_a_date_with_its_english_weekday_is_read(text):
    assert parse_time(text) == datetime(2025, 12, 31, 23, 30)


@pytest.mark.parametrize(
    "text", ["Thursday, 31 December 2025", "Thursday, December 31, 2025", "Thursday 31.12.2025"]
)
def test_an_english_weekday_that_is_not_the_dates_is_refused_naming_the_day_in_english(text):
    with pytest.raises(ValueError, match=r"31\.12\.2025 is a Wednesday, not Thursday"):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dec 31, 2025 11:30 PM", datetime(2025, 12, 31, 23, 30)),
        ("31.12.2025 11:30pm", datetime(2025, 12, 31, 23, 30)),
        ("31/12/2025 11:30:15 p.m.", datetime(2025, 12, 31, 23, 30, 15)),
        ("31 Dec 2025 9:05 AM", datetime(2025, 12, 31, 9, 5)),
        ("31.12.2025 12:05 AM", datetime(2025, 12, 31, 0, 5)),  # midnight's hour is 12 AM
        ("31.12.2025 12:05 PM", datetime(2025, 12, 31, 12, 5)),  # noon's is 12 PM
        ("Çarşamba 31 Aralık 2025 ÖS 11:30", datetime(2025, 12, 31, 23, 30)),  # tr-TR: before
        ("31.12.2025 11:30 ÖS", datetime(2025, 12, 31, 23, 30)),
        ("31 Aralik 2025 OO 11:30", datetime(2025, 12, 31, 11, 30)),  # typed without ö
        ("31.12.2025 Wed 11:30 PM", datetime(2025, 12, 31, 23, 30)),
        ("Dec 31, 2025 11:30 PM Wed", datetime(2025, 12, 31, 23, 30)),
        ("2025-12-31 11:30 PM", datetime(2025, 12, 31, 23, 30)),
    ],
)
def test_a_12_hour_clock_with_am_pm_or_oo_os_is_read_as_the_time_it_is(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text", ["31.12.2025 13:30 PM", "31 Dec 2025 0:30 AM", "31.12.2025 ÖS 13:30"]
)
def test_am_pm_beside_a_clock_that_is_no_12_hour_time_is_refused_saying_so(text):
    """Not read as 13:30 with the PM dropped: one of the two was written wrong."""
    with pytest.raises(ValueError, match="its clock is no 12-hour time"):
        parse_time(text)


ENGLISH_LAYOUTS = ["%d %B %Y", "%d %b %Y", "%d-%b-%Y", "%b %d, %Y", "%B %d %Y", "%A, %d %B %Y",
                   "%A, %B %d, %Y", "%a %d.%m.%Y", "%a, %d %b %Y", "%d/%m/%Y"]  # fmt: skip
CLOCKS = {  # a clock as written → what of the moment it keeps
    " %I:%M:%S %p": {},
    " %I:%M %p": {"second": 0},
    " %I:%M%p": {"second": 0},
    " %H:%M": {"second": 0},
    "": {"hour": 0, "minute": 0, "second": 0},
}


@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    layout=st.sampled_from(ENGLISH_LAYOUTS),
    clock=st.sampled_from(list(CLOCKS)),
)
def test_every_english_layout_reads_back(moment, layout, clock):
    """As Python writes them in its default (C) locale: English names, AM/PM."""
    expected = moment.replace(microsecond=0, **CLOCKS[clock])
    assert parse_time(moment.strftime(layout + clock)) == expected


@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)).filter(
        lambda moment: moment.day > 12
    ),
    clock=st.sampled_from(["", " %H:%M", " %H:%M:%S", " %I:%M %p", ", %I:%M:%S %p", " %I:%M%p"]),
)
def test_the_format_a_month_first_refusal_names_reads_the_cell(moment, clock):
    """12/31/2025 11:30 PM (an English-locale export) is refused, and the --time-format the
    message names reads it: %I and %p where the clock has AM/PM."""
    text = moment.strftime("%m/%d/%Y" + clock)
    with pytest.raises(ValueError, match="month-first") as refused:
        parse_time(text)
    named = re.search(r"--time-format '([^']+)' reads it", str(refused.value))[1]
    assert named == "%m/%d/%Y" + clock
    written = datetime.strptime(text, named)
    assert parse_time(text, check_time_format(named)) == written


def test_a_word_where_the_months_name_would_be_is_named_in_the_refusal():
    with pytest.raises(ValueError, match="'Decembre' is no month's name"):
        parse_time("31 Decembre 2025")


def test_a_format_that_names_the_weekday_reads_and_the_weekday_is_still_checked():
    """strptime reads %A and does not check it against the date; the weekday is checked all the
    same."""
    assert parse_time("Wednesday, 12/31/2025", "%A, %m/%d/%Y") == datetime(2025, 12, 31)
    with pytest.raises(ValueError, match="is a Wednesday, not Thursday"):
        parse_time("Thursday, 12/31/2025", "%A, %m/%d/%Y")


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("Wed, 31 Dec 2025 23:30:00 +0000", timedelta(0)),  # RFC 2822, as mail exports date it
        ("31 Dec 2025 23:30 +03:00", timedelta(hours=3)),
        ("Dec 31, 2025 11:30 PM -0530", -timedelta(hours=5, minutes=30)),
        ("31 Aralık 2025 23:30 GMT", timedelta(0)),
    ],
)
def test_a_named_month_date_with_a_zone_after_its_clock_is_that_instant(text, offset):
    assert parse_time(text) == datetime(2025, 12, 31, 23, 30, tzinfo=timezone(offset))


@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)).map(
        lambda moment: moment.replace(second=0, microsecond=0)
    ),
    name=st.sampled_from(sorted(_WEEKDAY)),
    layout=st.sampled_from(
        [
            "{day}, %d %B %Y %H:%M",
            "{day} %d.%m.%Y %I:%M %p",
            "%b %d, %Y {day} %H:%M",
            "%d %b %Y %I:%M %p {day}",
            "%d.%m.%Y {day} ÖS %I:%M",
        ]
    ),
)
def test_any_weekday_beside_any_date_is_its_own_or_refused_naming_the_dates(moment, name, layout):
    """Turkish or English, long or short, before or after the date: never read as another day's."""
    if "ÖS" in layout:
        moment = moment.replace(hour=12 + moment.hour % 12)
    text = moment.strftime(layout).replace("{day}", name.capitalize())
    number, names = _WEEKDAY[name]
    if number == moment.weekday():
        assert parse_time(text) == moment
    else:
        with pytest.raises(ValueError, match=f"is a {names[moment.weekday()].capitalize()}, not"):
            parse_time(text)
