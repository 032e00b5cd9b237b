"""Who is acting, and over which area. Every event and every case step names an actor.

Roles and area scope are the same in every service: a village operator works in one desa,
a sub-district supervisor in a kecamatan, the district secretariat in its kabupaten; an
agency liaison works for the kabupaten but sees only what was sent to their agency.
Passwords are hashed with argon2 (pwdlib).
"""

from dataclasses import dataclass
from enum import StrEnum

from pwdlib import PasswordHash

from shared.areas import within
from shared.contracts import Actor

_hasher = PasswordHash.recommended()


class Role(StrEnum):
    FRONT_OFFICE = "front_office"
    BACK_OFFICE = "back_office"
    COORDINATOR = "coordinator"
    VILLAGE_HEAD = "village_head"  # kepala desa/lurah, where the village signs what leaves it
    KASUN = "kasun"  # kepala dusun: visits homes in the desa
    SUPERVISOR = "supervisor"
    TKSK = "tksk"  # Tenaga Kesejahteraan Sosial Kecamatan (or a pendamping): home visits
    SECRETARIAT = "secretariat"
    SECRETARIAT_HEAD = "secretariat_head"
    LIAISON = "liaison"
    DTKS_ADMIN = "dtks_admin"  # the district's DTKS operator: verifies and sends proposals
    REGENT = "bupati"  # ratifies the monthly DTKS proposals
    REGIONAL_SECRETARY = "sekda"  # ratifies them when the Bupati delegates it
    ADMIN = "admin"


# The area level each role works at: dots in its Kemendagri code (desa has three).
AREA_DOTS = {
    Role.FRONT_OFFICE: 3,
    Role.BACK_OFFICE: 3,
    Role.COORDINATOR: 3,
    Role.VILLAGE_HEAD: 3,
    Role.KASUN: 3,
    Role.SUPERVISOR: 2,
    Role.TKSK: 2,
    Role.SECRETARIAT: 1,
    Role.SECRETARIAT_HEAD: 1,
    Role.LIAISON: 1,
    Role.DTKS_ADMIN: 1,
    Role.REGENT: 1,
    Role.REGIONAL_SECRETARY: 1,
    Role.ADMIN: 1,
}


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the services see them."""

    username: str
    role: Role
    area_code: str
    agency: str | None = None  # a liaison's agency: they see only referrals sent to it
    household_key: str | None = None  # digest of their own KK: no acting for their family

    def actor(self) -> Actor:
        return Actor(user_id=self.username, role=self.role.value, area_code=self.area_code)

    def covers(self, area_code: str) -> bool:
        """Whether `area_code` (a desa, usually) lies in this user's area."""
        return within(area_code, self.area_code)


def area_fits_role(role: Role, area_code: str) -> bool:
    return area_code.count(".") == AREA_DOTS[role]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


def service_actor(service: str, area_code: str) -> Actor:
    """A service deciding on its own (routing rules, automatic checks)."""
    return Actor(user_id=f"service:{service}", role="service", area_code=area_code)
