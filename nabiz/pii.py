"""Personal data masking (KVKK): national ids, IBANs, card, account and customer numbers, phone
numbers, e-mail addresses.

Customers write their own identifiers into complaints. Nabız replaces them with a typed mask before
a text is stored, logged, exported for training or learned by the baseline's vocabulary, so the
model still sees *that* an id was given (``[TCKN]``) but nobody downstream sees *which* one.

What counts, and why each rule is strict:

* ``[TCKN]``  eleven digits, the first not 0, whose two check digits are right (the official
  algorithm), so order numbers and other 11-digit strings stay as written. Written in groups of
  2–4 digits split by single spaces, dots or hyphens, the same one each time (``100 000 001 46``,
  ``100.000.001.46``), counts too, if the group run is exactly the eleven digits and they pass
  the same check.
* ``[IBAN]``  ``TR`` + 24 digits that pass ISO 13616 mod-97, in one piece or in groups of four split
  by spaces, hyphens or dots (``TR33 0006 …``, ``TR 33 0006 …``, ``TR33-0006-…``, ``TR33.0006.…``).
* ``[KART]``  13–19 digits, optionally grouped by spaces or hyphens (or four groups of four split
  by dots or slashes, the same one each time: ``5555.5555.5555.4444``), that pass the Luhn check
  (not glued to letters, so a ``TR…`` string failing mod-97 loses no slice as a card). Four
  groups of four are a card even when more digits follow (``4111 1111 1111 1111 12/28 123``:
  its expiry and CVV stay, the number is masked); a longer grouped reference whose first sixteen
  digits pass the Luhn check by chance (one in ten) loses them too, which errs on the safe side.
* ``[TELEFON]``  ten digits in the 3-3-2-2 shape, each gap at most one space, dot, slash or hyphen:
  after a ``+90``/``0090``/``0`` prefix with an area or mobile code starting 2–5
  (``0532 123 45 67``, ``05321234567``, ``0532.123.45.67``, ``0532/123 45 67``,
  ``+90 (212) 555 12 34``); with the area code in parentheses, with or without its 0
  (``(0532) 123 45 67``, parentheses masked too); or a mobile without prefix (``532 123 45 67``,
  ``5321234567``). A bare 10-digit number starting with 5 is taken for a mobile: under KVKK a
  customer's number matters more than an order or tracking number of that shape, which is masked
  too (only ``#5321234567`` stays, read as an order number). Ten digits not starting with 5 stay,
  and so do dates, times and amounts (wrong shape), and any slice of a longer number: no digit,
  and no ``.``/``/``/``-`` then a digit, on either side.
* ``[HESAP]``  an account or customer number, known by the words around it, since it has no
  check digit of its own: 6 or more digits (single spaces or hyphens between them) right after
  ``hesap``/``hesabım…``, ``müşteri`` or ``abone`` + ``numara…``/``no``/``nr`` (``Hesap numaram
  00158007307494407'dir``, ``hesap numaramı …``, ``müşteri no: 444000032746``), or right before
  ``numaralı`` + up to two words + ``hesap…``
  (``00158007304586602 numaralı vadesiz hesabımdan``). Only the digits are masked. A complaint's
  other numbers (policy, application, record, reference numbers) stay: they are what an agent
  looks the case up by. Complaints hold such account and customer numbers (47 of 1,688
  VakıfBank complaints in the mirror, 16 of 20,707 brain_tr rows); they were stored and shown
  as written.
* ``[EPOSTA]``  ``local@domain.tld``.

Phones are looked for before cards: a +90 number can pass the Luhn check by chance, and no card
number starts with 0. A number is only taken whole: digits right before or after a candidate (for
phones and cards also a digit behind a separator) rule it out, so a long digit string never loses
a slice from its middle. Names are not masked: no rule we could write tells a customer's name from
a product or place name reliably enough.

Masks hold no digits and no ``@``, so masking is idempotent: ``mask(mask(t)) == mask(t)``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# The order in which they are looked for: an account number after "hesap numaram" is one even if
# its digits pass the Luhn or TCKN check or look like a mobile by chance.
KINDS = ("iban", "eposta", "hesap", "telefon", "kart", "tckn")
MASKS = {kind: f"[{kind.upper()}]" for kind in KINDS}


def tckn_valid(digits: str) -> bool:
    """The TC kimlik no check: 11 digits, first not 0, digit 10 and 11 from the others."""
    if len(digits) != 11 or not digits.isdigit() or digits[0] == "0":
        return False
    d = [int(c) for c in digits]
    tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return d[9] == tenth and d[10] == sum(d[:10]) % 10


def iban_valid(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    compact = re.sub(r"[\s.-]", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def luhn_valid(digits: str) -> bool:
    """The Luhn check digit of card numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


