"""Referral's users: the demo district's secretariat and a liaison for every agency."""

from sqlmodel.ext.asyncio.session import AsyncSession

from services.referral.domain import DEFAULT_DESTINATIONS, INSIDE_VILLAGE
from shared.accounts import DemoUser, add_demo_users, has_users
from shared.areas import AreaRegistry
from shared.auth import Role


async def seed_demo_users(*, session: AsyncSession, areas: AreaRegistry, kabupaten: str) -> int:
    """The secretariat, its head, an admin and one liaison per agency, if there are no users.

    Liaisons are named `penghubung-<agency>` (for example `penghubung-bpjs_dinkes`).
    """
    if await has_users(session):
        return 0
    people: list[DemoUser] = [
        ("sekretariat", "Staf Sekretariat SLRT", Role.SECRETARIAT, kabupaten, None),
        ("kepala", "Kepala Sekretariat SLRT", Role.SECRETARIAT_HEAD, kabupaten, None),
        ("admin", "Admin", Role.ADMIN, kabupaten, None),
    ]
    people += [
        (f"penghubung-{d.code}", f"Penghubung {d.name}", Role.LIAISON, kabupaten, d.code)
        for d in DEFAULT_DESTINATIONS
        if d.code not in INSIDE_VILLAGE
    ]
    return await add_demo_users(session=session, areas=areas, people=people)
