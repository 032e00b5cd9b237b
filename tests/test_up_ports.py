"""`slrt up` and its ports: a clash is refused before anything starts, and a service counts
as ready only when it is the one answering on its port."""

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from slrt.cli import main
from slrt.natsserver import free_ports
from slrt.services import SERVICE_NAMES, spec_of
from slrt.up import ServiceProcess, wait_ready


def test_ports_chosen_together_are_all_different() -> None:
    ports = free_ports(200)
    assert len(set(ports)) == 200


def _own_ports(monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, int], int]:
    """Every service and the embedded nats-server on a free port of their own."""
    *service_ports, nats_port = free_ports(len(SERVICE_NAMES) + 1)
    ports = dict(zip(SERVICE_NAMES, service_ports, strict=True))
    for name, port in ports.items():
        monkeypatch.setenv(f"SLRT_{name.upper()}_PORT", str(port))
    return ports, nats_port


def _up(tmp_path: Path, nats_port: int) -> int:
    return main(["up", "--var-dir", str(tmp_path / "var"), "--nats-port", str(nats_port)])


def test_two_services_on_one_port_are_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ports, nats_port = _own_ports(monkeypatch)
    monkeypatch.setenv("SLRT_REFERRAL_PORT", str(ports["intake"]))
    assert _up(tmp_path, nats_port) == 1
    said = capsys.readouterr().err
    assert f"intake dan referral memakai port yang sama ({ports['intake']})" in said
    assert "SLRT_REFERRAL_PORT" in said
    assert not (tmp_path / "var").exists()  # no nats-server, no database, no registry


def test_a_port_another_program_holds_is_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ports, nats_port = _own_ports(monkeypatch)
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", ports["notify"]))
        other_program.listen()
        assert _up(tmp_path, nats_port) == 1
    said = capsys.readouterr().err
    assert f"port {ports['notify']} untuk notify sudah dipakai program lain" in said
    assert not (tmp_path / "var").exists()


def test_a_hubs_leaf_port_given_to_a_service_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ports, nats_port = _own_ports(monkeypatch)
    command = ["up", "--var-dir", str(tmp_path / "var"), "--nats-port", str(nats_port)]
    command += ["--edge", "33.17.10.2001", "--leaf-port", str(ports["verval"])]
    assert main(command) == 1
    said = capsys.readouterr().err
    assert f"verval dan leaf node memakai port yang sama ({ports['verval']})" in said
    assert "--leaf-port" in said
    assert not (tmp_path / "var").exists()


@contextmanager
def answering_readyz(service: str) -> Iterator[int]:
    """An HTTP server that says `service` is ready; its port."""

    class Ready(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"service": service, "status": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_another_service_answering_on_the_port_is_not_the_service_ready() -> None:
    with answering_readyz("referral") as port:
        intake = ServiceProcess(spec_of("intake"), port, env={})
        with pytest.raises(RuntimeError, match="not ready in time: intake"):
            wait_ready([intake], timeout=1.0)


def test_the_service_itself_answering_is_ready() -> None:
    with answering_readyz("intake") as port:
        wait_ready([ServiceProcess(spec_of("intake"), port, env={})], timeout=5.0)