_CARD_IN_FOURS = re.compile(r"\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?=[ -]\d)")


def _card_part(run: str) -> int:
    """How many leading characters of a digit run are a card number: all of a 13–19 digit run
    that passes the Luhn check, or four groups of four that pass it with more digits after them
    (an expiry or CVV); 0 for none. Never a slice from the middle of a run."""
    digits = _digits(run)
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return len(run)
    fours = _CARD_IN_FOURS.match(run)
    return fours.end() if fours and luhn_valid(_digits(fours.group(0))) else 0


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


_NOT_AFTER_DIGIT = r"(?<![\d])"
_NOT_BEFORE_DIGIT = r"(?![\d])"

# A phone number: 10 digits after a +90/0090/0 prefix (or a mobile's bare 10), 3-3-2-2, the groups
# split by at most one space, dot, slash or hyphen. Not taken out of a longer number: no word
# character, ``+`` or ``#`` right before it, nor a digit and a separator (``1.0532…``, ``…67.89``).
_PHONE_SEP = r"[ ./-]?"
_PHONE_PREFIX = r"(?:\+90|0090|0)"
_PHONE_AREA = r"[2-5]\d{2}"
_PHONE = (
    r"(?<![\w+#])(?<!\d[./-])(?:"
    rf"\((?:{_PHONE_PREFIX}[ -]?)?{_PHONE_AREA}\)"  # (0532) 123 45 67, (0 212) …, (532) …
    rf"|{_PHONE_PREFIX}[ -]?\(?{_PHONE_AREA}\)?"  # 0532 …, +90 (212) …, 0090 532 …
    r"|5\d{2}"  # a mobile without prefix: 532 123 45 67, 5321234567
    rf"){_PHONE_SEP}\d{{3}}{_PHONE_SEP}\d{{2}}{_PHONE_SEP}\d{{2}}"
    r"(?!\d)(?![./-]\d)"
)

_ACCOUNT_NUMBER = r"(?<![\w+#])(?<!\d[ -])\d(?:[ -]?\d){5,}(?!\d)(?![ -]\d)"
_ACCOUNT = (
    # "hesap numaram 0015…", "Müşteri No: 4440…": the words kept (`kept`), the number masked
    # (inflected too: hesap numaramı, hesabımın numarası, müşteri numaramda, abone no, hesap nr)
    r"(?P<kept>\b(?:hesa[bp]\w*|müşter[iİ]\w*|abone\w*)\s+(?:numara\w*|no|nr)\b\.?"
    r"(?:\s+(?:şu|ise|olarak))?\s*[:=]?\s*)"
    rf"(?P<value>{_ACCOUNT_NUMBER})"
    # "0015… numaralı vadesiz hesabımdan": the number, then the words (a look-ahead)
    rf"|{_ACCOUNT_NUMBER}(?=['’]?\s*(?:numaralı|nolu|no['’]lu)\s+(?:\w+\s+){{0,2}}hesa[bp])"
)

