"""Every hint and next step an agent reads over MCP names only real tools and arguments.

Two checks: over a set of real situations (bad input, an unknown run, a fresh, running, paused, cancelled,
failed, degraded, finished or foreign-owned run), every next_step, warning, result, decision, phase note
and tool-error text names only tools of TOOL_NAMES, with arguments of that tool's input schema and
allowed values (action names from the action table); and a static scan that the hints the kernel writes
(``hint=`` arguments anywhere in ``kernel/``) carry no front end's vocabulary at all.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
from mcp import Client
from mcp.types import CallToolResult

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.task_runtime import control
from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.contracts import CommandEnvelope, NextStep
from kernel.task_runtime.hints import placeholders
from server.app import build_server
from server.schemas import MAX_RESULT_BYTES, run_view, tool_result, view_size
from server.tools import TOOL_NAMES, vocabulary_of
from server.words import speak
from tests.conftest import EXAMPLES, REPO_ROOT
from tests.fakes.openai_server import FakeOpenAIServer
from tests.long_text.test_chunk_loop import SENTENCES, write_source
from tests.long_text.test_chunk_loop import make_api as make_llm_api
from tests.server.helpers import MAX_RESULT_TOKENS, MeasuredClient, Sizes, assert_speaks_mcp, finish
from tests.server.test_errors import BAD_CALLS
from tests.task_runtime.toy_pipeline import make_api as make_toy_api

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Speech:
    """Collects what an agent reads from tool results and checks it speaks MCP."""

    def __init__(self, client: Client, schemas: dict[str, dict[str, Any]]) -> None:
        self.client = MeasuredClient(client, Sizes())
        self.schemas = schemas
        self.calls_named = 0
        self.texts = 0

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        result = await self.client.call(tool, arguments)
        for text in self.readable(result):
            self.calls_named += assert_speaks_mcp(text, self.schemas)
            self.texts += 1
        return result

    @staticmethod
    def readable(result: CallToolResult) -> list[str]:
        if result.is_error:
            return [result.content[0].text]  # type: ignore[union-attr]
        view = result.structured_content or {}
        texts = [view["next_step"], *view.get("warnings", [])]
        for part in ("result", "decision"):
            if view.get(part):
                texts.append(json.dumps(view[part], ensure_ascii=False))
        texts += [row["note"] for row in view.get("phases") or [] if row.get("note")]
        failure = (view.get("data") or {}).get("failure")
        if failure:
            texts.append(json.dumps(failure, ensure_ascii=False))
        return texts


@asynccontextmanager
async def speech(api: RuntimeApi) -> AsyncIterator[Speech]:
    async with Client(build_server(api)) as client:
        schemas = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
        assert set(schemas) == set(TOOL_NAMES)
        yield Speech(client, schemas)


@contextmanager
def foreign_owner(work_dir: Path) -> Iterator[None]:
    """Another live process holding the run's lease until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from kernel.task_runtime.lease import Lease; "
         "from kernel.task_runtime.clock import SystemClock; "
         "Lease.acquire(Path(sys.argv[1]), clock=SystemClock(), ttl_seconds=300, command='holder'); "
         "print('held', flush=True); sys.stdin.read()", str(work_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def sidecar(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, folder / name)
    return folder / "sample.mp4"


async def test_every_hint_and_next_step_over_mcp_names_only_real_tools_and_arguments(tmp_path: Path) -> None:
    media = sidecar(tmp_path / "media")
    api = build_runtime_api(load_settings(cwd=tmp_path))
    async with speech(api) as agent:
        # Bad input of every kind, and an unknown run.
        run_id = api.create_run({"source": str(media)}).run_id
        for tool, arguments, *_ in BAD_CALLS:
            await agent.call(tool, {k: {"RUN": run_id, "SOURCE": str(media)}.get(v, v) if isinstance(v, str) else v
                                    for k, v in arguments.items()})
        await agent.call("advance-run", {"run_id": "r20990101-000000-nosuch"})
        # A fresh run, followed while it runs, paused and resumed, its article asked for too early.
        fresh = json.loads((await agent.call("create-run", {"source": str(media), "formats": ["md"]})).content[0].text)
        await agent.call("advance-run", {"run_id": fresh["run_id"], "wait_seconds": 0})
        await agent.call("inspect-run", {"run_id": fresh["run_id"], "detail": "article"})
        await agent.call("apply-control", {"run_id": fresh["run_id"], "signal": "pause"})
        await agent.call("advance-run", {"run_id": fresh["run_id"]})
        await agent.call("resume-run", {"run_id": fresh["run_id"]})
        # ... finished: delivery, an export it did not publish, finalizing again.
        await finish(agent, fresh["run_id"], fresh)  # type: ignore[arg-type]  # every step checked too
        for call in (("finalize-run", {"run_id": fresh["run_id"]}), ("inspect-run", {"run_id": fresh["run_id"]}),
                     ("inspect-run", {"run_id": fresh["run_id"], "detail": "article", "name": "srt"}),
                     ("advance-run", {"run_id": fresh["run_id"], "action": "finalize"}),
                     ("apply-control", {"run_id": fresh["run_id"], "signal": "cancel"})):
            await agent.call(*call)
        # A pending cancel.
        cancelling = api.create_run({"source": str(media)}).run_id
        control.request(api.resolve(cancelling).path, "cancel", None, api.clock)
        await agent.call("inspect-run", {"run_id": cancelling})
        await agent.call("advance-run", {"run_id": cancelling, "action": "run_phase"})
        await agent.call("advance-run", {"run_id": cancelling})
        # A run another process drives: every refusal and the busy next step.
        owned = api.create_run({"source": str(media)}).run_id
        with foreign_owner(api.resolve(owned).path):
            for tool in ("inspect-run", "advance-run", "resume-run", "finalize-run"):
                await agent.call(tool, {"run_id": owned})
    assert agent.calls_named > 40, agent.calls_named


async def test_a_failed_run_speaks_mcp_in_its_next_step_error_and_phase_table(tmp_path: Path) -> None:
    silent_video = tmp_path / "clip.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=64x64:d=40",
                    "-c:v", "mpeg4", str(silent_video)], check=True)
    cues = "\n".join(f"00:00:{s:02d}.000 --> 00:00:{s + 4:02d}.000\n[Music]\n" for s in range(0, 40, 5))
    (tmp_path / "clip.en.vtt").write_text("WEBVTT\n\n" + cues, encoding="utf-8")
    api = build_runtime_api(load_settings(cwd=tmp_path))
    async with speech(api) as agent:
        run_id = api.create_run({"source": str(silent_video)}).run_id
        for _ in range(10):
            result = await agent.call("advance-run", {"run_id": run_id, "wait_seconds": 30})
            if (result.structured_content or {}).get("state") == "failed":
                break
        for detail in ("summary", "phases", "telemetry"):
            await agent.call("inspect-run", {"run_id": run_id, "detail": detail})
        await agent.call("advance-run", {"run_id": run_id, "action": "run_phase"})
        await agent.call("finalize-run", {"run_id": run_id})
    assert agent.calls_named > 5


