"""TableModel (shared/table_model.py): built without SQLModel's per-field hooks, it must
still be what SQLModel would have built, and be written and read back alike."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlmodel import Field, SQLModel

from shared.db import SessionFactory, create_engine, create_tables, get_by_key, session_factory
from shared.table_model import TableModel


class ProbeFields(SQLModel):
    name: str
    note: str | None = None
    count: int = 3
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Probe(TableModel, ProbeFields, table=True):
    __tablename__ = "table_model_probe"

    id: UUID = Field(default_factory=uuid4, primary_key=True)


class PlainProbe(ProbeFields, table=True):
    """The same fields built SQLModel's way, to compare with."""

    __tablename__ = "table_model_plain_probe"

    id: UUID = Field(default_factory=uuid4, primary_key=True)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    await create_tables(engine, [Probe.__table__])  # type: ignore[attr-defined]
    yield session_factory(engine)
    await engine.dispose()


def test_it_holds_what_sqlmodel_would_have_built() -> None:
    at = datetime(2026, 11, 24, tzinfo=UTC)
    ours = Probe(name="Siti", at=at, unknown="ignored")
    theirs = PlainProbe(name="Siti", at=at, unknown="ignored")
    assert ours.model_dump(exclude={"id"}) == theirs.model_dump(exclude={"id"})
    assert ours.model_fields_set == theirs.model_fields_set == {"name", "at"}
    assert not hasattr(ours, "unknown")


def test_each_object_gets_its_own_default_from_a_factory() -> None:
    first, second = Probe(name="a"), Probe(name="b")
    assert isinstance(first.id, UUID)
    assert first.id != second.id
    assert first.count == 3 and first.note is None


def test_model_validate_still_builds_a_table_object() -> None:
    probe = Probe.model_validate({"name": "Budi", "count": 7})
    assert (probe.name, probe.count, probe.note) == ("Budi", 7, None)
    assert probe.model_fields_set == {"name", "count"}


async def test_it_is_written_changed_and_read_back(sessions: SessionFactory) -> None:
    probe = Probe(name="Siti", note="pertama")
    async with sessions() as session:
        session.add(probe)
        await session.commit()
    async with sessions() as session:
        stored = await get_by_key(session, Probe, probe.id)
        assert stored is not None
        assert (stored.name, stored.note, stored.count) == ("Siti", "pertama", 3)
        stored.note = "diubah"
        await session.commit()
    async with sessions() as session:
        again = await get_by_key(session, Probe, probe.id)
        assert again is not None and again.note == "diubah"
