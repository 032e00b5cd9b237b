"""A service's database taken away for a while, as a district sees it happen: PostgreSQL
refusing connections to it (and cutting those open), or SQLite's write lock held by
another connection (an administrator's shell, a backup copying the file)."""

import contextlib
import sqlite3
from collections.abc import Iterator

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url


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
