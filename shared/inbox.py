"""The inbox: which events a consumer has already applied.

A consumer records the event id in the same transaction as the event's effect. A
redelivered event finds its id and is acknowledged without being applied again, so effects
happen exactly once although JetStream delivers at least once.
"""

from datetime import UTC, datetime
from uuid import UUID

from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import dialect_of, insert_on_conflict


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True)
    event_id: UUID = Field(primary_key=True)
    applied_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


async def claim(session: AsyncSession, *, consumer: str, event_ids: list[UUID]) -> set[UUID]:
    """Record that `consumer` applies these events now: the ids it had not applied before.

    One statement for a whole batch: rows already there are skipped and the new ones
    returned. An instance racing another on the same event waits for the other's
    transaction (PostgreSQL's unique index, SQLite's write lock) and then skips it.
    """
    table = InboxEntry.__table__  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    rows = [{"consumer": consumer, "event_id": i, "applied_at": now} for i in set(event_ids)]
    statement = insert_on_conflict(dialect_of(session), table).on_conflict_do_nothing()
    # The rows as parameters, not in the statement: its compiled form is then cached.
    result = await session.exec(statement.returning(table.c.event_id), params=rows)
    return set(result.scalars())
