"""Notify's rules: what a citizen is told about each event, in plain Bahasa Indonesia. No I/O.

District-editable templates and the SMS segment rules come with the notify issue; these
are the built-in texts.
"""

from dataclasses import dataclass

from shared.areas import WIB
from shared.contracts import (
    CaseClosed,
    CaseRegistered,
    CaseVerified,
    Event,
    ReferralCreated,
    ReferralOverdue,
    ReferralUpdated,
)

SENDER = "SLRT"


# A citizen hears the steps in the order they happened although the events reach notify on
# separate consumers: a message waits until the one about the step before it was sent.
COMES_AFTER: dict[str, str] = {
    CaseVerified.TYPE: CaseRegistered.TYPE,
    ReferralCreated.TYPE: CaseVerified.TYPE,
    ReferralUpdated.TYPE: ReferralCreated.TYPE,
    # A case closes when its last referral ends, and every ending is told.
    CaseClosed.TYPE: ReferralUpdated.TYPE,
}


def compose(event: Event, *, registration_number: str) -> str | None:
    """The message for `event`, or None when the citizen need not hear of it (a referral
    put back to work, a card collected). Every message names the registration number."""
    if isinstance(event, ReferralUpdated):
        return _referral_update(event, registration_number)
    if isinstance(event, CaseClosed):
        return (
            f"{SENDER}: Kasus {registration_number} selesai. Hasil: {event.summary}. "
            "Terima kasih. Nilai layanan kami di halaman status SLRT."
        )
    return _case_step(event, registration_number)


def _case_step(event: Event, reg: str) -> str:
    if isinstance(event, CaseRegistered):
        return (
            f"{SENDER}: Pengaduan Anda tercatat dengan nomor {reg}. Simpan nomor ini. "
            "Data Anda akan diperiksa dan kami kabari langkah berikutnya."
        )
    if isinstance(event, CaseVerified):
        if event.identity_consistent:
            return (
                f"{SENDER}: Data kasus {reg} sudah diperiksa dan sesuai. Kasus Anda akan dirujuk."
            )
        return (
            f"{SENDER}: Data kasus {reg} perlu diperbaiki ({'; '.join(event.findings)}). "
            "Silakan datang ke kantor desa membawa KTP dan KK."
        )
    if isinstance(event, ReferralCreated):
        where = event.destination_name
        return f"{SENDER}: Kasus {reg} sudah dirujuk ke {where}. Kami kabari hasilnya."
    raise ValueError(f"no message for {event.type}")


CARD_READY = (
    "Kartu KIS kasus {reg} siap diambil di kantor BPJS Kesehatan. Datang sendiri membawa "
    "KTP, KK dan surat pengantar Dinas Sosial; perangkat desa dapat mendampingi."
)


def _referral_update(event: ReferralUpdated, reg: str) -> str | None:
    where = event.destination_name
    if event.command == "card":
        if event.card_stage == "temporary":
            return (
                f"{SENDER}: Kartu KIS sementara untuk kasus {reg} sudah terbit dan dapat dipakai."
            )
        if event.card_stage == "ready_for_collection":
            return f"{SENDER}: " + CARD_READY.format(reg=reg)
        return None
    if event.status == "rejected":
        then = (
            "Silakan datang ke kantor desa untuk memperbaiki data atau melengkapi dokumen, "
            "lalu kasus dikirim lagi."
            if event.returns_to_village
            else "Tanyakan pilihan bantuan lain di kantor desa."
        )
        return f"{SENDER}: Rujukan kasus {reg} ke {where} ditolak: {event.rejection_label}. {then}"
    texts = {
        "sent": f"Kasus {reg} sudah dikirim ke {where}. Kami kabari jawabannya.",
        "accepted": f"Rujukan kasus {reg} diterima oleh {where} dan akan dilayani.",
        "failed": f"Layanan {where} untuk kasus {reg} tidak berhasil. Petugas desa akan "
        "menghubungi Anda.",
        "cancelled": f"Rujukan kasus {reg} ke {where} dibatalkan. Tanyakan di kantor desa.",
    }
    if event.status == "completed":
        done = "selesai" if event.served else "tidak dapat dilayani"
        return f"{SENDER}: Layanan {where} untuk kasus {reg} {done}."
    text = texts.get(event.status)
    return f"{SENDER}: {text}" if text else None


def compose_overdue(event: ReferralOverdue, *, registration_number: str | None) -> str:
    """For the secretariat head: which referral is late, at which step, since when."""
    which = (
        f"kasus {registration_number}" if registration_number else f"rujukan {event.referral_id}"
    )
    urgent = " MENDESAK" if event.urgent else ""
    due = event.due_at.astimezone(WIB).strftime("%d-%m-%Y %H:%M")
    return (
        f"{SENDER}{urgent}: {which} ke {event.destination} terlambat pada tahap {event.status} "
        f"(batas {due} WIB). Mohon ditindaklanjuti."
    )


# GSM 03.38: the default alphabet (one septet each) and its extension table (escape + char).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsParts:
    """How an SMS text travels: its encoding, its length in that encoding, its segments."""

    encoding: str
    units: int
    segments: int


def sms_parts(text: str) -> SmsParts:
    """GSM-7 when every character fits (160 septets, or 153 per part when split),
    otherwise UCS-2 (70 code units, or 67 per part)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        septets = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        return SmsParts("GSM-7", septets, _segments(septets, single=160, part=153))
    units = len(text.encode("utf-16-le")) // 2
    return SmsParts("UCS-2", units, _segments(units, single=70, part=67))


def _segments(length: int, *, single: int, part: int) -> int:
    if length <= single:
        return 1
    return -(-length // part)


OPT_OUT_WORDS = frozenset({"STOP", "BERHENTI"})
OPT_IN_WORDS = frozenset({"START", "MULAI"})


def reply_intent(text: str) -> str | None:
    """'opt_out' for STOP/BERHENTI, 'opt_in' for START/MULAI (first word, any case), else None."""
    words = text.strip().upper().split()
    first = words[0].strip(".!") if words else ""
    if first in OPT_OUT_WORDS:
        return "opt_out"
    if first in OPT_IN_WORDS:
        return "opt_in"
    return None
