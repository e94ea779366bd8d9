"""The optional Celery executor: several machines that share the runs folder advance a fan-out's runs.

Install it with the package's ``celery`` extra; the broker and result backend is one Redis URL. Each
task is ``advance_until_settled(run_id)`` in a worker process, over the runtime that worker builds with the
task's factory (``"module:function"``). Tasks are acknowledged late and requeued when their worker is lost,
and the coordinator submits again work whose worker died without the broker noticing; both are safe because
advancing a run is idempotent (see ``executor``).

Invariants:
- ``worker_prefetch_multiplier = 1`` with late acknowledgement: a worker holds at most the message it works on,
  so a dead worker takes nothing else with it.
- ``task_track_started``: a ticket says ``running`` once a worker took the task, ``queued`` before.
- Nothing secret is logged: the broker URL is never printed.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from typing import Any

from .executor import AdvancingRuntime, Settled, TicketStatus, advance_until_settled, load_factory

TASK_NAME = "task_runtime.advance_until_settled"
QUEUE = "runs"
VISIBILITY_TIMEOUT_SECONDS = 3600  # an unacknowledged task is handed to another worker after this


def build_celery_app(broker_url: str) -> Any:
    """The Celery app of the runtime's workers and coordinators (one Redis URL: broker and results)."""
    from celery import Celery

    app = Celery("task_runtime", broker=broker_url, backend=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=7 * 24 * 3600,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        worker_hijack_root_logger=False,
    )

    @app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True)
    def advance(run_id: str, retry_failed: bool, factory_spec: str) -> dict[str, Any]:
        return advance_until_settled(_runtime(factory_spec), run_id, retry_failed=retry_failed).model_dump(mode="json")

    return app


@cache
def _runtime(factory_spec: str) -> AdvancingRuntime:
    return load_factory(factory_spec)()


class _CeleryTicket:
    def __init__(self, run_id: str, result: Any) -> None:
        self.run_id = run_id
        self._result = result

    def status(self) -> TicketStatus:
        state = self._result.state
        if state == "SUCCESS":
            return "done"
        if state in ("FAILURE", "REVOKED"):
            return "lost"
        return "running" if state in ("STARTED", "RETRY") else "queued"

    def result(self) -> Settled | None:
        if self._result.state != "SUCCESS":
            return None
        return Settled.model_validate(self._result.result)

    def error(self) -> str | None:
        if self._result.state not in ("FAILURE", "REVOKED"):
            return None
        return f"celery task {self._result.state.lower()}: {str(self._result.result)[:300]}"


class CeleryExecutor:
    name = "celery"

    def __init__(self, broker_url: str | None, factory_spec: str) -> None:
        if not broker_url:
            from .errors import InvalidInputError

            raise InvalidInputError("the celery executor needs a broker URL", code="config_error",
                                    hint="set YTT_BROKER_URL (batch.broker_url) to the Redis URL the workers use")
        self.factory_spec = factory_spec
        self.app = build_celery_app(broker_url)

    def submit(self, run_id: str, *, retry_failed: bool = False) -> _CeleryTicket:
        result = self.app.send_task(TASK_NAME, args=[run_id, retry_failed, self.factory_spec], queue=QUEUE)
        return _CeleryTicket(run_id, result)

    def shutdown(self, *, wait: bool = True) -> None:
        self.app.close()


def run_worker(broker_url: str, *, concurrency: int = 1, name: str | None = None, loglevel: str = "WARNING") -> int:
    """Start a worker in this process (it runs until stopped: SIGTERM finishes the task at hand, SIGINT too).
    One task at a time runs in this process itself (``solo``); more use a process pool (``prefork``)."""
    app = build_celery_app(broker_url)
    hostname = name or f"runs-{os.getpid()}@{socket.gethostname()}"
    pool = "solo" if concurrency <= 1 else "prefork"
    argv = ["worker", f"--pool={pool}", f"--concurrency={max(1, concurrency)}", f"--queues={QUEUE}",
            f"--hostname={hostname}", f"--loglevel={loglevel}", "--without-gossip", "--without-mingle"]
    app.worker_main(argv=argv)
    return 0
