"""The CLI's words: kernel hints, next steps and actions rendered as ``yt-transcript`` commands and flags.

Every message the CLI and the script-first commands print about what to do next goes through here, so it
names only commands and flags that exist (a test checks them against the real argument parsers).
"""

from __future__ import annotations

from collections.abc import Callable

from kernel.task_runtime.contracts import NextStep, RuntimeAction
from kernel.task_runtime.errors import YTTError
from kernel.task_runtime.hints import Placeholder, render

SUBMIT_CHUNK = "submit_chunk"  # the agent-as-writer action: its CLI command takes a file


def flag_for(option: str) -> str:
    """``--target-language`` for the intent field ``target_language``."""
    return "--" + option.replace("_", "-")


def command_for(action: str, run_id: str) -> str:
    """The CLI command that takes ``action`` on ``run_id``."""
    if action == RuntimeAction.FINALIZE:
        return f"yt-transcript finalize {run_id}"
    if action == RuntimeAction.ACCEPT_DEGRADED:
        return f"yt-transcript finalize {run_id} --accept-degraded"
    if action in (RuntimeAction.RESUME, RuntimeAction.RUN_PHASE):
        return f"yt-transcript resume {run_id}"
    if action in (RuntimeAction.PAUSE, RuntimeAction.CANCEL):
        return f"yt-transcript {action} {run_id}"
    if action == SUBMIT_CHUNK:
        return f"yt-transcript submit-chunk {run_id} CHUNK_ID FILE"
    return f"yt-transcript advance {run_id} {action}"


def speak(run_id: str | None) -> Callable[[Placeholder], str]:
    run = run_id or "RUN"

    def say(placeholder: Placeholder) -> str:
        if placeholder.kind == "option":
            flag = flag_for(placeholder.name or "")
            return f"`{flag} {placeholder.value}`" if placeholder.value else f"`{flag}`"
        if placeholder.kind == "action":
            return f"`{command_for(placeholder.name or '', run)}`"
        if placeholder.kind == "inspect":
            return f"`yt-transcript inspect {run}`"
        if placeholder.kind == "resume":
            return f"`yt-transcript resume {run}`"
        return "start a new run with `yt-transcript run SOURCE`"  # the same phrase as over MCP

    return say


def cli_text(text: str, run_id: str | None = None) -> str:
    """``text`` with its hint placeholders in CLI words."""
    return render(text, speak(run_id))


def cli_next_step(step: NextStep, run_id: str, *, with_reason: bool = True) -> str:
    """The policy's next step in CLI words (commands and flags only); ``with_reason=False`` leaves out the
    policy's reason (when the message already says it)."""
    if not with_reason:
        if step.kind == "choose" and step.choices and SUBMIT_CHUNK not in step.choices:
            return "then: " + " or ".join(f"`{command_for(name, run_id)}`" for name in step.choices)
        if step.kind == "act" and step.action is not None:
            return f"then `{command_for(step.action, run_id)}` continues"
    reason = cli_text(step.reason, run_id)
    if step.kind == "done":
        return f"{reason}; `yt-transcript run SOURCE` starts a new run"
    if step.kind in ("wait", "busy"):
        return f"{reason}; `yt-transcript inspect {run_id}` follows it"
    if step.kind == "act" and step.action is not None:
        return f"{reason}: `{command_for(step.action, run_id)}` continues"
    if SUBMIT_CHUNK in step.choices:
        return (f"{reason}. `yt-transcript agent-task {run_id}` prints the task; `yt-transcript submit-chunk "
                f"{run_id} CHUNK_ID FILE` submits your text (FILE - reads stdin); or "
                f"`yt-transcript cancel {run_id}`")
    options = "; ".join(f"`{command_for(name, run_id)}`" for name in step.choices)
    if not options:
        return f"{reason}; `yt-transcript run SOURCE` starts a new run"
    return f"{reason}. Choose: {options}"


def cli_error(error: YTTError, run_id: str | None = None) -> YTTError:
    """``error`` with its hint in CLI words, plus the next step when the error carries one."""
    from kernel.task_runtime.drive import next_step_of

    run = run_id or (str(error.details.get("run_id")) if error.details.get("run_id") else None)
    hint = cli_text(error.hint, run) if error.hint else None
    step = next_step_of(error)
    if step is not None and run and not getattr(error, "rendered_for_cli", False):
        # A failure's message already says what failed: only the ways on are added to its own hint.
        where = cli_next_step(step, run, with_reason=error.code != "run_stopped")
        hint = f"{hint.rstrip('.; ')}; {where}" if hint else where
    rendered = YTTError(cli_text(error.message, run), code=error.code, hint=hint, details=error.details,
                        permanent=error.permanent)
    rendered.exit_code = error.exit_code
    rendered.rendered_for_cli = True  # type: ignore[attr-defined]  # rendering twice would add the next step twice
    return rendered
