"""The secretariat's and a liaison's pages in a real browser (Debian's chromium driven by
Playwright), against intake, verval and referral as real processes on a real nats-server."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from shared.accounts import DEMO_PASSWORD
from slrt.up import ServiceProcess
from tests.conftest import PostgresDatabases, database_factory
from tests.e2e.conftest import running_services, signed_in_page

pytestmark = pytest.mark.e2e


def _register(intake: str, token: str, nik: str, category: str) -> str:
    body = {
        "nik": nik,
        "kk": "3317010203040005",
        "name": "Sumarni Wulandari",
        "birth_date": "1985-07-05",
        "sex": "P",
        "desa_code": "33.17.01.2001",
        "address": "Dukuh Krajan No. 7",
        "rt": "3",
        "rw": "1",
        "category": category,
        "description": "Dirawat di rumah sakit, KIS tidak aktif",
        "urgent": True,
        "consent_to_share": True,
    }
    response = httpx.post(
        f"{intake}/api/cases", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    number: str = response.json()["registration_number"]
    return number


def _wait_for_referrals(referral: str, count: int) -> None:
    credentials = {"username": "sekretariat", "password": DEMO_PASSWORD}
    token = httpx.post(f"{referral}/api/login", json=credentials).json()["token"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found: list[Any] = httpx.get(
            f"{referral}/api/referrals", headers={"Authorization": f"Bearer {token}"}
        ).json()
        if len(found) >= count:
            return
        time.sleep(0.2)
    raise AssertionError("referral did not create the referrals")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases | None,
) -> Iterator[dict[str, Any]]:
    """Two urgent cases registered at the village: a reactivation (to BPJS) and an
    emergency (to the hospital and BPJS), referred at once."""
    var_dir = tmp_path_factory.mktemp(f"referral-pages-{request.param}")
    databases = database_factory(request.param, var_dir, postgres_databases)
    names = ["intake", "verval", "referral"]
    with running_services(names, var_dir, databases) as (_, services):
        urls = {name: svc.url for name, svc in services.items()}
        credentials = {"username": "sekretariat", "password": DEMO_PASSWORD}
        token = httpx.post(f"{urls['intake']}/api/login", json=credentials).json()["token"]
        numbers = {
            "pbi": _register(urls["intake"], token, "3317014507850041", "pbi_reaktivasi"),
            "darurat": _register(urls["intake"], token, "3317014507850042", "darurat_kesehatan"),
        }
        _wait_for_referrals(urls["referral"], 3)
        yield {"urls": urls, "numbers": numbers, "services": services}


def _signed_in(browser: Browser, services: dict[str, ServiceProcess], username: str) -> Page:
    page = signed_in_page(browser, services["referral"].url, username, "/rujukan")
    expect(page.get_by_role("heading", name="Rujukan berjalan")).to_be_visible()
    return page


def test_the_secretariat_sends_and_the_liaison_accepts(
    stack: dict[str, Any], browser: Browser
) -> None:
    number = stack["numbers"]["pbi"]
    page = _signed_in(browser, stack["services"], "sekretariat")
    page.get_by_role("link", name=number).click()
    expect(page.locator("#status")).to_have_text("Dibuat, belum dikirim")
    page.get_by_role("button", name="Kirim ke instansi").click()
    expect(page.get_by_role("status")).to_contain_text("Dikirim ke instansi")
    page.context.close()

    liaison = _signed_in(browser, stack["services"], "penghubung-bpjs_dinkes")
    rows = liaison.locator("tbody tr")
    expect(rows).to_have_count(2)  # both cases' BPJS referrals, not the hospital's
    expect(liaison.get_by_text("Rumah sakit rujukan")).to_have_count(0)
    liaison.get_by_role("link", name=number).click()
    expect(liaison.get_by_role("button", name="Kirim ke instansi")).to_have_count(0)
    liaison.get_by_label("Catatan untuk: Terima").fill("berkas lengkap, diproses")
    liaison.get_by_role("button", name="Terima").click()
    expect(liaison.get_by_role("status")).to_contain_text("Diterima instansi")
    expect(liaison.locator("ol.timeline")).to_contain_text("penghubung-bpjs_dinkes")
    expect(liaison.locator("ol.timeline")).to_contain_text("berkas lengkap, diproses")
    liaison.context.close()


def test_the_dashboard_counts_by_kecamatan_and_destination(
    stack: dict[str, Any], browser: Browser
) -> None:
    page = _signed_in(browser, stack["services"], "kepala")
    page.get_by_role("link", name="Dasbor").click()
    table = page.locator("#dashboard")
    expect(table).to_contain_text("Sumber")
    page.get_by_label("Kelompokkan per").select_option("destination")
    page.get_by_role("button", name="Tampilkan").click()
    expect(table).to_contain_text("Rumah sakit rujukan")
    expect(table).to_contain_text("BPJS Kesehatan / Dinas Kesehatan")
    with page.expect_download() as download:
        page.get_by_role("link", name="Unduh laporan").click()
    text = download.value.path().read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("nomor_registrasi,kecamatan,desa")
    assert stack["numbers"]["darurat"] in text
    page.context.close()
