"""DTKS proposals (usulan) and the ministry's monthly cycle: the rules, no I/O.

A proposal goes: opened (verval found a person who must be proposed) → drafted by the
village → approved in the musyawarah desa → verified by the district DTKS admin → ratified
with its whole batch by the Bupati or a delegated Sekda → sent in its monthly window.

Every proposal belongs to a batch: one month's window of one kind (see `domain.WINDOWS`).
Only sending needs the window open (the ministry's system is locked outside it); the steps
before may happen any day. A proposal not sent when its window closes moves to the next
month's window, and says why.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from shared.auth import Principal, Role
from shared.contracts import Category
from shared.errors import Refusal


class Status(StrEnum):
    OPEN = "perlu_disusun"
    DRAFTED = "draf"
    APPROVED = "disetujui_musdes"
    VERIFIED = "diverifikasi"
    RATIFIED = "disahkan"
    SENT = "dikirim"
    ACCEPTED = "diterima"  # the ministry's answer, imported per batch
    REJECTED = "ditolak"


STATUS_LABELS = {
    Status.OPEN: "Perlu disusun desa",
    Status.DRAFTED: "Draf, menunggu musyawarah desa",
    Status.APPROVED: "Disetujui musyawarah desa, menunggu verifikasi kabupaten",
    Status.VERIFIED: "Diverifikasi kabupaten, menunggu pengesahan",
    Status.RATIFIED: "Disahkan, menunggu dikirim",
    Status.SENT: "Dikirim ke Kemensos, menunggu jawaban",
    Status.ACCEPTED: "Diterima Kemensos",
    Status.REJECTED: "Ditolak Kemensos",
}
UNFINISHED = (Status.OPEN, Status.DRAFTED, Status.APPROVED, Status.VERIFIED)
GONE_UP = frozenset({Status.SENT, Status.ACCEPTED, Status.REJECTED})  # past the window


class Kind(StrEnum):
    ADD = "tambah"
    REACTIVATION = "reaktivasi"
    CORRECTION = "perbaikan"
    REMOVAL = "hapus"


KIND_LABELS = {
    Kind.ADD: "Usulan baru",
    Kind.REACTIVATION: "Reaktivasi",
    Kind.CORRECTION: "Perbaikan data",
    Kind.REMOVAL: "Penghapusan (nonaktif)",
}


class Command(StrEnum):
    DRAFT = "draft"
    APPROVE = "approve"
    VERIFY = "verify"
    RETURN = "return"
    RATIFY = "ratify"
    SEND = "send"


VILLAGE_STAFF = frozenset({Role.FRONT_OFFICE, Role.BACK_OFFICE, Role.COORDINATOR})
RATIFIERS = {Role.REGENT: "Bupati", Role.REGIONAL_SECRETARY: "Sekda (atas delegasi Bupati)"}


@dataclass(frozen=True)
class Step:
    """Who may take a command, from which status, and where it leads."""

    before: frozenset[Status]
    after: Status
    roles: frozenset[Role]


STEPS = {
    Command.DRAFT: Step(frozenset({Status.OPEN}), Status.DRAFTED, VILLAGE_STAFF),
    Command.APPROVE: Step(
        frozenset({Status.DRAFTED}),
        Status.APPROVED,
        frozenset({Role.COORDINATOR, Role.VILLAGE_HEAD}),
    ),
    Command.VERIFY: Step(
        frozenset({Status.APPROVED}), Status.VERIFIED, frozenset({Role.DTKS_ADMIN})
    ),
    Command.RETURN: Step(
        frozenset({Status.APPROVED, Status.VERIFIED}), Status.OPEN, frozenset({Role.DTKS_ADMIN})
    ),
    Command.RATIFY: Step(frozenset({Status.VERIFIED}), Status.RATIFIED, frozenset(RATIFIERS)),
    Command.SEND: Step(frozenset({Status.RATIFIED}), Status.SENT, frozenset({Role.DTKS_ADMIN})),
}


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about a proposal."""

    status: Status
    desa_code: str
    household_key: str
    drafted_by: str | None


