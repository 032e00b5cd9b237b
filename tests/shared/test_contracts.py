"""Event contracts: subjects carry the area; parsing refuses what is not the expected event."""

import pytest

from shared.contracts import (
    CaseRegistered,
    CaseVerified,
    ContractError,
    parse_event,
)
from tests.events import case_registered


def test_subject_carries_type_and_area() -> None:
    assert case_registered().subject() == "slrt.case.registered.3317.331701.3317012001"
    assert CaseRegistered.filter_subject() == "slrt.case.registered.>"


def test_round_trip_keeps_every_field() -> None:
    event = case_registered()
    assert parse_event(event.model_dump_json().encode(), CaseRegistered) == event


def test_unknown_fields_are_ignored_so_adding_fields_is_compatible() -> None:
    raw = case_registered().model_dump(mode="json") | {"added_later": 1}
    import json

    assert parse_event(json.dumps(raw).encode(), CaseRegistered).registration_number


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json{", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"type": "case.verified", "version": 1}', "expected case.registered v1"),
        (b'{"type": "case.registered", "version": 2}', "got case.registered v2"),
        (b'{"type": "case.registered", "version": 1}', "invalid case.registered"),
    ],
)
def test_what_is_not_the_expected_event_is_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ContractError, match=reason):
        parse_event(raw, CaseRegistered)


def test_refusal_reason_does_not_echo_personal_data() -> None:
    raw = case_registered().model_dump(mode="json")
    raw["person"]["nik"] = "33170145078500019"  # 17 digits
    import json

    with pytest.raises(ContractError) as caught:
        parse_event(json.dumps(raw).encode(), CaseRegistered)
    assert "33170145078500019" not in str(caught.value)
    assert "person.nik" in str(caught.value)


def test_verified_carries_no_person() -> None:
    assert "person" not in CaseVerified.model_fields
