"""Intake hears referral's outcomes over NATS: a case sent back comes to the village's queue,
a closed case is closed (freeing the citizen to bring the same need again), and the citizen
rates it or, within 30 days, reopens it from the status page."""

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from services.intake import handlers
from services.intake.models import Case
from shared.contracts import ProposalUpdated, ReferralCreated, VisitUpdated
from tests.events import case_closed, case_verified, envelope, publish, referral_updated
from tests.intake.conftest import Intake


async def _until(intake: Intake, url: str, done: Any) -> dict[str, Any]:
    for _ in range(200):
        case: dict[str, Any] = (await intake.get(url)).json()
        if done(case):
            return case
        await asyncio.sleep(0.05)
    raise AssertionError("intake did not apply the event")


async def test_a_rejection_to_correct_puts_the_case_back_in_the_village_queue(
    intake: Intake,
) -> None:
    case = (await intake.register()).json()
    returned = referral_updated(
        case["id"],
        "rejected",
        command="reject",
        rejection_reason="data_mismatch",
        rejection_label="Data tidak sesuai dengan Dukcapil",
        returns_to_village=True,
        note="tanggal lahir beda",
    )
    await publish(intake.runtime.settings.nats_url, returned)
    found = await _until(intake, case["url"], lambda c: c["status"] == "needs_correction")
    assert found["stage"] == "village"
    step = found["timeline"][-1]
    assert step["step"] == "Dikembalikan ke desa"
    assert "Data tidak sesuai dengan Dukcapil" in step["note"] and "tanggal lahir" in step["note"]


async def test_a_closed_case_is_closed_and_the_same_need_may_be_registered_again(
    intake: Intake,
) -> None:
    case = (await intake.register()).json()
    duplicate = await intake.register()
    assert duplicate.status_code == 409
    await publish(intake.runtime.settings.nats_url, referral_updated(case["id"], "accepted"))
    await publish(intake.runtime.settings.nats_url, case_closed(case["id"]))
    found = await _until(intake, case["url"], lambda c: len(c["timeline"]) == 3)
    assert found["status"] == "closed"
    steps = [s["step"] for s in found["timeline"]]
    assert steps[1:] == ["Rujukan: accepted", "Kasus selesai"]
    again = await intake.register()
    assert again.status_code == 201, again.text


async def _closed_case(intake: Intake) -> dict[str, Any]:
    case = (await intake.register()).json()
    await publish(intake.runtime.settings.nats_url, case_closed(case["id"]))
    await _until(intake, case["url"], lambda c: c["status"] == "closed")
    return case


def _citizen(case: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"registration_number": case["registration_number"], "birth_date": "1985-07-05"} | extra


async def test_the_citizen_rates_a_closed_case_once(intake: Intake) -> None:
    open_case = (await intake.register(category="pkh")).json()
    early = await intake.client.post("/api/status/rating", json=_citizen(open_case, rating=5))
    assert early.status_code == 409
    case = await _closed_case(intake)
    wrong_birth = _citizen(case, rating=4) | {"birth_date": "1990-01-01"}
    assert (await intake.client.post("/api/status/rating", json=wrong_birth)).status_code == 404
    rated = await intake.client.post(
        "/api/status/rating", json=_citizen(case, rating=4, comment="cepat, terima kasih")
    )
    assert rated.status_code == 200, rated.text
    assert (rated.json()["rating"], rated.json()["may_rate"]) == (4, False)
    again = await intake.client.post("/api/status/rating", json=_citizen(case, rating=1))
    assert again.status_code == 409
    timeline = (await intake.get(case["url"])).json()["timeline"]
    assert timeline[-1]["note"] == "Nilai 4 dari 5: cepat, terima kasih"


