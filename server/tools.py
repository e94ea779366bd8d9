"""The six MCP tools: thin adapters from typed tool arguments to ``RuntimeApi`` operations.

Invariants:
- No business logic: every tool is one ``RuntimeApi`` call; the runtime decides what is allowed.
- The event loop never blocks: each runtime call runs in a worker thread (``anyio.to_thread``).
- advance-run and finalize-run return within ``wait_seconds`` (default 20, capped at
  ``MAX_WAIT_SECONDS`` = 55, below the 60 s some clients allow a tool call); long work continues in the
  runtime's background worker and the next advance-run follows it. While they wait, runtime progress
  (reported on a waiting thread) is carried to the event loop through a memory stream and sent as MCP
  progress notifications with strictly increasing values.
- A ``YTTError`` reaches the client as a tool error (``isError``): the SDK turns the ``ToolError`` raised
  here into a text result prefixed ``Error executing tool <name>:``. The text holds ``error[code]:
  message``, the hint, the run_id and (for an existing run) its state and current allowed_actions, and
  ends with one line of JSON carrying the same facts for programs.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from kernel.task_runtime.api import DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, RuntimeApi, clamp_wait
from kernel.task_runtime.contracts import CommandEnvelope, Progress
from kernel.task_runtime.control import Signal
from kernel.task_runtime.errors import RunNotFoundError, YTTError
from kernel.task_runtime.views import detail_names

from .schemas import TOOL_PAGE_SIZE, RunView, run_view
from .signatures import intent_parameters, literal_of, with_signature

logger = logging.getLogger(__name__)

TOOL_NAMES = ("create-run", "inspect-run", "advance-run", "apply-control", "resume-run", "finalize-run")


RunId = Annotated[str, Field(description="the run_id returned by create-run (a work_dir path also works)")]
WaitSeconds = Annotated[
    float,
    Field(
        ge=0,
        description=f"how long to wait for the work before returning (default {DEFAULT_WAIT_SECONDS:g}; "
        f"values above {MAX_WAIT_SECONDS:g} are treated as {MAX_WAIT_SECONDS:g})",
    ),
]


# --------------------------------------------------------------------------- errors
def describe_error(api: RuntimeApi, exc: YTTError, run_ref: str | None) -> str:
    """The tool-error text: readable lines, then one JSON line with code, run_id and allowed_actions."""
    payload: dict[str, Any] = {"error": exc.to_dict()}
    lines = [f"error[{exc.code}]: {exc.message}"]
    if exc.hint:
        lines.append(f"hint: {exc.hint}")
    if run_ref:
        payload["run_id"] = run_ref
        if isinstance(exc, RunNotFoundError):
            lines.append(f"run_id: {run_ref} (unknown: no run has this id; create-run starts one)")
        else:
            try:
                current = api.inspect_run(run_ref)
            except YTTError:
                allowed = exc.details.get("allowed_actions")
                if isinstance(allowed, list):
                    payload["allowed_actions"] = allowed
                    lines.append(f"run_id: {run_ref}; allowed_actions: {', '.join(map(str, allowed)) or 'none'}")
            else:
                allowed_now = list(current.allowed_actions)
                payload.update(run_id=current.run_id, state=current.state, allowed_actions=allowed_now)
                lines.append(
                    f"run_id: {current.run_id}; state: {current.state}; "
                    f"allowed_actions: {', '.join(allowed_now) or 'none'}"
                )
    lines.append(json.dumps(payload, ensure_ascii=False, default=str))
    return "\n".join(lines)


async def _tool_error(api: RuntimeApi, exc: BaseException, run_ref: str | None) -> ToolError:
    if isinstance(exc, YTTError):
        return ToolError(await anyio.to_thread.run_sync(describe_error, api, exc, run_ref))
    # A bug, not something the caller can fix; still answered as a tool error that names the run.
    logger.error("unexpected error in a tool call for run %s", run_ref, exc_info=exc)
    internal = YTTError(
        f"internal error: {type(exc).__name__}: {str(exc)[:300]}",
        code="internal_error",
        hint="inspect-run shows the run's state; the server log (stderr) has the traceback",
    )
    return ToolError(await anyio.to_thread.run_sync(describe_error, api, internal, run_ref))


async def _run(api: RuntimeApi, run_ref: str | None, call: Callable[[], CommandEnvelope]) -> RunView:
    try:
        envelope = await anyio.to_thread.run_sync(call)
    except Exception as exc:
        raise await _tool_error(api, exc, run_ref) from exc
    return run_view(envelope)


# --------------------------------------------------------------------------- progress
class ProgressBridge:
    """Carries runtime ``Progress`` from any thread to ``ctx.report_progress`` on the event loop.

    The runtime calls ``callback`` on its waiting thread; the value is handed to the loop without
    blocking on the network (a bounded memory stream; a full buffer drops the update, as progress is
    best-effort). ``pump`` sends notifications in order, each with a strictly larger progress value.
    """

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._token = anyio.lowlevel.current_token()
        self._send, self._receive = anyio.create_memory_object_stream[Progress](max_buffer_size=16)
        self._last_value = -1.0
        self._last_message: str | None = None

    def callback(self, progress: Progress) -> None:
        try:
            anyio.from_thread.run_sync(self._send.send_nowait, progress, token=self._token)
        except Exception:  # a dropped update must never break the runtime's wait
            pass

    def close(self) -> None:
        self._send.close()

    async def pump(self) -> None:
        async with self._receive:
            async for progress in self._receive:
                await self.report(progress)

    async def report(self, progress: Progress) -> None:
        total = float(progress.phases_total)
        value = min(progress.phases_done + (progress.phase_progress or 0.0), total)
        message = progress_message(progress)
        if value <= self._last_value:
            # The protocol wants strictly increasing values: a new message nudges the value up a little.
            if message == self._last_message or self._last_value + 1e-3 > total:
                return
            value = self._last_value + 1e-3
        self._last_value, self._last_message = value, message
        try:
            await self._ctx.report_progress(value, total, message)
        except Exception:  # the client went away; the tool result still matters more
            logger.debug("progress notification not delivered", exc_info=True)


def progress_message(progress: Progress) -> str:
    """E.g. ``phase 4/11 acquire 40%: message; chunks done=3 pending=5`` (short, for progress UIs)."""
    if progress.current_phase:
        parts = [f"phase {min(progress.phases_done + 1, progress.phases_total)}/{progress.phases_total}",
                 progress.current_phase]
    else:
        parts = [f"{progress.phases_done}/{progress.phases_total} phases done"]
    if progress.phase_progress is not None:
        parts.append(f"{round(progress.phase_progress * 100)}%")
    text = " ".join(parts)
    if progress.message:
        text += f": {progress.message[:120]}"
    if progress.counts:
        text += "; " + " ".join(f"{k}={v}" for k, v in sorted(progress.counts.items()))
    return text


async def _run_with_progress(
    api: RuntimeApi,
    ctx: Context,
    run_ref: str,
    call: Callable[[Callable[[Progress], None]], CommandEnvelope],
) -> RunView:
    bridge = ProgressBridge(ctx)
    envelope: CommandEnvelope | None = None
    failure: Exception | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(bridge.pump)
        try:
            envelope = await anyio.to_thread.run_sync(call, bridge.callback)
        except Exception as exc:
            failure = exc
        finally:
            bridge.close()
    if failure is not None or envelope is None:
        raise await _tool_error(api, failure or RuntimeError("no result"), run_ref) from failure
    if envelope.progress is not None:
        await bridge.report(envelope.progress)  # where the run stands as the call returns
    return run_view(envelope)


# --------------------------------------------------------------------------- tools
CREATE_RUN = """Start a transcript run: validate the intent and create the run's work_dir. Fast; does no download
or transcription yet. Call it once per video, then drive the run with advance-run.

