"""The desk's pre-check: intake asks verval over NATS request/reply while the citizen waits;
when verval is away the desk still registers."""

import asyncio
import csv
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg

from services.verval.app import create_app
from services.verval.settings import Settings
from shared.contracts import PRECHECK_SUBJECT
from slrt.natsserver import NatsServer
from tests.intake.conftest import Intake, running_intake
from tests.verval.conftest import load_district, registry_engine


@pytest.fixture
async def intake(
    provisioned_nats: NatsServer, databases: object, tmp_path: Path
) -> AsyncIterator[Intake]:
    url = databases.new("intake")  # type: ignore[attr-defined]
    async for running in running_intake(provisioned_nats.url, url, tmp_path / "intake"):
        await running.runtime.broker_connected.wait()  # else it registers without asking
        yield running


@pytest.fixture
async def verval_running(
    provisioned_nats: NatsServer,
    databases: object,
    district: Path,
    tmp_path: Path,
) -> AsyncIterator[None]:
    url = databases.new("verval")  # type: ignore[attr-defined]
    load_district(registry_engine(url), district)
    settings = Settings(
        nats_url=provisioned_nats.url, database_url=url, var_dir=tmp_path, log_json=False
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await app.state.runtime.broker_connected.wait()
        yield


def _dtks_person(district: Path) -> dict[str, str]:
    with (district / "dtks.csv").open() as handle:
        nik = next(csv.DictReader(handle))["nik"]
    with (district / "civil.csv").open() as handle:
        return next(r for r in csv.DictReader(handle) if r["nik"] == nik)


async def test_the_desk_hears_dtks_programs_and_the_window_before_registering(
    intake: Intake,
    verval_running: None,
    district: Path,
) -> None:
    person = _dtks_person(district)
    answer = await intake.client.post(
        "/api/precheck",
        json={"nik": person["nik"], "category": "dtks_pendaftaran"},
        headers=await intake.auth("fo-sumber"),
    )
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert reply["in_dtks"] is True and reply["registry_loaded"] is True
    assert reply["advice"][0].startswith("Sudah terdaftar di DTKS")
    assert reply["window"]["name"].startswith("Usulan DTKS")


async def test_registration_keeps_the_answer_on_the_case(
    intake: Intake, verval_running: None
) -> None:
    created = await intake.register(headers={"Idempotency-Key": "desk-1"})
    assert created.status_code == 201
    assert created.json()["precheck"]["registry_loaded"] is True
    page = (await intake.get(created.json()["url"])).json()
    assert page["precheck"] == created.json()["precheck"]
    again = await intake.register(headers={"Idempotency-Key": "desk-1"})  # a retried submit
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert again.json()["precheck"] == created.json()["precheck"]  # the answer kept


async def test_without_verval_the_desk_is_told_and_still_registers(intake: Intake) -> None:
    answer = await intake.client.post(
        "/api/precheck",
        json={"nik": "3317014507850001", "category": "pkh"},
        headers=await intake.auth("fo-sumber"),
    )
    assert answer.status_code == 503
    assert "tetap dapat didaftarkan" in answer.json()["message"]
    created = await intake.register()
    assert created.status_code == 201 and created.json()["precheck"] is None
    bad = await intake.client.post(
        "/api/precheck",
        json={"nik": "123", "category": "pkh"},
        headers=await intake.auth("fo-sumber"),
    )
    assert bad.status_code == 422


async def test_a_slow_verval_holds_up_only_the_desk_waiting_for_it(
    intake: Intake, provisioned_nats: NatsServer
) -> None:
    """The desk's sign-in check reads the database; the wait for verval must not hold it
    (SQLite has one connection per service: every other desk would wait too)."""
    connection = await nats.connect(provisioned_nats.url)

    async def answer_slowly(msg: Msg) -> None:
        await asyncio.sleep(1.0)
        await msg.respond(b"{}")

    await connection.subscribe(PRECHECK_SUBJECT, queue="verval", cb=answer_slowly)
    try:
        headers = await intake.auth("fo-sumber")
        asking = asyncio.create_task(
            intake.client.post(
                "/api/precheck",
                json={"nik": "3317014507850001", "category": "pkh"},
                headers=headers,
            )
        )
        await asyncio.sleep(0.3)  # the desk is waiting for verval now
        listed = await intake.client.get("/api/cases", headers=headers)
        assert listed.status_code == 200
        assert not asking.done()  # the other desk's list did not wait for verval's answer
        assert (await asking).status_code == 503  # an answer intake cannot read
    finally:
        await connection.close()
