"""End-to-end pipeline benchmark: village desks registering cases until citizens are told.

Starts a real nats-server and the four services as processes (like `slrt up`), plays N
village front offices posting cases concurrently over HTTP, and measures for every case the
time from its POST to the citizen's registration notification being recorded by notify.
Also measures the floor on the same machine: raw JetStream publish-with-ack throughput and
the database's raw insert rate. Results are appended to bench/RESULTS.md.

    python bench/pipeline.py --cases 2000 --villages 20 [--backend postgresql]
    python bench/pipeline.py --rate 60 --duration 300   # a sustained, paced load
"""

import argparse
import asyncio
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
import nats
import psycopg
import uvloop
from psycopg import sql

from shared.accounts import DEMO_PASSWORD
from shared.areas import Area, compact_code, load_registry
from shared.provision import provision
from slrt.natsserver import NatsServer, free_port, free_ports
from slrt.postgres import ensure_databases
from slrt.services import SERVICE_NAMES, SERVICES
from slrt.up import service_processes, wait_ready

RESULTS = Path(__file__).with_name("RESULTS.md")
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def synthetic_case(desa_code: str, serial: int, rng: random.Random) -> dict[str, object]:
    """A valid registration: its NIK agrees with birth date and sex, issued in the kecamatan.

    No two serials below 18 million share a NIK: the birth date steps through 55 years by a
    prime and the NIK's last four digits count to 9999 (a 5-minute run at 150/s is 45,000
    cases, and a repeated NIK would be refused as a duplicate)."""
    born = date(1950, 1, 1) + timedelta(days=serial * 7919 % (365 * 55))
    female = rng.random() < 0.5
    day = born.day + (40 if female else 0)
    area = compact_code(desa_code)[:6]
    return {
        "nik": f"{area}{day:02d}{born:%m%y}{serial % 9999 + 1:04d}",
        "kk": f"{area}010120{serial % 9999 + 1:04d}",
        "address": f"Dukuh Krajan No. {serial % 90 + 1}",
        "rt": str(serial % 12 + 1),
        "rw": str(serial % 5 + 1),
        "name": rng.choice(["Siti Aminah", "Budi Santoso", "Sri Wahyuni", "Slamet Riyadi"]),
        "birth_date": born.isoformat(),
        "sex": "P" if female else "L",
        "desa_code": desa_code,
        "phone": f"0812{rng.randrange(10**7, 10**8)}",
        # One category per case: the NIKs may repeat across desks, duplicates would be refused.
        "category": "lainnya",
        "description": "Pengaduan uji beban dari meja desa",
    }


# A village desk: its desa code and its signed-in operator's headers.
Desk = tuple[str, dict[str, str]]


async def desk_headers(client: aiohttp.ClientSession, url: str, desa: str) -> dict[str, str]:
    credentials = {"username": f"desa-{compact_code(desa)}", "password": DEMO_PASSWORD}
    async with client.post(f"{url}/api/login", json=credentials) as login:
        return {"Authorization": f"Bearer {(await login.json())['token']}"}


async def sign_in(url: str, desas: list[str]) -> list[Desk]:
    """Each desk's operator signs in once, as at the start of a working day: before the
    measured load, so that their password checks (argon2, tens of ms each) do not count as
    the cases' CPU."""
    async with aiohttp.ClientSession() as client:
        return [(desa, await desk_headers(client, url, desa)) for desa in desas]


async def register(
    client: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    desa: str,
    serial: int,
    rng: random.Random,
) -> str:
    """Register the desk's case number `serial`; its id."""
    body = synthetic_case(desa, serial, rng)
    body["description"] = f"Pengaduan uji beban {serial}"
    async with client.post(
        f"{url}/api/cases", json=body, headers=headers | {"Idempotency-Key": f"b{serial}"}
    ) as response:
        if response.status != 201:
            raise RuntimeError(f"registration refused: {response.status} {await response.text()}")
        return str((await response.json())["id"])


async def village_desk(
    client: aiohttp.ClientSession,
    url: str,
    desk: Desk,
    count: int,
    start: int,
    sent: dict[str, float],
) -> None:
    """A desk registering its cases one after another, as fast as intake answers."""
    rng = random.Random(start)
    desa, headers = desk
    for serial in range(start, start + count):
        begun = time.time()
        sent[await register(client, url, headers, desa, serial, rng)] = begun