source is a video URL (YouTube or any site yt-dlp supports) or a local media file path inside the allowed
roots. A playlist or channel URL, a folder, several sources (sources) or any batch option (limit, since,
match, force, concurrency) create a batch: one run per item, advanced in the background by advance-run on the
batch; inspect-run(detail='items') pages its items with their own run_ids; finalize-run returns its outputs
index. mode: clean (default; the spoken language, cleaned up), translate (needs target_language and an
LLM), bilingual (each paragraph followed by its translation). Returns run_id (pass it to every other
tool), work_dir, state and allowed_actions. Bad input comes back as a tool error naming the field."""

INSPECT_RUN = """Read-only view of a run; safe to call any time, changes nothing. detail: summary (default:
state, progress, phase table, artifacts, route and chunk counts, failure), phases, chunks (per-chunk status,
paginated) or telemetry (history events, paginated). For pages, pass the returned next_cursor as cursor.
Use it to decide between allowed_actions or to see why a run failed."""

ADVANCE_RUN = """Move a run forward: run one allowed action (or, with no action, the one the policy chooses)
and wait up to wait_seconds (default 20, max 55) for it. Long work (download, speech recognition, the LLM
chunk loop) continues in the background after the call returns; if result.status is 'running', call
advance-run again to follow it. Loop until allowed_actions contains 'finalize' (then call finalize-run) or
'accept_degraded' (review, then finalize-run with accept_degraded=true). An action outside allowed_actions
is refused with the allowed set. Sends progress notifications while waiting."""

APPLY_CONTROL = """Pause or cancel a run (an out-of-band signal; works even while another process drives it).
pause stops at the next safe point and keeps all finished work (resume-run continues); cancel ends the run
for good. Returns the acknowledged signal and the effective state."""

RESUME_RUN = """Recover a run after a crash, a killed process or a pause: takes over a stale lease (a live
owner is never broken), marks interrupted phases and chunks for re-running, clears the pause. Finished work
is kept and not redone. Then call advance-run. Returns a recovery summary and allowed_actions."""

FINALIZE_RUN = """Pass the final quality gate and assemble the outputs (Markdown article plus SRT, VTT and JSON
exports); waits up to wait_seconds (default 20, max 55). Allowed only when allowed_actions contains
'finalize' (gate passed) or, with accept_degraded=true, 'accept_degraded' (gate degraded: the degraded
parts are listed in quality). Returns outputs (outputs.markdown is the article path) and quality. If
result.status is 'running', call advance-run to follow it to 'completed'."""


def _create_run_parameters(api: RuntimeApi) -> list[inspect.Parameter]:
    work_dir = inspect.Parameter(
        "work_dir", inspect.Parameter.KEYWORD_ONLY, default=None,
        annotation=Annotated[str | None, Field(description="an empty folder for the run's state (optional)")],
    )
    # The primary pipeline's intent, then what the other pipelines add (the batch options).
    parameters: dict[str, inspect.Parameter] = {}
    for spec in api.pipelines:
        for parameter in intent_parameters(spec.intent_model):
            parameters.setdefault(parameter.name, parameter)
    return [*parameters.values(), work_dir]


def _advance_run_parameters(api: RuntimeApi) -> list[inspect.Parameter]:
    table = api.pipeline.actions
    action = inspect.Parameter(
        "action", inspect.Parameter.KEYWORD_ONLY, default=None,
        annotation=Annotated[literal_of(table.names()) | None, Field(
            description="one of the run's allowed_actions; omit it to take the next step")],
    )
    extras = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=Annotated[str | None, Field(description=description)])
        for name, description in table.arguments().items()
    ]
    wait = inspect.Parameter("wait_seconds", inspect.Parameter.KEYWORD_ONLY, default=DEFAULT_WAIT_SECONDS,
                             annotation=WaitSeconds)
    return [_run_id_parameter(), action, *extras, wait]


def _inspect_run_parameters(api: RuntimeApi) -> list[inspect.Parameter]:
    names = list(dict.fromkeys(name for spec in api.pipelines for name in detail_names(spec)))
    detail = inspect.Parameter(
        "detail", inspect.Parameter.KEYWORD_ONLY, default="summary",
        annotation=Annotated[literal_of(names), Field(description=", ".join(names))],
    )
    cursor = inspect.Parameter(
        "cursor", inspect.Parameter.KEYWORD_ONLY, default=0,
        annotation=Annotated[int, Field(ge=0, description="next_cursor from the previous page")],
    )
    return [_run_id_parameter(), detail, cursor]


def _run_id_parameter() -> inspect.Parameter:
    return inspect.Parameter("run_id", inspect.Parameter.KEYWORD_ONLY, annotation=RunId)


def _context_parameter() -> inspect.Parameter:
    return inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)


def register_tools(server: MCPServer, api: RuntimeApi) -> None:
    """Add the six tools to ``server``; each is a thin call into ``api``. The parameters of create-run,
    inspect-run and advance-run come from the pipeline's intent model, details and action table."""

    async def create_run(**arguments: Any) -> RunView:
        work_dir = arguments.pop("work_dir", None)
        raw = {key: value for key, value in arguments.items() if value is not None}
        return await _run(api, None, lambda: api.create_run(raw, work_dir=work_dir))

    server.add_tool(
        with_signature(create_run, _create_run_parameters(api), RunView),
        name="create-run",
        title="Create a transcript run",
        description=CREATE_RUN,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                    open_world_hint=True),
    )

    async def inspect_run(**arguments: Any) -> RunView:
        run_id = arguments["run_id"]
        return await _run(api, run_id, lambda: api.inspect_run(
            run_id, detail=arguments["detail"], cursor=arguments["cursor"], limit=TOOL_PAGE_SIZE))

    server.add_tool(
        with_signature(inspect_run, _inspect_run_parameters(api), RunView),
        name="inspect-run",
        title="Inspect a run",
        description=INSPECT_RUN,
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                    open_world_hint=False),
    )

    async def advance_run(ctx: Context, **arguments: Any) -> RunView:
        run_id = arguments.pop("run_id")
        action = arguments.pop("action", None)
        wait = clamp_wait(arguments.pop("wait_seconds", DEFAULT_WAIT_SECONDS))
        extra = {key: value for key, value in arguments.items() if value is not None}
        return await _run_with_progress(
            api, ctx, run_id,
            lambda on_progress: api.advance_run(run_id, action=action, wait_seconds=wait, on_progress=on_progress,
                                                args=extra),
        )

    server.add_tool(
        with_signature(advance_run, [_context_parameter(), *_advance_run_parameters(api)], RunView),
        name="advance-run",
        title="Advance a run",
        description=ADVANCE_RUN,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                    open_world_hint=True),
    )

    @server.tool(
        name="apply-control",
        title="Pause or cancel a run",
        description=APPLY_CONTROL,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                                    open_world_hint=False),
    )
    async def apply_control(
        run_id: RunId,
        signal: Annotated[Signal, Field(description="pause (resumable) or cancel (final)")],
        reason: Annotated[str | None, Field(description="why, recorded in telemetry", max_length=500)] = None,
    ) -> RunView:
        return await _run(api, run_id, lambda: api.apply_control(run_id, signal, reason))

    @server.tool(
        name="resume-run",
        title="Resume a run",
        description=RESUME_RUN,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                                    open_world_hint=False),
    )
    async def resume_run(run_id: RunId) -> RunView:
        return await _run(api, run_id, lambda: api.resume_run(run_id))

    @server.tool(
        name="finalize-run",
        title="Finalize a run",
        description=FINALIZE_RUN,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                                    open_world_hint=False),
    )
    async def finalize_run(
        run_id: RunId,
        ctx: Context,
        accept_degraded: Annotated[
            bool, Field(description="accept a degraded quality gate (only when 'accept_degraded' is allowed)")
        ] = False,
        wait_seconds: WaitSeconds = DEFAULT_WAIT_SECONDS,
    ) -> RunView:
        wait = clamp_wait(wait_seconds)
        return await _run_with_progress(
            api,
            ctx,
            run_id,
            lambda on_progress: api.finalize_run(
                run_id, accept_degraded=accept_degraded, wait_seconds=wait, on_progress=on_progress
            ),
        )
