"""Referral's configuration: SLRT_REFERRAL_DATABASE_URL, SLRT_REFERRAL_PORT and the shared ones."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SLRT_REFERRAL_", extra="ignore")
    service_name: ClassVar[str] = "referral"
    port: int = 8003
    # `slrt up` turns this on: the secretariat, its head and a liaison per agency (README).
    demo_users: bool = False
    # How often the scheduler looks for referrals past their target time; 0 turns it off
    # (tests that drive it with their own clock).
    overdue_check_seconds: float = 60.0
