"""The dispatcher: sends queued messages through their channels, paced per gateway.

Each round claims due messages (committed before anything is sent, so a crash leaves them
`sending` with a lease), sends them, and records their outcomes as they come. A
message whose sender crashed is taken over when its lease ends: resent with the same
reference on a channel that de-duplicates on it, else reported failed, never sent twice.
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.notify import service
from services.notify.channels import DeliveryError, Outgoing, Transport
from services.notify.domain import QuietHours, RetryPolicy
from services.notify.models import Notification
from services.notify.service import Claim, Timing
from shared.cancellation import raise_if_cancelled
from shared.db import DATABASE_UNAVAILABLE, SessionFactory, until_database_answers
from shared.logging import get_logger

log = get_logger(__name__)

Clock = Callable[[], datetime]
LOST = (
    "status pengiriman tidak diketahui (layanan terhenti saat mengirim); "
    "periksa dulu sebelum mengirim ulang"
)


class RateLimiter:
    """At most `per_second` sends through one gateway: each waits for its slot."""

    def __init__(
        self,
        per_second: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / per_second
        self.monotonic = monotonic
        self.sleep = sleep
        self._next = float("-inf")
        self._lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        async with self._lock:  # one send at a time, in the order they asked
            wait = self._next - self.monotonic()
            if wait > 0:
                await self.sleep(wait)
            # The next slot counts from when this send really goes. Slots booked ahead all
            # fall due together after the event loop stalls, and the gateway sees a burst.
            self._next = self.monotonic() + self.interval


@dataclass(frozen=True)
class Outcome:
    """How one send went: the provider's id, or why it failed and whether to try again."""

    claim: Claim
    provider_id: str | None = None
    failure: str | None = None
    retryable: bool = False


@dataclass
class Dispatcher:
    """Claims due messages in rounds and sends each round in its own task.

    A round that takes longer than `patience` (a gateway that takes seconds to answer)
    goes on sending while the next round is claimed, so it holds up its own messages, not
    everyone's; at most `rounds` rounds send at once. Its outcomes are recorded in waves:
    what finished within `patience` together, the rest as it finishes. A round that is
    quicker (the usual case) ends before the next claim, which so finds more to take.
    """

    sessions: SessionFactory
    transports: dict[str, Transport]
    limiters: dict[str, RateLimiter]  # channels through a gateway with a pace to keep
    clock: Clock
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    quiet: QuietHours = field(default_factory=QuietHours)
    lease: timedelta = timedelta(seconds=60)
    batch: int = 20
    rounds: int = 4
    patience: float = 0.25
    poll_seconds: float = 1.0
    after_commit: Callable[[], None] = lambda: None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _unrecorded: int = 0  # rounds waiting for the database to record what they sent

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Dispatch until cancelled; a failing round is logged and the next one tries again."""
        free = asyncio.Semaphore(self.rounds)
        sending: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            sending.discard(task)
            free.release()

        try:
            while True:
                raise_if_cancelled()
                await free.acquire()
                self._wake.clear()  # a wake from here on is for the next claim
                claims = await self._claim()
                if not claims:
                    free.release()
                    await self._wait()
                    continue
                task = asyncio.create_task(self._send_round(claims))
                sending.add(task)
                task.add_done_callback(finished)
                await asyncio.wait({task}, timeout=self.patience)
        finally:
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)

    async def _wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.poll_seconds):
                await self._wake.wait()

    async def _claim(self) -> list[Claim]:
        """Claim what is due, committed before anything is sent. Nothing while a round
        waits to record what it sent: after an outage longer than the lease, this claim
        would take that round's messages over as if their sender had crashed."""
        if self._unrecorded:
            return []
        try:
            async with self.sessions() as session:
                claims = await service.claim_due(
                    session=session, now=self.clock(), lease=self.lease, limit=self.batch
                )
                await session.commit()
        except DATABASE_UNAVAILABLE as exc:  # a line each round, not a traceback
            log.warning("dispatch_round_waiting", error=type(exc).__name__)
            return []
        except Exception:
            log.exception("dispatch_round_failed")
            return []
        return claims

    async def _send_round(self, claims: list[Claim]) -> None:
        """Send a round's messages and record their outcomes in waves. A crash before an
        outcome is recorded leaves its message to be taken over after its lease, as above."""
        pending = {asyncio.create_task(self._send(claim)) for claim in claims}
        try:
            while pending:
                done, pending = await asyncio.wait(pending, timeout=self.patience)
                if done:
                    await self._record_wave([task.result() for task in done])
        finally:  # cancelled: the sends still under way stop with the round
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _record_wave(self, outcomes: list[Outcome]) -> None:
        """Record how the sends went. While the database is away they are kept here and
        recorded when it answers: left to the lease, a message sent through a gateway
        that does not de-duplicate would be reported lost though the citizen has it."""
        waiting = False
        try:
            while True:
                try:
                    await self._record_outcomes(outcomes)
                    break
                except Exception as exc:
                    if isinstance(exc, DATABASE_UNAVAILABLE):
                        if not waiting:  # the claims stop until this round is recorded
                            waiting = True
                            self._unrecorded += 1
                        if await until_database_answers(self.sessions, failure=exc):
                            continue
                    log.exception("dispatch_record_failed")  # `sending` till the lease ends
                    return
        finally:
            if waiting:
                self._unrecorded -= 1
        self.after_commit()
        self.wake()  # a case's next message may have waited for one of these

    async def _record_outcomes(self, outcomes: list[Outcome]) -> None:
        async with self.sessions() as session:
            held = await service.still_claimed(
                session=session, claims=[outcome.claim for outcome in outcomes]
            )
            for outcome in outcomes:
                n = held.get(outcome.claim.notification.id)
                if n is not None:  # else another dispatcher took it over meanwhile
                    self._record(session, n, outcome)
            await session.commit()

    async def _send(self, claim: Claim) -> Outcome:
        n = claim.notification
        transport = self.transports[n.channel]
        if claim.recovered and not transport.idempotent:
            return Outcome(claim, failure=LOST)
        limiter = self.limiters.get(n.channel)
        if limiter is not None:
            await limiter.wait_turn()
        message = Outgoing(reference=n.id, to=n.to, body=n.body, subject=n.subject)
        try:
            provider_id = await transport.send(message)
        except DeliveryError as exc:
            log.warning("notification_not_delivered", reason=exc.reason, attempt=n.attempts)
            return Outcome(claim, failure=exc.reason, retryable=exc.retryable)
        except Exception as exc:  # a channel's own bug: retried like an outage, and logged
            log.exception("notification_channel_error")
            return Outcome(claim, failure=type(exc).__name__, retryable=True)
        log.info("notification_sent", channel=n.channel, kind=n.kind, attempt=n.attempts)
        return Outcome(claim, provider_id=provider_id)

    def _record(self, session: AsyncSession, n: Notification, outcome: Outcome) -> None:
        if outcome.failure is None:
            service.record_sent(
                session=session, n=n, provider_id=outcome.provider_id, now=self.clock()
            )
            return
        service.record_failure(
            session=session,
            n=n,
            reason=outcome.failure,
            retryable=outcome.retryable,
            policy=self.policy,
            timing=Timing(self.clock(), self.quiet),
        )
