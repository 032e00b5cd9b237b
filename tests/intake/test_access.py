"""Sign-in, area scope and the audit log: who may do what with which case, and the record."""

import pytest

from tests.intake.conftest import OPERATORS, SITI, Intake
from tests.users import PASSWORD

CASE_DESA = "33.17.01.2001"  # Sumber; registered by fo-sumber in every test below

# For each endpoint, the status each operator gets on a case of CASE_DESA.
MATRIX = {
    "register": {
        "fo-sumber": 201,
        "koor-sumber": 403,
        "kades-sumber": 403,
        "bo-sumber": 201,
        "fo-lasem": 403,
        "sup-sumber": 403,
        "sup-lasem": 403,
        "sekretariat": 201,
        "admin": 403,
    },
    "read": {
        "fo-sumber": 200,
        "koor-sumber": 200,
        "kades-sumber": 200,
        "bo-sumber": 200,
        "fo-lasem": 404,
        "sup-sumber": 200,
        "sup-lasem": 404,
        "sekretariat": 200,
        "admin": 403,
    },
    "list_sees_it": {
        "fo-sumber": True,
        "koor-sumber": True,
        "kades-sumber": True,
        "bo-sumber": True,
        "fo-lasem": False,
        "sup-sumber": True,
        "sup-lasem": False,
        "sekretariat": True,
        "admin": None,
    },
    "audit": {
        "fo-sumber": 403,
        "koor-sumber": 403,
        "kades-sumber": 403,
        "bo-sumber": 403,
        "fo-lasem": 403,
        "sup-sumber": 200,
        "sup-lasem": 404,
        "sekretariat": 200,
        "admin": 200,
    },
}


@pytest.mark.parametrize("username", sorted(OPERATORS))
async def test_access_matrix(intake: Intake, username: str) -> None:
    case = (await intake.register()).json()
    serial = sorted(OPERATORS).index(username) + 2
    registered = await intake.register(
        as_user=username, nik=f"331701010190{serial:04d}", birth_date="1990-01-01", sex="L"
    )
    assert registered.status_code == MATRIX["register"][username], registered.text
    read = await intake.get(f"/api/cases/{case['id']}", as_user=username)
    assert read.status_code == MATRIX["read"][username]
    if read.status_code != 200:
        assert SITI["name"] not in read.text and "nik" not in read.text
    listed = await intake.get("/api/cases", as_user=username)
    expected = MATRIX["list_sees_it"][username]
    if expected is None:
        assert listed.status_code == 403
    else:
        assert listed.status_code == 200
        assert (case["id"] in [c["id"] for c in listed.json()]) is expected
        assert all(c["desa_code"].startswith(OPERATORS[username][1]) for c in listed.json())
        assert "nik" not in listed.text
    audit = await intake.get(f"/api/cases/{case['id']}/audit", as_user=username)
    assert audit.status_code == MATRIX["audit"][username]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/api/cases"),
        ("GET", "/api/cases"),
        ("GET", "/api/cases/00000000-0000-0000-0000-000000000000"),
    ],
)
async def test_nothing_without_signing_in(intake: Intake, method: str, url: str) -> None:
    response = await intake.client.request(method, url, json=SITI)
    assert response.status_code == 401
    assert response.json()["message"] == "Silakan masuk (login) terlebih dahulu."
    forged = await intake.client.request(
        method, url, json=SITI, headers={"Authorization": "Bearer x"}
    )
    assert forged.status_code == 401


async def test_wrong_password_is_refused_without_saying_which_part(intake: Intake) -> None:
    for username in ("fo-sumber", "nobody"):
        response = await intake.client.post(
            "/api/login", json={"username": username, "password": "salah"}
        )
        assert response.status_code == 401
        assert response.json()["message"] == "Nama pengguna atau kata sandi salah."


async def test_the_session_cookie_signs_in_a_browser_and_logout_ends_it(intake: Intake) -> None:
    login = await intake.client.post(
        "/api/login", json={"username": "fo-sumber", "password": PASSWORD}
    )
    assert "httponly" in login.headers["set-cookie"].lower()
    assert (await intake.client.get("/api/cases")).status_code == 200
    assert (await intake.client.post("/api/logout")).status_code == 204
    assert (await intake.client.get("/api/cases")).status_code == 401
    bearer = {"Authorization": f"Bearer {login.json()['token']}"}
    assert (await intake.client.get("/api/cases", headers=bearer)).status_code == 401


async def test_every_read_and_change_is_in_the_audit_trail(intake: Intake) -> None:
    case = (await intake.register()).json()
    await intake.get(
        f"/api/cases/{case['id']}", as_user="bo-sumber", headers={"X-Purpose": "telepon warga"}
    )
    trail = (await intake.get(f"/api/cases/{case['id']}/audit", as_user="sekretariat")).json()
    assert [(e["username"], e["action"], e["purpose"]) for e in trail] == [
        ("fo-sumber", "daftar_kasus", "pendaftaran pengaduan"),
        ("bo-sumber", "baca_kasus", "telepon warga"),
    ]
    assert trail[1]["role"] == "back_office" and trail[1]["area_code"] == CASE_DESA


async def test_events_name_the_operator_who_acted(intake: Intake) -> None:
    await intake.register(as_user="bo-sumber")
    [row] = await intake.outbox()
    assert '"user_id":"bo-sumber","role":"back_office","area_code":"33.17.01.2001"' in row.payload


async def test_case_list_filters_and_search(intake: Intake) -> None:
    first = (await intake.register()).json()
    await intake.register(category="pkh", name="Budi Santoso")
    by_category = (await intake.get("/api/cases", params={"category": "pkh"})).json()
    assert [c["name"] for c in by_category] == ["Budi Santoso"]
    by_number = (await intake.get("/api/cases", params={"q": first["registration_number"]})).json()
    assert [c["id"] for c in by_number] == [first["id"]]
    by_name = (await intake.get("/api/cases", params={"q": "siti"})).json()
    assert [c["id"] for c in by_name] == [first["id"]]
    bad = await intake.get("/api/cases", params={"status": "hilang"})
    assert bad.status_code == 422


def test_matrix_covers_every_operator() -> None:
    assert all(set(row) == set(OPERATORS) for row in MATRIX.values())


async def test_case_list_filters_by_registration_date(intake: Intake) -> None:
    case = (await intake.register()).json()
    around = (
        await intake.get(
            "/api/cases", params={"registered_from": "2000-01-01", "registered_to": "2999-12-31"}
        )
    ).json()
    assert [c["id"] for c in around] == [case["id"]]
    before = (await intake.get("/api/cases", params={"registered_to": "2000-01-01"})).json()
    assert before == []
    assert (
        await intake.get("/api/cases", params={"registered_from": "kemarin"})
    ).status_code == 422
