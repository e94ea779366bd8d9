"""The runtime's words in MCP words: tool calls for actions, hint placeholders, and the one next step.

The kernel writes hints and next-step reasons once, for every front end, with placeholders
(``kernel.task_runtime.hints``); this module renders them for an agent that calls tools:

    {option:NAME}         NAME (a create-run argument)
    {option:NAME=VALUE}   NAME='VALUE' (a create-run argument)
    {action:NAME}         the tool call that takes NAME, e.g. advance-run(run_id='…', action='NAME')
    {inspect}             look at the run with inspect-run(run_id='…')
    {resume}              resume the run with resume-run(run_id='…')
    {new_run}             start a new run with create-run

Invariants:
- Every call rendered here names a tool of ``TOOL_NAMES`` with arguments of that tool's input schema
  only, and every action name comes from the action table (a test checks this over real situations).
- Rendering never widens ``allowed_actions``: a next step names only the actions the policy chose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kernel.task_runtime.actions import ActionTable
from kernel.task_runtime.contracts import NextStep, RunState, RuntimeAction
from kernel.task_runtime.hints import Placeholder, render

TOOL_NAMES = ("create-run", "inspect-run", "advance-run", "apply-control", "resume-run", "finalize-run")
ARTICLE_DETAIL = "article"  # the inspect detail that pages the published files, when the pipeline has it
RUNS_RESOURCE = "runs://all"
RUN_ID_PLACEHOLDER = "<run_id>"  # in a call rendered for no particular run


@dataclass(frozen=True)
class Vocabulary:
    """What rendering needs to know about the pipeline: its action table and its inspect details."""

    actions: ActionTable | None = None
    details: Sequence[str] = field(default_factory=tuple)

    @property
    def pages_articles(self) -> bool:
        return ARTICLE_DETAIL in self.details


def call(tool: str, run_id: str | None = None, **arguments: object) -> str:
    """``tool(run_id='…', name=value, ...)``; strings quoted, booleans as true/false."""
    parts = [f"run_id='{run_id or RUN_ID_PLACEHOLDER}'"] if run_id is not None else []
    for name, value in arguments.items():
        if isinstance(value, bool):
            parts.append(f"{name}={str(value).lower()}")
        elif isinstance(value, int | float):
            parts.append(f"{name}={value}")
        else:
            parts.append(f"{name}={str(value)!r}")
    return f"{tool}({', '.join(parts)})"


def action_call(action: str, run_id: str, vocabulary: Vocabulary | None = None,
                values: Mapping[str, Any] | None = None) -> str:
    """The tool call that takes ``action``. Arguments the action declares are filled in when ``values``
    (what the run awaits, e.g. an agent task naming its chunk_id) holds them."""
    if action == RuntimeAction.FINALIZE:
        return call("finalize-run", run_id)
    if action == RuntimeAction.ACCEPT_DEGRADED:
        return call("finalize-run", run_id, accept_degraded=True)
    if action == RuntimeAction.RESUME:
        return call("resume-run", run_id)
    if action in (RuntimeAction.PAUSE, RuntimeAction.CANCEL):
        return call("apply-control", run_id, signal=action)
    extra: dict[str, object] = {}
    if vocabulary is not None and vocabulary.actions is not None:
        try:
            spec = vocabulary.actions.domain_action(action)
        except KeyError:
            spec = None
        known = values or {}
        for name, _ in spec.arguments if spec is not None else ():
            if isinstance(known.get(name), str | int):
                extra[name] = known[name]
            elif name in spec.required:  # type: ignore[union-attr]
                extra[name] = f"<{name}>"  # the caller fills it in (e.g. the text it wrote)
    return call("advance-run", run_id, action=action, **extra)


def _option(placeholder: Placeholder) -> str:
    if placeholder.value is None:
        return f"{placeholder.name} (a create-run argument)"
    value = placeholder.value
    rendered = value if value.lstrip("-").replace(".", "", 1).isdigit() or value in ("true", "false") else repr(value)
    return f"{placeholder.name}={rendered} (a create-run argument)"


def speak(text: str, run_id: str | None, vocabulary: Vocabulary | None = None) -> str:
    """``text`` with every hint placeholder rendered as tools and arguments."""

    def words(placeholder: Placeholder) -> str:
        run = run_id or RUN_ID_PLACEHOLDER
        if placeholder.kind == "option":
            return _option(placeholder)
        if placeholder.kind == "action":
            return action_call(placeholder.name or "", run, vocabulary)
        if placeholder.kind == "inspect":
            return f"look at the run with {call('inspect-run', run)}"
        if placeholder.kind == "resume":
            return f"resume the run with {call('resume-run', run)}"
        return "start a new run with create-run"

    return render(text, words) if "{" in text else text


def render_next_step(step: NextStep, run_id: str, state: str, vocabulary: Vocabulary | None = None,
                     values: Mapping[str, Any] | None = None) -> str:
    """The policy's next step as one sentence naming MCP tools and arguments only."""
    reason = speak(step.reason, run_id, vocabulary)
    if step.kind == "done":
        if state in (RunState.COMPLETED, RunState.COMPLETED_DEGRADED):
            if vocabulary is not None and vocabulary.pages_articles:
                return ("done: read the article page by page with "
                        f"{call('inspect-run', run_id, detail=ARTICLE_DETAIL, cursor=0)} (pass next_cursor as "
                        "cursor for the next page), or the files in outputs")
            return "done: read the files in outputs"
        return f"{reason}; start a new run with create-run"
    if step.kind == "wait":
        return f"{reason}: call {call('advance-run', run_id)} again to follow it"
    if step.kind == "busy":
        stops = " or ".join(action_call(name, run_id) for name in step.choices)
        return f"{reason}; follow it with {call('inspect-run', run_id)}" + (f", or stop it with {stops}" if stops else "")
    if step.kind == "act":
        action = step.action or ""
        if action == RuntimeAction.FINALIZE:
            return f"{reason}: call {action_call(action, run_id, vocabulary, values)}"
        return f"{reason}: call {call('advance-run', run_id)} (it takes {action})"
    options = "; ".join(f"{name}: {action_call(name, run_id, vocabulary, values)}" for name in step.choices)
    if state == RunState.FAILED and RuntimeAction.RUN_PHASE not in step.choices:
        options = "; ".join(filter(None, [options, "or start a new run with create-run"]))
    return f"{reason}. Choose one — {options}" if options else f"{reason}; start a new run with create-run"
