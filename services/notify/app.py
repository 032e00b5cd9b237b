"""Notify's process: `slrt serve notify`."""

from fastapi import FastAPI

from services.notify import api, handlers
from services.notify.models import TABLES
from services.notify.settings import Settings
from shared.runtime import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or Settings(),
        title="SLRT Notify (pemberitahuan warga)",
        tables=TABLES,
        routers=[api.router],
        subscribe=handlers.subscribe_all,
    )