async def paced_desks(
    client: aiohttp.ClientSession, url: str, desks: list[Desk], rate: float, duration: float
) -> dict[str, float]:
    """Citizens arriving at `rate` per second for `duration` seconds, taking turns at the
    desks; each desk registers one at a time, as an operator does.

    Each case's latency counts from the citizen's arrival, not from when the desk got to
    them, so a pipeline falling behind shows in the latencies (the queue at the desk grows)
    instead of slowing arrivals.
    """
    sent: dict[str, float] = {}
    started = time.time()
    total = int(rate * duration)

    async def desk(number: int) -> None:
        rng = random.Random(number)
        desa, headers = desks[number]
        for serial in range(number, total, len(desks)):
            due = started + serial / rate
            await asyncio.sleep(max(0.0, due - time.time()))
            sent[await register(client, url, headers, desa, serial, rng)] = due

    await asyncio.gather(*(desk(number) for number in range(len(desks))))
    return sent


def notified_at_sqlite(path: Path) -> dict[str, float]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT case_id, sent_at FROM notification"
            " WHERE about_event = 'case.registered' AND sent_at IS NOT NULL"
        ).fetchall()
    return {_uuid(case_id): _epoch(at) for case_id, at in rows}


def notified_at_postgres(url: str) -> dict[str, float]:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        rows = conn.execute(
            "SELECT case_id, sent_at FROM notification"
            " WHERE about_event = 'case.registered' AND sent_at IS NOT NULL"
        ).fetchall()
    return {str(case_id): at.timestamp() for case_id, at in rows}


def _uuid(raw: str) -> str:
    hexed = raw.replace("-", "")
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def _epoch(raw: str | datetime) -> float:
    moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


async def jetstream_floor(url: str, messages: int = 5000, in_flight: int = 100) -> float:
    """Publish-with-ack throughput of plain nats-py on the same server (msg/s)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    payload = b"x" * 600  # about the size of a case.registered event
    begun = time.perf_counter()
    for offset in range(0, messages, in_flight):
        await asyncio.gather(
            *(
                js.publish(f"slrt.bench.floor.{i}", payload)
                for i in range(offset, offset + in_flight)
            )
        )
    elapsed = time.perf_counter() - begun
    await nc.close()
    return messages / elapsed


def sqlite_floor(directory: Path, rows: int = 2000) -> float:
    """Committed single-row inserts per second into SQLite (WAL, synchronous=NORMAL)."""
    with sqlite3.connect(directory / "floor.db", isolation_level=None) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        begun = time.perf_counter()
        for i in range(rows):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (body) VALUES (?)", (f"row {i}" * 20,))
            conn.execute("COMMIT")
        return rows / (time.perf_counter() - begun)


def postgres_floor(url: str, rows: int = 2000) -> float:
    """Committed single-row inserts per second into PostgreSQL."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (id serial PRIMARY KEY, body text)")
        begun = time.perf_counter()
        for i in range(rows):
            conn.execute("INSERT INTO bench_floor (body) VALUES (%s)", (f"row {i}" * 20,))
        return rows / (time.perf_counter() - begun)


