"""The transactional outbox and the relay that moves it to JetStream.

A service adds the events it raises to the same session as its state change, so both
commit or neither does. The relay publishes pending rows with `Nats-Msg-Id` = event id and
marks a row sent only after JetStream acknowledged storing it. A broker outage therefore
delays events and never loses them; the front office keeps working meanwhile.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import bindparam, func, update
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.cancellation import raise_if_cancelled
from shared.contracts import Event
from shared.db import SessionFactory
from shared.logging import TRACE_HEADER, get_logger
from shared.staging import stage
from shared.table_model import TableModel

log = get_logger(__name__)

# publish(subject, payload, headers) -> returns once the broker acknowledged storage.
Publish = Callable[[str, bytes, dict[str, str]], Awaitable[object]]


class OutboxMessage(TableModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    event_id: UUID = Field(unique=True)
    event_type: str
    subject: str
    payload: str
    trace_id: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    published_at: datetime | None = Field(default=None, index=True)
    # At a village edge: when the district's stream was seen holding it (uplink receipt).
    arrived_at: datetime | None = Field(default=None, index=True)


def add_event(session: AsyncSession, event: Event) -> None:
    """Stage `event` for publication in the caller's transaction."""
    stage(
        session,
        OutboxMessage(
            event_id=event.event_id,
            event_type=event.type,
            subject=event.subject(),
            payload=event.model_dump_json(),
            trace_id=event.trace_id,
        ),
    )


def headers_for(row: OutboxMessage) -> dict[str, str]:
    return {"Nats-Msg-Id": str(row.event_id), TRACE_HEADER: row.trace_id}


# The relay's two statements, built once: every cycle of every service runs them, and
# building them took longer than running them on SQLite (bench/RESULTS.md).
_PENDING = (
    select(OutboxMessage)
    .where(col(OutboxMessage.published_at).is_(None))
    .order_by(col(OutboxMessage.id))
    .limit(bindparam("limit"))
)
_MARK_PUBLISHED = (
    update(OutboxMessage)
    .where(col(OutboxMessage.id).in_(bindparam("ids", expanding=True)))
    .values(published_at=bindparam("at"))
    .execution_options(synchronize_session=False)  # a session of its own: nothing to sync
)


class OutboxRelay:
    """Publishes pending outbox rows in order; woken after each commit, polls as a fallback."""

    def __init__(
        self,
        sessions: SessionFactory,
        publish: Publish,
        *,
        batch_size: int = 200,
        poll_seconds: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._publish = publish
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._failures = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Relay until cancelled; a failed publish backs off and retries the same rows."""
        while True:
            raise_if_cancelled()
            try:
                published = await self.publish_pending()
                self._failures = 0
            except Exception as exc:
                self._failures += 1
                log.warning("outbox_publish_failed", error=str(exc), failures=self._failures)
                await asyncio.sleep(min(0.5 * 2**self._failures, 15.0))
                continue
            if published == self._batch_size:
                continue
            # asyncio.timeout, not wait_for, which can swallow a cancellation (see
            # shared.cancellation): this wait happens at every turn.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_seconds):
                    await self._wake.wait()
            self._wake.clear()

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were marked sent.

        No transaction stays open while publishing: a slow or unreachable broker must not
        hold database locks that the front office's writes are waiting for. Two relays
        (two instances of a service) may therefore publish the same row; the broker's
        de-duplication and every consumer's inbox make that harmless.
        """
        async with self._sessions() as session:
            rows = (await session.exec(_PENDING, params={"limit": self._batch_size})).all()
        if not rows:
            return 0
        # Sent in order on one connection, so the stream stores them in order; the acks are
        # awaited together because one round trip per event would cap throughput.
        await asyncio.gather(
            *(self._publish(row.subject, row.payload.encode(), headers_for(row)) for row in rows)
        )
        async with self._sessions() as session:
            sent = {"ids": [row.id for row in rows], "at": datetime.now(UTC)}
            await session.exec(_MARK_PUBLISHED, params=sent)
            await session.commit()
        return len(rows)


async def mark_arrived(session: AsyncSession, event_ids: list[UUID]) -> None:
    """Record that the district holds these events (ids of other places' events match none)."""
    await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.event_id).in_(event_ids), col(OutboxMessage.arrived_at).is_(None))
        .values(arrived_at=datetime.now(UTC))
    )


async def not_arrived_count(session: AsyncSession) -> int:
    """At a village edge: how many of the village's events the district does not have yet."""
    query = select(func.count()).select_from(OutboxMessage)
    return (await session.exec(query.where(col(OutboxMessage.arrived_at).is_(None)))).one()
