"""The citizen's status lookup: the right pair answers, nothing personal shows, guesses slow."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services.intake.app import create_app
from services.intake.domain import retry_after
from services.intake.service import STATUS_LOOKUPS_PER_MINUTE
from services.intake.settings import Settings
from tests.intake.conftest import SITI, Intake


async def test_number_and_birth_date_give_status_and_next_step_without_personal_data(
    intake: Intake,
) -> None:
    number = (await intake.register()).json()["registration_number"]
    found = await intake.client.get(
        "/api/status", params={"registration_number": number, "birth_date": SITI["birth_date"]}
    )
    assert found.status_code == 200
    body = found.json()
    assert body["status"] == "registered" and "Tidak perlu datang lagi" in body["next_step"]
    for personal in (SITI["name"], SITI["nik"], "812", "nik", "name"):
        assert personal not in found.text


async def test_a_wrong_birth_date_answers_like_an_unknown_number(intake: Intake) -> None:
    number = (await intake.register()).json()["registration_number"]
    wrong = await intake.client.get(
        "/api/status", params={"registration_number": number, "birth_date": "1985-07-06"}
    )
    unknown = await intake.client.get(
        "/api/status",
        params={"registration_number": "3317012001-2611-9999", "birth_date": "1985-07-05"},
    )
    assert wrong.status_code == unknown.status_code == 404
    assert (
        wrong.json()
        == unknown.json()
        == {"message": "Nomor registrasi atau tanggal lahir tidak cocok."}
    )


async def test_guessing_numbers_is_cut_off_with_a_readable_429(intake: Intake) -> None:
    params = {"registration_number": "3317012001-2611-0001", "birth_date": "1985-07-05"}
    answers = [
        (await intake.client.get("/api/status", params=params)).status_code
        for _ in range(STATUS_LOOKUPS_PER_MINUTE + 1)
    ]
    assert answers[:-1] == [404] * STATUS_LOOKUPS_PER_MINUTE
    refused = await intake.client.get("/status", params=params)  # the page shares the limit
    assert refused.status_code == 429
    assert "Terlalu banyak percobaan" in refused.text


async def test_the_status_page_shows_the_next_step(intake: Intake) -> None:
    number = (await intake.register()).json()["registration_number"]
    page = await intake.client.get(
        "/status", params={"registration_number": number, "birth_date": "1985-07-05"}
    )
    assert page.status_code == 200
    assert "Langkah berikutnya" in page.text and SITI["name"] not in page.text


@pytest.mark.parametrize("elapsed", [59.9, 60.0])
def test_limiter_window_slides(elapsed: float) -> None:
    start = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    window = timedelta(seconds=60)
    two = [start, start]
    assert retry_after(two[:1], start, limit=2, window=window) == 0
    assert retry_after(two, start, limit=2, window=window) == pytest.approx(60)
    later = start + timedelta(seconds=elapsed)
    assert (retry_after(two, later, limit=2, window=window) == 0) is (elapsed >= 60)


async def test_the_count_is_shared_by_every_intake_instance(intake: Intake, tmp_path: Path) -> None:
    """A second intake process on the same database sees the first one's look-ups."""
    params = {"registration_number": "3317012001-2611-9999", "birth_date": "1985-07-05"}
    for _ in range(STATUS_LOOKUPS_PER_MINUTE):
        assert (await intake.client.get("/api/status", params=params)).status_code == 404
    first = intake.runtime.settings
    other = create_app(
        Settings(
            nats_url=first.nats_url,
            database_url=first.effective_database_url,
            var_dir=tmp_path / "other",
            log_json=False,
        )
    )
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake-2") as client:
            refused = await client.get("/api/status", params=params)
    assert refused.status_code == 429
