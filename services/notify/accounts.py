"""Notify's users: the district secretariat, who follow messages that failed, and the head
and admin, who also edit the message templates."""

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.accounts import DemoUser, add_demo_users, has_users
from shared.areas import AreaRegistry
from shared.auth import Principal, Role

# Who may read the messages (they hold phone numbers) and who may change what is said.
READERS = frozenset({Role.SECRETARIAT, Role.SECRETARIAT_HEAD, Role.ADMIN})
EDITORS = frozenset({Role.SECRETARIAT_HEAD, Role.ADMIN})


def can_read(principal: Principal) -> bool:
    return principal.role in READERS


def can_edit(principal: Principal) -> bool:
    return principal.role in EDITORS


async def seed_demo_users(*, session: AsyncSession, areas: AreaRegistry, kabupaten: str) -> int:
    """The secretariat, its head and an admin, if there are no users yet (`slrt up` only)."""
    if await has_users(session):
        return 0
    people: list[DemoUser] = [
        ("sekretariat", "Staf Sekretariat SLRT", Role.SECRETARIAT, kabupaten, None),
        ("kepala", "Kepala Sekretariat SLRT", Role.SECRETARIAT_HEAD, kabupaten, None),
        ("admin", "Admin", Role.ADMIN, kabupaten, None),
    ]
    return await add_demo_users(session=session, areas=areas, people=people)
