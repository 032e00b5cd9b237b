"""Intake hears what verval, referral and notify did, and writes it on the case's timeline."""

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake import service
from services.intake.domain import CaseStatus
from services.intake.models import Case
from shared.consumer import subscribe
from shared.contracts import (
    CaseClosed,
    CaseVerified,
    Event,
    NotificationFailed,
    NotificationSent,
    ProposalUpdated,
    ReferralCreated,
    ReferralUpdated,
    VisitUpdated,
)
from shared.runtime import ServiceRuntime


async def on_case_verified(session: AsyncSession, event: CaseVerified) -> None:
    consistent = event.identity_consistent
    await service.record_step(
        session=session,
        event=event,
        service="verval",
        step="Verifikasi data selesai" if consistent else "Data perlu diperbaiki",
        note="; ".join(event.findings) or "Data sesuai",
        status=CaseStatus.VERIFIED if consistent else CaseStatus.NEEDS_CORRECTION,
    )


async def on_referral_created(session: AsyncSession, event: ReferralCreated) -> None:
    await service.record_step(
        session=session,
        event=event,
        service="referral",
        step="Dirujuk",
        note=f"Dirujuk ke {event.destination_name}",
        status=CaseStatus.REFERRED,
    )


async def on_referral_updated(session: AsyncSession, event: ReferralUpdated) -> None:
    if event.returns_to_village:
        note = f"{event.destination_name}: {event.rejection_label}. {event.note}".strip()
        await service.return_to_village(session=session, event=event, note=note)
        return
    detail = event.rejection_label or event.note
    await service.record_step(
        session=session,
        event=event,
        service="referral",
        step=f"Rujukan: {event.status_label}",
        note=f"{event.destination_name}" + (f": {detail}" if detail else ""),
        status=None,
    )


async def on_proposal_updated(session: AsyncSession, event: ProposalUpdated) -> None:
    """The case's DTKS proposal moved, or missed its window: what to tell the citizen."""
    await service.record_step(
        session=session,
        event=event,
        service="verval",
        step=f"Usulan {event.program}: {event.status_label}",
        note=f"{event.kind_label}, jadwal {event.batch}. {event.note}".strip(),
        status=None,
    )


async def on_visit_updated(session: AsyncSession, event: VisitUpdated) -> None:
    """A home visit was assigned or done: when to expect the officer, then what they found."""
    if event.visited_on is None:
        step = "Kunjungan rumah dijadwalkan"
        note = f"Kasun atau TKSK datang ke rumah paling lambat {event.due_on:%d-%m-%Y}."
    else:
        step = "Kunjungan rumah dilakukan"
        note = f"Dikunjungi {event.visited_on:%d-%m-%Y}: {event.verdict_label}."
    await service.record_step(
        session=session, event=event, service="verval", step=step, note=note, status=None
    )


async def on_case_closed(session: AsyncSession, event: CaseClosed) -> None:
    await service.close_case(session=session, event=event)


async def on_notification_sent(session: AsyncSession, event: NotificationSent) -> None:
    who = {"citizen": "warga", "village_office": "kantor desa"}.get(event.recipient_kind, "petugas")
    await service.record_step(
        session=session,
        event=event,
        service="notify",
        step="Pemberitahuan terkirim",
        note=f"Pesan tentang {event.about_event} dikirim ke {who} lewat {event.channel}"
        + (f": “{event.text}”" if event.text else ""),
        status=None,
    )


async def on_notification_failed(session: AsyncSession, event: NotificationFailed) -> None:
    # The village office is the way left to reach this citizen: the case page says so.
    await service.record_step(
        session=session,
        event=event,
        service="notify",
        step="Pemberitahuan gagal",
        note=f"Pesan tentang {event.about_event} lewat {event.channel} tidak sampai "
        f"({event.reason}). Kabari warga langsung.",
        status=None,
    )


Apply = Callable[[AsyncSession, Event], Awaitable[None]]


def another_intakes(*, desa: str, village: str | None, edge_desas: frozenset[str]) -> bool:
    """Whether a case this intake does not know was registered by another intake.

    A village edge creates its cases before their events leave, so a case it does not know
    was registered at the district. The district's intake does not hold the cases of desas
    running their own edge. Anywhere else an unknown case is one not applied *yet*."""
    return village is not None or desa in edge_desas


def skipping_others(runtime: ServiceRuntime, apply: Apply) -> Apply:
    village, edge_desas = runtime.settings.village, runtime.settings.edge_desas

    async def apply_if_ours(session: AsyncSession, event: Event) -> None:
        elsewhere = another_intakes(desa=event.area.desa, village=village, edge_desas=edge_desas)
        if elsewhere and await session.get(Case, event.case_id) is None:
            return
        await apply(session, event)

    return apply_if_ours


def subscribe_all(runtime: ServiceRuntime) -> None:
    for event, apply in (
        (CaseVerified, on_case_verified),
        (ReferralCreated, on_referral_created),
        (NotificationSent, on_notification_sent),
        (NotificationFailed, on_notification_failed),
        (ReferralUpdated, on_referral_updated),
        (CaseClosed, on_case_closed),
        (ProposalUpdated, on_proposal_updated),
        (VisitUpdated, on_visit_updated),
    ):
        subscribe(
            runtime.consumers,
            service="intake",
            event=event,
            sessions=runtime.sessions,
            apply=skipping_others(runtime, apply),  # type: ignore[arg-type]
            after_commit=runtime.relay.wake,
            streams=runtime.streams,
        )
