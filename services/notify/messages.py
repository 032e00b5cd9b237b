"""What a citizen or officer is told about each event: message kinds, their values, their
built-in texts (which a district may replace per channel), and rendering. No I/O.

A template is Jinja2 text run in a sandbox with every value required, so a district's
edit that names an unknown value is refused when it is saved, not when a citizen waits.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from shared.areas import WIB
from shared.contracts import (
    CaseClosed,
    CaseEscalated,
    CaseRegistered,
    CaseReopened,
    CaseVerified,
    Event,
    ReferralCreated,
    ReferralOverdue,
    ReferralUpdated,
    category_label,
)


@dataclass(frozen=True)
class MessageKind:
    """One kind of message: its label for the template page, its values, its built-in text."""

    label: str
    values: tuple[str, ...]
    default: str


KINDS: dict[str, MessageKind] = {
    "terdaftar": MessageKind(
        "Pengaduan tercatat",
        ("nomor", "dokumen_kurang"),
        "SLRT: Pengaduan Anda tercatat dengan nomor {{ nomor }}. Simpan nomor ini. "
        "{% if dokumen_kurang %}Dokumen yang masih kurang: {{ dokumen_kurang }}; bawa ke "
        "kantor desa. {% endif %}Data Anda akan diperiksa dan kami kabari langkah berikutnya.",
    ),
    "data_sesuai": MessageKind(
        "Verifikasi data selesai",
        ("nomor",),
        "SLRT: Data kasus {{ nomor }} sudah diperiksa dan sesuai. Kasus Anda akan dirujuk.",
    ),
    "data_perlu_diperbaiki": MessageKind(
        "Data perlu diperbaiki di Dukcapil",
        ("nomor", "yang_diperbaiki"),
        "SLRT: Data kasus {{ nomor }} perlu diperbaiki ({{ yang_diperbaiki }}). "
        "Silakan datang ke kantor desa membawa KTP dan KK.",
    ),
    "dirujuk": MessageKind(
        "Kasus dirujuk",
        ("nomor", "tujuan"),
        "SLRT: Kasus {{ nomor }} sudah dirujuk ke {{ tujuan }}. Kami kabari hasilnya.",
    ),
    "rujukan_dikirim": MessageKind(
        "Rujukan dikirim",
        ("nomor", "tujuan"),
        "SLRT: Kasus {{ nomor }} sudah dikirim ke {{ tujuan }}. Kami kabari jawabannya.",
    ),
    "rujukan_diterima": MessageKind(
        "Rujukan diterima",
        ("nomor", "tujuan"),
        "SLRT: Rujukan kasus {{ nomor }} diterima oleh {{ tujuan }} dan akan dilayani.",
    ),
    "rujukan_ditolak": MessageKind(
        "Rujukan ditolak",
        ("nomor", "tujuan", "alasan", "langkah"),
        "SLRT: Rujukan kasus {{ nomor }} ke {{ tujuan }} ditolak: {{ alasan }}. {{ langkah }}",
    ),
    "layanan_selesai": MessageKind(
        "Layanan selesai",
        ("nomor", "tujuan", "hasil"),
        "SLRT: Layanan {{ tujuan }} untuk kasus {{ nomor }} {{ hasil }}.",
    ),
    "layanan_gagal": MessageKind(
        "Layanan tidak berhasil",
        ("nomor", "tujuan"),
        "SLRT: Layanan {{ tujuan }} untuk kasus {{ nomor }} tidak berhasil. Petugas desa akan "
        "menghubungi Anda.",
    ),
    "rujukan_dibatalkan": MessageKind(
        "Rujukan dibatalkan",
        ("nomor", "tujuan"),
        "SLRT: Rujukan kasus {{ nomor }} ke {{ tujuan }} dibatalkan. Tanyakan di kantor desa.",
    ),
    "kartu_sementara": MessageKind(
        "Kartu KIS sementara terbit",
        ("nomor",),
        "SLRT: Kartu KIS sementara untuk kasus {{ nomor }} sudah terbit dan dapat dipakai.",
    ),
    "kartu_siap": MessageKind(
        "Kartu KIS siap diambil",
        ("nomor",),
        "SLRT: Kartu KIS kasus {{ nomor }} siap diambil di kantor BPJS Kesehatan. Datang "
        "sendiri membawa KTP, KK dan surat pengantar Dinas Sosial; perangkat desa dapat "
        "mendampingi.",
    ),
    "kasus_selesai": MessageKind(
        "Kasus ditutup",
        ("nomor", "hasil"),
        "SLRT: Kasus {{ nomor }} selesai. Hasil: {{ hasil }}. Terima kasih. Nilai layanan kami "
        "di halaman status SLRT.",
    ),
    "dibuka_kembali": MessageKind(
        "Kasus dibuka kembali",
        ("nomor", "alasan"),
        "SLRT: Kasus {{ nomor }} dibuka kembali atas permintaan Anda ({{ alasan }}). "
        "Kantor desa akan menghubungi Anda.",
    ),
    "eskalasi": MessageKind(
        "Kasus diteruskan (untuk supervisor atau sekretariat)",
        ("nomor", "kategori", "tujuan", "alasan", "mendesak"),
        "SLRT{% if mendesak %} MENDESAK{% endif %}: kasus {{ nomor }} ({{ kategori }}) "
        "diteruskan ke {{ tujuan }}: {{ alasan }}. Mohon diperiksa.",
    ),
    "terlambat": MessageKind(
        "Rujukan terlambat (untuk kepala sekretariat)",
        ("kasus", "tujuan", "tahap", "batas", "mendesak"),
        "SLRT{% if mendesak %} MENDESAK{% endif %}: {{ kasus }} ke {{ tujuan }} terlambat pada "
        "tahap {{ tahap }} (batas {{ batas }} WIB). Mohon ditindaklanjuti.",
    ),
}

# What the example values look like when a district checks an edited template.
SAMPLE_VALUES: dict[str, Any] = {
    "nomor": "3317012001-2611-0007",
    "dokumen_kurang": "fotokopi KK, SKTM",
    "yang_diperbaiki": "tanggal lahir",
    "tujuan": "BPJS Kesehatan / Dinas Kesehatan",
    "alasan": "data tidak sesuai",
    "langkah": "Silakan datang ke kantor desa.",
    "hasil": "selesai",
    "kasus": "kasus 3317012001-2611-0007",
    "kategori": "PBI-JK/KIS tidak aktif (reaktivasi)",
    "tahap": "sent",
    "batas": "18-08-2026 16:00",
    "mendesak": True,
}


@dataclass(frozen=True)
class Message:
    """What to say, before a template turns it into text."""

    kind: str
    values: dict[str, Any]


class TemplateProblem(ValueError):
    """A template that cannot be rendered; the text says why, in words for the editor."""


_env = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


@lru_cache(maxsize=256)
def _compiled(template: str) -> Template:
    """Compiling costs far more than rendering; templates change only when an editor saves."""
    return _env.from_string(template)


def render(template: str, values: dict[str, Any]) -> str:
    """The message text; blanks from `{% if %}` blocks are folded so an SMS wastes nothing."""
    try:
        text = _compiled(template).render(values)
    except TemplateError as exc:
        raise TemplateProblem(f"templat tidak dapat dipakai: {exc.message or exc}") from None
    return " ".join(text.split())


def check_template(kind: str, template: str) -> str:
    """The template rendered with example values, or TemplateProblem saying what is wrong."""
    if kind not in KINDS:
        raise TemplateProblem(f"jenis pesan tidak dikenal: {kind}")
    if not template.strip():
        raise TemplateProblem("templat tidak boleh kosong")
    values = {name: SAMPLE_VALUES[name] for name in KINDS[kind].values}
    return render(template, values)


def message_for(event: Event, *, registration_number: str) -> Message | None:
    """What the citizen hears about `event`, or None when they need not hear of it (a
    referral put back to work, a card collected). Every message names the registration
    number."""
    nomor = {"nomor": registration_number}
    if isinstance(event, CaseRegistered):
        missing = ", ".join(event.missing_documents)
        return Message("terdaftar", nomor | {"dokumen_kurang": missing})
    if isinstance(event, CaseVerified):
        if event.identity_consistent:
            return Message("data_sesuai", nomor)
        return Message(
            "data_perlu_diperbaiki", nomor | {"yang_diperbaiki": "; ".join(event.findings)}
        )
    if isinstance(event, ReferralCreated):
        return Message("dirujuk", nomor | {"tujuan": event.destination_name})
    if isinstance(event, ReferralUpdated):
        return _referral_update(event, nomor | {"tujuan": event.destination_name})
    if isinstance(event, CaseClosed):
        return Message("kasus_selesai", nomor | {"hasil": event.summary})
    if isinstance(event, CaseReopened):
        return Message("dibuka_kembali", nomor | {"alasan": event.reason})
    raise ValueError(f"no message for {event.type}")


STATUS_KINDS = {
    "sent": "rujukan_dikirim",
    "accepted": "rujukan_diterima",
    "failed": "layanan_gagal",
    "cancelled": "rujukan_dibatalkan",
}
CARD_KINDS = {"temporary": "kartu_sementara", "ready_for_collection": "kartu_siap"}


def _referral_update(event: ReferralUpdated, values: dict[str, Any]) -> Message | None:
    if event.command == "card":
        kind = CARD_KINDS.get(event.card_stage or "")
        return Message(kind, values) if kind else None
    if event.status == "rejected":
        then = (
            "Silakan datang ke kantor desa untuk memperbaiki data atau melengkapi dokumen, "
            "lalu kasus dikirim lagi."
            if event.returns_to_village
            else "Tanyakan pilihan bantuan lain di kantor desa."
        )
        return Message(
            "rujukan_ditolak", values | {"alasan": event.rejection_label, "langkah": then}
        )
    if event.status == "completed":
        done = "selesai" if event.served else "tidak dapat dilayani"
        return Message("layanan_selesai", values | {"hasil": done})
    kind = STATUS_KINDS.get(event.status)
    return Message(kind, values) if kind else None


ESCALATION_TARGETS = {"kecamatan": "supervisor kecamatan", "kabupaten": "sekretariat SLRT"}


def escalation_message(event: CaseEscalated) -> Message:
    """For the officer who must act next on a case that left the village or sub-district."""
    return Message(
        "eskalasi",
        {
            "nomor": event.registration_number,
            "kategori": category_label(event.category),
            "tujuan": ESCALATION_TARGETS[event.level],
            "alasan": event.reason,
            "mendesak": event.urgent,
        },
    )


def overdue_message(event: ReferralOverdue, *, registration_number: str | None) -> Message:
    """For the secretariat head: which referral is late, at which step, since when."""
    which = (
        f"kasus {registration_number}" if registration_number else f"rujukan {event.referral_id}"
    )
    return Message(
        "terlambat",
        {
            "kasus": which,
            "tujuan": event.destination,
            "tahap": event.status,
            "batas": event.due_at.astimezone(WIB).strftime("%d-%m-%Y %H:%M"),
            "mendesak": event.urgent,
        },
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
