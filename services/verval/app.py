"""Verval's process: `slrt serve verval`."""

from fastapi import FastAPI

from services.verval import api, handlers
from services.verval.models import TABLES
from services.verval.settings import Settings
from shared.runtime import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or Settings(),
        title="SLRT Verval (verifikasi dan validasi)",
        tables=TABLES,
        routers=[api.router],
        subscribe=handlers.subscribe_all,
    )
