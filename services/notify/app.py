"""Notify's process: `slrt serve notify`."""

from fastapi import FastAPI

from services.notify import api
from services.notify.delivery import Notify, utc_now
from services.notify.dispatch import Clock
from services.notify.models import TABLES
from services.notify.settings import Settings
from services.notify.web import pages
from shared.runtime import create_service_app


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> FastAPI:
    settings = settings or Settings()
    notify = Notify(settings, clock)
    app = create_service_app(
        settings=settings,
        title="SLRT Notify (pemberitahuan warga)",
        tables=TABLES,
        routers=[api.router, pages.router, pages.sign_in],
        subscribe=notify.subscribe,
        on_startup=notify.prepare,
        background=[notify.dispatch],
    )
    app.state.notify = notify
    return app
