"""The ``process`` phase: every item of the batch becomes an ordinary run, advanced through the executor.

The phase runs in the batch's background worker, under the batch's lease; the items' runs are advanced
elsewhere (a process pool, Celery workers), each under its own lease. The work_dirs are the truth: an item's
status is decided from its run's manifest, never from what the executor says alone.

Per item, in the order the sources gave them:
1. a URL item whose host is stopped by a bot check or sign-in wall waits (nothing is sent to that host), with
   the block's code and advice; local items go on;
2. otherwise its run is created at ``item_runs/<item_id>`` (found again after a crash), unless a finished
   run already did the same work (``known_runs``; ``force`` turns this off): then the item is skipped and
   points at that run's outputs;
3. the run is submitted; at most ``concurrency`` are in flight. A settled run decides the item's status:
   finished, failed (a host block makes it waiting instead), cancelled, or waiting for input or a decision.
   Work the executor lost (a dead worker) is submitted again, which is safe (see ``task_runtime.executor``).

A pause, cancel or shutdown of the batch is passed on to the runs in flight (they stop at their next safe
point) and waited for, then the phase stops; resuming the batch resumes the paused item runs. The phase
succeeds when every item is done, skipped, cancelled or failed for good; while any item can still be retried
(a passing failure, a host block, an interrupted run) it fails with ``batch_items_unfinished``, and resuming
the batch retries exactly those items.

Crash points (``YTT_CRASH_AT``): ``batch:item:<item_id>:<status>`` right after an item's state file is written and its
event recorded.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...source.politeness import HOST_BLOCK_CODES, HostLimiter, host_of
from ...task_runtime.contracts import FINISHED_STATES, ArtifactRef, RunState
from ...task_runtime.errors import StopRequested, YTTError
from ...task_runtime.executor import Executor, Settled, Ticket
from ...task_runtime.faults import crash_point
from ...task_runtime.phases import Phase, PhaseContext, PhaseOutput, PhaseResult
from ...task_runtime.store import atomic_write_text
from ..intent import parse_params
from .intent import BatchParams
from .items import DONE_STATUSES, ItemList, ItemSpec, ItemState, count_statuses, item_run_dir, read_items, write_item
from .known_runs import KnownRuns

POLL_SECONDS = 0.2
BUSY_RETRY_SECONDS = 2.0  # an item run another process drives is looked at again after this
STALL_SECONDS = 15.0  # a run the executor calls running, with no live lease for this long, is submitted again
MAX_LOST_SUBMISSIONS = 3
STOP_GRACE_SECONDS = 60.0  # how long a stop waits for the runs in flight to reach a safe point
ITEM_FACTORY = "kernel.pipeline.spec:build_runtime_api"  # how a pool worker builds its runtime


class ItemsUnfinishedError(YTTError):
    """Some items of the batch can still be retried (details list them); resuming the batch retries them."""

    code = "batch_items_unfinished"


def make_executor(settings: Any, concurrency: int) -> Executor:
    """The executor the settings choose: the local process pool (its workers get these settings), or Celery
    (``batch.executor = "celery"``: a worker loads its own, on its own machine)."""
    if settings.batch.executor == "celery":
        from ...task_runtime.celery_executor import CeleryExecutor

        return CeleryExecutor(settings.batch.broker_url, ITEM_FACTORY)
    from ...task_runtime.executor import LocalProcessExecutor

    return LocalProcessExecutor(concurrency, ITEM_FACTORY, (settings,))


class ProcessPhase(Phase):
    name = "process"
    version = "1"

    def requires(self, params: BatchParams) -> list[str]:
        return ["batch.items"]

    def provides(self, params: BatchParams) -> list[str]:
        return ["batch.results"]

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..spec import build_runtime_api

        params: BatchParams = ctx.params
        specs = ctx.load_model(inputs["batch.items"], ItemList).items
        concurrency = params.concurrency or ctx.settings.batch.concurrency
        api = build_runtime_api(ctx.settings)
        known = None if params.force else KnownRuns.scan(ctx.settings.runs_dir, ctx.settings.default_output_dir)
        executor = make_executor(ctx.settings, concurrency)
        try:
            coordinator = Coordinator(ctx, specs, params, api, executor, known, concurrency)
            return coordinator.run()
        finally:
            executor.shutdown(wait=False)


class Coordinator:
    def __init__(self, ctx: PhaseContext, specs: list[ItemSpec], params: BatchParams, api: Any, executor: Executor,
                 known: KnownRuns | None, concurrency: int) -> None:
        self.ctx = ctx
        self.work_dir = ctx.run_dir.path
        self.specs = {spec.item_id: spec for spec in specs}
        self.order = [spec.item_id for spec in specs]
        self.params = params
        self.api = api
        self.executor = executor
        self.known = known
        self.concurrency = max(1, concurrency)
        self.limiter = HostLimiter.for_settings(ctx.settings)
        self.states: dict[str, ItemState] = {}
        self.queue: list[str] = []
        self.in_flight: dict[str, Ticket] = {}
        self.not_before: dict[str, float] = {}
        self.stalled_since: dict[str, float] = {}

    # ------------------------------------------------------------------ the loop
    def run(self) -> PhaseResult:
        self.states = read_items(self.work_dir, list(self.specs.values()))
        self.queue = [item_id for item_id in self.order if self._retryable(self.states[item_id])]
        while self.queue or self.in_flight:
            self._stop_if_requested()
            self._collect()
            self._fill()
            self._report()
            if self.queue or self.in_flight:
                time.sleep(POLL_SECONDS)
        return self._result()

    def _retryable(self, state: ItemState) -> bool:
        if state.status in DONE_STATUSES or state.status == "cancelled":
            return False
        return not (state.status == "failed" and (state.error or {}).get("permanent"))

    def _fill(self) -> None:
        now = time.monotonic()
        for item_id in list(self.queue):
            if len(self.in_flight) >= self.concurrency:
                return
            if self.not_before.get(item_id, 0.0) > now:
                continue
            self.queue.remove(item_id)
            ticket = self._start(self.specs[item_id], self.states[item_id])
            if ticket is not None:
                self.in_flight[item_id] = ticket

    def _collect(self) -> None:
        for item_id, ticket in list(self.in_flight.items()):
            status = ticket.status()
            if status == "running" and self._stalled(item_id, ticket):
                status = "lost"
            if status in ("queued", "running"):
                continue
            del self.in_flight[item_id]
            self.stalled_since.pop(item_id, None)
            state = self.states[item_id]
            if status == "lost":
                self.ctx.emit("batch_item_lost", item_id=item_id, run_id=state.run_id, error=ticket.error())
                if state.submissions >= MAX_LOST_SUBMISSIONS:
                    self._set(state, "failed", error={"code": "executor_lost", "message": ticket.error() or "lost",
                                                      "hint": "{resume}"})
                else:
                    self.queue.insert(0, item_id)
                continue
            settled = ticket.result()
            assert settled is not None
            self._settle(item_id, settled)

    def _stalled(self, item_id: str, ticket: Ticket) -> bool:
        """A run the executor says is running, but nobody holds its lease: its worker died unseen."""
        from ...task_runtime.lease import lease_is_live

        run_dir = item_run_dir(self.work_dir, item_id)
        try:
            manifest_state = self.api.resolve(ticket.run_id).read_manifest().state
        except YTTError:
            return False
        if manifest_state in FINISHED_STATES or lease_is_live(run_dir, self.ctx.clock):
            self.stalled_since.pop(item_id, None)
            return False
        first = self.stalled_since.setdefault(item_id, time.monotonic())
        return time.monotonic() - first > STALL_SECONDS

    # ------------------------------------------------------------------ one item
    def _start(self, spec: ItemSpec, state: ItemState) -> Ticket | None:
        if spec.kind == "url":
            block = self.limiter.blocked(host_of(spec.source))
            if block is not None:
                self._set(state, "waiting", error={"code": block.code, "message": block.message, "hint": block.hint,
                                                   "host": host_of(spec.source), "host_blocked": True})
                return None
        if state.run_id is None:
            state = state.model_copy(update={"run_id": self._existing_run(spec)})
        if state.run_id is None:
            raw = self.params.item_params(spec.source, output_dir=spec.output_dir)
            try:
                validated = parse_params(raw, self.ctx.settings).model_dump(mode="json")
            except YTTError as exc:
                self._set(state, "failed", error={**_error(exc), "permanent": True})
                return None
            found = self.known.find(spec, validated) if self.known is not None else None
            if found is not None:
                self._set(state, "skipped", reused_from=found.run_id, outputs=found.outputs)
                return None
            try:
                state.run_id = self._create_run(spec, raw)
            except YTTError as exc:
                self._set(state, "failed", error={**_error(exc), "permanent": exc.permanent})
                return None
            self.ctx.emit("batch_item_created", item_id=spec.item_id, run_id=state.run_id)
        else:
            envelope = self.api.inspect_run(state.run_id)
            if envelope.state in FINISHED_STATES:
                self._set(state, "finished", run_state=envelope.state, outputs=envelope.outputs or {}, error=None)
                return None
            if envelope.state == RunState.CANCELLED:
                self._set(state, "cancelled", run_state=envelope.state)
                return None
            if envelope.state == RunState.PAUSED:
                self.api.resume_run(state.run_id)  # the batch was paused, and is resumed now
        run_id = state.run_id
        assert run_id is not None
        self._set(state, "submitted", submissions=state.submissions + 1, error=None)
        self.ctx.emit("batch_item_submitted", item_id=spec.item_id, run_id=run_id, executor=self.executor.name)
        return self.executor.submit(run_id, retry_failed=True)

    def _existing_run(self, spec: ItemSpec) -> str | None:
        """The item's run, when one was created before (a crash may have come before its state recorded it)."""
        path = item_run_dir(self.work_dir, spec.item_id)
        if not (path / ".runtime_task.json").is_file():
            return None
        run_id = str(self.api.resolve(str(path)).read_task().run_id)
        link = self.ctx.settings.runs_dir / f"{run_id}.link"
        if not link.is_file():  # the creation was interrupted after the task file, before its link
            atomic_write_text(link, str(path) + "\n")
        return run_id

    def _create_run(self, spec: ItemSpec, raw: dict[str, Any]) -> str:
        path = item_run_dir(self.work_dir, spec.item_id)
        if path.exists():
            shutil.rmtree(path)  # an interrupted creation left an incomplete folder
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(self.api.create_run(raw, work_dir=str(path)).run_id)

    def _settle(self, item_id: str, settled: Settled) -> None:
        state = self.states[item_id]
        if settled.outcome == "busy":
            self.not_before[item_id] = time.monotonic() + BUSY_RETRY_SECONDS
            self.queue.insert(0, item_id)
            return
        run_id = state.run_id
        assert run_id is not None
        envelope = self.api.inspect_run(run_id)
        if envelope.state in FINISHED_STATES:
            self._set(state, "finished", run_state=envelope.state, outputs=envelope.outputs or {}, error=None)
        elif envelope.state == RunState.CANCELLED:
            self._set(state, "cancelled", run_state=envelope.state)
        elif envelope.state == RunState.FAILED:
            failure = dict(envelope.data.get("failure") or {})
            error = {key: failure[key] for key in ("code", "message", "hint", "permanent", "phase") if key in failure}
            error.setdefault("code", settled.code or "phase_failed")
            if error["code"] in HOST_BLOCK_CODES:
                error["host"] = host_of(self.specs[item_id].source)
                self._set(state, "waiting", run_state=envelope.state, error=error)
            else:
                self._set(state, "failed", run_state=envelope.state, error=error)
        elif envelope.state == RunState.PAUSED:
            self._set(state, "pending", run_state=envelope.state)
            self.queue.append(item_id)
        elif envelope.state in (RunState.AWAITING_INPUT, RunState.AWAITING_DECISION):
            self._set(state, "waiting", run_state=envelope.state, error={
                "code": envelope.state, "message": envelope.next_step.reason,
                "hint": f"advance the item's own run {run_id}; then resume the batch"})
        else:  # stopped mid-way (its process shut down): run it again
            self._set(state, "pending", run_state=envelope.state)
            self.queue.append(item_id)

    def _set(self, state: ItemState, status: str, **fields: Any) -> None:
        updated = state.model_copy(update={"status": status, "updated_at": self.ctx.clock.now().isoformat(),
                                           **fields})
        self.states[state.item_id] = write_item(self.work_dir, updated, self.ctx.lease)
        if status != "submitted":
            error = updated.error or {}
            self.ctx.emit("batch_item_settled", item_id=state.item_id, status=status, run_id=updated.run_id,
                          code=error.get("code"), reused_from=updated.reused_from)
        crash_point(f"batch:item:{state.item_id}:{status}")

    # ------------------------------------------------------------------ stop, progress, result
    def _stop_if_requested(self) -> None:
        signal = self.ctx.stop_signal()
        if signal is None:
            self.ctx.lease.check()
            return
        control = "cancel" if signal == "cancel" else "pause"
        for item_id in self.in_flight:
            run_id = self.states[item_id].run_id
            if run_id is None:
                continue
            try:
                self.api.apply_control(run_id, control, reason=f"the batch was asked to {signal}")
            except YTTError:
                pass  # already over
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self.in_flight and time.monotonic() < deadline:
            self._collect()
            time.sleep(POLL_SECONDS)
        self.ctx.checkpoint()
        raise StopRequested(f"{signal} requested", details={"signal": signal})

    def _report(self) -> None:
        counts = count_statuses(self.states.values())
        done = sum(counts.get(status, 0) for status in ("finished", "skipped", "failed", "cancelled", "waiting"))
        total = max(len(self.states), 1)
        self.ctx.report_progress(done / total, f"{done}/{len(self.states)} items settled, "
                                 f"{len(self.in_flight)} in flight")

    def _result(self) -> PhaseResult:
        counts = count_statuses(self.states.values())
        unfinished = [state for state in self.states.values() if self._retryable(state)]
        if unfinished:
            first = next((s.error for s in unfinished if s.error), None) or {}
            hint = first.get("hint")
            raise ItemsUnfinishedError(
                f"{len(unfinished)} of {len(self.states)} items are not done ("
                + ", ".join(f"{n} {status}" for status, n in counts.items()) + ")"
                + (f"; first: {first.get('code')}: {str(first.get('message') or '')[:200]}" if first else ""),
                hint=hint or "{resume} retries them",
                details={"counts": counts, "unfinished": [
                    {"item_id": s.item_id, "run_id": s.run_id, "status": s.status, "code": (s.error or {}).get("code")}
                    for s in unfinished[:10]]},
            )
        results = [state.model_dump(mode="json", include={"item_id", "status", "run_id", "reused_from", "outputs",
                                                          "error"}) for state in self.states.values()]
        return PhaseResult(outputs={"batch.results": PhaseOutput.json({"items": results, "counts": counts},
                                                                      "results.json")},
                           summary={"counts": counts})


def _error(exc: YTTError) -> dict[str, Any]:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message[:500]}
    if exc.hint:
        error["hint"] = exc.hint
    return error


def unblock_hosts(states: Mapping[str, ItemState], limiter: HostLimiter) -> list[str]:
    """Lift the host blocks that made items wait (resuming the batch is the request to try again)."""
    hosts = sorted({str((state.error or {}).get("host")) for state in states.values()
                    if state.status == "waiting" and (state.error or {}).get("host")})
    return [host for host in hosts if limiter.unblock(host)]


def results_path(work_dir: Path) -> Path:
    return work_dir / "artifacts" / "process" / "results.json"
