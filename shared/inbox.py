"""The inbox: which events a consumer has already applied.

A consumer records the event id in the same transaction as the event's effect. A
redelivered event finds its id and is acknowledged without being applied again, so effects
happen exactly once although JetStream delivers at least once.
"""

from datetime import UTC, datetime
from uuid import UUID

from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True)
    event_id: UUID = Field(primary_key=True)
    applied_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


async def claim(session: AsyncSession, *, consumer: str, event_id: UUID) -> bool:
    """Record that `consumer` applies `event_id` now; False if it already did.

    Two instances racing on the same event both get True here; the second one's commit then
    fails on the primary key, which the consumer runtime treats as "already applied".
    """
    if await session.get(InboxEntry, (consumer, event_id)) is not None:
        return False
    session.add(InboxEntry(consumer=consumer, event_id=event_id))
    return True
