"""The ownership lease: one writer per run.

``.runtime_owner.json`` names the holder (owner id, pid, host, process start time, heartbeat, generation).

Rules:
- A live holder is never broken.
- A holder is stale only when provably gone or silent: on the same host its pid is dead, or the pid is
  alive but belongs to another process (its start time differs: pid reuse); or its heartbeat is older than
  the TTL (the only test possible across hosts).
- Taking over (or acquiring a released lease) increments the generation. Every commit re-reads the lease
  and refuses to write unless it still carries this holder's owner id and generation, so a resurrected old
  holder cannot commit (``LeaseLostError``).
- Acquisition is serialized with an exclusive lock file (``O_CREAT|O_EXCL``) so two processes racing for
  a free lease cannot both win.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from .clock import Clock
from .contracts import LeaseRecord
from .errors import CorruptStateError, LeaseHeldError, LeaseLostError
from .schemas import read_model
from .store import atomic_write_json

OWNER_FILE = ".runtime_owner.json"
_LOCK_FILE = ".runtime_owner.lock"
DEFAULT_TTL_SECONDS = 30.0
_LOCK_STALE_SECONDS = 10.0


def process_start_time(pid: int) -> float | None:
    """Start time of ``pid`` in clock ticks since boot (Linux); None where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime); the command name (field 2) may contain spaces, so split after its ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return float(fields[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_gone_reason(record: LeaseRecord, *, now: datetime, host: str) -> str | None:
    """Why the holder is provably gone or expired, or None when it must be treated as live."""
    heartbeat = datetime.fromisoformat(record.heartbeat_at)
    age = (now - heartbeat).total_seconds()
    if record.host == host:
        if not pid_alive(record.pid):
            return f"holder pid {record.pid} on {host} is not running"
        current_start = process_start_time(record.pid)
        if record.process_start is not None and current_start is not None and current_start != record.process_start:
            return f"pid {record.pid} was reused by another process"
    if age > record.ttl_seconds:
        return f"heartbeat is {age:.0f}s old (TTL {record.ttl_seconds:.0f}s)"
    return None


class Lease:
    """A held lease on one work_dir. Use ``acquire()``; release with ``release()`` or as a context manager."""

    def __init__(self, work_dir: Path, record: LeaseRecord, clock: Clock, took_over_from: str | None) -> None:
        self.work_dir = work_dir
        self.record = record
        self.clock = clock
        self.took_over_from = took_over_from
        self._lock = threading.Lock()
        self._released = False
        self._heartbeat_stop = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None

    @property
    def generation(self) -> int:
        return self.record.generation

    @classmethod
    def acquire(
        cls,
        work_dir: Path,
        *,
        clock: Clock,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        command: str = "",
        host: str | None = None,
    ) -> Lease:
        """Take the lease, taking over a stale one.

        Raises:
            LeaseHeldError: a live holder owns the run (details name pid, host, generation).
        """
        host = host or socket.gethostname()
        with _acquisition_lock(work_dir, clock):
            path = work_dir / OWNER_FILE
            previous: LeaseRecord | None = None
            if path.exists():
                try:
                    previous = read_model(path, LeaseRecord)
                except CorruptStateError:
                    previous = None  # an unreadable lease protects nothing; take it over
            took_over_from = None
            if previous is not None and previous.owner_id != "released":
                reason = holder_gone_reason(previous, now=clock.now(), host=host)
                if reason is None:
                    raise LeaseHeldError(
                        f"run in {work_dir.name} is owned by pid {previous.pid} on {previous.host} "
                        f"(generation {previous.generation}, command {previous.command or '?'})",
                        hint="wait for it to finish, pause it ({action:pause}), or {resume} once it has exited",
                        details={
                            "owner_pid": previous.pid,
                            "owner_host": previous.host,
                            "generation": previous.generation,
                            "heartbeat_at": previous.heartbeat_at,
                        },
                    )
                took_over_from = reason
            now = clock.now().isoformat()
            record = LeaseRecord(
                owner_id=uuid.uuid4().hex,
                pid=os.getpid(),
                host=host,
                process_start=process_start_time(os.getpid()),
                acquired_at=now,
                heartbeat_at=now,
                generation=(previous.generation + 1) if previous else 1,
                ttl_seconds=ttl_seconds,
                command=command,
            )
            atomic_write_json(path, record.model_dump(mode="json"))
        return cls(work_dir, record, clock, took_over_from)

    def check(self) -> None:
        """Raise ``LeaseLostError`` unless the lease file still names this holder and generation."""
        if self._released:
            raise LeaseLostError(f"lease on {self.work_dir.name} was already released by this process")
        # Called before every commit (once per work item in a long phase), so it compares the two fields
        # that matter on the raw JSON instead of re-validating the whole record against its schema.
        try:
            current = json.loads((self.work_dir / OWNER_FILE).read_bytes())
            owner, generation = current["owner_id"], current["generation"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LeaseLostError(f"lease file of {self.work_dir.name} is gone or unreadable") from exc
        if owner != self.record.owner_id or generation != self.record.generation:
            raise LeaseLostError(
                f"lease on {self.work_dir.name} was taken over (generation {generation} by pid "
                f"{current.get('pid')}); this process (generation {self.record.generation}) must stop writing",
                hint="another process now owns the run; {inspect}",
            )

    def heartbeat(self) -> None:
        with self._lock:
            self.check()
            self.record = self.record.model_copy(update={"heartbeat_at": self.clock.now().isoformat()})
            atomic_write_json(self.work_dir / OWNER_FILE, self.record.model_dump(mode="json"))

    def start_heartbeat(self, interval: float | None = None) -> None:
        interval = interval or max(0.5, self.record.ttl_seconds / 3)

        def beat() -> None:
            while not self._heartbeat_stop.wait(interval):
                try:
                    self.heartbeat()
                except (LeaseLostError, OSError):
                    return

        self._heartbeat_thread = threading.Thread(
            target=beat, name=f"lease-heartbeat-{self.work_dir.name}", daemon=True
        )
        self._heartbeat_thread.start()

    def release(self) -> None:
        """Give the lease up; the generation stays so the next holder increments it."""
        self._heartbeat_stop.set()
        if self._heartbeat_thread is not None and self._heartbeat_thread is not threading.current_thread():
            self._heartbeat_thread.join(timeout=5)
        with self._lock:
            if self._released:
                return
            try:
                self.check()
            except LeaseLostError:
                self._released = True
                return
            released = self.record.model_copy(
                update={"owner_id": "released", "heartbeat_at": self.clock.now().isoformat()}
            )
            atomic_write_json(self.work_dir / OWNER_FILE, released.model_dump(mode="json"))
            self._released = True

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_lease(work_dir: Path) -> LeaseRecord | None:
    path = work_dir / OWNER_FILE
    if not path.exists():
        return None
    try:
        record = read_model(path, LeaseRecord)
    except CorruptStateError:
        return None
    return None if record.owner_id == "released" else record


def lease_is_live(work_dir: Path, clock: Clock, host: str | None = None) -> bool:
    record = read_lease(work_dir)
    if record is None:
        return False
    return holder_gone_reason(record, now=clock.now(), host=host or socket.gethostname()) is None


@contextlib.contextmanager
def _acquisition_lock(work_dir: Path, clock: Clock, sleep: Callable[[float], None] = time.sleep) -> Iterator[None]:
    lock = work_dir / _LOCK_FILE
    deadline = time.monotonic() + 5.0
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.write(fd, f"{os.getpid()}\n".encode())
            os.close(fd)
            break
        except FileExistsError:
            # A crashed acquirer leaves the lock behind; acquisition takes milliseconds, so an old
            # lock file is stale.
            with contextlib.suppress(OSError):
                if time.time() - lock.stat().st_mtime > _LOCK_STALE_SECONDS:
                    lock.unlink()
                    continue
            if time.monotonic() > deadline:
                raise LeaseHeldError(
                    f"could not lock {work_dir.name} for lease acquisition",
                    hint="another process is acquiring the run right now; try again",
                ) from None
            sleep(0.02)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
