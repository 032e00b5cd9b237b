"""Notify's configuration: SLRT_NOTIFY_DATABASE_URL, SLRT_NOTIFY_PORT and the shared ones."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SLRT_NOTIFY_", extra="ignore")
    service_name: ClassVar[str] = "notify"
    port: int = 8004
    # Shared secret the SMS gateway sends with replies (X-Gateway-Token); unset: no webhook.
    gateway_token: str | None = None
    # Where officers' messages go (escalations of overdue referrals): the secretariat
    # head's address on the channel, followed by the kabupaten code.
    officer_address: str = "kepala-sekretariat"