async def test_a_degraded_gate_speaks_mcp_for_each_remedy(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", SENTENCES[:20])
    with FakeOpenAIServer(behaviour="server_error") as server:
        api = make_llm_api(tmp_path, server, max_retries=0)
        async with speech(api) as agent:
            run_id = api.create_run({"source": str(media), "formats": ["md"]}).run_id
            for _ in range(10):
                result = await agent.call("advance-run", {"run_id": run_id, "wait_seconds": 30})
                if (result.structured_content or {}).get("must_choose"):
                    break
            view = result.structured_content or {}
            assert view["choices"] == ["accept_degraded", "retry_chunk", "replan_remaining", "cancel"]
            await agent.call("finalize-run", {"run_id": run_id})
            await agent.call("advance-run", {"run_id": run_id, "action": "retry_chunk", "chunk_id": "nosuch"})
            await agent.call("inspect-run", {"run_id": run_id, "detail": "chunks"})
    for action in ("finalize-run(run_id='{0}', accept_degraded=true)", "action='retry_chunk'",
                   "action='replan_remaining'", "signal='cancel'"):
        assert action.format(run_id) in view["next_step"]


async def test_a_toy_run_held_open_speaks_mcp_while_it_waits(tmp_path: Path) -> None:
    gate = threading.Event()
    api, _ = make_toy_api(tmp_path, block=gate, entered=threading.Event())
    run_id = api.create_run({"n": 3}).run_id
    async with speech(api) as agent:
        await agent.call("advance-run", {"run_id": run_id, "wait_seconds": 0.2})
        await agent.call("inspect-run", {"run_id": run_id})
        await agent.call("advance-run", {"run_id": run_id, "action": "finalize"})
        gate.set()
        await agent.call("advance-run", {"run_id": run_id, "wait_seconds": 30})
    assert agent.calls_named >= 4


def test_each_placeholder_is_rendered_as_a_tool_call_or_a_create_run_argument() -> None:
    text = ("{option:llm=agent}; {option:formats}; {option:max_llm_requests=40}; {action:pause}; {action:finalize}; "
            "{action:accept_degraded}; {action:resume}; {action:retry_chunk}; {inspect}; {resume}; {new_run}")
    rendered = speak(text, "r1")
    assert rendered == (
        "llm='agent' (a create-run argument); formats (a create-run argument); max_llm_requests=40 (a create-run "
        "argument); apply-control(run_id='r1', signal='pause'); finalize-run(run_id='r1'); finalize-run("
        "run_id='r1', accept_degraded=true); resume-run(run_id='r1'); advance-run(run_id='r1', "
        "action='retry_chunk'); look at the run with inspect-run(run_id='r1'); resume the run with "
        "resume-run(run_id='r1'); start a new run with create-run")
    assert "{" not in speak("{action:run_phase} and {inspect}", None)


# --------------------------------------------------------------------------- kernel hints
FRONT_END_WORDS = ("yt-transcript", "create-run", "inspect-run", "advance-run", "apply-control", "resume-run",
                   "finalize-run")


def _strings(node: ast.AST, assignments: dict[str, list[ast.AST]]) -> list[str]:
    """The literal text a hint expression can take (constants, f-string parts, names bound to either,
    dict values of a subscripted name, both sides of ``or`` / ``if``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))]
    if isinstance(node, ast.BinOp):
        return _strings(node.left, assignments) + _strings(node.right, assignments)
    if isinstance(node, ast.BoolOp):
        return [s for value in node.values for s in _strings(value, assignments)]
    if isinstance(node, ast.IfExp):
        return _strings(node.body, assignments) + _strings(node.orelse, assignments)
    if isinstance(node, ast.Name):
        return [s for value in assignments.get(node.id, []) for s in _strings(value, assignments)]
    if isinstance(node, ast.Subscript):
        return _strings(node.value, assignments)
    if isinstance(node, ast.Dict):
        return [s for value in node.values if value is not None for s in _strings(value, assignments)]
    return []


def kernel_hints() -> list[tuple[str, str]]:
    """``(file:line, text)`` of every hint the kernel passes as ``hint=``."""
    found: list[tuple[str, str]] = []
    for path in sorted((REPO_ROOT / "kernel").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assignments: dict[str, list[ast.AST]] = {}
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) and node.value is not None else []
            for target in targets:
                if isinstance(target, ast.Name):
                    assignments.setdefault(target.id, []).append(node.value)  # type: ignore[union-attr,arg-type]
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "hint":
                        where = f"{path.relative_to(REPO_ROOT)}:{keyword.value.lineno}"
                        found += [(where, text) for text in _strings(keyword.value, assignments) if text]
    return found


def test_kernel_hints_carry_no_front_end_vocabulary() -> None:
    hints = kernel_hints()
    assert len(hints) > 80  # the scan sees the hints (and the dicts and names they come from)
    offenders = [(where, text) for where, text in hints
                 if any(word in text for word in FRONT_END_WORDS) or "-run(" in text
                 or re.search(r"(?<![\w-])--[a-z]", text)]
    assert offenders == []


def test_kernel_hint_placeholders_name_real_options_and_actions() -> None:
    api = build_runtime_api(load_settings())
    options, actions = set(api.pipeline.intent_model.model_fields), set(api.pipeline.actions.names())
    for where, text in kernel_hints():
        for placeholder in placeholders(text):
            if placeholder.kind == "option":
                assert placeholder.name in options, (where, text)
            elif placeholder.kind == "action":
                assert placeholder.name in actions, (where, text)


# --------------------------------------------------------------------------- result size
def test_an_agent_task_reaches_the_agent_untrimmed_and_the_result_stays_under_the_cap() -> None:
    prompt = " ".join(f"sentence {i} of the source text to rewrite, with its anchors and terms." for i in range(600))
    task = {"chunk_id": "c0007", "attempt": 2, "operation": "clean", "system": "You rewrite transcripts. " * 40,
            "prompt": prompt, "max_output_tokens": 2000, "violations": [{"code": "anchor_missing", "detail": "1990"}]}
    envelope = CommandEnvelope(
        command="advance-run", run_id="r1", work_dir="/runs/r1", state="processing", allowed_actions=["pause", "cancel"],
        next_step=NextStep(kind="wait", choices=["pause", "cancel"], reason="transform is in progress"),
        awaiting_input=task, data={"events": [{"event": "x", "text": "y" * 5000}] * 40},
    )
    api = build_runtime_api(load_settings())
    view = run_view(envelope, vocabulary_of(api))
    assert view.agent_task == task  # untrimmed: the prompt is far longer than any trimmed string
    assert view_size(view) <= MAX_RESULT_BYTES
    result = tool_result(view)
    sizes = Sizes()
    sizes.record("advance-run", result)
    assert sizes.largest_tokens < MAX_RESULT_TOKENS, sizes.per_call
