"""Batches over MCP: create-run with a folder makes a batch, advance-run advances it in the background,
inspect-run pages its items with their own run ids (which the tools accept as usual), finalize-run returns the
outputs index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.pipeline.batch.intent import BatchOptions
from server.app import build_server
from tests.pipeline.batch.conftest import media_folder

pytestmark = pytest.mark.anyio
MAX_ADVANCES = 60


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def test_a_folder_batch_runs_through_the_six_tools(tmp_path: Path) -> None:
    media_folder(tmp_path / "media", 3)
    api = build_runtime_api(load_settings(cwd=tmp_path))
    async with Client(build_server(api)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(BatchOptions.model_fields) <= set(tools["create-run"].input_schema["properties"])
        created = structured(await client.call_tool("create-run", {
            "source": str(tmp_path / "media"), "output_dir": str(tmp_path / "out")}))
        batch_id = created["run_id"]
        view = created
        for _ in range(MAX_ADVANCES):
            if "finalize" in view["allowed_actions"]:
                break
            view = structured(await client.call_tool("advance-run", {"run_id": batch_id, "wait_seconds": 5}))
        else:
            raise AssertionError(f"the batch did not reach finalize: {view}")
        page = structured(await client.call_tool("inspect-run", {"run_id": batch_id, "detail": "items"}))
        items = page["data"]["items"]
        assert [item["status"] for item in items] == ["finished"] * 3
        item = structured(await client.call_tool("inspect-run", {"run_id": items[0]["run_id"]}))
        assert item["state"] == "completed" and item["outputs"]["markdown"] == items[0]["markdown"]
        final = structured(await client.call_tool("finalize-run", {"run_id": batch_id}))
        assert final["state"] == "completed"
        index = json.loads(Path(final["outputs"]["index"]).read_text(encoding="utf-8"))
        assert [Path(entry["outputs"]["markdown"]).is_file() for entry in index["items"]] == [True] * 3
        assert final["quality"]["counts"] == {"finished": 3}
        assert len(final["quality"]["articles"]) == 3
