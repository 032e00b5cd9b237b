"""A service's scheduled jobs (verval's roll-over and life-event scan, referral's overdue
check) across a database outage: they wait for it instead of failing a round at a time, and
run as soon as it is back."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from structlog.testing import CapturingLogger

import shared.db
import shared.runtime
from shared.db import SessionFactory, create_engine, session_factory
from shared.runtime import ServiceRuntime, every
from tests.outage import database_away
from tests.waiting import wait_until

pytestmark = pytest.mark.usefixtures("short_sqlite_wait")

A_LONG_TIME = 3600.0  # the job's period: a second round inside the test would be a bug


@dataclass
class Runtime:
    """What `every` uses of a service's runtime."""

    sessions: SessionFactory


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> CapturingLogger:
    """What the loop and the wait for the database log. Their own loggers, not
    structlog's capture_logs: a logger cached under another test's configuration would
    slip past that."""
    logger = CapturingLogger()
    monkeypatch.setattr(shared.runtime, "log", logger)
    monkeypatch.setattr(shared.db, "log", logger)
    return logger


def _events(logs: CapturingLogger) -> list[str]:
    return [call.args[0] for call in logs.calls]


@pytest.fixture
async def runtime(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    monkeypatch.setattr(shared.db, "DATABASE_WAIT_SECONDS", 0.2)
    engine = create_engine(database_url)
    yield Runtime(session_factory(engine))
    await engine.dispose()


async def _running(job_runs: list[str], runtime: Runtime, job_name: str) -> asyncio.Task[None]:
    async def job(runtime: ServiceRuntime) -> None:
        async with runtime.sessions() as session:
            await session.execute(text("SELECT 1"))
        job_runs.append(job_name)

    job.__name__ = job_name
    return asyncio.create_task(every(A_LONG_TIME, job)(runtime))  # type: ignore[arg-type]


def _ran(runs: list[str]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(runs)

    return check


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_job_that_finds_the_database_away_runs_as_soon_as_it_is_back(
    runtime: Runtime, database_url: str, logs: CapturingLogger
) -> None:
    runs: list[str] = []
    with database_away(database_url):
        task = await _running(runs, runtime, "raise_overdue")
        await asyncio.sleep(1.5)
        assert runs == []
    try:
        await wait_until(_ran(runs))  # not an hour later
        assert runs == ["raise_overdue"]
        assert "database_waiting" in _events(logs)
        assert "scheduled_job_failed" not in _events(logs)
    finally:
        await _stop(task)


async def test_a_job_failing_while_the_database_answers_waits_for_its_next_round(
    runtime: Runtime, logs: CapturingLogger
) -> None:
    """A database error that is the job's own (a missing table, a full disk) must not turn
    the wait for the database into a loop that never sleeps."""
    attempts: list[int] = []

    async def broken(runtime: ServiceRuntime) -> None:
        attempts.append(1)
        raise OperationalError("SELECT * FROM gone", None, Exception("no such table: gone"))

    task = asyncio.create_task(every(A_LONG_TIME, broken)(runtime))  # type: ignore[arg-type]
    try:
        await asyncio.sleep(1)
        assert len(attempts) == 1
        assert _events(logs) == ["scheduled_job_failed"]
    finally:
        await _stop(task)
