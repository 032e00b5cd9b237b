"""A real HTTP gateway for notify's tests, served by uvicorn on a free port: an SMS gateway
and a WhatsApp Cloud API endpoint that fail, delay and refuse on purpose.

Like a real SMS gateway told a client reference, it accepts a message once per reference
and answers a resend with the id it gave the first time.
"""

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from slrt.natsserver import free_port


@dataclass
class Behaviour:
    fail_first: int = 0  # answer 500 to this many requests first
    status: int | None = None  # answer every request with this status
    delay: float = 0.0  # seconds before answering
    refuse_numbers: set[str] = field(default_factory=set)  # 400 for these recipients


@dataclass
class Received:
    at: float
    path: str
    payload: dict[str, Any]
    authorization: str


class Gateway:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests: list[Received] = []
        self.accepted: dict[str, str] = {}  # reference (or request number) -> message id
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = self._app()

    def delivered(self) -> list[dict[str, Any]]:
        """The payloads that reached a phone: one per accepted reference."""
        firsts: dict[str, dict[str, Any]] = {}
        for request in self.requests:
            ref = _reference(request.payload)
            if ref in self.accepted and ref not in firsts:
                firsts[ref] = request.payload
        return list(firsts.values())

    def _app(self) -> FastAPI:
        app = FastAPI()

        async def receive(request: Request) -> JSONResponse:
            payload = await request.json()
            self.requests.append(
                Received(
                    time.monotonic(),
                    request.url.path,
                    payload,
                    request.headers.get("authorization", ""),
                )
            )
            behaviour = self.behaviour
            if behaviour.delay:
                await asyncio.sleep(behaviour.delay)
            if behaviour.fail_first > 0:
                behaviour.fail_first -= 1
                return JSONResponse({"error": "sedang sibuk"}, status_code=500)
            if behaviour.status is not None:
                return JSONResponse({"error": "status paksa"}, status_code=behaviour.status)
            if _recipient(payload) in behaviour.refuse_numbers:
                return JSONResponse({"error": "nomor tidak valid"}, status_code=400)
            ref = _reference(payload) or f"request-{len(self.requests)}"
            message_id = self.accepted.setdefault(ref, f"gw-{len(self.accepted) + 1}")
            if request.url.path.endswith("/messages"):
                return JSONResponse({"messages": [{"id": f"wamid.{message_id}"}]})
            return JSONResponse({"status": "queued", "data": {"message_id": message_id}})

        app.post("/sms/send")(receive)
        app.post("/v21.0/{phone_number_id}/messages")(receive)
        return app


def _reference(payload: dict[str, Any]) -> str:
    return str(payload.get("ref") or payload.get("biz_opaque_callback_data") or "")


def _recipient(payload: dict[str, Any]) -> str:
    return str(payload.get("msisdn") or payload.get("to") or "")


@contextmanager
def running_gateway() -> Iterator[Gateway]:
    gateway = Gateway()
    config = uvicorn.Config(gateway.app, host="127.0.0.1", port=gateway.port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test gateway did not start")
        time.sleep(0.02)
    try:
        yield gateway
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# The payload shape this gateway expects, as a district would configure it.
SMS_PAYLOAD = '{"msisdn": "{to}", "text": "{text}", "ref": "{reference}", "from": "{sender}"}'
SMS_ID_FIELD = "data.message_id"
# A gateway that is not told our reference cannot recognise a resend.
PAYLOAD_WITHOUT_REFERENCE = '{"msisdn": "{to}", "text": "{text}"}'
