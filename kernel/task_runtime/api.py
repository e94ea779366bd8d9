"""The six run operations, shared by the MCP server, the CLI and the scripts.

Every mutating command follows: Observe (read the work_dir) -> Evaluate (policy: allowed_actions) ->
Decide (rule-first; a requested action must be allowed) -> Validate -> Act (under the lease, long work
in a background worker) -> Commit (atomic writes) -> Transition (recorded in telemetry).

No operation blocks longer than its ``wait_seconds`` (capped at ``MAX_WAIT_SECONDS``): long work goes on
in the worker and the next call observes it.

This module holds the six operations and run lookup; the jobs the worker executes are in ``jobs``, and
what callers see (observation, policy evaluation, progress, envelopes, inspect pages) is built in ``views``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from . import control, views
from .clock import Clock, SystemClock, new_run_id
from .contracts import (
    FINISHED_STATES,
    TERMINAL_STATES,
    ActionResult,
    CommandEnvelope,
    DecisionRecord,
    Manifest,
    Observation,
    PolicyEvaluation,
    Progress,
    RunState,
    RuntimeAction,
    TaskSpec,
)
from .errors import (
    InvalidInputError,
    PathNotAllowedError,
    PhaseFailedError,
    RunNotFoundError,
    YTTError,
)
from .jobs import Jobs
from .lease import Lease
from .pipeline_spec import PipelineSpec
from .pipelines import PipelineSet
from .policy import decide
from .store import atomic_write_json, atomic_write_text, iter_jsonl
from .workdir import RunDir
from .worker import Worker

MAX_WAIT_SECONDS = 55.0
PROGRESS_INTERVAL = 0.5  # seconds between progress reports while a command waits
DEFAULT_WAIT_SECONDS = 20.0
ProgressCallback = Callable[[Progress], None]


def clamp_wait(wait_seconds: float | None) -> float:
    if wait_seconds is None:
        return DEFAULT_WAIT_SECONDS
    return max(0.0, min(float(wait_seconds), MAX_WAIT_SECONDS))


class RuntimeApi:
    def __init__(
        self,
        pipeline: PipelineSpec | PipelineSet,
        settings: Any,
        *,
        runs_root: Path,
        allowed_roots: list[Path],
        clock: Clock | None = None,
        lease_ttl_seconds: float = 30.0,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
        allowed_roots_hint: str = "use a folder inside the allowed roots",
    ) -> None:
        # Every run is served by the pipeline its TaskSpec names; ``pipeline`` is the primary one.
        self.pipelines = pipeline if isinstance(pipeline, PipelineSet) else PipelineSet(pipeline)
        self.pipeline = self.pipelines.primary
        self.settings = settings
        self.runs_root = runs_root
        self.allowed_roots = allowed_roots
        self.clock = clock or SystemClock()
        self.lease_ttl_seconds = lease_ttl_seconds
        self.max_wait_seconds = max_wait_seconds
        self.allowed_roots_hint = allowed_roots_hint
        self._workers: dict[str, Worker] = {}
        self._jobs = {spec.name: Jobs(spec, settings, self.clock, lease_ttl_seconds) for spec in self.pipelines}
        self.states = frozenset({*RunState, *self.pipelines.states})

    def _run_dir(self, path: Path) -> RunDir:
        return RunDir(path, self.clock, self.states)

    def pipeline_of(self, task: TaskSpec) -> PipelineSpec:
        """The pipeline that serves the run of ``task``."""
        return self.pipelines.named(task.pipeline)

    # ----------------------------------------------------------------- run lookup
    def _within_roots(self, path: Path) -> bool:
        resolved = path.expanduser().resolve()
        return any(resolved == root or root in resolved.parents for root in self.allowed_roots)

    def resolve(self, run_ref: str) -> RunDir:
        """A run by id (under ``runs_root`` or a recorded custom work_dir) or by work_dir path.

        Raises:
            RunNotFoundError: no such run.
            PathNotAllowedError: a path outside the allowed roots.
        """
        if not run_ref or not run_ref.strip():
            raise InvalidInputError("run_id is empty", hint="pass the run_id the run was created with, or its work_dir path")
        candidate = self.runs_root / run_ref
        if "/" not in run_ref and os.sep not in run_ref:
            if (candidate / ".runtime_task.json").is_file():
                return self._run_dir(candidate)
            link = self.runs_root / f"{run_ref}.link"
            if link.is_file():
                return self._run_dir(Path(link.read_text(encoding="utf-8").strip()))
        path = Path(run_ref).expanduser()
        if path.is_dir() and (path / ".runtime_task.json").is_file():
            if not self._within_roots(path):
                raise PathNotAllowedError(
                    f"work_dir {run_ref} is outside the allowed roots", hint=self.allowed_roots_hint
                )
            return self._run_dir(path.resolve())
        raise RunNotFoundError(
            f"unknown run {run_ref!r}: no run with that id or work_dir",
            hint="check the run_id (runs are listed by the runs listing of the front end you use)",
            details={"run_id": run_ref},
        )

    def list_runs(self) -> list[dict[str, Any]]:
        """Every run under ``runs_root`` (and linked custom work_dirs), oldest first. A run whose files do not
        validate is listed too, as ``damaged``, with the file and JSON pointer at fault."""
        runs: list[dict[str, Any]] = []
        if not self.runs_root.is_dir():
            return runs
        for entry in sorted(self.runs_root.iterdir()):
            ref = entry.name[:-5] if entry.name.endswith(".link") else entry.name
            if not entry.is_dir() and not entry.name.endswith(".link"):
                continue
            try:
                run_dir = self.resolve(ref)
                task = run_dir.read_task()
                manifest = run_dir.read_manifest()
            except RunNotFoundError:
                continue  # not a run (a stray folder, or a link to a work_dir that is gone)
            except YTTError as exc:
                runs.append({"run_id": ref, "state": "damaged", "created_at": None, "source": None,
                             "work_dir": str(entry if entry.is_dir() else ref),
                             "damaged": {"code": exc.code, "message": exc.message,
                                         **{k: exc.details[k] for k in ("file", "pointer") if k in exc.details}}})
                continue
            runs.append(
                {
                    "run_id": task.run_id,
                    "state": manifest.state,
                    "created_at": task.created_at,
                    "source": task.params.get("source"),
                    "pipeline": task.pipeline,
                    "work_dir": str(run_dir.path),
                }
            )
        return runs

    def delete_run(self, run_ref: str) -> dict[str, Any]:
        """Remove a run's work_dir (its published outputs stay where they are).

        Raises:
            RunNotFoundError: no such run.
            LeaseHeldError: a live process drives the run.
        """
        run_dir = self.resolve(run_ref)
        if views.lease_live(run_dir, self.clock) or self._worker(run_dir.path.name) is not None:
            raise views.owned_by_other(run_dir)
        size = _tree_size(run_dir.path)
        run_id = run_dir.path.name
        try:
            run_id = run_dir.read_task().run_id
        except YTTError:
            pass
        shutil.rmtree(run_dir.path)
        (self.runs_root / f"{run_id}.link").unlink(missing_ok=True)
        return {"run_id": run_id, "work_dir": str(run_dir.path), "freed_bytes": size}

    def prune_runs(self, older_than_seconds: float, *, dry_run: bool = False) -> dict[str, Any]:
        """Delete finished, cancelled and failed runs created more than ``older_than_seconds`` ago (paused,
        waiting and running runs are kept: they may still be resumed). Returns what was (or would be) freed."""
        cutoff = self.clock.now().timestamp() - older_than_seconds
        pruned: list[dict[str, Any]] = []
        for run in self.list_runs():
            if run["state"] not in (*TERMINAL_STATES, RunState.FAILED) or not run.get("created_at"):
                continue
            from datetime import datetime

            if datetime.fromisoformat(str(run["created_at"])).timestamp() >= cutoff:
                continue
            if dry_run:
                pruned.append({"run_id": run["run_id"], "work_dir": run["work_dir"],
                               "freed_bytes": _tree_size(Path(run["work_dir"]))})
                continue
            try:
                pruned.append(self.delete_run(str(run["run_id"])))
            except YTTError:
                continue  # driven by a live process right now: kept
        return {"runs": pruned, "freed_bytes": sum(int(r["freed_bytes"]) for r in pruned), "dry_run": dry_run}

    # ----------------------------------------------------------------- observe / evaluate
    def _worker(self, run_id: str) -> Worker | None:
        worker = self._workers.get(run_id)
        if worker is not None and worker.done.is_set():
            return None
        return worker

    def observe(self, run_dir: RunDir, task: TaskSpec, manifest: Manifest) -> Observation:
        return views.observe(
            self.pipeline_of(task), self.settings, self.clock, run_dir, task, manifest, self._worker(task.run_id)
        )

    def _evaluate(self, obs: Observation, task: TaskSpec) -> PolicyEvaluation:
        return views.evaluate_policy(self.pipeline_of(task), obs)

    def _envelope(self, command: str, run_dir: RunDir, **extra: Any) -> CommandEnvelope:
        task = run_dir.read_task()
        manifest = run_dir.read_manifest()
        obs = self.observe(run_dir, task, manifest)
        return views.envelope(self.pipeline_of(task), self.settings, command, run_dir, task, manifest, obs, **extra)

    def evaluate(self, run_ref: str) -> PolicyEvaluation:
        """The run's allowed actions and next step, as advance-run would see them now (read-only)."""
        run_dir = self.resolve(run_ref)
        task = run_dir.read_task()
        return self._evaluate(self.observe(run_dir, task, run_dir.read_manifest()), task)

    # ----------------------------------------------------------------- create
    def create_run(self, raw_params: Mapping[str, Any], *, work_dir: str | None = None) -> CommandEnvelope:
        """Validate intent and create the work_dir.

        Raises:
            InvalidInputError: a bad option value or source (names the field and what to do).
            PathNotAllowedError: work_dir or a path parameter is outside the allowed roots.
        """
        pipeline = self.pipelines.for_create(raw_params)
        params = pipeline.parse_params(raw_params, self.settings)
        run_id = new_run_id(self.clock)
        if work_dir:
            path = Path(work_dir).expanduser().resolve()
            if not self._within_roots(path):
                raise PathNotAllowedError(
                    f"work_dir {work_dir} is outside the allowed roots",
                    hint=self.allowed_roots_hint,
                )
            if path.exists() and any(path.iterdir()):
                raise InvalidInputError(
                    f"work_dir {work_dir} exists and is not empty", hint="pass an empty or new folder, or omit work_dir"
                )
        else:
            path = self.runs_root / run_id
        path.mkdir(parents=True, exist_ok=True)
        run_dir = self._run_dir(path)
        with Lease.acquire(path, clock=self.clock, ttl_seconds=self.lease_ttl_seconds, command="create-run") as lease:
            manifest = Manifest(run_id=run_id, state=RunState.CREATED)
            run_dir.commit(manifest, lease)
            task = TaskSpec(
                run_id=run_id,
                created_at=self.clock.now().isoformat(),
                pipeline=pipeline.name,
                params=params.model_dump(mode="json"),
            )
            # The task file is written last: its presence is what makes the run exist.
            atomic_write_json(run_dir.task_path, task.model_dump(mode="json"))
        if work_dir:
            atomic_write_text(self.runs_root / f"{run_id}.link", str(path) + "\n")
        run_dir.telemetry(run_id).emit("command", command="create-run", pipeline=pipeline.name)
        return self._envelope("create-run", run_dir)

    # ----------------------------------------------------------------- inspect
    def inspect_run(
        self,
        run_ref: str,
        *,
        detail: str = "summary",
        cursor: int = 0,
        limit: int = 50,
        name: str | None = None,
    ) -> CommandEnvelope:
        run_dir = self.resolve(run_ref)
        pipeline = self.pipeline_of(run_dir.read_task())
        manifest = run_dir.read_manifest()
        data = views.detail_data(pipeline, run_dir, manifest, detail=detail, cursor=cursor, limit=limit,
                                 name=name)
        overview = detail in ("summary", "phases")  # pages of a listing leave room for the listing itself
        return self._envelope(
            "inspect-run",
            run_dir,
            phases=views.phase_rows(pipeline, manifest) if overview else None,
            artifacts={k: r.path for k, r in manifest.artifacts.items()} if overview else None,
            data=data,
        )

    # ----------------------------------------------------------------- advance
    def advance_run(
        self,
        run_ref: str,
        *,
        action: str | None = None,
        wait_seconds: float | None = None,
        on_progress: ProgressCallback | None = None,
        args: dict[str, Any] | None = None,
    ) -> CommandEnvelope:
        """Run one allowed action (or the next step's action) and wait up to ``wait_seconds``.

        Raises:
            ActionNotAllowedError: ``action`` is not in allowed_actions.
            LeaseHeldError: another live process owns the run.
        """
        wait = min(clamp_wait(wait_seconds), self.max_wait_seconds)
        run_dir = self.resolve(run_ref)
        task = run_dir.read_task()
        manifest = run_dir.read_manifest()
        run_dir.telemetry(task.run_id).emit("command", command="advance-run", action=action)
        obs = self.observe(run_dir, task, manifest)
        evaluation = self._evaluate(obs, task)
        return self._advance(run_dir, task, obs, evaluation, action, wait, on_progress, args or {}, "advance-run")

    def _advance(
        self,
        run_dir: RunDir,
        task: TaskSpec,
        obs: Observation,
        evaluation: PolicyEvaluation,
        action: str | None,
        wait: float,
        on_progress: ProgressCallback | None,
        args: dict[str, Any],
        command: str,
    ) -> CommandEnvelope:
        if obs.lease_live and not obs.lease_owned_here and action not in (RuntimeAction.PAUSE, RuntimeAction.CANCEL):
            raise views.owned_by_other(run_dir)
        decision = decide(action, evaluation)
        worker = self._worker(task.run_id)
        if decision is None:
            if worker is not None:
                self._wait(worker, wait, run_dir, on_progress, task)
                return self._finish(command, run_dir, None, worker)
            return self._envelope(
                command, run_dir,
                result=ActionResult(action=None, status="noop", detail=evaluation.next_step.reason),
            )
        run_dir.telemetry(task.run_id).emit("decision", **decision.model_dump(mode="json"))
        result, worker = self._act(decision.chosen, run_dir, task, args)
        if worker is not None:
            self._wait(worker, wait, run_dir, on_progress, task)
            return self._finish(command, run_dir, decision, worker)
        return self._envelope(command, run_dir, decision=decision, result=result)

    def _wait(self, worker: Worker, wait: float, run_dir: RunDir, on_progress: ProgressCallback | None,
              task: TaskSpec) -> None:
        deadline = self.clock.monotonic() + wait
        last_report = float("-inf")
        while not worker.done.is_set():
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                return
            worker.wait_for_change(min(remaining, 1.0))
            now = self.clock.monotonic()
            # Reports are throttled and built from the worker's live status plus one manifest read:
            # this thread must not compete with the worker (e.g. re-reading every work-item file) per event.
            if on_progress is not None and not worker.done.is_set() and now - last_report >= PROGRESS_INTERVAL:
                last_report = now
                try:
                    on_progress(views.live_progress(self.pipeline_of(task), self.settings, run_dir, worker))
                except YTTError:
                    pass

    def _finish(self, command: str, run_dir: RunDir, decision: DecisionRecord | None,
                worker: Worker) -> CommandEnvelope:
        action = worker.status.action
        if worker.done.is_set():
            if worker.error is not None:
                error = worker.error
                if isinstance(error, YTTError) and not isinstance(error, PhaseFailedError):
                    raise error
                detail = error.message if isinstance(error, YTTError) else repr(error)
                result = ActionResult(
                    action=action,
                    status="failed",
                    detail=detail,
                    data={"error": error.to_dict()} if isinstance(error, YTTError) else {},
                )
            else:
                result = worker.result or ActionResult(action=action, status="completed", detail="done")
        else:
            status = worker.status
            result = ActionResult(action=action, status="running",
                                  detail=f"still working on {status.phase or 'the run'}")
        return self._envelope(command, run_dir, decision=decision, result=result)

    def _start_worker(
        self, action: str, run_dir: RunDir, task: TaskSpec, body: Callable[[Worker], ActionResult]
    ) -> Worker:
        lease = Lease.acquire(run_dir.path, clock=self.clock, ttl_seconds=self.lease_ttl_seconds, command=action)
        if lease.took_over_from:
            run_dir.telemetry(task.run_id).emit(
                "lease_takeover", generation=lease.generation, reason=lease.took_over_from
            )
        worker = Worker(task.run_id, action, lease, body)
        self._workers[task.run_id] = worker
        worker.start()
        return worker

    def _act(
        self, action: str, run_dir: RunDir, task: TaskSpec, args: dict[str, Any]
    ) -> tuple[ActionResult | None, Worker | None]:
        run_dir.telemetry(task.run_id).emit("action", action=action)
        jobs = self._jobs[task.pipeline]
        if action == RuntimeAction.PAUSE:
            return self._control(run_dir, task, "pause", args.get("reason")), None
        if action == RuntimeAction.CANCEL:
            return self._control(run_dir, task, "cancel", args.get("reason")), None
        if action == RuntimeAction.RESUME:
            return jobs.resume_paused(run_dir, task), None
        if action in (RuntimeAction.FINALIZE, RuntimeAction.ACCEPT_DEGRADED):
            accept = action == RuntimeAction.ACCEPT_DEGRADED
            return None, self._start_worker(
                action, run_dir, task, lambda w: jobs.job_finalize(w, run_dir, task, accept)
            )
        if action == RuntimeAction.RUN_PHASE:
            return None, self._start_worker(action, run_dir, task, lambda w: jobs.job_run_phases(w, run_dir, task))
        if not self.pipeline_of(task).actions.domain_action(action).background:
            with Lease.acquire(run_dir.path, clock=self.clock, ttl_seconds=self.lease_ttl_seconds,
                               command=action) as lease:
                result, continue_phases = jobs.run_domain_action(lease, action, run_dir, task, args)
            if not continue_phases:
                return result, None
            return None, self._start_worker(RuntimeAction.RUN_PHASE, run_dir, task,
                                            lambda w: jobs.job_run_phases(w, run_dir, task))
        return None, self._start_worker(
            action, run_dir, task, lambda w: jobs.job_domain(w, action, run_dir, task, args)
        )

    # ----------------------------------------------------------------- control
    def _control(
        self, run_dir: RunDir, task: TaskSpec, signal: Literal["pause", "cancel"], reason: str | None
    ) -> ActionResult:
        control.request(run_dir.path, signal, reason, self.clock)
        run_dir.telemetry(task.run_id).emit("control", signal=signal, reason=reason)
        action = RuntimeAction.PAUSE if signal == "pause" else RuntimeAction.CANCEL
        if self._worker(task.run_id) is not None or views.lease_live(run_dir, self.clock):
            return ActionResult(
                action=action, status="started", detail=f"{signal} requested; the run stops at its next safe point"
            )
        with Lease.acquire(run_dir.path, clock=self.clock, ttl_seconds=self.lease_ttl_seconds, command=signal) as lease:
            manifest = run_dir.read_manifest()
            target = RunState.PAUSED if signal == "pause" else RunState.CANCELLED
            _, transition = run_dir.transition(manifest, target, f"{signal} requested while idle", lease)
        return ActionResult(action=action, status="completed", detail=f"run {signal}d", transition=transition)

    def apply_control(self, run_ref: str, signal: str, reason: str | None = None) -> CommandEnvelope:
        run_dir = self.resolve(run_ref)
        task = run_dir.read_task()
        manifest = run_dir.read_manifest()
        if signal not in ("pause", "cancel"):
            raise InvalidInputError(
                f"unknown signal {signal!r}; use 'pause' or 'cancel'", code="invalid_option",
                details={"field": "signal", "allowed": ["pause", "cancel"]},
            )
        if manifest.state in TERMINAL_STATES:
            raise views.not_allowed(signal, [], f"run is {manifest.state}")
        result = self._control(run_dir, task, signal, reason)  # type: ignore[arg-type]
        return self._envelope("apply-control", run_dir, result=result)

    # ----------------------------------------------------------------- resume (crash recovery)
    def resume_run(self, run_ref: str) -> CommandEnvelope:
        """Recover a stale lease and interrupted work, clear a pause request.

        Raises:
            LeaseHeldError: the holder is alive (a live holder is never broken).
        """
        run_dir = self.resolve(run_ref)
        task = run_dir.read_task()
        telemetry = run_dir.telemetry(task.run_id)
        telemetry.emit("command", command="resume-run")
        if self._worker(task.run_id) is not None:
            return self._envelope(
                "resume-run", run_dir, data={"recovery": {"note": "a worker in this process is running"}}
            )
        summary: dict[str, Any] = {}
        with Lease.acquire(
            run_dir.path, clock=self.clock, ttl_seconds=self.lease_ttl_seconds, command="resume-run"
        ) as lease:
            if lease.took_over_from:
                summary["lease_takeover"] = {"generation": lease.generation, "reason": lease.took_over_from}
                telemetry.emit("lease_takeover", generation=lease.generation, reason=lease.took_over_from)
            manifest = run_dir.read_manifest()
            interrupted = [name for name, rec in manifest.phases.items() if rec.status == "running"]
            if interrupted:
                phases = {
                    name: (rec.model_copy(update={"status": "interrupted"}) if rec.status == "running" else rec)
                    for name, rec in manifest.phases.items()
                }
                manifest = run_dir.commit(manifest.model_copy(update={"phases": phases}), lease)
                summary["interrupted_phases"] = interrupted
            summary.update(self.pipeline_of(task).recover(run_dir, manifest, lease, self.settings))
            shutil.rmtree(run_dir.path / "staging", ignore_errors=True)
            if control.clear(run_dir.path, "pause"):
                summary["pause_cleared"] = True
            manifest = run_dir.read_manifest()
            if manifest.state == RunState.PAUSED:
                run_dir.transition(manifest, manifest.state_before_pause or RunState.CREATED, "resumed", lease)
        telemetry.emit("recovery", **summary)
        manifest = run_dir.read_manifest()
        warnings = self._restore_outputs(run_dir, task, manifest) if manifest.state in FINISHED_STATES else []
        return self._envelope("resume-run", run_dir, data={"recovery": summary}, warnings=warnings)

    def _restore_outputs(self, run_dir: RunDir, task: TaskSpec, manifest: Manifest) -> list[str]:
        """A finished run's published files are checked against what was written; missing ones come back."""
        with Lease.acquire(run_dir.path, clock=self.clock, ttl_seconds=self.lease_ttl_seconds,
                           command="restore-outputs"):
            pipeline = self.pipeline_of(task)
            notes = pipeline.restore_outputs(run_dir, manifest, pipeline.load_params(task.params), self.settings)
        if notes:
            run_dir.telemetry(task.run_id).emit("outputs_restored", notes=notes)
        return notes

    # ----------------------------------------------------------------- shutdown
    def shutdown(self, timeout: float = 10.0) -> list[str]:
        """Stop this process's background work at its next safe point and wait for it (at most
        ``timeout`` seconds in all). Runs keep their state and finished work; ``resume-run`` continues
        them. Returns the run ids that were still working."""
        working = [(run_id, worker) for run_id, worker in self._workers.items() if not worker.done.is_set()]
        for _, worker in working:
            worker.stop_for_shutdown()
        deadline = self.clock.monotonic() + timeout
        for _, worker in working:
            worker.wait(max(0.0, deadline - self.clock.monotonic()))
        return [run_id for run_id, _ in working]

    def busy(self) -> bool:
        """Whether background work of this process is still running."""
        return any(not worker.done.is_set() for worker in self._workers.values())

    # ----------------------------------------------------------------- finalize
    def finalize_run(
        self,
        run_ref: str,
        *,
        accept_degraded: bool = False,
        wait_seconds: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> CommandEnvelope:
        """The final gate and assembly; refused unless finalize (or accept_degraded) is allowed.

        A finalize already running in this process is followed, not refused; a finished run is returned
        as it is.

        Raises:
            ActionNotAllowedError: neither finalize nor (with ``accept_degraded``) accept_degraded is allowed.
        """
        wait = min(clamp_wait(wait_seconds), self.max_wait_seconds)
        run_dir = self.resolve(run_ref)
        task = run_dir.read_task()
        manifest = run_dir.read_manifest()
        if manifest.state in FINISHED_STATES:
            envelope = self._envelope("finalize-run", run_dir, warnings=self._restore_outputs(run_dir, task, manifest))
        else:
            run_dir.telemetry(task.run_id).emit("command", command="finalize-run", accept_degraded=accept_degraded)
            obs = self.observe(run_dir, task, manifest)
            evaluation = self._evaluate(obs, task)
            worker = self._worker(task.run_id)
            finalizing = worker is not None and worker.status.action in (RuntimeAction.FINALIZE,
                                                                        RuntimeAction.ACCEPT_DEGRADED)
            requested: str | None = None
            if not finalizing:
                requested = RuntimeAction.FINALIZE
                if accept_degraded and RuntimeAction.FINALIZE not in evaluation.allowed_actions:
                    requested = RuntimeAction.ACCEPT_DEGRADED
            envelope = self._advance(run_dir, task, obs, evaluation, requested, wait, on_progress, {}, "finalize-run")
        envelope.data["quality"] = views.quality_data(self.pipeline_of(task), run_dir, run_dir.read_manifest())
        return envelope


def _tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


__all__ = ["DEFAULT_WAIT_SECONDS", "MAX_WAIT_SECONDS", "RuntimeApi", "clamp_wait", "iter_jsonl"]
