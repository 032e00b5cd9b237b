"""The village operator's pages in a real browser (Debian's chromium driven by Playwright),
against intake as a real process on a real nats-server, on SQLite and PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from shared.accounts import DEMO_PASSWORD
from tests.conftest import PostgresDatabases, database_factory
from tests.e2e.conftest import running_services

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def intake_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases | None,
) -> Iterator[str]:
    var_dir = tmp_path_factory.mktemp(f"pages-{request.param}")
    databases = database_factory(request.param, var_dir, postgres_databases)
    with running_services(["intake"], var_dir, databases) as (_, services):
        yield services["intake"].url


@pytest.fixture
def page(intake_url: str, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(base_url=intake_url, locale="id-ID")
    page = context.new_page()
    page.goto("/kasus")  # not signed in: sent to the sign-in page
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    page.get_by_label("Nama pengguna").fill("desa-3317012001")
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name="Daftar kasus · 33.17.01.2001")).to_be_visible()
    yield page
    context.close()


def fill_registration(page: Page, nik: str) -> None:
    page.get_by_label("NIK (16 angka)").fill(nik)
    page.get_by_label("Nomor KK (16 angka)").fill("3317010203040005")
    page.get_by_label("Nama lengkap").fill("Sumarni Wulandari")
    page.get_by_label("Alamat (jalan/kampung, nomor)").fill("Dukuh Krajan No. 7")
    page.get_by_label("RT", exact=True).fill("3")
    page.get_by_label("RW", exact=True).fill("1")
    page.get_by_label("Tanggal lahir").fill("1985-07-05")
    page.get_by_label("Jenis kelamin").select_option("P")
    page.get_by_label("Nomor HP (boleh kosong)").fill("0813 2222 3333")
    page.get_by_label("Kategori pengaduan").select_option("pbi_reaktivasi")
    page.get_by_label("Cerita/keluhan warga").fill(
        "KIS tidak aktif, anak perlu berobat ke puskesmas"
    )
    page.get_by_label("Jumlah anggota keluarga").fill("4")
    page.get_by_label("Lantai rumah").select_option("tanah")


def test_register_through_the_form_see_the_nik_message_and_find_the_case(
    page: Page, tmp_path: Path
) -> None:
    page.get_by_role("link", name="+ Daftarkan kasus").click()
    fill_registration(page, "33170145078")  # eleven digits: a typo at the desk
    page.get_by_role("button", name="Simpan dan beri nomor registrasi").click()
    expect(page.locator("#nik-error")).to_have_text("NIK harus 16 angka")
    expect(page.get_by_label("Nama lengkap")).to_have_value("Sumarni Wulandari")  # nothing retyped

    page.get_by_label("NIK (16 angka)").fill("3317014507850021")
    page.get_by_label("Warga setuju datanya dibagikan").check()
    page.get_by_role("button", name="Simpan dan beri nomor registrasi").click()
    expect(page.get_by_role("status")).to_contain_text("Berikan nomor registrasi ini kepada warga")
    number = page.get_by_role("heading", level=1).inner_text()
    assert number.startswith("3317012001-")
    expect(page.get_by_text("331701******0021")).to_be_visible()
    expect(
        page.get_by_text("Persetujuan berbagi data dicatat oleh desa-3317012001")
    ).to_be_visible()
    expect(page.get_by_text("Masih kurang: Fotokopi KTP, Fotokopi Kartu Keluarga")).to_be_visible()
    page.get_by_label("Jenis dokumen").select_option("ktp")
    scan = {
        "name": "ktp.jpg",
        "mimeType": "image/jpeg",
        "buffer": b"\xff\xd8\xff\xe0" + b"x" * 2048,
    }
    page.get_by_label("Berkas (JPG, PNG atau PDF, maks 5 MB)").set_input_files(scan)
    page.get_by_role("button", name="Unggah").click()
    expect(page.get_by_text("Masih kurang: Fotokopi Kartu Keluarga")).to_be_visible()
    page.get_by_label("Berkas (JPG, PNG atau PDF, maks 5 MB)").set_input_files(
        {"name": "virus.exe", "mimeType": "image/jpeg", "buffer": b"MZ\x90\x00"}
    )
    page.get_by_role("button", name="Unggah").click()
    expect(page.get_by_role("alert")).to_contain_text("JPG/PNG atau PDF")
    expect(page.get_by_text("4 anggota keluarga, 0 bekerja")).to_be_visible()
    page.get_by_role("link", name="Cetak tanda terima").click()
    expect(page.locator(".number")).to_have_text(number)
    expect(page.get_by_text("Ronggo Mulyo")).to_be_visible()
    page.go_back()

    page.get_by_role("link", name="Daftar kasus").click()
    page.get_by_label("Cari nama atau nomor registrasi").fill("sumarni")
    page.get_by_role("button", name="Tampilkan").click()
    expect(page.get_by_role("link", name=number)).to_be_visible()


def test_a_birth_date_that_contradicts_the_nik_is_explained(page: Page) -> None:
    page.goto("/kasus/baru")
    fill_registration(page, "3317014507850022")
    page.get_by_label("Tanggal lahir").fill("1985-07-06")
    page.get_by_role("button", name="Simpan dan beri nomor registrasi").click()
    expect(page.get_by_role("alert")).to_contain_text("tidak sesuai dengan NIK")


def sign_in(page: Page, username: str) -> None:
    page.goto("/keluar")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()


def test_back_office_proposes_coordinator_approves_supervisor_forwards(page: Page) -> None:
    sign_in(page, "bo-3317012001")
    page.goto("/kasus/baru")
    fill_registration(page, "3317014507850031")
    page.get_by_label("Kategori pengaduan").select_option("rtlh")
    page.get_by_role("button", name="Simpan dan beri nomor registrasi").click()
    number = page.get_by_role("heading", level=1).inner_text()
    page.get_by_label("Alasan/catatan untuk: Usulkan ke kecamatan").fill(
        "Rumah rusak berat, perlu RTLH"
    )
    page.get_by_role("button", name="Usulkan ke kecamatan").click()
    expect(page.get_by_text("Menunggu persetujuan koordinator desa")).to_be_visible()

    sign_in(page, "koor-3317012001")
    page.get_by_role("link", name=number).click()
    page.get_by_role("button", name="Setujui dan kirim").click()
    expect(page.get_by_text("Ditinjau supervisor kecamatan")).to_be_visible()

    sign_in(page, "kec-331701")
    page.get_by_label("Antrean").select_option("supervisor")
    page.get_by_role("button", name="Tampilkan").click()
    page.get_by_role("link", name=number).click()
    page.get_by_role("button", name="Teruskan ke kabupaten").click()  # no note: refused in words
    expect(page.get_by_role("alert")).to_contain_text("Tuliskan alasan")
    page.get_by_label("Alasan/catatan untuk: Teruskan ke kabupaten").fill(
        "Layak, teruskan ke Perkim"
    )
    page.get_by_role("button", name="Teruskan ke kabupaten").click()
    expect(page.get_by_text("Diteruskan ke Sekretariat SLRT kabupaten")).to_be_visible()
    expect(page.get_by_text("Layak, teruskan ke Perkim")).to_be_visible()


def test_check_first_keeps_the_form_and_says_when_verval_is_away(page: Page) -> None:
    page.goto("/kasus/baru")
    fill_registration(page, "3317014507850051")
    page.get_by_role("button", name="Periksa dulu (DTKS dan program)").click()
    expect(page.locator("#precheck")).to_contain_text("verval belum menjawab")
    expect(page.get_by_label("Nama lengkap")).to_have_value("Sumarni Wulandari")
    page.get_by_role("button", name="Simpan dan beri nomor registrasi").click()
    expect(page.get_by_role("status")).to_contain_text("Kasus tersimpan")


def test_the_village_head_signs_where_required_and_the_supervisor_may_waive_consent(
    page: Page,
) -> None:
    sign_in(page, "koor-3317012002")
    page.get_by_label("Kepala desa ikut menyetujui").check()
    page.get_by_role("button", name="Simpan aturan desa").click()
    expect(page.get_by_role("status")).to_contain_text("Aturan persetujuan desa disimpan")
    expect(page.get_by_label("Kepala desa ikut menyetujui")).to_be_checked()

    sign_in(page, "bo-3317012002")
    page.goto("/kasus/baru")
    fill_registration(page, "3317014507850032")  # the citizen's consent is not ticked
    page.get_by_role("button", name="Simpan dan beri nomor registrasi").click()
    number = page.get_by_role("heading", level=1).inner_text()
    page.get_by_label("Alasan/catatan untuk: Usulkan ke kecamatan").fill("Perlu reaktivasi PBI")
    page.get_by_role("button", name="Usulkan ke kecamatan").click()

    sign_in(page, "koor-3317012002")
    page.get_by_role("link", name=number).click()
    page.get_by_role("button", name="Setujui dan kirim").click()
    expect(page.get_by_text("Menunggu persetujuan kepala desa")).to_be_visible()

    sign_in(page, "kades-3317012002")
    page.get_by_role("link", name=number).click()
    page.get_by_role("button", name="Setujui sebagai kepala desa dan kirim").click()
    expect(page.get_by_text("Ditinjau supervisor kecamatan")).to_be_visible()

    sign_in(page, "kec-331701")
    page.get_by_label("Antrean").select_option("supervisor")
    page.get_by_role("button", name="Tampilkan").click()
    page.get_by_role("link", name=number).click()
    expect(page.get_by_text("Belum ada persetujuan warga")).to_be_visible()
    waive = "Izinkan rujukan tanpa persetujuan warga"
    page.get_by_label(f"Alasan/catatan untuk: {waive}").fill("Warga dirawat dan tidak sadar")
    page.get_by_role("button", name=waive).click()
    expect(page.get_by_text("diizinkan oleh supervisor kec-331701")).to_be_visible()
    expect(page.get_by_role("button", name=waive)).to_have_count(0)


def test_the_back_office_corrects_the_phone_on_the_case_page(page: Page) -> None:
    sign_in(page, "bo-3317012001")
    page.goto("/kasus/baru")
    fill_registration(page, "3317014507850033")
    page.get_by_label("Kategori pengaduan").select_option("pkh")
    page.get_by_role("button", name="Simpan dan beri nomor registrasi").click()
    page.get_by_text("Koreksi data kasus").click()
    expect(page.locator("#d-phone")).to_have_value("+6281322223333")
    page.locator("#d-phone").fill("0857 1111 2222")
    page.locator("#d-contact").select_option("whatsapp")
    page.locator("#d-note").fill("warga ganti nomor, mau lewat WhatsApp")
    page.get_by_role("button", name="Simpan koreksi data").click()
    expect(page.locator("ol.timeline")).to_contain_text("nomor HP, cara dikabari: warga ganti")
    expect(page.locator("ol.timeline")).not_to_contain_text("0857")
