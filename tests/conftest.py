"""Fixtures for real parts: a nats-server from the wheel, SQLite files and PostgreSQL.

PostgreSQL comes from testcontainers when a Docker engine answers, else from the local
server at 127.0.0.1:5432 (user postgres, database test). Under CI=true a missing
PostgreSQL fails the run instead of skipping.
"""

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import shared.db
from shared.provision import provision
from slrt.natsserver import NatsServer, free_port

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_xdist_auto_num_workers() -> int:
    """One worker more than cores: most tests wait on processes and sockets, and on a slow
    two-core machine the suite took 13 minutes instead of 15."""
    return (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first, the rest in their order. A file handed out last that runs for
    minutes kept one worker busy after the others had finished everything else."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@contextmanager
def refused_port() -> Iterator[int]:
    """A local port where nothing answers, for as long as it is held. Bound and never
    listened on, it refuses at once; unlike a port from `free_port`, which is let go, no
    other test's server (a broker, a gateway that answers late) can take it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# Short enough that a test sees SQLite give up on the lock at once, long enough for a
# loaded machine's ordinary statements.
SQLITE_BUSY_SECONDS = 0.2


@pytest.fixture
def short_sqlite_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite gives up on a held write lock after SQLITE_BUSY_SECONDS instead of 30 s. Ask
    for it before the fixtures that open the service's database."""
    monkeypatch.setattr(shared.db, "SQLITE_BUSY_SECONDS", SQLITE_BUSY_SECONDS)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream for one test; the test may stop and restart it."""
    server = NatsServer(port=free_port(), store_dir=tmp_path / "nats")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def provisioned_nats(nats_server: NatsServer) -> AsyncIterator[NatsServer]:
    await provision(nats_server.url)
    yield nats_server


def _docker_engine_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str | None]:
    """An admin URL of a PostgreSQL server, or None (tests skip) outside CI."""
    if _docker_engine_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="psycopg") as container:
            yield container.get_connection_url().replace("postgresql+psycopg", "postgresql")
        return
    try:
        psycopg.connect(LOCAL_POSTGRES, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true and is unreachable: {exc}")
        yield None
        return
    yield LOCAL_POSTGRES


class PostgresDatabases:
    """Creates throwaway databases on the server and drops them at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.created: list[str] = []

    def create(self) -> str:
        name = f"slrt_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)

    def drop_all_in_background(self) -> None:
        """Drop every database made, in a detached process: the run need not wait the
        ~20 s hundreds of drops take on a slow disk."""
        subprocess.Popen(
            [sys.executable, "-m", "tests.dropdb", self.admin_url, *self.created],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


@pytest.fixture(scope="session")
def postgres_databases(postgres_server: str | None) -> Iterator[PostgresDatabases | None]:
    if postgres_server is None:
        yield None
        return
    databases = PostgresDatabases(postgres_server)
    yield databases
    databases.drop_all_in_background()


def database_factory(
    backend: str, tmp_path: Path, postgres: PostgresDatabases | None
) -> "DatabaseFactory":
    if backend == "postgresql" and postgres is None:
        pytest.skip("PostgreSQL not reachable (set CI=true to make this a failure)")
    return DatabaseFactory(backend, tmp_path, postgres)


class DatabaseFactory:
    """Hands out empty databases of one backend: one per service in multi-service tests."""

    def __init__(self, backend: str, tmp_path: Path, postgres: PostgresDatabases | None) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.postgres = postgres

    def new(self, name: str = "db") -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp_path / f'{name}-{uuid.uuid4().hex[:6]}.db'}"
        assert self.postgres is not None
        return self.postgres.create()


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: PostgresDatabases | None
) -> DatabaseFactory:
    """Run the test once on SQLite and once on PostgreSQL."""
    return database_factory(request.param, tmp_path, postgres_databases)


@pytest.fixture
def database_url(databases: DatabaseFactory) -> str:
    return databases.new()
