"""Real stdio sessions: ``python -m server`` as a subprocess, driven by the SDK's stdio client.

Checks the transport contract: every advance-run answers within its wait bound (a generous upper bound,
not a benchmark), and stdout carries nothing but JSON-RPC, from start-up to exit (a stray line would reach
the client's message handler as a parse exception; the teed copy of stdout also covers shutdown). And the
delivery contract end to end: a long article read back page by page is the published file byte for byte.
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
from mcp.types import CallToolResult, ResourceLink

from tests.conftest import EXAMPLES, REPO_ROOT
from tests.server.helpers import MAX_RESULT_TOKENS, MeasuredClient, finish, read_pages
from tests.server.media import english_sentences, long_talk

pytestmark = pytest.mark.anyio
# The server runs from this checkout (PYTHONPATH), not from wherever the package is installed.
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
        env={"YTT_HOME": os.environ["YTT_HOME"], "YTT_ALLOWED_ROOTS": str(tmp_path), "YTT_LOG_LEVEL": "INFO",
             "PYTHONPATH": str(REPO_ROOT)},
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


async def test_over_stdio_a_long_article_reads_back_page_by_page_as_the_published_file(tmp_path: Path) -> None:
    media = long_talk(tmp_path / "media", english_sentences(1200))
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "server"], cwd=tmp_path,
        env={"YTT_HOME": os.environ["YTT_HOME"], "YTT_ALLOWED_ROOTS": str(tmp_path),
             "PYTHONPATH": str(REPO_ROOT)},
    )
    with (tmp_path / "server.stderr").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as raw:
            client = MeasuredClient(raw)
            created = structured(await client.call("create-run", {"source": str(media)}))
            view, delivered = await finish(client, created["run_id"], created)
            pages = await read_pages(client, created["run_id"])
            link = next(b for b in delivered.content if isinstance(b, ResourceLink) and b.name == "markdown")
            first = (await raw.read_resource(link.uri)).contents[0]
    published = Path(view["outputs"]["markdown"]).read_bytes()
    assert len(pages) >= 3 and pages[-1]["next_cursor"] is None
    assert "".join(page["text"] for page in pages).encode("utf-8") == published
    assert link.mime_type == "text/markdown" and link.size == len(published) and " " not in link.uri
    assert first.text == pages[0]["text"] and first.mime_type == "text/markdown"  # type: ignore[union-attr]
    assert client.sizes.largest_tokens < MAX_RESULT_TOKENS, client.sizes.per_call
