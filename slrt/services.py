"""The four services as `slrt up` and the tests start them: name, default port, app factory."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    default_port: int

    @property
    def factory(self) -> str:
        return f"services.{self.name}.app:create_app"

    def env_prefix(self) -> str:
        return f"SLRT_{self.name.upper()}_"

    def port(self) -> int:
        """The port from SLRT_<SERVICE>_PORT, else the default."""
        return int(os.environ.get(f"{self.env_prefix()}PORT", self.default_port))


SERVICES = (
    ServiceSpec("intake", 8001),
    ServiceSpec("verval", 8002),
    ServiceSpec("referral", 8003),
    ServiceSpec("notify", 8004),
)
SERVICE_NAMES = tuple(spec.name for spec in SERVICES)


def spec_of(name: str) -> ServiceSpec:
    return next(spec for spec in SERVICES if spec.name == name)
