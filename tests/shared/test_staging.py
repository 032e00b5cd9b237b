"""Staged rows (shared/staging.py): written at commit after the session's own objects, one
INSERT per table, and gone with a rollback; on SQLite and PostgreSQL."""

from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, col, select

from shared.db import SessionFactory, create_engine, create_tables, pending, session_factory
from shared.staging import stage, staged_count
from shared.table_model import TableModel


class Parent(TableModel, table=True):
    __tablename__ = "staging_parent"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    name: str


class Child(TableModel, table=True):
    __tablename__ = "staging_child"

    id: int | None = Field(default=None, primary_key=True)
    parent_id: UUID = Field(foreign_key="staging_parent.id")
    note: str = Field(unique=True)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    tables = [Parent.__table__, Child.__table__]  # type: ignore[attr-defined]
    await create_tables(engine, tables)
    yield session_factory(engine)
    await engine.dispose()


async def _children(sessions: SessionFactory) -> list[tuple[UUID, str]]:
    async with sessions() as session:
        rows = await session.exec(select(Child).order_by(col(Child.id)))
        return [(child.parent_id, child.note) for child in rows]


async def test_staged_rows_are_written_at_commit_after_the_sessions_own_objects(
    sessions: SessionFactory,
) -> None:
    parent = Parent(name="Siti")
    async with sessions() as session:
        # Staged before the parent they refer to is added: the parent is written first.
        stage(session, Child(parent_id=parent.id, note="satu"))
        session.add(parent)
        stage(session, Child(parent_id=parent.id, note="dua"), Child(parent_id=parent.id, note="x"))
        assert staged_count(session) == 3
        assert (await session.exec(select(Child))).all() == []  # not written before commit
        await session.commit()
        assert staged_count(session) == 0
    notes = [(parent.id, note) for note in ("satu", "dua", "x")]
    assert await _children(sessions) == notes  # in the order staged


async def test_a_staged_row_can_be_a_new_object_with_its_own_key(
    sessions: SessionFactory,
) -> None:
    parent = Parent(name="Budi")
    async with sessions() as session:
        stage(session, parent, Child(parent_id=parent.id, note="satu"))
        await session.commit()
    assert await _children(sessions) == [(parent.id, "satu")]


async def test_a_rollback_drops_what_was_staged(sessions: SessionFactory) -> None:
    parent = Parent(name="Siti")
    parent_id = parent.id  # the rollback expires the object
    async with sessions() as session:
        session.add(parent)
        await session.commit()
        # Staged outside any transaction: the staging begins one, which the rollback ends.
        stage(session, Child(parent_id=parent_id, note="batal"))
        await session.rollback()
        assert staged_count(session) == 0
    async with sessions() as session:
        stage(session, Child(parent_id=parent_id, note="jadi"))
        await session.commit()
    assert await _children(sessions) == [(parent_id, "jadi")]


async def test_a_session_closed_without_commit_writes_nothing(sessions: SessionFactory) -> None:
    parent = Parent(name="Siti")
    async with sessions() as session:
        stage(session, parent)
    async with sessions() as session:
        assert staged_count(session) == 0
        await session.commit()
        assert await session.get(Parent, parent.id) is None


async def test_a_refused_row_fails_the_commit(sessions: SessionFactory) -> None:
    parent = Parent(name="Siti")
    async with sessions() as session:
        stage(session, parent, Child(parent_id=parent.id, note="sama"))
        await session.commit()
        stage(session, Child(parent_id=parent.id, note="sama"))
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()
    assert await _children(sessions) == [(parent.id, "sama")]


async def test_a_row_with_a_number_the_database_gives_is_refused(
    sessions: SessionFactory,
) -> None:
    parent = Parent(name="Siti")
    async with sessions() as session:
        session.add(parent)
        stage(session, Child(id=7, parent_id=parent.id, note="tujuh"))
        with pytest.raises(ValueError, match="takes its id from the database"):
            await session.commit()


async def test_pending_rows_include_the_staged_ones(sessions: SessionFactory) -> None:
    """A batch's earlier rows are found without a flush, added or staged."""
    added, staged = Parent(name="ditambah"), Parent(name="disiapkan")
    async with sessions() as session:
        session.add(added)
        stage(session, staged, Child(parent_id=staged.id, note="anak"))
        assert {p.name for p in pending(session, Parent)} == {"ditambah", "disiapkan"}
        await session.commit()
        assert pending(session, Parent) == []
