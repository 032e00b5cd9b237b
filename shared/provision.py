"""Create or update the SLRT stream and every durable consumer on a NATS server.

Run by `slrt provision`, by `slrt up` and by deployment, never by a service at start.
Adding a consumer that exists updates its updatable settings (ack wait, max deliver, ...):
that is the explicit migration step for consumer changes.
"""

import nats
from nats.js.errors import NotFoundError

from shared.contracts import STREAM_NAME
from shared.logging import get_logger
from shared.topology import SUBSCRIPTIONS, consumer_config, stream_config

log = get_logger(__name__)


async def provision(nats_url: str, *, replicas: int = 1) -> list[str]:
    """Make the server match the topology; returns the durable names provisioned."""
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        config = stream_config(replicas)
        try:
            await js.stream_info(STREAM_NAME)
            await js.update_stream(config)
        except NotFoundError:
            await js.add_stream(config)
        durables = []
        for sub in SUBSCRIPTIONS:
            await js.add_consumer(STREAM_NAME, consumer_config(sub))
            durables.append(sub.durable)
        log.info("provisioned", stream=STREAM_NAME, consumers=len(durables))
        return durables
    finally:
        await nc.close()
