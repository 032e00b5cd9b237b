"""Notify's rules: what a citizen is told about each event, in plain Bahasa Indonesia. No I/O.

District-editable templates and the SMS segment rules come with the notify issue; these
are the built-in texts.
"""

from shared.contracts import CaseRegistered, CaseVerified, Event, ReferralCreated

SENDER = "SLRT"


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
