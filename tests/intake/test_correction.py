"""Correcting a person's identity after Dukcapil found it wrong: checked like a registration,
recorded by field name only, and sent to verval again as `case.updated`."""

import json
from typing import Any

from tests.intake.conftest import SITI, Intake
from tests.users import PASSWORD

SITI_IDENTITY = {
    "nik": "3317014507850001",
    "kk": "3317010203040005",
    "name": "Siti Aminah",
    "birth_date": "1985-07-05",
    "sex": "P",
}


async def _correct(
    intake: Intake, case: dict[str, Any], as_user: str = "bo-sumber", **changes: Any
) -> Any:
    body = SITI_IDENTITY | {"note": "sesuai KTP elektronik yang dibawa warga"} | changes
    return await intake.client.post(
        f"{case['url']}/identity", json=body, headers=await intake.auth(as_user)
    )


async def test_a_corrected_name_is_checked_again(intake: Intake) -> None:
    case = (await intake.register()).json()
    corrected = await _correct(intake, case, name="Siti  Aminah Rahayu")
    assert corrected.status_code == 200, corrected.text
    found = corrected.json()
    assert found["name"] == "Siti Aminah Rahayu" and found["status"] == "registered"
    step = found["timeline"][-1]
    assert step["step"] == "Data identitas dikoreksi" and step["note"].startswith("nama: ")
    events = [json.loads(row.payload) for row in await intake.outbox()]
    (updated,) = [e for e in events if e["type"] == "case.updated"]
    assert updated["changed"] == ["name"] and updated["person"]["name"] == "Siti Aminah Rahayu"
    assert "Siti Aminah Rahayu" not in step["note"]  # the timeline names fields, not values


async def test_refusals_say_why(intake: Intake) -> None:
    case = (await intake.register()).json()
    same = await _correct(intake, case)
    assert same.status_code == 422 and same.json()["message"] == "Tidak ada data yang berubah."
    disagrees = await _correct(intake, case, birth_date="1985-07-06")
    assert disagrees.status_code == 422 and "tidak sesuai dengan NIK" in disagrees.json()["message"]
    elsewhere = await _correct(intake, case, as_user="fo-lasem", name="Siti A")
    assert elsewhere.status_code == 404
    supervisor = await _correct(intake, case, as_user="sup-sumber", name="Siti A")
    assert supervisor.status_code == 403


async def test_the_case_page_corrects_and_explains_a_refusal(intake: Intake) -> None:
    case = (await intake.register()).json()
    page = f"/kasus/{case['id']}"
    signed = await intake.client.post(
        "/masuk", data={"username": "bo-sumber", "password": PASSWORD}
    )
    assert signed.status_code == 303
    form = SITI_IDENTITY | {"name": "Siti Aminah Rahayu", "note": "sesuai KTP elektronik"}
    done = await intake.client.post(f"{page}/identitas", data=form)
    assert (done.status_code, done.headers["location"]) == (303, page)
    bad = await intake.client.post(f"{page}/identitas", data=form | {"birth_date": "1985-07-06"})
    shown = await intake.client.get(bad.headers["location"])
    assert "tidak sesuai dengan NIK" in shown.text
    assert "Data identitas dikoreksi" in (await intake.client.get(page)).text
    intake.client.cookies.clear()


SITI_DETAILS = {key: SITI[key] for key in ("phone", "description", "address", "rt", "rw", "dusun")}


async def _correct_details(
    intake: Intake, case: dict[str, Any], as_user: str = "bo-sumber", **changes: Any
) -> Any:
    body = SITI_DETAILS | {"note": "warga ganti nomor HP"} | changes
    return await intake.client.post(
        f"{case['url']}/details", json=body, headers=await intake.auth(as_user)
    )


async def test_a_new_number_and_channel_reach_notify_and_the_timeline_names_only_fields(
    intake: Intake,
) -> None:
    case = (await intake.register()).json()
    corrected = await _correct_details(intake, case, phone="0857 1111 2222", contact="whatsapp")
    assert corrected.status_code == 200, corrected.text
    step = corrected.json()["timeline"][-1]
    assert step["step"] == "Data kasus dikoreksi"
    assert step["note"] == "nomor HP, cara dikabari: warga ganti nomor HP"
    events = [json.loads(row.payload) for row in await intake.outbox()]
    (changed,) = [e for e in events if e["type"] == "case.contact_changed"]
    assert (changed["phone"], changed["contact"]) == ("+6285711112222", "whatsapp")
    audit = (await intake.get(f"{case['url']}/audit", as_user="admin")).json()
    assert any(a["action"] == "koreksi_data" for a in audit)


async def test_other_details_change_without_telling_notify(intake: Intake) -> None:
    case = (await intake.register()).json()
    moved = await _correct_details(intake, case, address="Dukuh Sawah No. 3", rt="7")
    assert moved.status_code == 200, moved.text
    assert moved.json()["address"] == "Dukuh Sawah No. 3" and moved.json()["rt"] == "007"
    assert [row.event_type for row in await intake.outbox()] == ["case.registered"]


async def test_refused_corrections_say_why(intake: Intake) -> None:
    case = (await intake.register()).json()
    same = await _correct_details(intake, case)
    assert same.status_code == 422 and "Tidak ada data yang berubah" in same.json()["message"]
    bad_rt = await _correct_details(intake, case, rt="tiga")
    assert bad_rt.status_code == 422 and "rt" in bad_rt.json()["message"]
    no_phone = await _correct_details(intake, case, phone=None, contact="sms")
    assert no_phone.status_code == 422 and "isi nomor HP" in no_phone.json()["message"]
    elsewhere = await _correct_details(intake, case, as_user="fo-lasem", address="Jl. Lain 1")
    assert elsewhere.status_code == 404
