"""Users, sign-in sessions and the audit log, the same in every service that has users.

Each such service keeps these tables in its own database (intake: village operators;
referral: the secretariat and agency liaisons), so one service being down never locks
anyone out of another. Only a token's hash is stored; passwords are argon2 hashes.
"""

import hashlib
import secrets
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from fastapi import Request, Response
from sqlalchemy import Table, bindparam
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.areas import AreaRegistry
from shared.auth import Principal, Role, area_fits_role, hash_password, verify_password
from shared.errors import Refusal
from shared.runtime import ServiceRuntime, SessionDep
from shared.staging import stage
from shared.table_model import TableModel

SESSION_LIFETIME = timedelta(hours=12)  # one working day at the desk
DEMO_PASSWORD = "slrt-demo"


def _now() -> datetime:
    return datetime.now(UTC)


class User(TableModel, table=True):
    """A user of this district: a role, the area they work in, and for a liaison their agency."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True)
    full_name: str
    role: str
    area_code: str
    agency: str | None = None
    household_key: str | None = None  # digest of their own KK (see Principal)
    password_hash: str
    active: bool = True
    created_at: datetime = Field(default_factory=_now)


class LoginSession(TableModel, table=True):
    """A signed-in browser or API client; only the token's hash is stored."""

    __tablename__ = "login_session"

    token_hash: str = Field(primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    created_at: datetime = Field(default_factory=_now)
    expires_at: datetime


class AuditEntry(TableModel, table=True):
    """Who read or changed which case, when and why. Never updated, never deleted."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=_now, index=True)
    username: str = Field(index=True)
    role: str
    area_code: str
    action: str
    case_id: UUID | None = Field(default=None, index=True)
    purpose: str


class LoginIn(SQLModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class LoginOut(SQLModel):
    token: str
    username: str
    full_name: str
    role: str
    area_code: str
    expires_at: datetime


class AuditEntryPublic(SQLModel):
    at: datetime
    username: str
    role: str
    area_code: str
    action: str
    case_id: UUID | None
    purpose: str


ACCOUNT_TABLES: list[Table] = [
    User.__table__,  # type: ignore[attr-defined]
    LoginSession.__table__,  # type: ignore[attr-defined]
    AuditEntry.__table__,  # type: ignore[attr-defined]
]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def sign_in(
    *, session: AsyncSession, username: str, password: str
) -> tuple[User, LoginSession, str] | None:
    """A new session for valid credentials of an active user, else None."""
    user = (await session.exec(select(User).where(User.username == username))).first()
    if user is None or not user.active or not verify_password(password, user.password_hash):
        return None
    token = secrets.token_urlsafe(32)
    login = LoginSession(
        token_hash=_token_hash(token), user_id=user.id or 0, expires_at=_now() + SESSION_LIFETIME
    )
    session.add(login)
    await session.commit()
    return user, login, token


async def sign_out(*, session: AsyncSession, token: str) -> None:
    login = await session.get(LoginSession, _token_hash(token))
    if login is not None:
        await session.delete(login)
        await session.commit()


# Built once, with the token and the time as parameters: building the select anew took
# longer than running it on SQLite (bench/RESULTS.md).
_SIGNED_IN = (
    select(User)
    .join(LoginSession, col(LoginSession.user_id) == col(User.id))
    .where(
        LoginSession.token_hash == bindparam("token_hash"),
        col(LoginSession.expires_at) >= bindparam("now"),
        col(User.active).is_(True),
    )
)


async def principal_for_token(*, session: AsyncSession, token: str) -> Principal | None:
    """The signed-in user a token belongs to, if the session is alive and the user active.

    One statement: it runs before every request of every service. Its transaction ends
    here, so the request holds no connection while it waits for something else (verval's
    pre-check): on SQLite a service has one, and every other request would wait too."""
    params = {"token_hash": _token_hash(token), "now": _now()}
    user = (await session.exec(_SIGNED_IN, params=params)).first()
    principal = None
    if user is not None:
        principal = Principal(
            username=user.username,
            role=Role(user.role),
            area_code=user.area_code,
            agency=user.agency,
            household_key=user.household_key,
        )
    await session.rollback()  # after reading `user`: a rollback expires it
    return principal


def request_token(request: Request, cookie_name: str) -> str | None:
    """The caller's token: `Authorization: Bearer <token>`, else the session cookie."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return request.cookies.get(cookie_name)


def api_principal(cookie_name: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A FastAPI dependency: the signed-in user, or a 401 the operator understands."""

    async def current_principal(request: Request, session: SessionDep) -> Principal:
        token = request_token(request, cookie_name)
        principal = await principal_for_token(session=session, token=token) if token else None
        if principal is None:
            raise Refusal(401, "Silakan masuk (login) terlebih dahulu.")
        return principal

    return current_principal


async def api_login(
    *, session: AsyncSession, data: LoginIn, response: Response, cookie_name: str
) -> LoginOut:
    """`POST /api/login` of a service: the token for `Authorization: Bearer`, also set as
    the service's http-only cookie; 401 in words for wrong credentials."""
    signed_in = await sign_in(session=session, username=data.username, password=data.password)
    if signed_in is None:
        raise Refusal(401, "Nama pengguna atau kata sandi salah.")
    user, login_session, token = signed_in
    max_age = int(SESSION_LIFETIME.total_seconds())
    response.set_cookie(cookie_name, token, httponly=True, samesite="strict", max_age=max_age)
    return LoginOut(
        token=token,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        area_code=user.area_code,
        expires_at=login_session.expires_at,
    )


async def add_user(
    *,
    session: AsyncSession,
    areas: AreaRegistry,
    username: str,
    full_name: str,
    role: Role,
    area_code: str,
    password: str | None = None,
    password_hash: str | None = None,
    agency: str | None = None,
    household_key: str | None = None,
) -> User:
    """Create a user; their area must exist and be of their role's level."""
    areas.get(area_code)
    if not area_fits_role(role, area_code):
        raise ValueError(f"peran {role.value} tidak bekerja di tingkat wilayah {area_code}")
    if (role is Role.LIAISON) != (agency is not None):
        raise ValueError("hanya penghubung instansi (liaison) yang punya instansi")
    user = User(
        username=username,
        full_name=full_name,
        role=role.value,
        area_code=area_code,
        agency=agency,
        household_key=household_key,
        password_hash=password_hash or hash_password(password or secrets.token_urlsafe(16)),
    )
    session.add(user)
    return user


# username, full name, role, area code, a liaison's agency
DemoUser = tuple[str, str, Role, str, str | None]


async def add_demo_users(
    *, session: AsyncSession, areas: AreaRegistry, people: list[DemoUser]
) -> int:
    """The demo district's users, all with the demo password (hashed once: hashing a few
    hundred passwords would take half a minute). Only `slrt up` asks for them."""
    shared_hash = hash_password(DEMO_PASSWORD)
    for username, full_name, role, area_code, agency in people:
        await add_user(
            session=session,
            areas=areas,
            username=username,
            full_name=full_name,
            role=role,
            area_code=area_code,
            agency=agency,
            password_hash=shared_hash,
        )
    await session.commit()
    return len(people)


async def has_users(session: AsyncSession) -> bool:
    return (await session.exec(select(User.id).limit(1))).first() is not None


def audit(
    *,
    session: AsyncSession,
    principal: Principal,
    action: str,
    purpose: str,
    case_id: UUID | None = None,
) -> None:
    """Record a read or change in the caller's transaction (committed with the change)."""
    stage(
        session,
        AuditEntry(
            username=principal.username,
            role=principal.role.value,
            area_code=principal.area_code,
            action=action,
            case_id=case_id,
            purpose=purpose,
        ),
    )


async def audit_trail(*, session: AsyncSession, case_id: UUID) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(col(AuditEntry.at))
    return list((await session.exec(query)).all())


class SeedDemoUsers(Protocol):
    async def __call__(
        self, *, session: AsyncSession, areas: AreaRegistry, kabupaten: str
    ) -> int: ...


async def seed_demo_district(runtime: ServiceRuntime, seed: SeedDemoUsers) -> None:
    """Every kabupaten's demo users, if the service's settings ask for them (`slrt up` does)."""
    if not getattr(runtime.settings, "demo_users", False):
        return
    async with runtime.sessions() as session:
        for kabupaten in runtime.areas.kabupaten():
            await seed(session=session, areas=runtime.areas, kabupaten=kabupaten.code)
