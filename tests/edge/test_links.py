"""The village edge's links on real nats-servers: events go up and answers come down, and a
village reaches nothing of another's. A cut link and a village restarted while cut off are
in tests/e2e/test_village_edge.py, with the services."""

import asyncio
import json
import subprocess
from uuid import uuid4

import nats
import pytest
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from shared.contracts import STREAM_NAME
from shared.edge import DISTRICT_STREAM, VILLAGE_STREAM, Edge
from slrt.natsserver import nats_server_binary
from tests.edge.conftest import VILLAGE_A, VILLAGE_B, Network
from tests.waiting import wait_until


def subject(edge: Edge, event: str = "case.registered") -> str:
    return f"slrt.{event}.{edge.desa.subject_tokens()}"


async def publish_many(nc: Client, stream: str, subj: str, count: int) -> list[str]:
    js = nc.jetstream()
    ids = [str(uuid4()) for _ in range(count)]
    for event_id in ids:
        await js.publish(
            subj,
            json.dumps({"event_id": event_id}).encode(),
            stream=stream,
            headers={"Nats-Msg-Id": event_id},
        )
    return ids


async def ids_in(nc: Client, stream: str, subj: str) -> list[str]:
    """The Nats-Msg-Ids stored on `subj`, in stream order."""
    js = nc.jetstream()
    sub = await js.subscribe(subj, stream=stream, ordered_consumer=True)
    found: list[str] = []
    try:
        while True:
            msg = await sub.next_msg(timeout=0.5)
            found.append((msg.headers or {}).get("Nats-Msg-Id", ""))
    except NatsTimeout:
        return found
    finally:
        await sub.unsubscribe()


async def test_events_go_up_and_answers_come_down(network: Network) -> None:
    await network.provision()
    hub = await nats.connect(network.hub.url)
    village_a = await nats.connect(network.villages[VILLAGE_A].url)
    try:
        sent = await publish_many(village_a, VILLAGE_STREAM, subject(VILLAGE_A), 20)
        answers = await publish_many(hub, STREAM_NAME, subject(VILLAGE_A, "case.verified"), 5)
        other = await publish_many(hub, STREAM_NAME, subject(VILLAGE_B, "case.verified"), 5)

        async def arrived() -> bool:
            return await ids_in(hub, STREAM_NAME, subject(VILLAGE_A)) == sent

        await wait_until(arrived, timeout=60, every=0.5)

        async def came_down() -> bool:
            down = await ids_in(village_a, DISTRICT_STREAM, "slrt.>")
            return set(down) == {*sent, *answers}

        await wait_until(came_down, timeout=60, every=0.5)
        assert not set(other) & set(await ids_in(village_a, DISTRICT_STREAM, "slrt.>"))
        # The district's answers are not captured by the village's own stream.
        assert await ids_in(village_a, VILLAGE_STREAM, "slrt.>") == sent
    finally:
        await hub.close()
        await village_a.close()


async def test_a_village_reaches_nothing_of_another(network: Network) -> None:
    await network.provision()
    hub = await nats.connect(network.hub.url)
    b_ids = await publish_many(hub, STREAM_NAME, subject(VILLAGE_B, "case.verified"), 3)
    village_a = await nats.connect(network.villages[VILLAGE_A].url)
    try:
        # Through its leaf: no consumer on B's events, no reading the hub's stream.
        b_filter = subject(VILLAGE_B).replace("case.registered", "*.*")
        for request in (
            f"$JS.hub.API.CONSUMER.CREATE.{STREAM_NAME}.spy.{b_filter}",
            f"$JS.hub.API.CONSUMER.CREATE.{STREAM_NAME}.spy",
            f"$JS.hub.API.STREAM.MSG.GET.{STREAM_NAME}",
            f"$JS.hub.API.DIRECT.GET.{STREAM_NAME}",
        ):
            with pytest.raises((NoRespondersError, NatsTimeout)):
                await village_a.request(request, b'{"seq": 1}', timeout=2)
        # Publishing on B's subjects reaches no stream, here or at the district.
        await village_a.publish(subject(VILLAGE_B), b"forged")
        await village_a.flush()
        await asyncio.sleep(1)
        assert await ids_in(hub, STREAM_NAME, subject(VILLAGE_B)) == []
        assert await ids_in(hub, STREAM_NAME, "slrt.>") == b_ids
    finally:
        await village_a.close()
        await hub.close()


async def test_the_hub_itself_refuses_a_villages_credentials_beyond_its_own(
    network: Network,
) -> None:
    """Whatever a village puts in its own leaf configuration, the hub enforces the limits:
    its user cannot publish events or read any subject of the domain."""
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    password = network.hub_place.leaf_password(VILLAGE_A)
    url = f"nats://{VILLAGE_A.domain}:{password}@127.0.0.1:{network.hub.port}"
    as_village = await nats.connect(url, error_cb=on_error, inbox_prefix=VILLAGE_A.inbox_prefix)
    try:
        await as_village.publish(subject(VILLAGE_B), b"forged")
        await as_village.publish(subject(VILLAGE_A), b"not through sourcing either")
        await as_village.subscribe("slrt.>")
        await as_village.flush()
        await asyncio.sleep(0.5)
    finally:
        await as_village.close()
    assert sum("permissions violation" in str(e).lower() for e in errors) >= 3, errors


@pytest.mark.parametrize("role", ["hub", "village"])
def test_generated_configs_are_valid(network: Network, role: str) -> None:
    place = network.hub_place if role == "hub" else network.places[VILLAGE_A]
    config = place.var_dir / "nats.conf"
    result = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
