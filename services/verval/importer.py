"""Import a registry extract from CSV into a new snapshot, streaming, then swap it in.

Columns (a header row, UTF-8, comma-separated; dates as YYYY-MM-DD):

- civil:    nik, kk, name, sex (L/P), birth_place, birth_date, address, desa_code,
            alive (1/0), death_date (empty if alive); optional, and needed for the life
            events verval proposes corrections for: relationship (to the head of household,
            as on the KK: KEPALA KELUARGA, ISTRI, ANAK...), ektp (1/0: recorded their e-KTP)
- dtks:     id_dtks, nik, kk, desil (1-10), ratified_on
- programs: nik, program (PBI-JK, JKN, PKH, BPNT, PIP...), active (1/0), since,
            segment (PBI, PBPU...), arrears (rupiah owed, 0 if none)

A bad row is reported with its line number and reason and the rest imports. The import
runs on a synchronous connection: it is a batch job (`slrt registry import`), and bulk
inserts are several times faster without an event loop hop per batch.
"""

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, delete, event, insert, select, update
from sqlalchemy.engine import make_url

from services.verval.domain import name_key
from services.verval.registry import CivilRecord, DtksRecord, Kind, Membership, Snapshot
from shared.identity import NikError, check_kk, parse_nik

BATCH_ROWS = 20_000
IMPORT_CACHE_KIB = 256 * 1024
REPORTED_ERRORS = 200  # the first ones; the count covers all
COLUMNS = {
    Kind.CIVIL: [
        "nik",
        "kk",
        "name",
        "sex",
        "birth_place",
        "birth_date",
        "address",
        "desa_code",
        "alive",
        "death_date",
    ],
    Kind.DTKS: ["id_dtks", "nik", "kk", "desil", "ratified_on"],
    Kind.PROGRAMS: ["nik", "program", "active", "since", "segment", "arrears"],
}
OPTIONAL_COLUMNS = {Kind.CIVIL: ["relationship", "ektp"], Kind.DTKS: [], Kind.PROGRAMS: []}
# Core tables: a bulk import needs no ORM objects.
TABLE: dict[Kind, Table] = {
    Kind.CIVIL: CivilRecord.__table__,  # type: ignore[attr-defined]
    Kind.DTKS: DtksRecord.__table__,  # type: ignore[attr-defined]
    Kind.PROGRAMS: Membership.__table__,  # type: ignore[attr-defined]
}
SNAPSHOTS: Table = Snapshot.__table__  # type: ignore[attr-defined]


