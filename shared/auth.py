"""Who is acting. Every event and every timeline step names an actor with a role and area.

Login and per-user sessions arrive with the intake issue; until then HTTP requests act as
the front office of the case's own desa (`front_office_of`), and services acting on their
own account use `service_actor`.
"""

from shared.contracts import Actor


def service_actor(service: str, area_code: str) -> Actor:
    """A service deciding on its own (routing rules, automatic checks)."""
    return Actor(user_id=f"service:{service}", role="service", area_code=area_code)


def front_office_of(desa_code: str) -> Actor:
    return Actor(user_id=f"front-office:{desa_code}", role="front_office", area_code=desa_code)
