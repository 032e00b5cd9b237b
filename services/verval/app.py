"""Verval's process: `slrt serve verval`."""

from datetime import date, datetime

from fastapi import FastAPI

from services.verval import accounts, api, handlers, life_event_service, proposal_service
from services.verval.models import TABLES
from services.verval.settings import Settings
from services.verval.web import pages
from shared.accounts import seed_demo_district
from shared.areas import WIB
from shared.logging import get_logger
from shared.runtime import ServiceRuntime, create_service_app, every
from shared.web import area_namer

log = get_logger(__name__)


async def prepare(runtime: ServiceRuntime) -> None:
    """The demo district's users, if asked."""
    await seed_demo_district(runtime, accounts.seed_demo_users)


async def roll_over(runtime: ServiceRuntime) -> None:
    """Move proposals whose window closed unsent to next month's."""
    async with runtime.sessions() as session:
        moved = await proposal_service.roll_over_missed(session=session, today=_today())
    if moved:
        log.info("proposals_rolled_over", moved=moved)
        runtime.relay.wake()


async def scan_life_events(runtime: ServiceRuntime) -> None:
    """Open the correction proposals a newly imported civil or DTKS snapshot calls for."""
    async with runtime.sessions() as session:
        found = await life_event_service.scan(session, _today(), area_namer(runtime.areas))
    if found is not None:
        log.info("life_events_scanned", households=found.households, opened=found.opened,
                 unplaced=found.unplaced)  # fmt: skip


def _today() -> date:
    return datetime.now(WIB).date()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="SLRT Verval (verifikasi dan validasi)",
        tables=TABLES,
        routers=[api.router, pages.router, pages.sign_in],
        subscribe=handlers.subscribe_all,
        on_startup=prepare,
        background=[
            every(seconds, job)
            for seconds, job in [
                (settings.rollover_check_seconds, roll_over),
                (settings.life_event_check_seconds, scan_life_events),
            ]
            if seconds > 0
        ],
    )
