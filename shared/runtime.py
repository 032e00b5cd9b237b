"""Wiring every service shares: database, broker, outbox relay, health checks, lifespan.

A service supplies its settings, tables, routes and event subscriptions; `create_service_app`
returns a FastAPI app whose lifespan starts and stops the rest. The broker connects in the
background and keeps retrying, so a service starts (and intake keeps registering cases)
while NATS is unreachable; `/readyz` says so.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.areas import AreaRegistry, load_registry
from shared.cancellation import raise_if_cancelled
from shared.consumer import Consumers
from shared.db import (
    DATABASE_UNAVAILABLE,
    SessionFactory,
    create_engine,
    create_tables,
    ping,
    session_factory,
    until_database_answers,
)
from shared.edge import VILLAGE_STREAMS, Edge
from shared.errors import install_error_handlers
from shared.inbox import InboxEntry
from shared.logging import configure_logging, get_logger, trace_id_from
from shared.outbox import OutboxMessage, OutboxRelay, Publish
from shared.settings import ServiceSettings
from shared.topology import DISTRICT_STREAMS, Streams

log = get_logger(__name__)

RUNTIME_TABLES: tuple[Table, ...] = (OutboxMessage.__table__, InboxEntry.__table__)  # type: ignore[attr-defined]
PUBLISH_TIMEOUT_SECONDS = 5.0


@dataclass
class ServiceRuntime:
    """Everything a service's routes and handlers need, built once per process."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: SessionFactory
    broker: NatsBroker
    relay: OutboxRelay
    areas: AreaRegistry
    broker_connected: asyncio.Event
    # At a village edge, the village; None at the district.
    edge: Edge | None
    streams: Streams
    consumers: Consumers


Job = Callable[[ServiceRuntime], Awaitable[None]]
Loop = Callable[[ServiceRuntime], Coroutine[Any, Any, None]]


def every(seconds: float, job: Job) -> Loop:
    """A background loop running `job` now and every `seconds`, for as long as we run.

    A round that fails is logged and the next one tries again. One that finds the database
    away (or its disk full) waits for it (a line every few seconds, not a traceback a round)
    and runs again as soon as it answers, so what came due meanwhile is not left for a
    further round.
    """

    async def loop(runtime: ServiceRuntime) -> None:
        while True:
            raise_if_cancelled()
            try:
                await job(runtime)
            except Exception as exc:
                if isinstance(exc, DATABASE_UNAVAILABLE) and await until_database_answers(
                    runtime.sessions, failure=exc
                ):
                    continue  # the database is back: run the job now
                log.exception("scheduled_job_failed", job=job.__name__)
            await asyncio.sleep(seconds)

    loop.__name__ = job.__name__
    return loop


def jetstream_publisher(broker: NatsBroker, connected: asyncio.Event, stream: str) -> Publish:
    """A publish that returns only after `stream` stored the message."""

    async def publish(subject: str, payload: bytes, headers: dict[str, str]) -> object:
        if not connected.is_set():
            raise ConnectionError("NATS not connected yet")
        return await broker.publish(
            payload, subject, headers=headers, stream=stream, timeout=PUBLISH_TIMEOUT_SECONDS
        )

    return publish


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    engine = create_engine(settings.effective_database_url)
    sessions = session_factory(engine)
    edge = Edge.of(settings.village) if settings.village else None
    streams = VILLAGE_STREAMS if edge else DISTRICT_STREAMS
    broker = NatsBroker(
        settings.nats_url,
        connect_timeout=2,
        reconnect_time_wait=1,
        max_reconnect_attempts=-1,
        logger=logging.getLogger(f"faststream.{settings.service_name}"),
        log_level=logging.DEBUG,
        inbox_prefix=edge.inbox_prefix if edge else "_INBOX",
    )
    connected = asyncio.Event()
    relay = OutboxRelay(sessions, jetstream_publisher(broker, connected, streams.publish))
    areas = load_registry(settings.area_csv)
    return ServiceRuntime(
        settings, engine, sessions, broker, relay, areas, connected, edge, streams, Consumers()
    )


