"""`python -m tests.dropdb ADMIN_URL NAME...`: drop test databases (run detached by conftest)."""

import sys

import psycopg
from psycopg import sql


def drop(admin_url: str, names: list[str]) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in names:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    drop(sys.argv[1], sys.argv[2:])
