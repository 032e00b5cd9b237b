"""Intake's process: `uvicorn services.intake.app:app` (or `slrt serve intake`)."""

from fastapi import FastAPI

from services.intake import accounts, api, handlers, uplink
from services.intake.models import TABLES
from services.intake.settings import Settings
from services.intake.web import pages
from shared.accounts import seed_demo_district
from shared.runtime import ServiceRuntime, create_service_app


async def seed_demo_users(runtime: ServiceRuntime) -> None:
    await seed_demo_district(runtime, accounts.seed_demo_users)


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
