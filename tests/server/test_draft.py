"""inspect-run(detail='draft') over MCP, in-process: the text recognized so far, paged by cursor.

One run takes the subtitle route (the bundled sample with its sidecar VTT: the draft is its transcript);
the other is a real whisper run killed after its first window by a real ``yt-transcript`` process
(``YTT_CRASH_AT``), so the draft is read while recognition has not finished.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult, TextContent

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.api import RuntimeApi
from server.app import build_server
from tests.conftest import EXAMPLES, REPO_ROOT
from tests.server.helpers import MAX_ADVANCES, structured, tool_error

pytestmark = pytest.mark.anyio
MODES = pytest.mark.parametrize("mode", ["auto", "legacy"])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def api(tmp_path: Path) -> RuntimeApi:
    return build_runtime_api(load_settings(cwd=tmp_path))


def draft_of(result: CallToolResult) -> dict[str, Any]:
    """The draft page of an inspect-run result; its text also travels as the result's own text block."""
    draft: dict[str, Any] = structured(result)["draft"]
    blocks = [block.text for block in result.content if isinstance(block, TextContent)]
    shown = json.loads(blocks[0])["draft"]
    if draft["text"]:
        assert shown["text"] == "(in the next text block)" and blocks[1] == draft["text"]
    else:
        assert len(blocks) == 1
    return draft


@MODES
async def test_a_subtitle_runs_draft_is_its_transcript_read_from_any_cursor(
    api: RuntimeApi, tmp_path: Path, mode: str
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, media / name)
    async with Client(build_server(api), mode=mode) as client:
        view = structured(await client.call_tool("create-run", {"source": str(media / "sample.mp4")}))
        run_id = view["run_id"]
        before = draft_of(await client.call_tool("inspect-run", {"run_id": run_id, "detail": "draft"}))
        assert (before["text"], before["complete"], before["poll_cursor"]) == ("", False, 0)
        assert before["status"] == "nothing recognized yet: the run is created"

        for _ in range(MAX_ADVANCES):
            if "finalize" in view["allowed_actions"]:
                break
            view = structured(await client.call_tool("advance-run", {"run_id": run_id, "wait_seconds": 5}))
        assert "finalize" in view["allowed_actions"], view

        whole = draft_of(await client.call_tool("inspect-run", {"run_id": run_id, "detail": "draft", "cursor": 0}))
        last = whole["segments_total"] - 1
        tail = draft_of(await client.call_tool("inspect-run", {"run_id": run_id, "detail": "draft", "cursor": last}))
        past = await client.call_tool("inspect-run", {"run_id": run_id, "detail": "draft", "cursor": last + 5})

    segments = json.loads((Path(view["work_dir"]) / "artifacts/transcribe/segments.json").read_text("utf-8"))
    texts = [s["text"] for s in segments["segments"] if s.get("kind", "speech") == "speech"]
    assert (whole["complete"], whole["origin"], whole["next_cursor"]) == (True, "subtitles", None)
    assert whole["segments_total"] == len(segments["segments"]) and whole["text"].startswith(texts[0])
    assert whole["status"].startswith("the transcript comes from subtitles")
    assert (tail["cursor"], tail["segments"], tail["text"], tail["poll_cursor"]) == (last, 1, texts[-1], last + 1)
    assert tool_error(past)["error"]["code"] == "invalid_cursor"


async def test_the_draft_of_a_run_stopped_mid_recognition_holds_its_finished_window_and_polls_for_more(
    api: RuntimeApi, tmp_path: Path
) -> None:
    shutil.copy(EXAMPLES / "sample-speech" / "sample.m4a", tmp_path / "talk.m4a")
    config = tmp_path / "config.toml"
    config.write_text("[whisper]\nwindow_seconds = 15\n", encoding="utf-8")
    # Killed as the second window's checkpoint is saved, before that window reaches the draft.
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "YTT_CONFIG": str(config), "YTT_CRASH_AT": "asr:window:2:saved"}
    crashed = subprocess.run([sys.executable, "-m", "scripts.cli", "run", "talk.m4a", "--route", "asr", "--json"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    run_id = api.list_runs()[0]["run_id"]

    async with Client(build_server(api)) as client:
        first = draft_of(await client.call_tool("inspect-run", {"run_id": run_id, "detail": "draft", "cursor": 0}))
        later = draft_of(await client.call_tool("inspect-run", {"run_id": run_id, "detail": "draft",
                                                                 "cursor": first["poll_cursor"]}))
        summary = structured(await client.call_tool("inspect-run", {"run_id": run_id}))

    assert summary["state"] == "transcribing"
    assert {p["name"]: p["status"] for p in summary["phases"]}["transcribe"] != "succeeded"
    assert (first["complete"], first["origin"], first["windows_done"]) == (False, "speech_recognition", 1)
    assert first["windows_total"] > 1 and first["text"].startswith("Welcome")
    assert first["status"].startswith("recognized ") and " of 52 s (1 of " in first["status"]
    assert first["next_cursor"] is None and first["poll_cursor"] == first["segments_total"] > 0
    assert (later["text"], later["segments"], later["poll_cursor"]) == ("", 0, first["poll_cursor"])