_PATTERNS: dict[str, re.Pattern[str]] = {
    "iban": re.compile(
        r"(?<![A-Za-z0-9])TR ?\d{2}(?:[ .-]?\d{4}){5}[ .-]?\d{2}(?!\d)", re.IGNORECASE
    ),
    # Starting only where a local part can start: tried at every character of a long run of word
    # characters with no "@", the pattern took 1-2 s on a 20,000-character text (quadratic).
    "eposta": re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"),
    # A whole run of digits (single spaces or hyphens between them), not glued to a word
    # (``TR00-0000-…`` failing mod-97 is no card); :func:`_card_part` says which part is a card.
    "kart": re.compile(
        r"(?<!\w)(?<!\d[ -])\d(?:[ -]?\d){12,}(?!\d)(?![ -]\d)"
        # four groups of four split by dots or slashes, the same one each time (5555.5555.…)
        r"|(?<!\w)(?<!\d[./])\d{4}(?P<sep>[./])\d{4}(?P=sep)\d{4}(?P=sep)\d{4}(?!\d)(?![./]\d)"
    ),
    # Eleven digits in one piece, or a whole run of groups of 2–4 digits split by one separator.
    "tckn": re.compile(
        _NOT_AFTER_DIGIT
        + r"[1-9]\d{10}"
        + _NOT_BEFORE_DIGIT
        + r"|(?<!\d)(?<!\d[ .-])[1-9]\d{1,3}(?P<sep>[ .-])\d{2,4}(?:(?P=sep)\d{2,4}){1,3}"
        + r"(?![ .-]?\d)"
    ),
    "telefon": re.compile(_PHONE),
    "hesap": re.compile(_ACCOUNT, re.IGNORECASE),
}


def _whole(check: Callable[[str], bool]) -> Callable[[str], int]:
    return lambda span: len(span) if check(span) else 0


# How many leading characters of a candidate are the kind (0: none; the rest stays as written).
_MASKED_PART: dict[str, Callable[[str], int]] = {
    "iban": _whole(iban_valid),
    "eposta": len,
    "kart": _card_part,
    "tckn": _whole(lambda span: tckn_valid(_digits(span))),
    "telefon": len,
    "hesap": len,
}


@dataclass(frozen=True)
class Masked:
    """A text with its personal data masked, and how many of each kind were found."""

    text: str
    found: dict[str, int] = field(default_factory=dict)

    @property
    def kinds(self) -> list[str]:
        """The kinds found, in :data:`KINDS` order."""
        return [kind for kind in KINDS if self.found.get(kind)]


def mask_personal_data(text: str) -> Masked:
    """``text`` with every id, IBAN, card, account and phone number and e-mail address replaced by
    its mask.

    Everything else is left exactly as it was (spacing, casing, punctuation).
    """
    found: Counter[str] = Counter()
    for kind in KINDS:
        masked_part = _MASKED_PART[kind]

        def replace(match: re.Match[str], kind: str = kind, masked_part=masked_part) -> str:
            # where a pattern matched words to keep before the value, they are ``kept``
            groups = match.groupdict()
            if groups.get("value") is not None:
                kept, span = groups["kept"], groups["value"]
            else:
                kept, span = "", match[0]
            length = masked_part(span)
            if not length:
                return match.group(0)
            found[kind] += 1
            return kept + MASKS[kind] + span[length:]

        text = _PATTERNS[kind].sub(replace, text)
    return Masked(text=text, found=dict(found))


def mask_text(text: str) -> str:
    """Only the masked text (for places that do not report what was found)."""
    return mask_personal_data(text).text


def mask_many(texts: list[str], enabled: bool = True) -> list[Masked]:
    """:func:`mask_personal_data` of each text; with ``enabled`` false the texts pass unchanged
    (the ``mask_personal_data`` setting)."""
    if not enabled:
        return [Masked(text=text) for text in texts]
    return [mask_personal_data(text) for text in texts]
