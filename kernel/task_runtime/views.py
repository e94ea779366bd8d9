"""What callers see of a run: observation, policy evaluation, progress, envelopes and inspect detail pages.

Pure view building: every function reads the work_dir (and a worker's live status) and returns a view or
an error to raise; none of them changes the run.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

from . import control
from .clock import Clock
from .contracts import (
    TERMINAL_STATES,
    CommandEnvelope,
    Failure,
    Manifest,
    Observation,
    PhaseRow,
    PolicyEvaluation,
    Progress,
    RunState,
    TaskSpec,
    WorkerStatus,
)
from .errors import ActionNotAllowedError, InvalidInputError, LeaseHeldError, YTTError
from .lease import holder_gone_reason, read_lease
from .phases import decide_phase
from .pipeline_spec import PipelineSpec, gate_phases
from .policy import evaluate
from .telemetry import iter_events, page_events, summarize
from .workdir import RunDir
from .worker import Worker


def load_params(pipeline: PipelineSpec, task: TaskSpec) -> Any:
    return pipeline.load_params(task.params)


# --------------------------------------------------------------------- observe / evaluate
def observe(
    pipeline: PipelineSpec,
    settings: Any,
    clock: Clock,
    run_dir: RunDir,
    task: TaskSpec,
    manifest: Manifest,
    worker: Worker | None,
) -> Observation:
    params = load_params(pipeline, task)
    due = [
        p.name
        for p in gate_phases(pipeline)
        if decide_phase(p, manifest, run_dir, params, settings, deep=False).run
    ]
    gate_done = not due and all(
        manifest.phases.get(p.name) is not None and manifest.phases[p.name].status == "succeeded"
        for p in gate_phases(pipeline)
    )
    lease = read_lease(run_dir.path)
    host = socket.gethostname()
    live = lease is not None and holder_gone_reason(lease, now=clock.now(), host=host) is None
    owned_here = lease is not None and lease.pid == os.getpid() and lease.host == host
    verdict = pipeline.quality(run_dir, manifest) if gate_done else None
    return Observation(
        run_id=task.run_id,
        state=manifest.state,
        next_phase=due[0] if due else None,
        due_phases=due,
        failure=failure_of(manifest),
        pause_requested=control.pending(run_dir.path, "pause") is not None,
        cancel_requested=control.pending(run_dir.path, "cancel") is not None,
        lease_live=live,
        lease_owned_here=owned_here,
        worker=worker.status if worker else WorkerStatus(),
        gate_phase_done=gate_done,
        quality_status=verdict.status if verdict else None,
        degraded_accepted=manifest.degraded_accepted,
        domain=pipeline.observe_domain(run_dir, manifest),
    )


def failure_of(manifest: Manifest) -> Failure | None:
    """The run's failure (phase and cause) while it is failed; None otherwise."""
    if manifest.state != RunState.FAILED or not manifest.failure:
        return None
    recorded = manifest.failure
    return Failure(phase=recorded.get("phase"), code=str(recorded.get("code") or "phase_failed"),
                   message=str(recorded.get("message") or ""), permanent=bool(recorded.get("permanent")))


def evaluate_policy(pipeline: PipelineSpec, obs: Observation) -> PolicyEvaluation:
    return evaluate(obs, pipeline.actions)


def lease_live(run_dir: RunDir, clock: Clock) -> bool:
    lease = read_lease(run_dir.path)
    return lease is not None and holder_gone_reason(lease, now=clock.now(), host=socket.gethostname()) is None


# --------------------------------------------------------------------- progress
def weighted_fraction(pipeline: PipelineSpec, weights: Mapping[str, float], done: set[str],
                      current: str | None, current_progress: float | None) -> float:
    """The share of the expected work done: finished phases' weights plus the running phase's weight
    times its own progress, over all phases' weights (a phase without a weight weighs 1)."""
    def weight(name: str) -> float:
        return max(float(weights.get(name, 1.0)), 0.0)

    total = sum(weight(p.name) for p in pipeline.phases)
    if total <= 0:
        return 0.0
    finished = sum(weight(p.name) for p in pipeline.phases if p.name in done)
    if current is not None and current not in done and current_progress is not None:
        finished += weight(current) * min(max(current_progress, 0.0), 1.0)
    return round(min(finished / total, 1.0), 4)


def progress(pipeline: PipelineSpec, settings: Any, task: TaskSpec, manifest: Manifest,
             obs: Observation) -> Progress:
    done = {
        p.name
        for p in pipeline.phases
        if p.name in manifest.phases
        and manifest.phases[p.name].status == "succeeded"
        and p.name not in obs.due_phases
    }
    current = obs.worker.phase or obs.next_phase
    weights = pipeline.phase_weights(load_params(pipeline, task), settings, manifest)
    return Progress(
        phases_done=len(done),
        phases_total=len(pipeline.phases),
        current_phase=current,
        phase_progress=obs.worker.progress,
        message=obs.worker.message,
        counts=pipeline.progress_counts(obs.domain),
        fraction=weighted_fraction(pipeline, weights, done, current, obs.worker.progress),
    )


def live_progress(pipeline: PipelineSpec, settings: Any, run_dir: RunDir, worker: Worker) -> Progress:
    """Progress while a job runs: the worker's live status plus one manifest and task read."""
    manifest = run_dir.read_manifest()
    status = worker.status
    done = {p.name for p in pipeline.phases
            if p.name in manifest.phases and manifest.phases[p.name].status == "succeeded"
            and p.name != status.phase}
    weights = pipeline.phase_weights(load_params(pipeline, run_dir.read_task()), settings, manifest)
    return Progress(phases_done=len(done), phases_total=len(pipeline.phases), current_phase=status.phase,
                    phase_progress=status.progress, message=status.message,
                    fraction=weighted_fraction(pipeline, weights, done, status.phase, status.progress))


