"""`slrt user-add`: create an operator in intake's database (the password is asked, not echoed)."""

import asyncio
import getpass
import sys

from services.intake.models import TABLES
from services.intake.settings import Settings
from shared import accounts
from shared.areas import UnknownAreaError, load_registry
from shared.auth import Role
from shared.db import create_engine, create_tables, session_factory


def add_user_interactively(username: str, full_name: str, role: Role, area: str) -> int:
    password = (
        getpass.getpass("Kata sandi: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    )
    if len(password) < 8:
        print("Kata sandi minimal 8 karakter.", file=sys.stderr)
        return 2
    try:
        asyncio.run(_add(username, full_name, role, area, password))
    except (UnknownAreaError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"Pengguna {username} ({role.value}, {area}) dibuat.")
    return 0


async def _add(username: str, full_name: str, role: Role, area: str, password: str) -> None:
    settings = Settings()
    engine = create_engine(settings.effective_database_url)
    try:
        await create_tables(engine, TABLES)
        async with session_factory(engine)() as session:
            await accounts.add_user(
                session=session,
                areas=load_registry(settings.area_csv),
                username=username,
                full_name=full_name,
                role=role,
                area_code=area,
                password=password,
            )
            await session.commit()
    finally:
        await engine.dispose()
