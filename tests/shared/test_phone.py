"""Indonesian mobile numbers in every way people write them normalise to +628..."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.identity import PhoneError, normalise_phone

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
