"""Import a registry extract from CSV into a new snapshot, streaming, then swap it in.

Columns (a header row, UTF-8, comma-separated, one row per line; dates as YYYY-MM-DD):

- civil:    nik, kk, name, sex (L/P), birth_place, birth_date, address, desa_code,
            alive (1/0), death_date (empty if alive); optional, and needed for the life
            events verval proposes corrections for: relationship (to the head of household,
            as on the KK: KEPALA KELUARGA, ISTRI, ANAK...), ektp (1/0: recorded their e-KTP)
- dtks:     id_dtks, nik, kk, desil (1-10), ratified_on
- programs: nik, program (PBI-JK, JKN, PKH, BPNT, PIP...), active (1/0), since,
            segment (PBI, PBPU...), arrears (rupiah owed, 0 if none)

A bad row is reported with its line number and reason and the rest imports. The rows go
into the snapshot's own table with no index; the indexes are built once, at the end, which
costs a fraction of keeping them up to date row by row. A large file is read in blocks that
worker processes parse while this process writes: parsing (NIK and KK structure, dates) costs
as much as writing. The import is a batch job (`slrt registry import`) on a synchronous
connection: bulk inserts are several times faster without an event loop hop per batch.
"""

import csv
import functools
import io
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    Table,
    create_engine,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url

from services.verval.registry import (
    RECORDS,
    Kind,
    Snapshot,
    current_view_statements,
    snapshot_indexes,
    snapshot_table,
)
from shared.identity import NikError, check_kk, check_nik

BLOCK_BYTES = 1 << 20  # about 9,000 civil rows
PARALLEL_FROM_BYTES = 8 << 20  # below this, starting worker processes costs more than it saves
WORKERS = 2
QUEUED_BLOCKS = 3 * WORKERS  # read ahead of the writer, and no further: bounds memory
REPORTED_ERRORS = 200  # the first ones; the count covers all
SNAPSHOTS: Table = Snapshot.__table__  # type: ignore[attr-defined]
Row = tuple[Any, ...]
Progress = Callable[[int, str], None]  # lines read since the last call, and what is going on


OPTIONAL_COLUMNS = {"relationship", "ektp"}  # civil extracts without them still import


def columns(kind: Kind) -> list[str]:
    """The CSV columns of a kind: its record's fields, in the snapshot table's order."""
    return [f.name for f in fields(RECORDS[kind])]


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


@dataclass
class Parsed:
    """One block of the file, parsed: its good rows in the table's column order, and the
    reasons for the bad ones by line number."""

    lines: int
    rows: list[Row] = field(default_factory=list)
    rejected: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    """Where a record's fields are in the file's rows, from its header."""

    width: int  # columns in the header; a missing optional column reads a "" added at the end
    positions: tuple[int, ...]  # of each record field, in the table's order
    needed: int  # a shorter row lacks a required column


def sync_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return create_engine(url.set(drivername="postgresql+psycopg"))
    engine = create_engine(url.set(drivername="sqlite"))

    @event.listens_for(engine, "connect")
    def bulk_friendly(dbapi_connection: Any, _: Any) -> None:
        # WAL and a busy timeout as the running service uses them (shared.db), but with
        # ordinary transactions. The default page cache: a larger one makes the index builds
        # slower (7.6 s instead of 5.5 s at 3 million rows with 256 MiB), not faster.
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    return engine


def _date(value: str, column: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"{column} '{value}' bukan tanggal TTTT-BB-HH") from None


def _nik(value: str, today: date) -> str:
    try:
        return check_nik(value, today=today)
    except NikError as exc:
        raise ValueError(str(exc)) from None


# A household's members follow each other in an extract: each KK is checked once.
_kk = functools.lru_cache(maxsize=4096)(check_kk)


def _flag(value: str, column: str) -> bool:
    if value not in ("0", "1"):
        raise ValueError(f"{column} harus 1 atau 0")
    return value == "1"


