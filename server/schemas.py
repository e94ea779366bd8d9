"""Typed tool results: the structured content every MCP tool returns, built from a ``CommandEnvelope``.

Invariants:
- ``RunView`` is self-sufficient: it always carries ``run_id``, ``state``, ``allowed_actions`` and a
  ``next_step`` sentence, so a client that passes only ``structuredContent`` to the model loses nothing.
- It stays small (a few KB): strings, lists and mappings taken from the runtime are trimmed to fixed
  caps, and a result still over ``MAX_RESULT_BYTES`` sheds ``data`` (with a warning naming what to
  read instead). Listings paginate with ``next_cursor`` instead of growing.
- ``next_step`` is presentation only: a sentence derived from the envelope by fixed rules; the runtime's
  ``allowed_actions`` remain the only authority on what may happen next.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kernel.task_runtime.contracts import (
    Action,
    CommandEnvelope,
    LifecycleState,
    PhaseRow,
    Progress,
)

MAX_RESULT_BYTES = 6_000
MAX_STRING_CHARS = 300
MAX_LIST_ITEMS = 20
MAX_MAPPING_ITEMS = 25
MAX_DEPTH = 5
TOOL_PAGE_SIZE = 20  # rows per page for inspect-run's chunks and telemetry listings

# Actions the policy may run on its own when advance-run names none (kept in step with kernel policy).
_AUTOMATIC = (Action.REROUTE_TO_ASR, Action.RUN_PHASE, Action.PROCESS_CHUNKS, Action.RETRY_CHUNK,
              Action.REPAIR_CHUNK, Action.REPLAN_REMAINING)


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionView(_View):
    """Which action ran and why (``source`` says whether the caller asked for it or the policy chose it)."""

    chosen: Action
    source: Literal["requested", "policy"]
    reason: str


class TransitionView(_View):
    from_state: LifecycleState
    to_state: LifecycleState
    reason: str


class ResultView(_View):
    """The outcome of the action: ``running`` means it goes on in the background; call advance-run to follow."""

    action: Action
    status: Literal["completed", "started", "running", "noop", "failed", "stopped"]
    detail: str
    transition: TransitionView | None = None
    error: dict[str, Any] | None = None


class RunView(_View):
    """Structured content of every yt-transcript tool result."""

    run_id: str = Field(description="pass this to every other tool")
    state: LifecycleState
    allowed_actions: list[Action] = Field(description="the only actions the runtime accepts now")
    next_step: str = Field(description="what to call next, derived from state and allowed_actions")
    work_dir: str
    command: str
    decision: DecisionView | None = None
    result: ResultView | None = None
    progress: Progress | None = None
    phases: list[PhaseRow] | None = None
    artifacts: dict[str, str] | None = Field(default=None, description="artifact key -> work_dir-relative path")
    outputs: dict[str, str] | None = Field(default=None, description="published files: markdown, srt, vtt, json")
    quality: dict[str, Any] | None = None
    next_cursor: int | None = Field(default=None, description="pass as cursor to inspect-run for the next page")
    warnings: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)


def trim(value: Any, *, depth: int = 0) -> Any:
    """A JSON-ready copy of ``value`` with long strings, lists and mappings cut to the module caps."""
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING_CHARS else value[: MAX_STRING_CHARS - 1] + "…"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return f"{{{len(value)} keys}}"
        items = list(value.items())
        trimmed = {str(k): trim(v, depth=depth + 1) for k, v in items[:MAX_MAPPING_ITEMS]}
        if len(items) > MAX_MAPPING_ITEMS:
            trimmed["…"] = f"{len(items) - MAX_MAPPING_ITEMS} more keys"
        return trimmed
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            return f"[{len(value)} items]"
        kept = [trim(v, depth=depth + 1) for v in value[:MAX_LIST_ITEMS]]
        if len(value) > MAX_LIST_ITEMS:
            kept.append(f"… {len(value) - MAX_LIST_ITEMS} more")
        return kept
    if value is None or isinstance(value, bool | int | float):
        return value
    return trim(str(value), depth=depth)


def _trim_artifacts(artifacts: dict[str, str] | None, warnings: list[str], run_id: str) -> dict[str, str] | None:
    if artifacts is None:
        return None
    # Per-chunk outputs can number in the hundreds; they are summarized, the chunk listing pages them.
    chunk_keys = [k for k in artifacts if k.startswith("chunk.")]
    kept = {k: v for k, v in artifacts.items() if not k.startswith("chunk.")}
    if chunk_keys:
        kept["chunk.*"] = f"{len(chunk_keys)} chunk outputs (inspect-run detail='chunks')"
    if len(kept) > MAX_MAPPING_ITEMS:
        warnings.append(f"{len(kept) - MAX_MAPPING_ITEMS} more artifacts: read resource run://{run_id}/manifest.json")
        kept = dict(list(kept.items())[:MAX_MAPPING_ITEMS])
    return kept


def next_step(envelope: CommandEnvelope) -> str:
    """One sentence telling an agent what to call next (presentation only; never widens allowed_actions)."""
    allowed = set(envelope.allowed_actions)
    status = envelope.result.status if envelope.result else None
    run = envelope.run_id
    if envelope.state in (LifecycleState.COMPLETED, LifecycleState.COMPLETED_DEGRADED):
        return "done: read the files in outputs (outputs.markdown is the article)"
    if envelope.state == LifecycleState.CANCELLED:
        return "the run is cancelled and cannot continue; create a new run to start again"
    if status == "running":
        return f"work continues in the background: call advance-run(run_id='{run}') again to follow it"
    if Action.RESUME in allowed or envelope.state == LifecycleState.PAUSED:
        return f"the run is paused: call resume-run(run_id='{run}'), then advance-run"
    if status == "failed" or envelope.state == LifecycleState.FAILED:
        if Action.REROUTE_TO_ASR in allowed:
            return f"the subtitles are not a usable transcript: advance-run(run_id='{run}', action='reroute_to_asr')"
        return (f"the last action failed (see result.detail or inspect-run(detail='phases')); fix the cause, "
                f"then advance-run(run_id='{run}', action='run_phase') retries it")
    if Action.FINALIZE in allowed:
        return f"the quality gate passed: call finalize-run(run_id='{run}')"
    if Action.ACCEPT_DEGRADED in allowed:
        return (f"the quality gate is degraded: review inspect-run(run_id='{run}'), then "
                f"finalize-run(run_id='{run}', accept_degraded=true) to accept it, or cancel")
    if any(action in allowed for action in _AUTOMATIC):
        return f"call advance-run(run_id='{run}') to continue"
    if allowed and allowed <= {Action.PAUSE, Action.CANCEL}:
        return (f"only pause and cancel are possible now: if work is in progress, advance-run(run_id='{run}') "
                "follows it; otherwise inspect-run shows why nothing can run (e.g. a failed quality gate)")
    return "choose one of allowed_actions" if allowed else "no action is possible now; inspect-run shows why"


def run_view(envelope: CommandEnvelope) -> RunView:
    """The compact, self-sufficient tool result for ``envelope``."""
    warnings = [trim(w) for w in envelope.warnings[:MAX_LIST_ITEMS]]
    data = dict(envelope.data)
    quality = data.pop("quality", None)
    next_cursor = data.pop("next_cursor", None)
    result = None
    if envelope.result is not None:
        res = envelope.result
        error = res.data.get("error") if isinstance(res.data.get("error"), dict) else None
        result = ResultView(
            action=res.action,
            status=res.status,
            detail=trim(res.detail),
            transition=TransitionView(**res.transition.model_dump(exclude={"at"})) if res.transition else None,
            error=trim(error) if error else None,
        )
        if res.data.get("outputs") and not envelope.outputs:
            data.setdefault("published", res.data["outputs"])
    decision = None
    if envelope.decision is not None:
        decision = DecisionView(
            chosen=envelope.decision.chosen, source=envelope.decision.source, reason=trim(envelope.decision.reason)
        )
    view = RunView(
        run_id=envelope.run_id,
        state=envelope.state,
        allowed_actions=list(envelope.allowed_actions),
        next_step=next_step(envelope),
        work_dir=envelope.work_dir,
        command=envelope.command,
        decision=decision,
        result=result,
        progress=envelope.progress,
        phases=[row.model_copy(update={"note": trim(row.note) if row.note else None}) for row in envelope.phases]
        if envelope.phases is not None
        else None,
        artifacts=_trim_artifacts(envelope.artifacts, warnings, envelope.run_id),
        outputs=envelope.outputs,
        quality=trim(quality) if isinstance(quality, dict) else None,
        next_cursor=next_cursor if isinstance(next_cursor, int) else None,
        warnings=warnings,
        data=trim(data),
    )
    if len(json.dumps(view.model_dump(mode="json"), ensure_ascii=False)) > MAX_RESULT_BYTES:
        dropped = sorted(view.data)
        view = view.model_copy(
            update={
                "data": {"trimmed": dropped},
                "warnings": [*view.warnings, f"data trimmed to stay small; read resource run://{envelope.run_id}/"
                                             "manifest.json or page with inspect-run(cursor=...) for detail"],
            }
        )
    return view
