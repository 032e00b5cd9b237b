"""Database engines and sessions: SQLite for the embedded default, PostgreSQL in production.

Services are asyncio end to end: PostgreSQL through psycopg's async driver, SQLite through
sqlite3 run in place (SqliteInline).
"""

import asyncio
import functools
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Table, bindparam, event, inspect, literal, or_, pool
from sqlalchemy.dialects import postgresql, registry, sqlite
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio.session import _EXECUTE_OPTIONS
from sqlalchemy.util import await_, greenlet_spawn, immutabledict
from sqlalchemy.util.concurrency import in_greenlet
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from shared.logging import get_logger
from shared.staging import staged_rows

log = get_logger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]

# How long a SQLite connection waits for another process's write lock (an administrator's
# shell, a backup) before its statement fails with "database is locked".
SQLITE_BUSY_SECONDS = 30.0
POSTGRES_CONNECT_SECONDS = 10
# While the database is away, how long before asking again whether it answers: from the
# first, doubling up to the second (under JetStream's ack wait of 30 s, so a consumer's
# held messages are kept alive in time).
DATABASE_WAIT_SECONDS = 1.0
DATABASE_WAIT_MAX_SECONDS = 10.0


def async_url(url: str) -> str:
    """Accept plain `sqlite:///` and `postgresql://` URLs and pick the driver used here."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"):
        parsed = parsed.set(drivername="sqlite+inline")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """Called by the asyncio extension after each statement, to detach an async driver's
        rows from its cursor. Nothing to detach here: a session's results come buffered, and
        a connection's are read while it still holds the one connection."""


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)


async def _at_once() -> None:
    return None


class SqliteInline(SQLiteDialect_pysqlite):
    """sqlite3 itself, run in place on the event loop's thread, behind SQLAlchemy's asyncio API.

    A service's statements on its own SQLite file take microseconds. An async driver
    (aiosqlite) hands each call to a worker thread or, run in place, through awaitables at
    every step, and cost several times the statement (bench/RESULTS.md). This dialect says
    it is async, so the asyncio extension accepts it and sessions queue for the connection
    the asyncio way, while each statement runs synchronously. The price: while another
    process holds the file's write lock, the whole service waits for it (busy_timeout),
    not just the session that asked."""

    is_async = True
    supports_statement_cache = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool

    # AsyncConnection.execute insists that the driver awaited something: one await of a
    # finished coroutine per statement says so at the cost of two greenlet switches. An
    # InlineSession's statements run outside any greenlet, and need not.
    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        _say_awaited()
        cursor.execute(statement, parameters)

    def do_execute_no_params(self, cursor: Any, statement: str, context: Any = None) -> None:
        _say_awaited()
        cursor.execute(statement)

    def do_executemany(
        self, cursor: Any, statement: str, parameters: Any, context: Any = None
    ) -> None:
        _say_awaited()
        cursor.executemany(statement, parameters)


def _say_awaited() -> None:
    if in_greenlet():
        await_(_at_once())


registry.register("sqlite.inline", __name__, "SqliteInline")


def create_engine(url: str) -> AsyncEngine:
    url = async_url(url)
    if url.startswith("sqlite"):
        # One connection per process: SQLite has one writer anyway, and several connections
        # contending for its lock wait in SQLite's sleeping busy handler (tens of ms each),
        # while sessions queued on the pool are woken in order at once.
        engine = create_async_engine(
            url,
            connect_args={
                "timeout": SQLITE_BUSY_SECONDS,
                "check_same_thread": False,
                "factory": _Connection,
            },
            pool_size=1,
            max_overflow=0,
            pool_timeout=120,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        return engine
    # A server that does not answer at all (its host down) fails a connection in seconds,
    # not after the system's TCP timeout of minutes, so the desk hears of it in time.
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"connect_timeout": POSTGRES_CONNECT_SECONDS},
    )


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    # WAL lets readers run beside the writer (HTTP, handlers and the outbox relay share the
    # file); NORMAL sync is durable across process crashes, which is what a desk PC needs.
    dbapi_connection.isolation_level = None  # let _sqlite_begin_immediate open transactions
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Take the write lock when a transaction starts. A deferred transaction that reads and
    # then writes fails at once with "database is locked" if another writer got there
    # first; an immediate one waits its turn (busy_timeout) instead. Straight to sqlite3:
    # through SQLAlchemy's execution path, BEGIN cost a sixth of a one-statement transaction.
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE")


T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)


class InlineSession(AsyncSession):
    """SQLite's AsyncSession: once it holds the connection, its work runs in place.

    AsyncSession runs each call's ORM work in a greenlet, so that the driver can await. With
    SqliteInline nothing awaits except taking the one connection from the pool, which may
    wait for another session. So each transaction's first call takes the connection that
    way, and the calls after it, up to commit, run directly: that saves a greenlet per call
    and the task AsyncSession closes itself in (bench/RESULTS.md). A call that runs in place
    has no await in it, so a cancellation cannot stop it half way."""

    def _holds_connection(self) -> bool:
        transaction = self.sync_session.get_transaction()
        # Private, but the one place the session says whether it has taken a connection.
        return transaction is not None and bool(transaction._connections)

    async def _run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._holds_connection():
            return work(*args, **kwargs)
        return await greenlet_spawn(work, *args, **kwargs)

    async def exec(self, statement: Any, **kwargs: Any) -> Any:
        if not self._holds_connection():
            return await super().exec(statement, **kwargs)
        # The options AsyncSession.exec gives every statement: its rows read at once.
        options = kwargs.pop("execution_options", None)
        options = immutabledict(options).union(_EXECUTE_OPTIONS) if options else _EXECUTE_OPTIONS
        return self.sync_session.exec(statement, execution_options=options, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self.sync_session.get, *args, **kwargs)

    async def flush(self, objects: Sequence[Any] | None = None) -> None:
        await self._run(self.sync_session.flush, objects=objects)

    async def delete(self, instance: object) -> None:
        await self._run(self.sync_session.delete, instance)

    async def commit(self) -> None:
        await self._run(self.sync_session.commit)

    # Without a connection these have nothing to do in the database; with it, they give
    # it back to the pool, which needs no await either.
    async def rollback(self) -> None:
        self.sync_session.rollback()

    async def close(self) -> None:
        self.sync_session.close()

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        self.sync_session.close()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    inline = engine.dialect.name == "sqlite"
    session_class = InlineSession if inline else AsyncSession
    return cast(
        SessionFactory,
        async_sessionmaker(engine, class_=session_class, expire_on_commit=False),
    )


