"""The MCP server in-process (``mcp.Client(server)``), in both connection modes.

The flow tests use the real pipeline on the bundled sample (a local MP4 with a sidecar VTT); the
mechanics of bounded waits and progress use the toy pipeline, whose phases a test can hold open.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.types import CallToolResult

from kernel.config import load_settings
from kernel.long_text.prompting import list_templates
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.contracts import CommandEnvelope, NextStep, PhaseRow
from server.app import build_server
from server.prompts import register_prompts
from server.schemas import MAX_RESULT_BYTES, run_view, view_size
from server.tools import TOOL_NAMES
from tests.conftest import EXAMPLES
from tests.task_runtime.toy_pipeline import make_api

pytestmark = pytest.mark.anyio
MODES = pytest.mark.parametrize("mode", ["auto", "legacy"])
MAX_ADVANCES = 150


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, media / name)
    return media / "sample.mp4"


@pytest.fixture
def api(tmp_path: Path) -> RuntimeApi:
    return build_runtime_api(load_settings(cwd=tmp_path))


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def tool_error(result: CallToolResult) -> dict[str, Any]:
    """The JSON line that ends every tool error's text."""
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    payload: dict[str, Any] = json.loads(text.splitlines()[-1])
    return payload


@MODES
async def test_the_server_offers_exactly_the_six_tools_with_output_schemas(api: RuntimeApi, mode: str) -> None:
    async with Client(build_server(api), mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == set(TOOL_NAMES)
    assert all(tool.output_schema and "allowed_actions" in tool.output_schema["properties"] for tool in tools.values())
    assert tools["inspect-run"].annotations is not None and tools["inspect-run"].annotations.read_only_hint
    assert not any(t.annotations and t.annotations.read_only_hint for n, t in tools.items() if n != "inspect-run")
    assert set(tools["create-run"].input_schema["properties"]) >= {
        "source", "mode", "target_language", "output_dir", "work_dir"
    }
    advance = tools["advance-run"].input_schema["properties"]
    assert set(advance) == {"run_id", "action", "chunk_id", "text", "wait_seconds"}
    actions = advance["action"]["anyOf"][0]["enum"]
    assert actions == api.pipeline.actions.names()  # every advertised action has an executor
    assert set(tools["finalize-run"].input_schema["properties"]) == {"run_id", "accept_degraded", "wait_seconds"}
    inspect = tools["inspect-run"].input_schema["properties"]
    assert set(inspect) == {"run_id", "detail", "cursor", "name"}
    assert inspect["detail"]["enum"] == ["summary", "phases", "telemetry", "chunks", "article", "draft", "items"]
    assert {"article", "agent_task", "files"} <= set(tools["finalize-run"].output_schema["properties"])


@MODES
async def test_a_sample_video_goes_from_create_run_to_published_outputs(
    api: RuntimeApi, sample: Path, tmp_path: Path, mode: str
) -> None:
    notifications: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        notifications.append((progress, total, message))

    async with Client(build_server(api), mode=mode) as client:
        created = structured(await client.call_tool(
            "create-run", {"source": str(sample), "output_dir": str(tmp_path / "out")}
        ))
        run_id = created["run_id"]
        assert created["state"] == "created" and "run_phase" in created["allowed_actions"]
        view = created
        for _ in range(MAX_ADVANCES):
            if "finalize" in view["allowed_actions"]:
                break
            view = structured(await client.call_tool(
                "advance-run", {"run_id": run_id, "wait_seconds": 2}, progress_callback=on_progress
            ))
            assert view["result"]["status"] != "failed", view["result"]
        assert "finalize" in view["allowed_actions"], view
        assert notifications, "advance-run sent no progress notification"

        final = structured(await client.call_tool("finalize-run", {"run_id": run_id, "wait_seconds": 5}))
        for _ in range(MAX_ADVANCES):
            if final["state"] == "completed":
                break
            final = structured(await client.call_tool("advance-run", {"run_id": run_id, "wait_seconds": 2}))
        assert final["state"] == "completed", final
        assert final["allowed_actions"] == []
        outputs = final["outputs"]
        assert {"markdown", "srt", "vtt", "json"} <= set(outputs)
        assert all(Path(path).is_file() for path in outputs.values())
        assert outputs["markdown"].endswith(".md")


@MODES
async def test_an_action_outside_allowed_actions_is_refused_with_the_allowed_set(
    api: RuntimeApi, sample: Path, mode: str
) -> None:
    async with Client(build_server(api), mode=mode) as client:
        created = structured(await client.call_tool("create-run", {"source": str(sample)}))
        result = await client.call_tool("advance-run", {"run_id": created["run_id"], "action": "finalize"})
        refused_finalize = await client.call_tool("finalize-run", {"run_id": created["run_id"]})
    assert tool_error(refused_finalize)["error"]["code"] == "action_not_allowed"
    error = tool_error(result)
    assert error["error"]["code"] == "action_not_allowed"
    assert error["run_id"] == created["run_id"]
    assert error["state"] == "created"
    assert error["allowed_actions"] == created["allowed_actions"]
    assert "finalize" not in error["allowed_actions"]


@MODES
async def test_an_unknown_run_id_is_reported_as_unknown_run(api: RuntimeApi, mode: str) -> None:
    async with Client(build_server(api), mode=mode) as client:
        inspected = await client.call_tool("inspect-run", {"run_id": "r20990101-000000-nosuch"})
        advanced = await client.call_tool("advance-run", {"run_id": "r20990101-000000-nosuch", "wait_seconds": 0})
    for result in (inspected, advanced):
        error = tool_error(result)
        assert error["error"]["code"] == "unknown_run"
        assert error["run_id"] == "r20990101-000000-nosuch"
        assert "allowed_actions" not in error


@MODES
async def test_a_source_outside_the_allowed_roots_is_refused(
    api: RuntimeApi, tmp_path_factory: pytest.TempPathFactory, mode: str
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "talk.mp4"
    shutil.copy(EXAMPLES / "sample-sidecar" / "sample.mp4", outside)
    async with Client(build_server(api), mode=mode) as client:
        result = await client.call_tool("create-run", {"source": str(outside)})
    assert tool_error(result)["error"]["code"] == "path_not_allowed"


@MODES
async def test_pause_then_resume_returns_the_run_to_where_it_was(api: RuntimeApi, sample: Path, mode: str) -> None:
    async with Client(build_server(api), mode=mode) as client:
        run_id = structured(await client.call_tool("create-run", {"source": str(sample)}))["run_id"]
        paused = structured(await client.call_tool("apply-control", {"run_id": run_id, "signal": "pause"}))
        assert paused["state"] == "paused"
        assert paused["allowed_actions"] == ["resume", "cancel"]
        resumed = structured(await client.call_tool("resume-run", {"run_id": run_id}))
    assert resumed["state"] == "created"
    assert "run_phase" in resumed["allowed_actions"]


def _held_toy_run(tmp_path: Path) -> tuple[RuntimeApi, str, threading.Event]:
    """A toy run whose second phase waits for the returned event before it can finish."""
    gate = threading.Event()
    api, _ = make_api(tmp_path, block=gate, entered=threading.Event())
    return api, api.create_run({"n": 3}).run_id, gate


@MODES
async def test_advance_run_returns_at_its_wait_bound_while_the_work_goes_on(tmp_path: Path, mode: str) -> None:
    api, run_id, gate = _held_toy_run(tmp_path)
    async with Client(build_server(api), mode=mode) as client:
        waiting = structured(await client.call_tool("advance-run", {"run_id": run_id, "wait_seconds": 0.2}))
        assert waiting["result"]["status"] == "running"
        assert set(waiting["allowed_actions"]) == {"pause", "cancel"}
        gate.set()
        done = structured(await client.call_tool("advance-run", {"run_id": run_id, "wait_seconds": 30}))
    assert done["result"]["status"] == "completed"
    assert "finalize" in done["allowed_actions"]


@MODES
async def test_advance_run_sends_progress_notifications_while_it_waits(tmp_path: Path, mode: str) -> None:
    # The held phase is released only by a progress notification, so the call can complete (well
    # inside its wait) only if notifications reach the client while the tool is still waiting.
    api, run_id, gate = _held_toy_run(tmp_path)
    values: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        values.append(progress)
        gate.set()

    async with Client(build_server(api), mode=mode) as client:
        view = structured(await client.call_tool(
            "advance-run", {"run_id": run_id, "wait_seconds": 30}, progress_callback=on_progress
        ))
    assert view["result"]["status"] == "completed"
    assert values == sorted(set(values))  # strictly increasing, as the protocol requires


@MODES
async def test_run_files_are_readable_as_resources_and_never_outside_the_work_dir(
    api: RuntimeApi, sample: Path, tmp_path_factory: pytest.TempPathFactory, mode: str
) -> None:
    secret = tmp_path_factory.mktemp("elsewhere") / "secret.txt"
    secret.write_text("not yours\n")
    async with Client(build_server(api), mode=mode) as client:
        run_id = structured(await client.call_tool("create-run", {"source": str(sample)}))["run_id"]
        work_dir = api.resolve(run_id).path
        (work_dir / "escape.txt").symlink_to(secret)
        listing = json.loads((await client.read_resource(f"run://{run_id}")).contents[0].text)  # type: ignore[union-attr]
        manifest = json.loads(
            (await client.read_resource(f"run://{run_id}/manifest.json")).contents[0].text  # type: ignore[union-attr]
        )
        runs = json.loads((await client.read_resource("runs://all")).contents[0].text)  # type: ignore[union-attr]
        refused = []
        for uri in (f"run://{run_id}/escape.txt", f"run://{run_id}/../../etc/hostname", "run://nosuch/manifest.json"):
            with pytest.raises(MCPError) as caught:
                await client.read_resource(uri)
            refused.append(caught.value)
    assert {row["path"] for row in listing["files"]} >= {".runtime_task.json", "manifest.json"}
    assert manifest["run_id"] == run_id and manifest["state"] == "created"
    assert [row["run_id"] for row in runs] == [run_id]
    assert len(refused) == 3


class FakeTemplate:
    name = "clean-chunk"
    description = "Clean one chunk of transcript text."
    placeholders = ("source",)

    def render(self, **values: Any) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": "You clean transcripts."},
            {"role": "user", "content": f"<source>{values['source']}</source>"},
        ]


@MODES
async def test_prompt_templates_are_offered_as_prompts_with_their_placeholders(api: RuntimeApi, mode: str) -> None:
    server = build_server(api)
    register_prompts(server, [FakeTemplate()])
    async with Client(server, mode=mode) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        rendered = await client.get_prompt("clean-chunk", {"source": "hello world"})
    assert [a.name for a in prompts["clean-chunk"].arguments or []] == ["source"]
    assert [m.role for m in rendered.messages] == ["user", "user"]
    assert rendered.messages[1].content.text == "<source>hello world</source>"  # type: ignore[union-attr]


@MODES
async def test_every_prompt_template_of_the_kernel_is_an_mcp_prompt(api: RuntimeApi, mode: str) -> None:
    templates = {template.name: template for template in list_templates()}
    clean = templates["clean"]
    values = {name: f"<{name} value>" for name in clean.placeholders}
    async with Client(build_server(api), mode=mode) as client:
        offered = {p.name: p for p in (await client.list_prompts()).prompts}
        rendered = await client.get_prompt("clean", values)
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("clean", {**values, "no_such_placeholder": "x"})
    assert refused.value.error.data["code"] == "prompt_value_unknown"
    assert set(offered) == set(templates)
    assert {a.name for a in offered["clean"].arguments or []} == set(clean.placeholders)
    expected = [message["content"] for message in clean.render(**values)]
    assert [m.content.text for m in rendered.messages] == expected  # type: ignore[union-attr]


def _big_envelope(make_row: Callable[[int], dict[str, Any]]) -> CommandEnvelope:
    return CommandEnvelope(
        command="inspect-run",
        run_id="r1",
        work_dir="/runs/r1",
        state="processing",
        allowed_actions=["pause", "cancel"],
        next_step=NextStep(kind="wait", choices=["pause", "cancel"], reason="transform is in progress"),
        phases=[PhaseRow(name=f"p{i}", status="succeeded", runs=1, skips=0, note="x" * 2000) for i in range(11)],
        artifacts={f"part.c{i:04d}": f"artifacts/transform/c{i:04d}.md" for i in range(800)},
        data={"events": [make_row(i) for i in range(500)], "next_cursor": 20},
    )


def test_tool_results_stay_small_however_large_the_run_is() -> None:
    view = run_view(_big_envelope(lambda i: {"event": "llm_request", "text": "y" * 5000, "n": i}))
    assert view_size(view) <= MAX_RESULT_BYTES
    assert view.run_id == "r1" and view.allowed_actions == ["pause", "cancel"]
    assert view.next_cursor == 20
    assert view.artifacts is not None and len(view.artifacts) == 25
    assert any("775 more artifacts" in warning for warning in view.warnings)


@MODES
async def test_create_run_takes_an_llm_profile_and_budgets(
    tmp_path: Path, sample: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[llm_profiles.local]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n', encoding="utf-8")
    api = build_runtime_api(load_settings({"YTT_HOME": str(tmp_path / "home"), "YTT_CONFIG": str(config)},
                                          cwd=tmp_path))
    async with Client(build_server(api), mode=mode) as client:
        unknown = await client.call_tool("create-run", {"source": str(sample), "llm_profile": "cloud"})
        created = await client.call_tool("create-run", {"source": str(sample), "llm_profile": "local",
                                                        "max_llm_requests": 40, "max_llm_tokens": 90000})
    error = tool_error(unknown)["error"]
    assert error["code"] == "config_error" and "local" in error["message"]
    params = api.resolve(structured(created)["run_id"]).read_task().params
    assert (params["llm_profile"], params["max_llm_requests"], params["max_llm_tokens"]) == ("local", 40, 90000)
