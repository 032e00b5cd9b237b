"""Intake's rules without a server: registration numbers and status order."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain import (
    CaseStatus,
    advance,
    registration_number,
)


def test_registration_number_is_desa_month_sequence() -> None:
    assert registration_number("33.17.14.2008", date(2026, 11, 23), 7) == "3317142008-2611-0007"


@given(st.lists(st.sampled_from(list(CaseStatus)), min_size=1))
def test_status_never_moves_back_whatever_order_events_arrive(reports: list[CaseStatus]) -> None:
    status = CaseStatus.REGISTERED
    for reported in reports:
        new = advance(status, reported)
        assert list(CaseStatus).index(new) >= list(CaseStatus).index(status)
        status = new
    assert status == max([*reports, CaseStatus.REGISTERED], key=list(CaseStatus).index)
