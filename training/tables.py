"""Markdown tables for the model card and the data card, through ``tabulate``.

GitHub-flavoured pipe tables with padded columns, so that the cards read as well in a terminal
as rendered. Cells are written as given (``disable_numparse``): a metric formatted ``0.500``
stays ``0.500``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tabulate import tabulate


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """The table's lines: the header, the separator, one line a row."""
    text = tabulate(
        [[str(cell) for cell in row] for row in rows],
        headers=list(header),
        tablefmt="github",
        disable_numparse=True,
    )
    return text.split("\n")
