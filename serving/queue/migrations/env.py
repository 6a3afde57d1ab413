"""Alembic environment for the triage queue.

Run in code by :func:`nabiz.serving.queue.db.upgrade_database`, which hands over an open connection
in ``config.attributes["connection"]``; or from the command line with the repository's
``alembic.ini`` (``alembic upgrade head``, ``alembic revision --autogenerate -m ...``), where the
database is ``sqlalchemy.url`` if set, else the ``NABIZ_DATABASE_URL`` setting.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, pool

import nabiz.serving.alerts.models  # noqa: F401  (the alert tables join Base.metadata)
from nabiz.serving.queue.db import VERSION_TABLE, database_url, make_engine
from nabiz.serving.queue.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata

# Only the command line configures logging; the app keeps its own.
if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url():
    return database_url(config.get_main_option("sqlalchemy.url") or None)


def _render_item(type_: str, obj, autogen_context):
    """Migrations spell the UTC datetime as its storage type, so they never import the models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE by copy on SQLite
        compare_type=True,
        render_item=_render_item,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