def drop_databases(server_url: str, prefix: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        for spec in SERVICES:
            name = sql.Identifier(f"{prefix}{spec.name}")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_process(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def postgres_processes() -> dict[int, float]:
    """CPU so far of each process of the local PostgreSQL server. The services' pooled
    backends live through a run; one that ends during it is not counted."""
    used = {}
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == "postgres":
                used[int(proc.name)] = cpu_seconds(int(proc.name))
        except OSError:  # gone meanwhile
            continue
    return used


def cpu_used(
    pids: dict[str, int], before: dict[str, float], postgres_before: dict[int, float] | None
) -> dict[str, float]:
    used = {name: spent - before[name] for name, spent in cpu_by_process(pids).items()}
    if postgres_before is not None:
        now = postgres_processes()
        used["postgresql"] = sum(now[pid] - postgres_before.get(pid, 0.0) for pid in now)
    return used


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def p99_by_minute(sent: dict[str, float], notified: dict[str, float]) -> list[float]:
    """The p99 latency (ms) of the cases due in each minute of the load: a pipeline falling
    behind shows as a rising row, a slow spell of the machine as a high minute."""
    start = min(sent.values())
    minutes: dict[int, list[float]] = {}
    for case_id, at in sent.items():
        if case_id in notified:
            minutes.setdefault(int((at - start) // 60), []).append(notified[case_id] - at)
    return [1000 * percentile(minutes[m], 0.99) for m in sorted(minutes)]


def machine() -> str:
    """The machine and the interpreter the services ran on. Which CPython build matters:
    pyenv's default (no profile-guided or link-time optimisation, libpython a shared
    library) ran pure Python 15-20% slower than Debian's (optimised, linked statically) on
    the same machine (bench/RESULTS.md, 7 Dec)."""
    maps = Path("/proc/self/maps")
    linked = "unknown"
    if maps.exists():
        linked = "shared" if "libpython" in maps.read_text() else "static"
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f" ({sys.base_prefix}, libpython {linked})"
    )


def machine_speed() -> float:
    """Seconds a fixed loop of pure Python takes (best of three): the same machine's speed
    swings by a fifth from one hour to the next, and the pipeline's latencies with it."""
    best = float("inf")
    for _ in range(3):
        begun, total = time.perf_counter(), 0
        for i in range(2_000_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - begun)
    return best


async def load(intake_url: str, args: argparse.Namespace, desks: list[Desk]) -> dict[str, float]:
    # aiohttp, not httpx: the desks share the two cores with the services, and httpx spent
    # 1.3 ms of CPU per case where aiohttp spends 0.4 (bench/RESULTS.md).
    connector = aiohttp.TCPConnector(limit=len(desks))
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        if args.rate:
            return await paced_desks(client, intake_url, desks, args.rate, args.duration)
        sent: dict[str, float] = {}
        per_desk = args.cases // len(desks)
        await asyncio.gather(
            *(
                village_desk(client, intake_url, desk, per_desk, v * per_desk, sent)
                for v, desk in enumerate(desks)
            )
        )
        return sent


def run(args: argparse.Namespace) -> str:
    speed_before = machine_speed()
    work = Path(tempfile.mkdtemp(prefix="slrt-bench-"))
    nats_server = NatsServer(port=free_port(), store_dir=work / "nats")
    nats_server.start()
    asyncio.run(provision(nats_server.url))
    prefix = f"slrt_bench_{int(time.time())}_"
    db_urls = (
        ensure_databases(LOCAL_POSTGRES, tuple(s.name for s in SERVICES), prefix=prefix)
        if args.backend == "postgresql"
        else {}
    )
    # The services log at their default level (INFO) to files in the work directory, as a
    # district's would; messages go out at any hour, as the measure needs.
    env = {"SLRT_INTAKE_DEMO_USERS": "true", "SLRT_NOTIFY_QUIET_HOURS": "false"}
    services = list(
        service_processes(
            SERVICES,
            nats_url=nats_server.url,
            var_dir=work,
            database_urls=db_urls,
            ports=dict(zip(SERVICE_NAMES, free_ports(len(SERVICES)), strict=True)),
            extra_env=env,
            log_dir=work,
        ).values()
    )
    try:
        for svc in services:
            svc.start()
        wait_ready(services)
        desas = [a.code for a in _all_desas()]
        desks = uvloop.run(
            sign_in(services[0].url, [desas[v % len(desas)] for v in range(args.villages)])
        )
        pids = {svc.spec.name: svc.process.pid for svc in services if svc.process}
        pids |= {"nats-server": nats_server.process.pid if nats_server.process else 0}
        pids |= {"load generator": os.getpid()}
        cpu_before = cpu_by_process(pids)
        postgres_before = postgres_processes() if args.backend == "postgresql" else None
        begun = time.time()
        # The desks share the cores with the services: the cheaper loop leaves them more.
        sent = uvloop.run(load(services[0].url, args, desks))
        posted = time.time() - begun
        notified = _wait_for_notifications(args.backend, work, db_urls, len(sent), args.timeout)
        cpu = cpu_used(pids, cpu_before, postgres_before)
        measured = time.time() - begun
        latencies = [notified[case_id] - at for case_id, at in sent.items() if case_id in notified]
        span = max(notified.values()) - begun
        floor_js = asyncio.run(jetstream_floor(nats_server.url))
        floor_db = (
            sqlite_floor(work) if args.backend == "sqlite" else postgres_floor(db_urls["intake"])
        )
    finally:
        for svc in services:
            svc.stop()
        nats_server.stop()
        if db_urls:
            drop_databases(LOCAL_POSTGRES, prefix)
        if args.keep:
            print(f"databases and logs kept in {work}")
        else:  # a 5-minute run leaves a quarter of a gigabyte
            shutil.rmtree(work, ignore_errors=True)
    throughput = len(latencies) / span
    report = _report(
        args, len(sent), len(latencies), posted, throughput, latencies, floor_js, floor_db
    )
    per_case = ", ".join(f"{name} {1000 * used / len(sent):.1f}" for name, used in cpu.items())
    busy = sum(cpu.values()) / (2 * measured)
    lines = [report.rstrip("\n"), f"- CPU ms per case: {per_case} (two cores {busy:.0%} busy)"]
    if len(minutes := p99_by_minute(sent, notified)) > 1:
        lines.append(f"- p99 by minute of arrival (ms): {', '.join(f'{m:.0f}' for m in minutes)}")
    lines.append(
        f"- machine speed (fixed Python loop, lower is faster): {speed_before:.3f} s before, "
        f"{machine_speed():.3f} s after"
    )
    return "\n".join(lines) + "\n"


def _all_desas() -> list[Area]:
    registry = load_registry()
    return [d for kec in registry.children("33.17") for d in registry.children(kec.code)]


def _wait_for_notifications(
    backend: str, work: Path, db_urls: dict[str, str], expected: int, timeout: float
) -> dict[str, float]:
    deadline = time.time() + timeout
    while True:
        found = (
            notified_at_sqlite(work / "notify.db")
            if backend == "sqlite"
            else notified_at_postgres(db_urls["notify"])
        )
        if len(found) >= expected or time.time() > deadline:
            return found
        time.sleep(0.5)


def _report(
    args: argparse.Namespace,
    sent: int,
    done: int,
    posted: float,
    throughput: float,
    latencies: list[float],
    floor_js: float,
    floor_db: float,
) -> str:
    ms = [x * 1000 for x in latencies]
    p50, p95, p99 = statistics.median(ms), percentile(ms, 0.95), percentile(ms, 0.99)
    load, shape, start = f"--cases {args.cases}", f"{args.cases} cases", "POST"
    if args.rate:
        load = f"--rate {args.rate:g} --duration {args.duration:g}"
        shape, start = f"{args.rate:g} cases/s for {args.duration:g} s", "due"
    command = f"python bench/pipeline.py {load} --villages {args.villages} --backend {args.backend}"
    return "\n".join(
        [
            f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {args.backend}, "
            f"{shape}, {args.villages} desks",
            "",
            f"- machine: {machine()}",
            f"- command: `{command}`",
            f"- registered: {sent}, notified: {done} (missing: {sent - done})",
            f"- intake accepted {sent / posted:.0f} registrations/s over HTTP",
            f"- end to end: **{throughput:.0f} cases/s**; {start} → registration SMS recorded: "
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms, max {max(ms):.0f} ms",
            f"- floor: JetStream publish+ack (nats-py, 100 in flight) {floor_js:.0f} msg/s; "
            f"{args.backend} committed single-row inserts {floor_db:.0f} rows/s",
            f"- pipeline / floor: {throughput / floor_js:.2%} of JetStream, "
            f"{throughput / floor_db:.2%} of the database",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="desks post as fast as answered")
    parser.add_argument("--rate", type=float, help="instead: cases arrive at this rate (per s)")
    parser.add_argument("--duration", type=float, default=300, help="seconds, with --rate")
    parser.add_argument("--villages", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (databases, logs)"
    )
    parser.add_argument(
        "--no-record", action="store_true", help="print, do not append to RESULTS.md"
    )
    args = parser.parse_args()
    report = run(args)
    print(report)
    if not args.no_record:
        with RESULTS.open("a", encoding="utf-8") as results:
            results.write(report + "\n")


if __name__ == "__main__":
    main()
