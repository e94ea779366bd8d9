"""The drive loop: advance a run until it is finished, following its next step.

Front ends that run work in their own process (the CLI, benchmarks, batch workers) call ``drive``; the
MCP server does not (its client advances the run call by call). The loop never chooses an action the
policy did not name: it calls advance-run without an action while the next step is ``act`` or ``wait``,
and stops when the caller must choose, except that ``accept_degraded=True`` takes that one choice (the
caller decided in advance).

Invariants:
- Every advance returns within ``wait_seconds``; progress is reported through ``on_progress``.
- A domain action the policy takes by itself (say, a remedy after a failure) is reported through
  ``on_note`` with the policy's reason, so the caller can tell the user what happened.
- The loop ends with a finished run's envelope, or raises: ``RunFailed`` (a phase failed and nothing
  runs by itself), ``RunStopped`` (paused, cancelled, or a decision is needed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .contracts import FINISHED_STATES, CommandEnvelope, NextStep, Progress, RunState, RuntimeAction
from .errors import YTTError

DRIVE_WAIT_SECONDS = 5.0  # how long each in-process advance waits before the loop looks again
MAX_IDLE_ADVANCES = 3  # consecutive advances that change nothing before the loop gives up


class RunStopped(YTTError):
    """The run stopped without finishing: paused, cancelled, or it needs the caller's decision.
    ``details['next_step']`` says what can happen next; ``details['reason']`` is paused, cancelled or
    decision."""

    code = "run_stopped"
    exit_code = 3  # not a failure of the command: the run waits for the caller


class RunFailed(YTTError):
    """A phase failed and the policy takes no remedy by itself. ``details['error']`` is the phase's error
    (its ``details['cause']`` the original error), ``details['next_step']`` what can happen next."""

    code = "run_failed"


class AdvancingApi(Protocol):
    def advance_run(
        self,
        run_ref: str,
        *,
        action: str | None = None,
        wait_seconds: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        args: dict[str, Any] | None = None,
    ) -> CommandEnvelope: ...


def drive(
    api: AdvancingApi,
    run_id: str,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    accept_degraded: bool = False,
    wait_seconds: float = DRIVE_WAIT_SECONDS,
) -> CommandEnvelope:
    """Advance ``run_id`` until it is finished and return the last envelope.

    Raises:
        RunFailed: a phase failed and nothing remedies it by itself.
        RunStopped: the run was paused or cancelled, or it needs a decision the caller did not make.
        YTTError: anything the runtime raises (e.g. another process owns the run).
    """
    idle = 0
    last: tuple[Any, ...] | None = None
    action: str | None = None
    while True:
        envelope = api.advance_run(run_id, action=action, wait_seconds=wait_seconds, on_progress=on_progress)
        action = None
        if on_progress is not None and envelope.progress is not None:
            on_progress(envelope.progress)
        decision = envelope.decision
        if on_note is not None and decision is not None and decision.source == "policy" \
                and decision.chosen not in set(RuntimeAction):
            on_note(decision.reason)
        step = envelope.next_step
        status = envelope.result.status if envelope.result else None
        if envelope.state in FINISHED_STATES:
            return envelope
        if envelope.state == RunState.CANCELLED:
            raise _stopped(envelope, "cancelled", f"run {run_id} was cancelled")
        if status == "running":
            idle = 0
            continue
        if step.kind == "choose":
            if accept_degraded and RuntimeAction.ACCEPT_DEGRADED in step.choices:
                if on_note is not None:
                    on_note("the quality gate is degraded; accepted it (the degraded parts are in the quality report)")
                action = RuntimeAction.ACCEPT_DEGRADED
                continue
            if status == "failed" or envelope.state == RunState.FAILED:
                raise _failed(envelope)
            if envelope.state == RunState.PAUSED:
                raise _stopped(envelope, "paused", f"run {run_id} is paused")
            raise _stopped(envelope, "decision", f"run {run_id} needs a decision: {step.reason}")
        progress = envelope.progress
        key = (envelope.state, progress.phases_done if progress else None, status, step.kind, step.action)
        idle = idle + 1 if key == last else 0
        last = key
        if idle >= MAX_IDLE_ADVANCES or step.kind in ("busy", "done"):
            raise _stopped(envelope, "decision", f"run {run_id} makes no progress: {step.reason}")


def _step_details(envelope: CommandEnvelope) -> dict[str, Any]:
    return {"run_id": envelope.run_id, "state": envelope.state,
            "next_step": envelope.next_step.model_dump(mode="json")}


def _stopped(envelope: CommandEnvelope, reason: str, message: str) -> RunStopped:
    return RunStopped(message, details={**_step_details(envelope), "reason": reason})


def _failed(envelope: CommandEnvelope) -> RunFailed:
    result = envelope.result
    found = result.data.get("error") if result is not None else None
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    found_details = error.get("details")
    details: dict[str, Any] = found_details if isinstance(found_details, dict) else {}
    found_cause = details.get("cause")
    cause: dict[str, Any] = found_cause if isinstance(found_cause, dict) else error
    detail = result.detail if result is not None else envelope.next_step.reason
    return RunFailed(
        f"run {envelope.run_id} failed: {detail}",
        code=str(cause.get("code") or error.get("code") or RunFailed.code),
        hint=cause.get("hint") if isinstance(cause.get("hint"), str) else None,
        details={**_step_details(envelope), "error": error},
        permanent=bool(cause.get("permanent")),
    )


def next_step_of(error: YTTError) -> NextStep | None:
    """The next step a ``RunStopped``/``RunFailed`` carries (None for other errors)."""
    raw = error.details.get("next_step")
    return NextStep.model_validate(raw) if isinstance(raw, dict) else None