async def create_tables(engine: AsyncEngine, tables: Sequence[Table]) -> None:
    """Create this service's tables (and only its own) if they do not exist."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=list(tables)))


async def ping(sessions: SessionFactory) -> None:
    """Raise unless the database answers (on SQLite: unless its write lock can be taken,
    since every transaction here begins by taking it)."""
    async with sessions() as session:
        await session.exec(select(literal(1)))


# The database's trouble rather than the request's or the event's: the server unreachable,
# restarting or refusing connections, its disk full, SQLite's write lock held elsewhere
# past SQLITE_BUSY_SECONDS, or no pooled connection free in time. sqlite3's own error
# comes unwrapped from _sqlite_begin_immediate, which bypasses SQLAlchemy.
DATABASE_UNAVAILABLE = (OperationalError, PoolTimeoutError, sqlite3.OperationalError)


async def until_database_answers(
    sessions: SessionFactory,
    *,
    meanwhile: Callable[[], Awaitable[None]] | None = None,
    failure: BaseException | None = None,
) -> bool:
    """Return once the database answers: at once (False), or after waiting for it (True).
    While it does not, ask again after DATABASE_WAIT_SECONDS, doubling up to
    DATABASE_WAIT_MAX_SECONDS, and log why each time; `meanwhile` runs before each wait (a
    consumer keeps its held messages from redelivery).

    A full disk answers a ping (reads work) and takes no write: if `failure`, the error
    that made the caller ask, says so, wait one long round and say True, so the caller
    tries its write again instead of counting it as the work's own failure."""
    if failure is not None and out_of_space(failure):
        log.warning(
            "database_full", detail=error_detail(failure), retry_in=DATABASE_WAIT_MAX_SECONDS
        )
        if meanwhile is not None:
            await meanwhile()
        await asyncio.sleep(DATABASE_WAIT_MAX_SECONDS)
        return True
    delay, waited = DATABASE_WAIT_SECONDS, False
    while True:
        try:
            await ping(sessions)
        except DATABASE_UNAVAILABLE as exc:
            log.warning(
                "database_waiting",
                error=type(exc).__name__,
                detail=error_detail(exc),
                retry_in=delay,
            )
        else:
            if waited:
                log.info("database_back")
            return waited
        if meanwhile is not None:
            await meanwhile()
        await asyncio.sleep(delay)
        delay, waited = min(delay * 2, DATABASE_WAIT_MAX_SECONDS), True


def out_of_space(exc: BaseException) -> bool:
    """A write failed for want of space: the disk is full, or SQLite's page limit reached."""
    cause = getattr(exc, "orig", None) or exc
    if isinstance(cause, sqlite3.Error):
        return cause.sqlite_errorcode == sqlite3.SQLITE_FULL
    return getattr(cause, "sqlstate", None) == "53100"  # PostgreSQL's disk_full


def error_detail(exc: BaseException, limit: int = 300) -> str:
    """What a log line says of an error: for a database error the driver's own message,
    without the statement and parameters SQLAlchemy adds (ids by the thousand, or a
    citizen's details); cut to `limit` either way."""
    return str(getattr(exc, "orig", None) or exc)[:limit]


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC one: SQLite hands them back without their zone
    (they were written in UTC); PostgreSQL keeps it."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dialect_of(session: AsyncSession) -> str:
    """The kind of database the session talks to: "sqlite" or "postgresql"."""
    return session.sync_session.get_bind().dialect.name


def insert_on_conflict(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """INSERT with the dialect's ON CONFLICT clauses (both databases have them, spelt alike)."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def in_area(column: Any, area_code: str) -> ColumnElement[bool]:
    """SQL for `shared.areas.within`: the column's area code lies in (or is) `area_code`."""
    return or_(column == area_code, column.startswith(area_code + "."))


def pending(session: AsyncSession, model: type[M]) -> list[M]:
    """The `model` objects added to the session or staged, and not written yet: a batch's
    earlier events' rows, seen without the flush a query would make to read them back."""
    return [item for item in [*session.new, *staged_rows(session)] if isinstance(item, model)]


async def get_by_key(
    session: AsyncSession, model: type[M], key: Any, *, lock: bool = False
) -> M | None:
    """`session.get` for a hot path: the row of `model` whose one-column primary key is
    `key`, locked for update if asked. session.get builds its statement at every call,
    which took half again as long as running it on SQLite (bench/RESULTS.md); this one is
    built once per model. It reads the database even when the session already holds the
    object, and hands back that same object."""
    found = await session.exec(_by_key(model, lock), params={"key": key})
    return cast(M | None, found.first())


@functools.cache
def _by_key(model: type[SQLModel], lock: bool) -> SelectOfScalar[Any]:
    (column,) = inspect(model).primary_key
    query = select(model).where(column == bindparam("key"))
    return query.with_for_update() if lock else query
