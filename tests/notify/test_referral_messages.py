"""What a citizen is told as their referral moves: in plain words, with what to do next."""

from uuid import uuid4

import pytest

from services.notify.messages import sms_parts
from shared.contracts import CaseReopened
from tests.events import case_closed, envelope, referral_updated
from tests.notify.texts import built_in_text

REG = "3317012001-2611-0007"


def _told(**changes: object) -> str | None:
    status = str(changes.pop("status", "accepted"))
    return built_in_text(referral_updated(uuid4(), status, **changes), REG)


def test_a_rejection_to_correct_says_what_to_do_at_the_village() -> None:
    text = _told(
        status="rejected",
        rejection_label="Data tidak sesuai dengan Dukcapil",
        returns_to_village=True,
    )
    assert text is not None
    assert "ditolak: Data tidak sesuai dengan Dukcapil" in text
    assert "kantor desa untuk memperbaiki data" in text


def test_the_ready_card_says_where_what_to_bring_and_in_person() -> None:
    text = _told(command="card", status="in_service", card_stage="ready_for_collection")
    assert text is not None
    assert "kantor BPJS Kesehatan" in text and "Datang sendiri" in text and "KTP" in text


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"status": "sent"}, "sudah dikirim ke BPJS"),
        ({"status": "accepted"}, "diterima oleh BPJS"),
        ({"status": "completed", "served": True}, "selesai"),
        ({"status": "completed", "served": False}, "tidak dapat dilayani"),
        ({"status": "cancelled"}, "dibatalkan"),
    ],
)
def test_each_step_the_citizen_should_hear(changes: dict[str, object], expected: str) -> None:
    text = _told(**changes)
    assert text is not None and expected in text and REG in text
    assert sms_parts(text).encoding == "GSM-7"


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "in_service", "command": "start"},
        {"status": "created", "command": "reopen"},
        {"status": "completed", "command": "card", "card_stage": "collected"},
    ],
)
def test_internal_steps_are_not_sent_to_the_citizen(changes: dict[str, object]) -> None:
    assert _told(**changes) is None


def test_closing_names_the_outcome() -> None:
    text = built_in_text(case_closed(uuid4()), REG)
    assert text is not None and "selesai" in text and "dilayani" in text


def test_a_reopened_case_tells_the_citizen_the_village_will_call() -> None:
    reopened = CaseReopened(
        **envelope(uuid4()), registration_number=REG, reason="kartu belum diterima"
    )
    text = built_in_text(reopened, REG)
    assert text is not None and "dibuka kembali" in text and "kartu belum diterima" in text
