"""The transactional outbox and the relay that moves it to JetStream.

A service adds the events it raises to the same session as its state change, so both
commit or neither does. The relay publishes pending rows with `Nats-Msg-Id` = event id and
marks a row sent only after JetStream acknowledged storing it. A broker outage therefore
delays events and never loses them; the front office keeps working meanwhile.
"""

import asyncio
import contextlib
import functools
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Index, bindparam, func, text, update
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from shared.cancellation import raise_if_cancelled
from shared.contracts import Event
from shared.db import SessionFactory, error_detail
from shared.logging import TRACE_HEADER, get_logger
from shared.staging import stage
from shared.table_model import TableModel

log = get_logger(__name__)

# publish(subject, payload, headers) -> returns once the broker acknowledged storage.
Publish = Callable[[str, bytes, dict[str, str]], Coroutine[Any, Any, object]]


class OutboxMessage(TableModel, table=True):
    """One event to publish. Every event a service raises is a row written and then marked,
    so the table's indexes are what each event pays for (bench/RESULTS.md, 7 Dec): the
    relay's index holds only the rows still pending, and `arrived_at` has none, since only a
    village edge counts by it, every few seconds, over its own few thousand rows."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: UUID = Field(unique=True)
    event_type: str
    subject: str
    payload: str
    trace_id: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    published_at: datetime | None = None
    # At a village edge: when the district's stream was seen holding it (uplink receipt).
    arrived_at: datetime | None = None


def outbox_message(event: Event) -> OutboxMessage:
    """The outbox row that publishes `event`."""
    return OutboxMessage(
        event_id=event.event_id,
        event_type=event.type,
        subject=event.subject(),
        payload=event.model_dump_json(),
        trace_id=event.trace_id,
    )


def add_event(session: AsyncSession, event: Event) -> None:
    """Stage `event` for publication in the caller's transaction."""
    stage(session, outbox_message(event))


def headers_for(event_id: UUID, trace_id: str) -> dict[str, str]:
    return {"Nats-Msg-Id": str(event_id), TRACE_HEADER: trace_id}


# The relay's two statements, built once: every cycle of every service runs them, and
# building them took longer than running them on SQLite (bench/RESULTS.md). Columns, not
# OutboxMessage objects: the rows in flight are read again at every turn. (Typed Any:
# sqlmodel's select types up to four columns.)
_PENDING: Any = (
    Select(
        col(OutboxMessage.id),
        col(OutboxMessage.event_id),
        col(OutboxMessage.subject),
        col(OutboxMessage.payload),
        col(OutboxMessage.trace_id),
    )
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
    """Publishes pending outbox rows in order as soon as they are committed, and marks them
    sent once JetStream acknowledged them; woken after each commit, polls as a fallback.

    A row is sent without waiting for the acknowledgements of those sent before it, which
    come in beside and are marked together, at most every MARK_SECONDS. A relay that
    waited for each batch's acknowledgements before reading the next made every row
    committed meanwhile wait for that round trip as well, through a busy event loop
    (bench/RESULTS.md, 25 Nov).
    """

    MARK_SECONDS = 0.1

    def __init__(
        self,
        sessions: SessionFactory,
        publish: Publish,
        *,
        batch_size: int = 200,
        poll_seconds: float = 1.0,
        max_in_flight: int = 1000,
    ) -> None:
        self._sessions = sessions
        self._publish = publish
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._max_in_flight = max_in_flight
        self._wake = asyncio.Event()
        self._failures = 0
        self._failed: BaseException | None = None
        self._in_flight: dict[int, asyncio.Task[object]] = {}
        self._acknowledged: set[int] = set()  # and not marked yet
        self._next_mark = 0.0  # loop time

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Relay until cancelled; a failed publish backs off and sends its row again."""
        try:
            while True:
                raise_if_cancelled()
                try:
                    await self._mark_if_due()
                    self._raise_failure()
                    sent = await self.send_pending()
                except Exception as exc:
                    self._failures += 1
                    log.warning(
                        "outbox_publish_failed",
                        error=type(exc).__name__,
                        detail=error_detail(exc),
                        failures=self._failures,
                    )
                    await asyncio.sleep(min(0.5 * 2**self._failures, 15.0))
                    continue
                if sent < self._batch_size:
                    await self._wait()
        finally:
            # Rows whose acknowledgement did not come stay pending: sent again at the next
            # start, where the broker's de-duplication and the consumers' inboxes catch them.
            for task in list(self._in_flight.values()):
                task.cancel()

    async def _wait(self) -> None:
        """Until woken, or until acknowledged rows are due to be marked."""
        seconds = self._poll_seconds
        if self._acknowledged:
            seconds = min(seconds, self._next_mark - asyncio.get_running_loop().time())
        # asyncio.timeout, not wait_for, which can swallow a cancellation (see
        # shared.cancellation): this wait happens at every turn.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._wake.wait()
        self._wake.clear()

    async def send_pending(self) -> int:
        """Start publishing the pending rows not handed to a publish yet; how many.

        The pending rows are read from the first every time, those in flight or waiting to
        be marked skipped: on PostgreSQL a row can commit after one with a higher id (ids
        are taken at insert, transactions commit in any order), so reading on from the last
        id sent would pass it over.

        No transaction stays open while publishing: a slow or unreachable broker must not
        hold database locks that the front office's writes are waiting for. Two relays
        (two instances of a service) may therefore publish the same row; the broker's
        de-duplication and every consumer's inbox make that harmless.
        """
        room = min(self._batch_size, self._max_in_flight - len(self._in_flight))
        if room <= 0:
            return 0
        known = self._in_flight.keys() | self._acknowledged
        async with self._sessions() as session:
            rows = (await session.exec(_PENDING, params={"limit": room + len(known)})).all()
        fresh = [row for row in rows if row[0] not in known]
        for row_id, event_id, subject, payload, trace_id in fresh[:room]:
            # Tasks start in the order made, and each sends before it first waits: the rows
            # go out in order on one connection, so the stream stores them in order.
            task = asyncio.create_task(
                self._publish(subject, payload.encode(), headers_for(event_id, trace_id))
            )
            task.add_done_callback(functools.partial(self._finished, row_id))
            self._in_flight[row_id] = task
        return min(len(fresh), room)

    def _finished(self, row_id: int, task: "asyncio.Task[object]") -> None:
        del self._in_flight[row_id]
        if task.cancelled():
            return
        if (error := task.exception()) is not None:
            self._failed = error  # the row stays pending: the next turn sends it again
            self._wake.set()
            return
        self._acknowledged.add(row_id)
        self._failures = 0
        if not self._in_flight:  # the last of a burst: mark them now, not at the next commit
            self._wake.set()

    def _raise_failure(self) -> None:
        failed, self._failed = self._failed, None
        if failed is not None:
            raise failed

    async def _mark_if_due(self) -> None:
        """Mark the rows JetStream acknowledged as sent, in one statement, once MARK_SECONDS
        have passed since the last time."""
        now = asyncio.get_running_loop().time()
        if not self._acknowledged or now < self._next_mark:
            return
        self._next_mark = now + self.MARK_SECONDS
        ids = sorted(self._acknowledged)
        async with self._sessions() as session:
            await session.exec(_MARK_PUBLISHED, params={"ids": ids, "at": datetime.now(UTC)})
            await session.commit()
        self._acknowledged.difference_update(ids)


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
