"""Running services as real processes for the end-to-end tests."""

import asyncio
import shutil
import sqlite3
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy.engine import make_url

from shared.accounts import DEMO_PASSWORD
from shared.provision import provision
from slrt.natsserver import NatsServer, free_port, free_ports
from slrt.services import spec_of
from slrt.up import DEMO_USERS_ENV, ServiceProcess, service_processes, wait_ready
from tests.conftest import IN_CI, DatabaseFactory

T = TypeVar("T")


def nik(serial: int) -> str:
    """A valid NIK: kecamatan 33.17.01, a man born 1 January 1990, serial 0001 ..."""
    return f"331701010190{serial:04d}"


def phone(serial: int) -> str:
    """A mobile number (0812 and eight digits), one per citizen."""
    return f"0812{serial:08d}"


KK = "3317010203040005"


def case_body(serial: int, desa_code: str = "33.17.01.2001") -> dict[str, Any]:
    """A citizen registering an urgent, consented case: the fast track refers it as soon
    as verval has checked it."""
    return {
        "nik": nik(serial),
        "kk": KK,
        "name": f"Warga Uji {serial}",
        "birth_date": "1990-01-01",
        "sex": "L",
        "desa_code": desa_code,
        "address": "Dukuh Krajan 1",
        "rt": "1",
        "rw": "1",
        "phone": phone(serial),
        "urgent": True,
        "consent_to_share": True,
        "category": "pbi_reaktivasi",
        "description": "KIS tidak aktif, sedang dirawat",
    }


def database_url(svc: ServiceProcess) -> str:
    return svc.env[f"SLRT_{svc.spec.name.upper()}_DATABASE_URL"]


@contextmanager
def database(svc: ServiceProcess) -> Iterator[Any]:
    """A DB-API connection to a service's database (its SQLite file read-only, or its
    PostgreSQL database), for reconciling what it holds. Placeholders are `%s`."""
    url = make_url(database_url(svc))
    conn: sqlite3.Connection | psycopg.Connection[Any]
    if url.drivername.startswith("sqlite"):
        conn = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True, timeout=30)
        conn.execute("PRAGMA query_only = ON")
    else:
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = psycopg.connect(plain, autocommit=True)
    try:
        yield _Placeholders(conn)
    finally:
        conn.close()


class _Placeholders:
    """One placeholder style (`%s`) over sqlite3 (`?`) and psycopg (`%s`)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.qmark = isinstance(conn, sqlite3.Connection)

    def execute(self, query: str, params: tuple[object, ...] = ()) -> Any:
        sql = query.replace("%s", "?") if self.qmark else query
        cursor = self.conn.cursor()
        cursor.execute(sql, params)
        return cursor


def counts(svc: ServiceProcess, query: str, *params: object) -> list[tuple[Any, ...]]:
    with database(svc) as conn:
        return [tuple(row) for row in conn.execute(query, params).fetchall()]


def eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll until `check` returns something truthy; the pipeline is asynchronous."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s")
        time.sleep(0.1)


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to its end in a thread: Playwright's sync API may already run an event
    loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


@contextmanager
def running_services(
    names: list[str],
    var_dir: Path,
    databases: DatabaseFactory,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[NatsServer, dict[str, ServiceProcess]]]:
    """A provisioned nats-server and the named services (with the demo operators), each
    with its own fresh database and a log file in `var_dir`, plus any `env`; stopped at
    the end."""
    nats = NatsServer(port=free_port(), store_dir=var_dir / "nats")
    nats.start()
    run_async(provision(nats.url))
    try:
        with services_on(nats.url, names, var_dir, databases, env) as services:
            yield nats, services
    finally:
        nats.stop()


@contextmanager
def services_on(
    nats_url: str,
    names: list[str],
    var_dir: Path,
    databases: DatabaseFactory,
    env: dict[str, str] | None = None,
) -> Iterator[dict[str, ServiceProcess]]:
    """The named services on an already provisioned NATS, ready; stopped at the end."""
    var_dir.mkdir(parents=True, exist_ok=True)
    services = service_processes(
        [spec_of(name) for name in names],
        nats_url=nats_url,
        var_dir=var_dir,
        ports=dict(zip(names, free_ports(len(names)), strict=True)),
        database_urls={name: databases.new(name) for name in names},
        # Quiet hours would hold citizens' messages when CI runs at night in Indonesia;
        # they have their own test with a controllable clock.
        extra_env={
            **DEMO_USERS_ENV,
            "SLRT_REFERRAL_OVERDUE_CHECK_SECONDS": "1",
            "SLRT_NOTIFY_QUIET_HOURS": "false",
            **(env or {}),
        },
        log_dir=var_dir,
    )
    for svc in services.values():
        svc.start()
    try:
        wait_ready(list(services.values()), timeout=60)
        yield services
    finally:
        for svc in services.values():
            svc.stop()


@dataclass
class Stack:
    nats: NatsServer
    services: dict[str, ServiceProcess]
    var_dir: Path
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return self.services[service].url

    def auth(self, username: str = "sekretariat", service: str = "intake") -> dict[str, str]:
        """A demo user's token; intake's secretariat may register in every desa."""
        if (service, username) not in self.tokens:
            credentials = {"username": username, "password": DEMO_PASSWORD}
            response = httpx.post(f"{self.url(service)}/api/login", json=credentials, timeout=10)
            self.tokens[service, username] = response.json()["token"]
        return {"Authorization": f"Bearer {self.tokens[service, username]}"}

    def logs(self) -> str:
        return "\n".join(
            svc.log_file.read_text(errors="replace")
            for svc in self.services.values()
            if svc.log_file
        )


def signed_in_page(browser: Browser, base_url: str, username: str, start: str) -> Page:
    """A new browser context on a service: open `start`, get sent to the sign-in page,
    and sign in as a demo user."""
    page = browser.new_context(base_url=base_url, locale="id-ID").new_page()
    page.goto(start)
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    return page


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        if IN_CI:
            pytest.fail("Debian's chromium is required under CI=true (.ci/run installs it)")
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    expect.set_options(timeout=15_000)  # a loaded 2-core CI machine is slower than a desk
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
