"""Intake's users: the demo district's village operators (sign-in itself is `shared.accounts`)."""

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.accounts import DEMO_PASSWORD, add_user, has_users
from shared.areas import AreaRegistry, compact_code
from shared.auth import Role, hash_password


async def seed_demo_users(*, session: AsyncSession, areas: AreaRegistry, kabupaten: str) -> int:
    """Operators for every desa and kecamatan of the demo district, if there are no users yet.

    All share the demo password (hashed once: hashing 300 passwords would take half a
    minute). Only `slrt up` asks for this; a real district creates its users itself.
    """
    if await has_users(session):
        return 0
    shared_hash = hash_password(DEMO_PASSWORD)
    operators = [("sekretariat", "Sekretariat", Role.SECRETARIAT, kabupaten)]
    operators.append(("admin", "Admin", Role.ADMIN, kabupaten))
    for kecamatan in areas.children(kabupaten):
        code = compact_code(kecamatan.code)
        operators.append(
            (f"kec-{code}", f"Supervisor {kecamatan.name}", Role.SUPERVISOR, kecamatan.code)
        )
        for desa in areas.children(kecamatan.code):
            code = compact_code(desa.code)
            operators.append(
                (f"desa-{code}", f"Front office {desa.name}", Role.FRONT_OFFICE, desa.code)
            )
            operators.append(
                (f"bo-{code}", f"Back office {desa.name}", Role.BACK_OFFICE, desa.code)
            )
            operators.append(
                (f"koor-{code}", f"Koordinator {desa.name}", Role.COORDINATOR, desa.code)
            )
    for username, full_name, role, area_code in operators:
        await add_user(
            session=session,
            areas=areas,
            username=username,
            full_name=full_name,
            role=role,
            area_code=area_code,
            password_hash=shared_hash,
        )
    await session.commit()
    return len(operators)
