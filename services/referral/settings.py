"""Referral's configuration: SLRT_REFERRAL_DATABASE_URL, SLRT_REFERRAL_PORT and the shared ones."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SLRT_REFERRAL_", extra="ignore")
    service_name: ClassVar[str] = "referral"
    port: int = 8003
