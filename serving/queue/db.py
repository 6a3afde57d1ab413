"""Engines, sessions and migrations for the triage queue.

The database is a URL: a SQLite file by default (``NABIZ_DATABASE_URL``, see
:mod:`nabiz.settings`), PostgreSQL with ``postgresql+psycopg://user@host/db``. The schema is owned
by the Alembic migrations packaged in ``migrations/``; :func:`upgrade_database` brings a database to
the latest revision and is what the app runs at startup (no ``alembic.ini`` needed).

PostgreSQL needs the ``postgres`` extra (``pip install -e ".[postgres]"``: psycopg 3); without it
:func:`make_engine` raises :class:`DatabaseDriverMissing`, whose message says so in one line.
Engines hide bound parameters from their errors (``hide_parameters``): a failed statement's
message would otherwise carry the stored customer text into the server's log.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "nabiz_alembic_version"  # not Alembic's default, so a shared database is safe


def database_url(url: str | URL | None = None) -> URL:
    """``url``, or the configured one; a bare ``postgresql://`` URL gets the psycopg 3 driver."""
    if url is None:
        from nabiz.settings import get_settings

        url = get_settings().database_url
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class DatabaseDriverMissing(RuntimeError):
    """The database URL names a driver whose package is not installed."""

    def __init__(self, url: URL, missing: str | None) -> None:
        package = missing or url.get_driver_name() or url.get_backend_name()
        how = (
            'pip install -e ".[postgres]" (or pip install "psycopg[binary]")'
            if url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg"
            else f"install {package}"
        )
        super().__init__(
            f"the queue database URL names {url.drivername}, but its driver package {package!r} "
            f"is not installed: {how}"
        )


def check_driver(url: str | URL | None = None) -> None:
    """Raise :class:`DatabaseDriverMissing` when ``url``'s driver cannot be imported."""
    parsed = database_url(url)
    try:
        parsed.get_dialect().import_dbapi()
    except ImportError as error:
        raise DatabaseDriverMissing(parsed, getattr(error, "name", None)) from None


def _sqlite_pragmas(busy_ms: int, wal: bool):
    """Per connection: foreign keys on, wait up to ``busy_ms`` for a lock, and (a file database)
    write-ahead logging.

    In SQLite's default rollback journal a reader holds a shared lock for as long as its
    statement runs, and a writer cannot commit until every reader is done: an alert check or an
    insight that read for longer than the busy timeout made concurrent writes fail with
    "database is locked" (and a writer waiting to commit shuts new readers out). With WAL,
    readers and the writer do not wait for each other; only writers queue, and theirs are short
    transactions. The mode is kept in the file, so setting it again is free.
    """

    def apply(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return apply


def _is_file(database: str | None) -> bool:
    return bool(database) and database != ":memory:" and "mode=memory" not in str(database)


def make_engine(
    url: str | URL | None = None, *, timeout_s: float | None = None, **kwargs
) -> Engine:
    """An engine for ``url`` (default: the setting); creates a SQLite file's folder.

    ``timeout_s`` (default: the ``database_timeout_s`` setting) bounds connecting, waiting for a
    pooled connection and, on PostgreSQL, every statement: a database that stops answering makes
    a request fail in that time (the API answers 503) instead of hanging it.
    """
    if timeout_s is None:
        from nabiz.settings import get_settings

        timeout_s = get_settings().database_timeout_s
    parsed = database_url(url)
    check_driver(parsed)
    kwargs.setdefault("hide_parameters", True)  # no customer text in logged database errors
    if parsed.get_backend_name() == "sqlite":
        if _is_file(parsed.database) and not str(parsed.database).startswith("file:"):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": timeout_s})
        engine = create_engine(parsed, **kwargs)
        event.listen(
            engine, "connect", _sqlite_pragmas(int(timeout_s * 1000), _is_file(parsed.database))
        )
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if kwargs.get("poolclass") is None:
        kwargs.setdefault("pool_timeout", timeout_s)
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault(
            "connect_args",
            {
                "connect_timeout": max(1, round(timeout_s)),
                "options": f"-c statement_timeout={int(timeout_s * 1000)}",
            },
        )
    return create_engine(parsed, **kwargs)


def make_session_factory(engine_or_url: Engine | str | URL | None = None) -> sessionmaker[Session]:
    """Sessions bound to an engine (or to a new engine for a URL, default: the setting)."""
    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic config for the packaged migrations, built in code."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%': escape it (passwords may hold one).
    rendered = database_url(url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade_database(url: str | URL | Engine | None = None, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` (default: the latest) on the database at ``url``."""
    engine = url if isinstance(url, Engine) else make_engine(url)
    config = alembic_config(engine.url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            if revision == "head" and missing_tables(connection):
                # tables dropped under a version that says they exist: recreate them as the
                # models define them (the migrations end there; a test checks they agree)
                from nabiz.serving.queue.models import Base

                Base.metadata.create_all(connection, checkfirst=True)
    finally:
        if engine is not url:
            engine.dispose()


def current_revision(url: str | URL | Engine | None = None) -> str | None:
    """The revision a database is at (``None`` before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()
    finally:
        if engine is not url:
            engine.dispose()


def is_migrated(session_factory: sessionmaker[Session]) -> bool:
    """Whether the database holds the queue's tables (its version table has a row); raises when
    the database cannot be reached. A database dropped and created again under a running server
    answers ``SELECT 1`` but has no tables: every queue route failed with a 500 until a restart.
    """
    with session_factory() as session:
        session.execute(text("SELECT 1"))  # unreachable: raise, not "not migrated"
        try:
            versioned = session.execute(text(f"SELECT 1 FROM {VERSION_TABLE}")).first()
        except DBAPIError as error:
            if is_missing_table(error):
                return False
            raise
        return versioned is not None and not missing_tables(session.connection())


def missing_tables(connection) -> list[str]:
    """The queue's tables that the database lacks (some dropped by hand, the version table left:
    a migration to the version it names creates nothing, and the server went on answering 503)."""
    from sqlalchemy import inspect

    from nabiz.serving.queue.models import Base

    present = set(inspect(connection).get_table_names())
    return [name for name in Base.metadata.tables if name not in present]


def is_missing_table(error: DBAPIError) -> bool:
    """A statement refused because a table does not exist (PostgreSQL 42P01, SQLite's "no such
    table"): the database lost its schema, which a migration mends, not a 500."""
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return code == "42P01" or "no such table" in str(original)


def sqlite_file(engine: Engine) -> tuple[int, int] | None:
    """The (device, inode) of a SQLite database file (``None``: another database, an in-memory
    one, or no file at the path). A file deleted or replaced under a running server keeps being
    written through the connections that hold it open, and those writes are lost: the watcher
    compares this with what it saw at the last migration."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not _is_file(url.database):
        return None
    database = str(url.database)
    if database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
    try:
        found = Path(database).expanduser().stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino
