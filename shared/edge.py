"""The village edge: a Puskesos's own nats-server, a leaf node of the district hub.

Each village's nats-server has JetStream in its own domain (`desa<code>`), so it stores
and serves its events while the link to the district is down. Two streams live there:

- `SLRT_DESA` captures the village's own events (its desa's subjects). The hub's `SLRT`
  stream *sources* it, so the events reach the district in order, once, whenever the link
  is up; the hub, not the village, decides which subjects it takes (the desa's only).
- `SLRT_KABUPATEN` sources the hub's `SLRT` stream filtered to the desa: the district's
  answers come down the same way, and so do the village's own events once the hub stored
  them, which is how the village knows what has arrived (`uplink receipts`).

Core traffic on `slrt.>` does not cross the link in either direction (the village denies
it, and the hub's permissions for the village's user do not allow it): otherwise the hub's
stream would also capture the village's publishes directly, and the village's stream the
hub's. The leaf user's permissions let the village do exactly what sourcing and the desk's
pre-check need, for its own desa and nothing else.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    ExternalStream,
    StorageType,
    StreamConfig,
    StreamSource,
)

from shared.areas import DesaPath, compact_code
from shared.contracts import PRECHECK_SUBJECT, STREAM_NAME, SUBJECT_ROOT
from shared.topology import (
    ACK_WAIT_SECONDS,
    DUPLICATE_WINDOW_SECONDS,
    MAX_ACK_PENDING,
    Streams,
    dead_letter_subject,
)

HUB_DOMAIN = "hub"
VILLAGE_STREAM = "SLRT_DESA"
DISTRICT_STREAM = "SLRT_KABUPATEN"
# A village's intake publishes into its own stream and reads the district's answers.
VILLAGE_STREAMS = Streams(publish=VILLAGE_STREAM, consume=DISTRICT_STREAM)
LEAF_PORT = 7422
# Intake's consumer of the village's own events coming back from the hub.
UPLINK_DURABLE = "intake__uplink"


def uplink_consumer() -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=UPLINK_DURABLE,
        name=UPLINK_DURABLE,
        filter_subject=f"{SUBJECT_ROOT}.>",
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_SECONDS,
        max_ack_pending=MAX_ACK_PENDING,
    )


@dataclass(frozen=True)
class Edge:
    """One village edge, named after its desa (Kemendagri code, e.g. 33.17.01.2001)."""

    desa: DesaPath

    @classmethod
    def of(cls, desa_code: str) -> "Edge":
        return cls(DesaPath.of(desa_code))

    @property
    def code(self) -> str:
        return compact_code(self.desa.desa)

    @property
    def domain(self) -> str:
        """The village's JetStream domain; also the name of its user on the hub."""
        return f"desa{self.code}"

    @property
    def subjects(self) -> str:
        """Every event of this desa."""
        return f"{SUBJECT_ROOT}.*.*.{self.desa.subject_tokens()}"

    @property
    def inbox_prefix(self) -> str:
        """Replies to the village's requests come back on subjects only it may read."""
        return f"_INBOX_{self.code}"

    def village_stream(self) -> StreamConfig:
        return StreamConfig(
            name=VILLAGE_STREAM,
            subjects=[self.subjects, dead_letter_subject("*")],
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )

    def district_stream(self) -> StreamConfig:
        source = StreamSource(
            name=STREAM_NAME,
            filter_subject=self.subjects,
            external=ExternalStream(api=f"$JS.{HUB_DOMAIN}.API", deliver=self._down_deliver),
        )
        return StreamConfig(name=DISTRICT_STREAM, sources=[source], storage=StorageType.FILE)

    def hub_source(self) -> StreamSource:
        """How the hub's SLRT stream takes this village's events (its desa's, no others)."""
        return StreamSource(
            name=VILLAGE_STREAM,
            filter_subject=self.subjects,
            external=ExternalStream(api=f"$JS.{self.domain}.API", deliver=self._up_deliver),
        )

    @property
    def _up_deliver(self) -> str:
        return f"slrt_up.{self.code}"

    @property
    def _down_deliver(self) -> str:
        return f"slrt_down.{self.code}"

    def hub_permissions(self) -> dict[str, object]:
        """What the village's leaf connection may do on the hub (the hub enforces it).

        Publish: answer the hub's source consumer (create replies, flow control, the
        events themselves on the village's own deliver subject), create the village's
        down-source consumer on SLRT *with its desa's filter only*, and ask verval's
        pre-check. Subscribe: the hub's requests to the village's JetStream, the down-
        source deliveries and replies on the village's own inbox prefix.
        """
        village_api = f"$JS.{self.domain}.API.CONSUMER.CREATE.{VILLAGE_STREAM}"
        return {
            "publish": {
                "allow": [
                    "$JSC.R.>",
                    "$JS.FC.>",
                    f"$JS.{HUB_DOMAIN}.API.CONSUMER.CREATE.{STREAM_NAME}.*.{self.subjects}",
                    f"{self._up_deliver}.>",
                    PRECHECK_SUBJECT,
                ]
            },
            "subscribe": {
                "allow": [
                    "$JSC.R.>",
                    "$JS.FC.>",
                    "$LDS.>",
                    village_api,
                    f"{village_api}.>",
                    f"{self._down_deliver}.>",
                    f"{self.inbox_prefix}.>",
                ]
            },
            "allow_responses": True,
        }


