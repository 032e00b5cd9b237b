"""Notify's moving parts in one process: the channels built from settings, the dispatcher,
the clock (tests pass their own) and what handlers and routes share of them."""

from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from services.notify import accounts, handlers
from services.notify.channels import (
    HttpSmsGateway,
    LocalFileTransport,
    SmtpChannel,
    Transport,
    WhatsAppCloud,
)
from services.notify.dispatch import Clock, Dispatcher, RateLimiter
from services.notify.domain import CHANNELS, QuietHours, RetryPolicy
from services.notify.service import Timing
from services.notify.settings import Settings
from shared.accounts import seed_demo_district
from shared.runtime import ServiceRuntime


def utc_now() -> datetime:
    return datetime.now(UTC)


def transports(settings: Settings) -> dict[str, Transport]:
    """Each channel's gateway; a channel without one writes to the local message file."""
    local = LocalFileTransport(settings.var_dir / "notify" / "messages.jsonl")
    found: dict[str, Transport] = dict.fromkeys(CHANNELS, local)
    timeout = settings.send_timeout_seconds
    if settings.sms_url:
        found["sms"] = HttpSmsGateway(
            url=settings.sms_url,
            payload=settings.sms_payload,
            token=settings.sms_token,
            id_field=settings.sms_id_field,
            sender=settings.sms_sender,
            timeout=timeout,
        )
    if settings.whatsapp_phone_number_id and settings.whatsapp_token:
        found["whatsapp"] = WhatsAppCloud(
            base_url=settings.whatsapp_base_url,
            phone_number_id=settings.whatsapp_phone_number_id,
            token=settings.whatsapp_token,
            timeout=timeout,
        )
    if settings.smtp_host:
        found["email"] = SmtpChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=timeout,
        )
    return found


def gateway_limits(settings: Settings, found: dict[str, Transport]) -> dict[str, RateLimiter]:
    """A pace for each channel that goes through a gateway; the local file needs none."""
    rates = {
        "sms": settings.sms_rate_per_second,
        "whatsapp": settings.whatsapp_rate_per_second,
        "email": settings.email_rate_per_second,
    }
    return {
        channel: RateLimiter(rate)
        for channel, rate in rates.items()
        if not isinstance(found[channel], LocalFileTransport)
    }


class Notify:
    """What notify's handlers, dispatcher and routes share in one process."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.quiet = QuietHours(
            settings.quiet_start,
            settings.quiet_end,
            ZoneInfo(settings.timezone),
            enabled=settings.quiet_hours,
        )
        self.dispatcher: Dispatcher | None = None

    def timing(self) -> Timing:
        return Timing(self.clock(), self.quiet)

    def wake(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    def subscribe(self, runtime: ServiceRuntime) -> None:
        settings = self.settings
        found = transports(settings)
        self.dispatcher = Dispatcher(
            sessions=runtime.sessions,
            transports=found,
            limiters=gateway_limits(settings, found),
            clock=self.clock,
            policy=RetryPolicy(settings.max_attempts, settings.retry_base_seconds),
            quiet=self.quiet,
            lease=timedelta(seconds=settings.send_lease_seconds),
            batch=settings.dispatch_batch,
            poll_seconds=settings.dispatch_poll_seconds,
            after_commit=runtime.relay.wake,
        )

        def queued() -> None:
            self.wake()
            runtime.relay.wake()

        handlers.subscribe_all(
            runtime, timing=self.timing, officer_address=settings.officer_address, queued=queued
        )

    async def dispatch(self, runtime: ServiceRuntime) -> None:
        assert self.dispatcher is not None
        await self.dispatcher.run()

    async def prepare(self, runtime: ServiceRuntime) -> None:
        await seed_demo_district(runtime, accounts.seed_demo_users)


async def get_notify(request: Request) -> Notify:
    found: Notify = request.app.state.notify
    return found


NotifyDep = Annotated[Notify, Depends(get_notify)]
