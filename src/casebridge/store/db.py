"""Engines: SQLite (embedded default, WAL) or PostgreSQL, with vendor errors translated."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from casebridge.errors import DatabaseUnavailable
from casebridge.i18n import N_

__all__ = ["describe_url", "make_engine", "translate_db_errors"]


def describe_url(url: str) -> str:
    """The URL without its password, fit for an error line or a log."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer; busy_timeout: a second process waits, not fails.
    # synchronous=FULL: a commit returns only once the WAL is on disk. With NORMAL a power cut
    # can take back committed transactions, i.e. acknowledged exchanges and page receipts.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # 128 KiB of page cache per connection (SQLite's default is 2 MiB): the hub keeps a
    # pool of connections, each cache filled as the database grows, and so the hub's memory
    # grew with the data it held (+6 MB per worker after one 1.2 GB dossier with 2 MiB;
    # with 512 KiB still +0.3 MB per 0.3 GB push into one worker, over eight pushes). The
    # file's pages stay in the OS cache, so a miss is a read from memory.
    cur.execute("PRAGMA cache_size=-128")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine; the SQLite file's folder is created, nothing else is touched."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(
                    N_("database {url} unavailable: cannot create folder {folder}: {reason}"),
                    params={"url": describe_url(url), "folder": folder, "reason": exc.strerror},
                ) from None
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"connect_timeout": 5}
    )


@contextmanager
def translate_db_errors(url: str) -> Iterator[None]:
    """Turn "cannot connect" into :class:`DatabaseUnavailable` with one readable line."""
    try:
        yield
    except OperationalError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(
            N_("database {url} unavailable: {reason}"),
            params={"url": describe_url(url), "reason": first},
        ) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailable(
                N_("database {url} connection lost"), params={"url": describe_url(url)}
            ) from exc
        raise
