"""`slrt up`: the whole system on one machine, each service its own process.

Starts nats-server from the wheel (unless pointed at an external NATS), provisions the
stream and consumers, gives verval the demo district's synthetic registry at its first
start, starts the four services, waits until each answers /readyz, and stops everything
cleanly on Ctrl-C or SIGTERM. A service that dies is restarted.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.edge import LEAF_PORT, Edge
from shared.logging import get_logger
from slrt.edges import Place
from slrt.natsserver import NatsServer, port_open
from slrt.services import SERVICES, ServiceSpec, spec_of

log = get_logger("slrt.up")

READY_TIMEOUT_SECONDS = 90.0
MAX_RESTARTS = 5
# Turns on the demo district's users in the services that have users.
DEMO_USERS_ENV = {
    f"SLRT_{name}_DEMO_USERS": "true" for name in ("INTAKE", "VERVAL", "REFERRAL", "NOTIFY")
}


@dataclass
class UpOptions:
    var_dir: Path
    nats_url: str | None
    nats_port: int
    database_urls: dict[str, str] = field(default_factory=dict)
    # The demo district: its users, and a synthetic registry in verval (at the district).
    demo: bool = True
    # At the district: desas running their own village edge. At a village: its desa and
    # the district's leaf URL (then only intake runs here).
    edges: tuple[str, ...] = ()
    village: str | None = None
    hub_url: str | None = None
    leaf_port: int = LEAF_PORT

    def place(self) -> Place:
        return Place(
            var_dir=self.var_dir,
            nats_port=self.nats_port,
            edges=tuple(Edge.of(code) for code in self.edges),
            village=Edge.of(self.village) if self.village else None,
            hub_url=self.hub_url,
            leaf_port=self.leaf_port,
        )


@dataclass
class ServiceProcess:
    spec: ServiceSpec
    port: int
    env: dict[str, str]
    log_file: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "slrt.cli", "serve", self.spec.name]
        if self.log_file is None:
            self.process = subprocess.Popen(command, env=self.env)
            return
        with self.log_file.open("ab") as log_output:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log_output, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        """SIGKILL, as a power cut or an OOM kill would end it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def service_processes(
    specs: Iterable[ServiceSpec],
    *,
    nats_url: str,
    var_dir: Path,
    ports: dict[str, int] | None = None,
    database_urls: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
    log_dir: Path | None = None,
) -> dict[str, ServiceProcess]:
    """The services as processes to start, configured through their environment.

    Used by `slrt up`, the end-to-end tests and the benchmark, so all run them alike.
    """
    processes = {}
    for spec in specs:
        port = (ports or {}).get(spec.name, spec.port())
        env = dict(os.environ) | {
            "SLRT_NATS_URL": nats_url,
            "SLRT_VAR_DIR": str(var_dir),
            f"{spec.env_prefix()}PORT": str(port),
        }
        if database_url := (database_urls or {}).get(spec.name):
            env[f"{spec.env_prefix()}DATABASE_URL"] = database_url
        env |= extra_env or {}
        log_file = log_dir / f"{spec.name}.log" if log_dir else None
        processes[spec.name] = ServiceProcess(spec, port, env, log_file=log_file)
    return processes


