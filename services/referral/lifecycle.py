"""A referral's lifecycle: which command moves it from which status to which. No I/O.

    created → sent → accepted | rejected → in service → completed | failed
    cancel from any open status; reopen an ended one (back to created).

Every command carries who gives it and why; `decide` refuses an impossible move or a
missing reason with a `Refusal` the secretariat can read (409, 422 or 403).
"""

from dataclasses import dataclass
from enum import StrEnum

from shared.auth import Principal, Role
from shared.errors import Refusal


class Status(StrEnum):
    CREATED = "created"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    Status.CREATED: "Dibuat, belum dikirim",
    Status.SENT: "Dikirim ke instansi",
    Status.ACCEPTED: "Diterima instansi",
    Status.REJECTED: "Ditolak instansi",
    Status.IN_SERVICE: "Sedang dilayani",
    Status.COMPLETED: "Selesai",
    Status.FAILED: "Gagal",
    Status.CANCELLED: "Dibatalkan",
}

ENDED = frozenset({Status.REJECTED, Status.COMPLETED, Status.FAILED, Status.CANCELLED})


class Command(StrEnum):
    SEND = "send"
    ACCEPT = "accept"
    REJECT = "reject"
    START = "start"
    COMPLETE = "complete"
    FAIL = "fail"
    CANCEL = "cancel"
    REOPEN = "reopen"


COMMAND_LABELS = {
    Command.SEND: "Kirim ke instansi",
    Command.ACCEPT: "Terima",
    Command.REJECT: "Tolak",
    Command.START: "Mulai layanan",
    Command.COMPLETE: "Selesaikan",
    Command.FAIL: "Nyatakan gagal",
    Command.CANCEL: "Batalkan",
    Command.REOPEN: "Buka kembali",
}

MOVES: dict[tuple[Status, Command], Status] = {
    (Status.CREATED, Command.SEND): Status.SENT,
    (Status.SENT, Command.ACCEPT): Status.ACCEPTED,
    (Status.SENT, Command.REJECT): Status.REJECTED,
    (Status.ACCEPTED, Command.START): Status.IN_SERVICE,
    (Status.ACCEPTED, Command.FAIL): Status.FAILED,
    (Status.IN_SERVICE, Command.COMPLETE): Status.COMPLETED,
    (Status.IN_SERVICE, Command.FAIL): Status.FAILED,
    **{(s, Command.CANCEL): Status.CANCELLED for s in Status if s not in ENDED},
    **{(s, Command.REOPEN): Status.CREATED for s in ENDED},
}

# What the agency itself answers; the secretariat may record these too (an answer by letter).
AGENCY_COMMANDS = frozenset(
    {Command.ACCEPT, Command.REJECT, Command.START, Command.COMPLETE, Command.FAIL}
)
SECRETARIAT_ROLES = frozenset({Role.SECRETARIAT, Role.SECRETARIAT_HEAD})


class RejectionReason(StrEnum):
    NOT_ELIGIBLE = "not_eligible"
    DATA_MISMATCH = "data_mismatch"
    DOCUMENTS_INCOMPLETE = "documents_incomplete"
    DUPLICATE = "duplicate"
    WINDOW_CLOSED = "window_closed"
    QUOTA_FULL = "quota_full"
    OTHER = "other"


REJECTION_LABELS = {
    RejectionReason.NOT_ELIGIBLE: "Tidak memenuhi syarat",
    RejectionReason.DATA_MISMATCH: "Data tidak sesuai dengan Dukcapil",
    RejectionReason.DOCUMENTS_INCOMPLETE: "Dokumen belum lengkap",
    RejectionReason.DUPLICATE: "Sudah pernah diusulkan (ganda)",
    RejectionReason.WINDOW_CLOSED: "Jadwal pengusulan bulan ini sudah tutup",
    RejectionReason.QUOTA_FULL: "Kuota penuh",
    RejectionReason.OTHER: "Alasan lain",
}

# Rejections the village can fix (correct the data, bring the documents) and send again.
RETURN_TO_VILLAGE = frozenset({RejectionReason.DATA_MISMATCH, RejectionReason.DOCUMENTS_INCOMPLETE})


class NotServedReason(StrEnum):
    REFUSED_BY_CITIZEN = "refused_by_citizen"
    NO_CAPACITY = "no_capacity"
    UNREACHABLE = "unreachable"
    NO_LONGER_NEEDED = "no_longer_needed"
    OTHER = "other"


