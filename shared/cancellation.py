"""Background loops that run until their task is cancelled, and stop when it is.

On Python 3.11, `asyncio.wait_for` returns its result instead of raising CancelledError
when what it waited for finished in the same moment the task was cancelled. nats-py waits
that way for every message, reply and publish acknowledgement. A loop that catches a
timeout or an error and goes round again would then never stop, and a service's shutdown
(or a test's) would wait for it for ever. The cancellation request is still counted on the
task, so each turn of such a loop asks first."""

import asyncio


def raise_if_cancelled() -> None:
    """Raise CancelledError if this task has been asked to stop, even if the request was
    swallowed on the way."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
