"""Delivery channels. The embedded default writes each message to a file: the demo's phone.

SMS, WhatsApp and e-mail gateways come with the notify issue, behind the same `deliver`.
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import anyio


class Channel(Protocol):
    name: str

    async def deliver(self, *, to: str, body: str) -> None: ...


class LocalFileChannel:
    """Appends one JSON line per message to a file, so every message can be read back."""

    name = "lokal"

    def __init__(self, path: Path) -> None:
        self.path = path

    async def deliver(self, *, to: str, body: str) -> None:
        line = json.dumps({"at": datetime.now(UTC).isoformat(), "to": to, "body": body})
        await anyio.Path(self.path.parent).mkdir(parents=True, exist_ok=True)
        async with await anyio.open_file(self.path, "a", encoding="utf-8") as handle:
            await handle.write(line + "\n")
