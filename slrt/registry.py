"""`slrt generate` and `slrt registry import`: a synthetic district, and registry extracts
loaded into verval's database with a progress bar (rich). `slrt up` loads the demo
district's the same way."""

from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine
from sqlmodel import col, select

from services.verval.importer import ImportRefused, import_csv, sync_engine
from services.verval.models import TABLES
from services.verval.registry import Kind, Snapshot
from services.verval.settings import Settings
from shared.areas import load_registry
from slrt.synthetic import generate

# The demo district's registry: enough people for every desa to have some, made in seconds.
DEMO_PEOPLE = 20_000
DEMO_SEED = 7


def generate_command(people: int, out: Path, seed: int) -> int:
    counts = generate(load_registry(Settings().area_csv), people, out, seed)
    print(
        f"{counts['people']} orang, {counts['dtks']} baris DTKS, {counts['programs']} "
        f"keanggotaan program ditulis ke {out} (civil.csv, dtks.csv, programs.csv, presented.csv)"
    )
    return 0


def import_command(kind: Kind, path: Path, database_url: str | None) -> int:
    if not path.is_file():
        print(f"Berkas {path} tidak ada.")
        return 2
    return _import(_engine(database_url or Settings().effective_database_url), kind, path)


def generate_demo_registry(folder: Path) -> None:
    """The demo district's extracts: the same people at every start and on every machine
    (the README's quick start registers one of them)."""
    generate(load_registry(Settings().area_csv), DEMO_PEOPLE, folder, DEMO_SEED)


def load_demo_registry(database_url: str, folder: Path) -> bool:
    """Generate the demo district's registry extracts into `folder` and import them into
    verval's database, unless it holds a registry already (an earlier start's, or a real
    one); whether it did."""
    engine = _engine(database_url)
    try:
        with engine.connect() as connection:
            if connection.execute(select(col(Snapshot.id)).where(col(Snapshot.current))).first():
                return False
        print(f"Registri demo: {DEMO_PEOPLE} orang sintetis ({folder}) diimpor ke verval")
        generate_demo_registry(folder)
        for kind in Kind:
            if _import(engine, kind, folder / f"{kind.value}.csv") != 0:
                raise RuntimeError(f"the demo registry's {kind.value}.csv did not import")
        return True
    finally:
        engine.dispose()


def _engine(database_url: str) -> Engine:
    engine = sync_engine(database_url)
    TABLES[0].metadata.create_all(engine, tables=TABLES)
    return engine


def _import(engine: Engine, kind: Kind, path: Path) -> int:
    with path.open("rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn()) as progress:
        task = progress.add_task(f"Impor {kind.value}", total=max(lines - 1, 0))

        def show(read: int, doing: str) -> None:
            progress.update(task, advance=read, description=f"Impor {kind.value}: {doing}")

        try:
            result = import_csv(engine, kind, path, show)
        except ImportRefused as exc:
            for line, reason in exc.errors:
                print(f"baris {line}: {reason}")
            print(f"Berkas tidak diimpor: {exc}")
            return 2
    for line, reason in result.errors:
        print(f"baris {line}: {reason}")
    summary = f"{result.rows} baris diimpor, {result.rejected} ditolak"
    print(f"{summary}; snapshot {result.snapshot_id} sekarang dipakai")
    return 0
