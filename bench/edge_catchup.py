"""Village edge catch-up: a village registers cases while its link to the district is cut,
stays offline for the rest of an hour, and the link returns; how long until it caught up?

Real parts, as `slrt up` runs them: a hub nats-server with the four district services on
SQLite, a village's leaf nats-server with its intake on SQLite, the village's link through
a TCP relay that is cut and restored (`tests/linkcut.py`). Measured from the restore:
- up: every waiting event stored in the hub's SLRT stream;
- receipts: the village's intake knows the district holds every one (`waiting` = 0);
- answered: every case verified and referred at the district and its three messages to the
  citizen on the village's timeline.
Results are appended to bench/RESULTS.md.

    python bench/edge_catchup.py --cases 10000 --offline-minutes 60
"""

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pipeline import RESULTS, machine, synthetic_case
from shared.accounts import DEMO_PASSWORD
from shared.contracts import STREAM_NAME
from slrt.services import SERVICE_NAMES
from slrt.up import ServiceProcess
from tests.conftest import DatabaseFactory
from tests.e2e.conftest import services_on
from tests.edge.conftest import VILLAGE_A, VILLAGE_B, Network, start_network

# Logs at WARNING spare the disk; the overdue check at its production pace.
QUIET = {"SLRT_LOG_LEVEL": "WARNING", "SLRT_REFERRAL_OVERDUE_CHECK_SECONDS": "60"}


async def register(intake_url: str, cases: int, desks: int) -> None:
    desa = VILLAGE_A.desa.desa
    login = {"username": f"desa-{VILLAGE_A.code}", "password": DEMO_PASSWORD}
    async with httpx.AsyncClient(base_url=intake_url, timeout=60) as client:
        token = (await client.post("/api/login", json=login)).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}

        async def desk(first: int) -> None:
            rng = random.Random(first)
            for serial in range(first, cases, desks):
                # Urgent and consented: referred as soon as verified, told three times.
                body = synthetic_case(desa, serial, rng) | {
                    "description": f"Kasus {serial}",
                    "category": "pbi_reaktivasi",
                    "urgent": True,
                    "consent_to_share": True,
                }
                response = await client.post("/api/cases", json=body, headers=headers)
                if response.status_code != 201:
                    raise RuntimeError(f"{response.status_code} {response.text}")

        await asyncio.gather(*(desk(d) for d in range(desks)))


async def stored_at_hub(hub_url: str) -> int:
    nc = await nats.connect(hub_url)
    try:
        subject = f"slrt.case.registered.{VILLAGE_A.desa.subject_tokens()}"
        info = await nc.jetstream().stream_info(STREAM_NAME, subjects_filter=subject)
        return sum((info.state.subjects or {}).values())
    finally:
        await nc.close()


def answered(intake: ServiceProcess) -> int:
    path = intake.env["SLRT_INTAKE_DATABASE_URL"].split(":///", 1)[1]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
        query = (
            "SELECT COUNT(*) FROM (SELECT case_id FROM timeline_entry"
            " WHERE step = 'Pemberitahuan terkirim' GROUP BY case_id HAVING COUNT(*) >= 3)"
        )
        found: int = conn.execute(query).fetchone()[0]
        return found


def waiting(intake: ServiceProcess) -> int:
    found: int = httpx.get(f"{intake.url}/api/uplink", timeout=10).json()["waiting"]
    return found


def seconds_until(check: Callable[[], bool], since: float, timeout: float) -> float:
    while not check():
        if time.monotonic() - since > timeout:
            raise TimeoutError("not caught up in time")
        time.sleep(0.5)
    return time.monotonic() - since


def run(args: argparse.Namespace) -> str:
    work = Path(tempfile.mkdtemp(prefix="slrt-edge-bench-"))
    network: Network = start_network(work / "nats")
    edges = {"SLRT_EDGE_VILLAGES": f"{VILLAGE_A.desa.desa},{VILLAGE_B.desa.desa}"}
    with ExitStack() as running:
        running.callback(network.stop)
        asyncio.run(network.provision())
        databases = DatabaseFactory("sqlite", work, None)
        district = services_on(
            network.hub.url, list(SERVICE_NAMES), work / "d", databases, QUIET | edges
        )
        running.enter_context(district)
        village = QUIET | {"SLRT_VILLAGE": VILLAGE_A.desa.desa}
        village_url = network.villages[VILLAGE_A].url
        intake = running.enter_context(
            services_on(village_url, ["intake"], work / "v", databases, village)
        )
        network.link_a.cut()
        cut_at = time.monotonic()
        asyncio.run(register(intake["intake"].url, args.cases, args.desks))
        registered_in = time.monotonic() - cut_at
        time.sleep(max(0.0, args.offline_minutes * 60 - registered_in))
        offline = time.monotonic() - cut_at
        held = waiting(intake["intake"])
        network.link_a.restore()
        back = time.monotonic()
        up = seconds_until(
            lambda: asyncio.run(stored_at_hub(network.hub.url)) >= args.cases, back, args.timeout
        )
        receipts = seconds_until(lambda: waiting(intake["intake"]) == 0, back, args.timeout)
        done = seconds_until(lambda: answered(intake["intake"]) >= args.cases, back, args.timeout)
    return _report(args, registered_in, offline, held, up, receipts, done)


def _report(
    args: argparse.Namespace,
    registered_in: float,
    offline: float,
    held: int,
    up: float,
    receipts: float,
    done: float,
) -> str:
    command = (
        f"python bench/edge_catchup.py --cases {args.cases} --desks {args.desks} "
        f"--offline-minutes {args.offline_minutes:g}"
    )
    return "\n".join(
        [
            f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — village edge catch-up, "
            f"{args.cases} cases after {offline / 60:.0f} minutes offline",
            "",
            f"- machine: {machine()}",
            f"- command: `{command}`",
            f"- while cut off: {args.cases} cases registered in {registered_in:.0f} s "
            f"({args.cases / registered_in:.0f}/s), {held} events waiting at the village",
            f"- after the link returned: all events in the hub's stream after **{up:.1f} s**; "
            f"the village knew all had arrived after {receipts:.1f} s; every case verified, "
            f"referred and its three messages on the village's timeline after {done:.0f} s "
            f"({args.cases / done:.0f} cases/s)",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--desks", type=int, default=8)
    parser.add_argument("--offline-minutes", type=float, default=60)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--no-record", action="store_true", help="print, do not append")
    args = parser.parse_args()
    report = run(args)
    print(report)
    if not args.no_record:
        with RESULTS.open("a") as results:
            results.write("\n" + report)


if __name__ == "__main__":
    main()
