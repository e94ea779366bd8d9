"""Politeness towards the sites yt-dlp talks to: a per-host request rate shared by every process, one shared
back-off after a 429, and a block after a bot check.

State lives in ``<YTT_HOME>/hosts/<host>.json``, one small file per host, changed only under an exclusive
``fcntl`` lock of ``<host>.lock`` beside it. Every process of one YTT_HOME (batch items in a process pool, Celery
workers on machines sharing the folder, a watch folder, single runs) therefore shares one schedule per host.

Invariants:
- ``acquire`` reserves the next free slot under the lock and sleeps outside it: two requests to one host start
  at least ``1 / rate`` seconds apart (stretched by up to ``jitter`` of that, at random), whoever sends them.
  A back-off that begins while a caller sleeps makes it reserve again, after the back-off.
- A 429 (``back_off``) pushes the next slot of that host past the server's ``Retry-After`` (or a default) for
  everybody else (the caller that got it waits with its own retry policy), and doubles the gap (up to 8x) until
  ``SLOWDOWN_RECOVERY_SECONDS`` pass without another 429.
- A bot check or sign-in wall (``block``) makes ``acquire`` refuse at once with the classified code and its
  advice, without sending anything, until ``host_block_minutes`` pass or the network identity (cookies,
  proxy) changes, or ``unblock`` is called (resuming a batch does).
- Nothing secret is stored: the identity is a digest of the cookie and proxy settings.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..config import Settings
from ..task_runtime.store import atomic_write_json
from .ytdlp_errors import DownloadError

HOSTS_DIR = "hosts"
MAX_SLOWDOWN = 8.0
SLOWDOWN_RECOVERY_SECONDS = 60.0
DEFAULT_BACKOFF_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 600.0
# Classified yt-dlp failures that say the host distrusts this client: more requests only make it worse.
HOST_BLOCK_CODES = frozenset({"bot_check", "sign_in_required"})
_SAFE_NAME = re.compile(r"[^a-z0-9.-]+")


class HostBlockedError(DownloadError):
    """A bot check or sign-in wall of this host stops requests to it; nothing was sent. ``code`` is the block's
    own code (``bot_check``, ``sign_in_required``), ``hint`` its advice; ``details['host_blocked']`` is true."""

    code = "bot_check"


def host_of(url: str) -> str:
    """The lower-case host name of ``url`` ('' when it has none)."""
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


_LOOPBACK = re.compile(r"^(?:localhost|127(?:\.\d{1,3}){3}|::1)$")


def rate_for(host: str, settings: Settings) -> float | None:
    """Requests per second allowed to ``host``: the most specific ``host_rate_limits`` entry, else the default;
    None (no limit) for this machine's own loopback addresses unless they are listed (a local server is nobody
    else's site)."""
    best: tuple[int, float] | None = None
    for domain, rate in settings.network.host_rate_limits.items():
        domain = domain.lower().strip(".")
        if (host == domain or host.endswith("." + domain)) and (best is None or len(domain) > best[0]):
            best = (len(domain), rate)
    if best is not None:
        return best[1]
    return None if _LOOPBACK.match(host) else settings.network.requests_per_second


def network_identity(settings: Settings) -> str:
    """A digest of what a site sees of us besides the address: cookies and proxy (never the values)."""
    network = settings.network
    raw = json.dumps([network.cookies_file, network.cookies_from_browser, network.proxy])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class HostBlock:
    code: str
    message: str
    hint: str | None
    at: float


