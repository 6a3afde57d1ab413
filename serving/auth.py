"""Who may call the API: Bearer API keys with scopes, checked against a key ring held in memory.

The keys live in the queue database (:mod:`nabiz.serving.queue.keys`); the server keeps their
hashes in a :class:`KeyRing`, reloaded every ``REFRESH_S`` seconds, at most once a second when an
unknown key shows up, and on every request while no key exists (so a key made with ``nabiz keys
create`` works, and closes an open server, at once; a revoked key is refused within
``REFRESH_S``). If the database goes away the last loaded keys stay valid, so ``/v1/predict``
keeps answering; if the keys were never loaded, protected routes answer 503: the server cannot
tell who may call it, so nobody may.

The ``auth`` setting: ``auto`` asks for a key as soon as one active key exists (and keeps asking
when the key table is emptied under the running server: a database dropped and created again must
not open it), ``required`` always (no keys, no access), ``off`` never. Missing or unknown key: 401
with ``WWW-Authenticate: Bearer``; a key without the scope: 403. An app without a key ring on
``app.state`` (the queue router mounted on its own, as tests do) is not protected:
:func:`nabiz.serving.app.create_app` always adds one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nabiz.serving.queue.keys import Principal, active_keys, hash_key
from nabiz.serving.queue.models import ApiKey

log = logging.getLogger("nabiz.serving")

REFRESH_S = 5.0
MISS_REFRESH_S = 1.0


class KeyRing:
    """The active keys' hashes, as last read from the database (``None``: never read)."""

    def __init__(self) -> None:
        self.keys: dict[str, Principal] | None = None
        # The key table was emptied under the server (a database dropped and created again):
        # `auto` keeps asking for keys, or anyone could call, admin routes included.
        self.store_lost = False
        self.loaded_at = 0.0
        self.failed_at = -REFRESH_S
        self._lock = asyncio.Lock()

    def load(self, factory: sessionmaker[Session]) -> None:
        """Read the keys (blocking; raises when the database is unreachable)."""
        with factory() as session:
            keys = active_keys(session)
            if self.keys and not keys and not session.scalar(select(func.count(ApiKey.key_hash))):
                if not self.store_lost:
                    log.warning(
                        "the API keys are gone from the queue database (it was emptied or "
                        "created again): keys stay required; make one with `nabiz keys create`"
                    )
                self.store_lost = True
            self.keys = keys
        self.loaded_at = time.monotonic()

    async def refresh(
        self, factory: sessionmaker[Session] | None, timeout: float, *, from_request: bool = False
    ) -> bool:
        """Reload in a thread; keep the old keys on failure. True when it read the database.

        ``from_request``: a request asks; it does not wait on a database that failed within the
        last ``REFRESH_S`` (the watcher keeps trying), and a reload already running counts."""
        if factory is None:
            return False
        if from_request and time.monotonic() - self.failed_at < REFRESH_S:
            return False
        if self._lock.locked():  # another request is reloading: its answer will do
            async with self._lock:
                return True
        async with self._lock:
            try:
                await asyncio.wait_for(asyncio.to_thread(self.load, factory), timeout)
                return True
            except Exception as error:  # the database is down: keep what we had
                self.failed_at = time.monotonic()
                log.warning("could not reload API keys: %s", type(error).__name__)
                return False

    def lookup(self, key: str) -> Principal | None:
        return (self.keys or {}).get(hash_key(key))


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=message,
        headers={"WWW-Authenticate": "Bearer"},
    )


# Declared so that the OpenAPI document names the scheme (a client generator sends the key, and
# /docs has an Authorize button); the dependency below decides, since keys may be off.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key made with `nabiz keys create NAME --scope …`, sent as "
    "`Authorization: Bearer <key>` (asked for once a key exists, or with "
    "NABIZ_AUTH=required).",
)


def require(scope: str) -> Callable[..., Any]:
    """A dependency that lets a request through only with a key holding ``scope`` (when keys are
    asked for); it returns the caller's :class:`Principal`, or ``None`` when keys are not asked."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    ) -> Principal | None:
        state = request.app.state
        ring: KeyRing | None = getattr(state, "keyring", None)
        settings = getattr(state, "settings", None)
        mode = getattr(settings, "auth", "auto")
        if ring is None or mode == "off":
            return None
        if ring.keys is None:
            await ring.refresh(
                getattr(state, "session_factory", None),
                settings.database_timeout_s,
                from_request=True,
            )
            if ring.keys is None:
                raise HTTPException(
                    status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                    detail="cannot check API keys: the key store (the queue database) has not "
                    "answered since the server started",
                    headers={"Retry-After": "5"},
                )
        if mode == "auto" and not ring.keys and not ring.store_lost:
            # Open only while no key exists: look again on every request (one small SELECT),
            # so the first key made while the server runs closes it at once.
            await ring.refresh(
                getattr(state, "session_factory", None),
                settings.database_timeout_s,
                from_request=True,
            )
            if not ring.keys:
                return None
        token = credentials.credentials.strip() if credentials is not None else None
        if not token:
            raise _unauthorized("send an API key: Authorization: Bearer <key>")
        principal = ring.lookup(token)
        if principal is None and time.monotonic() - ring.loaded_at > MISS_REFRESH_S:
            await ring.refresh(
                getattr(state, "session_factory", None),
                settings.database_timeout_s,
                from_request=True,
            )
            principal = ring.lookup(token)
        if principal is None:
            raise _unauthorized("unknown or revoked API key")
        if not principal.allows(scope):
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN,
                detail=f"the key {principal.name!r} lacks the scope {scope!r}",
            )
        return principal

    return check


PredictScope = Annotated[Principal | None, Depends(require("predict"))]
QueueReadScope = Annotated[Principal | None, Depends(require("queue:read"))]
QueueWriteScope = Annotated[Principal | None, Depends(require("queue:write"))]
AdminScope = Annotated[Principal | None, Depends(require("admin"))]
