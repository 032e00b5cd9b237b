"""Running services as real processes for the end-to-end tests."""

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from shared.provision import provision
from slrt.natsserver import NatsServer, free_port
from slrt.services import spec_of
from slrt.up import DEMO_USERS_ENV, ServiceProcess, service_processes, wait_ready
from tests.conftest import DatabaseFactory


@contextmanager
def running_services(
    names: list[str], var_dir: Path, databases: DatabaseFactory
) -> Iterator[tuple[NatsServer, dict[str, ServiceProcess]]]:
    """A provisioned nats-server and the named services (with the demo operators), each
    with its own fresh database and a log file in `var_dir`; stopped at the end."""
    nats = NatsServer(port=free_port(), store_dir=var_dir / "nats")
    nats.start()
    # In a thread: Playwright's sync API may already run an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, provision(nats.url)).result()
    services = service_processes(
        [spec_of(name) for name in names],
        nats_url=nats.url,
        var_dir=var_dir,
        ports={name: free_port() for name in names},
        database_urls={name: databases.new(name) for name in names},
        extra_env={**DEMO_USERS_ENV, "SLRT_REFERRAL_OVERDUE_CHECK_SECONDS": "1"},
        log_dir=var_dir,
    )
    for svc in services.values():
        svc.start()
    try:
        wait_ready(list(services.values()), timeout=60)
        yield nats, services
    finally:
        for svc in services.values():
            svc.stop()
        nats.stop()
