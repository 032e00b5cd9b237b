"""Notify's rules without a broker or database: routes, quiet hours, back-off, pacing,
template checks and the gateway payload."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from services.notify.channels import LocalFileTransport, Outgoing, dig, fill
from services.notify.dispatch import RateLimiter
from services.notify.domain import QuietHours, RetryPolicy, Route, citizen_route
from services.notify.messages import TemplateProblem, check_template
from shared.areas import WIB


def wib(hour: int, minute: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=WIB).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "released"),
    [
        (wib(12), wib(12)),  # daytime: at once
        (wib(20, 59), wib(20, 59)),
        (wib(21), wib(6, day=24)),  # quiet from 21:00 ...
        (wib(23, 30), wib(6, day=24)),
        (wib(0, 10), wib(6)),  # ... to 06:00 the same morning
        (wib(5, 59), wib(6)),
        (wib(6), wib(6)),
    ],
)
def test_quiet_hours_hold_non_urgent_messages_until_the_morning(
    now: datetime, released: datetime
) -> None:
    assert QuietHours().release(now, urgent=False) == released


def test_urgent_messages_and_switched_off_quiet_hours_go_at_once() -> None:
    night = wib(23)
    assert QuietHours().release(night, urgent=True) == night
    assert QuietHours(enabled=False).release(night, urgent=False) == night


def test_back_off_doubles_up_to_its_cap_then_gives_up() -> None:
    policy = RetryPolicy(max_attempts=4, base_seconds=30, cap_seconds=90)
    assert [policy.delay(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (30, 60, 90)]
    assert not policy.exhausted(3) and policy.exhausted(4)


def _route(contact: str, phone: str | None = "+628123", email: str | None = None) -> Route:
    return citizen_route(
        contact=contact,  # type: ignore[arg-type]
        phone=phone,
        email=email,
        desa_code="33.17.01.2001",
        opted_out=False,
    )


def test_the_citizens_channel_is_used_when_it_can_reach_them() -> None:
    assert _route("sms") == Route("citizen", "sms", "+628123")
    assert _route("whatsapp") == Route("citizen", "whatsapp", "+628123")
    assert _route("email", email="siti@example.id") == Route("citizen", "email", "siti@example.id")


@pytest.mark.parametrize(
    ("contact", "phone", "email"),
    [("sms", None, None), ("email", "+628123", None), ("none", "+628123", "a@b.id")],
)
def test_otherwise_the_village_office_is_told(
    contact: str, phone: str | None, email: str | None
) -> None:
    office = Route("village_office", "kotak_pesan", "kantor-desa:33.17.01.2001")
    assert _route(contact, phone, email) == office


def test_a_citizen_who_replied_stop_is_told_through_the_village_office() -> None:
    route = citizen_route(
        contact="whatsapp", phone="+628123", email=None, desa_code="33.17.01.2001", opted_out=True
    )
    assert route.recipient_kind == "village_office"


async def test_the_rate_limiter_spaces_sends_by_its_interval() -> None:
    waits: list[float] = []
    clock = [100.0]

    async def fake_sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        clock[0] += seconds

    limiter = RateLimiter(4, monotonic=lambda: clock[0], sleep=fake_sleep)
    for _ in range(3):
        await limiter.wait_turn()
    clock[0] += 10  # idle for a while: the next one may go at once
    await limiter.wait_turn()
    assert waits == [0.25, 0.25]


async def test_a_stalled_wake_up_does_not_let_the_next_sends_bunch() -> None:
    waits: list[float] = []
    clock = [100.0]

    async def stalling_sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        clock[0] += seconds + 2.0  # the event loop was busy elsewhere for two seconds

    limiter = RateLimiter(4, monotonic=lambda: clock[0], sleep=stalling_sleep)
    for _ in range(4):
        await limiter.wait_turn()
    # Each send after the first still waits a whole interval after the one before it
    # really went, not a slot booked before the stall (which would be long past).
    assert waits == [0.25, 0.25, 0.25]


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("SLRT: {{ nomer }}", "nomer"),  # a value this kind does not have
        ("SLRT: {{ nomor }", "templat tidak dapat dipakai"),
        ("{{ nomor.__class__.__mro__ }}", "templat tidak dapat dipakai"),  # the sandbox
        ("   ", "kosong"),
    ],
)
def test_a_template_that_cannot_render_is_refused_with_the_reason(
    template: str, problem: str
) -> None:
    with pytest.raises(TemplateProblem, match=problem):
        check_template("dirujuk", template)


def test_a_good_template_renders_its_example() -> None:
    example = check_template("dirujuk", "SLRT: kasus {{ nomor }} ke {{ tujuan }}.")
    assert example == "SLRT: kasus 3317012001-2611-0007 ke BPJS Kesehatan / Dinas Kesehatan."
    with pytest.raises(TemplateProblem, match="jenis pesan tidak dikenal"):
        check_template("tidak_ada", "x")


def test_the_gateway_payload_keeps_its_shape_and_json_safety() -> None:
    template = {"to": "{to}", "body": {"text": "{text}"}, "tags": ["slrt", "{reference}"], "n": 1}
    values = {"to": "+628", "text": 'kata "kutip"', "reference": "r-1"}
    assert fill(template, values) == {
        "to": "+628",
        "body": {"text": 'kata "kutip"'},
        "tags": ["slrt", "r-1"],
        "n": 1,
    }
    answer = {"data": {"message_id": 42}, "messages": [{"id": "wamid.1"}]}
    assert dig(answer, "data.message_id") == "42"
    assert dig(answer, "messages.0.id") == "wamid.1"
    assert dig(answer, "messages.3.id") is None and dig(answer, "data") is None
    assert dig(answer, "") is None


async def test_the_local_file_survives_a_line_cut_short_by_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    first, cut = uuid4(), uuid4()
    path.write_text(json.dumps({"id": str(first), "to": "+62", "body": "a"}) + "\n" + '{"id": "')
    transport = LocalFileTransport(path)
    await transport.send(Outgoing(reference=first, to="+62", body="a", subject="s"))
    await transport.send(Outgoing(reference=cut, to="+62", body="b", subject="s"))
    lines = path.read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines if line.endswith("}")]
    assert ids == [str(first), str(cut)]  # not written twice, and the cut one written whole
