"""Intake's users: sign-in sessions, the demo district's operators, and the audit log."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.models import AuditEntry, LoginSession, User
from shared.areas import AreaRegistry, compact_code
from shared.auth import Principal, Role, area_fits_role, hash_password, verify_password

SESSION_LIFETIME = timedelta(hours=12)  # one working day at the desk
DEMO_PASSWORD = "slrt-demo"


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
        token_hash=_token_hash(token),
        user_id=user.id or 0,
        expires_at=datetime.now(UTC) + SESSION_LIFETIME,
    )
    session.add(login)
    await session.commit()
    return user, login, token


async def sign_out(*, session: AsyncSession, token: str) -> None:
    login = await session.get(LoginSession, _token_hash(token))
    if login is not None:
        await session.delete(login)
        await session.commit()


async def principal_for_token(*, session: AsyncSession, token: str) -> Principal | None:
    """The signed-in user a token belongs to, if the session is alive and the user active."""
    login = await session.get(LoginSession, _token_hash(token))
    if login is None or _aware(login.expires_at) < datetime.now(UTC):
        return None
    user = await session.get(User, login.user_id)
    if user is None or not user.active:
        return None
    return Principal(username=user.username, role=Role(user.role), area_code=user.area_code)


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
) -> User:
    """Create an operator; their area must exist and be of their role's level."""
    areas.get(area_code)
    if not area_fits_role(role, area_code):
        raise ValueError(f"peran {role.value} tidak bekerja di tingkat wilayah {area_code}")
    user = User(
        username=username,
        full_name=full_name,
        role=role.value,
        area_code=area_code,
        password_hash=password_hash or hash_password(password or secrets.token_urlsafe(16)),
    )
    session.add(user)
    return user


async def seed_demo_users(*, session: AsyncSession, areas: AreaRegistry, kabupaten: str) -> int:
    """Operators for every desa and kecamatan of the demo district, if there are no users yet.

    All share the demo password (hashed once: hashing 300 passwords would take half a
    minute). Only `slrt up` asks for this; a real district creates its users itself.
    """
    if (await session.exec(select(User.id).limit(1))).first() is not None:
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
    added = len(operators)
    await session.commit()
    return added


async def audit(
    *,
    session: AsyncSession,
    principal: Principal,
    action: str,
    purpose: str,
    case_id: UUID | None = None,
) -> None:
    """Record a read or change in the caller's transaction (committed with the change)."""
    session.add(
        AuditEntry(
            username=principal.username,
            role=principal.role.value,
            area_code=principal.area_code,
            action=action,
            case_id=case_id,
            purpose=purpose,
        )
    )


async def audit_trail(*, session: AsyncSession, case_id: UUID) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(col(AuditEntry.at))
    return list((await session.exec(query)).all())
