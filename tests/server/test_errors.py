"""Agent-facing errors over MCP, in both connection modes: a bad argument comes back in the same tool-error
shape as every other error (code, field, allowed values, a hint in tools and arguments), never as
pydantic's text; an unknown run points to the runs listing; a pending cancel and a permanent failure say
what they are."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
from mcp import Client

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.task_runtime import control
from kernel.task_runtime.api import RuntimeApi
from server.app import build_server
from tests.conftest import EXAMPLES
from tests.server.helpers import error_text, structured, tool_error

pytestmark = pytest.mark.anyio
MODES = pytest.mark.parametrize("mode", ["auto", "legacy"])
PYDANTIC_TEXT = ("validation error", "errors.pydantic.dev", "input_value", "input_type", "[type=")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, tmp_path / name)
    return tmp_path / "sample.mp4"


@pytest.fixture
def api(tmp_path: Path) -> RuntimeApi:
    return build_runtime_api(load_settings(cwd=tmp_path))


BAD_CALLS: list[tuple[str, dict[str, Any], str, str, list[str] | None]] = [
    # tool, arguments (RUN = an existing run, SOURCE = the sample), code, field, allowed values
    ("create-run", {"source": "SOURCE", "mode": "shout"}, "invalid_option", "mode", ["clean", "translate", "bilingual"]),
    ("create-run", {"mode": "clean"}, "missing_source", "source", None),
    ("create-run", {"source": "SOURCE", "moed": "clean"}, "unknown_option", "moed", None),
    ("create-run", {"source": "SOURCE", "max_llm_requests": 0}, "invalid_option", "max_llm_requests", None),
    ("advance-run", {"run_id": "RUN", "wait_seconds": -1}, "invalid_option", "wait_seconds", None),
    ("advance-run", {"run_id": "RUN", "action": "explode"}, "invalid_option", "action", None),
    ("inspect-run", {"run_id": "RUN", "detail": "everything"}, "invalid_option", "detail",
     ["summary", "phases", "telemetry", "chunks", "article", "draft", "items"]),
    ("inspect-run", {"run_id": "RUN", "cursor": "soon"}, "invalid_option", "cursor", None),
    ("apply-control", {"run_id": "RUN", "signal": "stop"}, "invalid_option", "signal", ["pause", "cancel"]),
    ("finalize-run", {"run_id": "RUN", "accept_degraded": "perhaps"}, "invalid_option", "accept_degraded", None),
    ("resume-run", {}, "missing_run_id", "run_id", None),
    ("transcribe-now", {"source": "SOURCE"}, "unknown_tool", "name", None),
]


@MODES
@pytest.mark.parametrize(("tool", "arguments", "code", "field", "allowed"), BAD_CALLS,
                         ids=[f"{c[0]}-{c[3]}" for c in BAD_CALLS])
async def test_a_bad_argument_is_a_tool_error_with_code_field_allowed_values_and_hint(
    api: RuntimeApi, sample: Path, mode: str, tool: str, arguments: dict[str, Any], code: str, field: str,
    allowed: list[str] | None,
) -> None:
    run_id = api.create_run({"source": str(sample)}).run_id
    filled = {k: {"RUN": run_id, "SOURCE": str(sample)}.get(v, v) if isinstance(v, str) else v
              for k, v in arguments.items()}
    async with Client(build_server(api), mode=mode) as client:
        result = await client.call_tool(tool, filled)
    payload = tool_error(result)
    error = payload["error"]
    assert error["code"] == code
    assert error["details"]["field"] == field
    assert error.get("hint")
    if allowed is not None:
        assert error["details"]["allowed"] == allowed
    if field == "action":
        assert error["details"]["allowed"] == api.pipeline.actions.names()
    text = error_text(result)
    assert not any(marker in text for marker in PYDANTIC_TEXT), text
    assert text.splitlines()[0].startswith(f"Error executing tool {tool}: error[{code}]")
    if "run_id" in filled:  # an existing run: its state and what is allowed now come along
        assert payload["state"] == "created" and "run_phase" in payload["allowed_actions"]
        assert "next_step" in payload


@MODES
async def test_an_unknown_argument_names_the_closest_real_one(api: RuntimeApi, sample: Path, mode: str) -> None:
    async with Client(build_server(api), mode=mode) as client:
        result = await client.call_tool("create-run", {"source": str(sample), "target_langauge": "de"})
    error = tool_error(result)["error"]
    assert "did you mean target_language?" in error["hint"]
    assert "target_language" in error["details"]["allowed"]


@MODES
async def test_an_unknown_run_points_to_the_runs_listing_resource(api: RuntimeApi, mode: str) -> None:
    async with Client(build_server(api), mode=mode) as client:
        result = await client.call_tool("inspect-run", {"run_id": "r20990101-000000-nosuch"})
    error = tool_error(result)["error"]
    assert error["code"] == "unknown_run"
    assert "runs://all" in error["hint"] and "create-run" in error["hint"]
    assert "yt-transcript" not in error_text(result)


@MODES
async def test_a_pending_cancel_says_so_and_is_what_the_next_advance_does(
    api: RuntimeApi, sample: Path, mode: str
) -> None:
    run_id = api.create_run({"source": str(sample)}).run_id
    control.request(api.resolve(run_id).path, "cancel", "asked by a process that went away", api.clock)
    async with Client(build_server(api), mode=mode) as client:
        view = structured(await client.call_tool("inspect-run", {"run_id": run_id}))
        refused = await client.call_tool("advance-run", {"run_id": run_id, "action": "run_phase"})
        done = structured(await client.call_tool("advance-run", {"run_id": run_id}))
    assert view["allowed_actions"] == ["cancel"]
    assert "cancel was requested" in view["next_step"] and f"advance-run(run_id='{run_id}')" in view["next_step"]
    assert any("cancel was requested" in warning for warning in view["warnings"])
    payload = tool_error(refused)
    assert payload["error"]["code"] == "action_not_allowed" and "cancel" in payload["next_step"]
    assert done["state"] == "cancelled" and "create-run" in done["next_step"]


@MODES
async def test_a_permanent_failure_says_to_start_a_new_run_instead_of_offering_a_retry(
    api: RuntimeApi, tmp_path: Path, mode: str
) -> None:
    silent_video = tmp_path / "clip.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=64x64:d=40",
                    "-c:v", "mpeg4", str(silent_video)], check=True)
    cues = "\n".join(f"00:00:{s:02d}.000 --> 00:00:{s + 4:02d}.000\n[Music]\n" for s in range(0, 40, 5))
    (tmp_path / "clip.en.vtt").write_text("WEBVTT\n\n" + cues, encoding="utf-8")
    async with Client(build_server(api), mode=mode) as client:
        run_id = structured(await client.call_tool("create-run", {"source": str(silent_video)}))["run_id"]
        view = structured(await client.call_tool("advance-run", {"run_id": run_id, "wait_seconds": 30}))
        for _ in range(10):
            if view["state"] == "failed":
                break
            view = structured(await client.call_tool("advance-run", {"run_id": run_id, "wait_seconds": 30}))
        retry = await client.call_tool("advance-run", {"run_id": run_id, "action": "run_phase"})
    assert view["state"] == "failed" and view["allowed_actions"] == ["pause", "cancel"]
    assert "start a new run" in view["next_step"] and "create-run" in view["next_step"]
    assert "retry" not in view["next_step"].split("Choose one")[-1]
    assert tool_error(retry)["error"]["code"] == "action_not_allowed"
    assert "create-run" in tool_error(retry)["next_step"]


@MODES
async def test_hints_with_placeholders_reach_the_agent_as_tool_calls(api: RuntimeApi, sample: Path, mode: str) -> None:
    run_id = api.create_run({"source": str(sample)}).run_id
    async with Client(build_server(api), mode=mode) as client:
        result = await client.call_tool("inspect-run", {"run_id": run_id, "detail": "article"})
    hint = tool_error(result)["error"]["hint"]
    assert f"finalize-run(run_id='{run_id}')" in hint and f"inspect-run(run_id='{run_id}')" in hint
    assert "{" not in hint
