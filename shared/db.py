"""Database engines and sessions: SQLite for the embedded default, PostgreSQL in production.

Services are asyncio end to end, so both use async drivers (aiosqlite, psycopg).
"""

import asyncio
import sqlite3
from collections.abc import Callable, Generator, Sequence
from datetime import UTC, datetime
from typing import Any

import aiosqlite
from sqlalchemy import ColumnElement, Table, event, or_, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]


def async_url(url: str) -> str:
    """Accept plain `sqlite:///` and `postgresql://` URLs and pick the async driver."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class _RunNow:
    """aiosqlite's queue of calls for its worker thread, run at once on the caller's."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class InlineSqlite(aiosqlite.Connection):
    """aiosqlite's connection, with every call run on the event loop's own thread.

    aiosqlite hands each call to a worker thread and waits for the answer; on a 2-core
    machine that hop cost about 0.35 ms of CPU per statement, several times the statement
    itself (bench/RESULTS.md). A service's statements on its own SQLite file take
    microseconds, so running them in place costs the loop little. The price: while another
    process holds the file's write lock (a registry import building its indexes), the
    whole service waits for it (busy_timeout), not just the session that asked."""

    def __init__(self, path: str) -> None:
        super().__init__(lambda: sqlite3.connect(path, timeout=30, check_same_thread=False), 64)
        self._tx = _RunNow()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> "InlineSqlite":
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, "InlineSqlite"]:
        return self._connect().__await__()  # no worker thread to start

    def begin_immediate(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")


def create_engine(url: str) -> AsyncEngine:
    url = async_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database or ":memory:"

        async def connect() -> InlineSqlite:
            return await InlineSqlite(path)

        # One connection per process: SQLite has one writer anyway, and several connections
        # contending for its lock wait in SQLite's sleeping busy handler (tens of ms each),
        # while sessions queued on the pool are woken in order at once.
        engine = create_async_engine(
            url, async_creator=connect, pool_size=1, max_overflow=0, pool_timeout=120
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    # WAL lets readers run beside the writer (HTTP, handlers and the outbox relay share the
    # file); NORMAL sync is durable across process crashes, which is what a desk PC needs.
    dbapi_connection.isolation_level = None  # let _sqlite_begin_immediate open transactions
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Take the write lock when a transaction starts. A deferred transaction that reads and
    # then writes fails at once with "database is locked" if another writer got there
    # first; an immediate one waits its turn (busy_timeout) instead. Straight to sqlite3:
    # through SQLAlchemy's execution path, BEGIN cost a sixth of a one-statement transaction.
    conn.connection.driver_connection.begin_immediate()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def create_tables(engine: AsyncEngine, tables: Sequence[Table]) -> None:
    """Create this service's tables (and only its own) if they do not exist."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=list(tables)))


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC one: SQLite hands them back without their zone
    (they were written in UTC); PostgreSQL keeps it."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def insert_on_conflict(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """INSERT with the dialect's ON CONFLICT clauses (both databases have them, spelt alike)."""
    dialect = session.sync_session.get_bind().dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def in_area(column: Any, area_code: str) -> ColumnElement[bool]:
    """SQL for `shared.areas.within`: the column's area code lies in (or is) `area_code`."""
    return or_(column == area_code, column.startswith(area_code + "."))
