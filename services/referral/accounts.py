"""Referral's users: the demo district's secretariat and a liaison for every agency."""

from sqlmodel.ext.asyncio.session import AsyncSession

from services.referral.domain import DEFAULT_DESTINATIONS, INSIDE_VILLAGE
from shared.accounts import DEMO_PASSWORD, add_user, has_users
from shared.areas import AreaRegistry
from shared.auth import Role, hash_password


async def seed_demo_users(*, session: AsyncSession, areas: AreaRegistry, kabupaten: str) -> int:
    """The secretariat, its head, an admin and one liaison per agency, if there are no users.

    Liaisons are named `penghubung-<agency>` (for example `penghubung-bpjs_dinkes`).
    """
    if await has_users(session):
        return 0
    shared_hash = hash_password(DEMO_PASSWORD)
    people: list[tuple[str, str, Role, str | None]] = [
        ("sekretariat", "Staf Sekretariat SLRT", Role.SECRETARIAT, None),
        ("kepala", "Kepala Sekretariat SLRT", Role.SECRETARIAT_HEAD, None),
        ("admin", "Admin", Role.ADMIN, None),
    ]
    people += [
        (f"penghubung-{d.code}", f"Penghubung {d.name}", Role.LIAISON, d.code)
        for d in DEFAULT_DESTINATIONS
        if d.code not in INSIDE_VILLAGE
    ]
    for username, full_name, role, agency in people:
        await add_user(
            session=session,
            areas=areas,
            username=username,
            full_name=full_name,
            role=role,
            area_code=kabupaten,
            agency=agency,
            password_hash=shared_hash,
        )
    await session.commit()
    return len(people)