def household_key(kk: str) -> str:
    """A digest of a KK: an officer's household is compared without keeping their KK."""
    return hashlib.sha256(f"slrt-household:{kk}".encode()).hexdigest()[:32]


def check(command: Command, proposal: Facts, principal: Principal) -> Status:
    """The status the command leads to, or `Refusal` with the reason for the user."""
    step = STEPS[command]
    if principal.role not in step.roles or not principal.covers(proposal.desa_code):
        raise Refusal(403, "Peran atau wilayah Anda tidak berwenang untuk langkah ini.")
    if proposal.status not in step.before:
        label = STATUS_LABELS[proposal.status]
        raise Refusal(409, f"Langkah ini tidak bisa dilakukan: status usulan sekarang “{label}”.")
    if principal.household_key and principal.household_key == proposal.household_key:
        raise Refusal(
            403,
            "Konflik kepentingan: usulan ini untuk anggota keluarga (KK) Anda sendiri. "
            "Petugas lain harus memprosesnya.",
        )
    if command is Command.APPROVE and principal.username == proposal.drafted_by:
        raise Refusal(
            403,
            "Aturan dua orang: penyusun usulan tidak boleh menyetujuinya sendiri. "
            "Persetujuan dicatat oleh petugas lain sesudah musyawarah desa.",
        )
    return step.after


PROGRAMS = ("DTKS", "PBI-JK", "PKH", "BPNT")


def manual_refusal(kind: Kind, program: str, in_dtks: bool, id_dtks: str | None) -> str | None:
    """Why a village may not propose this for this person by hand, if it may not."""
    if program not in PROGRAMS:
        return f"Program harus salah satu dari: {', '.join(PROGRAMS)}."
    if kind is Kind.ADD and in_dtks and program == "DTKS":
        return f"Sudah terdaftar di DTKS (ID-DTKS {id_dtks}): tidak perlu diusulkan lagi."
    if kind is not Kind.ADD and not in_dtks:
        return (
            "Belum terdaftar di DTKS: perbaikan, penghapusan dan reaktivasi hanya untuk "
            "orang yang ada di DTKS. Usulkan pendaftaran DTKS."
        )
    return None


# What verval proposes on its own when a verified case needs the ministry (category → program).
PROPOSED_PROGRAM = {
    Category.DTKS_REGISTRATION: "DTKS",
    Category.DTKS_CORRECTION: "DTKS",
    Category.PBI_ENROLMENT: "PBI-JK",
    Category.PBI_REACTIVATION: "PBI-JK",
    Category.PKH: "PKH",
    Category.BPNT: "BPNT",
}


def proposal_for(
    category: Category, *, in_dtks: bool | None, pbi_active: bool | None
) -> tuple[Kind, str] | None:
    """The proposal a verified, consistent case needs, if any: (kind, program).

    Nothing for someone already in DTKS who asks to be registered (the answer is that they
    are in), or whose PBI-JK is active; PKH and BPNT need DTKS first. Nothing either while
    no DTKS snapshot is imported (`in_dtks` None): proposing someone who may already be in
    DTKS is the wasted trip this exists to prevent."""
    program = PROPOSED_PROGRAM.get(category)
    if program is None or in_dtks is None:
        return None
    if category is Category.DTKS_REGISTRATION:
        return None if in_dtks else (Kind.ADD, program)
    if category is Category.DTKS_CORRECTION:
        return (Kind.CORRECTION, program) if in_dtks else (Kind.ADD, program)
    if program == "PBI-JK":
        if pbi_active:
            return None
        reactivate = category is Category.PBI_REACTIVATION and in_dtks
        return (Kind.REACTIVATION if reactivate else Kind.ADD), program
    return (Kind.ADD, program) if in_dtks else (Kind.ADD, "DTKS")


# --- The monthly windows -------------------------------------------------------------------

# The ministry's monthly windows (Kepmensos 150/HUK/2022): name, first and last day.
WINDOWS = {
    "pbi_dtks": ("Usulan PBI-JK (sudah di DTKS)", 1, 11),
    "pbi_new": ("Usulan PBI-JK (belum di DTKS)", 15, 20),
    "dtks": ("Usulan DTKS dan bantuan (PKH, BPNT)", 15, 25),
}
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")  # fmt: skip
WARNING_DAYS = 3  # a window closing this soon gets its unfinished proposals listed