def wait_ready(services: list[ServiceProcess], timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Block until every service answers /readyz with 200, or raise naming those that don't.
    Only the service itself counts: another one on its port is not it being ready."""
    deadline = time.monotonic() + timeout
    waiting = list(services)
    with httpx.Client(timeout=2.0) as client:
        while waiting and time.monotonic() < deadline:
            for svc in list(waiting):
                if svc.process is not None and svc.process.poll() is not None:
                    raise RuntimeError(f"{svc.spec.name} exited with code {svc.process.returncode}")
                if _answers_ready(client, svc):
                    waiting.remove(svc)
            time.sleep(0.2)
    if waiting:
        raise RuntimeError("not ready in time: " + ", ".join(s.spec.name for s in waiting))


def _answers_ready(client: httpx.Client, svc: ServiceProcess) -> bool:
    try:
        response = client.get(f"{svc.url}/readyz")
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):  # not up yet, or not a service of ours
        return False
    return isinstance(body, dict) and body.get("service") == svc.spec.name


def ports_wanted(options: UpOptions, specs: Iterable[ServiceSpec]) -> list[tuple[str, int, str]]:
    """What `slrt up` will listen on: (who, port, the setting that chooses it)."""
    wanted = [(spec.name, spec.port(), f"{spec.env_prefix()}PORT") for spec in specs]
    if options.nats_url is None:  # the embedded nats-server, and a hub's port for its leaves
        wanted.append(("nats", options.nats_port, "--nats-port"))
        if options.edges and not options.village:
            wanted.append(("leaf node", options.leaf_port, "--leaf-port"))
    return wanted


def check_ports(wanted: list[tuple[str, int, str]]) -> None:
    """Refuse, before anything starts, two of ours on one port or a port another program
    holds: a service that cannot bind its port is only restarted until it gives up."""
    owners: dict[int, str] = {}
    for name, port, setting in wanted:
        if port in owners:
            raise RuntimeError(
                f"{owners[port]} dan {name} memakai port yang sama ({port}); "
                f"pilih port lain untuk {name} dengan {setting}"
            )
        owners[port] = name
        if port_open("127.0.0.1", port):
            raise RuntimeError(
                f"port {port} untuk {name} sudah dipakai program lain; "
                f"hentikan program itu atau pilih port lain dengan {setting}"
            )


class StopRequested(Exception):
    """Ctrl-C or SIGTERM: stop everything cleanly, whatever `up` was doing."""


def _request_stop(signum: int, _: object) -> None:
    raise StopRequested(signal.Signals(signum).name)


def run(options: UpOptions) -> int:
    """Run until signalled; returns the process exit code."""
    place = options.place()
    specs = [spec_of("intake")] if place.village else list(SERVICES)
    check_ports(ports_wanted(options, specs))
    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    options.var_dir.mkdir(parents=True, exist_ok=True)
    nats: NatsServer | None = None
    services: list[ServiceProcess] = []
    try:
        nats_url = options.nats_url
        if nats_url is None:
            nats = place.nats_server()
            nats.start()
            nats_url = nats.url
        asyncio.run(place.provision(nats_url))
        if options.demo and not place.village:
            _load_demo_registry(options)
        demo = DEMO_USERS_ENV if options.demo else {}
        services = list(
            service_processes(
                specs,
                nats_url=nats_url,
                var_dir=options.var_dir,
                database_urls=options.database_urls,
                extra_env=demo | place.service_env(),
            ).values()
        )
        for svc in services:
            svc.start()
        wait_ready(services)
        _print_urls(services, nats_url, options.var_dir, place.edge_commands())
        if options.demo:
            _print_demo_users()
        while True:
            _restart_dead(services)
            time.sleep(0.5)
    except StopRequested:
        return 0
    finally:
        # A second Ctrl-C must not cut the services' clean stop short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nMenghentikan layanan ...", flush=True)
        for svc in reversed(services):
            svc.stop()
        if nats is not None:
            nats.stop()
        print("Semua layanan berhenti.", flush=True)


def _restart_dead(services: list[ServiceProcess]) -> None:
    for svc in services:
        if svc.process is not None and svc.process.poll() is not None:
            if svc.restarts >= MAX_RESTARTS:
                raise RuntimeError(f"{svc.spec.name} keeps failing; see its log above")
            svc.restarts += 1
            log.warning("service_restarting", service=svc.spec.name, code=svc.process.returncode)
            svc.start()


def _load_demo_registry(options: UpOptions) -> None:
    """Before verval starts, so that it judges the first case against the registry."""
    # Imported here: Faker and verval's importer are needed at a demo's first start only.
    from services.verval.settings import Settings as VervalSettings
    from slrt.registry import load_demo_registry

    # The database verval will use: as `service_processes` configures it, else as the
    # environment and the var folder say.
    url = options.database_urls.get("verval")
    url = url or VervalSettings(var_dir=options.var_dir).effective_database_url
    load_demo_registry(url, options.var_dir / "registry")


def _print_demo_users() -> None:
    print(
        "Pengguna demo (kata sandi: slrt-demo). Intake: desa-<kode desa> (front office,\n"
        "  contoh desa-3317012001), bo-/koor-<kode desa>, kec-<kode kecamatan> (supervisor,\n"
        "  contoh kec-331701), sekretariat, admin. Referral: sekretariat, kepala,\n"
        "  penghubung-<instansi> (contoh penghubung-bpjs_dinkes). Notify: sekretariat,\n"
        "  kepala, admin (pesan warga, pesan gagal, templat pesan). Verval (usulan DTKS):\n"
        "  desa-/koor-/kades-/kasun-<kode desa>, tksk-<kode kecamatan>, dtks, bupati, sekda.\n"
        "  Ganti atau nonaktifkan sebelum dipakai sungguhan.",
        flush=True,
    )


def _print_urls(
    services: list[ServiceProcess], nats_url: str, var_dir: Path, edge_commands: list[str]
) -> None:
    print("\nSLRT siap / ready:", flush=True)
    for svc in services:
        print(f"  {svc.spec.name:<9} {svc.url}   (API: {svc.url}/docs)", flush=True)
    print(f"  nats      {nats_url}", flush=True)
    print(f"  data      {var_dir.resolve()}", flush=True)
    for command in edge_commands:
        print(f"  desa      {command}", flush=True)
    print("Tekan Ctrl-C untuk berhenti.", flush=True)
