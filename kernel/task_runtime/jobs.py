"""The action bodies: the jobs the background worker executes, and resuming a paused run.

A job runs in the worker thread under the worker's lease. It checks for a pause or cancel request
between phases (and the phase runner at its safe points) and honours one by stopping the run there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import control
from .clock import Clock
from .contracts import Action, ActionResult, LifecycleState, Manifest, TaskSpec
from .errors import StopRequested
from .lease import Lease
from .phases import Phase, PhaseRunner
from .pipeline_spec import ActionContext, PipelineSpec, final_phases, gate_phases
from .workdir import RunDir
from .worker import Worker


class Jobs:
    """What the jobs need of the runtime: the pipeline, its settings, the clock and the lease ttl."""

    def __init__(self, pipeline: PipelineSpec, settings: Any, clock: Clock, lease_ttl_seconds: float) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.clock = clock
        self.lease_ttl_seconds = lease_ttl_seconds

    def _params(self, task: TaskSpec) -> Any:
        return self.pipeline.load_params(task.params)

    # ----------------------------------------------------------------- jobs (run in the worker)
    def job_run_phases(self, worker: Worker, run_dir: RunDir, task: TaskSpec) -> ActionResult:
        manifest = self._reopen(run_dir, run_dir.read_manifest(), worker.lease)
        try:
            self._run_phases(worker, run_dir, task, gate_phases(self.pipeline), manifest)
        except StopRequested:
            return self._honour_stop(worker, run_dir, Action.RUN_PHASE)
        return ActionResult(
            action=Action.RUN_PHASE,
            status="completed",
            detail=f"phases ran up to the quality gate ({self.pipeline.gate_phase})",
        )

    def job_domain(
        self, worker: Worker, action: Action, run_dir: RunDir, task: TaskSpec, args: dict[str, Any]
    ) -> ActionResult:
        manifest = self._reopen(run_dir, run_dir.read_manifest(), worker.lease)
        ctx = ActionContext(
            run_dir=run_dir,
            lease=worker.lease,
            manifest=manifest,
            params=self._params(task),
            settings=self.settings,
            args=args,
        )
        try:
            result, continue_phases = self.pipeline.execute_domain_action(action, ctx)
            if continue_phases:
                self._run_phases(worker, run_dir, task, gate_phases(self.pipeline), run_dir.read_manifest())
        except StopRequested:
            return self._honour_stop(worker, run_dir, action)
        return result

    def job_finalize(self, worker: Worker, run_dir: RunDir, task: TaskSpec, accept_degraded: bool) -> ActionResult:
        action = Action.ACCEPT_DEGRADED if accept_degraded else Action.FINALIZE
        manifest = run_dir.read_manifest()
        try:
            manifest = self._run_phases(worker, run_dir, task, final_phases(self.pipeline), manifest)
        except StopRequested:
            return self._honour_stop(worker, run_dir, action)
        outputs = self.pipeline.publish(run_dir, manifest, self._params(task), self.settings)
        worker.lease.check()
        manifest = run_dir.commit(
            manifest.model_copy(update={"outputs": outputs, "degraded_accepted": accept_degraded}), worker.lease
        )
        target = LifecycleState.COMPLETED_DEGRADED if accept_degraded else LifecycleState.COMPLETED
        _, transition = run_dir.transition(manifest, target, "finalized", worker.lease)
        return ActionResult(
            action=action,
            status="completed",
            detail="outputs assembled and published",
            transition=transition,
            data={"outputs": outputs},
        )

    # ----------------------------------------------------------------- resume a paused run (no worker)
    def resume_paused(self, run_dir: RunDir, task: TaskSpec) -> ActionResult:
        control.clear(run_dir.path, "pause")
        manifest = run_dir.read_manifest()
        if manifest.state != LifecycleState.PAUSED:
            return ActionResult(action=Action.RESUME, status="completed", detail="pause request cleared")
        with Lease.acquire(
            run_dir.path, clock=self.clock, ttl_seconds=self.lease_ttl_seconds, command="resume"
        ) as lease:
            manifest = run_dir.read_manifest()
            target = manifest.state_before_pause or LifecycleState.CREATED
            _, transition = run_dir.transition(manifest, target, "resumed", lease)
        return ActionResult(action=Action.RESUME, status="completed", detail="resumed", transition=transition)

    # ----------------------------------------------------------------- helpers of the jobs
    def _stop_signal(self, run_dir: RunDir) -> Callable[[], str | None]:
        return lambda: control.stop_requested(run_dir.path)

    def _reopen(self, run_dir: RunDir, manifest: Manifest, lease: Lease) -> Manifest:
        """Leave FAILED (a retry) for the state that matches the work already done."""
        if manifest.state != LifecycleState.FAILED:
            return manifest
        target = LifecycleState.CREATED
        for phase in self.pipeline.phases:
            record = manifest.phases.get(phase.name)
            if record is not None and record.status == "succeeded" and phase.state_on_success is not None:
                target = phase.state_on_success
        manifest, _ = run_dir.transition(manifest, target, "retrying after failure", lease)
        return manifest

    def _run_phases(
        self, worker: Worker, run_dir: RunDir, task: TaskSpec, phases: list[Phase], manifest: Manifest
    ) -> Manifest:
        runner = PhaseRunner(
            run_dir,
            worker.lease,
            self.pipeline.phases,
            self._params(task),
            self.settings,
            run_dir.telemetry(task.run_id),
            self.clock,
        )
        stop_signal = self._stop_signal(run_dir)
        for phase in phases:
            signal = stop_signal()
            if signal is not None:
                raise StopRequested(f"{signal} requested", details={"signal": signal})
            worker.update(phase=phase.name, progress=None, message=None)
            manifest, _ = runner.execute(
                phase,
                manifest,
                stop_signal=stop_signal,
                report_progress=lambda fraction, message: worker.update(progress=fraction, message=message),
            )
        return manifest

    def _honour_stop(self, worker: Worker, run_dir: RunDir, action: Action) -> ActionResult:
        manifest = run_dir.read_manifest()
        signal = control.stop_requested(run_dir.path)
        if signal == "cancel":
            _, transition = run_dir.transition(
                manifest, LifecycleState.CANCELLED, "cancel honoured at a safe point", worker.lease
            )
            return ActionResult(
                action=action, status="stopped", detail="cancelled at a safe point", transition=transition
            )
        _, transition = run_dir.transition(
            manifest, LifecycleState.PAUSED, "pause honoured at a safe point", worker.lease
        )
        return ActionResult(
            action=action,
            status="stopped",
            detail="paused at a safe point; resume-run continues",
            transition=transition,
        )
