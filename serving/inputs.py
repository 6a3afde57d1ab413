"""Rules for the strings a client sends, shared by every endpoint so they answer alike.

**Storable strings.** PostgreSQL cannot store a NUL character (``\\x00``) in text, and no database
driver can encode a lone surrogate (``"\\ud800"``, which JSON allows): either one reached the
database as a 500 on PostgreSQL while SQLite took it. Every string that may reach the database —
body fields, path and query parameters — is checked by :func:`storable`, so both backends answer
the same 422 naming the field. ``/v1/predict`` stores nothing but applies the same rule to the
same fields: a text that ``/v1/feedback`` refuses is refused there too, rather than tagged after
a silent change (a NUL is a client's encoding bug, and stripping it would make the text that was
tagged differ from the text that was sent).

**Texts with content.** A text must hold something visible: one made only of whitespace,
control characters or zero-width characters (format characters such as U+200B, U+200D,
U+FEFF) is a 422 with :data:`~nabiz.text.EMPTY_TEXT` on both ``/v1/predict`` and ``/v1/feedback``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from nabiz.pii import Masked, mask_many
from nabiz.text import EMPTY_TEXT, has_visible_text


def storable(value: Any) -> Any:
    """``value`` unchanged unless it is a string a database cannot store (a validation error)."""
    if not isinstance(value, str):
        return value
    if "\x00" in value:
        raise PydanticCustomError(
            "nul_character",
            "holds a NUL character (\\u0000), which cannot be stored: remove it",
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "invalid_unicode", "not valid Unicode: holds a lone surrogate"
        ) from None
    return value


def has_content(text: str) -> str:
    """``text`` unchanged when it holds a visible character; else a validation error."""
    if not has_visible_text(text):
        raise PydanticCustomError("empty_text", EMPTY_TEXT)
    return text


Storable = AfterValidator(storable)
"""The check as metadata for a path or query parameter, after its own constraints (so a length
limit keeps its usual error): ``Annotated[str | None, Query(max_length=64), Storable]``. Model
fields call :func:`storable` from a ``field_validator``, for the same reason."""


# Above this many characters a request masks its texts in a worker thread: masking runs at about
# 4 million characters a second (Zen 4), so 256 texts of 20,000 characters would hold the event
# loop, /healthz included, for 1.3 s.
INLINE_MASK_CHARS = 4_000


async def mask_off_loop(texts: list[str], enabled: bool = True) -> list[Masked]:
    """:func:`mask_many` for a request handler: in a worker thread when the texts are long."""
    if not enabled or sum(map(len, texts)) <= INLINE_MASK_CHARS:
        return mask_many(texts, enabled)
    return await asyncio.to_thread(mask_many, texts, enabled)
