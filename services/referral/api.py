"""Referral's HTTP API: sign in, the secretariat's queues, one referral and its commands.

Every route needs a signed-in user of the secretariat (who sees the whole district) or an
agency liaison (who sees only what was sent to their agency). Reads and changes of a
referral are written to the audit log.
"""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlmodel import Field, SQLModel

from services.referral import kis_daerah, queries, routing, service
from services.referral.domain import Destination
from services.referral.models import (
    AssignIn,
    CardIn,
    DestinationIn,
    OrderIn,
    Queue,
    Referral,
    ReferralDetail,
    ReferralPublic,
    ReferralStepPublic,
    RuleIn,
    RulePublic,
)
from shared import accounts
from shared.accounts import LoginIn, LoginOut
from shared.auth import Principal
from shared.logging import current_trace_id
from shared.runtime import SessionDep

SESSION_COOKIE = "slrt_referral_session"  # not intake's: both may live on one host
router = APIRouter(prefix="/api", tags=["referral"])
CurrentUser = Annotated[Principal, Depends(accounts.api_principal(SESSION_COOKIE))]


@router.post("/login", response_model=LoginOut)
async def login(data: LoginIn, session: SessionDep, response: Response) -> LoginOut:
    """Sign in; the token works as `Authorization: Bearer` and is also set as a cookie."""
    return await accounts.api_login(
        session=session, data=data, response=response, cookie_name=SESSION_COOKIE
    )


@router.get("/destinations")
async def destinations(session: SessionDep, principal: CurrentUser) -> list[Destination]:
    """The programs and agencies referrals go to, with their target working days."""
    routing.require_viewer(principal)
    return list((await routing.destinations(session)).values())


@router.put("/destinations/{code}")
async def change_destination(
    code: str, data: DestinationIn, session: SessionDep, principal: CurrentUser
) -> Destination:
    """Change a destination's name, contact, channel, target days, or switch it off
    (admin and secretariat head; audited). Triage cannot be switched off."""
    return await routing.change_destination(
        session=session, principal=principal, code=code, data=data
    )


@router.get("/rules", response_model=list[RulePublic])
async def list_rules(session: SessionDep, principal: CurrentUser) -> list[RulePublic]:
    """The district's routing rules: category, optional conditions, destination."""
    routing.require_viewer(principal)
    rows = await routing.rule_rows(session)
    return [RulePublic.model_validate(r, from_attributes=True) for r in rows]


@router.post("/rules", response_model=RulePublic, status_code=201)
async def add_rule(data: RuleIn, session: SessionDep, principal: CurrentUser) -> RulePublic:
    """Add a rule (admin and secretariat head; audited). It applies to cases referred from
    now on."""
    row = await routing.add_rule(session=session, principal=principal, data=data)
    return RulePublic.model_validate(row, from_attributes=True)


@router.delete("/rules/{rule_id}", status_code=204)
async def remove_rule(
    # Bounded so an absurd id is a 422, not a database overflow.
    rule_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: CurrentUser,
) -> None:
    """Remove a rule (admin and secretariat head; audited)."""
    await routing.remove_rule(session=session, principal=principal, rule_id=rule_id)


class QuotaIn(SQLModel):
    places: int = Field(ge=0, le=1_000_000, description="Jumlah orang yang ditanggung sekaligus")


@router.get("/kis-daerah/{year}", response_model=kis_daerah.QuotaUse)
async def kis_daerah_use(
    year: Annotated[int, Path(ge=2000, le=2100)], session: SessionDep, principal: CurrentUser
) -> kis_daerah.QuotaUse:
    """The district's KIS Daerah quota for a year: places, people covered, people waiting."""
    routing.require_viewer(principal)
    return await kis_daerah.use_of(session=session, year=year)


@router.put("/kis-daerah/{year}", response_model=kis_daerah.QuotaUse)
async def set_kis_daerah_quota(
    year: Annotated[int, Path(ge=2000, le=2100)],
    data: QuotaIn,
    session: SessionDep,
    principal: CurrentUser,
) -> kis_daerah.QuotaUse:
    """Set the year's quota (admin and secretariat head); new room goes to people waiting."""
    use = await kis_daerah.set_quota(
        session=session, principal=principal, year=year, places=data.places, now=datetime.now(UTC)
    )
    await session.commit()
    return use


@router.get("/referrals", response_model=list[ReferralPublic])
async def list_referrals(
    session: SessionDep,
    principal: CurrentUser,
    queue: Queue = "all",
    case_id: UUID | None = None,
    status: str | None = None,
    destination: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> list[ReferralPublic]:
    """Referrals this user may see, newest first, 50 a page; `queue` picks open, overdue
    or triage work."""
    found = await queries.referrals(
        session=session,
        principal=principal,
        filters=queries.Filters(
            queue=queue, case_id=case_id, status=status, destination=destination, page=page
        ),
        now=datetime.now(UTC),
    )
    return [ReferralPublic.model_validate(r, from_attributes=True) for r in found]


async def _detail(session: SessionDep, referral: Referral) -> ReferralDetail:
    steps = await service.steps_of(session, referral.id)
    return ReferralDetail.model_validate(
        {
            **ReferralPublic.model_validate(referral, from_attributes=True).model_dump(),
            "steps": [ReferralStepPublic.model_validate(s, from_attributes=True) for s in steps],
        }
    )


@router.get("/referrals/{referral_id}", response_model=ReferralDetail)
async def show_referral(
    referral_id: UUID, session: SessionDep, principal: CurrentUser
) -> ReferralDetail:
    """One referral with its timeline (who did what, when and why)."""
    referral = await service.visible_referral(
        session=session, principal=principal, referral_id=referral_id, purpose="melihat rujukan"
    )
    detail = await _detail(session, referral)
    await session.commit()  # the audit entry of the read
    return detail


@router.post("/referrals/{referral_id}/actions", response_model=ReferralDetail)
async def act_on_referral(
    referral_id: UUID, data: OrderIn, session: SessionDep, principal: CurrentUser
) -> ReferralDetail:
    """Send, accept, reject (with a reason code), start, complete (with the outcome),
    fail, cancel or reopen. An impossible move is refused with 409 and says why."""
    referral = await service.act(
        session=session,
        principal=principal,
        referral_id=referral_id,
        order=data.order(),
        trace_id=current_trace_id(),
        now=datetime.now(UTC),
    )
    await session.commit()
    return await _detail(session, referral)


@router.post("/referrals/{referral_id}/card", response_model=ReferralDetail)
async def record_card(
    referral_id: UUID, data: CardIn, session: SessionDep, principal: CurrentUser
) -> ReferralDetail:
    """The KIS card: temporary card issued, final card ready at BPJS, collected."""
    referral = await service.record_card(
        session=session,
        principal=principal,
        referral_id=referral_id,
        stage=data.stage,
        note=data.note,
        trace_id=current_trace_id(),
        now=datetime.now(UTC),
    )
    await session.commit()
    return await _detail(session, referral)


@router.post("/referrals/{referral_id}/assign", response_model=ReferralDetail)
async def assign_referral(
    referral_id: UUID, data: AssignIn, session: SessionDep, principal: CurrentUser
) -> ReferralDetail:
    """Triage: send a referral no rule placed to the agency the secretariat chooses."""
    referral = await service.assign(
        session=session,
        principal=principal,
        referral_id=referral_id,
        to=data.destination,
        note=data.note,
        now=datetime.now(UTC),
    )
    await session.commit()
    return await _detail(session, referral)
