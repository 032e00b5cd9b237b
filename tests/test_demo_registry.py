"""`slrt up`'s demo district has a registry: verval judges its cases against real-looking
people from the first start on, and a registry already there is never replaced."""

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from services.verval.importer import sync_engine
from services.verval.registry import Kind, Snapshot
from slrt import cli, up
from slrt.registry import DEMO_PEOPLE, generate_demo_registry, load_demo_registry
from slrt.up import UpOptions

README = Path(__file__).resolve().parents[1] / "README.md"


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def current_snapshots(database_url: str) -> dict[str, int]:
    engine = sync_engine(database_url)
    try:
        with engine.connect() as connection:
            query = select(col(Snapshot.kind), col(Snapshot.rows)).where(col(Snapshot.current))
            return {kind: rows for kind, rows in connection.execute(query)}
    finally:
        engine.dispose()


def snapshot_count(database_url: str) -> int:
    engine = sync_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Snapshot)).scalar_one()
    finally:
        engine.dispose()


def test_the_demo_registry_is_generated_and_imported_once(
    database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "registry"
    assert load_demo_registry(database_url, folder) is True
    loaded = current_snapshots(database_url)
    assert set(loaded) == {kind.value for kind in Kind}
    assert loaded[Kind.CIVIL.value] == len(rows(folder / "civil.csv")) >= DEMO_PEOPLE

    # The next start finds it (or a district's real one) and leaves it as it is.
    assert load_demo_registry(database_url, tmp_path / "again") is False
    assert snapshot_count(database_url) == len(Kind)
    assert not (tmp_path / "again").exists()


@pytest.mark.parametrize(
    ("flags", "demo"), [((), True), (("--no-demo",), False), (("--no-demo-users",), False)]
)
def test_a_real_district_leaves_the_demo_out(
    flags: tuple[str, ...], demo: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[UpOptions] = []
    monkeypatch.setattr(up, "run", lambda options: started.append(options) or 0)
    assert cli.main(["up", *flags]) == 0
    assert started[0].demo is demo


def readme_case() -> dict[str, str]:
    """The case the README's quick start registers (the body of its POST /api/cases)."""
    after = README.read_text().split("-X POST localhost:8001/api/cases", 1)[1]
    body: dict[str, str] = json.loads(after.split("-d '", 1)[1].split("'", 1)[0])
    return body


def test_the_readmes_example_is_a_person_of_the_demo_registry(tmp_path: Path) -> None:
    """So the quick start shows verval's real judgement: a DTKS member whose PBI-JK is
    inactive, asking for its reactivation. A change to the generator (or to Faker's
    names) that moves her fails here, not in a reader's first try."""
    case = readme_case()
    generate_demo_registry(tmp_path)
    civil = {row["nik"]: row for row in rows(tmp_path / "civil.csv")}
    fields = ("kk", "name", "birth_date", "sex", "desa_code")
    assert {f: civil[case["nik"]][f] for f in fields} == {f: case[f] for f in fields}
    assert case["nik"] in {row["nik"] for row in rows(tmp_path / "dtks.csv")}
    programs = rows(tmp_path / "programs.csv")
    pbi = [
        row["active"]
        for row in programs
        if row["nik"] == case["nik"] and row["program"] == "PBI-JK"
    ]
    assert case["category"] == "pbi_reaktivasi" and pbi == ["0"]
