"""A district hub and two village edges as real nats-servers; village A's link to the hub
runs through a `Link` the test can cut."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.edge import Edge
from slrt.edges import Place
from slrt.natsserver import NatsServer, free_port, free_ports
from tests.linkcut import Link

VILLAGE_A = Edge.of("33.17.01.2001")
VILLAGE_B = Edge.of("33.17.01.2002")


@dataclass
class Network:
    hub_place: Place
    hub: NatsServer
    places: dict[Edge, Place]
    villages: dict[Edge, NatsServer]
    link_a: Link

    async def provision(self) -> None:
        # Villages first: the hub's sources then find their streams at once.
        for edge, place in self.places.items():
            await place.provision(self.villages[edge].url)
        await self.hub_place.provision(self.hub.url)

    def leaf_url(self, edge: Edge, port: int) -> str:
        password = self.hub_place.leaf_password(edge)
        return f"nats-leaf://{edge.domain}:{password}@127.0.0.1:{port}"

    def stop(self) -> None:
        for server in [*self.villages.values(), self.hub]:
            server.stop()
        self.link_a.close()


def start_network(root: Path) -> Network:
    nats_port, leaf_port = free_ports(2)
    hub_place = Place(
        var_dir=root / "hub", nats_port=nats_port, edges=(VILLAGE_A, VILLAGE_B), leaf_port=leaf_port
    )
    hub = hub_place.nats_server()
    hub.start()
    link_a = Link(hub_place.leaf_port)
    network = Network(hub_place, hub, {}, {}, link_a)
    for edge in (VILLAGE_A, VILLAGE_B):
        leaf_port = link_a.port if edge == VILLAGE_A else hub_place.leaf_port
        place = Place(
            var_dir=root / edge.domain,
            nats_port=free_port(),
            village=edge,
            hub_url=network.leaf_url(edge, leaf_port),
        )
        network.places[edge] = place
        network.villages[edge] = place.nats_server()
        network.villages[edge].start()
    return network


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    started = start_network(tmp_path)
    yield started
    started.stop()