def _conf_value(value: object) -> str:
    """NATS configuration accepts JSON values; quoting keeps `$JS...` from being a variable."""
    return json.dumps(value)


def hub_config(
    *,
    store_dir: Path,
    edges: dict[Edge, str],
    district_password: str | None,
    host: str = "0.0.0.0",
    port: int = 4222,
    leaf_port: int = LEAF_PORT,
    http_port: int | None = None,
) -> str:
    """The district hub's nats-server configuration: JetStream in the hub domain, an
    account for slrt with the district's services and one leaf user per village edge.

    Without a district password the services connect without credentials (a laptop)."""
    users: list[dict[str, object]] = [
        {"user": edge.domain, "password": password, "permissions": edge.hub_permissions()}
        for edge, password in sorted(edges.items(), key=lambda item: item[0].code)
    ]
    district = {"user": "district", "password": district_password or "district"}
    system = {"user": "sys", "password": district_password or "sys"}
    slrt_users = json.dumps([district, *users], indent=2).replace("\n", "\n    ")
    lines = [
        f'server_name: "slrt-hub-{port}"',
        f'listen: "{host}:{port}"',
        *([f'http: "127.0.0.1:{http_port}"'] if http_port else []),
        f"jetstream {{ store_dir: {_conf_value(str(store_dir))}, domain: {HUB_DOMAIN} }}",
        # Villages use only the address in their own configuration (a VPN or gateway,
        # say): the hub does not advertise its internal ones for them to try instead.
        f'leafnodes {{ listen: "{host}:{leaf_port}", no_advertise: true, compression: s2_auto }}',
        "accounts {",
        "  SLRT {",
        "    jetstream: enabled",
        f"    users: {slrt_users}",
        "  }",
        f"  SYS {{ users: [{_conf_value(system)}] }}",
        "}",
        "system_account: SYS",
        *([] if district_password else ["no_auth_user: district"]),
        "max_payload: 1MB",
    ]
    return "\n".join(lines) + "\n"


def leaf_config(
    edge: Edge, *, store_dir: Path, hub_url: str, host: str = "127.0.0.1", port: int = 4222
) -> str:
    """A village edge's nats-server configuration: its own JetStream domain, a leaf
    connection to the hub carrying no core `slrt.>` traffic either way."""
    remote = {
        "url": hub_url,
        "deny_exports": [f"{SUBJECT_ROOT}.>"],
        "deny_imports": [f"{SUBJECT_ROOT}.>"],
        "compression": "s2_auto",
    }
    lines = [
        f'server_name: "slrt-{edge.domain}"',
        f'listen: "{host}:{port}"',
        f"jetstream {{ store_dir: {_conf_value(str(store_dir))}, domain: {edge.domain} }}",
        f"leafnodes {{ remotes: [{_conf_value(remote)}] }}",
        "max_payload: 1MB",
    ]
    return "\n".join(lines) + "\n"
