"""The six MCP tools: thin adapters from typed tool arguments to ``RuntimeApi`` operations.

Invariants:
- No business logic: every tool is one ``RuntimeApi`` call (finalize-run, and an advance-run that
  completes the finalize, add one read-only article page for delivery); the runtime decides what is allowed.
- The event loop never blocks: each runtime call runs in a worker thread (``anyio.to_thread``).
- advance-run and finalize-run return within ``wait_seconds`` (default 20, capped at
  ``MAX_WAIT_SECONDS`` = 55, below the 60 s some clients allow a tool call); long work continues in the
  runtime's background worker and the next advance-run follows it. While they wait, runtime progress
  (reported on a waiting thread) is carried to the event loop through a memory stream and sent as MCP
  progress notifications with strictly increasing values.
- Every tool returns a ``CallToolResult`` whose structured content is a ``RunView`` (the output schema)
  and whose text content is the same JSON (``schemas.tool_result``). A finished run's result delivers
  the article: title, words, chapters, resource links to every published file, and the article itself
  when it is small (``schemas.with_delivery``).
- A ``YTTError`` reaches the client as a tool error (``isError``) in the one shape of ``server.errors``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Annotated, Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from kernel.task_runtime.api import DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, RuntimeApi, clamp_wait
from kernel.task_runtime.contracts import FINISHED_STATES, CommandEnvelope, Progress, RuntimeAction
from kernel.task_runtime.control import Signal
from kernel.task_runtime.errors import YTTError
from kernel.task_runtime.views import detail_names

from .errors import tool_error
from .schemas import TOOL_PAGE_SIZE, RunView, run_view, tool_result, with_delivery
from .signatures import intent_parameters, literal_of, with_signature
from .words import ARTICLE_DETAIL, TOOL_NAMES, Vocabulary

logger = logging.getLogger(__name__)

__all__ = ["TOOL_NAMES", "register_tools", "vocabulary_of"]

ToolResult = Annotated[CallToolResult, RunView]  # a CallToolResult whose structured content is a RunView
RunId = Annotated[str, Field(description="the run_id returned by create-run (a work_dir path also works)")]
WaitSeconds = Annotated[
    float,
    Field(
        ge=0,
        description=f"how long to wait for the work before returning (default {DEFAULT_WAIT_SECONDS:g}; "
        f"values above {MAX_WAIT_SECONDS:g} are treated as {MAX_WAIT_SECONDS:g})",
    ),
]


def vocabulary_of(api: RuntimeApi) -> Vocabulary:
    return Vocabulary(actions=api.pipeline.actions, details=tuple(detail_names(api.pipeline)))


async def _envelope(api: RuntimeApi, vocabulary: Vocabulary, run_ref: str | None,
                    call: Callable[[], CommandEnvelope]) -> CommandEnvelope:
    try:
        return await anyio.to_thread.run_sync(call)
    except Exception as exc:
        raise await tool_error(api, exc, run_ref, vocabulary) from exc


async def _delivered(api: RuntimeApi, vocabulary: Vocabulary, view: RunView) -> CallToolResult:
    """``view`` of a finished run with its article delivered (when the pipeline pages articles)."""
    if view.state not in FINISHED_STATES or not vocabulary.pages_articles:
        return tool_result(view)
    try:
        page = await anyio.to_thread.run_sync(
            lambda: run_view(api.inspect_run(view.run_id, detail=ARTICLE_DETAIL, cursor=0), vocabulary))
    except YTTError:
        logger.warning("run %s is finished but its article cannot be read", view.run_id, exc_info=True)
        return tool_result(view)
    return tool_result(with_delivery(view, page), links=True)


# --------------------------------------------------------------------------- progress
PROGRESS_TOTAL = 100.0


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
        # Percent of the run's expected work (phases weighted by the time they take), so speech
        # recognition of a long file moves the value in proportion to the audio done.
        value = round(progress.fraction * PROGRESS_TOTAL, 1)
        message = progress_message(progress)
        if value <= self._last_value:
            # The protocol wants strictly increasing values: a new message nudges the value up a little.
            if message == self._last_message or self._last_value + 0.01 > PROGRESS_TOTAL:
                return
            value = round(self._last_value + 0.01, 2)
        self._last_value, self._last_message = value, message
        try:
            await self._ctx.report_progress(value, PROGRESS_TOTAL, message)
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
    vocabulary: Vocabulary,
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
        raise await tool_error(api, failure or RuntimeError("no result"), run_ref, vocabulary) from failure
    if envelope.progress is not None:
        await bridge.report(envelope.progress)  # where the run stands as the call returns
    return run_view(envelope, vocabulary)


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
paginated), telemetry (every history event, paginated), article (the published article, one page of at
most about 40,000 characters per call, in article.text; name='srt', 'vtt' or 'json' pages an export the same
way), draft (the text recognized so far, readable while speech recognition runs: draft.text as paragraphs,
draft.status, draft.complete; pass draft.poll_cursor as cursor on a later call to get only the new words)
or items (a batch's items). For the next page, pass the returned next_cursor as cursor; it is null on the
last page, and the article's pages joined give the published file exactly. Use it to decide between
allowed_actions, to see why a run failed, or to read the finished article."""

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
parts are listed in quality). Returns outputs (the published paths; outputs.markdown is the article),
quality and, once completed, the article: its title, words and chapters, a resource link per published
file, and the article text itself when it is short (otherwise read it with inspect-run(detail='article')).
If result.status is 'running', call advance-run to follow it to 'completed'."""


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
    name = inspect.Parameter(
        "name", inspect.Parameter.KEYWORD_ONLY, default=None,
        annotation=Annotated[str | None, Field(description="for a detail that shows one of several published "
                                               "files (article): which one, a key of outputs (default: the "
                                               "article)")],
    )
    return [_run_id_parameter(), detail, cursor, name]


def _run_id_parameter() -> inspect.Parameter:
    return inspect.Parameter("run_id", inspect.Parameter.KEYWORD_ONLY, annotation=RunId)


def _context_parameter() -> inspect.Parameter:
    return inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)


def register_tools(server: MCPServer, api: RuntimeApi) -> None:
    """Add the six tools to ``server``; each is a thin call into ``api``. The parameters of create-run,
    inspect-run and advance-run come from the pipeline's intent model, details and action table."""
    vocabulary = vocabulary_of(api)

    async def create_run(**arguments: Any) -> CallToolResult:
        work_dir = arguments.pop("work_dir", None)
        raw = {key: value for key, value in arguments.items() if value is not None}
        envelope = await _envelope(api, vocabulary, None, lambda: api.create_run(raw, work_dir=work_dir))
        return tool_result(run_view(envelope, vocabulary))

    server.add_tool(
        with_signature(create_run, _create_run_parameters(api), ToolResult),
        name="create-run",
        title="Create a transcript run",
        description=CREATE_RUN,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                    open_world_hint=True),
    )

    async def inspect_run(**arguments: Any) -> CallToolResult:
        run_id, cursor = arguments["run_id"], arguments["cursor"]
        envelope = await _envelope(api, vocabulary, run_id, lambda: api.inspect_run(
            run_id, detail=arguments["detail"], cursor=cursor, limit=TOOL_PAGE_SIZE, name=arguments.get("name")))
        return tool_result(run_view(envelope, vocabulary, page_cursor=cursor))

    server.add_tool(
        with_signature(inspect_run, _inspect_run_parameters(api), ToolResult),
        name="inspect-run",
        title="Inspect a run",
        description=INSPECT_RUN,
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                    open_world_hint=False),
    )

    async def advance_run(ctx: Context, **arguments: Any) -> CallToolResult:
        run_id = arguments.pop("run_id")
        action = arguments.pop("action", None)
        wait = clamp_wait(arguments.pop("wait_seconds", DEFAULT_WAIT_SECONDS))
        extra = {key: value for key, value in arguments.items() if value is not None}
        view = await _run_with_progress(
            api, vocabulary, ctx, run_id,
            lambda on_progress: api.advance_run(run_id, action=action, wait_seconds=wait, on_progress=on_progress,
                                                args=extra),
        )
        finished_now = view.result is not None and view.result.status == "completed" and view.result.action in (
            RuntimeAction.FINALIZE, RuntimeAction.ACCEPT_DEGRADED)
        return await _delivered(api, vocabulary, view) if finished_now else tool_result(view)

    server.add_tool(
        with_signature(advance_run, [_context_parameter(), *_advance_run_parameters(api)], ToolResult),
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
    ) -> ToolResult:
        envelope = await _envelope(api, vocabulary, run_id, lambda: api.apply_control(run_id, signal, reason))
        return tool_result(run_view(envelope, vocabulary))

    @server.tool(
        name="resume-run",
        title="Resume a run",
        description=RESUME_RUN,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                                    open_world_hint=False),
    )
    async def resume_run(run_id: RunId) -> ToolResult:
        envelope = await _envelope(api, vocabulary, run_id, lambda: api.resume_run(run_id))
        return tool_result(run_view(envelope, vocabulary))

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
    ) -> ToolResult:
        wait = clamp_wait(wait_seconds)
        view = await _run_with_progress(
            api, vocabulary, ctx, run_id,
            lambda on_progress: api.finalize_run(
                run_id, accept_degraded=accept_degraded, wait_seconds=wait, on_progress=on_progress
            ),
        )
        return await _delivered(api, vocabulary, view)