NOT_SERVED_LABELS = {
    NotServedReason.REFUSED_BY_CITIZEN: "Ditolak oleh warga",
    NotServedReason.NO_CAPACITY: "Instansi tidak punya kapasitas",
    NotServedReason.UNREACHABLE: "Warga tidak dapat dihubungi",
    NotServedReason.NO_LONGER_NEEDED: "Tidak diperlukan lagi",
    NotServedReason.OTHER: "Alasan lain",
}


@dataclass(frozen=True)
class Order:
    """A command with everything that may come with it."""

    command: Command
    note: str = ""
    rejection: RejectionReason | None = None
    served: bool | None = None
    not_served: NotServedReason | None = None
    consent_override: bool = False


def decide(status: Status, order: Order, *, consent: bool) -> Status:
    """The status `order` moves a referral in `status` to, or a `Refusal`."""
    target = MOVES.get((status, order.command))
    if target is None:
        raise Refusal(
            409,
            f"Rujukan berstatus '{STATUS_LABELS[status]}' tidak dapat "
            f"'{COMMAND_LABELS[order.command].lower()}'.",
        )
    _check_particulars(order, consent=consent)
    return target


def _check_particulars(order: Order, *, consent: bool) -> None:
    note = order.note.strip()
    if order.command is Command.SEND and not consent and not order.consent_override:
        raise Refusal(
            409,
            "Warga belum memberi persetujuan berbagi data; rujukan hanya dapat dikirim "
            "dengan pengecualian oleh kepala sekretariat beserta alasannya.",
        )
    if order.command is Command.SEND and not consent and order.consent_override and not note:
        raise Refusal(422, "Tulis alasan pengecualian persetujuan warga.")
    if order.command is Command.REJECT:
        if order.rejection is None:
            raise Refusal(422, "Pilih alasan penolakan.")
        if order.rejection is RejectionReason.OTHER and not note:
            raise Refusal(422, "Tulis alasan penolakan.")
    if order.command is Command.COMPLETE:
        if order.served is None:
            raise Refusal(422, "Isi hasil layanan: dilayani atau tidak.")
        if not order.served and order.not_served is None:
            raise Refusal(422, "Pilih mengapa warga tidak dilayani.")
    if order.command in {Command.CANCEL, Command.REOPEN, Command.FAIL} and not note:
        raise Refusal(422, "Tulis alasannya.")


def may_give(principal: Principal, command: Command, *, destination: str) -> bool:
    """Whether this user may give the command on a referral to `destination`.

    The secretariat drives every referral; a liaison answers only for their own agency;
    only the secretariat head may override a missing consent (checked in `authorise`).
    """
    if principal.role in SECRETARIAT_ROLES:
        return True
    return (
        principal.role is Role.LIAISON
        and principal.agency == destination
        and command in AGENCY_COMMANDS
    )


def authorise(principal: Principal, order: Order, *, destination: str) -> None:
    if not may_give(principal, order.command, destination=destination):
        raise Refusal(403, "Anda tidak berwenang melakukan tindakan ini pada rujukan ini.")
    if order.consent_override and principal.role is not Role.SECRETARIAT_HEAD:
        raise Refusal(403, "Hanya kepala sekretariat yang dapat mengecualikan persetujuan warga.")


def commands_for(principal: Principal, status: Status, *, destination: str) -> list[Command]:
    """The commands this user may give now, for the referral page's buttons."""
    return [
        command
        for (source, command) in MOVES
        if source is status and may_give(principal, command, destination=destination)
    ]


class CardStage(StrEnum):
    """The KIS card's way to the citizen; it must be collected in person at BPJS."""

    TEMPORARY = "temporary"
    READY = "ready_for_collection"
    COLLECTED = "collected"


CARD_LABELS = {
    CardStage.TEMPORARY: "Kartu sementara terbit",
    CardStage.READY: "Kartu siap diambil di kantor BPJS Kesehatan",
    CardStage.COLLECTED: "Kartu sudah diambil",
}
CARD_ORDER = list(CardStage)
CARD_STATUSES = frozenset({Status.IN_SERVICE, Status.COMPLETED})


def next_card(status: Status, current: CardStage | None, new: CardStage) -> CardStage:
    """A card moves forward only, and only while the referral is served or completed."""
    if status not in CARD_STATUSES:
        raise Refusal(409, "Status kartu dicatat setelah layanan dimulai.")
    if current is not None and CARD_ORDER.index(new) <= CARD_ORDER.index(current):
        raise Refusal(409, f"Kartu sudah pada tahap '{CARD_LABELS[current]}'.")
    return new
