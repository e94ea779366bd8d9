"""Injectable time and ids, so lease expiry, retries and run ids are testable without waiting."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for timeouts and waits)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._now.timestamp()

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


def new_run_id(clock: Clock) -> str:
    """``r<yyyymmdd>-<hhmmss>-<6 hex>``: sortable by creation time, unique enough per machine."""
    return f"r{clock.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
