"""Referral's process: `slrt serve referral`."""

from datetime import UTC, datetime

from fastapi import FastAPI

from services.referral import accounts, api, handlers, kis_daerah, routing, service
from services.referral.models import TABLES
from services.referral.settings import Settings
from services.referral.web import pages, settings_pages
from shared.accounts import seed_demo_district
from shared.logging import get_logger
from shared.runtime import ServiceRuntime, create_service_app, every

log = get_logger(__name__)


async def prepare(runtime: ServiceRuntime) -> None:
    """National default routing for a new district; the demo district's users if asked."""
    async with runtime.sessions() as session:
        await routing.seed_defaults(session)
    await seed_demo_district(runtime, accounts.seed_demo_users)


async def raise_overdue(runtime: ServiceRuntime) -> None:
    """Raise every step that has passed its deadline."""
    async with runtime.sessions() as session:
        raised = await service.raise_overdue(session=session, now=datetime.now(UTC))
        await session.commit()
    if raised:
        log.info("referrals_overdue", raised=raised)
        runtime.relay.wake()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="SLRT Referral (Sekretariat SLRT kabupaten)",
        tables=[*TABLES, *kis_daerah.TABLES],
        routers=[api.router, pages.router, settings_pages.router, pages.sign_in],
        subscribe=handlers.subscribe_all,
        on_startup=prepare,
        background=[every(settings.overdue_check_seconds, raise_overdue)]
        if settings.overdue_check_seconds > 0
        else [],
    )