class HostLimiter:
    """The shared schedule of every host, in ``folder``. ``clock`` and ``sleep`` are injectable for tests."""

    def __init__(self, folder: Path, settings: Settings, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> None:
        # One limiter per operation (say, a discovery and its retries): a back-off it caused is waited out by
        # its own retry policy (which honours the Retry-After), so it does not wait for it twice.
        self.token = uuid.uuid4().hex
        self.folder = folder
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()

    @classmethod
    def for_settings(cls, settings: Settings) -> HostLimiter:
        return cls(settings.home / HOSTS_DIR, settings)

    # ------------------------------------------------------------------ state file
    def _paths(self, host: str) -> tuple[Path, Path]:
        name = _SAFE_NAME.sub("_", host.lower()) or "_"
        return self.folder / f"{name}.json", self.folder / f"{name}.lock"

    @contextlib.contextmanager
    def _locked(self, host: str) -> Iterator[dict[str, Any]]:
        state_path, lock_path = self._paths(host)
        self.folder.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                try:
                    state = json.loads(state_path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    state = {}
                if not isinstance(state, dict):
                    state = {}
                before = dict(state)
                yield state
                if state != before:
                    atomic_write_json(state_path, {"schema_version": 1, **state, "host": host})
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def state(self, host: str) -> dict[str, Any]:
        """The host's current state (read-only; for views and tests)."""
        with self._locked(host) as state:
            return dict(state)

    # ------------------------------------------------------------------ the three operations
    def acquire(self, url: str) -> float:
        """Wait for the next free slot of ``url``'s host; returns the seconds waited. A back-off that starts
        while this caller waits for its slot (another process got a 429) pushes it past the back-off too.

        Raises:
            HostBlockedError: the host is blocked (bot check or sign-in wall); nothing may be sent.
        """
        host = host_of(url)
        if not host:
            return 0.0
        waited = 0.0
        backoffs_seen: int | None = None
        while True:
            with self._locked(host) as state:
                now = self.clock()
                self._raise_if_blocked(host, state, now)
                backoffs = int(state.get("backoffs") or 0) if state.get("backoff_owner") != self.token else 0
                if backoffs_seen is not None and backoffs == backoffs_seen:
                    return waited  # no back-off by another caller began while this one waited: its slot stands
                backoffs_seen = backoffs
                start = self._reserve(host, state, now)
            wait = start - now
            if wait <= 0:
                return waited
            self.sleep(wait)
            waited += wait

    def _reserve(self, host: str, state: dict[str, Any], now: float) -> float:
        """Reserve the next slot of ``host`` (under its lock); returns when it starts."""
        slowdown = float(state.get("slowdown") or 1.0)
        if slowdown > 1.0 and now - float(state.get("last_backoff_at") or 0.0) > SLOWDOWN_RECOVERY_SECONDS:
            slowdown = max(1.0, slowdown / 2)
            state["slowdown"] = slowdown
            state["last_backoff_at"] = now
        rate = rate_for(host, self.settings)
        gap = 0.0 if rate is None else slowdown / rate * (1.0 + self.settings.network.rate_jitter * self.rng.random())
        backoff_until = float(state.get("backoff_until") or 0.0) if state.get("backoff_owner") != self.token else 0.0
        start = max(now, float(state.get("next_at") or 0.0), backoff_until)
        state["next_at"] = start + gap
        state["requests"] = int(state.get("requests") or 0) + 1
        return start

    def back_off(self, url: str, retry_after: float | None) -> None:
        """A 429 from ``url``'s host: every process waits past ``retry_after`` and sends more slowly for a while."""
        host = host_of(url)
        if not host:
            return
        with self._locked(host) as state:
            now = self.clock()
            pause = min(MAX_BACKOFF_SECONDS, retry_after if retry_after is not None else DEFAULT_BACKOFF_SECONDS)
            state["backoff_until"] = max(float(state.get("backoff_until") or 0.0), now + pause)
            state["slowdown"] = min(MAX_SLOWDOWN, float(state.get("slowdown") or 1.0) * 2)
            state["last_backoff_at"] = now
            state["backoffs"] = int(state.get("backoffs") or 0) + 1
            state["backoff_owner"] = self.token

    def block(self, url: str, code: str, message: str, hint: str | None) -> None:
        """A bot check or sign-in wall from ``url``'s host: stop requests to it (see the module invariants)."""
        host = host_of(url)
        if not host:
            return
        with self._locked(host) as state:
            state["blocked"] = {"code": code, "message": message[:500], "hint": hint, "at": self.clock(),
                                "identity": network_identity(self.settings)}

    def clear_backoff(self, host: str) -> bool:
        """Forget a back-off of ``host`` (its Retry-After is known to be over); returns whether there was one."""
        with self._locked(host) as state:
            had = float(state.get("backoff_until") or 0.0) > self.clock()
            state.pop("backoff_until", None)
            state["slowdown"] = 1.0
            return had

    def unblock(self, host: str) -> bool:
        """Lift a block of ``host``; returns whether there was one."""
        with self._locked(host) as state:
            return state.pop("blocked", None) is not None

    def blocked(self, host: str) -> HostBlock | None:
        """The block in force for ``host``, or None."""
        with self._locked(host) as state:
            return self._block_in_force(state, self.clock())

    def _block_in_force(self, state: dict[str, Any], now: float) -> HostBlock | None:
        blocked = state.get("blocked")
        if not isinstance(blocked, dict):
            return None
        expired = now - float(blocked.get("at") or 0.0) > self.settings.network.host_block_minutes * 60
        if expired or blocked.get("identity") != network_identity(self.settings):
            state.pop("blocked", None)
            return None
        return HostBlock(str(blocked.get("code")), str(blocked.get("message") or ""), blocked.get("hint"),
                         float(blocked.get("at") or 0.0))

    def _raise_if_blocked(self, host: str, state: dict[str, Any], now: float) -> None:
        block = self._block_in_force(state, now)
        if block is None:
            return
        minutes = max(1, round((block.at + self.settings.network.host_block_minutes * 60 - now) / 60))
        raise HostBlockedError(
            f"requests to {host} are stopped: it answered {block.code} ({block.message[:200]}); nothing was sent",
            code=block.code,
            hint=f"{block.hint or 'wait and try again'} (the stop lifts by itself in about {minutes} min, or as soon "
            "as the cookies or proxy settings change)",
            details={"host": host, "host_blocked": True},
        )
