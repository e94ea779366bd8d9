"""Executors: where the runs of a fan-out (a run that spawns many runs) are advanced.

An executor takes run ids and has each one advanced until it *settles*: finished, or stopped (failed, paused,
cancelled, waiting for input or a decision). The work happens in another process: a local process pool by
default (``LocalProcessExecutor``), or Celery workers on machines that share the runs folder
(``kernel.task_runtime.celery_executor``). Each piece of work is ``advance_until_settled``: the drive loop over
the runtime of the process doing it.

Invariants:
- An executor never changes a run itself: every change goes through that process's ``RuntimeApi`` under the
  run's lease, and a phase whose inputs, config and outputs are unchanged is skipped. Delivering a run twice is
  therefore harmless: the second delivery finds it finished (nothing happens), owned by a live holder
  (``busy``: nothing happens), or abandoned by a dead one (its lease is taken over and the run continues from
  its last committed phase).
- ``Ticket.status()`` is ``queued``, ``running``, ``done`` or ``lost`` (the work can no longer report: its
  worker died); the caller resubmits lost work. ``running`` is reported only by executors that know a worker
  took the work (Celery with ``task_track_started``); a local pool reports ``queued`` until it is done.
- Pool workers ignore SIGINT (the coordinator pauses runs at safe points instead), write nothing to the
  coordinator's stdout, and end when the coordinator dies (a SIGKILLed coordinator leaves no orphan working).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Literal, Protocol

from .contracts import FINISHED_STATES, TERMINAL_STATES, Contract, RunState, RuntimeAction
from .drive import RunFailed, RunStopped, drive
from .errors import LeaseHeldError, YTTError

TicketStatus = Literal["queued", "running", "done", "lost"]


class Settled(Contract):
    """How an advanced run stands when the work on it ends. ``code`` is the failure's or stop's code."""

    run_id: str
    state: str
    outcome: Literal["finished", "failed", "stopped", "busy", "cancelled"]
    code: str | None = None
    detail: str = ""
    permanent: bool = False


class Ticket(Protocol):
    run_id: str

    def status(self) -> TicketStatus: ...

    def result(self) -> Settled | None:
        """The settled state once ``done`` (None while not done, or when the work was lost)."""
        ...

    def error(self) -> str | None:
        """Why the work was lost (``lost``), else None."""
        ...


class Executor(Protocol):
    name: str

    def submit(self, run_id: str, *, retry_failed: bool = False) -> Ticket:
        """Have ``run_id`` advanced until it settles; ``retry_failed`` retries a failed phase first."""
        ...

    def shutdown(self, *, wait: bool = True) -> None: ...


# --------------------------------------------------------------------------- the work itself
class AdvancingRuntime(Protocol):
    """The part of ``RuntimeApi`` the work needs."""

    def inspect_run(self, run_ref: str, *, detail: str = "summary", cursor: int = 0, limit: int = 50) -> Any: ...
    def resume_run(self, run_ref: str) -> Any: ...
    def advance_run(self, run_ref: str, *, action: str | None = None, wait_seconds: float | None = None,
                    on_progress: Any = None, args: dict[str, Any] | None = None) -> Any: ...


def advance_until_settled(api: AdvancingRuntime, run_id: str, *, retry_failed: bool = False,
                          accept_degraded: bool = True) -> Settled:
    """Advance ``run_id`` until it settles; never raises for the run's own outcome.

    A run left by a dead process (a phase still marked running) is recovered first, as resume-run does; a paused
    run is left paused; a degraded quality gate is accepted when ``accept_degraded`` (the caller decided in
    advance, as the CLI does).
    """
    try:
        envelope = api.inspect_run(run_id)
        if envelope.state in TERMINAL_STATES:
            return _settled(run_id, envelope.state)
        if envelope.state == RunState.PAUSED:
            return Settled(run_id=run_id, state=envelope.state, outcome="stopped", code="paused",
                           detail="the run is paused")
        if envelope.next_step.kind == "busy":
            return Settled(run_id=run_id, state=envelope.state, outcome="busy", detail=envelope.next_step.reason)
        if any(phase.status == "running" for phase in envelope.phases or []):
            envelope = api.resume_run(run_id)
        step = envelope.next_step
        if retry_failed and envelope.state == RunState.FAILED and RuntimeAction.RUN_PHASE in step.choices:
            api.advance_run(run_id, action=RuntimeAction.RUN_PHASE)
        done = drive(api, run_id, accept_degraded=accept_degraded)
        return _settled(run_id, done.state)
    except LeaseHeldError as exc:
        return Settled(run_id=run_id, state=str(exc.details.get("state") or "unknown"), outcome="busy",
                       code=exc.code, detail=exc.message)
    except RunFailed as exc:
        return Settled(run_id=run_id, state=RunState.FAILED, outcome="failed", code=exc.code, detail=exc.message,
                       permanent=exc.permanent)
    except RunStopped as exc:
        state = str(exc.details.get("state") or "unknown")
        outcome: Literal["cancelled", "stopped"] = "cancelled" if state == RunState.CANCELLED else "stopped"
        return Settled(run_id=run_id, state=state, outcome=outcome, code=str(exc.details.get("reason") or exc.code),
                       detail=exc.message)
    except YTTError as exc:
        return Settled(run_id=run_id, state="unknown", outcome="failed", code=exc.code, detail=exc.message,
                       permanent=exc.permanent)


def _settled(run_id: str, state: str) -> Settled:
    if state in FINISHED_STATES:
        return Settled(run_id=run_id, state=state, outcome="finished")
    return Settled(run_id=run_id, state=state, outcome="cancelled" if state == RunState.CANCELLED else "stopped")


# --------------------------------------------------------------------------- building a runtime in a worker
def load_factory(spec: str) -> Callable[..., AdvancingRuntime]:
    """``"package.module:function"`` -> the function (it builds the runtime a worker advances runs with)."""
    module, _, name = spec.partition(":")
    factory = getattr(importlib.import_module(module), name)
    if not callable(factory):
        raise TypeError(f"{spec} is not callable")
    return factory


_WORKER_API: AdvancingRuntime | None = None


def _exit_with_parent(parent_pid: int, interval: float = 0.5) -> None:
    """End this pool worker when the coordinator that spawned it is gone (killed): its queue pipes never close,
    so the worker would otherwise wait forever. A run it was advancing is left as a crash leaves it: its lease
    holder is dead, and resuming takes the lease over and continues from the last committed phase."""
    while True:
        time.sleep(interval)
        if os.getppid() != parent_pid:
            os._exit(1)


def _init_pool_worker(factory_spec: str, factory_args: tuple[Any, ...], parent_pid: int) -> None:
    global _WORKER_API
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="exit-with-parent", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.dup2(2, 1)  # nothing a worker prints may reach the coordinator's stdout (a CLI result or the MCP wire)
    sys.stdout = sys.stderr
    _WORKER_API = load_factory(factory_spec)(*factory_args)


def _advance_in_pool_worker(run_id: str, retry_failed: bool) -> dict[str, Any]:
    assert _WORKER_API is not None, "the pool worker was not initialized"
    return advance_until_settled(_WORKER_API, run_id, retry_failed=retry_failed).model_dump(mode="json")


# --------------------------------------------------------------------------- the local process pool
class _FutureTicket:
    def __init__(self, run_id: str, future: Future[dict[str, Any]]) -> None:
        self.run_id = run_id
        self.future = future

    def status(self) -> TicketStatus:
        if not self.future.done():
            return "queued"
        return "lost" if self.future.exception() is not None else "done"

    def result(self) -> Settled | None:
        if not self.future.done() or self.future.exception() is not None:
            return None
        return Settled.model_validate(self.future.result())

    def error(self) -> str | None:
        if not self.future.done():
            return None
        exc = self.future.exception()
        return None if exc is None else f"{type(exc).__name__}: {exc}"


class LocalProcessExecutor:
    """A pool of ``workers`` processes (spawned, so no lock or thread of the coordinator is copied), each with
    its own runtime built by ``factory_spec`` called with ``factory_args`` (picklable: the coordinator passes
    its settings, so a worker sees the same allowed roots and options whatever its own working directory).
    A pool broken by a dead worker is replaced on the next submit; the tickets it held report ``lost``."""

    name = "local"

    def __init__(self, workers: int, factory_spec: str, factory_args: tuple[Any, ...] = ()) -> None:
        self.workers = max(1, workers)
        self.factory_spec = factory_spec
        self.factory_args = factory_args
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_pool_worker, initargs=(self.factory_spec, self.factory_args, os.getpid()),
            )
        return self._pool

    def submit(self, run_id: str, *, retry_failed: bool = False) -> Ticket:
        try:
            future = self._ensure_pool().submit(_advance_in_pool_worker, run_id, retry_failed)
        except BrokenProcessPool:
            self.shutdown(wait=False)
            future = self._ensure_pool().submit(_advance_in_pool_worker, run_id, retry_failed)
        return _FutureTicket(run_id, future)

    def shutdown(self, *, wait: bool = True) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=not wait)
