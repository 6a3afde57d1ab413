"""Which columns of an export hold the text to tag, and joining them into one text.

Detection reads the column names, not the values: a name is Turkish-lowercased, stripped of
diacritics and split into words, then matched against the names feedback exports use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from nabiz.tabular import ERROR_COLUMN
from nabiz.text import fold_case_and_accents

# Column names (normalized: Turkish-lowercased, without diacritics) that hold the feedback text,
# and those that hold its title. A name matches exactly, or through one of its words.
# fmt: off
TEXT_COLUMN_NAMES = (
    "metin", "text", "yorum", "sikayet", "mesaj", "icerik", "tweet", "body", "comment",
    "review", "content", "description", "aciklama", "message", "feedback", "geri bildirim",
    "detay", "talep", "sorun", "comments", "reviews", "yorumlar", "sikayetler",
    "mesajlar", "full text", "tam metin", "musteri yorumu", "sikayet metni", "yorum metni",
    "sikayet detayi", "metni", "yorumu", "sikayeti", "mesaji", "icerigi", "aciklamasi",
)
TITLE_COLUMN_NAMES = (
    "baslik", "title", "subject", "headline", "basligi", "sikayet basligi", "konu basligi",
)
# Words that mark a column as metadata about a text rather than the text itself.
_METADATA_WORDS = frozenset((
    "id", "no", "num", "number", "kodu", "code", "type", "tipi", "turu", "tur", "date", "tarih",
    "time", "saat", "zaman", "length", "uzunluk", "count", "sayisi", "sayi", "lang", "language",
    "dil", "url", "link", "kategori", "category", "label", "etiket", "score", "puan", "rating",
    "sentiment", "duygu", "topic", "konu", "kanal", "channel", "user", "kullanici", "author",
    "yazar", "tarihi", "saati", "numara", "numarasi", "dili", "uzunlugu", "created", "updated",
))
# Column names (normalized) that say when a row arrived and on which channel: not read unless
# named (a wrong guess would turn rows into errors), but pointed out when left unused.
CHANNEL_COLUMN_NAMES = ("kanal", "channel", "source", "kaynak")
TIME_COLUMN_NAMES = (
    "received at", "tarih", "date", "zaman", "time", "created at", "olusturma tarihi",
)
# fmt: on


class ColumnError(ValueError):
    """The columns to read cannot be found or told apart; the message lists the columns."""


def normalize_column_name(name: str) -> str:
    """Turkish-lowercased, without diacritics, words separated by one space: ``Şikayet_Metni``
    → ``sikayet metni``."""
    text = re.sub(r"([a-zçğıöşü])([A-ZÇĞİÖŞÜ])", r"\1 \2", str(name))  # camelCase
    text = fold_case_and_accents(text)
    return " ".join(re.split(r"[^0-9a-z]+", text)).strip()


def _words(normalized: str) -> list[str]:
    return normalized.split()


def _match_tier(name: str, vocabulary: Sequence[str]) -> int | None:
    """1: the whole name is in ``vocabulary``; 2: one of its words is; None: no match."""
    normalized = normalize_column_name(name)
    if normalized in vocabulary:
        return 1
    words = _words(normalized)
    if any(word in _METADATA_WORDS for word in words):
        return None
    if any(word in vocabulary for word in words):
        return 2
    return None


def _column_list(columns: Sequence[str]) -> str:
    return ", ".join(repr(column) for column in columns)


def find_column(columns: Sequence[str], wanted: str, what: str = "column") -> str:
    """The column named ``wanted``: exactly, or else the only one equal after normalizing."""
    if wanted in columns:
        return wanted
    key = normalize_column_name(wanted)
    matches = [column for column in columns if normalize_column_name(column) == key]
    if len(matches) == 1:
        return matches[0]
    raise ColumnError(
        f"the input has no {what} {wanted!r}; its columns are: {_column_list(columns)}."
    )


def named_like(columns: Sequence[str], names: Sequence[str]) -> str | None:
    """The first column (in ``names``' order) whose normalized name is one of ``names``."""
    by_name = {normalize_column_name(column): column for column in columns}
    return next((by_name[name] for name in names if name in by_name), None)


def unused_column_hints(
    columns: Sequence[str], channel_column: str | None, time_column: str | None
) -> list[str]:
    """What to pass when a column looks like the channel or the arrival time but was not named:
    without them every row gets the default channel and the scoring time as its arrival, and
    its respond-by is counted from then."""
    hints = []
    for given, names, option, fallback in (
        (channel_column, CHANNEL_COLUMN_NAMES, "--channel-column", "the default channel"),
        (time_column, TIME_COLUMN_NAMES, "--time-column", "the scoring time as arrival"),
    ):
        found = None if given else named_like(columns, names)
        if found is not None:
            hints.append(
                f"column {found!r} was not used: every row got {fallback}; pass {option} "
                f"{found!r} to read it"
            )
    return hints


def detect_text_columns(columns: Sequence[str]) -> list[str]:
    """The columns whose joined values are the text to tag: ``[title, body]`` or ``[body]``.

    The body is the one column named like a feedback text (``metin``, ``yorum``, ``text``,
    ``şikayet``, ``comment``…; case, Turkish letters and separators do not matter); a whole-name
    match beats a match of one word (``musteri_yorumu``). A title column (``baslik``, ``title``,
    ``subject``…) is put in front when there is exactly one. Raises :class:`ColumnError`, listing
    the columns, when no column or more than one column could be the body.
    """
    columns = [column for column in columns if column != ERROR_COLUMN]
    hint = (
        "Pass the text column with --text-column NAME (repeat it to join several, e.g. "
        "--text-column baslik --text-column yorum)."
    )
    tiers: dict[int, list[str]] = {1: [], 2: []}
    for column in columns:
        tier = _match_tier(column, TEXT_COLUMN_NAMES)
        if tier is not None:
            tiers[tier].append(column)
    candidates = tiers[1] or tiers[2]
    if not candidates:
        raise ColumnError(
            f"cannot tell which column holds the feedback text; the columns are: "
            f"{_column_list(columns)}. {hint}"
        )
    if len(candidates) > 1:
        raise ColumnError(
            f"several columns could hold the feedback text ({_column_list(candidates)}); "
            f"the columns are: {_column_list(columns)}. {hint}"
        )
    body = candidates[0]
    titles = [
        column
        for column in columns
        if column != body and _match_tier(column, TITLE_COLUMN_NAMES) == 1
    ]
    return [titles[0], body] if len(titles) == 1 else [body]


def resolve_text_columns(columns: Sequence[str], text_columns: Sequence[str] | None) -> list[str]:
    """The given text columns (checked, in order) or the detected ones."""
    columns = [column for column in columns if column != ERROR_COLUMN]
    if not text_columns:
        return detect_text_columns(columns)
    resolved = [find_column(columns, name, "text column") for name in text_columns]
    if len(set(resolved)) != len(resolved):
        raise ColumnError(f"a text column is given twice: {list(text_columns)}")
    return resolved
