"""Intake's process: `uvicorn services.intake.app:app` (or `slrt serve intake`)."""

from fastapi import FastAPI

from services.intake import accounts, api, handlers, uplink
from services.intake.models import TABLES
from services.intake.settings import Settings
from services.intake.web import pages
from shared.runtime import ServiceRuntime, create_service_app


async def seed_demo_users(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    if not (isinstance(settings, Settings) and settings.demo_users):
        return
    async with runtime.sessions() as session:
        for kabupaten in runtime.areas.kabupaten():
            await accounts.seed_demo_users(
                session=session, areas=runtime.areas, kabupaten=kabupaten.code
            )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # A village edge also follows its link to the district (shared/edge.py).
    link = uplink.LinkStatus() if settings.village else None
    app = create_service_app(
        on_startup=seed_demo_users,
        settings=settings,
        title="SLRT Intake (Puskesos desa)",
        tables=TABLES,
        routers=[api.router, pages.router, pages.sign_in],
        subscribe=handlers.subscribe_all,
        background=[uplink.keep_receipts, uplink.link_watcher(link)] if link else [],
    )
    app.state.link = link
    return app
