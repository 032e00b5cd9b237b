"""Create or update the streams and every durable consumer on a NATS server.

Run by `slrt provision`, by `slrt up` and by deployment, never by a service at start.
Adding a consumer that exists updates its updatable settings (ack wait, max deliver, ...):
that is the explicit migration step for consumer changes.
"""

from collections.abc import Iterable

import nats
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from shared.contracts import STREAM_NAME
from shared.edge import DISTRICT_STREAM, Edge, uplink_consumer
from shared.logging import get_logger
from shared.topology import SUBSCRIPTIONS, consumer_config, stream_config

log = get_logger(__name__)


async def provision(nats_url: str, *, replicas: int = 1, edges: Iterable[Edge] = ()) -> list[str]:
    """Make the district's server match the topology, sourcing each village edge's events;
    returns the durable names provisioned."""
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        config = stream_config(replicas)
        config.sources = [edge.hub_source() for edge in edges] or None
        await _put_stream(js, config)
        durables = []
        for sub in SUBSCRIPTIONS:
            await js.add_consumer(STREAM_NAME, consumer_config(sub))
            durables.append(sub.durable)
        log.info("provisioned", stream=STREAM_NAME, consumers=len(durables))
        return durables
    finally:
        await nc.close()


async def provision_village(nats_url: str, edge: Edge) -> list[str]:
    """Make a village edge's own server match the topology: its two streams, intake's
    consumers on the district's stream, and the consumer of uplink receipts."""
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        await _put_stream(js, edge.village_stream())
        await _put_stream(js, edge.district_stream())
        intake = [consumer_config(sub) for sub in SUBSCRIPTIONS if sub.service == "intake"]
        configs = [*intake, uplink_consumer()]
        for config in configs:
            await js.add_consumer(DISTRICT_STREAM, config)
        log.info("provisioned_village", village=edge.domain, consumers=len(configs))
        return [str(config.durable_name) for config in configs]
    finally:
        await nc.close()


async def _put_stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(str(config.name))
        await js.update_stream(config)
    except NotFoundError:
        await js.add_stream(config)
