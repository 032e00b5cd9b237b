"""Notify's rules: what a citizen is told about each event, in plain Bahasa Indonesia. No I/O.

District-editable templates and the SMS segment rules come with the notify issue; these
are the built-in texts.
"""

from dataclasses import dataclass

from shared.contracts import CaseRegistered, CaseVerified, Event, ReferralCreated

SENDER = "SLRT"


# A citizen hears the steps in the order they happened although the events reach notify on
# separate consumers: a message waits until the one about the step before it was sent.
COMES_AFTER: dict[str, str] = {
    CaseVerified.TYPE: CaseRegistered.TYPE,
    ReferralCreated.TYPE: CaseVerified.TYPE,
}


def compose(event: Event, *, registration_number: str) -> str:
    """The message for `event`; every message names the registration number."""
    reg = registration_number
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