def _civil(v: Row, today: date) -> Row:
    nik, kk, name, sex, place, born, address, desa, alive, died, relationship, ektp = v
    if sex not in ("L", "P"):
        raise ValueError("sex harus L atau P")
    living = _flag(alive, "alive")
    return (_nik(nik, today), _kk(kk, today=today), name.strip(), sex, place.strip(),
            _date(born, "birth_date"), address.strip(), desa.strip(), living,
            _date(died, "death_date") if died and not living else None,
            relationship.strip().upper(), _flag(ektp, "ektp") if ektp else None)  # fmt: skip


def _dtks(v: Row, today: date) -> Row:
    id_dtks, nik, kk, desil, ratified_on = v
    if not desil.isdigit() or not 1 <= int(desil) <= 10:
        raise ValueError("desil harus 1 sampai 10")
    if not id_dtks.strip():
        raise ValueError("id_dtks kosong")
    return (id_dtks.strip(), _nik(nik, today), _kk(kk, today=today), int(desil),
            _date(ratified_on, "ratified_on"))  # fmt: skip


def _program(v: Row, today: date) -> Row:
    nik, program, active, since, segment, arrears = v
    if not program.strip():
        raise ValueError("program kosong")
    if not arrears.isdigit():
        raise ValueError("arrears harus angka rupiah (0 bila tidak ada)")
    started = _date(since, "since") if since else None
    return (_nik(nik, today), program.strip().upper(), _flag(active, "active"), started,
            segment.strip().upper(), int(arrears))  # fmt: skip


PARSE: dict[Kind, Callable[[Row, date], Row]] = {
    Kind.CIVIL: _civil,
    Kind.DTKS: _dtks,
    Kind.PROGRAMS: _program,
}


def parse_block(kind: Kind, layout: Layout, start: tuple[int, date], block: bytes) -> Parsed:
    """Parse the whole lines in `block`, the first of which is line `start[0]` of the file.
    Runs in a worker process for a large file, so it takes and returns plain values."""
    first_line, today = start
    parse, parsed = PARSE[kind], Parsed(lines=block.count(b"\n"))
    width, pick = layout.width, itemgetter(*layout.positions)
    text = block.decode("utf-8", errors="replace")
    undecodable = "\ufffd" in text
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        if not row:
            continue
        try:
            if len(row) < layout.needed:
                raise ValueError("baris tidak lengkap")
            if undecodable and any("\ufffd" in value for value in row):
                raise ValueError("bukan teks UTF-8")
            if len(row) != width:
                row = (row + [""] * width)[:width]
            row.append("")
            parsed.rows.append(parse(pick(row), today))
        except ValueError as exc:
            parsed.rejected += 1
            if len(parsed.errors) < REPORTED_ERRORS:
                parsed.errors.append((first_line + reader.line_num - 1, str(exc)))
    return parsed


def _layout(path: Path, kind: Kind) -> Layout:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = [name.strip() for name in next(csv.reader(handle), [])]
    missing = [c for c in columns(kind) if c not in header and c not in OPTIONAL_COLUMNS]
    if missing:
        raise ImportRefused(f"kolom tidak ada: {', '.join(missing)}")
    positions = tuple(header.index(c) if c in header else len(header) for c in columns(kind))
    required = [header.index(c) for c in columns(kind) if c not in OPTIONAL_COLUMNS]
    return Layout(width=len(header), positions=positions, needed=1 + max(required))


def _blocks(path: Path) -> Iterator[tuple[int, bytes]]:
    """The file after its header in blocks of whole lines, each with its first line number."""
    with path.open("rb") as handle:
        handle.readline()
        line = 2
        while block := handle.read(BLOCK_BYTES):
            block += handle.readline()
            yield line, block
            line += block.count(b"\n")


def _parsed(path: Path, kind: Kind, layout: Layout, workers: int) -> Iterator[Parsed]:
    """The file's blocks parsed, in order: here, or by `workers` processes reading ahead."""
    today = date.today()
    if workers == 0:
        for line, block in _blocks(path):
            yield parse_block(kind, layout, (line, today), block)
        return
    # spawn, not fork: the caller may be a process with threads (a test, a service)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
        queued: deque[Future[Parsed]] = deque()
        for line, block in _blocks(path):
            queued.append(pool.submit(parse_block, kind, layout, (line, today), block))
            if len(queued) >= QUEUED_BLOCKS:
                yield queued.popleft().result()
        while queued:
            yield queued.popleft().result()


