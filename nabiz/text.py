"""Text normalization shared by data preparation and inference.

Training and prediction must see text normalized the same way, so both call ``normalize_text``.
Casing is kept (the encoder is cased and capitals carry tone); ``turkish_lower`` exists for the
places where casing must not matter, such as duplicate detection, and lowercases dotted and
dotless I the Turkish way (``İ``→``i``, ``I``→``ı``), which ``str.lower`` gets wrong. The letters
themselves change only where a text was written without Turkish letters: it gets them back
(``restore_turkish_letters``).
"""

from __future__ import annotations

import re
import unicodedata

from nabiz.deasciify import deasciify

EMPTY_TEXT = "text is empty: it holds only whitespace, control or zero-width characters"
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf"})  # control and format (zero-width) characters
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_text(text: str) -> str:
    """NFKC, no control characters, runs of spaces folded, at most one blank line, trimmed, and
    Turkish letters restored where the text was written without them
    (:func:`restore_turkish_letters`)."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    return restore_turkish_letters(text.strip())


def has_visible_text(text: str) -> bool:
    """Whether ``text`` holds a character a reader sees. One made only of whitespace, control
    characters or zero-width ones (U+200B, U+200D, U+FEFF) has nothing to tag: the API refuses
    it, a file's row gets an error, and the Python API raises, all by this one rule."""
    return not all(
        char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in text
    )


_TURKISH_LETTERS = frozenset("çğıöşüÇĞİÖŞÜ")
_CAPITAL_FOR_LETTER = str.maketrans("IGUCOS", "ığüçöş")
_CAPITAL_AFTER_LOWER = re.compile(r"[a-z][IGUCOS]")
# URLs, @mentions, #hashtags and the personal-data masks ("[IBAN]", nabiz.pii): not prose.
_NOT_PROSE = re.compile(r"(?:https?://|www\.)\S+|[@#]\w+|(?-i:\[[A-Z]+\])", re.IGNORECASE)
_ASCII_WORD = re.compile(r"[A-Za-z]{2,}")


def restore_turkish_letters(text: str) -> str:
    """ç ğ ı ö ş ü put back into a text written without them.

    The encoder was pretrained on Turkish written with its letters and cuts ASCII spellings into
    rarer pieces. Two ways of writing without them are told apart:

    * **ASCII capitals.** Older Turkish tweet corpora (about 7 % of brain_tr) were lowercased
      and then had ı ğ ü ç ö ş replaced by I G U C O S: "az Once turkcell mUSteri" for "az önce
      turkcell müşteri". A text counts as written that way when every capital in it is one of
      those six and at least two of them follow a lowercase letter inside a word, which ordinary
      casing seldom does ("iOS" and "iCloud" have one each; a lowercase ASCII text naming both
      would be changed). The capitals are written back as the letters they stand for.
    * **Plain ASCII** (a keyboard or phone without Turkish letters, about 9 % of brain_tr):
      texts of at least three words are deasciified (:mod:`nabiz.deasciify`).

    Texts with even one Turkish letter are left alone: the writer used them, and a guess could
    only undo a right one. URLs, @mentions, #hashtags and the masks of personal data ("[IBAN]")
    are neither read nor changed.
    """
    prose = _NOT_PROSE.sub(" ", text)
    if has_turkish_letters(prose):
        return text
    if _written_in_capitals(prose):
        return _map_prose(text, lambda part: part.translate(_CAPITAL_FOR_LETTER))
    if len(_ASCII_WORD.findall(prose)) >= 3:
        return _map_prose(text, deasciify)
    return text


def has_turkish_letters(text: str) -> bool:
    """Whether ``text`` holds a Turkish letter, composed or not: "s" followed by a combining
    cedilla is "ş" to a reader (and to NFKC), so it counts."""
    return any(char in _TURKISH_LETTERS for char in unicodedata.normalize("NFC", text))


def _written_in_capitals(prose: str) -> bool:
    if any(char.isupper() and char not in "IGUCOS" for char in prose):
        return False
    return len(_CAPITAL_AFTER_LOWER.findall(prose)) >= 2


def _map_prose(text: str, change) -> str:
    """``change`` applied to the parts of ``text`` outside URLs, @mentions, #hashtags and masks."""
    pieces, position = [], 0
    for match in _NOT_PROSE.finditer(text):
        pieces += [change(text[position : match.start()]), match.group()]
        position = match.end()
    pieces.append(change(text[position:]))
    return "".join(pieces)


def turkish_lower(text: str) -> str:
    """Lowercase with Turkish dotted/dotless I rules."""
    return text.replace("İ", "i").replace("I", "ı").lower()


def fold_case_and_accents(text: str) -> str:
    """Case and accents folded away, for comparing names where neither matters.

    ``Şikayet_Metni`` → ``sikayet_metni``, ``MAĞAZA`` → ``magaza``; dotted and dotless i (``İ``,
    ``I``, ``ı``) all become ``i``, since a name typed on a non-Turkish keyboard loses the
    difference. For names (columns, channels), never for the text the model reads.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return stripped.casefold().replace("ı", "i")


_NOT_A_WORD = re.compile(r"[\W_]+")


def search_words(text: str) -> list[str]:
    """The words of ``text`` as the queue's search reads them: case and accents folded, split at
    anything but letters and digits. "İzmir şubesi'nde", "IZMIR SUBESI NDE" and "izmir,
    şubesi-nde" are the same words to a person typing on any keyboard
    (:func:`fold_case_and_accents`)."""
    return _NOT_A_WORD.sub(" ", fold_case_and_accents(text)).split()


def search_key(text: str) -> str:
    """``text`` as the queue's search stores it: its :func:`search_words` with a space before
    each, and after the last, so that ``LIKE '% kredi%'`` finds the words that begin with
    "kredi" ("kredisi": Turkish adds its endings) and not "ağrı" inside "çağrı"."""
    return f" {' '.join(search_words(text))} "


def dedupe_key(text: str, normalized: bool = False) -> str:
    """Key under which two texts count as the same: normalized, Turkish-lowercased, one space.
    ``normalized``: ``text`` is already :func:`normalize_text`'s output, not normalized again
    (data preparation keys hundreds of thousands of texts it has just normalized)."""
    return " ".join(turkish_lower(text if normalized else normalize_text(text)).split())


_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")


def near_duplicate_key(text: str, normalized: bool = False) -> str:
    """Key under which two texts count as near duplicates.

    Stricter than :func:`dedupe_key`: URLs, @mentions, digits, punctuation and symbols (emoji
    included) are dropped as well, so "Fatura 120 TL geldi!!! @Turkcell" and "fatura 95 tl
    geldi" share a key. A text made only of such characters keeps its :func:`dedupe_key`, so
    "5" and "10/10" are not one group. ``normalized`` as for :func:`dedupe_key`.
    """
    lowered = turkish_lower(text if normalized else normalize_text(text))
    stripped = _MENTION.sub(" ", _URL.sub(" ", lowered))
    kept = "".join(" " if unicodedata.category(char)[0] in "PSNC" else char for char in stripped)
    return " ".join(kept.split()) or dedupe_key(text, normalized)


def turkish_number(value: float, digits: int | None = 1, sign: bool = False) -> str:
    """``12.5`` → ``12,5`` (a decimal comma, as Turkish readers expect); ``digits=None`` writes
    it as short as it goes (``3``, ``1,5``)."""
    spec = ("+" if sign else "") + ("g" if digits is None else f".{digits}f")
    return format(value, spec).replace(".", ",")
