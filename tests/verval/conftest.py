"""A small synthetic district and verval's database loaded with it."""

from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.verval.importer import import_csv, sync_engine
from services.verval.models import TABLES
from services.verval.registry import Kind
from shared.areas import load_registry
from slrt.synthetic import generate

PEOPLE = 1500


@pytest.fixture
def district(tmp_path: Path) -> Path:
    generate(load_registry(None), PEOPLE, tmp_path / "registry", seed=11)
    return tmp_path / "registry"


def registry_engine(database_url: str) -> Engine:
    engine = sync_engine(database_url)
    TABLES[0].metadata.create_all(engine, tables=TABLES)
    return engine


def load_district(engine: Engine, district: Path) -> None:
    for kind in Kind:
        import_csv(engine, kind, district / f"{kind.value}.csv")
