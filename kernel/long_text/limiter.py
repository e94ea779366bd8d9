"""Adaptive concurrency for the chunk loop: at most ``capacity`` requests in flight.

Rate limiting halves the capacity (never below 1); every ``recover_after`` successes in a row give one
slot back, up to the configured maximum. This is additive-increase / multiplicative-decrease, the same
shape TCP uses, so a rate-limited endpoint is backed off quickly and re-probed slowly.
"""

from __future__ import annotations

import asyncio


class AdaptiveLimiter:
    def __init__(self, maximum: int, *, recover_after: int = 4) -> None:
        if maximum < 1:
            raise ValueError("maximum concurrency must be at least 1")
        self.maximum = maximum
        self.capacity = maximum
        self.recover_after = recover_after
        self.in_flight = 0
        self.peak_in_flight = 0
        self.reductions = 0
        self._successes = 0
        self._condition = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._condition:
            await self._condition.wait_for(lambda: self.in_flight < self.capacity)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    async def release(self) -> None:
        async with self._condition:
            self.in_flight -= 1
            self._condition.notify_all()

    async def __aenter__(self) -> AdaptiveLimiter:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()

    def rate_limited(self) -> None:
        new_capacity = max(1, self.capacity // 2)
        if new_capacity < self.capacity:
            self.reductions += 1
        self.capacity = new_capacity
        self._successes = 0

    def succeeded(self) -> None:
        self._successes += 1
        if self._successes >= self.recover_after and self.capacity < self.maximum:
            self.capacity += 1
            self._successes = 0
