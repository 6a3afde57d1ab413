"""``nabiz keys`` and ``nabiz queue``: API keys and retention of the triage queue's database.

Registered on the one CLI in :mod:`nabiz.cli`; kept apart so each file holds one concern.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nabiz.cli_common import fail

keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
queue_app = typer.Typer(help="The triage queue's database.", no_args_is_help=True)


DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Queue database; default: the NABIZ_DATABASE_URL setting."),
]


def _queue_session(database_url: str | None):
    """A session on the migrated queue database (the keys live there)."""
    from nabiz.serving.queue.db import (
        DatabaseDriverMissing,
        make_engine,
        make_session_factory,
        upgrade_database,
    )

    try:
        engine = make_engine(database_url)
    except DatabaseDriverMissing as exc:
        raise fail(str(exc)) from None
    upgrade_database(engine)
    return engine, make_session_factory(engine)()


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key (shown as corrected_by).")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", "-s", help="predict, queue:read, queue:write or admin; repeat."),
    ],
    database_url: DatabaseOption = None,
) -> None:
    """Make an API key and print it once; only its hash is stored."""
    from sqlalchemy.exc import SQLAlchemyError

    from nabiz.serving.queue.keys import ApiKeyError, create_key

    try:
        engine, session = _queue_session(database_url)
    except SQLAlchemyError as exc:
        raise fail(f"cannot open the queue database: {type(exc).__name__}") from None
    try:
        with session:
            row, plain = create_key(session, name, scope)
    except ApiKeyError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    typer.echo(f"key {row.name!r} ({', '.join(row.scopes)}); store it now, it is not shown again:")
    typer.echo(plain)


@keys_app.command("list")
def keys_list(database_url: DatabaseOption = None) -> None:
    """Every key: name, first characters, scopes, created, revoked."""
    from nabiz.serving.queue.keys import list_keys

    engine, session = _queue_session(database_url)
    try:
        with session:
            rows = list_keys(session)
    finally:
        engine.dispose()
    if not rows:
        typer.echo("no API keys: the server asks for none (unless NABIZ_AUTH=required)")
    for row in rows:
        revoked = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        typer.echo(
            f"{row.name}\t{row.prefix}…\t{','.join(row.scopes)}\t"
            f"created {row.created_at:%Y-%m-%d %H:%M}\t{revoked}"
        )


@keys_app.command("revoke")
def keys_revoke(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    database_url: DatabaseOption = None,
) -> None:
    """Revoke a key: servers refuse it within a few seconds."""
    from nabiz.serving.queue.keys import ApiKeyError, revoke_key

    engine, session = _queue_session(database_url)
    try:
        with session:
            revoke_key(session, name)
    except ApiKeyError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    typer.echo(f"key {name!r} revoked")


@queue_app.command("purge")
def queue_purge(
    older_than_days: Annotated[
        int | None,
        typer.Option(
            "--older-than-days",
            min=1,
            help="Delete items that entered the queue more than this many days ago; "
            "default: the NABIZ_RETENTION_DAYS setting.",
        ),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Delete queue items past the retention period (KVKK: keep personal data no longer than
    needed)."""
    from datetime import UTC, datetime, timedelta

    from nabiz.serving.queue.repository import purge_older_than
    from nabiz.settings import get_settings

    days = older_than_days or get_settings().retention_days
    if not days:
        raise fail("no retention set: pass --older-than-days or set NABIZ_RETENTION_DAYS")
    cutoff = datetime.now(UTC) - timedelta(days=days)
    engine, session = _queue_session(database_url)
    try:
        with session:
            deleted = purge_older_than(session, cutoff)
    finally:
        engine.dispose()
    typer.echo(
        f"deleted {deleted} item(s) that entered the queue before {cutoff:%Y-%m-%d %H:%M} UTC"
    )
