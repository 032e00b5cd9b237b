"""`slrt up` as a user runs it: everything starts, a case flows, SIGTERM stops it all."""

import csv
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from shared.accounts import DEMO_PASSWORD
from slrt.natsserver import free_ports, port_open
from slrt.services import SERVICE_NAMES, SERVICES
from tests.conftest import LOCAL_POSTGRES, PostgresDatabases

pytestmark = [pytest.mark.e2e, pytest.mark.long]


def start_up(
    tmp_path: Path, *extra: str, leaf_port: bool = False
) -> tuple[subprocess.Popen[str], dict[str, int], int]:
    """`slrt up` on ports of its own (a hub's leaf port too, with `leaf_port`), ready."""
    *service_ports, nats_port, leaf = free_ports(len(SERVICES) + 2)
    ports = dict(zip(SERVICE_NAMES, service_ports, strict=True))
    extra += ("--leaf-port", str(leaf)) if leaf_port else ()
    env = dict(os.environ) | {f"SLRT_{name.upper()}_PORT": str(p) for name, p in ports.items()}
    command = [sys.executable, "-m", "slrt.cli", "up", "--var-dir", str(tmp_path / "var")]
    command += ["--nats-port", str(nats_port), *extra]
    tmp_path.mkdir(parents=True, exist_ok=True)
    log = (tmp_path / "up.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    while "SLRT siap" not in (tmp_path / "up.log").read_text():
        assert process.poll() is None, (tmp_path / "up.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "slrt up did not become ready"
        time.sleep(0.2)
    return process, ports, nats_port


def desk_auth(intake_port: int) -> dict[str, str]:
    """Signed in as the demo front office of Kedungrejo (Rembang), whom `slrt up` created."""
    credentials = {"username": "desa-3317102001", "password": DEMO_PASSWORD}
    login = httpx.post(f"http://127.0.0.1:{intake_port}/api/login", json=credentials, timeout=10)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


def register_and_follow(intake_port: int, nik: str, timeout: float = 30) -> dict[str, object]:
    """Register a case as the demo front office and wait until it is referred."""
    auth = desk_auth(intake_port)
    body = {
        "nik": nik,
        "kk": "3317100101150002",
        "address": "Jl. Kartini 5",
        "rt": "1",
        "rw": "2",
        "name": "Sri Wahyuni",
        "birth_date": "1985-07-05",
        "sex": "P",
        "desa_code": "33.17.10.2001",
        "category": "pbi_pendaftaran",
        "description": "Dirawat di puskesmas, belum punya KIS",
        "urgent": True,  # the fast track: referred without waiting for the village's review
    }
    created = httpx.post(
        f"http://127.0.0.1:{intake_port}/api/cases", json=body, headers=auth, timeout=10
    )
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + timeout
    while True:
        case: dict[str, object] = httpx.get(
            f"http://127.0.0.1:{intake_port}/api/cases/{created.json()['id']}", headers=auth
        ).json()
        if case["status"] == "referred":
            return case
        assert time.monotonic() < deadline, case
        time.sleep(0.2)


def precheck(intake_port: int, nik: str) -> dict[str, object]:
    """What the desk's pre-check says of a person, asked as the demo front office."""
    body = {"nik": nik, "category": "pbi_pendaftaran"}
    reply = httpx.post(
        f"http://127.0.0.1:{intake_port}/api/precheck",
        json=body,
        headers=desk_auth(intake_port),
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    answer: dict[str, object] = reply.json()
    return answer


def stop_and_check(process: subprocess.Popen[str], ports: dict[str, int], nats_port: int) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    for port in [*ports.values(), nats_port]:
        assert not port_open("127.0.0.1", port), f"port {port} still open after stop"


def test_up_runs_the_system_on_sqlite_and_stops_cleanly(tmp_path: Path) -> None:
    process, ports, nats_port = start_up(tmp_path)
    try:
        # The demo district's synthetic registry is in verval from the start.
        with (tmp_path / "var" / "registry" / "dtks.csv").open() as handle:
            household = next(csv.DictReader(handle))
        answer = precheck(ports["intake"], household["nik"])
        assert answer["registry_loaded"] is True and answer["in_dtks"] is True
        assert answer["id_dtks"] == household["id_dtks"]
        register_and_follow(ports["intake"], "3317014507850003")
        output = (tmp_path / "up.log").read_text()
        assert f"http://127.0.0.1:{ports['notify']}" in output
        assert (tmp_path / "var" / "intake.db").exists()
        assert (tmp_path / "var" / "nats" / "jetstream").is_dir()
    finally:
        stop_and_check(process, ports, nats_port)
    assert "Semua layanan berhenti." in (tmp_path / "up.log").read_text()


@pytest.fixture
def postgres_prefix(postgres_databases: PostgresDatabases | None) -> str:
    if postgres_databases is None:
        pytest.skip("PostgreSQL not reachable (set CI=true to make this a failure)")
    prefix = f"slrt_up_{uuid.uuid4().hex[:8]}_"
    # Dropped with the run's other test databases, in the background: each drop forces a
    # checkpoint, and with the demo registry just written the four took 25 s on a slow disk.
    postgres_databases.created.extend(f"{prefix}{spec.name}" for spec in SERVICES)
    return prefix


def test_up_on_postgresql_gives_each_service_its_own_database(
    tmp_path: Path, postgres_server: str, postgres_prefix: str
) -> None:
    process, ports, nats_port = start_up(
        tmp_path,
        "--postgres",
        postgres_server or LOCAL_POSTGRES,
        "--postgres-prefix",
        postgres_prefix,
    )
    try:
        register_and_follow(ports["intake"], "3317014507850004")
        with psycopg.connect(postgres_server) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{postgres_prefix}%",)
            ).fetchall()
        assert sorted(r[0] for r in rows) == sorted(f"{postgres_prefix}{s.name}" for s in SERVICES)
        assert not (tmp_path / "var" / "intake.db").exists()
    finally:
        stop_and_check(process, ports, nats_port)


def test_up_as_a_hub_and_as_a_village_edge(tmp_path: Path) -> None:
    """`slrt up --edge` prints the village's command; run, the village's case flows."""
    desa = "33.17.10.2001"
    hub, hub_ports, hub_nats = start_up(tmp_path / "hub", "--edge", desa, leaf_port=True)
    try:
        printed = (tmp_path / "hub" / "up.log").read_text()
        command = next(line for line in printed.splitlines() if "--village" in line).split()
        hub_url = command[command.index("--hub") + 1]
        village, village_ports, village_nats = start_up(
            tmp_path / "village", "--village", desa, "--hub", hub_url
        )
        try:
            # The hub's source of a village that did not exist yet retries after 10, 30,
            # 60 ... seconds (nats-server's back-off): the first case may wait for it.
            case = register_and_follow(village_ports["intake"], "3317014507850004", 150)
            steps = [step["service"] for step in case["timeline"]]  # type: ignore[union-attr]
            assert {"verval", "referral"} <= set(steps)
            assert (tmp_path / "village" / "var" / "nats.conf").exists()
        finally:
            stop_and_check(village, {"intake": village_ports["intake"]}, village_nats)
    finally:
        stop_and_check(hub, hub_ports, hub_nats)
