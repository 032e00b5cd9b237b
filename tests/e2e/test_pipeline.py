"""The four services as real processes on a real nats-server, on SQLite and on PostgreSQL.

One stack per database backend serves every test in this module; tests that stop a part
of it start it again before they end.
"""

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import nats as nats_client
import pytest

from slrt.deadletter import read_dead_letters
from slrt.services import SERVICE_NAMES
from slrt.up import wait_ready
from tests.conftest import PostgresDatabases, database_factory
from tests.e2e.conftest import Stack, eventually, running_services

pytestmark = pytest.mark.e2e

NIK_SITI = "3317014507850001"
PHONE_SITI = "081234567890"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases | None,
) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp(f"stack-{request.param}")
    databases = database_factory(request.param, var_dir, postgres_databases)
    with running_services(list(SERVICE_NAMES), var_dir, databases) as (nats, services):
        yield Stack(nats, services, var_dir)


def register(stack: Stack, **changes: Any) -> dict[str, Any]:
    """Register a case; urgent unless told otherwise, so it goes straight to referral."""
    body = {
        "urgent": True,
        "nik": NIK_SITI,
        "kk": "3317010203040005",
        "address": "Dukuh Krajan No. 12",
        "rt": "3",
        "rw": "1",
        "name": "Siti Aminah",
        "birth_date": "1985-07-05",
        "sex": "P",
        "desa_code": "33.17.01.2001",
        "phone": PHONE_SITI,
        "category": "pbi_reaktivasi",
        "description": "KIS tidak aktif sejak bulan lalu",
    } | changes
    response = httpx.post(
        f"{stack.url('intake')}/api/cases", json=body, headers=stack.auth(), timeout=10
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def completed_case(stack: Stack, case_id: str) -> dict[str, Any] | None:
    """The case once intake heard of every step: verval's, referral's and the three messages
    to the citizen (an urgent case registered near closing time may also be escalated to
    the secretariat head; that message is not counted).

    They arrive on separate consumers in any order (the status can say "referred" before
    verval's step is on the timeline), so the test waits for all of them."""
    url = f"{stack.url('intake')}/api/cases/{case_id}"
    case: dict[str, Any] = httpx.get(url, headers=stack.auth(), timeout=5).json()
    services = [s["service"] for s in case["timeline"] if "kepala sekretariat" not in s["note"]]
    heard_all = services.count("notify") == 3 and {"verval", "referral"} <= set(services)
    return case if case["status"] == "referred" and heard_all else None


def test_a_case_reaches_its_notifications_and_the_timeline_shows_every_step(stack: Stack) -> None:
    created = register(stack)
    case = eventually(lambda: completed_case(stack, created["id"]))
    steps = {(step["service"], step["step"]): step for step in case["timeline"]}
    assert case["timeline"][0]["service"] == "intake"
    assert ("verval", "Verifikasi data selesai") in steps
    assert "BPJS Kesehatan" in steps["referral", "Dirujuk"]["note"]
    told = [s for s in case["timeline"] if s["service"] == "notify" and "ke warga" in s["note"]]
    assert len(told) == 3

    referrals = httpx.get(
        f"{stack.url('referral')}/api/referrals",
        params={"case_id": created["id"]},
        headers=stack.auth(service="referral"),
    ).json()
    assert [r["destination"] for r in referrals] == ["bpjs_dinkes"]
    sent = httpx.get(
        f"{stack.url('notify')}/api/notifications",
        params={"case_id": created["id"]},
        headers=stack.auth(service="notify"),
    ).json()
    assert sorted(n["about_event"] for n in sent if n["recipient_kind"] == "citizen") == [
        "case.registered",
        "case.verified",
        "referral.created",
    ]
    messages = [
        json.loads(line)
        for line in (stack.var_dir / "notify" / "messages.jsonl").read_text().splitlines()
    ]
    mine = [m for m in messages if m["to"] == "+6281234567890"]
    mine = [m for m in mine if created["registration_number"] in m["body"]]
    assert len(mine) == 3


def test_the_trace_id_of_a_registration_reaches_every_services_logs(stack: Stack) -> None:
    body = {"nik": "3317010101900002", "name": "Budi", "birth_date": "1990-01-01", "sex": "L"}
    body |= {"kk": "3317020101100007", "address": "Jl. Pasar 3", "rt": "2", "rw": "4"}
    body |= {"urgent": True}
    response = httpx.post(
        f"{stack.url('intake')}/api/cases",
        json=body | {"desa_code": "33.17.02.2001", "category": "pip", "description": "Anak SD"},
        headers={"X-Trace-Id": "trace-e2e-budi"} | stack.auth(),
    )
    eventually(lambda: completed_case(stack, response.json()["id"]))
    for name in ("intake", "verval", "referral", "notify"):
        log_file = stack.services[name].log_file
        assert log_file is not None and "trace-e2e-budi" in log_file.read_text()


def test_registration_succeeds_while_nats_is_down_and_completes_after(stack: Stack) -> None:
    stack.nats.stop()
    try:
        created = register(stack, category="rtlh", description="Atap rumah roboh")
        ready = httpx.get(f"{stack.url('intake')}/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["checks"]["nats"] is False
    finally:
        stack.nats.start()
    case = eventually(lambda: completed_case(stack, created["id"]), timeout=60)
    referred = [s for s in case["timeline"] if s["service"] == "referral"]
    assert "Dinas Perumahan" in referred[0]["note"]


def test_a_killed_service_catches_up_after_restart(stack: Stack) -> None:
    verval = stack.services["verval"]
    verval.kill()
    try:
        created = register(stack, category="pkh", description="Belum menerima PKH")
        time.sleep(1)
        url = f"{stack.url('intake')}/api/cases/{created['id']}"
        case = httpx.get(url, headers=stack.auth()).json()
        assert case["status"] == "registered"
    finally:
        verval.start()
    wait_ready([verval], timeout=30)
    eventually(lambda: completed_case(stack, created["id"]))


def test_malformed_event_is_dead_lettered_and_the_pipeline_keeps_working(stack: Stack) -> None:
    async def publish_garbage() -> None:
        nc = await nats_client.connect(stack.nats.url)
        await nc.jetstream().publish("slrt.case.registered.3317.331701.3317012001", b"\x00garbage")
        await nc.close()

    asyncio.run(publish_garbage())
    letters = eventually(lambda: asyncio.run(read_dead_letters(stack.nats.url, "verval")))
    assert "not JSON" in letters[0].reason
    assert letters[0].consumer == "verval__case_registered"
    created = register(stack, category="bpnt", description="Bantuan sembako berhenti")
    eventually(lambda: completed_case(stack, created["id"]))


def test_logs_of_every_service_hold_no_nik_or_phone(stack: Stack) -> None:
    register(
        stack, category="atensi", description=f"Lansia, hubungi {PHONE_SITI} atau NIK {NIK_SITI}"
    )
    # An operator pasting a NIK into the address bar: the access log would print it.
    leaky = httpx.get(
        f"{stack.url('intake')}/api/cases/{NIK_SITI}",
        params={"hp": PHONE_SITI},
        headers=stack.auth(),
    )
    assert leaky.status_code == 422
    time.sleep(1)
    logs = stack.logs()
    assert "[NIK/KK]" in logs and "[TELEPON]" in logs  # the lines were written, masked
    for secret in (NIK_SITI, PHONE_SITI, "6281234567890"):
        assert secret not in logs


def test_a_case_forwarded_by_its_village_is_served_and_closed_and_the_citizen_told(
    stack: Stack,
) -> None:
    created = register(stack, urgent=False, category="pbi_pendaftaran", consent_to_share=True)
    case_url = f"{stack.url('intake')}/api/cases/{created['id']}/actions"
    for username, action in (
        ("bo-3317012001", "propose_upward"),
        ("koor-3317012001", "approve"),
        ("kec-331701", "forward"),
    ):
        step = {"action": action, "reason": "belum punya jaminan kesehatan"}
        moved = httpx.post(case_url, json=step, headers=stack.auth(username), timeout=10)
        assert moved.status_code == 200, moved.text
    referral_api = f"{stack.url('referral')}/api/referrals"
    secretariat = stack.auth(service="referral")

    def referral_of_case() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = httpx.get(
            referral_api, params={"case_id": created["id"]}, headers=secretariat, timeout=5
        ).json()
        return found

    (referral,) = eventually(referral_of_case)
    liaison = stack.auth("penghubung-bpjs_dinkes", service="referral")
    for command, who, extra in (
        ("send", secretariat, {}),
        ("accept", liaison, {}),
        ("start", liaison, {}),
        ("complete", liaison, {"served": True}),
    ):
        url = f"{referral_api}/{referral['id']}/actions"
        moved = httpx.post(url, json={"command": command, **extra}, headers=who, timeout=10)
        assert moved.status_code == 200, moved.text

    def closed_in_intake() -> dict[str, Any] | None:
        """Closed, with referral's steps on the timeline (they come on separate consumers)."""
        url = f"{stack.url('intake')}/api/cases/{created['id']}"
        case: dict[str, Any] = httpx.get(url, headers=stack.auth(), timeout=5).json()
        steps = {s["step"] for s in case["timeline"]}
        heard = {"Rujukan: Diterima instansi", "Rujukan: Selesai", "Kasus selesai"} <= steps
        return case if case["status"] == "closed" and heard else None

    eventually(closed_in_intake)

    def told_closed() -> list[str]:
        sent = httpx.get(
            f"{stack.url('notify')}/api/notifications",
            params={"case_id": created["id"]},
            headers=stack.auth(service="notify"),
        ).json()
        return [n["about_event"] for n in sent if n["about_event"] == "case.closed"]

    eventually(told_closed)

    # The card never came: the citizen reopens the case from the status page, and is told.
    reopen = {
        "registration_number": created["registration_number"],
        "birth_date": "1985-07-05",
        "reason": "kartu KIS belum saya terima",
    }
    reopened = httpx.post(f"{stack.url('intake')}/api/status/reopen", json=reopen, timeout=10)
    assert reopened.status_code == 200, reopened.text

    def told_reopened() -> list[str]:
        sent = httpx.get(
            f"{stack.url('notify')}/api/notifications",
            params={"case_id": created["id"]},
            headers=stack.auth(service="notify"),
        ).json()
        return [n["body"] for n in sent if n["about_event"] == "case.reopened"]

    (text,) = eventually(told_reopened)
    assert "kartu KIS belum saya terima" in text
