"""The MCP server: six tools, run files as resources, prompt templates as prompts.

MCP wiring lives only here and in ``tools``, ``resources`` and ``prompts``; all behaviour is the
runtime's (``kernel.pipeline.build_runtime_api``). ``build_server(api)`` takes any ``RuntimeApi`` so tests
can drive the server in-process with ``mcp.Client(server)``.

``TranscriptServer`` refines the SDK's ``MCPServer`` in two places, both documented extension points:
- ``call_tool``: the SDK validates arguments before a tool body runs, and answers a bad one with
  pydantic's own text; here an unknown tool, an argument no tool takes and every validation failure
  become the same tool error as any other (``server.errors``: code, field, allowed values, hint).
- ``read_resource``: a run file is read with its own MIME type and in pages (``server.resources``),
  which a resource template (one fixed MIME type, one content) cannot express.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from typing import Any

import anyio.to_thread
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import AnyUrl, ValidationError

from kernel.task_runtime.api import MAX_WAIT_SECONDS, RuntimeApi

from .errors import argument_error, tool_error, unknown_arguments_error, unknown_tool_error
from .prompts import register_prompts
from .resources import RunFiles, register_resources
from .tools import register_tools, vocabulary_of

SERVER_NAME = "yt-transcript"

INSTRUCTIONS = f"""yt-transcript turns a video (a URL or a local media file) into a Markdown article plus SRT, VTT
and JSON exports. The runtime owns routing, state, recovery and quality gates; you choose only among the
allowed_actions each result lists (next_step says what to call next, in tools and arguments).

Typical flow: create-run(source) -> advance-run(run_id) repeatedly (each call returns within wait_seconds,
at most {MAX_WAIT_SECONDS:g}; result.status 'running' means call it again) -> when allowed_actions contains
'finalize', finalize-run(run_id). If the quality gate is degraded, only 'accept_degraded' is offered:
review inspect-run, then finalize-run(run_id, accept_degraded=true).
While speech recognition runs, inspect-run(run_id, detail='draft', cursor=0) shows the words recognized so
far (draft.text, draft.status); later calls with cursor=draft.poll_cursor return only the new words, until
draft.complete is true.
Reading the result: finalize-run returns the article's title, words and chapters, resource links to every
published file and, for a short article, its text (article.text). A longer one is read page by page:
inspect-run(run_id, detail='article', cursor=0), then cursor=next_cursor until next_cursor is null; the
pages joined are the published file. name='srt', 'vtt' or 'json' pages an export the same way.
To stop: apply-control(run_id, 'pause' | 'cancel'). After a crash or pause: resume-run(run_id), then
advance-run. Errors name the field, its allowed values and what to call instead. Run files are readable as
resources: runs://all lists the runs, run://<run_id> lists a run's files (large ones in pages: follow
_meta.next_uri)."""


def _version() -> str:
    try:
        return metadata.version("yt-transcript")
    except metadata.PackageNotFoundError:
        return "0"


class TranscriptServer(MCPServer):
    """``MCPServer`` whose argument errors have the one tool-error shape and whose run files are read
    with their own MIME type, in pages."""

    def __init__(self, api: RuntimeApi, **settings: Any) -> None:
        super().__init__(SERVER_NAME, **settings)
        self.api = api
        self.vocabulary = vocabulary_of(api)
        self.run_files = RunFiles(api)
        self._input_schemas: dict[str, dict[str, Any]] | None = None

    async def _schema_of(self, name: str) -> dict[str, Any] | None:
        if self._input_schemas is None:
            self._input_schemas = {tool.name: tool.input_schema for tool in await self.list_tools()}
        return self._input_schemas.get(name)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Run a tool; every refusal of its arguments is a tool error of the common shape.

        Raises:
            ToolError: the tool is unknown, an argument is unknown or invalid, or the tool refused.
        """
        run_value = arguments.get("run_id")
        run_ref = run_value if isinstance(run_value, str) and run_value.strip() else None
        schema = await self._schema_of(name)
        if schema is None:
            raise await tool_error(self.api, unknown_tool_error(name), None, self.vocabulary, tool=name)
        unknown = sorted(set(arguments) - set(schema.get("properties", {})))
        if unknown:
            raise await tool_error(self.api, unknown_arguments_error(name, unknown, schema), run_ref,
                                   self.vocabulary, tool=name)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):  # the SDK refused the arguments
                problem = argument_error(name, exc.__cause__, schema)
                raise await tool_error(self.api, problem, run_ref, self.vocabulary, tool=name) from exc.__cause__
            raise

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Any, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        """Read a resource; a run file comes as one page with its MIME type and paging ``_meta``.

        Raises:
            ResourceNotFoundError: no such resource, run or file.
            ResourceError: the file is binary, outside the work_dir, or the cursor is invalid.
        """
        target = self.run_files.match(str(uri))
        if target is None:
            return await super().read_resource(uri, context)
        page = await anyio.to_thread.run_sync(lambda: self.run_files.read(*target))
        return page.contents()


def build_server(api: RuntimeApi | None = None) -> TranscriptServer:
    """The yt-transcript MCP server over ``api`` (default: the yt-transcript pipeline with loaded settings).

    Raises:
        ConfigError: the settings (config file or environment) are invalid.
    """
    if api is None:
        from kernel.pipeline import build_runtime_api

        api = build_runtime_api()
    server = TranscriptServer(api, instructions=INSTRUCTIONS, version=_version(), log_level="WARNING")
    register_tools(server, api)
    register_resources(server, api, server.run_files)
    register_prompts(server)
    return server
