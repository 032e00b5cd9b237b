"""At a village edge: which of the village's events the district holds, and whether the
district can be reached at all; the pages show both (see `shared/edge.py` for the topology).

The district's stream comes down to the village carrying the village's own events once the
hub stored them; each one is an uplink receipt for its outbox row (by `Nats-Msg-Id`, the
event id). The down-source hears the hub's heartbeats every few seconds while the link is
up, so a long silence means the district is unreachable.
"""

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import Request
from nats.js import JetStreamContext
from nats.js.api import StreamSourceInfo

from shared.cancellation import raise_if_cancelled
from shared.db import DATABASE_UNAVAILABLE
from shared.edge import DISTRICT_STREAM, UPLINK_DURABLE
from shared.logging import get_logger
from shared.outbox import mark_arrived, not_arrived_count
from shared.runtime import ServiceRuntime

log = get_logger(__name__)

SILENCE_SECONDS = 10.0
WATCH_SECONDS = 2.0
RECEIPT_BATCH = 500
RECEIPT_RETRY_SECONDS = 1.0


@dataclass
class LinkStatus:
    """What the village's pages say about the link; None while not known yet."""

    reachable: bool | None = None
    waiting: int = 0


def district_reachable(source: StreamSourceInfo | None) -> bool:
    """The hub's last word (message or heartbeat) came recently and without an error."""
    if source is None or source.error or source.active is None or source.active < 0:
        return False
    return source.active / 1e9 < SILENCE_SECONDS


def receipt_ids(headers: list[dict[str, str] | None]) -> list[UUID]:
    """The event ids among messages' headers; a message without a valid one is no receipt."""
    ids = []
    for header in headers:
        with contextlib.suppress(ValueError, TypeError):
            ids.append(UUID((header or {}).get("Nats-Msg-Id", "")))
    return ids


def page_context(request: Request) -> dict[str, Any]:
    """Every page of a village edge shows the link; at the district there is none."""
    return {"link": getattr(request.app.state, "link", None)}


async def keep_receipts(runtime: ServiceRuntime) -> None:
    """Mark outbox rows arrived as the district's stream brings the village's events back."""
    await runtime.broker_connected.wait()
    js = runtime.broker.connection.jetstream()
    sub = await js.pull_subscribe_bind(UPLINK_DURABLE, stream=DISTRICT_STREAM)
    try:
        while True:
            raise_if_cancelled()
            await _receive_receipts(runtime, sub)
    finally:
        # Left subscribed, the connection's drain at shutdown would wait for it in vain.
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


async def _receive_receipts(
    runtime: ServiceRuntime, sub: JetStreamContext.PullSubscription
) -> None:
    try:
        messages = await sub.fetch(RECEIPT_BATCH, timeout=2.0)
    except TimeoutError:
        return
    except Exception as exc:  # the local server restarting: keep trying
        log.warning("uplink_receipts_failed", error=type(exc).__name__)
        await asyncio.sleep(1.0)
        return
    try:
        async with runtime.sessions() as session:
            await mark_arrived(session, receipt_ids([m.headers for m in messages]))
            await session.commit()
    except DATABASE_UNAVAILABLE as exc:  # the receipts come again until they are recorded
        log.warning("uplink_receipts_unrecorded", error=type(exc).__name__)
        for message in messages:
            await message.nak(delay=RECEIPT_RETRY_SECONDS)
        return
    for message in messages:
        await message.ack()


def link_watcher(status: LinkStatus) -> Callable[[ServiceRuntime], Coroutine[Any, Any, None]]:
    """A background loop keeping `status` current for the pages."""

    async def watch_link(runtime: ServiceRuntime) -> None:
        while True:
            raise_if_cancelled()
            status.reachable = await _reachable(runtime)
            with contextlib.suppress(Exception):  # the database busy: keep the last count
                async with runtime.sessions() as session:
                    status.waiting = await not_arrived_count(session)
            await asyncio.sleep(WATCH_SECONDS)

    return watch_link


async def _reachable(runtime: ServiceRuntime) -> bool:
    if not runtime.broker_connected.is_set():
        return False
    try:
        info = await runtime.broker.connection.jetstream().stream_info(DISTRICT_STREAM)
    except Exception:  # the village's own server is down: the district is out of reach too
        return False
    return district_reachable(info.sources[0] if info.sources else None)
