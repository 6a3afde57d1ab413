"""Reading the received-at time of a row of an export."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_TIME_FORMATS = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
)


def parse_time(value: Any) -> datetime:
    """A received-at time from an export cell, timezone-aware.

    ISO 8601 (``2024-03-12T14:35``, ``…+03:00``, ``…Z``), Turkish day-first dates
    (``12.03.2024 14:35``, ``12/03/2024``), or Unix seconds/milliseconds (UTC). A time without a
    zone stays naive: the priority reads it in the policy's timezone. Raises ``ValueError`` for
    anything else.
    """
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    if re.fullmatch(r"\d{10}(\.\d+)?|\d{13}", text):
        seconds = float(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError(
        f"cannot read the time {text[:40]!r}; use ISO 8601 (2024-03-12T14:35:00+03:00) "
        "or day-first dates (12.03.2024 14:35)"
    )
