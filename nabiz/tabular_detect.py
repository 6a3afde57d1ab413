"""Telling a table file's format, text encoding and CSV delimiter (for :mod:`nabiz.tabular`).

Encodings: UTF-8 (with or without BOM), UTF-16/32 with a BOM, and 8-bit Turkish exports
(Windows-1254, which also reads ISO-8859-9 text). Detection is deterministic; pass ``encoding=`` to
override it. It is our own, not charset-normalizer's: restricted to these encodings, the library
decoded the same 605 real şikayetvar samples right as this detector does (all of them), at about
the same speed, and found nothing in UTF-16 without a BOM (``benchmarks/bench_encoding.py``;
BENCHMARKS.md), so it would be a dependency that adds nothing.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Literal

TableFormat = Literal["csv", "tsv", "xlsx", "jsonl", "parquet"]

EXTENSIONS: dict[str, TableFormat] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 20  # bytes read to detect the encoding
SNIFF_CHARS = 64 << 10  # characters read to sniff the delimiter

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class TableReadError(ValueError):
    """A table file cannot be read; the message says what to change."""


def _supported() -> str:
    return ", ".join(sorted(EXTENSIONS))


# ----------------------------------------------------------------------------------------------
# detection


def detect_format(path: str | Path) -> TableFormat:
    """The format of ``path`` from its extension (``.json`` is read as JSON Lines or an array)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    hint = ""
    if suffix == ".xls":
        hint = " Save old .xls workbooks as .xlsx (Excel: File → Save As → Excel Workbook)."
    elif suffix in {".gz", ".zip", ".bz2", ".xz"}:
        hint = " Unpack compressed files first."
    raise TableReadError(
        f"{path}: cannot tell the table format from the extension {suffix or '(none)'!r}; "
        f"supported extensions are {_supported()}.{hint} Rename the file or pass format= "
        "(one of csv, tsv, xlsx, jsonl, parquet)."
    )


# Files that are not text, by their first bytes, and what the user most likely has.
_BINARY_STARTS = {
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx workbook is one: give it its .xlsx extension)",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook (save it as .xlsx)",
    b"PAR1": "a Parquet file (give it its .parquet extension)",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive (unpack it first)",
    b"\x89PNG": "a PNG image",
}


def check_text_file(path: str | Path, fmt: TableFormat) -> None:
    """A CSV/TSV/JSON Lines path whose first bytes say it is a workbook, an archive or an image
    is refused by name: read as text, it gave "the columns are 'PK\\x03\\x04…'"."""
    if fmt not in ("csv", "tsv", "jsonl"):
        return
    with Path(path).open("rb") as handle:
        start = handle.read(8)
    for magic, what in _BINARY_STARTS.items():
        if start.startswith(magic):
            raise TableReadError(f"{path} is not a {fmt.upper()} text file: it is {what}.")


def _looks_utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text without a BOM has NUL in every other byte of its ASCII characters."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nuls, odd_nuls = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nuls > 0.3 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def detect_encoding(path: str | Path, sample_bytes: int = SAMPLE_BYTES) -> str:
    """The text encoding of ``path``, judged from its first ``sample_bytes`` bytes.

    A BOM decides (``utf-8-sig``, ``utf-16``, ``utf-32``); then UTF-16 without a BOM; then UTF-8 if
    the sample decodes cleanly as UTF-8 (plain ASCII included); otherwise the file is taken as an
    8-bit Turkish export, ``cp1254`` (Windows-1254, a superset of ISO-8859-9 in every printable
    character), or ``iso-8859-9`` if it holds a byte Windows-1254 leaves undefined. General-purpose
    detectors are not used: on short Turkish samples they guess Central European code pages and
    turn ``ş`` and ``ğ`` into other letters.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            sample = handle.read(sample_bytes)
            truncated = bool(handle.read(1))
    except OSError as error:
        raise TableReadError(f"cannot open {path}: {error.strerror or error}") from error
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    utf16 = _looks_utf16_without_bom(sample)
    if utf16:
        return utf16
    try:
        # a sample cut in the middle of a multi-byte character is still valid UTF-8
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=not truncated)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1254")
        return "cp1254"
    except UnicodeDecodeError:
        return "iso-8859-9"


def _record_counts(sample: str, delimiter: str, quote: str = '"') -> list[int]:
    """Delimiters outside quotes in each record of ``sample`` (quote-aware, multi-line aware)."""
    counts: list[int] = []
    count, in_quotes, chars = 0, False, 0
    for char in sample:
        chars += 1
        if char == quote:
            in_quotes = not in_quotes
        elif in_quotes:
            continue
        elif char == delimiter:
            count += 1
        elif char in "\r\n":
            if chars > 1:
                counts.append(count)
            count, chars = 0, 0
    if chars:
        counts.append(count)
    return counts


def sniff_delimiter(sample: str) -> str:
    """The field delimiter among ``, ; \\t |`` that splits the sample's records most consistently.

    Each candidate is counted outside quotes in every record; the one whose count is the same,
    and above zero, in the most records wins (ties: more fields, then the order above). A last
    record cut off by the sample's end is ignored. Falls back to a comma.
    """
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = _record_counts(sample, delimiter)
        if len(counts) > 1 and not sample.endswith(("\n", "\r")):
            counts = counts[:-1]
        counts = counts[:200]
        if not counts or max(counts) == 0:
            continue
        mode = max(set(counts), key=lambda value: (counts.count(value), value))
        if mode == 0:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best
