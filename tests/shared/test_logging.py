"""No NIK, KK or phone number reaches a log line in clear, whichever logger wrote it."""

import contextlib
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from shared.logging import (
    MASK_ID,
    MASK_PHONE,
    configure_logging,
    get_logger,
    mask_personal_numbers,
    new_trace_id,
)


@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_every_sixteen_digit_number_is_masked(number: str) -> None:
    assert number not in mask_personal_numbers(f"nik={number}, lagi")


@pytest.mark.parametrize(
    "phone",
    ["081234567890", "+6281234567890", "6281234567890", "0812-3456-7890", "+62 812 3456 7890"],
)
def test_phone_numbers_in_their_usual_forms_are_masked(phone: str) -> None:
    masked = mask_personal_numbers(f"hubungi {phone} segera")
    assert masked == f"hubungi {MASK_PHONE} segera"


@pytest.mark.parametrize(
    "an_id", ["a0812345-6789-4012-8345-678901234567", "c081234567894d12abcdef0123456789"]
)
def test_ids_stay_readable_where_their_digits_look_like_a_phone_number(an_id: str) -> None:
    not_an_id = "x" + an_id[1:]  # its digits as they are, and no longer an id
    assert mask_personal_numbers(not_an_id) != not_an_id
    text = f"recipient of case {an_id} not known yet; hubungi 081234567890"
    assert mask_personal_numbers(text) == text.replace("081234567890", MASK_PHONE)


def test_new_trace_ids_are_never_masked() -> None:
    # Random hex ids hold a NIK- or phone-shaped run of digits about once in 550: of
    # 3,000, some 5 would be masked if the masking did not know them for ids.
    ids = [new_trace_id() for _ in range(3000)]
    assert all(mask_personal_numbers(i) == i and len(i) == 32 for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_run_of_digits_shaped_like_an_id_is_still_masked() -> None:
    # No letter: not an id the services made, so whatever it holds is masked as ever.
    text = "08123456-7890-4123-8123-456789012345"
    assert mask_personal_numbers(text).startswith(MASK_PHONE)


def test_short_numbers_and_registration_numbers_stay_readable() -> None:
    text = "kasus 3317012001-2611-0007, RT 003, 2026"
    assert mask_personal_numbers(text) == text


@contextlib.contextmanager
def logging_configured(*, json: bool) -> Iterator[None]:
    configure_logging(service="test", level="INFO", json=json)
    try:
        yield
    finally:
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


def log_a_failure_naming_a_nik() -> None:
    try:
        raise ValueError("NIK 3317014507850001 tidak cocok")
    except ValueError:
        get_logger("t").exception("failed")


def test_structlog_and_stdlib_lines_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    with logging_configured(json=True):
        get_logger("t").info("registered", nik="3317014507850001", detail={"kk": 3317010101010001})
        logging.getLogger("uvicorn.error").warning(
            "bad input %s from %s", "3317014507850001", "081234567890"
        )
        log_a_failure_naming_a_nik()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    text = "\n".join(json.dumps(line) for line in lines)
    assert "3317014507850001" not in text and "3317010101010001" not in text
    assert "081234567890" not in text
    assert lines[0]["nik"] == MASK_ID and lines[0]["service"] == "test"
    assert lines[1]["event"] == f"bad input {MASK_ID} from {MASK_PHONE}"
    assert MASK_ID in lines[2]["exception"]


def test_console_lines_show_exceptions_masked_without_a_warning(
    capsys: pytest.CaptureFixture[str], recwarn: pytest.WarningsRecorder
) -> None:
    with logging_configured(json=False):
        log_a_failure_naming_a_nik()
    text = capsys.readouterr().err
    assert "ValueError" in text and f"NIK {MASK_ID} tidak cocok" in text
    assert "3317014507850001" not in text
    assert not [w for w in recwarn if "format_exc_info" in str(w.message)]
