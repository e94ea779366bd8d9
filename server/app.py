"""The MCP server: six tools, run files as resources, prompt templates as prompts.

MCP wiring lives only here and in ``tools``, ``resources`` and ``prompts``; all behaviour is the
runtime's (``kernel.pipeline.build_runtime_api``). ``build_server(api)`` takes any ``RuntimeApi`` so tests
can drive the server in-process with ``mcp.Client(server)``.
"""

from __future__ import annotations

from importlib import metadata

from mcp.server.mcpserver import MCPServer

from kernel.task_runtime.api import MAX_WAIT_SECONDS, RuntimeApi

from .prompts import register_prompts
from .resources import register_resources
from .tools import register_tools

SERVER_NAME = "yt-transcript"

INSTRUCTIONS = f"""yt-transcript turns a video (a URL or a local media file) into a Markdown article plus SRT, VTT
and JSON exports. The runtime owns routing, state, recovery and quality gates; you choose only among the
allowed_actions each result lists (next_step says what to call next).

Typical flow: create-run(source) -> advance-run(run_id) repeatedly (each call returns within wait_seconds,
at most {MAX_WAIT_SECONDS:g}; result.status 'running' means call it again) -> when allowed_actions contains
'finalize', finalize-run(run_id) -> read outputs.markdown. If the quality gate is degraded, only
'accept_degraded' is offered: review inspect-run, then finalize-run(run_id, accept_degraded=true).
To stop: apply-control(run_id, 'pause' | 'cancel'). After a crash or pause: resume-run(run_id), then
advance-run. Run files are readable as resources: run://<run_id> lists them."""


def _version() -> str:
    try:
        return metadata.version("yt-transcript")
    except metadata.PackageNotFoundError:
        return "0"


def build_server(api: RuntimeApi | None = None) -> MCPServer:
    """The yt-transcript MCP server over ``api`` (default: the yt-transcript pipeline with loaded settings).

    Raises:
        ConfigError: the settings (config file or environment) are invalid.
    """
    if api is None:
        from kernel.pipeline import build_runtime_api

        api = build_runtime_api()
    server: MCPServer = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS, version=_version(), log_level="WARNING")
    register_tools(server, api)
    register_resources(server, api)
    register_prompts(server)
    return server
