"""SMS segment rules (GSM 03.38) and how replies are read."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notify.domain import reply_intent
from services.notify.messages import (
    GSM7_BASIC,
    KINDS,
    SAMPLE_VALUES,
    SmsParts,
    render,
    sms_parts,
)
from shared.contracts import Category
from tests.events import case_registered
from tests.notify.texts import built_in_text


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters take two septets
        ("[" * 81, "GSM-7", 162, 2),
        ("ĝ" * 70, "UCS-2", 70, 1),  # one character outside GSM-7 makes the whole text UCS-2
        ("a" * 69 + "ĝ", "UCS-2", 70, 1),
        ("a" * 70 + "ĝ", "UCS-2", 71, 2),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
        ("", "GSM-7", 0, 1),
    ],
)
def test_segments(text: str, encoding: str, units: int, segments: int) -> None:
    assert sms_parts(text) == SmsParts(encoding, units, segments)


@given(st.text(alphabet=sorted(GSM7_BASIC), max_size=1000))
def test_gsm_segments_never_exceed_their_capacity(text: str) -> None:
    parts = sms_parts(text)
    capacity = 160 if parts.segments == 1 else 153 * parts.segments
    assert parts.units <= capacity
    assert parts.segments == 1 or parts.units > 153 * (parts.segments - 1)


def test_built_in_messages_fit_in_two_segments() -> None:
    event = case_registered(category=Category.PKH, missing_documents=["KTP", "KK", "SKTM"])
    text = built_in_text(event)
    assert text is not None and "Dokumen yang masih kurang: KTP, KK, SKTM" in text
    parts = sms_parts(text)
    assert parts.encoding == "GSM-7" and parts.segments <= 2


def test_without_missing_documents_the_registration_says_nothing_of_them() -> None:
    text = built_in_text(case_registered(category=Category.PKH))
    assert text is not None and "Dokumen" not in text and "  " not in text


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_built_in_text_renders_with_its_values(kind: str) -> None:
    spec = KINDS[kind]
    text = render(spec.default, {name: SAMPLE_VALUES[name] for name in spec.values})
    assert text.startswith("SLRT") and "{" not in text


@pytest.mark.parametrize(
    ("reply", "intent"),
    [
        ("STOP", "opt_out"),
        (" berhenti ", "opt_out"),
        ("Berhenti.", "opt_out"),
        ("stop kirim sms", "opt_out"),
        ("MULAI", "opt_in"),
        ("start", "opt_in"),
        ("terima kasih pak", None),
        ("", None),
        ("STOPP", None),
    ],
)
def test_replies(reply: str, intent: str | None) -> None:
    assert reply_intent(reply) == intent
