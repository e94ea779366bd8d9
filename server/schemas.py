"""Typed tool results: the structured content every MCP tool returns, built from a ``CommandEnvelope``.

Invariants:
- ``RunView`` is self-sufficient: it always carries ``run_id``, ``state``, ``allowed_actions`` and a
  ``next_step`` sentence, so a client that passes only ``structuredContent`` to the model loses nothing.
- It stays small (a few KB): strings, lists and mappings taken from the runtime are trimmed to fixed
  caps, and a result still over ``MAX_RESULT_BYTES`` sheds ``data`` (with a warning naming what to
  read instead). Listings paginate with ``next_cursor`` instead of growing.
- ``next_step`` renders the policy's one ``NextStep`` in MCP words (tools and arguments); it never widens
  ``allowed_actions``, which remain the only authority on what may happen next.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kernel.task_runtime.contracts import CommandEnvelope, NextStep, PhaseRow, Progress, RunState, RuntimeAction

MAX_RESULT_BYTES = 6_000
MAX_STRING_CHARS = 300
MAX_LIST_ITEMS = 20
MAX_MAPPING_ITEMS = 25
MAX_DEPTH = 5
TOOL_PAGE_SIZE = 20  # rows per page for inspect-run's chunks and telemetry listings

class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionView(_View):
    """Which action ran and why (``source`` says whether the caller asked for it or the policy chose it)."""

    chosen: str
    source: Literal["requested", "policy"]
    reason: str


class TransitionView(_View):
    from_state: str
    to_state: str
    reason: str


class ResultView(_View):
    """The outcome of the action: ``running`` means it goes on in the background; call advance-run to follow."""

    action: str | None
    status: Literal["completed", "started", "running", "noop", "failed", "stopped"]
    detail: str
    transition: TransitionView | None = None
    error: dict[str, Any] | None = None


class RunView(_View):
    """Structured content of every yt-transcript tool result."""

    run_id: str = Field(description="pass this to every other tool")
    state: str = Field(description="what the run is doing now, or how it ended")
    allowed_actions: list[str] = Field(description="the only actions the runtime accepts now")
    next_step: str = Field(description="what to call next: the runtime's next step, in tools and arguments")
    must_choose: bool = Field(default=False, description="advance-run without an action does nothing now; "
                              "pick one of choices")
    choices: list[str] = Field(default_factory=list, description="the actions to choose from when must_choose")
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
    kept = dict(artifacts)
    if len(kept) > MAX_MAPPING_ITEMS:
        warnings.append(f"{len(kept) - MAX_MAPPING_ITEMS} more artifacts: read resource run://{run_id}/manifest.json")
        kept = dict(list(kept.items())[:MAX_MAPPING_ITEMS])
    return kept


def _call(tool: str, run_id: str, **arguments: object) -> str:
    rendered = ", ".join([f"run_id='{run_id}'", *(f"{k}={v!r}" if isinstance(v, str) else f"{k}={str(v).lower()}"
                                                  for k, v in arguments.items())])
    return f"{tool}({rendered})"


def action_call(action: str, run_id: str) -> str:
    """The tool call that takes ``action`` (MCP words)."""
    if action == RuntimeAction.FINALIZE:
        return _call("finalize-run", run_id)
    if action == RuntimeAction.ACCEPT_DEGRADED:
        return _call("finalize-run", run_id, accept_degraded=True)
    if action == RuntimeAction.RESUME:
        return _call("resume-run", run_id)
    if action in (RuntimeAction.PAUSE, RuntimeAction.CANCEL):
        return _call("apply-control", run_id, signal=action)
    return _call("advance-run", run_id, action=action)


def render_next_step(step: NextStep, run_id: str, state: str) -> str:
    """The policy's next step as one sentence naming MCP tools and arguments only."""
    if step.kind == "done":
        if state in (RunState.COMPLETED, RunState.COMPLETED_DEGRADED):
            return "done: read the files in outputs (outputs.markdown is the article)"
        return f"{step.reason}; create-run starts a new run"
    if step.kind == "wait":
        return f"{step.reason}: call {_call('advance-run', run_id)} again to follow it"
    if step.kind == "busy":
        return f"{step.reason}; follow it with {_call('inspect-run', run_id)}, or stop it with apply-control"
    if step.kind == "act":
        action = step.action or ""
        if action == RuntimeAction.FINALIZE:
            return f"{step.reason}: call {action_call(action, run_id)}"
        return f"{step.reason}: call {_call('advance-run', run_id)} (it takes {action})"
    options = "; ".join(f"{name}: {action_call(name, run_id)}" for name in step.choices)
    return f"{step.reason}. Choose one — {options}" if options else f"{step.reason}; create-run starts a new run"


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
        next_step=render_next_step(envelope.next_step, envelope.run_id, envelope.state),
        must_choose=envelope.next_step.must_choose,
        choices=list(envelope.next_step.choices),
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
