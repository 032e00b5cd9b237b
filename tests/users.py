"""A service under test with its users: created in its database, signed in once each."""

from collections.abc import Mapping

import httpx

from shared import accounts
from shared.auth import Role, hash_password
from shared.runtime import ServiceRuntime

PASSWORD = "rahasia-uji-1"
PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run

# username → (role, area code, a liaison's agency)
Users = Mapping[str, tuple[Role, str, str | None]]


class SignedInClient:
    def __init__(self, client: httpx.AsyncClient, runtime: ServiceRuntime) -> None:
        self.client = client
        self.runtime = runtime
        self.tokens: dict[str, str] = {}

    async def add_users(self, users: Users) -> None:
        async with self.runtime.sessions() as session:
            for username, (role, area, agency) in users.items():
                await accounts.add_user(
                    session=session,
                    areas=self.runtime.areas,
                    username=username,
                    full_name=username,
                    role=role,
                    area_code=area,
                    agency=agency,
                    password_hash=PASSWORD_HASH,
                )
            await session.commit()

    async def auth(self, username: str) -> dict[str, str]:
        """A bearer header for the user, signing in the first time."""
        if username not in self.tokens:
            credentials = {"username": username, "password": PASSWORD}
            response = await self.client.post("/api/login", json=credentials)
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["token"]
            self.client.cookies.clear()  # each call below says who it is
        return {"Authorization": f"Bearer {self.tokens[username]}"}
