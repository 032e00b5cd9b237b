"""Delivery channels: the SMS gateway, WhatsApp Business Cloud API, e-mail over SMTP, and the
embedded default that writes each message to a file (the demo's phone).

Each takes one message with its reference (the notification id) and either returns what
the provider called it or raises DeliveryError saying whether a retry can help.
"""

import asyncio
import json
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import anyio
import httpx


@dataclass(frozen=True)
class Outgoing:
    reference: UUID  # the notification id; gateways that de-duplicate on it make resends safe
    to: str
    body: str
    subject: str


class DeliveryError(Exception):
    """The channel did not take the message; `retryable` says whether trying again may work."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Transport(Protocol):
    name: str
    # A resend with the same reference reaches the person at most once. Only such channels
    # are retried after a crash left a message's outcome unknown.
    idempotent: bool

    async def send(self, message: Outgoing) -> str | None:
        """Deliver; the provider's message id if it gives one."""
        ...


class LocalFileTransport:
    """Appends one JSON line per message; a message already in the file is not written twice."""

    name = "lokal"
    idempotent = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self._written: set[str] | None = None

    async def send(self, message: Outgoing) -> str | None:
        written = await self._references()
        reference = str(message.reference)
        if reference not in written:
            line = {
                "id": reference,
                "at": datetime.now(UTC).isoformat(),
                "to": message.to,
                "subject": message.subject,
                "body": message.body,
            }
            # In the loop, not a worker thread: appending a line takes about 6 µs of CPU,
            # the hop to a thread and back about 100 µs (bench/RESULTS.md, 2026-11-24).
            self._append(json.dumps(line) + "\n")
            written.add(reference)
        return reference

    def _append(self, text: str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)

    async def _references(self) -> set[str]:
        if self._written is None:
            await anyio.Path(self.path.parent).mkdir(parents=True, exist_ok=True)
            file = anyio.Path(self.path)
            text = await file.read_text(encoding="utf-8") if await file.exists() else ""
            if text and not text.endswith("\n"):
                # A crash cut the last line short: end it, so the next one starts clean.
                self._append("\n")
            self._written = {ref for line in text.splitlines() if (ref := _reference(line))}
        return self._written


def _reference(line: str) -> str | None:
    """The id of a written message; None for a line a crash cut short."""
    try:
        return str(json.loads(line)["id"])
    except (ValueError, KeyError, TypeError):
        return None


async def post_json(
    client: httpx.AsyncClient, url: str, payload: Any, headers: dict[str, str]
) -> Any:
    """POST and return the JSON answer; a timeout, a network error, 429 or 5xx may pass
    if tried again, any other refusal will not."""
    try:
        response = await client.post(url, json=payload, headers=headers)
    except httpx.TimeoutException:
        raise DeliveryError("gateway tidak menjawab (timeout)", retryable=True) from None
    except httpx.TransportError as exc:
        raise DeliveryError(
            f"gateway tidak terjangkau: {type(exc).__name__}", retryable=True
        ) from None
    if response.status_code == 429 or response.status_code >= 500:
        raise DeliveryError(f"gateway menjawab {response.status_code}", retryable=True)
    if response.status_code >= 400:
        raise DeliveryError(
            f"gateway menolak ({response.status_code}): {response.text[:200]}", retryable=False
        )
    try:
        return response.json()
    except ValueError:
        return {}


def fill(template: Any, values: dict[str, str]) -> Any:
    """The payload template with `{to}`, `{text}`, `{reference}` ... replaced inside every
    string, keeping the JSON's shape (so a text with quotes stays valid JSON)."""
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, values) for value in template]
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
    return template


def dig(answer: Any, path: str) -> str | None:
    """The value at a dotted path (`messages.0.id`) of a JSON answer, if there is one."""
    for step in path.split(".") if path else ():
        if isinstance(answer, list) and step.isdigit() and int(step) < len(answer):
            answer = answer[int(step)]
        elif isinstance(answer, dict) and step in answer:
            answer = answer[step]
        else:
            return None
    return None if answer is None or isinstance(answer, dict | list) else str(answer)


class HttpSmsGateway:
    """An SMS gateway over HTTP: the URL, credentials and JSON payload shape are settings,
    since every Indonesian gateway has its own."""

    name = "sms"

    def __init__(
        self,
        *,
        url: str,
        payload: str,
        token: str | None,
        id_field: str,
        sender: str,
        timeout: float,
    ) -> None:
        self.url = url
        self.payload = json.loads(payload)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.id_field = id_field
        self.sender = sender
        # Only a gateway told our reference can recognise a resend of the same message.
        self.idempotent = "{reference}" in payload
        self.client = httpx.AsyncClient(timeout=timeout)

    async def send(self, message: Outgoing) -> str | None:
        values = {
            "to": message.to,
            "text": message.body,
            "reference": str(message.reference),
            "sender": self.sender,
        }
        answer = await post_json(self.client, self.url, fill(self.payload, values), self.headers)
        return dig(answer, self.id_field)


class WhatsAppCloud:
    """WhatsApp Business Cloud API: POST {base}/{phone number id}/messages with a text body.

    It has no idempotency key, so a message whose outcome a crash left unknown is not resent
    (it is reported as failed for the secretariat to check)."""

    name = "whatsapp"
    idempotent = False

    def __init__(self, *, base_url: str, phone_number_id: str, token: str, timeout: float) -> None:
        self.url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client = httpx.AsyncClient(timeout=timeout)

    async def send(self, message: Outgoing) -> str | None:
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.to.lstrip("+"),
            "type": "text",
            "text": {"preview_url": False, "body": message.body},
            "biz_opaque_callback_data": str(message.reference),
        }
        answer = await post_json(self.client, self.url, payload, self.headers)
        return dig(answer, "messages.0.id")


class SmtpChannel:
    """E-mail over SMTP (STARTTLS and login when configured). The Message-ID carries the
    reference, but a mail server does not refuse a second copy, so no resend after a crash."""

    name = "email"
    idempotent = False

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None,
        password: str | None,
        starttls: bool,
        timeout: float,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls
        self.timeout = timeout

    async def send(self, message: Outgoing) -> str | None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{message.reference}@slrt>"
        mail.set_content(message.body)
        try:
            await asyncio.to_thread(self._send, mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError("alamat e-mail ditolak server", retryable=False) from exc
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(
                f"server e-mail menjawab {exc.smtp_code}", retryable=not permanent
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"server e-mail tidak terjangkau: {type(exc).__name__}", retryable=True
            ) from exc
        return str(mail["Message-ID"])

    def _send(self, mail: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username and self.password:
                smtp.login(self.username, self.password)
            smtp.send_message(mail)
