"""Verval's process: `slrt serve verval`."""

import asyncio
from datetime import datetime

from fastapi import FastAPI

from services.verval import accounts, api, handlers, proposal_service
from services.verval.models import TABLES
from services.verval.settings import Settings
from services.verval.web import pages
from shared.accounts import seed_demo_district
from shared.areas import WIB
from shared.logging import get_logger
from shared.runtime import ServiceRuntime, create_service_app

log = get_logger(__name__)


async def prepare(runtime: ServiceRuntime) -> None:
    """The demo district's users, if asked."""
    await seed_demo_district(runtime, accounts.seed_demo_users)


async def rollover_scheduler(runtime: ServiceRuntime) -> None:
    """Move proposals whose window closed unsent to next month's, now and every
    `rollover_check_seconds`, for as long as we run."""
    settings = runtime.settings
    interval = settings.rollover_check_seconds if isinstance(settings, Settings) else 3600.0
    while True:
        try:
            async with runtime.sessions() as session:
                today = datetime.now(WIB).date()
                moved = await proposal_service.roll_over_missed(session=session, today=today)
            if moved:
                log.info("proposals_rolled_over", moved=moved)
                runtime.relay.wake()
        except Exception:
            log.exception("rollover_failed")  # the next round tries again
        await asyncio.sleep(interval)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="SLRT Verval (verifikasi dan validasi)",
        tables=TABLES,
        routers=[api.router, pages.router, pages.sign_in],
        subscribe=handlers.subscribe_all,
        on_startup=prepare,
        background=[rollover_scheduler] if settings.rollover_check_seconds > 0 else [],
    )
