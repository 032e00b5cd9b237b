"""The inbox: which events a consumer has already applied.

A consumer records the event id in the same transaction as the event's effect. A
redelivered event finds its id and is acknowledged without being applied again, so effects
happen exactly once although JetStream delivers at least once.
"""

import functools
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import bindparam, delete
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import Field, col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import dialect_of, insert_on_conflict
from shared.table_model import TableModel


class InboxEntry(TableModel, table=True):
    __tablename__ = "inbox"
    # On SQLite a table keyed by its primary key alone: a rowid table would be a second
    # b-tree beside the key's index, written for every event every consumer applies.
    __table_args__ = ({"sqlite_with_rowid": False},)

    consumer: str = Field(primary_key=True)
    event_id: UUID = Field(primary_key=True)
    applied_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


async def claim(session: AsyncSession, *, consumer: str, event_ids: list[UUID]) -> set[UUID]:
    """Record that `consumer` applies these events now: the ids it had not applied before.

    One statement for a whole batch: rows already there are skipped and the new ones
    returned. An instance racing another on the same event waits for the other's
    transaction (PostgreSQL's unique index, SQLite's write lock) and then skips it.
    """
    now = datetime.now(UTC)
    rows = [{"consumer": consumer, "event_id": i, "applied_at": now} for i in set(event_ids)]
    # The rows as parameters, not in the statement: its compiled form is then cached.
    result = await session.exec(_claim_insert(dialect_of(session)), params=rows)
    return set(result.scalars())


@functools.cache
def _claim_insert(dialect: str) -> ReturningInsert[tuple[UUID]]:
    """Built once per kind of database, as intake's counter upsert: every consumer's batch
    runs it."""
    table = InboxEntry.__table__  # type: ignore[attr-defined]
    return insert_on_conflict(dialect, table).on_conflict_do_nothing().returning(table.c.event_id)


async def release(session: AsyncSession, *, consumer: str, event_id: UUID) -> None:
    """Undo this transaction's claim of one event: it was not applied, and its next
    delivery must be."""
    await session.exec(_RELEASE, params={"consumer": consumer, "event_id": event_id})


_RELEASE = delete(InboxEntry).where(
    col(InboxEntry.consumer) == bindparam("consumer"),
    col(InboxEntry.event_id) == bindparam("event_id"),
)
