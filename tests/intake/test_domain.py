"""Intake's rules without a server: phone numbers, registration numbers, status order."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain import (
    CaseStatus,
    PhoneError,
    advance,
    normalise_phone,
    registration_number,
)

subscriber = st.text(alphabet="0123456789", min_size=8, max_size=11)


@given(subscriber=subscriber, prefix=st.sampled_from(["08", "628", "+628", "+62 8", "0 8"]))
def test_every_written_form_of_a_mobile_number_normalises_to_plus62(
    subscriber: str, prefix: str
) -> None:
    assert normalise_phone(prefix + subscriber) == f"+628{subscriber}"


@given(subscriber=subscriber, separator=st.sampled_from([" ", "-", ".", "(", ")"]))
def test_separators_are_ignored(subscriber: str, separator: str) -> None:
    written = "08" + separator.join(subscriber[i : i + 4] for i in range(0, len(subscriber), 4))
    assert normalise_phone(written) == f"+628{subscriber}"


@given(raw=st.text(max_size=20))
def test_anything_else_is_refused_or_gives_a_plausible_number(raw: str) -> None:
    try:
        phone = normalise_phone(raw)
    except PhoneError:
        return
    assert phone.startswith("+628") and phone[1:].isdigit() and 12 <= len(phone) <= 15


@pytest.mark.parametrize(
    "raw", ["0212345678", "081234", "08123456789012345", "+1 555 0100", "0812-abc-7890"]
)
def test_landlines_short_long_and_foreign_numbers_are_refused(raw: str) -> None:
    with pytest.raises(PhoneError):
        normalise_phone(raw)


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
