"""The referral state machine: no sequence of commands reaches an invalid state."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.referral.lifecycle import (
    AGENCY_COMMANDS,
    ENDED,
    MOVES,
    Command,
    NotServedReason,
    Order,
    RejectionReason,
    Status,
    commands_for,
    decide,
)
from shared.auth import Principal, Role
from shared.errors import Refusal

orders = st.builds(
    Order,
    command=st.sampled_from(Command),
    note=st.sampled_from(["", "alasan tertulis"]),
    rejection=st.none() | st.sampled_from(RejectionReason),
    served=st.none() | st.booleans(),
    not_served=st.none() | st.sampled_from(NotServedReason),
    consent_override=st.booleans(),
)


def _complete(order: Order, consent: bool) -> bool:
    """Whether the order carries what its command needs, written independently of decide."""
    note = bool(order.note)
    needs = {
        Command.SEND: consent or (order.consent_override and note),
        Command.REJECT: order.rejection is not None
        and (order.rejection is not RejectionReason.OTHER or note),
        Command.COMPLETE: order.served is True
        or (order.served is False and order.not_served is not None),
        Command.CANCEL: note,
        Command.REOPEN: note,
        Command.FAIL: note,
    }
    return bool(needs.get(order.command, True))


@given(st.lists(orders, max_size=40), st.booleans())
def test_any_sequence_moves_only_along_the_table(sequence: list[Order], consent: bool) -> None:
    status = Status.CREATED
    for order in sequence:
        try:
            moved = decide(status, order, consent=consent)
        except Refusal as refusal:
            assert refusal.status_code in (409, 422)
            assert (status, order.command) not in MOVES or not _complete(order, consent)
            continue
        assert MOVES[status, order.command] is moved
        assert _complete(order, consent)
        status = moved
    assert status in Status


@pytest.mark.parametrize("ended", sorted(ENDED))
def test_an_ended_referral_only_reopens(ended: Status) -> None:
    assert {command for (source, command) in MOVES if source is ended} == {Command.REOPEN}


def test_every_status_is_reachable_from_created() -> None:
    seen, frontier = {Status.CREATED}, [Status.CREATED]
    while frontier:
        source = frontier.pop()
        for (start, _), target in MOVES.items():
            if start is source and target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(Status)


@given(st.sampled_from(Status), st.sampled_from(["bpjs_dinkes", "pkh"]))
def test_a_liaison_is_offered_only_their_agencys_answers(status: Status, destination: str) -> None:
    liaison = Principal("penghubung", Role.LIAISON, "33.17", agency="bpjs_dinkes")
    offered = commands_for(liaison, status, destination=destination)
    assert set(offered) <= AGENCY_COMMANDS
    if destination != liaison.agency:
        assert offered == []