async def test_the_citizen_reopens_within_30_days_and_not_after(intake: Intake) -> None:
    case = await _closed_case(intake)
    status = await intake.client.get(
        "/api/status",
        params={"registration_number": case["registration_number"], "birth_date": "1985-07-05"},
    )
    assert status.json()["may_reopen_until"] is not None
    reopened = await intake.client.post(
        "/api/status/reopen", json=_citizen(case, reason="kartu KIS belum saya terima")
    )
    assert reopened.status_code == 200, reopened.text
    found = (await intake.get(case["url"])).json()
    assert (found["status"], found["stage"]) == ("verified", "village")
    assert found["timeline"][-1]["step"] == "Dibuka kembali oleh warga"
    assert found["timeline"][1]["step"] == "Kasus selesai"  # its history stays
    raised = json.loads((await intake.outbox())[-1].payload)
    assert (raised["type"], raised["reason"]) == ("case.reopened", "kartu KIS belum saya terima")
    assert raised["actor"]["role"] == "citizen"

    async with intake.runtime.sessions() as session:
        stored = await session.get(Case, UUID(case["id"]))
        assert stored is not None
        stored.status, stored.closed_at = "closed", datetime.now(UTC) - timedelta(days=31)
        session.add(stored)
        await session.commit()
    refused = await intake.client.post(
        "/api/status/reopen", json=_citizen(case, reason="masih belum terima kartu")
    )
    assert refused.status_code == 409
    assert "30 hari" in refused.json()["message"]


async def test_a_proposal_that_moved_to_next_month_says_why_on_the_case(intake: Intake) -> None:
    case = (await intake.register()).json()
    moved = ProposalUpdated(
        **envelope(UUID(case["id"])),
        proposal_id=uuid4(),
        program="PBI-JK",
        kind_label="Reaktivasi",
        status="draf",
        status_label="Draf, menunggu musyawarah desa",
        batch="Usulan PBI-JK (sudah di DTKS), 01–11 Desember 2026",
        note="Jadwal ... November 2026 sudah tutup; usulan pindah ke jadwal Desember 2026.",
    )
    await publish(intake.runtime.settings.nats_url, moved)
    found = await _until(intake, case["url"], lambda c: len(c["timeline"]) == 2)
    step = found["timeline"][-1]
    assert step["step"] == "Usulan PBI-JK: Draf, menunggu musyawarah desa"
    assert "01–11 Desember 2026" in step["note"] and "sudah tutup" in step["note"]
    assert found["status"] == case["status"]  # a proposal's step does not move the case


async def test_a_home_visit_is_on_the_case_when_assigned_and_when_done(intake: Intake) -> None:
    case = (await intake.register()).json()
    visit = {"visit_id": uuid4(), "due_on": date(2026, 12, 1)}
    assigned = VisitUpdated(**envelope(UUID(case["id"])), **visit)
    await publish(intake.runtime.settings.nats_url, assigned)
    done = VisitUpdated(
        **envelope(UUID(case["id"])), **visit, visited_on=date(2026, 11, 27),
        verdict_label="Kondisi sesuai: layak diusulkan",
    )  # fmt: skip
    await publish(intake.runtime.settings.nats_url, done)
    found = await _until(intake, case["url"], lambda c: len(c["timeline"]) == 3)
    steps = [(s["step"], s["note"]) for s in found["timeline"][1:]]
    assert steps == [
        (
            "Kunjungan rumah dijadwalkan",
            "Kasun atau TKSK datang ke rumah paling lambat 01-12-2026.",
        ),
        ("Kunjungan rumah dilakukan", "Dikunjungi 27-11-2026: Kondisi sesuai: layak diusulkan."),
    ]


async def test_two_events_of_a_case_applied_at_once_both_move_it(intake: Intake) -> None:
    """Verval's verdict and referral's referral consumed together: the referral, applied
    second, must start from the verdict, not from a status read before it was committed
    (PostgreSQL's lost update; SQLite takes its write lock at the start)."""
    case_id = UUID((await intake.register()).json()["id"])
    referred = ReferralCreated(
        **envelope(case_id), referral_id=uuid4(), destination="bpjs_dinkes",
        destination_name="BPJS Kesehatan / Dinas Kesehatan",
    )  # fmt: skip

    async def refer() -> None:
        async with intake.runtime.sessions() as session:
            await handlers.on_referral_created(session, referred)
            await session.commit()

    async with intake.runtime.sessions() as first:
        await handlers.on_case_verified(first, case_verified(case_id))
        second = asyncio.create_task(refer())
        await asyncio.sleep(0.5)  # the referral's transaction is under way meanwhile
        await first.commit()
    await second
    async with intake.runtime.sessions() as session:
        case = await session.get(Case, case_id)
    assert case is not None and case.status == "referred"
