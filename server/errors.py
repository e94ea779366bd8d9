"""Tool errors: one shape for every failure an agent can see, whatever raised it.

A ``YTTError`` from the runtime, an argument the SDK's validation refused, an argument no tool takes and
an unknown tool all reach the client as the same tool error (``isError``): its text is

    error[<code>]: <message>
    hint: <what to do, in tools and arguments>
    field: <the argument at fault>; allowed: <its allowed values>
    run_id: <id>; state: <state>; allowed_actions: <...>      (for an existing run)
    next_step: <the run's next step, in tools and arguments>  (for an existing run)
    {"error": {"code", "message", "hint", "details": {"field", "allowed", ...}}, "run_id", "state", ...}

The last line is JSON carrying the same facts for programs. Pydantic's own error text never reaches the
client: a validation error is turned into a code (``missing_<field>``, ``invalid_option``,
``unknown_option``), the field, its allowed values (from the tool's input schema) and a hint.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.errors import InvalidInputError, RunNotFoundError, YTTError

from .schemas import speak_all
from .words import RUNS_RESOURCE, TOOL_NAMES, Vocabulary, call, render_next_step, speak

logger = logging.getLogger(__name__)


def describe_error(api: RuntimeApi, exc: YTTError, run_ref: str | None, vocabulary: Vocabulary | None = None) -> str:
    """The tool-error text: readable lines, then one JSON line with code, run_id and allowed_actions."""
    error = exc.to_dict()
    hint = exc.hint
    if isinstance(exc, RunNotFoundError):
        hint = (f"check the run_id: the {RUNS_RESOURCE} resource lists the runs this server knows, and "
                "create-run starts a new one")
    if hint:
        error["hint"] = speak(hint, run_ref, vocabulary)
    if exc.details:
        error["details"] = speak_all(exc.details, run_ref or "", vocabulary)
    payload: dict[str, Any] = {"error": error}
    lines = [f"error[{exc.code}]: {exc.message}"]
    if hint:
        lines.append(f"hint: {error['hint']}")
    field, allowed = exc.details.get("field"), exc.details.get("allowed")
    if field:
        lines.append(f"field: {field}" + (f"; allowed: {', '.join(map(str, allowed))}"
                                          if isinstance(allowed, list) and allowed else ""))
    if run_ref:
        payload["run_id"] = run_ref
        if isinstance(exc, RunNotFoundError):
            lines.append(f"run_id: {run_ref} (unknown: no run has this id)")
        else:
            _describe_run(api, exc, run_ref, vocabulary, lines, payload)
    lines.append(json.dumps(payload, ensure_ascii=False, default=str))
    return "\n".join(lines)


def _describe_run(api: RuntimeApi, exc: YTTError, run_ref: str, vocabulary: Vocabulary | None,
                  lines: list[str], payload: dict[str, Any]) -> None:
    try:
        current = api.inspect_run(run_ref)
    except YTTError:
        allowed = exc.details.get("allowed_actions")
        if isinstance(allowed, list):
            payload["allowed_actions"] = allowed
            lines.append(f"run_id: {run_ref}; allowed_actions: {', '.join(map(str, allowed)) or 'none'}")
        return
    allowed_now = list(current.allowed_actions)
    step = render_next_step(current.next_step, current.run_id, current.state, vocabulary, current.awaiting_input)
    payload.update(run_id=current.run_id, state=current.state, allowed_actions=allowed_now, next_step=step)
    lines.append(f"run_id: {current.run_id}; state: {current.state}; allowed_actions: {', '.join(allowed_now) or 'none'}")
    lines.append(f"next_step: {step}")


async def tool_error(api: RuntimeApi, exc: BaseException, run_ref: str | None,
                     vocabulary: Vocabulary | None = None, *, tool: str | None = None) -> ToolError:
    """The ``ToolError`` to raise for ``exc`` (``tool``: prefix the text as the SDK does for the errors
    it wraps, for errors raised outside a tool body)."""
    if not isinstance(exc, YTTError):
        # A bug, not something the caller can fix; still answered as a tool error that names the run.
        logger.error("unexpected error in a tool call for run %s", run_ref, exc_info=exc)
        exc = YTTError(f"internal error: {type(exc).__name__}: {str(exc)[:300]}", code="internal_error",
                       hint="{inspect}; the server log (stderr) has the traceback" if run_ref
                       else "the server log (stderr) has the traceback")
    text = await anyio.to_thread.run_sync(describe_error, api, exc, run_ref, vocabulary)
    return ToolError(f"Error executing tool {tool}: {text}" if tool else text)


# --------------------------------------------------------------------------- argument errors
def schema_values(prop: Mapping[str, Any]) -> list[str]:
    """The allowed values a JSON Schema property declares (directly or through anyOf/items), or []."""
    if "enum" in prop:
        return [str(v) for v in prop["enum"]]
    if "const" in prop:
        return [str(prop["const"])]
    values: list[str] = []
    for sub in [*prop.get("anyOf", []), *([prop["items"]] if isinstance(prop.get("items"), dict) else [])]:
        values.extend(v for v in schema_values(sub) if v not in values)
    return values


def argument_error(tool: str, exc: ValidationError, schema: Mapping[str, Any]) -> InvalidInputError:
    """The first problem the SDK's argument validation found, as a caller-facing error."""
    first = exc.errors()[0]
    loc = [str(part) for part in first.get("loc", ())]
    field = ".".join(loc) or "arguments"
    prop: Mapping[str, Any] = schema.get("properties", {}).get(loc[0], {}) if loc else {}
    allowed = schema_values(prop)
    description = str(prop.get("description") or "").strip()
    details: dict[str, Any] = {"field": field, "tool": tool}
    if allowed:
        details["allowed"] = allowed
    if first.get("type") == "missing":
        return InvalidInputError(f"{tool} needs {field}", code=f"missing_{loc[-1] if loc else 'argument'}",
                                 hint=f"pass {field}" + (f": {description}" if description else ""), details=details)
    details["input"] = repr(first.get("input"))[:200]
    reason = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    hint = f"use one of: {', '.join(allowed)}" if allowed else (f"{field}: {description}" if description else None)
    return InvalidInputError(f"{tool}: invalid value for {field}: {reason}", code="invalid_option", hint=hint,
                             details=details)


def unknown_arguments_error(tool: str, names: list[str], schema: Mapping[str, Any]) -> InvalidInputError:
    known = sorted(schema.get("properties", {}))
    guesses = {name: difflib.get_close_matches(name, known, n=1) for name in names}
    suggestion = "; ".join(f"{name}: did you mean {match[0]}?" for name, match in guesses.items() if match)
    return InvalidInputError(
        f"{tool} takes no argument {', '.join(names)}", code="unknown_option",
        hint=(suggestion + "; " if suggestion else "") + f"{tool} takes: {', '.join(known)}",
        details={"field": names[0], "allowed": known, "tool": tool},
    )


def unknown_tool_error(name: str) -> InvalidInputError:
    return InvalidInputError(f"there is no tool {name!r}", code="unknown_tool",
                             hint=f"the tools are {', '.join(TOOL_NAMES)}; {call('create-run', source='<url or file>')} "
                                 "starts a run",
                             details={"field": "name", "allowed": list(TOOL_NAMES)})
