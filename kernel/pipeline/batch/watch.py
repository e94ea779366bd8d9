"""The watch folder: media that appear in a folder become ordinary runs, once each.

``Watcher.run`` is a long-lived coordinator over the same parts as a batch (the executor, the known-runs
lookup, the host schedule): filesystem events (``watchdog``) name files to look at; a full rescan runs at
start, every ``batch.watch_rescan_seconds`` (events can be lost, and network shares deliver none), when
``DIR/.scan_now`` appears (it is removed) and on ``request_rescan`` (SIGHUP).

State lives in ``DIR/.yt-transcript/``: ``files/<key>.json`` per media file (its status, failures, run and
outputs: the done marker) and ``locks/<key>.lock`` (an exclusive ``flock`` held while the file is worked on).

Invariants:
- A file is taken only after its size and mtime stayed the same for ``batch.watch_stable_seconds``, and only
  by the watcher that holds its lock: two watchers never work on one file.
- A file is skipped, and says why, when a finished run already has its outputs (``known_runs``) or, for a
  translation, when a subtitle in the target language lies beside it.
- A failure is retried after ``batch.watch_failure_cooldown_seconds``; after ``batch.watch_max_failures``
  the file is marked failed and left alone (until its content changes). A done file is looked at again only
  when its size or mtime changes.
- Stopping (``stop``) pauses the runs in flight at their next safe point and waits for them; the next
  watcher resumes them instead of starting over.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...source.local import find_sidecar_subtitles, is_media_file, media_in_folder
from ...task_runtime.contracts import FINISHED_STATES, TERMINAL_STATES, RunState
from ...task_runtime.errors import YTTError
from ...task_runtime.executor import Executor, Ticket
from ...task_runtime.schemas import read_model
from ...task_runtime.store import atomic_write_json
from ..intent import parse_params
from .items import ItemSpec
from .known_runs import KnownRuns

STATE_DIR = ".yt-transcript"
SCAN_NOW = ".scan_now"
TICK_SECONDS = 0.25
STOP_GRACE_SECONDS = 60.0

WatchStatus = Literal["working", "done", "skipped", "retry", "failed"]


class WatchedFile(BaseModel):
    """``DIR/.yt-transcript/files/<key>.json``."""

    model_config = ConfigDict(extra="forbid")
    schema_file: ClassVar[str] = "watched_file"

    schema_version: int = 1
    path: str  # relative to the watched folder
    status: WatchStatus
    size: int = 0
    mtime_ns: int = 0
    failures: int = 0
    last_failure_at: float | None = None  # epoch seconds
    run_id: str | None = None
    reason: str | None = None
    error: dict[str, Any] | None = None
    outputs: dict[str, str] = Field(default_factory=dict)


def _key(relative: str) -> str:
    return hashlib.sha256(relative.encode("utf-8")).hexdigest()[:20]


class Watcher:
    def __init__(self, folder: Path, api: Any, settings: Any, options: dict[str, Any], executor: Executor, *,
                 output_dir: Path | None = None, concurrency: int | None = None, events: bool = True,
                 log: Callable[[str], None] = lambda line: None, wall_clock: Callable[[], float] = time.time) -> None:
        self.folder = folder.resolve()
        self.api = api
        self.settings = settings
        self.options = options  # the item intent without source and output_dir
        self.executor = executor
        self.output_dir = (output_dir or Path(options.get("output_dir") or settings.default_output_dir)).resolve()
        self.concurrency = concurrency or settings.batch.concurrency
        self.events = events
        self.log = log
        self.now = wall_clock
        self.state_dir = self.folder / STATE_DIR
        self.stop_event = threading.Event()
        self.rescan_event = threading.Event()
        self._dirty: set[Path] = set()
        self._dirty_lock = threading.Lock()
        self._seen: dict[Path, tuple[int, int, float]] = {}  # path -> size, mtime_ns, monotonic time first seen
        self._in_flight: dict[Path, tuple[Ticket, IO[str]]] = {}
        self._retry_at: dict[Path, float] = {}  # failed files to look at again once their cooldown is over
        self.counts: dict[str, int] = {}

    # ------------------------------------------------------------------ control from outside
    def stop(self) -> None:
        self.stop_event.set()

    def request_rescan(self) -> None:
        self.rescan_event.set()

    def mark_dirty(self, path: Path) -> None:
        with self._dirty_lock:
            self._dirty.add(path)

    # ------------------------------------------------------------------ files of the state folder
    def _state_path(self, relative: str) -> Path:
        return self.state_dir / "files" / f"{_key(relative)}.json"

    def read_state(self, path: Path) -> WatchedFile | None:
        target = self._state_path(self._relative(path))
        if not target.is_file():
            return None
        try:
            return read_model(target, WatchedFile)
        except YTTError:
            return None

    def _write_state(self, state: WatchedFile) -> None:
        atomic_write_json(self._state_path(state.path), state.model_dump(mode="json"))

    def _relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.folder).as_posix()

    def _lock(self, path: Path) -> IO[str] | None:
        lock_path = self.state_dir / "locks" / f"{_key(self._relative(path))}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return None
        return handle

    # ------------------------------------------------------------------ the loop
    def run(self) -> dict[str, int]:
        """Watch until ``stop``; returns counts of what happened (done, skipped, failed...)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        observer = self._start_observer() if self.events else None
        next_scan = 0.0
        try:
            while not self.stop_event.is_set():
                scan_now = self.folder / SCAN_NOW
                if scan_now.exists() or self.rescan_event.is_set() or time.monotonic() >= next_scan:
                    with contextlib.suppress(FileNotFoundError):
                        scan_now.unlink()
                    self.rescan_event.clear()
                    self._full_scan()
                    next_scan = time.monotonic() + self.settings.batch.watch_rescan_seconds
                self._take_dirty()
                self._take_due_retries()
                self._collect()
                self._start_ready()
                self.stop_event.wait(TICK_SECONDS)
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=5)
            self._stop_in_flight()
        return dict(self.counts)

    def _start_observer(self) -> Any:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.is_directory:
                    return
                for raw in (event.src_path, event.dest_path):
                    if raw:
                        path = Path(os.fsdecode(raw))
                        if path.name == SCAN_NOW:
                            watcher.request_rescan()
                        else:
                            watcher.mark_dirty(path)

        observer = Observer()
        observer.schedule(Handler(), str(self.folder), recursive=True)
        observer.start()
        return observer

    def _wanted(self, path: Path) -> bool:
        try:
            relative = path.resolve().relative_to(self.folder)
        except ValueError:
            return False
        return is_media_file(path) and not any(part.startswith(".") for part in relative.parts)

    def _full_scan(self) -> None:
        for path in media_in_folder(self.folder):
            self._consider(path)

    def _take_dirty(self) -> None:
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, set()
        for path in dirty:
            if self._wanted(path):
                self._consider(path)

    def _take_due_retries(self) -> None:
        now = time.monotonic()
        for path, due in list(self._retry_at.items()):
            if due <= now:
                del self._retry_at[path]
                self._consider(path)

    def _consider(self, path: Path) -> None:
        """Note ``path`` as a candidate unless its state says it needs nothing now."""
        if path in self._in_flight or not path.is_file():
            return
        state = self.read_state(path)
        if state is not None:
            stat = path.stat()
            changed = (stat.st_size, stat.st_mtime_ns) != (state.size, state.mtime_ns)
            if state.status in ("done", "skipped", "failed") and not changed:
                return
            if state.status == "retry" and not changed and state.last_failure_at is not None and \
                    self.now() - state.last_failure_at < self.settings.batch.watch_failure_cooldown_seconds:
                return
        self._seen.setdefault(path, (-1, -1, 0.0))

    def _start_ready(self) -> None:
        stable_for = self.settings.batch.watch_stable_seconds
        for path in list(self._seen):
            if len(self._in_flight) >= self.concurrency:
                return
            try:
                stat = path.stat()
            except FileNotFoundError:
                del self._seen[path]
                continue
            size, mtime_ns, since = self._seen[path]
            if (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns) or stat.st_size == 0:
                self._seen[path] = (stat.st_size, stat.st_mtime_ns, time.monotonic())
                continue
            if time.monotonic() - since < stable_for:
                continue
            del self._seen[path]
            self._start(path, stat.st_size, stat.st_mtime_ns)

    # ------------------------------------------------------------------ one file
    def _start(self, path: Path, size: int, mtime_ns: int) -> None:
        lock = self._lock(path)
        if lock is None:
            self.log(f"busy: {self._relative(path)} is being worked on by another watcher")
            return
        relative = self._relative(path)
        previous = self.read_state(path)
        state = WatchedFile(path=relative, status="working", size=size, mtime_ns=mtime_ns,
                            failures=previous.failures if previous and previous.status == "retry" else 0,
                            last_failure_at=previous.last_failure_at if previous else None)
        try:
            run_id = self._run_for(path, relative, state, previous)
        except YTTError as exc:
            run_id = None
            self._failed(state, {"code": exc.code, "message": exc.message, "hint": exc.hint})
        if run_id is None:
            lock.close()
            return
        state = state.model_copy(update={"run_id": run_id})
        self._write_state(state)
        self._in_flight[path] = (self.executor.submit(run_id, retry_failed=False), lock)

    def _run_for(self, path: Path, relative: str, state: WatchedFile, previous: WatchedFile | None) -> str | None:
        """The run to advance for ``path``, or None when the file is skipped (its state says why)."""
        if previous is not None and previous.status == "working" and previous.run_id:
            envelope = self.api.inspect_run(previous.run_id)  # a run the last watcher left in flight
            if envelope.state not in TERMINAL_STATES and envelope.state != RunState.FAILED:
                if envelope.state == RunState.PAUSED:
                    self.api.resume_run(previous.run_id)
                return str(previous.run_id)
        subfolder = Path(relative).parent
        output_dir = self.output_dir / subfolder if subfolder.parts else self.output_dir
        raw = {**self.options, "source": str(path), "output_dir": str(output_dir)}
        params = parse_params(raw, self.settings)
        target = params.target_language if params.mode in ("translate", "bilingual") else None
        if target and any(track.language == target for track in find_sidecar_subtitles(path)):
            self._skipped(state, f"it already has a subtitle in {target} beside it")
            return None
        spec = ItemSpec(item_id="watch", source=str(path), kind="file", origin=str(self.folder))
        found = KnownRuns.scan(self.settings.runs_dir, self.settings.default_output_dir).find(
            spec, params.model_dump(mode="json"))
        if found is not None:
            self._skipped(state.model_copy(update={"run_id": found.run_id, "outputs": found.outputs}),
                          f"its outputs exist (run {found.run_id})")
            return None
        return str(self.api.create_run(raw).run_id)

    def _collect(self) -> None:
        for path, (ticket, lock) in list(self._in_flight.items()):
            if ticket.status() in ("queued", "running"):
                continue
            del self._in_flight[path]
            state = self.read_state(path)
            try:
                if state is None:
                    continue
                envelope = self.api.inspect_run(ticket.run_id)
                if envelope.state in FINISHED_STATES:
                    self._write_state(state.model_copy(update={"status": "done", "outputs": envelope.outputs or {},
                                                               "error": None, "reason": None}))
                    self._count("done")
                    self.log(f"done: {state.path} -> {(envelope.outputs or {}).get('markdown')}")
                elif envelope.state == RunState.PAUSED or self.stop_event.is_set():
                    pass  # stopped for shutdown: the next watcher resumes it
                else:
                    failure = dict(envelope.data.get("failure") or {})
                    error = {k: failure[k] for k in ("code", "message", "hint") if k in failure} or \
                        {"code": ticket.error() or envelope.state}
                    self._failed(state, error)
            finally:
                lock.close()

    def _failed(self, state: WatchedFile, error: dict[str, Any]) -> None:
        failures = state.failures + 1
        final = failures >= self.settings.batch.watch_max_failures
        self._write_state(state.model_copy(update={"status": "failed" if final else "retry", "failures": failures,
                                                   "last_failure_at": self.now(), "error": error}))
        self._count("failed" if final else "retry")
        if not final:
            self._retry_at[self.folder / state.path] = time.monotonic() + \
                self.settings.batch.watch_failure_cooldown_seconds
        limit = self.settings.batch.watch_max_failures
        self.log(f"{'failed for good' if final else 'failed'} ({failures}/{limit}): {state.path}: "
                 f"{error.get('code')}: {str(error.get('message') or '')[:200]}")

    def _skipped(self, state: WatchedFile, reason: str) -> None:
        self._write_state(state.model_copy(update={"status": "skipped", "reason": reason}))
        self._count("skipped")
        self.log(f"skipped: {state.path}: {reason}")

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def _stop_in_flight(self) -> None:
        for _path, (ticket, _lock) in self._in_flight.items():
            with contextlib.suppress(YTTError):
                self.api.apply_control(ticket.run_id, "pause", reason="the watcher is stopping")
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self._in_flight and time.monotonic() < deadline:
            self._collect()
            time.sleep(TICK_SECONDS)
        for _ticket, lock in self._in_flight.values():
            lock.close()
        self._in_flight.clear()
