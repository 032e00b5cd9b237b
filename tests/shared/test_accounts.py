"""Signing in and the token check every request makes, on both databases."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from shared.accounts import ACCOUNT_TABLES, LoginSession, User, principal_for_token, sign_in
from shared.accounts import sign_out as end_session
from shared.auth import Role, hash_password
from shared.db import SessionFactory, create_engine, create_tables, session_factory

PASSWORD = "rahasia-desa"


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    await create_tables(engine, ACCOUNT_TABLES)
    factory = session_factory(engine)
    async with factory() as session:
        session.add(
            User(
                username="desa-operator",
                full_name="Operator Desa",
                role=Role.FRONT_OFFICE.value,
                area_code="35.07.01.2001",
                password_hash=hash_password(PASSWORD),
            )
        )
        await session.commit()
    yield factory
    await engine.dispose()


async def _token(sessions: SessionFactory) -> str:
    async with sessions() as session:
        signed_in = await sign_in(session=session, username="desa-operator", password=PASSWORD)
    assert signed_in is not None
    return signed_in[2]


async def _principal(sessions: SessionFactory, token: str) -> str | None:
    async with sessions() as session:
        principal = await principal_for_token(session=session, token=token)
    return principal and f"{principal.username} {principal.role} {principal.area_code}"


async def test_a_token_names_its_user_until_signed_out(sessions: SessionFactory) -> None:
    token = await _token(sessions)
    assert await _principal(sessions, token) == "desa-operator front_office 35.07.01.2001"
    assert await _principal(sessions, token + "x") is None
    async with sessions() as session:
        await end_session(session=session, token=token)
    assert await _principal(sessions, token) is None


async def test_an_expired_session_or_a_deactivated_user_signs_nobody_in(
    sessions: SessionFactory,
) -> None:
    expiring, kept = await _token(sessions), await _token(sessions)
    async with sessions() as session:
        logins = (await session.exec(select(LoginSession))).all()
        for login in logins:  # one of the two, whichever: the other must stay valid
            login.expires_at = datetime.now(UTC) - timedelta(seconds=1)
            session.add(login)
            break
        await session.commit()
    answers = {await _principal(sessions, expiring), await _principal(sessions, kept)}
    assert answers == {None, "desa-operator front_office 35.07.01.2001"}
    async with sessions() as session:
        user = (await session.exec(select(User))).one()
        user.active = False
        session.add(user)
        await session.commit()
    assert await _principal(sessions, expiring) is None
    assert await _principal(sessions, kept) is None
