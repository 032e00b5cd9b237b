"""A month's batch of one window: the Bupati's or Sekda's ratification, sending in the
window, the ministry's CSV, and the ministry's answer, row by row."""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.verval import registry
from services.verval.models import Proposal
from services.verval.proposal_service import audit_refusal, record_step, take_step
from services.verval.proposals import (
    GONE_UP,
    RATIFIERS,
    Command,
    Kind,
    Status,
    batch_name,
    parse_answer,
    window_days,
    window_open,
)
from shared.accounts import audit
from shared.auth import Principal, Role
from shared.errors import Refusal


def parse_month(text: str) -> date:
    """`2026-12` → the first of December 2026, or a 422 the admin can read."""
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise Refusal(
            422, "Bulan tidak valid, gunakan format TTTT-BB (misalnya 2026-12)."
        ) from None


async def batch(
    session: AsyncSession, principal: Principal, key: str, month: date
) -> list[Proposal]:
    """A month's batch of one window, in the user's area, by desa."""
    query = select(Proposal).where(Proposal.window == key, Proposal.batch_month == month)
    rows = (await session.exec(query.order_by(col(Proposal.desa_code), col(Proposal.name)))).all()
    return [p for p in rows if principal.covers(p.desa_code)]


@dataclass(frozen=True)
class BatchResult:
    done: list[Proposal]
    skipped: list[tuple[Proposal, str]]  # not ratified, and why (conflict of interest)


async def ratify_batch(
    *, session: AsyncSession, principal: Principal, key: str, month: date, trace_id: str
) -> BatchResult:
    """The Bupati (or the Sekda by delegation) ratifies every verified proposal of a batch.
    A proposal for their own household is left for the other to ratify, and said so."""
    if principal.role not in RATIFIERS:
        raise Refusal(403, "Hanya Bupati atau Sekda (atas delegasi) yang mengesahkan usulan.")
    return await _whole_batch(session, principal, key, month, Command.RATIFY, trace_id)


async def send_batch(
    *,
    session: AsyncSession,
    principal: Principal,
    key: str,
    month: date,
    today: date,
    trace_id: str,
) -> BatchResult:
    """Send a batch's ratified proposals; only while the ministry's window is open."""
    _require_dtks_admin(principal)
    if not window_open(key, month, today):
        opens, closes = window_days(key, month)
        raise Refusal(
            409,
            f"Jadwal {batch_name(key, month)} tidak sedang buka (buka {opens:%d-%m-%Y} sampai "
            f"{closes:%d-%m-%Y}): sistem Kemensos terkunci di luar jadwal.",
        )
    return await _whole_batch(session, principal, key, month, Command.SEND, trace_id)


async def _whole_batch(
    session: AsyncSession,
    principal: Principal,
    key: str,
    month: date,
    command: Command,
    trace_id: str,
) -> BatchResult:
    done: list[Proposal] = []
    skipped: list[tuple[Proposal, str]] = []
    ready = Status.VERIFIED if command is Command.RATIFY else Status.RATIFIED
    for proposal in await batch(session, principal, key, month):
        if proposal.status != ready.value:
            continue
        try:
            await take_step(session, principal, proposal, command, trace_id)
        except Refusal as refusal:
            audit_refusal(session, principal, (proposal.id, proposal.case_id), refusal)
            skipped.append((proposal, refusal.message))
            continue
        done.append(proposal)
    await session.commit()
    return BatchResult(done, skipped)


CSV_COLUMNS = ("no", "nik", "no_kk", "nama", "tanggal_lahir", "alamat", "kode_desa", "jenis",
               "program", "id_dtks", "tanggal_musdes", "disahkan_oleh")  # fmt: skip


def _require_dtks_admin(principal: Principal) -> None:
    if principal.role is not Role.DTKS_ADMIN:
        raise Refusal(403, "Hanya operator DTKS kabupaten yang mengirim dan mengunduh batch.")


async def export(*, session: AsyncSession, principal: Principal, key: str, month: date) -> str:
    """A batch's sent proposals as the ministry's CSV; the download is audited."""
    _require_dtks_admin(principal)
    rows = await batch(session, principal, key, month)
    text = batch_csv(rows)
    audit(
        session=session,
        principal=principal,
        action="proposal.export",
        purpose=f"unduh batch {batch_name(key, month)}",
    )
    await session.commit()
    return text


def batch_csv(proposals: Sequence[Proposal]) -> str:
    """The sent proposals of a batch as the ministry's upload expects them."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    sent = [p for p in proposals if Status(p.status) in GONE_UP]
    for number, p in enumerate(sent, start=1):
        writer.writerow(
            (number, p.nik, p.kk, p.name, p.birth_date.isoformat(), p.address, p.desa_code,
             p.kind, p.program, p.id_dtks or "",
             p.musdes_date.isoformat() if p.musdes_date else "", p.ratified_as or "")
        )  # fmt: skip
    return out.getvalue()


NOT_IN_BATCH = "tidak ada usulan terkirim dengan NIK ini di batch ini (atau sudah dijawab)"


@dataclass(frozen=True)
class AnswerResult:
    applied: int
    errors: list[tuple[int, str]]  # line number, why it was not applied
    waiting: int  # sent proposals of the batch the ministry has not answered yet


async def import_answer(
    *,
    session: AsyncSession,
    principal: Principal,
    key: str,
    month: date,
    text: str,
    trace_id: str,
) -> AnswerResult:
    """Apply the ministry's answer to a sent batch, row by row: a bad row is reported with
    its line and the rest applies; what the ministry has not answered stays sent."""
    _require_dtks_admin(principal)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not {"nik", "hasil"} <= set(reader.fieldnames or []):
        raise Refusal(422, "Berkas jawaban Kemensos harus berkolom nik, hasil, alasan.")
    rows = await batch(session, principal, key, month)
    sent = {p.nik: p for p in rows if p.status == Status.SENT.value}
    errors: list[tuple[int, str]] = []
    applied = 0
    for line, row in enumerate(reader, start=2):
        answer = parse_answer(line, row)
        if isinstance(answer, str):
            errors.append((line, answer))
            continue
        proposal = sent.pop(answer.nik, None)
        if proposal is None:
            errors.append((line, NOT_IN_BATCH))
            continue
        rejected = answer.status is Status.REJECTED
        proposal.status = answer.status.value
        proposal.note = f"Ditolak Kemensos: {answer.reason}" if rejected else "Diterima Kemensos"
        note = f"usulan {proposal.id}: {proposal.note}"
        audit(
            session=session,
            principal=principal,
            action="proposal.answer",
            purpose=note,
            case_id=proposal.case_id,
        )
        record_step(session, proposal, principal.actor(), proposal.note, trace_id)
        applied += 1
    await session.commit()
    return AnswerResult(applied, errors, len(sent))


async def reappeared(*, session: AsyncSession, principal: Principal) -> list[Proposal]:
    """Removals the ministry accepted whose person is in the current DTKS snapshot again."""
    query = select(Proposal).where(
        Proposal.kind == Kind.REMOVAL.value, Proposal.status == Status.ACCEPTED.value
    )
    removed = [p for p in (await session.exec(query)).all() if principal.covers(p.desa_code)]
    back = await registry.dtks_ids(session, [p.nik for p in removed])
    return [p for p in removed if p.nik in back]