def create_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    tables: Sequence[Table],
    routers: Sequence[APIRouter],
    subscribe: Callable[[ServiceRuntime], None],
    on_startup: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
    background: Sequence[Loop] = (),
) -> FastAPI:
    """A service's FastAPI app: its routes, health checks and a lifespan running the rest
    (broker, outbox relay, and the service's own `background` loops)."""
    configure_logging(
        service=settings.service_name, level=settings.log_level, json=settings.log_json
    )
    runtime = build_runtime(settings)
    subscribe(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A service started before its database (a machine booting, PostgreSQL restarting)
        # waits for it, saying why, instead of exiting.
        await until_database_answers(runtime.sessions)
        await create_tables(runtime.engine, [*RUNTIME_TABLES, *tables])
        if on_startup is not None:
            await on_startup(runtime)
        tasks = [
            asyncio.create_task(_connect_broker(runtime), name="broker"),
            asyncio.create_task(runtime.relay.run(), name="outbox-relay"),
            *(asyncio.create_task(loop(runtime), name=loop.__name__) for loop in background),
        ]
        log.info("service_started", port=settings.port)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await runtime.consumers.stop()
            await runtime.broker.stop()
            await runtime.engine.dispose()
            log.info("service_stopped")

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.runtime = runtime
    app.add_middleware(TraceIdMiddleware)
    install_error_handlers(app)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    return app


class TraceIdMiddleware:
    """Give every request a trace id (the caller's X-Trace-Id, or a new one) for its logs
    and the events it causes; NATS headers carry it on to the other services.

    Plain ASGI rather than `app.middleware("http")`: that wrapper runs each request in
    extra tasks and costs a noticeable share of a registration's time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace_id = trace_id_from(Headers(scope=scope).get("x-trace-id"))

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Trace-Id"] = trace_id
            await send(message)

        with structlog.contextvars.bound_contextvars(trace_id=trace_id):
            await self.app(scope, receive, send_with_trace)


async def _connect_broker(runtime: ServiceRuntime) -> None:
    """Start the broker and the event consumers, retrying until NATS answers."""
    delay = 0.5
    while True:
        try:
            await runtime.broker.start()
        except Exception as exc:
            log.warning("broker_connect_failed", error=str(exc), retry_in=delay)
            with contextlib.suppress(Exception):
                await runtime.broker.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            continue
        runtime.consumers.start(runtime.broker.connection)
        runtime.broker_connected.set()
        runtime.relay.wake()
        log.info("broker_connected", url=runtime.settings.nats_url)
        return


async def get_runtime(request: Request) -> ServiceRuntime:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a hop per request.
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    runtime = await get_runtime(request)
    async with runtime.sessions() as session:
        yield session


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @router.get("/readyz", response_model=None)
    async def readyz(runtime: RuntimeDep) -> dict[str, Any] | JSONResponse:
        """Database and NATS are reachable; 503 with what is not, otherwise. It names the
        service, so that whoever waits for it knows who answered on the port."""
        checks = {"database": await _database_ok(runtime), "nats": await _nats_ok(runtime)}
        status = "ok" if all(checks.values()) else "unavailable"
        body = {"service": runtime.settings.service_name, "status": status, "checks": checks}
        return body if all(checks.values()) else JSONResponse(body, status_code=503)

    return router


async def _database_ok(runtime: ServiceRuntime) -> bool:
    try:
        async with asyncio.timeout(2):
            await ping(runtime.sessions)
    except Exception:
        return False
    return True


async def _nats_ok(runtime: ServiceRuntime) -> bool:
    if not runtime.broker_connected.is_set():
        return False
    try:
        return await runtime.broker.ping(timeout=1)
    except Exception:
        return False
