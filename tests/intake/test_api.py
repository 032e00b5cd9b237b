"""Intake's registration API: numbers, refusals with readable messages, duplicates, retries."""

import json
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from tests.conftest import refused_port
from tests.intake.conftest import SITI, Intake, running_intake


async def test_registration_returns_number_and_the_case_shows_its_first_step(
    intake: Intake,
) -> None:
    response = await intake.register()
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["registration_number"].startswith("3317012001-")
    assert body["registration_number"].endswith("-0001")
    case = (await intake.get(body["url"])).json()
    assert case["status"] == "registered"
    assert case["nik_masked"] == "331701******0001"
    assert "3317014507850001" not in str(case)
    assert [step["step"] for step in case["timeline"]] == ["Kasus didaftarkan"]
    [row] = await intake.outbox()
    assert row.event_type == "case.registered"
    assert row.subject == "slrt.case.registered.3317.331701.3317012001"
    assert (await intake.cases())[0].phone == "+6281234567890"


async def test_the_birth_place_goes_to_verval_with_the_person(intake: Intake) -> None:
    response = await intake.register(birth_place="  Kab.  Rembang ")
    assert response.status_code == 201, response.text
    [row] = await intake.outbox()
    assert json.loads(row.payload)["person"]["birth_place"] == "Kab. Rembang"
    too_long = await intake.register(birth_place="R" * 61, category="rtlh")
    assert too_long.status_code == 422 and "birth_place" in too_long.text


async def test_sequence_counts_per_desa(intake: Intake) -> None:
    first = (await intake.register()).json()["registration_number"]
    second = (await intake.register(category="rtlh")).json()["registration_number"]
    other_desa = (
        await intake.register(as_user="fo-lasem", category="pkh", desa_code="33.17.14.2008")
    ).json()
    assert first.endswith("-0001") and second.endswith("-0002")
    assert other_desa["registration_number"].startswith("3317142008-")
    assert other_desa["registration_number"].endswith("-0001")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"nik": "12345"}, "nik", "NIK harus 16 angka"),
        ({"nik": "3317013507850001"}, "nik", "tanggal lahir"),
        ({"birth_date": "1985-07-06"}, "permintaan", "tidak sesuai dengan NIK"),
        ({"sex": "L"}, "permintaan", "jenis kelamin tidak sesuai"),
        ({"phone": "12345"}, "phone", "nomor HP tidak valid"),
        ({"category": "bansos"}, "category", "pilihan tidak dikenal"),
        ({"birth_date": "05-07-1985"}, "birth_date", "format TTTT-BB-HH"),
        ({"name": None}, "name", "harus berupa teks"),
    ],
)
async def test_bad_input_is_refused_with_a_readable_message(
    intake: Intake, changes: dict[str, Any], field: str, words: str
) -> None:
    response = await intake.register(**changes)
    assert response.status_code == 422
    body = response.json()
    assert words in body["message"]
    assert any(e["field"] == field and words in e["message"] for e in body["errors"])
    assert await intake.cases() == []


async def test_unknown_desa_codes_are_refused_by_name(intake: Intake) -> None:
    for code, words in (("33.17.99.2001", "tidak dikenal"), ("33.17.01", "bukan kode desa")):
        response = await intake.register(as_user="sekretariat", desa_code=code)
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "desa_code", "message": ANY}]
        assert words in response.json()["message"]


async def test_missing_fields_are_named(intake: Intake) -> None:
    response = await intake.client.post(
        "/api/cases", json={"nik": SITI["nik"]}, headers=await intake.auth("fo-sumber")
    )
    assert response.status_code == 422
    missing = {e["field"] for e in response.json()["errors"] if e["message"] == "wajib diisi"}
    assert missing == {
        "name",
        "birth_date",
        "sex",
        "desa_code",
        "category",
        "description",
        "kk",
        "address",
        "rt",
        "rw",
    }


async def test_malformed_json_is_a_422_not_a_500(intake: Intake) -> None:
    headers = {"content-type": "application/json"} | await intake.auth("fo-sumber")
    response = await intake.client.post("/api/cases", content=b"{nik:", headers=headers)
    assert response.status_code == 422
    assert "JSON tidak valid" in response.json()["message"]


async def test_second_open_case_of_same_category_is_refused_with_a_link(intake: Intake) -> None:
    first = (await intake.register()).json()
    again = await intake.register(description="datang lagi menanyakan KIS")
    assert again.status_code == 409
    assert again.json()["url"] == first["url"]
    assert first["registration_number"] in again.json()["message"]
    assert (await intake.register(category="pkh")).status_code == 201


