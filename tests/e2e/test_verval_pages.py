"""The DTKS proposal pages in a real browser (Debian's chromium driven by Playwright): a
case registered at intake opens a proposal in verval (real processes on a real nats-server,
a generated registry imported), the village drafts it, the kasun records the home visit the
musyawarah desa waits for, the village records the meeting, the district verifies, the Bupati
ratifies the batch, and the case's timeline at intake says so."""

import csv
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from services.verval.importer import import_csv, sync_engine
from services.verval.proposals import batch_name
from services.verval.registry import Kind
from shared.areas import compact_code, load_registry
from slrt.synthetic import generate
from slrt.up import ServiceProcess
from tests.conftest import database_factory
from tests.e2e.conftest import Stack, running_services, signed_in_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("verval-pages")
    databases = database_factory("sqlite", var_dir, None)
    with running_services(["intake", "verval"], var_dir, databases) as (nats, services):
        yield Stack(nats, services, var_dir)


def _import_registry(verval: ServiceProcess, directory: Path) -> dict[str, str]:
    """A generated district imported into the running verval; a clean person not in DTKS."""
    generate(load_registry(None), 400, directory, seed=5)
    engine = sync_engine(verval.env["SLRT_VERVAL_DATABASE_URL"])
    for kind in Kind:
        import_csv(engine, kind, directory / f"{kind.value}.csv")
    with (directory / "dtks.csv").open() as handle:
        in_dtks = {r["nik"] for r in csv.DictReader(handle)}
    with (directory / "civil.csv").open() as handle:
        civil = {r["nik"]: r for r in csv.DictReader(handle)}
    with (directory / "presented.csv").open() as handle:
        presented = csv.DictReader(handle)
        return next(
            civil[r["nik"]] for r in presented if not r["defect"] and r["nik"] not in in_dtks
        )


def _register(stack: Stack, person: dict[str, str]) -> dict[str, Any]:
    body = {
        "nik": person["nik"], "kk": person["kk"], "name": person["name"],
        "birth_date": person["birth_date"], "sex": person["sex"],
        "desa_code": person["desa_code"], "address": person["address"], "rt": "1", "rw": "1",
        "category": "dtks_pendaftaran", "description": "Belum terdaftar DTKS, rumah tidak layak",
        "consent_to_share": True,
    }  # fmt: skip
    response = httpx.post(
        f"{stack.url('intake')}/api/cases", json=body, headers=stack.auth("sekretariat")
    )
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    return case


def _proposal(stack: Stack, case: dict[str, Any]) -> dict[str, Any]:
    """The proposal verval opened for the case (others are the registry's life events)."""
    for _ in range(300):
        found = httpx.get(
            f"{stack.url('verval')}/api/proposals", headers=stack.auth("dtks", "verval")
        )
        mine = [p for p in found.json() if p["registration_number"] == case["registration_number"]]
        if mine:
            return mine[0]
        time.sleep(0.1)
    raise AssertionError("verval opened no proposal")


def _visit_the_house(browser: Browser, verval: str, desa: str, name: str) -> None:
    """The kasun records the home visit: checklist, verdict, date and a photo."""
    kasun = signed_in_page(browser, verval, f"kasun-{desa}", "/kunjungan")
    kasun.goto("/kunjungan")
    kasun.get_by_role("link", name=name).click()
    kasun.get_by_label("Lantai rumah tanah atau bambu").check()
    kasun.get_by_label("Kesimpulan").select_option("sesuai")
    kasun.get_by_label("Tanggal kunjungan").fill(date.today().isoformat())
    photo = {"name": "depan.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff\xe0 rumah"}
    kasun.get_by_label("Foto rumah", exact=False).set_input_files(photo)  # type: ignore[arg-type]
    kasun.get_by_role("button", name="Simpan hasil kunjungan").click()
    expect(kasun.locator("#verdict")).to_contain_text("Kondisi sesuai")


def test_a_proposal_is_drafted_approved_verified_and_ratified_in_the_browser(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    person = _import_registry(stack.services["verval"], tmp_path / "registry")
    case = _register(stack, person)
    proposal = _proposal(stack, case)
    desa = compact_code(person["desa_code"])
    verval = stack.url("verval")

    village = signed_in_page(browser, verval, f"desa-{desa}", "/usulan")
    village.get_by_role("link", name=person["name"]).click()
    expect(village.locator("#status")).to_have_text("Perlu disusun desa")
    village.get_by_role("button", name="Susun usulan").click()
    expect(village.locator("#status")).to_have_text("Draf, menunggu musyawarah desa")

    head = signed_in_page(browser, verval, f"kades-{desa}", "/usulan")
    minutes = {"name": "berita-acara.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}

    def approve_in_musdes() -> None:
        head.get_by_label(person["name"], exact=False).check()
        head.get_by_label("Tanggal musyawarah desa").fill("2026-11-02")
        head.get_by_label("Berita acara").set_input_files(minutes)  # type: ignore[arg-type]
        head.get_by_role("button", name="Simpan persetujuan musyawarah desa").click()

    approve_in_musdes()  # before anyone has seen the house
    expect(head.get_by_role("alert")).to_contain_text("Kunjungan rumah")
    _visit_the_house(browser, verval, desa, person["name"])
    head.goto("/usulan")
    approve_in_musdes()
    expect(head.get_by_role("status")).to_have_text("1 usulan disetujui musyawarah desa")

    district = signed_in_page(browser, verval, "dtks", "/usulan")
    district.goto(f"/usulan/{proposal['id']}")
    district.get_by_role("button", name="Verifikasi").click()
    expect(district.locator("#status")).to_have_text("Diverifikasi kabupaten, menunggu pengesahan")

    bupati = signed_in_page(browser, verval, "bupati", "/usulan")
    batch = batch_name(proposal["window"], date.fromisoformat(proposal["batch_month"]))
    bupati.get_by_role("link", name=batch).click()
    bupati.get_by_role("button", name="Sahkan semua").click()
    expect(bupati.get_by_role("status")).to_contain_text("1 usulan disahkan")

    case_url = f"{stack.url('intake')}{case['url']}"
    for _ in range(300):
        steps = [s["step"] for s in httpx.get(case_url, headers=stack.auth()).json()["timeline"]]
        if "Usulan DTKS: Disahkan, menunggu dikirim" in steps:
            break
        time.sleep(0.1)
    assert [s for s in steps if s.startswith("Kunjungan")] == [
        "Kunjungan rumah dijadwalkan",
        "Kunjungan rumah dilakukan",
    ]
    assert [s for s in steps if s.startswith("Usulan")] == [
        "Usulan DTKS: Perlu disusun desa",
        "Usulan DTKS: Draf, menunggu musyawarah desa",
        "Usulan DTKS: Disetujui musyawarah desa, menunggu verifikasi kabupaten",
        "Usulan DTKS: Diverifikasi kabupaten, menunggu pengesahan",
        "Usulan DTKS: Disahkan, menunggu dikirim",
    ]
