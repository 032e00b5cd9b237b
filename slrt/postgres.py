"""Create one PostgreSQL database per service on a server, for `slrt up --postgres`."""

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url


def ensure_databases(
    server_url: str, services: tuple[str, ...], prefix: str = "slrt_"
) -> dict[str, str]:
    """Make `slrt_<service>` databases exist; returns each service's database URL."""
    base = make_url(server_url)
    admin = base.set(drivername="postgresql", database=base.database or "postgres")
    urls = {}
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        for service in services:
            name = f"{prefix}{service}"
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            urls[service] = base.set(
                drivername="postgresql+psycopg", database=name
            ).render_as_string(hide_password=False)
    return urls
