"""Notify's configuration: SLRT_NOTIFY_* variables and the shared ones.

A channel whose gateway is not configured writes to the local message file instead, so the
embedded default shows every message a citizen would receive without any gateway.
"""

from datetime import time
from typing import ClassVar
from zoneinfo import ZoneInfo

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

DEFAULT_SMS_PAYLOAD = '{"to": "{to}", "message": "{text}", "reference": "{reference}"}'


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SLRT_NOTIFY_", extra="ignore")
    service_name: ClassVar[str] = "notify"
    port: int = 8004
    demo_users: bool = False
    # Shared secret the SMS gateway sends with replies and receipts (X-Gateway-Token);
    # unset: those webhooks are off.
    gateway_token: str | None = None
    # Where officers' messages go (escalations of overdue referrals): the secretariat
    # head's address in the message box, followed by the kabupaten code.
    officer_address: str = "kepala-sekretariat"

    # SMS gateway over HTTP. The payload is JSON with {to}, {text}, {reference}, {sender}
    # filled in; with {reference} in it the gateway can refuse a resend after a crash.
    sms_url: str | None = None
    sms_token: str | None = None
    sms_payload: str = DEFAULT_SMS_PAYLOAD
    sms_id_field: str = "id"
    sms_sender: str = "SLRT"
    sms_rate_per_second: float = 10.0
    # WhatsApp Business Cloud API.
    whatsapp_base_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_phone_number_id: str | None = None
    whatsapp_token: str | None = None
    whatsapp_rate_per_second: float = 20.0
    # Meta signs status webhooks with the app secret and checks the URL with a verify token.
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    # E-mail over SMTP.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_sender: str = "SLRT <slrt@localhost>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    email_rate_per_second: float = 5.0

    # Delivery: a gateway gets `send_timeout_seconds` to answer; a message stays claimed for
    # `send_lease_seconds` (longer, so a live sender is never overtaken), then another
    # dispatcher may take it over.
    send_timeout_seconds: float = 10.0
    send_lease_seconds: float = 60.0
    max_attempts: int = 6
    retry_base_seconds: float = 30.0
    dispatch_batch: int = 20
    dispatch_poll_seconds: float = 1.0
    # Non-urgent messages wait for the morning, in the district's local time.
    quiet_hours: bool = True
    quiet_start: time = time(21, 0)
    quiet_end: time = time(6, 0)
    timezone: str = "Asia/Jakarta"

    @model_validator(mode="after")
    def lease_outlasts_a_send(self) -> "Settings":
        if self.send_lease_seconds <= self.send_timeout_seconds:
            raise ValueError("send_lease_seconds must be longer than send_timeout_seconds")
        ZoneInfo(self.timezone)
        return self
