"""Registry at district scale (issue 4: 3 million people on SQLite).

Generates a synthetic district with `slrt generate` (in a child process, so its memory is
not counted), imports the civil-registry extract into a fresh SQLite database the way
`slrt registry import` does, then times what verval does per case: a NIK lookup, and the
candidate search (people born that day in that kecamatan, names scored with rapidfuzz)
for a NIK that is not found, and intake's pre-check as verval answers it. Reports rows/s,
p50/p99 latencies and peak memory (the import's with its parse workers, and this
process's), and appends them to bench/RESULTS.md.

    python bench/registry.py --people 3000000 [--lookups 5000]
"""

import argparse
import asyncio
import csv
import itertools
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pipeline import machine
from services.verval import life_event_service, registry, service
from services.verval.domain import Presented, candidates
from services.verval.importer import import_csv, sync_engine
from services.verval.models import TABLES
from shared.contracts import Category, PrecheckRequest
from shared.db import create_engine, session_factory

RESULTS = Path(__file__).with_name("RESULTS.md")


class TreeMemory(threading.Thread):
    """Samples the resident memory of this process and its children (Linux /proc) while it
    runs and keeps the peak of their sum: the import's parse workers count as the import's
    memory, and ru_maxrss would see only this process (or only the largest child)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib, self.done = 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak_kib = max(self.peak_kib, sum(map(rss_kib, [os.getpid(), *children()])))

    def stop(self) -> int:
        self.done.set()
        self.join()
        return self.peak_kib


def children() -> list[int]:
    pids = []
    for task in Path("/proc/self/task").iterdir():
        pids += [int(pid) for pid in (task / "children").read_text().split()]
    return pids


def rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:  # a worker that just ended
        return 0
    return next((int(line.split()[1]) for line in status.splitlines()
                 if line.startswith("VmRSS:")), 0)  # fmt: skip


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def sample(path: Path, count: int) -> list[dict[str, str]]:
    """A uniform sample of presented people, read as a stream (reservoir sampling) so the
    benchmark's own bookkeeping does not count as the registry's memory."""
    rng, chosen = random.Random(3), []
    with path.open() as handle:
        for seen, row in enumerate(csv.DictReader(handle)):
            if seen < count:
                chosen.append(row)
            elif (slot := rng.randrange(seen + 1)) < count:
                chosen[slot] = row
    return chosen


async def time_lookups(url: str, people: list[dict[str, str]]) -> dict[str, list[float]]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    timings: dict[str, list[float]] = {"nik": [], "candidates": [], "precheck": []}
    async with sessions() as session:
        for person in people:
            began = time.perf_counter()
            found = await registry.look_up(session, person["true_nik"])
            timings["nik"].append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            born = date.fromisoformat(person["birth_date"])
            pool = await registry.born_on(session, found.snapshots, born, person["desa_code"][:8])
            desk = Presented(person["name"], born, person["sex"], person["desa_code"])
            candidates(desk, pool)
            timings["candidates"].append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            asked = PrecheckRequest(nik=person["true_nik"], category=Category.PBI_REACTIVATION)
            await service.precheck(session=session, request=asked, today=date.today())
            timings["precheck"].append((time.perf_counter() - began) * 1000)
    await engine.dispose()
    return timings


async def time_scan_beside_prechecks(
    url: str, people: list[dict[str, str]]
) -> tuple[float, life_event_service.ScanResult | None, list[float]]:
    """The life-event scan of the imported pair, with pre-checks asked all the while (one
    every 10 ms, as desks would): how long the scan takes, and what it does to the answers
    the desks wait for."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    scanned = asyncio.Event()

    async def scan() -> tuple[float, life_event_service.ScanResult | None]:
        async with sessions() as session:
            began = time.perf_counter()
            result = await life_event_service.scan(session, date.today())
            scanned.set()
            return time.perf_counter() - began, result

    async def prechecks() -> list[float]:
        waits: list[float] = []
        for person in itertools.cycle(people):
            if scanned.is_set():
                return waits
            asked = PrecheckRequest(nik=person["true_nik"], category=Category.PBI_REACTIVATION)
            began = time.perf_counter()
            async with sessions() as session:  # one per request, as verval answers them
                await service.precheck(session=session, request=asked, today=date.today())
            waits.append((time.perf_counter() - began) * 1000)
            await asyncio.sleep(0.01)
        return waits

    (took, result), waits = await asyncio.gather(scan(), prechecks())
    await engine.dispose()
    return took, result, waits


def run(people: int, lookups: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "registry"
        began = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "slrt.cli",
                "generate",
                "--people",
                str(people),
                "--out",
                str(out),
            ],
            check=True,
        )
        generated = time.perf_counter() - began
        url = f"sqlite:///{tmp}/verval.db"
        engine = sync_engine(url)
        TABLES[0].metadata.create_all(engine, tables=TABLES)
        memory = TreeMemory()
        memory.start()
        began = time.perf_counter()
        result = import_csv(engine, registry.Kind.CIVIL, out / "civil.csv")
        imported = time.perf_counter() - began
        import_mib = memory.stop() / 1024
        for kind in (registry.Kind.DTKS, registry.Kind.PROGRAMS):  # lookups read all three
            import_csv(engine, kind, out / f"{kind.value}.csv")
        engine.dispose()
        asked = sample(out / "presented.csv", lookups)
        timings = asyncio.run(time_lookups(url, asked))
        took, scanned, waits = asyncio.run(time_scan_beside_prechecks(url, asked))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    nik, cand, pre = timings["nik"], timings["candidates"], timings["precheck"]
    return "\n".join(
        [
            f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — sqlite, {result.rows} people",
            "",
            f"- machine: {machine()}",
            f"- command: `python bench/registry.py --people {people} --lookups {lookups}`",
            f"- generated in {generated:.0f} s (child process)",
            f"- civil import: {result.rows} rows in {imported:.1f} s = "
            f"**{result.rows / imported:,.0f} rows/s** (target ≥ 100,000)",
            f"- NIK lookup (civil, DTKS, programs): p50 {statistics.median(nik):.2f} ms, "
            f"**p99 {percentile(nik, 0.99):.2f} ms** (target ≤ 2 ms)",
            f"- candidate search by birth date + kecamatan + name: p50 "
            f"{statistics.median(cand):.2f} ms, **p99 {percentile(cand, 0.99):.2f} ms** "
            "(target ≤ 50 ms)",
            f"- intake's pre-check answered by verval (lookup, facts, window): p50 "
            f"{statistics.median(pre):.2f} ms, **p99 {percentile(pre, 0.99):.2f} ms** "
            "(target ≤ 50 ms)",
            f"- life-event scan of the imported civil and DTKS pair: {took:.0f} s, "
            f"{scanned.households if scanned else 0} households, "
            f"{scanned.opened if scanned else 0} proposals opened; pre-checks asked meanwhile: "
            f"{len(waits)}, p50 {statistics.median(waits):.2f} ms, "
            f"**p99 {percentile(waits, 0.99):.2f} ms**, longest {max(waits):.0f} ms",
            f"- peak memory of the import, its parse workers included: **{import_mib:.0f} MiB**; "
            f"of the process that imported and then looked up: **{peak_mib:.0f} MiB** "
            "(target ≤ 1 GiB)",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=3_000_000)
    parser.add_argument("--lookups", type=int, default=5000)
    args = parser.parse_args()
    text = run(args.people, args.lookups)
    with RESULTS.open("a") as out:
        out.write("\n" + text + "\n")
    print(text)


if __name__ == "__main__":
    main()
