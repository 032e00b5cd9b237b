"""Intake's process: `uvicorn services.intake.app:app` (or `slrt serve intake`)."""

from fastapi import FastAPI

from services.intake import api, handlers
from services.intake.models import TABLES
from services.intake.settings import Settings
from shared.runtime import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or Settings(),
        title="SLRT Intake (Puskesos desa)",
        tables=TABLES,
        routers=[api.router],
        subscribe=handlers.subscribe_all,
    )
