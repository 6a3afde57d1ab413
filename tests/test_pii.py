"""Personal data masking: valid identifiers masked, near misses not, nothing else changed."""

from __future__ import annotations

import string

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nabiz.pii import iban_valid, luhn_valid, mask_personal_data, mask_text, tckn_valid

# --- generators of valid identifiers -------------------------------------------------------------


@st.composite
def tckns(draw) -> str:
    first = draw(st.integers(1, 9))
    rest = draw(st.lists(st.integers(0, 9), min_size=8, max_size=8))
    d = [first, *rest]
    tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    d.append(tenth)
    d.append(sum(d) % 10)
    return "".join(map(str, d))


@st.composite
def ibans(draw) -> str:
    bban = draw(st.text(string.digits, min_size=22, max_size=22))
    check = 98 - int(bban + "2927" + "00") % 97  # T=29, R=27
    iban = f"TR{check:02d}{bban}"
    if draw(st.booleans()):  # the printed form: groups of four
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


def _luhn_digit(body: str) -> str:
    for digit in string.digits:
        if luhn_valid(body + digit):
            return digit
    raise AssertionError("unreachable")


@st.composite
def cards(draw) -> str:
    length = draw(st.integers(13, 19))
    body = draw(st.text(string.digits, min_size=length - 1, max_size=length - 1))
    number = body + _luhn_digit(body)
    separator = draw(st.sampled_from(["", " ", "-"]))
    if separator and length == 16:
        number = separator.join(number[i : i + 4] for i in range(0, 16, 4))
    return number


@st.composite
def phones(draw) -> str:
    prefix = draw(st.sampled_from(["0", "+90 ", "+90", "0090 ", "0 "]))
    area = draw(st.sampled_from(["532", "505", "544", "212", "216", "312", "232", "442"]))
    rest = draw(st.text(string.digits, min_size=7, max_size=7))
    if draw(st.booleans()):
        return f"{prefix}{area} {rest[:3]} {rest[3:5]} {rest[5:]}"
    return f"{prefix}({area}) {rest}" if prefix.endswith(" ") else f"{prefix}{area}{rest}"


emails = st.builds(
    "{}@{}.{}".format,
    st.text(string.ascii_lowercase + string.digits + "._", min_size=1, max_size=12).filter(
        lambda s: s[0] not in "._"
    ),
    st.text(string.ascii_lowercase, min_size=1, max_size=10),
    st.sampled_from(["com", "com.tr", "net", "org"]),
)

MASK_OF = {"tckn": "[TCKN]", "iban": "[IBAN]", "kart": "[KART]", "telefon": "[TELEFON]"}
# Words around the identifiers: letters and punctuation only, so no digit joins an identifier.
words = st.text(string.ascii_letters + "çğıöşüÇĞİÖŞÜ ,.!?", max_size=30)
entities = st.one_of(
    tckns().map(lambda v: ("tckn", v)),
    ibans().map(lambda v: ("iban", v)),
    cards().map(lambda v: ("kart", v)),
    phones().map(lambda v: ("telefon", v)),
    emails.map(lambda v: ("eposta", v)),
)


@settings(max_examples=200)
@given(st.lists(st.tuples(words, entities), min_size=1, max_size=5), words)
def test_every_valid_identifier_is_masked_and_nothing_else_changes(parts, tail):
    text = expected = ""
    kinds = []
    for prefix, (kind, value) in parts:
        text += f"{prefix} {value} "
        expected += f"{prefix} [{kind.upper()}] "
        kinds.append(kind)
    text += tail
    expected += tail
    masked = mask_personal_data(text)
    assert masked.text == expected
    assert sum(masked.found.values()) == len(kinds)
    assert set(masked.kinds) == set(kinds)


@given(words)
def test_text_without_identifiers_is_unchanged(text):
    assert mask_personal_data(text).text == text
    assert mask_personal_data(text).found == {}


@given(st.text(string.digits, min_size=11, max_size=11))
def test_eleven_digits_failing_the_tckn_check_stay(digits):
    assume(digits[0] != "0" and not tckn_valid(digits))
    assert mask_text(f"numara {digits} tamam") == f"numara {digits} tamam"


@given(st.integers(13, 19).flatmap(lambda n: st.text(string.digits, min_size=n, max_size=n)))
def test_long_digit_strings_failing_luhn_stay(digits):
    assume(not luhn_valid(digits))
    assume(not digits.startswith("0090"))  # +90's spelled-out prefix: a phone number
    assert mask_text(f"sipariş {digits}.") == f"sipariş {digits}."


@given(st.text(string.digits, min_size=24, max_size=24))
def test_tr_strings_failing_mod97_stay(digits):
    iban = f"TR{digits}"
    assume(not iban_valid(iban))
    assert mask_text(f"IBAN: {iban}") == f"IBAN: {iban}"


@given(st.text(min_size=0, max_size=200))
def test_masking_is_idempotent(text):
    once = mask_text(text)
    assert mask_text(once) == once


def test_known_examples():
    text = (
        "TC kimlik no 10000000146, IBAN TR33 0006 1005 1978 6457 8413 26, kart 4111 1111 1111 "
        "1111, tel 0532 123 45 67 ya da +90 (212) 555 12 34, posta ali.veli@example.com.tr"
    )
    masked = mask_personal_data(text)
    assert masked.text == (
        "TC kimlik no [TCKN], IBAN [IBAN], kart [KART], tel [TELEFON] ya da [TELEFON], "
        "posta [EPOSTA]"
    )
    assert masked.kinds == ["iban", "eposta", "telefon", "kart", "tckn"]


def test_a_digit_inside_a_longer_number_is_not_sliced_out():
    assert mask_text("ref 1100000001461") == "ref 1100000001461"
