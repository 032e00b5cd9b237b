"""Intake while its database is away: the desk gets a 503 that says nothing was saved,
never a 500, and the registration sent again once it is back is stored once; a village
edge records the district's receipts once it can; a service started meanwhile waits."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from faststream.nats import NatsBroker
from nats.js.api import StreamConfig

from services.intake.uplink import keep_receipts
from shared.contracts import SUBJECT_ROOT
from shared.db import SessionFactory, create_engine, create_tables, session_factory
from shared.edge import DISTRICT_STREAM, uplink_consumer
from shared.outbox import OutboxMessage, add_event, not_arrived_count
from shared.runtime import RUNTIME_TABLES
from slrt.natsserver import NatsServer
from tests.events import case_registered
from tests.intake.conftest import Intake, running_intake
from tests.outage import database_away, fill_to_the_page_limit, set_page_limit
from tests.users import PASSWORD
from tests.waiting import wait_until

pytestmark = pytest.mark.usefixtures("short_sqlite_wait")


async def test_a_registration_refused_while_the_database_is_away_is_saved_when_sent_again(
    intake: Intake, database_url: str
) -> None:
    key = {"Idempotency-Key": "desk-sumber-0001"}
    await intake.auth("fo-sumber")  # signed in before the outage
    with database_away(database_url):
        refused = await intake.register(headers=key)
    assert refused.status_code == 503
    assert refused.json()["message"].startswith("Basis data layanan sedang tidak dapat dihubungi")
    assert refused.headers["Retry-After"] == "30"
    assert await intake.cases() == []
    saved = await intake.register(headers=key)
    again = await intake.register(headers=key)
    assert (saved.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == saved.json()["id"]
    assert len(await intake.cases()) == 1


def _published_outbox_row() -> OutboxMessage:
    """A filler the relay leaves alone: published long ago."""
    return OutboxMessage(
        event_id=uuid4(),
        event_type="filler",
        subject="slrt.filler",
        payload="{}",
        trace_id="filler",
        published_at=datetime.now(UTC),
    )


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
async def test_a_registration_refused_while_the_disk_is_full_is_saved_when_sent_again(
    intake: Intake,
) -> None:
    """A village office's disk fills up: the desk hears nothing was saved, not a 500.
    SQLite only: PostgreSQL's full disk cannot be made here without filling the machine's
    (its error is told apart in tests/shared/test_db.py)."""
    key = {"Idempotency-Key": "desk-sumber-0002"}
    await intake.auth("fo-sumber")
    await fill_to_the_page_limit(intake.runtime.sessions, _published_outbox_row)
    refused = await intake.register(headers=key)
    assert refused.status_code == 503
    assert refused.json()["message"].startswith("Basis data layanan sedang tidak dapat dihubungi")
    assert await intake.cases() == []
    await set_page_limit(intake.runtime.sessions, 1_000_000)  # space freed
    saved = await intake.register(headers=key)
    assert saved.status_code == 201
    assert len(await intake.cases()) == 1


async def test_a_page_opened_while_the_database_is_away_says_so_in_a_page(
    intake: Intake, database_url: str
) -> None:
    credentials = {"username": "fo-sumber", "password": PASSWORD}
    signed = await intake.client.post("/masuk", data=credentials)
    assert signed.status_code == 303
    with database_away(database_url):
        page = await intake.client.get("/kasus", headers={"Accept": "text/html"})
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "Layanan sedang terganggu" in page.text
    assert "data belum tersimpan" in page.text
    assert (await intake.client.get("/kasus", headers={"Accept": "text/html"})).status_code == 200


@dataclass
class EdgeRuntime:
    """What `keep_receipts` uses of a village intake's runtime."""

    sessions: SessionFactory
    broker: NatsBroker
    broker_connected: asyncio.Event


async def test_uplink_receipts_that_come_while_the_database_is_away_are_recorded_later(
    nats_server: NatsServer, database_url: str
) -> None:
    """At a village edge the district's copies of the village's events are receipts for its
    outbox rows; the pages count the rows without one as not yet at the district."""
    engine = create_engine(database_url)
    await create_tables(engine, RUNTIME_TABLES)
    runtime = EdgeRuntime(session_factory(engine), NatsBroker(nats_server.url), asyncio.Event())
    events = [case_registered() for _ in range(3)]
    async with runtime.sessions() as session:
        for event in events:
            add_event(session, event)
        await session.commit()
    await runtime.broker.start()
    runtime.broker_connected.set()
    js = runtime.broker.connection.jetstream()
    # The district's stream as the hub fills it, here published to directly.
    await js.add_stream(StreamConfig(name=DISTRICT_STREAM, subjects=[f"{SUBJECT_ROOT}.>"]))
    await js.add_consumer(DISTRICT_STREAM, uplink_consumer())
    receiving = asyncio.create_task(keep_receipts(runtime))  # type: ignore[arg-type]
    try:
        with database_away(database_url):
            for event in events:
                headers = {"Nats-Msg-Id": str(event.event_id)}
                await js.publish(event.subject(), event.model_dump_json().encode(), headers=headers)
            await asyncio.sleep(2)  # fetched, and not recorded
        await wait_until(lambda: _all_arrived(runtime), timeout=20)
    finally:
        receiving.cancel()
        await asyncio.gather(receiving, return_exceptions=True)
        await runtime.broker.stop()
        await engine.dispose()


async def _all_arrived(runtime: EdgeRuntime) -> bool:
    async with runtime.sessions() as session:
        return await not_arrived_count(session) == 0


async def test_intake_started_while_its_database_is_away_waits_for_it(
    provisioned_nats: NatsServer, database_url: str, tmp_path: Path
) -> None:
    """A machine booting, or PostgreSQL restarting, can start the service first."""
    with database_away(database_url):
        starting = running_intake(provisioned_nats.url, database_url, tmp_path)
        started = asyncio.create_task(anext(starting))
        await asyncio.sleep(2)
        assert not started.done()
    intake = await asyncio.wait_for(started, timeout=30)
    try:
        assert (await intake.register()).status_code == 201
    finally:
        await starting.aclose()
