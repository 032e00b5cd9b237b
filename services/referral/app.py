"""Referral's process: `slrt serve referral`."""

from fastapi import FastAPI

from services.referral import api, handlers
from services.referral.models import TABLES
from services.referral.settings import Settings
from shared.runtime import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or Settings(),
        title="SLRT Referral (Sekretariat SLRT kabupaten)",
        tables=TABLES,
        routers=[api.router],
        subscribe=handlers.subscribe_all,
    )