class ImportRefused(ValueError):
    """The file as a whole cannot be imported (missing columns, no valid row)."""

    def __init__(self, message: str, errors: list[tuple[int, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass
class ImportResult:
    snapshot_id: int
    rows: int = 0
    rejected: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def sync_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return create_engine(url.set(drivername="postgresql+psycopg"))
    engine = create_engine(url.set(drivername="sqlite"))

    @event.listens_for(engine, "connect")
    def bulk_friendly(dbapi_connection: Any, _: Any) -> None:
        # WAL and a busy timeout as the running service uses them (shared.db), but with
        # ordinary transactions, and a large page cache that keeps the NIK and birth-date
        # indexes in memory while millions of rows go into them in random order.
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            dbapi_connection.execute(f"PRAGMA {pragma}")
        dbapi_connection.execute(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")

    return engine


def _date(value: str, column: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{column} '{value}' bukan tanggal TTTT-BB-HH") from None


def _nik(value: str) -> str:
    try:
        parse_nik(value)
    except NikError as exc:
        raise ValueError(str(exc)) from None
    return value


def _flag(value: str, column: str) -> bool:
    if value not in ("0", "1"):
        raise ValueError(f"{column} harus 1 atau 0")
    return value == "1"


def _civil(row: dict[str, str]) -> dict[str, Any]:
    if row["sex"] not in ("L", "P"):
        raise ValueError("sex harus L atau P")
    alive = _flag(row["alive"], "alive")
    died = row["death_date"]
    return {
        "nik": _nik(row["nik"]),
        "kk": check_kk(row["kk"]),
        "name": row["name"].strip(),
        "name_key": name_key(row["name"]),
        "sex": row["sex"],
        "birth_place": row["birth_place"].strip(),
        "birth_date": _date(row["birth_date"], "birth_date"),
        "address": row["address"].strip(),
        "desa_code": row["desa_code"].strip(),
        "alive": alive,
        "death_date": _date(died, "death_date") if died and not alive else None,
        "relationship": (row.get("relationship") or "").strip().upper(),
        "ektp": _flag(row["ektp"], "ektp") if row.get("ektp") else None,
    }


def _dtks(row: dict[str, str]) -> dict[str, Any]:
    if not row["desil"].isdigit() or not 1 <= int(row["desil"]) <= 10:
        raise ValueError("desil harus 1 sampai 10")
    if not row["id_dtks"].strip():
        raise ValueError("id_dtks kosong")
    return {
        "id_dtks": row["id_dtks"].strip(),
        "nik": _nik(row["nik"]),
        "kk": check_kk(row["kk"]),
        "desil": int(row["desil"]),
        "ratified_on": _date(row["ratified_on"], "ratified_on"),
    }


def _program(row: dict[str, str]) -> dict[str, Any]:
    if not row["program"].strip():
        raise ValueError("program kosong")
    if not row["arrears"].isdigit():
        raise ValueError("arrears harus angka rupiah (0 bila tidak ada)")
    return {
        "nik": _nik(row["nik"]),
        "program": row["program"].strip().upper(),
        "active": _flag(row["active"], "active"),
        "since": _date(row["since"], "since") if row["since"] else None,
        "segment": row["segment"].strip().upper(),
        "arrears": int(row["arrears"]),
    }


PARSE: dict[Kind, Callable[[dict[str, str]], dict[str, Any]]] = {
    Kind.CIVIL: _civil,
    Kind.DTKS: _dtks,
    Kind.PROGRAMS: _program,
}


def _rows(path: Path, kind: Kind) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS[kind] if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportRefused(f"kolom tidak ada: {', '.join(missing)}")
        for row in reader:
            yield reader.line_num, row


def import_csv(
    engine: Engine, kind: Kind, path: Path, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Import `path` as a new `kind` snapshot and make it current; returns what happened."""
    with engine.begin() as conn:
        snap = conn.execute(
            insert(SNAPSHOTS).values(
                kind=kind.value, source=path.name, started_at=datetime.now(UTC)
            )
        )
        key = snap.inserted_primary_key
        assert key is not None  # an insert of one row always has one
        result = ImportResult(snapshot_id=key[0])
    table, parse, batch = TABLE[kind], PARSE[kind], []
    for line, row in _rows(path, kind):
        try:
            batch.append(parse(row) | {"snapshot_id": result.snapshot_id})
        except (ValueError, KeyError, AttributeError) as exc:
            result.rejected += 1
            if len(result.errors) < REPORTED_ERRORS:
                result.errors.append((line, str(exc) or "baris tidak lengkap"))
        if len(batch) >= BATCH_ROWS:
            result.rows += _write(engine, table, batch, progress)
            batch = []
    result.rows += _write(engine, table, batch, progress)
    if result.rows == 0:  # never replace a registry with nothing
        with engine.begin() as conn:
            conn.execute(delete(SNAPSHOTS).where(SNAPSHOTS.c.id == result.snapshot_id))
        raise ImportRefused("tidak ada baris yang valid; data lama tetap dipakai", result.errors)
    _swap(engine, kind, result)
    return result


def _write(
    engine: Engine,
    table: Table,
    batch: list[dict[str, Any]],
    progress: Callable[[int], None] | None,
) -> int:
    """One transaction per batch, through the driver's own executemany: SQLAlchemy's
    per-row parameter processing cost more than the inserts themselves."""
    if not batch:
        return 0
    columns = list(batch[0])
    marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.executemany(sql, [tuple(row[c] for c in columns) for row in batch])
        raw.commit()
    finally:
        raw.close()
    if progress is not None:
        progress(len(batch))
    return len(batch)


def _swap(engine: Engine, kind: Kind, result: ImportResult) -> None:
    """Make the new snapshot current in one transaction, then drop older snapshots' rows.

    The snapshot just replaced keeps its rows until the next import: a check reads the
    current snapshots' ids first and their rows after, and must still find them."""
    snaps, new = SNAPSHOTS.c, result.snapshot_id
    with engine.begin() as conn:
        replaced = conn.execute(
            select(snaps.id).where(snaps.kind == kind.value, snaps.current.is_(True))
        ).scalar()
        older: list[int] = list(
            conn.execute(
                select(snaps.id).where(
                    snaps.kind == kind.value, snaps.id.not_in([new, replaced or 0])
                )
            )
            .scalars()
            .all()
        )
        conn.execute(update(SNAPSHOTS).where(snaps.kind == kind.value).values(current=False))
        conn.execute(
            update(SNAPSHOTS)
            .where(snaps.id == new)
            .values(current=True, rows=result.rows, rejected=result.rejected)
        )
    if older:
        with engine.begin() as conn:
            conn.execute(delete(TABLE[kind]).where(TABLE[kind].c.snapshot_id.in_(older)))
            conn.execute(delete(SNAPSHOTS).where(snaps.id.in_(older)))