async def test_retried_submit_with_the_same_key_creates_one_case(intake: Intake) -> None:
    key = {"Idempotency-Key": "tablet-7:draft-42"}
    first = await intake.register(headers=key)
    retried = await intake.register(headers=key)
    assert (first.status_code, retried.status_code) == (201, 200)
    assert retried.json()["id"] == first.json()["id"]
    assert len(await intake.cases()) == 1
    assert len(await intake.outbox()) == 1


async def test_unknown_case_is_404_with_a_message(intake: Intake) -> None:
    response = await intake.get("/api/cases/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["message"] == "Kasus tidak ditemukan"


async def test_registration_works_with_no_broker_at_all(database_url: str, tmp_path: Path) -> None:
    with refused_port() as port:
        async for intake in running_intake(f"nats://127.0.0.1:{port}", database_url, tmp_path):
            response = await intake.register()
            assert response.status_code == 201
            assert [row.published_at for row in await intake.outbox()] == [None]
            ready = await intake.client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"] == {"database": True, "nats": False}


async def test_the_callers_trace_id_travels_with_the_event(intake: Intake) -> None:
    response = await intake.register(headers={"X-Trace-Id": "desk-3-trace-77"})
    assert response.headers["X-Trace-Id"] == "desk-3-trace-77"
    [row] = await intake.outbox()
    assert row.trace_id == "desk-3-trace-77"
    untraced = await intake.register(category="pkh")
    assert len(untraced.headers["X-Trace-Id"]) == 32


async def test_a_trace_id_holding_a_phone_number_is_replaced(intake: Intake) -> None:
    # It would travel in clear in the event and the headers, where logs only mask it.
    response = await intake.register(headers={"X-Trace-Id": "hp-081234567890"})
    trace_id = response.headers["X-Trace-Id"]
    assert len(trace_id) == 32 and "081234567890" not in trace_id
    [row] = await intake.outbox()
    assert row.trace_id == trace_id


async def test_consent_is_recorded_with_who_and_when_and_travels_with_the_event(
    intake: Intake,
) -> None:
    with_consent = (await intake.register(as_user="bo-sumber", consent_to_share=True)).json()
    without = (await intake.register(category="pkh")).json()
    shown = (await intake.get(with_consent["url"])).json()
    assert shown["consent_to_share"] is True
    assert shown["consent_recorded_by"] == "bo-sumber" and shown["consent_recorded_at"]
    assert (await intake.get(without["url"])).json()["consent_recorded_by"] is None
    payloads = [row.payload for row in await intake.outbox()]
    assert ['"consent_to_share":true' in p for p in payloads] == [True, False]


async def test_household_economics_are_kept_for_the_back_office(intake: Intake) -> None:
    household = {
        "household_size": 5,
        "working_members": 1,
        "monthly_income": 750000,
        "floor_type": "tanah",
        "electricity": "menumpang",
        "citizen_account": "Suami buruh tani harian, musim kemarau tidak ada kerja",
    }
    created = (await intake.register(**household)).json()
    shown = (await intake.get(created["url"])).json()
    assert shown["household"] == household
    too_many = await intake.register(category="pkh", household_size=2, working_members=3)
    assert too_many.status_code == 422
    assert "melebihi jumlah anggota keluarga" in too_many.json()["message"]
    bad_floor = await intake.register(category="pkh", floor_type="marmer")
    assert bad_floor.status_code == 422
    assert bad_floor.json()["errors"][0]["field"] == "floor_type"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"kk": "33170102030400"}, "kk", "Nomor KK harus 16 angka"),
        ({"kk": "9917010203040005"}, "kk", "kode wilayah"),
        ({"kk": "3317013213040005"}, "kk", "tanggal terbit"),
        ({"rt": "RT3"}, "rt", "harus angka"),
        ({"rw": "1234"}, "rw", "paling banyak 3 digit"),
    ],
)
async def test_kk_and_address_are_checked(
    intake: Intake, changes: dict[str, Any], field: str, words: str
) -> None:
    response = await intake.register(**changes)
    assert response.status_code == 422
    assert any(e["field"] == field and words in e["message"] for e in response.json()["errors"])


async def test_address_is_kept_down_to_rt_rw_and_dusun(intake: Intake) -> None:
    case = (await intake.get((await intake.register()).json()["url"])).json()
    assert (case["address"], case["rt"], case["rw"], case["dusun"]) == (
        "Dukuh Krajan No. 12",
        "003",
        "001",
        "Krajan",
    )
    assert case["kk_masked"] == "331701******0005"
    [row] = await intake.outbox()
    assert '"kk":"3317010203040005"' in row.payload  # verval needs the household
