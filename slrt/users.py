"""`slrt user-add`: create a user in intake's, verval's, referral's or notify's database (the
password is asked, not echoed). Village and sub-district staff are intake's users; verval's
are the village staff who draft DTKS proposals (with `--kk`, their own KK, so they never act
for their own family), the DTKS admin, the Bupati and the Sekda; the secretariat and agency
liaisons (with `--agency`) are referral's; notify's are the secretariat staff who follow
failed messages and edit templates."""

import asyncio
import getpass
import sys
from dataclasses import dataclass

from services.verval.proposals import household_key
from shared import accounts
from shared.areas import UnknownAreaError, load_registry
from shared.auth import Role
from shared.db import create_engine, create_tables, session_factory
from shared.settings import ServiceSettings


@dataclass(frozen=True)
class NewUser:
    username: str
    full_name: str
    role: Role
    area: str
    agency: str | None = None
    kk: str | None = None


def add_user_interactively(service: str, user: NewUser) -> int:
    password = (
        getpass.getpass("Kata sandi: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    )
    if user.kk is not None and not (user.kk.isdigit() and len(user.kk) == 16):
        print("No. KK harus 16 angka.", file=sys.stderr)
        return 2
    if len(password) < 8:
        print("Kata sandi minimal 8 karakter.", file=sys.stderr)
        return 2
    try:
        asyncio.run(_add(service, user, password))
    except (UnknownAreaError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"Pengguna {user.username} ({user.role.value}, {user.area}) dibuat di {service}.")
    return 0


def _settings(service: str) -> ServiceSettings:
    if service == "referral":
        from services.referral.settings import Settings as ReferralSettings

        return ReferralSettings()
    if service == "verval":
        from services.verval.settings import Settings as VervalSettings

        return VervalSettings()
    if service == "notify":
        from services.notify.settings import Settings as NotifySettings

        return NotifySettings()
    from services.intake.settings import Settings as IntakeSettings

    return IntakeSettings()


async def _add(service: str, user: NewUser, password: str) -> None:
    settings = _settings(service)
    engine = create_engine(settings.effective_database_url)
    try:
        await create_tables(engine, accounts.ACCOUNT_TABLES)
        async with session_factory(engine)() as session:
            await accounts.add_user(
                session=session,
                areas=load_registry(settings.area_csv),
                username=user.username,
                full_name=user.full_name,
                role=user.role,
                area_code=user.area,
                agency=user.agency,
                household_key=household_key(user.kk) if user.kk else None,
                password=password,
            )
            await session.commit()
    finally:
        await engine.dispose()