def window_key(program: str, in_dtks: bool | None) -> str:
    if program == "PBI-JK":
        return "pbi_dtks" if in_dtks else "pbi_new"
    return "dtks"


def next_month(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def window_days(key: str, month: date) -> tuple[date, date]:
    """The first and last day of a window in a month."""
    _, first, last = WINDOWS[key]
    return month.replace(day=first), month.replace(day=last)


def batch_month(key: str, today: date) -> date:
    """The month whose window a proposal made today goes in: this month's unless it closed."""
    month = today.replace(day=1)
    return month if today <= window_days(key, month)[1] else next_month(month)


def month_name(month: date) -> str:
    return f"{MONTHS[month.month - 1]} {month.year}"


def batch_name(key: str, month: date) -> str:
    opens, closes = window_days(key, month)
    return f"{WINDOWS[key][0]}, {opens:%d}–{closes:%d} {month_name(month)}"


@dataclass(frozen=True)
class RollOver:
    month: date
    reason: str


def roll_over(status: Status, key: str, month: date, today: date) -> RollOver | None:
    """A proposal not sent when its window closed goes to next month's, with the reason."""
    if status in GONE_UP or today <= window_days(key, month)[1]:
        return None
    moved = batch_month(key, today)
    return RollOver(
        moved,
        f"Jadwal {batch_name(key, month)} sudah tutup sementara usulan masih "
        f"“{STATUS_LABELS[status]}”; usulan pindah ke jadwal {batch_name(key, moved)}.",
    )


def window_open(key: str, month: date, today: date) -> bool:
    opens, closes = window_days(key, month)
    return opens <= today <= closes


def closing_soon(key: str, month: date, today: date) -> bool:
    """Whether the batch's window is open and closes within `WARNING_DAYS`."""
    closes = window_days(key, month)[1]
    return window_open(key, month, today) and closes - today <= timedelta(days=WARNING_DAYS)


@dataclass(frozen=True)
class Pending:
    desa_code: str
    key: str
    month: date
    status: Status


def warnings(pending: Iterable[Pending], today: date) -> dict[str, list[str]]:
    """Per desa: what is still unfinished in batches whose window closes in a few days."""
    counts: dict[tuple[str, str, date], dict[Status, int]] = {}
    for p in pending:
        if p.status in UNFINISHED and closing_soon(p.key, p.month, today):
            by_status = counts.setdefault((p.desa_code, p.key, p.month), {})
            by_status[p.status] = by_status.get(p.status, 0) + 1
    found: dict[str, list[str]] = {}
    for (desa, key, month), by_status in sorted(counts.items()):
        closes = window_days(key, month)[1]
        what = ", ".join(f"{n} {STATUS_LABELS[s].lower()}" for s, n in by_status.items())
        found.setdefault(desa, []).append(
            f"{WINDOWS[key][0]} tutup {closes:%d-%m-%Y}: belum selesai {what}."
        )
    return found


# --- The ministry's answer to a sent batch ----------------------------------------------------

ANSWERS = {"diterima": Status.ACCEPTED, "ditolak": Status.REJECTED}


@dataclass(frozen=True)
class Answer:
    line: int
    nik: str
    status: Status
    reason: str


def parse_answer(line: int, row: dict[str, str]) -> Answer | str:
    """One row of the ministry's answer (`nik`, `hasil` diterima/ditolak, `alasan`), or why
    it cannot be read. A rejection must say why: the village has to tell the citizen."""
    nik = (row.get("nik") or "").strip()
    result = (row.get("hasil") or "").strip().lower()
    reason = (row.get("alasan") or "").strip()[:500]
    if not (nik.isdigit() and len(nik) == 16):
        return "NIK harus 16 angka"
    if result not in ANSWERS:
        return "hasil harus 'diterima' atau 'ditolak'"
    if ANSWERS[result] is Status.REJECTED and not reason:
        return "penolakan tanpa alasan"
    return Answer(line, nik, ANSWERS[result], reason)
