"""The village's handling of a case: who must act next, and what each role may do. No I/O.

The back office answers what the village can and resolves the case locally, or proposes it
upward with a reason; the village coordinator approves what leaves the village (or sends it
back), and where the village requires it its head signs too; the sub-district supervisor
forwards it to the district secretariat or returns it to the village with a note. The
village reviews, the district decides.
"""

from dataclasses import dataclass
from enum import StrEnum

from shared.auth import Role


class Stage(StrEnum):
    """Whose queue the case is in."""

    VILLAGE = "village"
    AWAITING_APPROVAL = "awaiting_approval"
    AWAITING_HEAD = "awaiting_head"
    SUPERVISOR = "supervisor"
    DISTRICT = "district"
    RESOLVED_LOCALLY = "resolved_locally"


STAGE_LABELS = {
    Stage.VILLAGE: "Ditangani back office desa",
    Stage.AWAITING_APPROVAL: "Menunggu persetujuan koordinator desa",
    Stage.AWAITING_HEAD: "Menunggu persetujuan kepala desa",
    Stage.SUPERVISOR: "Ditinjau supervisor kecamatan",
    Stage.DISTRICT: "Diteruskan ke Sekretariat SLRT kabupaten",
    Stage.RESOLVED_LOCALLY: "Selesai ditangani di desa",
}


class Action(StrEnum):
    RESOLVE_LOCALLY = "resolve_locally"
    PROPOSE_UPWARD = "propose_upward"
    APPROVE = "approve"
    SEND_BACK = "send_back"
    HEAD_APPROVE = "head_approve"
    HEAD_SEND_BACK = "head_send_back"
    FORWARD = "forward"
    RETURN_TO_VILLAGE = "return_to_village"
    OVERRIDE_CONSENT = "override_consent"


class Resolution(StrEnum):
    """What the village gave the citizen when it resolved the case itself."""

    INFORMATION = "informasi"
    DOCUMENT = "dokumen"
    VILLAGE_LETTER = "surat_desa"  # e.g. an SKTM
    REDIRECTED = "dialihkan"  # a matter for another office, outside social welfare


@dataclass(frozen=True)
class Move:
    source: Stage
    target: Stage
    role: Role
    label: str  # the button, in the operator's words
    step: str  # the timeline's words


MOVES: dict[Action, Move] = {
    Action.RESOLVE_LOCALLY: Move(
        Stage.VILLAGE,
        Stage.RESOLVED_LOCALLY,
        Role.BACK_OFFICE,
        "Selesaikan di desa",
        "Diselesaikan di desa",
    ),
    Action.PROPOSE_UPWARD: Move(
        Stage.VILLAGE,
        Stage.AWAITING_APPROVAL,
        Role.BACK_OFFICE,
        "Usulkan ke kecamatan",
        "Diusulkan ke atas",
    ),
    Action.APPROVE: Move(
        Stage.AWAITING_APPROVAL,
        Stage.SUPERVISOR,
        Role.COORDINATOR,
        "Setujui dan kirim",
        "Disetujui koordinator",
    ),
    Action.SEND_BACK: Move(
        Stage.AWAITING_APPROVAL,
        Stage.VILLAGE,
        Role.COORDINATOR,
        "Kembalikan ke back office",
        "Dikembalikan koordinator",
    ),
    Action.HEAD_APPROVE: Move(
        Stage.AWAITING_HEAD,
        Stage.SUPERVISOR,
        Role.VILLAGE_HEAD,
        "Setujui sebagai kepala desa dan kirim",
        "Disetujui kepala desa",
    ),
    Action.HEAD_SEND_BACK: Move(
        Stage.AWAITING_HEAD,
        Stage.VILLAGE,
        Role.VILLAGE_HEAD,
        "Kembalikan ke back office",
        "Dikembalikan kepala desa",
    ),
    Action.FORWARD: Move(
        Stage.SUPERVISOR,
        Stage.DISTRICT,
        Role.SUPERVISOR,
        "Teruskan ke kabupaten",
        "Diteruskan ke kabupaten",
    ),
    Action.RETURN_TO_VILLAGE: Move(
        Stage.SUPERVISOR,
        Stage.VILLAGE,
        Role.SUPERVISOR,
        "Kembalikan ke desa",
        "Dikembalikan ke desa",
    ),
    # A citizen who did not consent (could not be asked, say) is referred outside the
    # village only on the supervisor's word, with a reason; the case stays where it is.
    Action.OVERRIDE_CONSENT: Move(
        Stage.SUPERVISOR,
        Stage.SUPERVISOR,
        Role.SUPERVISOR,
        "Izinkan rujukan tanpa persetujuan warga",
        "Persetujuan warga dikecualikan supervisor",
    ),
}


# Approvals may be given without a note; every other step says why.
SILENT_APPROVALS = frozenset({Action.APPROVE, Action.HEAD_APPROVE})


class TransitionRefused(Exception):
    """An action the case's stage or the operator's role does not allow; says why."""

    def __init__(self, message: str, *, why: str) -> None:
        super().__init__(message)
        self.why = why  # "role", "stage" or "input"


def move(
    stage: Stage,
    action: Action,
    role: Role,
    *,
    reason: str,
    resolution: Resolution | None,
    consent: bool = False,
    head_signs: bool = False,
) -> Stage:
    """The stage after `action`, or TransitionRefused saying what is wrong. `consent`: the
    citizen's data may already be shared (they consented, or a supervisor allowed it);
    `head_signs`: the village requires its head's approval after the coordinator's."""
    step = MOVES[action]
    if role is not step.role:
        raise TransitionRefused(
            f"Langkah ini ({step.label}) dilakukan oleh {step.role.value}.", why="role"
        )
    if stage is not step.source:
        raise TransitionRefused(
            f"Tidak bisa '{step.label}': kasus sedang pada tahap '{STAGE_LABELS[stage]}'.",
            why="stage",
        )
    if action is Action.OVERRIDE_CONSENT and consent:
        raise TransitionRefused(
            "Warga sudah setuju datanya dibagikan (atau sudah dikecualikan).", why="stage"
        )
    if action not in SILENT_APPROVALS and len(reason.strip()) < 5:
        raise TransitionRefused("Tuliskan alasan atau catatan (minimal 5 huruf).", why="input")
    if action is Action.RESOLVE_LOCALLY and resolution is None:
        raise TransitionRefused(
            "Pilih bentuk penyelesaian (informasi, dokumen, surat desa, dialihkan).", why="input"
        )
    if action is Action.APPROVE and head_signs:
        return Stage.AWAITING_HEAD
    return step.target


def actions_for(stage: Stage, role: Role, *, consent: bool = True) -> list[Action]:
    """The actions an operator of `role` can take on a case at `stage` (for the page's
    buttons); the consent override only where there is no consent."""
    return [
        action
        for action, step in MOVES.items()
        if step.source is stage
        and step.role is role
        and not (action is Action.OVERRIDE_CONSENT and consent)
    ]
