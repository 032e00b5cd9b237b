"""The secretariat's pages with a district's worth of referrals (issue 5: 100,000).

Fills referral's database with N synthetic referrals spread over the demo district's desa,
categories, destinations, statuses and the past year, then times each page the secretariat
opens (in-process over ASGI, so it measures the service, not the network). Results are
appended to bench/RESULTS.md.

    python bench/referral_pages.py --referrals 100000 [--backend postgresql]
"""

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import psycopg
from psycopg import sql
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pipeline import machine
from services.referral.app import create_app
from services.referral.domain import DEFAULT_DESTINATIONS
from services.referral.lifecycle import ENDED, Status
from services.referral.models import Referral
from services.referral.settings import Settings
from shared.accounts import DEMO_PASSWORD
from shared.areas import WIB, load_registry
from shared.contracts import Category
from slrt.postgres import ensure_databases

RESULTS = Path(__file__).with_name("RESULTS.md")
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
PAGES = [
    "/rujukan?antrean=open",
    "/rujukan?antrean=overdue",
    "/rujukan?antrean=triage",
    "/rujukan?antrean=all&status=completed&tujuan=bpjs_dinkes&halaman=20",
    "/dasbor?per=kecamatan",
    "/dasbor?per=desa_code",
    "/dasbor?per=created_month",
    "/laporan.csv",
]


def synthetic_rows(count: int, settings: Settings, now: datetime) -> list[dict[str, object]]:
    rng = random.Random(7)
    areas = load_registry(settings.area_csv)
    desa = [
        d.code
        for k in areas.kabupaten()
        for c in areas.children(k.code)
        for d in areas.children(c.code)
    ]
    destinations = [d.code for d in DEFAULT_DESTINATIONS]
    rows = []
    for serial in range(count):
        code = rng.choice(desa)
        created = now - timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        status = rng.choice(list(Status))
        ended = created + timedelta(days=rng.randrange(1, 60)) if status in ENDED else None
        took = (ended - created).days if ended and status is Status.COMPLETED else None
        rows.append(
            {
                "id": uuid4(),
                "case_id": uuid4(),
                "registration_number": f"{code.replace('.', '')}-{created:%y%m}-{serial:05d}",
                "kabupaten": code[:5],
                "kecamatan": code[:8],
                "desa_code": code,
                "category": rng.choice(list(Category)).value,
                "urgent": rng.random() < 0.1,
                "destination": rng.choice(destinations),
                "status": status.value,
                "served": True if status is Status.COMPLETED else None,
                "due_at": None if ended else created + timedelta(days=rng.randrange(1, 30)),
                "created_at": created,
                "created_month": created.astimezone(WIB).strftime("%Y-%m"),
                "days_to_complete": took,
                "updated_at": ended or created,
                "ended_at": ended,
            }
        )
    return rows


async def run(count: int, backend: str, rounds: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/referral.db"
        if backend == "postgresql":
            prefix = f"bench_{uuid4().hex[:8]}_"
            url = ensure_databases(LOCAL_POSTGRES, ("referral",), prefix=prefix)["referral"]
        settings = Settings(
            database_url=url,
            var_dir=Path(tmp),
            demo_users=True,
            log_json=False,
            log_level="WARNING",
            nats_url="nats://127.0.0.1:1",  # pages need no broker
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            rows = synthetic_rows(count, settings, datetime.now(UTC))
            async with runtime.sessions() as session:
                for start in range(0, len(rows), 2000):  # PostgreSQL: < 65,535 parameters
                    await session.exec(insert(Referral).values(rows[start : start + 2000]))
                await session.commit()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://referral") as client:
                credentials = {"username": "kepala", "password": DEMO_PASSWORD}
                await client.post("/masuk", data=credentials)
                timings = {page: [] for page in PAGES}
                for _ in range(rounds):
                    for page in PAGES:
                        began = time.perf_counter()
                        response = await client.get(page)
                        timings[page].append((time.perf_counter() - began) * 1000)
                        assert response.status_code == 200, (page, response.status_code)
        if backend == "postgresql":
            with psycopg.connect(LOCAL_POSTGRES, autocommit=True) as conn:
                name = sql.Identifier(f"{prefix}referral")
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        return timings


def write_results(count: int, backend: str, timings: dict[str, list[float]]) -> str:
    lines = [
        f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {backend}, {count} referrals",
        "",
        f"- machine: {machine()}",
        f"- command: `python bench/referral_pages.py --referrals {count} --backend {backend}`",
        "",
        "| page | median ms | max ms |",
        "|---|---|---|",
    ]
    for page, values in timings.items():
        lines.append(f"| `{page}` | {statistics.median(values):.0f} | {max(values):.0f} |")
    text = "\n".join(lines) + "\n"
    with RESULTS.open("a") as out:
        out.write("\n" + text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    timings = asyncio.run(run(args.referrals, args.backend, args.rounds))
    print(write_results(args.referrals, args.backend, timings))


if __name__ == "__main__":
    main()
