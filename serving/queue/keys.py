"""API keys: create, list, revoke, and the table of active keys the server checks requests with.

A key is ``nbz_`` and 43 random URL-safe characters (256 bits from :mod:`secrets`). Only its
SHA-256 is stored: a key is random, not a password, so a fast hash is as safe as a slow one and
lets the server check a request with one dictionary look-up. The plain key is returned once, by
:func:`create_key`, and never again.

Scopes: ``predict`` (``/v1/predict``, ``/v1/model``), ``queue:read`` (``GET`` on the queue, the
alerts and the insights), ``queue:write`` (posting and correcting feedback, acknowledging
alerts), ``admin`` (erasure, and ``/metrics`` when it is not public; ``admin`` also holds every
other scope). The probes, the console's files and the docs (while public) need no key.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nabiz.serving.queue.models import ApiKey, utcnow

SCOPES = ("predict", "queue:read", "queue:write", "admin")
KEY_PREFIX = "nbz_"
NAME_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


class ApiKeyError(ValueError):
    """A key operation cannot be done as asked (unknown scope, name taken, no such key)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name and its scopes."""

    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(scopes))
    unknown = [scope for scope in chosen if scope not in SCOPES]
    if unknown:
        raise ApiKeyError(f"unknown scope {unknown[0]!r}; scopes are {', '.join(SCOPES)}")
    if not chosen:
        raise ApiKeyError(f"give at least one scope ({', '.join(SCOPES)})")
    return sorted(chosen, key=SCOPES.index)


def check_name(name: str) -> str:
    """``name`` if it is a key name (:data:`NAME_PATTERN`); else an error that lists the
    characters allowed and the ones that are not.

    ASCII only, on purpose: a name is who corrected an item or acknowledged an alert, and Turkish
    letters would let two different names look the same ("ş" composed or as "s" plus a combining
    cedilla; "I"/"ı" and "İ"/"i" under case folding)."""
    if re.fullmatch(NAME_PATTERN, name):
        return name
    bad = [char for char in dict.fromkeys(name) if not re.fullmatch(r"[A-Za-z0-9._-]", char)]
    why = f"not allowed: {', '.join(map(repr, bad))}" if bad else f"{len(name)} characters"
    raise ApiKeyError(
        "a key name is 1-64 characters from A-Z, a-z, 0-9, '.', '_' and '-' (ASCII only: no "
        f"Turkish letters such as ç ğ ı İ ö ş ü, no spaces); got {name!r} ({why})"
    )


def create_key(session: Session, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
    """A new key named ``name``: ``(row, plain key)``; the plain key is not stored anywhere."""
    check_name(name)
    chosen = check_scopes(scopes)
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        key_hash=hash_key(plain),
        prefix=plain[:8],
        scopes=chosen,
        created_at=utcnow(),
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ApiKeyError(
            f"a key named {name!r} exists already (revoked keys keep their name); pick another"
        ) from None
    return row, plain


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_key(session: Session, name: str) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise ApiKeyError(f"no key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return row


def active_keys(session: Session) -> dict[str, Principal]:
    """Hash → principal for every key that is not revoked."""
    rows = session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None)))
    return {row.key_hash: Principal(row.name, frozenset(row.scopes)) for row in rows}
