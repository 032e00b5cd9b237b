"""Intake's configuration: SLRT_INTAKE_DATABASE_URL, SLRT_INTAKE_PORT and the shared ones."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SLRT_INTAKE_", extra="ignore")
    service_name: ClassVar[str] = "intake"
    port: int = 8001
    # `slrt up` turns this on: operators for every desa of the demo district (see README).
    demo_users: bool = False
    # How long the desk waits for verval's pre-check; the citizen is standing there.
    precheck_timeout_seconds: float = 0.8