def import_csv(
    engine: Engine,
    kind: Kind,
    path: Path,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportResult:
    """Import `path` as a new `kind` snapshot and make it current; returns what happened.
    `workers`: parsing processes (default: WORKERS for a large file, none for a small one)."""
    if workers is None:
        workers = WORKERS if path.stat().st_size >= PARALLEL_FROM_BYTES else 0
    layout = _layout(path, kind)  # refuse a file without the columns before creating anything
    result = ImportResult(snapshot_id=_new_snapshot(engine, kind, path))
    table = snapshot_table(kind, result.snapshot_id)
    try:
        table.create(engine)
        _load(engine, table, _parsed(path, kind, layout, workers), result, progress)
        if result.rows == 0:  # never replace a registry with nothing
            raise ImportRefused(
                "tidak ada baris yang valid; data lama tetap dipakai", result.errors
            )
        if progress is not None:
            progress(0, "Membangun indeks")
        with engine.begin() as conn:
            for statement in snapshot_indexes(kind, result.snapshot_id):
                conn.execute(text(statement))
    except BaseException:
        _drop(engine, kind, [result.snapshot_id])
        raise
    _swap(engine, kind, result)
    return result


def _new_snapshot(engine: Engine, kind: Kind, path: Path) -> int:
    with engine.begin() as conn:
        values = {"kind": kind.value, "source": path.name, "started_at": datetime.now(UTC)}
        key = conn.execute(insert(SNAPSHOTS).values(**values)).inserted_primary_key
    assert key is not None  # an insert of one row always has one
    return int(key[0])


def _load(
    engine: Engine,
    table: Table,
    blocks: Iterator[Parsed],
    result: ImportResult,
    progress: Progress | None,
) -> None:
    """Write each block in a transaction of its own, through the driver's executemany:
    SQLAlchemy's per-row parameter processing cost more than the inserts themselves."""
    names = [column.name for column in table.columns]
    marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([marker] * len(names))})"
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for parsed in blocks:
            if parsed.rows:
                cursor.executemany(sql, parsed.rows)
                raw.commit()
            result.rows += len(parsed.rows)
            result.rejected += parsed.rejected
            result.errors += parsed.errors[: REPORTED_ERRORS - len(result.errors)]
            if progress is not None:
                progress(parsed.lines, "Membaca baris")
    finally:
        raw.close()


def _swap(engine: Engine, kind: Kind, result: ImportResult) -> None:
    """Make the new snapshot current and point the kind's view at it in one transaction,
    then drop older snapshots.

    The snapshot just replaced keeps its table until the next import: a check reads the
    current snapshots' ids first and their rows after, and must still find them."""
    snaps, new = SNAPSHOTS.c, result.snapshot_id
    with engine.begin() as conn:
        replaced = conn.execute(
            select(snaps.id).where(snaps.kind == kind.value, snaps.current.is_(True))
        ).scalar()
        older = conn.execute(
            select(snaps.id).where(snaps.kind == kind.value, snaps.id.not_in([new, replaced or 0]))
        )
        dropped: list[int] = list(older.scalars())
        conn.execute(update(SNAPSHOTS).where(snaps.kind == kind.value).values(current=False))
        conn.execute(
            update(SNAPSHOTS)
            .where(snaps.id == new)
            .values(current=True, rows=result.rows, rejected=result.rejected)
        )
        for statement in current_view_statements(kind, new):
            conn.execute(text(statement))
    _drop(engine, kind, dropped)


def _drop(engine: Engine, kind: Kind, snapshot_ids: list[int]) -> None:
    """Remove snapshots and their tables (older ones, or an import that failed)."""
    if not snapshot_ids:
        return
    with engine.begin() as conn:
        for snapshot_id in snapshot_ids:
            snapshot_table(kind, snapshot_id).drop(conn, checkfirst=True)
        conn.execute(delete(SNAPSHOTS).where(SNAPSHOTS.c.id.in_(snapshot_ids)))
