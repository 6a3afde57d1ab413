"""Text normalization shared by data preparation and inference.

Training and prediction must see text normalized the same way, so both call ``normalize_text``.
Casing is kept (the encoder is cased and capitals carry tone); ``turkish_lower`` exists for the
places where casing must not matter, such as duplicate detection, and lowercases dotted and
dotless I the Turkish way (``İ``→``i``, ``I``→``ı``), which ``str.lower`` gets wrong.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_text(text: str) -> str:
    """NFKC, no control characters, runs of spaces folded, at most one blank line, trimmed."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


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


def dedupe_key(text: str) -> str:
    """Key under which two texts count as the same: normalized, Turkish-lowercased, one space."""
    return " ".join(turkish_lower(normalize_text(text)).split())