# --------------------------------------------------------------------- envelopes
def envelope(
    pipeline: PipelineSpec,
    settings: Any,
    command: str,
    run_dir: RunDir,
    task: TaskSpec,
    manifest: Manifest,
    obs: Observation,
    evaluation: PolicyEvaluation | None = None,
    **extra: Any,
) -> CommandEnvelope:
    evaluation = evaluation or evaluate_policy(pipeline, obs)
    warnings = [*pipeline.notices(manifest), *extra.pop("warnings", [])]
    if obs.pause_requested and obs.state != RunState.PAUSED:
        warnings.append("a pause was requested; the run stops at its next safe point")
    if obs.cancel_requested and obs.state not in TERMINAL_STATES:
        warnings.append("a cancel was requested; the run ends at its next safe point")
    return CommandEnvelope(
        command=command,
        run_id=task.run_id,
        work_dir=str(run_dir.path),
        state=manifest.state,
        allowed_actions=evaluation.allowed_actions,
        next_step=evaluation.next_step,
        progress=progress(pipeline, settings, task, manifest, obs),
        outputs=pipeline.output_paths(load_params(pipeline, task), settings, manifest) or None,
        awaiting_input=None if obs.worker.running else pipeline.awaiting_input(run_dir, manifest),
        warnings=warnings,
        **extra,
    )


def quality_data(pipeline: PipelineSpec, run_dir: RunDir, manifest: Manifest) -> dict[str, Any] | None:
    verdict = pipeline.quality(run_dir, manifest)
    return None if verdict is None else {"status": verdict.status, **verdict.summary}


# --------------------------------------------------------------------- inspect detail pages
def phase_rows(pipeline: PipelineSpec, manifest: Manifest) -> list[PhaseRow]:
    return [
        PhaseRow(
            name=p.name,
            status=manifest.phases[p.name].status if p.name in manifest.phases else "pending",
            runs=manifest.phases[p.name].runs if p.name in manifest.phases else 0,
            skips=manifest.phases[p.name].skips if p.name in manifest.phases else 0,
            note=phase_note(manifest, p.name),
        )
        for p in pipeline.phases
    ]


RUNTIME_DETAILS = ("summary", "phases", "telemetry")


def detail_names(pipeline: PipelineSpec) -> list[str]:
    """Every inspect detail: the runtime's, then the pipeline's."""
    return [*RUNTIME_DETAILS, *(name for name in pipeline.details if name not in RUNTIME_DETAILS)]


def detail_data(
    pipeline: PipelineSpec, run_dir: RunDir, manifest: Manifest, *, detail: str, cursor: int, limit: int,
    name: str | None = None,
) -> dict[str, Any]:
    """The data of one inspect page (``name`` is passed to the pipeline's detail pages).

    Raises:
        InvalidInputError: ``detail`` is not one of ``detail_names(pipeline)`` (code ``unknown_detail``),
            or a ``name`` is given to a runtime detail, which takes none (code ``invalid_option``).
    """
    if detail not in detail_names(pipeline):
        raise InvalidInputError(
            f"unknown detail {detail!r}", code="unknown_detail",
            details={"field": "detail", "allowed": detail_names(pipeline)},
        )
    if name is not None and detail in RUNTIME_DETAILS:
        raise InvalidInputError(f"detail {detail!r} takes no name (got {name!r})", code="invalid_option",
                                hint="leave name out for this detail", details={"field": "name"})
    data: dict[str, Any] = {"detail": detail}
    if manifest.failure:
        data["failure"] = manifest.failure
    if detail == "telemetry":
        events, next_cursor = page_events(run_dir.path, cursor=cursor, limit=limit)
        summary = summarize(run_dir.path)
        summary.update(pipeline.summarize_telemetry(iter_events(run_dir.path)))
        data.update(events=events, next_cursor=next_cursor, summary=summary)
    elif detail in RUNTIME_DETAILS:
        data["domain"] = pipeline.observe_domain(run_dir, manifest)
    else:
        data.update(pipeline.details[detail](run_dir, manifest, cursor=cursor, limit=limit, name=name))
    return data


def phase_note(manifest: Manifest, name: str) -> str | None:
    record = manifest.phases.get(name)
    if record is None:
        return None
    if record.status == "failed" and record.error:
        return f"{record.error.get('code')}: {record.error.get('message')}"
    if record.last_skip_reason and record.skips:
        return f"skipped: {record.last_skip_reason}"
    if record.runs > 1 and record.run_reason:
        return f"re-ran: {record.run_reason}"
    return None


# --------------------------------------------------------------------- refusals
def owned_by_other(run_dir: RunDir) -> YTTError:
    lease = read_lease(run_dir.path)
    assert lease is not None
    return LeaseHeldError(
        f"run in {run_dir.path.name} is owned by pid {lease.pid} on {lease.host} "
        f"(generation {lease.generation}, command {lease.command or '?'})",
        hint="only pause and cancel work while another process drives the run",
        details={"owner_pid": lease.pid, "owner_host": lease.host, "generation": lease.generation,
                 "heartbeat_at": lease.heartbeat_at},
    )


def not_allowed(requested: str, allowed: list[str], why: str) -> YTTError:
    return ActionNotAllowedError(
        f"{requested} is not allowed: {why}", hint="the run has ended and cannot change; {new_run}",
        details={"requested": requested, "allowed_actions": allowed},
    )
