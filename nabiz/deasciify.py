"""Turkish letters put back into text typed without them: "musteri hizmetleri cok yavas" →
"müşteri hizmetleri çok yavaş".

Many customers type on keyboards or phones without ç ğ ı ö ş ü. The encoder was pretrained on
text that has them and cuts the ASCII spellings into rarer pieces: on brain_tr's test split the
fine-tuned encoder scored 0.59 sentiment macro-F1 on such texts against 0.71 on the rest, and
training and predicting on deasciified text lifted it to 0.65 (BENCHMARKS.md §8).

The method and its pattern table are Deniz Yüret's turkish-mode for Emacs (after Gökhan Tür's
deasciifier), as ported to Python by Emre Sevinç: turkish-deasciifier 0.1 on PyPI, released into
the public domain (``License: Public Domain`` in its PKG-INFO). That release is Python 2 only
and its sdist does not install with today's pip, so the algorithm is rewritten here for Python 3
and its table (13,462 context patterns for c g ı o s u) ships beside this module as
``deasciify_patterns.json.gz``, unchanged. zemberek-python carries the same table but pins
antlr4 4.8 and configures the root logger on import, which a server cannot accept.

Each candidate letter is decided from up to ten letters of context on either side: the letters
after it as typed (rest of the word), the letters before it as already decided, Turkish letters
written as ASCII capitals. Of the patterns found in that context the most specific (smallest
absolute rank) decides; a positive rank means the Turkish letter.
"""

from __future__ import annotations

import gzip
import json
import string
from functools import cache
from pathlib import Path

CONTEXT = 10
PATTERNS_FILE = Path(__file__).with_name("deasciify_patterns.json.gz")

_ASCII_OF = dict(zip("çÇğĞöÖüÜıİşŞ", "cCgGoOuUiIsS", strict=True))
_TOGGLE = dict(zip("cCgGoOuUiIsS", "çÇğĞöÖüÜıİşŞ", strict=True))
_TOGGLE |= {turkish: ascii_ for ascii_, turkish in _TOGGLE.items()}
# The context after a letter: every letter lowercased to ASCII.
_AFTER = {char: char.lower() for char in string.ascii_letters}
_AFTER |= {char: ascii_.lower() for char, ascii_ in _ASCII_OF.items()}
# The context before it: letters lowercased, Turkish letters as ASCII capitals (ı → I, İ → i).
_BEFORE = {char: char.lower() for char in string.ascii_letters}
_BEFORE |= dict(zip("çÇğĞöÖıİşŞüÜ", "CCGGOOIiSSUU", strict=True))


@cache
def _patterns() -> dict[str, dict[str, int]]:
    with gzip.open(PATTERNS_FILE, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def deasciify(text: str) -> str:
    """``text`` with c g i o s u (either case) turned into ç ğ ı ö ş ü (or back) where the
    pattern table says so. Meant for text typed without Turkish letters; other characters are
    left as they are."""
    chars = list(text)
    patterns = _patterns()
    for point, char in enumerate(chars):
        plain = _ASCII_OF.get(char, char)
        table = patterns.get(plain.lower())
        if table is None:
            continue
        turkish = _matches(table, _context(chars, point))
        if plain == "I":  # ASCII "I" is already the dotless capital; "İ" is the toggle
            correct = not turkish if char == plain else turkish
        else:
            correct = turkish if char == plain else not turkish
        if correct:
            chars[point] = _TOGGLE.get(char, char)
    return "".join(chars)


def _context(chars: list[str], point: int) -> str:
    """Ten places either side of ``point`` (marked X): the rest of its word after it, earlier
    words before it, each run of non-letters as one space."""
    context = [" "] * (2 * CONTEXT + 1)
    context[CONTEXT] = "X"
    position, index = CONTEXT + 1, point + 1
    while position < len(context) and index < len(chars):
        letter = _AFTER.get(chars[index])
        position += 1
        if letter is None:
            break
        context[position - 1] = letter
        index += 1
    del context[position:]
    position, index, space = CONTEXT - 1, point - 1, False
    while position >= 0 and index >= 0:
        letter = _BEFORE.get(chars[index])
        if letter is None:
            if not space:
                position -= 1
                space = True
        else:
            context[position] = letter
            position -= 1
            space = False
        index -= 1
    return "".join(context)


def _matches(table: dict[str, int], context: str) -> bool:
    """Whether the most specific pattern of ``table`` found in ``context`` says Turkish letter."""
    rank = 2 * len(table)
    for start in range(CONTEXT + 1):
        for end in range(CONTEXT + 1, len(context) + 1):
            found = table.get(context[start:end])
            if found and abs(found) < abs(rank):
                rank = found
    return rank > 0
