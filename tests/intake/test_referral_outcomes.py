"""Intake hears referral's outcomes over NATS: a case sent back comes to the village's queue,
a closed case is closed, and closing frees the citizen to bring the same need again."""

import asyncio
from typing import Any

from tests.events import case_closed, publish, referral_updated
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
