"""The agent as the writer over real stdio: a scripted MCP client plays the agent (``llm="agent"``, no
endpoint configured), completes a clean and a translate run, reads the article back page by page and gets
the published file byte for byte; a client answering wrongly a third of the time ends with every sentence
accounted for and the failures listed; killing the server between a hand-out and the submission, then
resuming, hands out the same task, and no chunk is submitted twice.

Every call is timed against its wait_seconds (plus slack for a busy machine) and measured against the
25,000-token result cap.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from kernel.task_runtime.store import read_json
from kernel.task_runtime.telemetry import read_events
from tests.conftest import REPO_ROOT
from tests.fakes.scripted_agent import ScriptedAgent, every_third
from tests.long_text.test_chunk_loop import assert_every_sentence_exactly_once, make_sentences, write_source
from tests.server.helpers import MAX_RESULT_TOKENS, MeasuredClient, structured

pytestmark = pytest.mark.anyio
WAIT_SECONDS = 5.0
SLACK_SECONDS = 15.0  # process scheduling on a busy machine; not a benchmark


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def stdio_session(tmp_path: Path, home: Path, errlog_name: str = "server.stderr") -> AsyncIterator[MeasuredClient]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "server"], cwd=tmp_path,
        env={"YTT_HOME": str(home), "YTT_ALLOWED_ROOTS": str(tmp_path), "PYTHONPATH": str(REPO_ROOT),
             "PATH": os.environ.get("PATH", "")},
    )
    with (tmp_path / errlog_name).open("a") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield MeasuredClient(client)


async def timed(client: MeasuredClient, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    view = structured(await client.call(tool, arguments))
    assert time.monotonic() - started < float(arguments.get("wait_seconds", 0)) + SLACK_SECONDS, tool
    return view


async def play(client: MeasuredClient, run_id: str, agent: ScriptedAgent, view: dict[str, Any]) -> dict[str, Any]:
    """Answer every agent_task until the gate, then finalize; returns the finalize-run view."""
    for _ in range(200):
        task = view.get("agent_task")
        if task:
            view = await timed(client, "advance-run", {"run_id": run_id, "action": "submit_chunk", "wait_seconds":
                                                       WAIT_SECONDS, "chunk_id": task["chunk_id"],
                                                       "text": agent.answer(task)})
            continue
        if "finalize" in view["allowed_actions"] or "accept_degraded" in view["allowed_actions"]:
            accept = "finalize" not in view["allowed_actions"]
            view = await timed(client, "finalize-run", {"run_id": run_id, "accept_degraded": accept,
                                                        "wait_seconds": WAIT_SECONDS})
            while view["state"] not in ("completed", "completed_degraded"):
                view = await timed(client, "advance-run", {"run_id": run_id, "wait_seconds": WAIT_SECONDS})
            return view
        view = await timed(client, "advance-run", {"run_id": run_id, "wait_seconds": WAIT_SECONDS})
    raise AssertionError(f"the run did not finish: {view}")


async def read_article(client: MeasuredClient, run_id: str) -> str:
    pages: list[str] = []
    cursor: int | None = 0
    while cursor is not None:
        view = await timed(client, "inspect-run", {"run_id": run_id, "detail": "article", "cursor": cursor})
        pages.append(view["article"]["text"])
        cursor = view["article"]["next_cursor"]
    return "".join(pages)


async def test_a_scripted_agent_writes_a_clean_and_a_translated_article_over_stdio(tmp_path: Path) -> None:
    sentences = make_sentences(600, seed=9)  # long enough for several agent tasks and article pages
    media = write_source(tmp_path / "media", sentences)
    async with stdio_session(tmp_path, tmp_path / "home") as client:
        for mode in ("clean", "translate"):
            arguments: dict[str, Any] = {"source": str(media), "llm": "agent", "formats": ["md"]}
            if mode == "translate":
                arguments.update(mode="translate", target_language="de")
            created = await timed(client, "create-run", arguments)
            agent = ScriptedAgent()
            final = await play(client, created["run_id"], agent, created)
            assert final["state"] == "completed", final
            published = Path(final["outputs"]["markdown"]).read_bytes()
            assert (await read_article(client, created["run_id"])).encode("utf-8") == published
            if mode == "clean":
                assert_every_sentence_exactly_once(published.decode("utf-8"), sentences)
            else:
                assert "language: de" in published.decode("utf-8")
            assert len({chunk for chunk, _, _ in agent.answers}) == len(agent.answers) >= 3
    assert client.sizes.largest_tokens < MAX_RESULT_TOKENS, client.sizes.largest_call


async def test_an_agent_wrong_a_third_of_the_time_loses_nothing_and_its_failures_are_listed(tmp_path: Path) -> None:
    sentences = make_sentences(400, seed=4)
    media = write_source(tmp_path / "media", sentences)
    home = tmp_path / "home"
    first_chunk: list[str] = []

    def wrong(number: int, task: dict[str, Any]) -> bool:
        first_chunk.append(first_chunk[0] if first_chunk else task["chunk_id"])
        return task["chunk_id"] == first_chunk[0] or every_third(number, task)

    async with stdio_session(tmp_path, home) as client:
        created = await timed(client, "create-run", {"source": str(media), "llm": "agent", "formats": ["md"]})
        agent = ScriptedAgent(wrong=wrong)
        final = await play(client, created["run_id"], agent, created)
    assert final["state"] == "completed_degraded"
    assert first_chunk[0] in (final["quality"] or {}).get("fallback_chunks", [])
    assert {"drop_half", "wrong_language", "preamble"} <= {kind for _, _, kind in agent.answers}
    assert_every_sentence_exactly_once(Path(final["outputs"]["markdown"]).read_text(encoding="utf-8"), sentences)


async def test_a_server_killed_between_hand_out_and_submission_hands_out_the_same_task(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", make_sentences(300, seed=2))
    home = tmp_path / "home"
    async with stdio_session(tmp_path, home) as client:
        created = await timed(client, "create-run", {"source": str(media), "llm": "agent", "formats": ["md"]})
        run_id = created["run_id"]
        agent = ScriptedAgent()
        view = await timed(client, "advance-run", {"run_id": run_id, "wait_seconds": WAIT_SECONDS})
        while not view.get("agent_task"):
            view = await timed(client, "advance-run", {"run_id": run_id, "wait_seconds": WAIT_SECONDS})
        first = view["agent_task"]
        view = await timed(client, "advance-run", {"run_id": run_id, "action": "submit_chunk", "chunk_id":
                                                   first["chunk_id"], "text": agent.answer(first),
                                                   "wait_seconds": WAIT_SECONDS})
        handed_out = view["agent_task"]  # the second task: out, not yet answered
        lease = read_json(home / "runs" / run_id / ".runtime_owner.json")
        os.kill(int(lease["pid"]), signal.SIGKILL)  # the server dies with the task out
    async with stdio_session(tmp_path, home, "server-2.stderr") as client:
        await timed(client, "resume-run", {"run_id": run_id})
        again = await timed(client, "advance-run", {"run_id": run_id, "wait_seconds": WAIT_SECONDS})
        assert again["agent_task"] == handed_out
        final = await play(client, run_id, agent, again)
    assert final["state"] == "completed"
    submitted = Counter(e["chunk_id"] for e in read_events(home / "runs" / run_id, event="submit_chunk"))
    assert submitted and set(submitted.values()) == {1}, submitted
