"""The policy: a pure function from an Observation to the allowed actions, and the rule-first decision.

Nothing here performs I/O. Every action it can offer has an executor (runtime or pipeline), so there are
no advisory-only actions. ``recommended`` is what advance-run does when the caller names no action: it
is never pause, cancel or accept_degraded (those are the caller's choices).
"""

from __future__ import annotations

from collections.abc import Mapping

from .contracts import TERMINAL_STATES, Action, DecisionRecord, LifecycleState, Observation, PolicyEvaluation
from .errors import ActionNotAllowedError

_AUTOMATIC = (Action.REROUTE_TO_ASR, Action.RUN_PHASE, Action.PROCESS_CHUNKS, Action.FINALIZE)


def evaluate(obs: Observation, domain_actions: Mapping[Action, str] | None = None) -> PolicyEvaluation:
    """Derive ``allowed_actions`` from observed state; ``domain_actions`` are the pipeline's offers."""
    domain = dict(domain_actions or {})
    reasons: dict[str, str] = {}
    allowed: list[Action] = []

    def allow(action: Action, reason: str) -> None:
        if action not in allowed:
            allowed.append(action)
            reasons[action.value] = reason

    if obs.state in TERMINAL_STATES:
        return PolicyEvaluation(
            allowed_actions=[], recommended=None, reasons={"*": f"run is {obs.state.value}; nothing can change it"}
        )
    if obs.worker.running or (obs.lease_live and not obs.lease_owned_here):
        if not obs.cancel_requested:
            allow(Action.PAUSE, "work is in progress; it stops at the next safe point")
            allow(Action.CANCEL, "work is in progress; it stops at the next safe point and the run ends")
        return PolicyEvaluation(allowed_actions=allowed, recommended=None, reasons=reasons)
    if obs.cancel_requested:
        allow(Action.CANCEL, "a cancel request is pending; cancel completes it")
        return PolicyEvaluation(allowed_actions=allowed, recommended=Action.CANCEL, reasons=reasons)
    if obs.state == LifecycleState.PAUSED or obs.pause_requested:
        allow(Action.RESUME, "the run is paused")
        allow(Action.CANCEL, "end the run; finished work stays on disk")
        return PolicyEvaluation(allowed_actions=allowed, recommended=None, reasons=reasons)

    if obs.state == LifecycleState.FAILED:
        allow(Action.RUN_PHASE, f"retry the failed phase {obs.failed_phase}")
    elif obs.due_phases and not obs.gate_phase_done:
        allow(Action.RUN_PHASE, f"phases still to run: {', '.join(obs.due_phases)}")
    elif obs.gate_phase_done:
        if obs.quality_status == "pass":
            allow(Action.FINALIZE, "quality gate passed: assemble and publish the outputs")
        elif obs.quality_status == "degraded":
            allow(Action.ACCEPT_DEGRADED, "quality gate degraded: accept it to finalize with the degraded parts listed")
        elif obs.quality_status == "fail":
            reasons["finalize"] = "quality gate failed; fix the listed problems first"
    for action, reason in domain.items():
        allow(action, reason)
    allow(Action.PAUSE, "stop here; resume later")
    allow(Action.CANCEL, "end the run; finished work stays on disk")

    recommended = next((a for a in _AUTOMATIC if a in allowed), None)
    return PolicyEvaluation(allowed_actions=allowed, recommended=recommended, reasons=reasons)


def decide(requested: str | None, evaluation: PolicyEvaluation) -> DecisionRecord | None:
    """Rule-first decision. A requested action must be allowed; otherwise the policy's recommendation.

    Returns None when nothing is requested and nothing is recommended (the caller must choose).

    Raises:
        ActionNotAllowedError: ``requested`` is unknown or not in the allowed set (details list them).
    """
    allowed = evaluation.allowed_actions
    if requested is not None:
        try:
            action = Action(requested)
        except ValueError:
            action = None
        if action is None or action not in allowed:
            names = [a.value for a in allowed]
            raise ActionNotAllowedError(
                f"action {requested!r} is not allowed now; allowed: {', '.join(names) or 'none'}",
                hint="pick one of allowed_actions, or call without an action to let the policy choose",
                details={"requested": requested, "allowed_actions": names},
            )
        return DecisionRecord(
            requested=requested,
            chosen=action,
            source="requested",
            reason=evaluation.reasons.get(action.value, "requested and allowed"),
            allowed_actions=allowed,
        )
    if evaluation.recommended is None:
        return None
    chosen = evaluation.recommended
    return DecisionRecord(
        requested=None,
        chosen=chosen,
        source="policy",
        reason=evaluation.reasons.get(chosen.value, "recommended by policy"),
        allowed_actions=allowed,
    )
