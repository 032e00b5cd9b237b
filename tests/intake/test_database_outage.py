"""Intake while its database is away: the desk gets a 503 that says nothing was saved,
never a 500, and the registration sent again once it is back is stored once."""

import pytest

from tests.intake.conftest import Intake
from tests.outage import database_away
from tests.users import PASSWORD

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
