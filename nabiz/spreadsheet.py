"""Cells that are safe to open in a spreadsheet (CSV/formula injection).

A customer who writes ``=HYPERLINK("http://…","click")`` or ``@SUM(…)`` into a complaint should not
get a formula run on the support team's machine when an export is opened in Excel or LibreOffice.
Spreadsheets treat a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a
formula (or a formula's start); OWASP's advice, followed here, is to prefix such text with a single
quote, which spreadsheets show as text. Only text is touched: a number such as ``-0.5`` stays a
number, written by its writer as a number.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def neutralize_formula(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    return "'" + value if is_formula_like(value) else value
