"""The policy: a pure function from an Observation to the allowed actions and the one next step.

Nothing here performs I/O. Every action it offers is a row of the action table (so it has an executor).
``NextStep`` is the only answer to "what happens next": advance-run without an action does exactly what
it says (``decide``), and the MCP server, the CLI and the drive loop only render it.

Rules, in order:
1. a terminal run allows nothing (``done``);
2. work in progress in this process: pause and cancel only (``wait``); in another process: the same
   (``busy``);
3. a pending cancel is completed by the next advance (it was already chosen: ``act`` cancel);
4. a paused run: resume or cancel (``choose``);
5. otherwise the phase and gate rules: a run awaiting input gets only the pipeline's offers (they give
   the input); retry a failed phase unless its cause is permanent; run due phases; at the gate finalize
   (pass) or offer accept_degraded (degraded); plus the pipeline's domain offers, plus pause and cancel;
6. the next step is the first *automatic* allowed action (domain actions first, in table order, then
   run_phase, then finalize; after a failure only a domain remedy is taken by itself, a retry is the
   caller's choice); when there is none, the caller must choose among the allowed actions (pause is
   left out of the choices of an idle run: there is nothing to stop).
"""

from __future__ import annotations

from collections.abc import Callable

from .actions import ActionTable
from .contracts import (
    TERMINAL_STATES,
    DecisionRecord,
    NextStep,
    Observation,
    PolicyEvaluation,
    RunState,
    RuntimeAction,
)
from .errors import ActionNotAllowedError

RUN_PHASE, PAUSE, RESUME, CANCEL = RuntimeAction.RUN_PHASE, RuntimeAction.PAUSE, RuntimeAction.RESUME, RuntimeAction.CANCEL
FINALIZE, ACCEPT_DEGRADED = RuntimeAction.FINALIZE, RuntimeAction.ACCEPT_DEGRADED


def evaluate(obs: Observation, table: ActionTable) -> PolicyEvaluation:
    """Derive ``allowed_actions`` and the next step from observed state."""
    reasons: dict[str, str] = {}
    allowed: list[str] = []

    def allow(action: str, reason: str) -> None:
        if action not in allowed:
            allowed.append(action)
            reasons[action] = reason

    def result(next_step: NextStep) -> PolicyEvaluation:
        return PolicyEvaluation(allowed_actions=allowed, next_step=next_step, reasons=reasons)

    if obs.state in TERMINAL_STATES:
        return result(NextStep(kind="done", reason=f"the run is {obs.state}; nothing can change it"))
    busy_elsewhere = obs.lease_live and not obs.lease_owned_here and not obs.worker.running
    if obs.worker.running or busy_elsewhere:
        if obs.cancel_requested:
            reason = "a cancel is pending; the run stops at its next safe point"
        else:
            allow(PAUSE, "work is in progress; it stops at the next safe point")
            allow(CANCEL, "work is in progress; it stops at the next safe point and the run ends")
            what = obs.worker.phase or obs.worker.action or "the run"
            reason = f"{what} is in progress" if obs.worker.running else "another process is driving the run"
        kind = "wait" if obs.worker.running else "busy"
        return result(NextStep(kind=kind, choices=list(allowed), reason=reason))
    if obs.cancel_requested:
        allow(CANCEL, "a cancel request is pending; cancel completes it")
        return result(NextStep(kind="act", action=CANCEL, reason="a cancel was requested; the next advance completes it"))
    if obs.state == RunState.PAUSED or obs.pause_requested:
        allow(RESUME, "the run is paused")
        allow(CANCEL, "end the run; finished work stays on disk")
        return result(NextStep(kind="choose", must_choose=True, choices=[RESUME, CANCEL],
                               reason="the run is paused; resume it to continue, or cancel it"))

    situation = _phase_rules(obs, allow, reasons)
    domain_offers = table.domain_offers(obs)
    for name, reason in domain_offers.items():
        allow(name, reason)
    allow(PAUSE, "stop here; resume later")
    allow(CANCEL, "end the run; finished work stays on disk")

    automatic = [name for name in domain_offers if table.is_automatic(name)]
    if obs.failure is None:  # after a failure, a retry is the caller's choice (it may need a fix first)
        automatic += [name for name in (RUN_PHASE, FINALIZE) if name in allowed]
    if automatic:
        chosen = automatic[0]
        return result(NextStep(kind="act", action=chosen, reason=reasons[chosen]))
    choices = [name for name in allowed if name != PAUSE]
    if obs.state == RunState.AWAITING_INPUT and domain_offers:
        situation = next(iter(domain_offers.values()))  # the pipeline says what input it waits for
    return result(NextStep(kind="choose", must_choose=True, choices=choices, reason=situation))


def _phase_rules(obs: Observation, allow: Callable[[str, str], None], reasons: dict[str, str]) -> str:
    """Allow the phase and gate actions; returns a sentence describing the situation (for ``choose``)."""
    if obs.state == RunState.AWAITING_INPUT:
        # Running the waiting phase again would only ask again: the pipeline's actions give the input.
        return "the run waits for input that only the caller can give"
    if obs.state == RunState.FAILED or obs.failure is not None:
        failure = obs.failure
        where = f"phase {failure.phase}" if failure and failure.phase else "the last action"
        cause = f"{failure.code}: {failure.message}" if failure else "see the failure"
        if failure is not None and failure.permanent:
            return (f"{where} failed ({cause}); retrying cannot succeed with this input, so start a new run "
                    "with a different source or options, or cancel this one")
        allow(RUN_PHASE, f"retry {where}, which failed ({cause})")
        return f"{where} failed ({cause})"
    if obs.due_phases and not obs.gate_phase_done:
        allow(RUN_PHASE, f"phases still to run: {', '.join(obs.due_phases)}")
        return "phases are due"
    if obs.gate_phase_done:
        if obs.quality_status == "pass":
            allow(FINALIZE, "the quality gate passed: assemble and publish the outputs")
            return "the quality gate passed"
        if obs.quality_status == "degraded":
            allow(ACCEPT_DEGRADED, "the quality gate is degraded: accept it to finalize with the degraded parts listed")
            return "the quality gate is degraded: accept it (the degraded parts are listed), or improve it"
        if obs.quality_status == "fail":
            reasons[FINALIZE] = "the quality gate failed; fix the listed problems first"
            return "the quality gate failed: the quality report lists why; nothing can be finalized"
    return "nothing is due"


def decide(requested: str | None, evaluation: PolicyEvaluation) -> DecisionRecord | None:
    """Rule-first decision. A requested action must be allowed; otherwise the next step's action.

    Returns None when nothing is requested and the next step is not ``act`` (the caller must choose, or
    work is in progress and advance-run follows it).

    Raises:
        ActionNotAllowedError: ``requested`` is unknown or not in the allowed set (details list them).
    """
    allowed = evaluation.allowed_actions
    if requested is not None:
        if requested not in allowed:
            raise ActionNotAllowedError(
                f"action {requested!r} is not allowed now; allowed: {', '.join(allowed) or 'none'}",
                details={"requested": requested, "allowed_actions": list(allowed),
                         "next_step": evaluation.next_step.model_dump(mode="json")},
            )
        return DecisionRecord(
            requested=requested,
            chosen=requested,
            source="requested",
            reason=evaluation.reasons.get(requested, "requested and allowed"),
            allowed_actions=allowed,
        )
    step = evaluation.next_step
    if step.kind != "act" or step.action is None:
        return None
    return DecisionRecord(requested=None, chosen=step.action, source="policy", reason=step.reason,
                          allowed_actions=allowed)
