"""Waiting in a test for something asynchronous to have happened, with a bound."""

import asyncio
from collections.abc import Awaitable, Callable


async def wait_until(
    check: Callable[[], Awaitable[object]], timeout: float = 10.0, every: float = 0.05
) -> None:
    """Await `check` every `every` seconds until it returns something truthy; fail the
    test if that takes longer than `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s")
        await asyncio.sleep(every)
