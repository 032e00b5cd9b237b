"""A village edge's rules, without a broker: whose cases an intake holds, what counts as
the district being reachable, which messages are uplink receipts."""

from uuid import uuid4

from nats.js.api import StreamSourceInfo

from services.intake.handlers import another_intakes
from services.intake.uplink import district_reachable, receipt_ids

A, B = "33.17.01.2001", "33.17.01.2002"


def test_a_village_edge_holds_only_the_cases_it_registered() -> None:
    assert another_intakes(desa=A, village=A, edge_desas=frozenset())


def test_the_district_leaves_edge_villages_cases_to_them() -> None:
    assert another_intakes(desa=A, village=None, edge_desas=frozenset({A}))
    # Any other desa's unknown case is one the district will apply later: it waits.
    assert not another_intakes(desa=B, village=None, edge_desas=frozenset({A}))


def _source(active_ns: int, error: dict[str, object] | None = None) -> StreamSourceInfo:
    return StreamSourceInfo(name="SLRT", lag=0, active=active_ns, error=error)


def test_the_district_is_reachable_while_its_heartbeats_arrive() -> None:
    assert district_reachable(_source(2_000_000_000))
    assert not district_reachable(_source(30_000_000_000))  # silent for half a minute
    assert not district_reachable(_source(-1))  # never heard from
    assert not district_reachable(_source(1_000, {"code": 404}))
    assert not district_reachable(None)


def test_only_messages_carrying_an_event_id_are_receipts() -> None:
    event_id = uuid4()
    headers = [{"Nats-Msg-Id": str(event_id)}, None, {"Nats-Msg-Id": "dlq:x:1"}, {}]
    assert receipt_ids(headers) == [event_id]
