"""Reading the received-at time of a row."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nabiz.serving.batch import parse_time
from nabiz.serving.batch.times import check_time_format
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
    with pytest.raises(ValueError, match="cannot read the time 'Çarşamba 31 Aralık 2025 ÖS 11:30'"):
        parse_time("Çarşamba 31 Aralık 2025 ÖS 11:30")  # 11:30 in the afternoon, not the morning


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
