"""One real stdio session: ``python -m server`` as a subprocess, driven by the SDK's stdio client.

Checks the transport contract: every advance-run answers within its wait bound (a generous upper bound,
not a benchmark), and stdout carries nothing but JSON-RPC, from start-up to exit (a stray line would reach
the client's message handler as a parse exception; the teed copy of stdout also covers shutdown).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.session import IncomingMessage
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from tests.conftest import EXAMPLES

pytestmark = pytest.mark.anyio
WAIT_SECONDS = 3.0
SLACK_SECONDS = 10.0  # process start-up, scheduling on a busy machine
MAX_ADVANCES = 120


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def test_a_stdio_session_runs_the_sample_within_its_wait_bounds_and_keeps_stdout_clean(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, media / name)
    transport_errors: list[Exception] = []

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, Exception):
            transport_errors.append(message)

    # The server's stdout is teed to a file, so even output written after the session (at exit) is checked.
    wire_log = tmp_path / "server.stdout"
    params = StdioServerParameters(
        command="sh",
        args=["-c", '"$0" -m server | tee "$1"', sys.executable, str(wire_log)],
        cwd=tmp_path,
        env={"YTT_HOME": os.environ["YTT_HOME"], "YTT_ALLOWED_ROOTS": str(tmp_path), "YTT_LOG_LEVEL": "INFO"},
    )
    server_log = tmp_path / "server.stderr"
    with server_log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), message_handler=on_message) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert len(tools) == 6
            view = structured(await client.call_tool("create-run", {"source": str(media / "sample.mp4")}))
            run_id = view["run_id"]
            for _ in range(MAX_ADVANCES):
                if "finalize" in view["allowed_actions"]:
                    break
                started = time.monotonic()
                view = structured(await client.call_tool(
                    "advance-run", {"run_id": run_id, "wait_seconds": WAIT_SECONDS}
                ))
                assert time.monotonic() - started < WAIT_SECONDS + SLACK_SECONDS
                assert view["result"]["status"] != "failed", view["result"]
            assert "finalize" in view["allowed_actions"], view
            final = structured(await client.call_tool("finalize-run", {"run_id": run_id, "wait_seconds": WAIT_SECONDS}))
            for _ in range(MAX_ADVANCES):
                if final["state"] == "completed":
                    break
                final = structured(await client.call_tool("advance-run", {"run_id": run_id, "wait_seconds": 2}))
    assert final["state"] == "completed", final
    assert Path(final["outputs"]["markdown"]).is_file()
    assert transport_errors == [], server_log.read_text()
    wire = [line for line in wire_log.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert wire and all(json.loads(line).get("jsonrpc") == "2.0" for line in wire), server_log.read_text()
