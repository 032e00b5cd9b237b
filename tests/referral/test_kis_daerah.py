"""KIS Daerah: district cover within a yearly quota while the national PBI-JK is pending."""

import asyncio
from datetime import datetime
from typing import Any

from services.referral.kis_daerah import place_of
from services.referral.models import Referral
from shared.areas import WIB
from shared.contracts import Category
from tests.referral.conftest import ReferralDesk

YEAR = datetime.now(WIB).year


async def _set_quota(desk: ReferralDesk, places: int, as_user: str = "kepala") -> Any:
    return await desk.client.put(
        f"/api/kis-daerah/{YEAR}", json={"places": places}, headers=await desk.auth(as_user)
    )


async def _status(desk: ReferralDesk, referral: Referral) -> str | None:
    async with desk.runtime.sessions() as session:
        place = await place_of(session=session, referral_id=referral.id)
        return place.status if place else None


async def _national(desk: ReferralDesk, **changes: Any) -> Referral:
    _, referrals = await desk.arrive(**changes)
    (health,) = [r for r in referrals if r.destination == "bpjs_dinkes"]
    return health


async def test_the_quota_covers_first_comers_and_a_released_place_goes_to_the_next(
    desk: ReferralDesk,
) -> None:
    assert (await _set_quota(desk, 1)).json() == {
        "year": YEAR,
        "places": 1,
        "covered": 0,
        "waiting": 0,
    }
    first = await _national(desk)
    second = await _national(desk, category=Category.PBI_ENROLMENT)
    assert [await _status(desk, first), await _status(desk, second)] == ["covered", "waiting"]
    for command, who, extra in (
        ("send", "sekretariat", {}),
        ("accept", "penghubung-bpjs", {}),
        ("start", "penghubung-bpjs", {}),
        ("complete", "penghubung-bpjs", {"served": True}),  # national cover arrived
    ):
        assert (await desk.act(first.id, command, as_user=who, **extra)).status_code == 200
    assert [await _status(desk, first), await _status(desk, second)] == ["released", "covered"]
    use = (await desk.get(f"/api/kis-daerah/{YEAR}")).json()
    assert (use["covered"], use["waiting"]) == (1, 0)
    page = (await desk.get(f"/api/referrals/{second.id}")).json()
    assert [s["note"] for s in page["steps"] if s["command"] == "kis_daerah"] == [
        "Menunggu tempat KIS Daerah",
        "Ditanggung KIS Daerah sementara",
    ]


async def test_urgent_people_in_line_are_covered_first_when_the_quota_grows(
    desk: ReferralDesk,
) -> None:
    calm = await _national(desk)
    urgent = await _national(desk, category=Category.PBI_ENROLMENT, urgent=True)
    assert await _status(desk, calm) == await _status(desk, urgent) == "waiting"
    grown = (await _set_quota(desk, 1)).json()
    assert (grown["covered"], grown["waiting"]) == (1, 1)
    assert await _status(desk, urgent) == "covered"
    shrink = await _set_quota(desk, 0)
    assert shrink.status_code == 409
    assert (await _set_quota(desk, 5, as_user="sekretariat")).status_code == 403


async def test_two_referrals_at_once_never_overfill_the_quota(desk: ReferralDesk) -> None:
    await _set_quota(desk, 1)
    both = await asyncio.gather(_national(desk), _national(desk))
    statuses = sorted([await _status(desk, r) for r in both], key=str)
    assert statuses == ["covered", "waiting"]


async def test_other_programs_do_not_use_district_cover(desk: ReferralDesk) -> None:
    await _set_quota(desk, 3)
    _, (pkh,) = await desk.arrive(category=Category.PKH)
    assert await _status(desk, pkh) is None
