"""Answering requests on a core NATS subject (request/reply, not JetStream), such as
verval's answer to the desk's pre-check while the citizen waits.

nats-py directly, as the event consumers: FastStream's subscriber and request spent about
390 µs of CPU per round trip more than nats-py's (bench/RESULTS.md, 2026-11-24), and every
registration asks. A request that cannot be read or answered gets no reply: the asker's
timeout says so, and it goes on without the answer.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from pydantic import BaseModel, ValidationError

from shared.logging import get_logger

log = get_logger(__name__)


@dataclass
class Responder:
    """Answers `request`s on `subject`; instances in one `queue` group share them."""

    subject: str
    queue: str
    request: type[BaseModel]
    answer: Callable[[Any], Awaitable[BaseModel]]

    async def run(self, connection: NatsClient) -> None:
        """Answer until cancelled; one request at a time, in the order they come."""
        sub = await connection.subscribe(self.subject, queue=self.queue, cb=self._respond)
        try:
            await asyncio.Future()  # the subscription's callback does the work
        finally:
            with contextlib.suppress(Exception):  # the connection may be gone already
                await sub.unsubscribe()

    async def _respond(self, msg: Msg) -> None:
        try:
            request = self.request.model_validate_json(msg.data)
        except ValidationError as exc:
            # Not str(exc): it quotes the input, which may hold a NIK.
            log.warning("request_unreadable", subject=self.subject, errors=exc.error_count())
            return
        try:
            reply = await self.answer(request)
        except Exception:
            log.exception("request_failed", subject=self.subject)
            return
        await msg.respond(reply.model_dump_json().encode())
