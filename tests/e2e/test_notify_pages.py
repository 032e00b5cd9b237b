"""Notify's pages in a real browser: the secretariat sees every message and the failed
ones, sends one again, and the head edits what citizens are told."""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from slrt.up import ServiceProcess
from tests.conftest import PostgresDatabases, database_factory, refused_port
from tests.e2e.conftest import counts, eventually, run_async, running_services, signed_in_page
from tests.events import case_registered, publish

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases | None,
) -> Iterator[dict[str, Any]]:
    """Notify alone, its SMS gateway unreachable (one try each), and two registered cases:
    one citizen by SMS (which fails) and one without a phone (told via the village)."""
    var_dir = tmp_path_factory.mktemp(f"notify-pages-{request.param}")
    databases = database_factory(request.param, var_dir, postgres_databases)
    with refused_port() as gateway_port:
        env = {
            "SLRT_NOTIFY_SMS_URL": f"http://127.0.0.1:{gateway_port}/sms",
            "SLRT_NOTIFY_MAX_ATTEMPTS": "1",
        }
        with running_services(["notify"], var_dir, databases, env) as (nats, services):
            by_sms = case_registered(phone="+6281234567890")
            by_village = case_registered()
            for event in (by_sms, by_village):
                run_async(publish(nats.url, event))
            # The pages show what notify holds when they load: wait until both were tried.
            eventually(lambda: _all_tried(services["notify"]))
            yield {"url": services["notify"].url, "sms": by_sms, "village": by_village}


def _all_tried(notify: ServiceProcess) -> bool:
    waiting = "SELECT count(*) FROM notification WHERE status IN ('pending', 'sending')"
    ((total,),) = counts(notify, "SELECT count(*) FROM notification")
    return total >= 2 and counts(notify, waiting) == [(0,)]


def _signed_in(browser: Browser, url: str, username: str) -> Page:
    page = signed_in_page(browser, url, username, "/pesan")
    expect(page.get_by_role("heading", name="Pesan kepada warga dan petugas")).to_be_visible()
    return page


def test_the_secretariat_sees_the_failed_message_and_sends_it_again(
    stack: dict[str, Any], browser: Browser
) -> None:
    page = _signed_in(browser, stack["url"], "sekretariat")
    village = page.locator("tr", has_text=stack["village"].registration_number)
    expect(village).to_contain_text("kantor-desa:33.17.01.2001")
    expect(village).to_contain_text("Terkirim")
    page.get_by_role("link", name="Gagal terkirim").click()
    failed = page.locator("tr", has_text=stack["sms"].registration_number)
    expect(failed).to_contain_text("gateway tidak terjangkau")
    expect(page.locator("#messages tbody tr")).to_have_count(1)
    failed.get_by_role("button", name="Kirim ulang").click()
    expect(page.get_by_role("status")).to_contain_text("dimasukkan lagi ke antrean")
    page.context.close()


def test_the_head_edits_a_template_and_a_broken_one_is_explained(
    stack: dict[str, Any], browser: Browser
) -> None:
    page = _signed_in(browser, stack["url"], "kepala")
    page.get_by_role("link", name="Templat pesan").click()
    section = page.locator("#templat-dirujuk")
    section.get_by_label("Saluran").select_option("sms")
    section.get_by_label("Teks").fill("SLRT: kasus {{ nomor }} dirujuk ke {{ instansi }}.")
    section.get_by_role("button", name="Simpan templat").click()
    section = page.locator("#templat-dirujuk")
    expect(section.locator(".field-error")).to_contain_text("instansi")
    expect(section.get_by_label("Teks")).to_have_value(
        "SLRT: kasus {{ nomor }} dirujuk ke {{ instansi }}."
    )
    section.get_by_label("Saluran").select_option("sms")
    section.get_by_label("Teks").fill("SLRT: kasus {{ nomor }} dirujuk ke {{ tujuan }}.")
    section.get_by_role("button", name="Simpan templat").click()
    expect(page.get_by_role("status")).to_contain_text("Kasus dirujuk")
    expect(page.locator("#templat-dirujuk")).to_contain_text(
        "SLRT: kasus 3317012001-2611-0007 dirujuk ke BPJS Kesehatan / Dinas Kesehatan."
    )
    page.locator("#templat-dirujuk").get_by_role("button", name="Kembalikan teks SMS").click()
    expect(page.locator("#templat-dirujuk")).not_to_contain_text("(diubah)")
    page.context.close()
