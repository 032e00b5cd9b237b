"""Verval's configuration: SLRT_VERVAL_DATABASE_URL, SLRT_VERVAL_PORT and the shared ones."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SLRT_VERVAL_", extra="ignore")
    service_name: ClassVar[str] = "verval"
    port: int = 8002
    # `slrt up` turns this on: village staff, the DTKS admin, the Bupati and the Sekda (README).
    demo_users: bool = False
    # How often proposals that missed their window move to next month's; 0 turns it off.
    rollover_check_seconds: float = 3600.0
    # How often verval looks for a newly imported civil or DTKS snapshot to compare for life
    # events (death of the head of household, a new KK...); 0 turns it off.
    life_event_check_seconds: float = 300.0
