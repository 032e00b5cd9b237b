"""Intake's users: the demo district's village operators (sign-in itself is `shared.accounts`)."""

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.accounts import DemoUser, add_demo_users, has_users
from shared.areas import AreaRegistry, compact_code
from shared.auth import Role


async def seed_demo_users(*, session: AsyncSession, areas: AreaRegistry, kabupaten: str) -> int:
    """Operators for every desa and kecamatan of the demo district, if there are no users yet.
    Only `slrt up` asks for this; a real district creates its users itself."""
    if await has_users(session):
        return 0
    operators: list[DemoUser] = [
        ("sekretariat", "Sekretariat", Role.SECRETARIAT, kabupaten, None),
        ("admin", "Admin", Role.ADMIN, kabupaten, None),
    ]
    for kecamatan in areas.children(kabupaten):
        code = compact_code(kecamatan.code)
        name = kecamatan.name
        operators.append(
            (f"kec-{code}", f"Supervisor {name}", Role.SUPERVISOR, kecamatan.code, None)
        )
        for desa in areas.children(kecamatan.code):
            code, name = compact_code(desa.code), desa.name
            operators += [
                (f"desa-{code}", f"Front office {name}", Role.FRONT_OFFICE, desa.code, None),
                (f"bo-{code}", f"Back office {name}", Role.BACK_OFFICE, desa.code, None),
                (f"koor-{code}", f"Koordinator {name}", Role.COORDINATOR, desa.code, None),
                (f"kades-{code}", f"Kepala desa {name}", Role.VILLAGE_HEAD, desa.code, None),
            ]
    return await add_demo_users(session=session, areas=areas, people=operators)
