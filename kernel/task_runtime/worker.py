"""Background workers: long actions run in a thread that holds the run's lease and heartbeats.

A command starts a worker and waits for it at most ``wait_seconds``; the worker goes on after the
command returns and the next command observes it. One worker per run per process. The worker always
releases its lease when it ends, whatever happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .contracts import ActionResult, WorkerStatus
from .errors import YTTError
from .lease import Lease


class Worker:
    def __init__(self, run_id: str, action: str, lease: Lease, body: Callable[[Worker], ActionResult]) -> None:
        self.run_id = run_id
        self.lease = lease
        self._body = body
        self._lock = threading.Lock()
        self._status = WorkerStatus(running=True, action=action)
        self.result: ActionResult | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.changed = threading.Condition()
        # Set when this process is shutting down: the job stops at its next safe point, like a pause,
        # but the run's state is left as it is (the phase is recorded interrupted; resume continues).
        self.shutting_down = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"run-worker-{run_id}", daemon=True)

    def start(self) -> None:
        self.lease.start_heartbeat()
        self._thread.start()

    def _main(self) -> None:
        try:
            self.result = self._body(self)
        except YTTError as exc:
            self.error = exc
        except BaseException as exc:  # keep the thread from dying silently; reported by the command
            self.error = exc
        finally:
            self.lease.release()
            self.update(running=False)
            self.done.set()
            with self.changed:
                self.changed.notify_all()

    def update(self, **fields: object) -> None:
        with self._lock:
            self._status = self._status.model_copy(update=fields)
        with self.changed:
            self.changed.notify_all()

    @property
    def status(self) -> WorkerStatus:
        with self._lock:
            return self._status

    def wait(self, timeout: float) -> bool:
        return self.done.wait(timeout)

    def stop_for_shutdown(self) -> None:
        self.shutting_down.set()

    def wait_for_change(self, timeout: float) -> None:
        with self.changed:
            self.changed.wait(timeout)
