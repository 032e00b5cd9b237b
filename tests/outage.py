"""A service's database taken away for a while, as a district sees it happen: PostgreSQL
refusing connections to it (and cutting those open), or SQLite's write lock held by
another connection (an administrator's shell, a backup copying the file); or its disk
full, by SQLite's page limit, which fails a write with SQLITE_FULL as a full disk does."""

import contextlib
import sqlite3
from collections.abc import Callable, Iterator

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

from shared.db import SessionFactory, out_of_space


@contextlib.contextmanager
def database_away(database_url: str) -> Iterator[None]:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with contextlib.closing(sqlite3.connect(str(url.database), isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        return
    name = sql.Identifier(str(url.database))
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name))
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (url.database,),
        )
    try:
        yield
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(name))


async def set_page_limit(sessions: SessionFactory, pages: int | None = None) -> int:
    """Cap the SQLite database at `pages` (its present size if None); the cap holds for
    the process's one connection. Returns the cap."""
    async with sessions() as session:
        conn = await session.connection()
        if pages is None:
            pages = (await conn.exec_driver_sql("PRAGMA page_count")).scalar_one()
        return int((await conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")).scalar_one())


async def fill_to_the_page_limit(sessions: SessionFactory, row: Callable[[], SQLModel]) -> None:
    """Cap the database at its size and add `row()`s until one fails for want of space: a
    row of that table as large or larger then finds none (other tables keep the room left
    in their pages)."""
    await set_page_limit(sessions)
    for _ in range(10_000):
        try:
            async with sessions() as session:
                session.add(row())
                await session.commit()
        except OperationalError as exc:
            assert out_of_space(exc), exc
            return
    raise AssertionError("the database did not fill")
