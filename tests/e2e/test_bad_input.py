"""Bad input at scale, against the four services as real processes: schemathesis throws
generated requests at every operation of every service's OpenAPI document (no 5xx, every
4xx says why), and garbage and wrong-version events on every subscribed subject land in
the dead-letter subject while the pipeline keeps working."""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import nats
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from shared.areas import DesaPath
from shared.topology import SUBSCRIPTIONS
from slrt.deadletter import read_dead_letters
from slrt.services import SERVICE_NAMES
from tests.conftest import PostgresDatabases, database_factory
from tests.e2e.conftest import Stack, running_services
from tests.events import envelope

pytestmark = pytest.mark.e2e

# Who signs in to reach each service's operations (verval's API needs no sign-in).
FUZZ_USERS = {"intake": "sekretariat", "referral": "kepala", "notify": "kepala"}
# Operations that would end the fuzzer's own session.
LEFT_OUT = {("POST", "/api/logout")}
EXAMPLES_PER_OPERATION = 20
GATEWAY = "gateway-secret"


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_databases: PostgresDatabases | None
) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("bad-input")
    databases = database_factory("sqlite", var_dir, postgres_databases)
    # The gateways' webhooks configured, so they are fuzzed rather than answering 503.
    env = {
        "SLRT_NOTIFY_GATEWAY_TOKEN": GATEWAY,
        "SLRT_NOTIFY_WHATSAPP_APP_SECRET": "meta-app-secret",
        "SLRT_NOTIFY_WHATSAPP_VERIFY_TOKEN": "verify-me",
    }
    with running_services(list(SERVICE_NAMES), var_dir, databases, env) as (nats_, services):
        yield Stack(nats_, services, var_dir)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_no_operation_answers_5xx_and_every_4xx_says_why(stack: Stack, service: str) -> None:
    url = stack.url(service)
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    user = FUZZ_USERS.get(service)
    headers = stack.auth(user, service=service) if user else {}
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in LEFT_OUT:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def probe(case: Any) -> None:
            response = case.call(base_url=url, headers=headers | {"X-Gateway-Token": GATEWAY})
            problem = _problem(response)
            if problem:
                problems.append(f"{case.method} {case.formatted_path}: {problem}")

        probe()
    assert problems == [], "\n".join(problems[:20])


def _problem(response: Any) -> str | None:
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:300]}"
    if 400 <= response.status_code < 500:
        try:
            message = response.json().get("message")
        except (ValueError, AttributeError):
            message = None
        if not message:
            return f"{response.status_code} without a message: {response.text[:300]}"
    return None


def _wrong_version(event_type: str) -> bytes:
    fields = envelope()
    body = {
        "type": event_type,
        "version": 99,
        "event_id": "6f1d7a1e-0000-4000-8000-000000000000",
        "case_id": str(fields["case_id"]),
        "trace_id": fields["trace_id"],
    }
    return json.dumps(body).encode()


def test_garbage_and_wrong_versions_on_every_subscribed_subject_are_dead_lettered(
    stack: Stack,
) -> None:
    tokens = DesaPath.of("33.17.01.2001").subject_tokens()
    event_types = sorted({sub.event.TYPE for sub in SUBSCRIPTIONS})

    async def publish_bad() -> None:
        nc = await nats.connect(stack.nats.url)
        js = nc.jetstream()
        for n, event_type in enumerate(event_types):
            subject = f"slrt.{event_type}.{tokens}"
            await js.publish(subject, b"\x00garbage", headers={"Nats-Msg-Id": f"garbage-{n}"})
            await js.publish(
                subject, _wrong_version(event_type), headers={"Nats-Msg-Id": f"v99-{n}"}
            )
        await nc.close()

    asyncio.run(publish_bad())
    expected = {sub.durable for sub in SUBSCRIPTIONS}

    def dead_lettered() -> dict[str, list[str]]:
        reasons: dict[str, list[str]] = {}
        for service in SERVICE_NAMES:
            for letter in asyncio.run(read_dead_letters(stack.nats.url, service)):
                reasons.setdefault(letter.consumer, []).append(letter.reason)
        return reasons

    reasons: dict[str, list[str]] = {}
    for _ in range(300):
        reasons = dead_lettered()
        if set(reasons) >= expected and all(len(reasons[d]) >= 2 for d in expected):
            break
        asyncio.run(asyncio.sleep(0.2))
    for durable in expected:
        found = reasons.get(durable, [])
        assert any("not JSON" in r for r in found), (durable, found)
        assert any("v99" in r for r in found), (durable, found)

    # The consumers still work: a real case goes all the way to its notification.
    body = {
        "nik": "3317014507850061",
        "kk": "3317010203040005",
        "name": "Siti Aminah",
        "birth_date": "1985-07-05",
        "sex": "P",
        "desa_code": "33.17.01.2001",
        "address": "Dukuh Krajan 12",
        "rt": "3",
        "rw": "1",
        "phone": "0812 3456 7890",
        "category": "pkh",
        "description": "PKH berhenti sejak tahun lalu",
    }
    created = httpx.post(
        f"{stack.url('intake')}/api/cases", json=body, headers=stack.auth(), timeout=10
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    for _ in range(300):
        told = httpx.get(
            f"{stack.url('notify')}/api/notifications",
            params={"case_id": case_id},
            headers=stack.auth("kepala", service="notify"),
            timeout=10,
        ).json()
        if any(n["status"] == "sent" for n in told):
            break
        asyncio.run(asyncio.sleep(0.2))
    assert any(n["status"] == "sent" for n in told)
