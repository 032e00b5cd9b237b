"""Verval's users: village staff who draft proposals and record the musyawarah desa, the
district DTKS admin, and the Bupati and Sekda who ratify. A village officer's KK digest
(`slrt user-add --kk`) keeps them off their own household's proposals."""

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.accounts import DemoUser, add_demo_users, has_users
from shared.areas import AreaRegistry, compact_code
from shared.auth import Role


async def seed_demo_users(*, session: AsyncSession, areas: AreaRegistry, kabupaten: str) -> int:
    """The demo district's users, named as in intake (`desa-`, `koor-`, `kades-<desa>`),
    plus `kasun-<desa>` and `tksk-<kecamatan>` for home visits, if there are none yet.
    Only `slrt up` asks for this."""
    if await has_users(session):
        return 0
    people: list[DemoUser] = [
        ("dtks", "Operator DTKS Kabupaten", Role.DTKS_ADMIN, kabupaten, None),
        ("bupati", "Bupati", Role.REGENT, kabupaten, None),
        ("sekda", "Sekretaris Daerah", Role.REGIONAL_SECRETARY, kabupaten, None),
        ("admin", "Admin", Role.ADMIN, kabupaten, None),
    ]
    for kecamatan in areas.children(kabupaten):
        kec = compact_code(kecamatan.code)
        people.append((f"tksk-{kec}", f"TKSK {kecamatan.name}", Role.TKSK, kecamatan.code, None))
        for desa in areas.children(kecamatan.code):
            code, name = compact_code(desa.code), desa.name
            people += [
                (f"desa-{code}", f"Front office {name}", Role.FRONT_OFFICE, desa.code, None),
                (f"koor-{code}", f"Koordinator {name}", Role.COORDINATOR, desa.code, None),
                (f"kades-{code}", f"Kepala desa {name}", Role.VILLAGE_HEAD, desa.code, None),
                (f"kasun-{code}", f"Kepala dusun {name}", Role.KASUN, desa.code, None),
            ]
    return await add_demo_users(session=session, areas=areas, people=people)
