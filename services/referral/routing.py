"""The district's destinations and routing rules as stored: load them, seed the national
defaults into a new district, and let the settings page change them (audited)."""

from dataclasses import asdict

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.referral.domain import (
    DEFAULT_DESTINATIONS,
    DEFAULT_RULES,
    TRIAGE,
    Channel,
    Destination,
    Rule,
)
from services.referral.models import DestinationIn, DestinationRow, RuleIn, RuleRow
from shared.accounts import audit
from shared.auth import Principal, Role
from shared.contracts import Category
from shared.errors import Refusal

EDITORS = frozenset({Role.ADMIN, Role.SECRETARIAT_HEAD})
VIEWERS = EDITORS | {Role.SECRETARIAT, Role.LIAISON}


def require_viewer(principal: Principal) -> None:
    if principal.role not in VIEWERS:
        raise Refusal(403, "Peran Anda tidak membuka pengaturan rujukan.")


async def seed_defaults(session: AsyncSession) -> bool:
    """Give a new district the national defaults; an existing one keeps its own."""
    if (await session.exec(select(DestinationRow.code).limit(1))).first() is not None:
        return False
    for destination in DEFAULT_DESTINATIONS:
        fields = asdict(destination) | {"channel": destination.channel.value}
        session.add(DestinationRow(**fields))
    for rule in DEFAULT_RULES:
        session.add(RuleRow(**asdict(rule) | {"category": rule.category.value}))
    await session.commit()
    return True


async def destinations(session: AsyncSession) -> dict[str, Destination]:
    rows = (await session.exec(select(DestinationRow).order_by(col(DestinationRow.name)))).all()
    return {row.code: _destination(row) for row in rows}


def _destination(row: DestinationRow) -> Destination:
    return Destination(
        code=row.code,
        name=row.name,
        answer_days=row.answer_days,
        service_days=row.service_days,
        contact=row.contact,
        channel=Channel(row.channel),
        active=row.active,
    )


async def destination(session: AsyncSession, code: str) -> Destination:
    """One destination; a code no longer configured keeps its code as its name."""
    row = await session.get(DestinationRow, code)
    return _destination(row) if row is not None else Destination(code, code, active=False)


async def rule_rows(session: AsyncSession) -> list[RuleRow]:
    query = select(RuleRow).order_by(col(RuleRow.category), col(RuleRow.id))
    return list((await session.exec(query)).all())


async def rules(session: AsyncSession) -> list[Rule]:
    return [
        Rule(Category(r.category), r.destination, r.in_dtks, r.urgent, r.max_desil, r.lacks_program)
        for r in await rule_rows(session)
    ]


def _require_editor(principal: Principal) -> None:
    if principal.role not in EDITORS:
        raise Refusal(403, "Hanya admin dan kepala sekretariat yang mengubah aturan rujukan.")


async def change_destination(
    *, session: AsyncSession, principal: Principal, code: str, data: DestinationIn
) -> Destination:
    _require_editor(principal)
    row = await session.get(DestinationRow, code)
    if row is None:
        raise Refusal(404, f"Instansi tujuan '{code}' tidak dikenal.")
    if code == TRIAGE.code and not data.active:
        raise Refusal(409, "Antrean triase tidak dapat dinonaktifkan: kasus tidak boleh hilang.")
    for field, value in data.model_dump().items():
        setattr(row, field, value.value if isinstance(value, Channel) else value)
    session.add(row)
    audit(session=session, principal=principal, action="destination.change", purpose=code)
    await session.commit()
    return _destination(row)


async def add_rule(*, session: AsyncSession, principal: Principal, data: RuleIn) -> RuleRow:
    _require_editor(principal)
    if await session.get(DestinationRow, data.destination) is None:
        raise Refusal(422, f"Instansi tujuan '{data.destination}' tidak dikenal.")
    row = RuleRow(
        category=data.category.value,
        destination=data.destination,
        in_dtks=data.in_dtks,
        urgent=data.urgent,
        max_desil=data.max_desil,
        lacks_program=data.lacks_program.upper() if data.lacks_program else None,
        created_by=principal.username,
    )
    session.add(row)
    audit(session=session, principal=principal, action="rule.add", purpose=_describe(row))
    await session.commit()
    return row


async def remove_rule(*, session: AsyncSession, principal: Principal, rule_id: int) -> None:
    _require_editor(principal)
    row = await session.get(RuleRow, rule_id)
    if row is None:
        raise Refusal(404, "Aturan tidak ditemukan.")
    await session.delete(row)
    audit(session=session, principal=principal, action="rule.remove", purpose=_describe(row))
    await session.commit()


def _describe(row: RuleRow) -> str:
    return (
        f"{row.category} -> {row.destination} (dtks={row.in_dtks}, mendesak={row.urgent}, "
        f"desil<={row.max_desil}, tanpa={row.lacks_program})"
    )
