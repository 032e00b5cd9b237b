"""Home visits (kunjungan rumah): the rules, no I/O.

A new DTKS registration needs someone to see the house and the household before the
musyawarah desa decides: the kasun of the desa or the TKSK of its kecamatan gets a visit
task, due a few working days later, with a checklist of house and household conditions,
photos and a verdict.
"""

from datetime import date
from enum import StrEnum

from shared.auth import Principal, Role
from shared.errors import Refusal
from shared.workdays import add_working_days

VISIT_WORKING_DAYS = 5
VISITORS = frozenset({Role.KASUN, Role.TKSK})
MAX_PHOTOS = 6
PHOTO_MAX_BYTES = 3 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})

# Conditions the officer ticks (the usual DTKS verification indicators).
CHECKLIST = {
    "lantai_tanah": "Lantai rumah tanah atau bambu",
    "dinding_tidak_layak": "Dinding bambu, kayu murah atau tembok tanpa plester",
    "atap_rusak": "Atap rusak atau bocor",
    "listrik_kecil": "Tanpa listrik sendiri atau listrik 450 VA",
    "air_tidak_layak": "Air minum dari sumur/sungai tidak terlindung",
    "tanpa_jamban": "Tanpa jamban sendiri",
    "kayu_bakar": "Memasak dengan kayu bakar",
    "penghasilan_tidak_tetap": "Kepala keluarga tanpa penghasilan tetap",
    "anggota_rentan": "Ada lansia, penyandang disabilitas atau sakit menahun",
    "anak_putus_sekolah": "Ada anak usia sekolah yang tidak sekolah",
}


class Verdict(StrEnum):
    CONFIRMED = "sesuai"
    NOT_CONFIRMED = "tidak_sesuai"
    NOT_FOUND = "tidak_ditemukan"


VERDICT_LABELS = {
    Verdict.CONFIRMED: "Kondisi sesuai: layak diusulkan",
    Verdict.NOT_CONFIRMED: "Kondisi tidak sesuai keterangan: tidak layak diusulkan",
    Verdict.NOT_FOUND: "Keluarga tidak ditemukan di alamat",
}


def due_on(opened: date) -> date:
    return add_working_days(opened, VISIT_WORKING_DAYS)


def is_overdue(due: date, done: bool, today: date) -> bool:
    return not done and today > due


def check_visitor(principal: Principal, desa_code: str, done: bool) -> None:
    """The kasun of the desa or the TKSK of its kecamatan, once; else a refusal in words."""
    if principal.role not in VISITORS or not principal.covers(desa_code):
        raise Refusal(403, "Kunjungan rumah dicatat oleh kasun desa ini atau TKSK kecamatannya.")
    if done:
        raise Refusal(409, "Kunjungan ini sudah dicatat.")


def checked_items(items: list[str]) -> list[str]:
    unknown = [i for i in items if i not in CHECKLIST]
    if unknown:
        raise Refusal(422, "Isian daftar periksa tidak dikenal: " + ", ".join(unknown[:3]))
    return sorted(set(items))
