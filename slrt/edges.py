"""`slrt up` as a district hub that village edges connect to, or as one village edge.

The topology and its permissions are in `shared/edge.py`; this module writes the
nats-server configuration for this machine, keeps each village's leaf password under the
var folder, and says which environment the services get.
"""

import argparse
import secrets
from dataclasses import dataclass
from pathlib import Path

from shared.edge import LEAF_PORT, Edge, hub_config, leaf_config
from shared.provision import provision, provision_village
from slrt.natsserver import NatsServer


@dataclass(frozen=True)
class Place:
    """Where `slrt up` runs: the district (with its village edges, if any) or one village."""

    var_dir: Path
    nats_port: int
    edges: tuple[Edge, ...] = ()
    village: Edge | None = None
    hub_url: str | None = None
    leaf_port: int = LEAF_PORT

    def nats_server(self) -> NatsServer:
        """The embedded nats-server, configured as a hub, a village leaf, or plain."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        store_dir = self.var_dir / "nats"
        log_file = self.var_dir / "nats.log"
        config = self._config(store_dir)
        config_file = None
        if config is not None:
            config_file = self.var_dir / "nats.conf"
            config_file.write_text(config)
        return NatsServer(
            port=self.nats_port, store_dir=store_dir, log_file=log_file, config_file=config_file
        )

    def _config(self, store_dir: Path) -> str | None:
        if self.village is not None:
            if not self.hub_url:
                raise ValueError("a village edge needs --hub (the district's leaf URL)")
            return leaf_config(
                self.village, store_dir=store_dir, hub_url=self.hub_url, port=self.nats_port
            )
        if self.edges:
            passwords = {edge: self.leaf_password(edge) for edge in self.edges}
            return hub_config(
                store_dir=store_dir,
                edges=passwords,
                district_password=None,
                host="127.0.0.1",
                port=self.nats_port,
                leaf_port=self.leaf_port,
            )
        return None

    def leaf_password(self, edge: Edge) -> str:
        """The village's password on the hub: made once, kept under var/edges/."""
        path = self.var_dir / "edges" / f"{edge.code}.secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(18))
            path.chmod(0o600)
        return path.read_text().strip()

    async def provision(self, nats_url: str) -> None:
        if self.village is not None:
            await provision_village(nats_url, self.village)
        else:
            await provision(nats_url, edges=self.edges)

    def service_env(self) -> dict[str, str]:
        if self.village is not None:
            return {"SLRT_VILLAGE": self.village.desa.desa}
        return {"SLRT_EDGE_VILLAGES": ",".join(edge.desa.desa for edge in self.edges)}

    def edge_commands(self, host: str = "127.0.0.1") -> list[str]:
        """How to start each village edge against this hub."""
        return [
            f"slrt up --village {edge.desa.desa} --hub "
            f"nats-leaf://{edge.domain}:{self.leaf_password(edge)}@{host}:{self.leaf_port}"
            for edge in self.edges
        ]


def config_text(args: argparse.Namespace) -> str:
    """`slrt edge-config`: the production configuration of the hub or of one village."""
    if args.role == "village":
        if not (args.village and args.hub_url):
            raise SystemExit("village: --village DESA and --hub-url URL are required")
        return leaf_config(
            Edge.of(args.village), store_dir=args.store_dir, hub_url=args.hub_url, port=4222
        )
    edges = {}
    for entry in args.edge:
        code, _, password = entry.partition("=")
        if not password:
            raise SystemExit(f"--edge {entry}: give DESA=PASSWORD (a bcrypt hash is best)")
        edges[Edge.of(code)] = password
    return hub_config(
        store_dir=args.store_dir,
        edges=edges,
        district_password=args.district_password,
        http_port=8222,
    )
