"""The action bodies: the jobs the background worker executes, and resuming a paused run.

A job runs in the worker thread under the worker's lease. It checks for a pause or cancel request
between phases (and the phase runner at its safe points) and honours one by stopping the run there.
When a job has driven the phases up to the quality gate, the run settles in ``ready`` (the gate passed)
or ``awaiting_decision`` (degraded or failed gate: the caller chooses).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from . import control
from .actions import ActionContext
from .clock import Clock
from .contracts import ActionResult, Manifest, RunState, RuntimeAction, TaskSpec
from .errors import InputRequired, StopRequested
from .lease import Lease
from .phases import Phase, PhaseRunner
from .pipeline_spec import PipelineSpec, final_phases, gate_phases
from .workdir import RunDir
from .worker import Worker

SHUTDOWN = "shutdown"  # the stop signal of a process that is shutting down (never a file)


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
            manifest = self._run_phases(worker, run_dir, task, gate_phases(self.pipeline), manifest)
        except StopRequested:
            return self._honour_stop(worker, run_dir, RuntimeAction.RUN_PHASE)
        except InputRequired as waiting:
            return ActionResult(action=RuntimeAction.RUN_PHASE, status="completed",
                                detail=f"waiting for input: {waiting.message}")
        transition = self._settle_at_gate(run_dir, manifest, worker.lease)
        return ActionResult(
            action=RuntimeAction.RUN_PHASE,
            status="completed",
            detail=f"phases ran up to the quality gate ({self.pipeline.gate_phase})",
            transition=transition,
        )

    def run_domain_action(self, lease: Lease, name: str, run_dir: RunDir, task: TaskSpec,
                          args: dict[str, Any]) -> tuple[ActionResult, bool]:
        """Execute the domain action ``name`` under ``lease``; returns its result and whether the phases
        should be driven on afterwards."""
        ctx = ActionContext(run_dir=run_dir, lease=lease, manifest=run_dir.read_manifest(),
                            params=self._params(task), settings=self.settings, args=args)
        outcome = self.pipeline.actions.domain_action(name).executor(ctx)
        # Only an action that went through leaves failed / awaiting_input: a refused one changes nothing.
        self._reopen(run_dir, run_dir.read_manifest(), lease)
        return outcome.result, outcome.continue_phases

    def job_domain(self, worker: Worker, name: str, run_dir: RunDir, task: TaskSpec,
                   args: dict[str, Any]) -> ActionResult:
        try:
            result, continue_phases = self.run_domain_action(worker.lease, name, run_dir, task, args)
            if continue_phases:
                manifest = self._run_phases(worker, run_dir, task, gate_phases(self.pipeline),
                                            run_dir.read_manifest())
                self._settle_at_gate(run_dir, manifest, worker.lease)
        except StopRequested:
            return self._honour_stop(worker, run_dir, name)
        except InputRequired:
            pass  # the run waits for the caller's input; the action itself is done
        return result

    def job_finalize(self, worker: Worker, run_dir: RunDir, task: TaskSpec, accept_degraded: bool) -> ActionResult:
        action = RuntimeAction.ACCEPT_DEGRADED if accept_degraded else RuntimeAction.FINALIZE
        manifest = run_dir.read_manifest()
        try:
            manifest = self._run_phases(worker, run_dir, task, final_phases(self.pipeline), manifest)
        except StopRequested:
            return self._honour_stop(worker, run_dir, action)
        published = self.pipeline.publish(run_dir, manifest, self._params(task), self.settings)
        worker.lease.check()
        manifest = run_dir.commit(
            manifest.model_copy(update={"outputs": published.files, "output_fingerprints": published.fingerprints,
                                        "degraded_accepted": accept_degraded}), worker.lease
        )
        target = RunState.COMPLETED_DEGRADED if accept_degraded else RunState.COMPLETED
        _, transition = run_dir.transition(manifest, target, "finalized", worker.lease)
        return ActionResult(
            action=action,
            status="completed",
            detail="outputs assembled and published",
            transition=transition,
            data={"outputs": published.files, "notes": published.notes},
        )

    # ----------------------------------------------------------------- resume a paused run (no worker)
    def resume_paused(self, run_dir: RunDir, task: TaskSpec) -> ActionResult:
        control.clear(run_dir.path, "pause")
        manifest = run_dir.read_manifest()
        if manifest.state != RunState.PAUSED:
            return ActionResult(action=RuntimeAction.RESUME, status="completed", detail="pause request cleared")
        with Lease.acquire(
            run_dir.path, clock=self.clock, ttl_seconds=self.lease_ttl_seconds, command="resume"
        ) as lease:
            manifest = run_dir.read_manifest()
            target = manifest.state_before_pause or RunState.CREATED
            _, transition = run_dir.transition(manifest, target, "resumed", lease)
        return ActionResult(action=RuntimeAction.RESUME, status="completed", detail="resumed", transition=transition)

    # ----------------------------------------------------------------- helpers of the jobs
    def _reopen(self, run_dir: RunDir, manifest: Manifest, lease: Lease) -> Manifest:
        """Leave ``failed`` (a retry or a domain remedy) or ``awaiting_input`` (the input was given): the
        next phase to run sets its own state."""
        if manifest.state not in (RunState.FAILED, RunState.AWAITING_INPUT):
            return manifest
        reason = "retrying after failure" if manifest.state == RunState.FAILED else "input given"
        manifest, _ = run_dir.transition(manifest, RunState.PROCESSING, reason, lease)
        return manifest

    def _settle_at_gate(self, run_dir: RunDir, manifest: Manifest, lease: Lease) -> Any:
        """After the phases up to the gate: ``ready`` when it passed, else ``awaiting_decision``."""
        verdict = self.pipeline.quality(run_dir, manifest)
        if verdict is None:
            return None
        target = RunState.READY if verdict.status == "pass" else RunState.AWAITING_DECISION
        _, transition = run_dir.transition(run_dir.read_manifest(), target, f"quality gate: {verdict.status}", lease)
        return transition

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
        def stop_signal() -> str | None:
            return SHUTDOWN if worker.shutting_down.is_set() else control.stop_requested(run_dir.path)

        for phase in phases:
            signal = stop_signal()
            if signal is not None:
                raise StopRequested(f"{signal} requested", details={"signal": signal})
            # Progress names a phase only once it runs: a finished phase that is checked and skipped
            # (e.g. after resume) is never shown as running.
            worker.update(phase=None, progress=None, message=None)
            manifest, _ = runner.execute(
                phase,
                manifest,
                stop_signal=stop_signal,
                report_progress=lambda fraction, message: worker.update(progress=fraction, message=message),
                on_start=partial(worker.update, phase=phase.name, progress=None, message=None),
            )
        return manifest

    def _honour_stop(self, worker: Worker, run_dir: RunDir, action: str) -> ActionResult:
        manifest = run_dir.read_manifest()
        if worker.shutting_down.is_set():
            return ActionResult(action=action, status="stopped",
                                detail="stopped at a safe point because this process is shutting down; "
                                "finished work is kept and the run can be resumed")
        signal = control.stop_requested(run_dir.path)
        if signal == "cancel":
            _, transition = run_dir.transition(
                manifest, RunState.CANCELLED, "cancel honoured at a safe point", worker.lease
            )
            return ActionResult(
                action=action, status="stopped", detail="cancelled at a safe point", transition=transition
            )
        _, transition = run_dir.transition(manifest, RunState.PAUSED, "pause honoured at a safe point", worker.lease)
        return ActionResult(
            action=action,
            status="stopped",
            detail="paused at a safe point; finished work is kept",
            transition=transition,
        )
