"""The inbox: which events a consumer has already applied.

A consumer records the event id in the same transaction as the event's effect. A
redelivered event finds its id and is acknowledged without being applied again, so effects
happen exactly once although JetStream delivers at least once.
"""

from datetime import UTC, datetime
from uuid import UUID

from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True)
    event_id: UUID = Field(primary_key=True)
    applied_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


async def claim(session: AsyncSession, *, consumer: str, event_ids: list[UUID]) -> set[UUID]:
    """Record that `consumer` applies these events now: the ids it had not applied before,
    read for a whole batch in one statement.

    Two instances racing on the same event both get its id here; the second one's commit
    then fails on the primary key, which the consumer runtime treats as "already applied".
    """
    query = select(InboxEntry.event_id).where(
        InboxEntry.consumer == consumer, col(InboxEntry.event_id).in_(event_ids)
    )
    fresh = set(event_ids) - set((await session.exec(query)).all())
    session.add_all(InboxEntry(consumer=consumer, event_id=event_id) for event_id in fresh)
    return fresh
