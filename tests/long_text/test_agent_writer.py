"""The calling agent as the writer (``llm="agent"``): tasks one at a time, submissions verified, repaired and
fallen back like an endpoint's replies, durable across a killed process, and sized for an agent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kernel.config import load_settings
from kernel.long_text.agent_loop import AGENT_PROFILE, AGENT_TASK_TOKENS
from kernel.long_text.contracts import TransformRequest
from kernel.long_text.plan import build_plan
from kernel.long_text.tokens import count_tokens
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.errors import InvalidInputError
from kernel.task_runtime.store import read_json
from kernel.task_runtime.telemetry import read_events
from tests.conftest import REPO_ROOT
from tests.fakes.scripted_agent import ScriptedAgent, every_third
from tests.long_text.sentence_docs import make_doc
from tests.long_text.test_chunk_loop import assert_every_sentence_exactly_once, make_sentences, write_source

SENTENCES = make_sentences(200)


def agent_api(tmp_path: Path) -> RuntimeApi:
    return build_runtime_api(load_settings({"YTT_HOME": str(tmp_path / "home")}, cwd=tmp_path))


def play(api: RuntimeApi, run_id: str, agent: ScriptedAgent, *, max_turns: int = 200) -> dict[str, Any]:
    """Advance the run, answering every task, until it is finished; returns the final quality report."""
    envelope = api.advance_run(run_id, wait_seconds=50)
    for _ in range(max_turns):
        task = envelope.awaiting_input
        if task is None:
            if "finalize" in envelope.allowed_actions or "accept_degraded" in envelope.allowed_actions:
                envelope = api.finalize_run(run_id, accept_degraded="finalize" not in envelope.allowed_actions,
                                            wait_seconds=50)
                break
            envelope = api.advance_run(run_id, wait_seconds=50)
            continue
        assert count_tokens(task["system"]) + count_tokens(task["prompt"]) < AGENT_TASK_TOKENS
        envelope = api.advance_run(run_id, action="submit_chunk", wait_seconds=50,
                                   args={"chunk_id": task["chunk_id"], "text": agent.answer(task)})
    assert envelope.state in ("completed", "completed_degraded"), envelope
    run_dir = api.resolve(run_id)
    manifest = run_dir.read_manifest()
    report: dict[str, Any] = read_json(run_dir.path / manifest.artifacts["quality.report"].path)
    report["article"] = Path(envelope.outputs["markdown"]).read_text(encoding="utf-8")  # type: ignore[index]
    return report


def test_a_well_behaved_agent_writes_every_chunk_and_the_run_passes(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", SENTENCES)
    api = agent_api(tmp_path)
    run_id = api.create_run({"source": str(media), "llm": "agent", "formats": ["md"]}).run_id
    agent = ScriptedAgent()
    report = play(api, run_id, agent)
    assert report["status"] == "pass" and report["llm_used"] and report["fallback_chunks"] == []
    assert_every_sentence_exactly_once(report["article"], SENTENCES)
    chunks = {chunk_id for chunk_id, _, _ in agent.answers}
    assert len(chunks) >= 2 and len(agent.answers) == len(chunks)  # one task per chunk, none asked twice
    submitted = Counter(e["chunk_id"] for e in read_events(api.resolve(run_id).path, event="submit_chunk"))
    assert set(submitted.values()) == {1}


def test_an_agent_translates_and_the_article_is_in_the_target_language(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", SENTENCES[:60])
    api = agent_api(tmp_path)
    run_id = api.create_run({"source": str(media), "llm": "agent", "mode": "translate", "target_language": "de",
                             "formats": ["md"]}).run_id
    report = play(api, run_id, ScriptedAgent())
    assert report["status"] == "pass"
    assert "language: de" in report["article"]


def test_wrong_answers_are_repaired_or_fall_back_and_nothing_is_lost(tmp_path: Path) -> None:
    sentences = make_sentences(400, seed=5)
    media = write_source(tmp_path / "media", sentences)
    api = agent_api(tmp_path)
    run_id = api.create_run({"source": str(media), "llm": "agent", "formats": ["md"]}).run_id
    first_chunk: list[str] = []

    def wrong(number: int, task: dict[str, Any]) -> bool:
        first_chunk.append(first_chunk[0] if first_chunk else task["chunk_id"])
        return task["chunk_id"] == first_chunk[0] or every_third(number, task)  # the first chunk never passes

    agent = ScriptedAgent(wrong=wrong)
    report = play(api, run_id, agent)
    assert_every_sentence_exactly_once(report["article"], sentences)
    assert report["status"] == "degraded"
    assert report["fallback_chunks"] == [first_chunk[0]]
    kinds = Counter(kind for _, _, kind in agent.answers)
    assert {"drop_half", "wrong_language", "preamble"} <= set(kinds)
    attempts = Counter(chunk_id for chunk_id, _, _ in agent.answers)
    assert attempts[first_chunk[0]] == 3  # the initial task and two repairs, then the fallback
    states = [read_json(p) for p in (api.resolve(run_id).path / "chunks").glob("*/*.json")]
    repaired = [s for s in states if s["status"] == "succeeded" and len(s["attempts"]) > 1]
    assert repaired and all(s["attempts"][0]["violations"] for s in repaired)


def test_a_submission_for_another_chunk_is_refused_and_names_the_chunk_wanted(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", SENTENCES)
    api = agent_api(tmp_path)
    run_id = api.create_run({"source": str(media), "llm": "agent"}).run_id
    task = api.advance_run(run_id, wait_seconds=50).awaiting_input
    assert task is not None
    with pytest.raises(InvalidInputError) as refused:
        api.advance_run(run_id, action="submit_chunk", args={"chunk_id": "p1-c0042", "text": "x"})
    assert refused.value.code == "chunk_not_wanted"
    assert refused.value.details["wanted_chunk_id"] == task["chunk_id"]
    assert task["chunk_id"] in refused.value.message
    assert api.inspect_run(run_id).awaiting_input == task  # nothing changed


def test_a_process_killed_after_a_hand_out_gives_the_same_task_after_resume(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", SENTENCES)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YTT_", "DEEPGRAM_"))}
    env.update(YTT_HOME=str(home), PYTHONPATH=str(REPO_ROOT), YTT_CRASH_AT="agent:p1-c0000:1:handed")
    killed = subprocess.run([sys.executable, "-m", "scripts.cli", "run", str(media), "--llm", "agent", "--json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr
    api = agent_api(tmp_path)
    [run_dir] = (home / "runs").iterdir()
    saved = read_json(run_dir / "chunks" / "p1" / "p1-c0000.json")["agent_turn"]
    api.resume_run(run_dir.name)
    task = api.advance_run(run_dir.name, wait_seconds=50).awaiting_input
    assert task is not None and task["chunk_id"] == "p1-c0000" and task["attempt"] == 1
    assert (task["system"], task["prompt"]) == (saved["system"], saved["prompt"])
    report = play(api, run_dir.name, ScriptedAgent())
    assert report["status"] == "pass"
    handed = Counter((e["chunk_id"], e["attempt"]) for e in read_events(run_dir, event="agent_task"))
    assert all(count == 1 for count in handed.values()), handed  # the killed hand-out was not repeated


def test_the_cli_loop_with_agent_task_and_submit_chunk_publishes_the_article(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", SENTENCES[:40])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YTT_", "DEEPGRAM_"))}
    env.update(YTT_HOME=str(tmp_path / "home"), PYTHONPATH=str(REPO_ROOT))

    def cli(*args: str, stdin: str | None = None) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=tmp_path, env=env, input=stdin,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    started = cli("run", str(media), "--llm", "agent", "--json")
    assert started["state"] == "awaiting_input" and "submit-chunk" in started["next_step"]
    run_id, agent = started["run_id"], ScriptedAgent()
    assert cli("agent-task", run_id)["agent_task"] == started["agent_task"]
    result = started
    for _ in range(20):
        if result["state"] != "awaiting_input":
            break
        task = result["agent_task"]
        result = cli("submit-chunk", run_id, task["chunk_id"], "-", stdin=agent.answer(task))
    assert result["state"] == "completed", result
    article = Path(result["outputs"]["markdown"]).read_text(encoding="utf-8")
    assert_every_sentence_exactly_once(article, SENTENCES[:40])


def test_a_two_hour_transcript_needs_a_bounded_number_of_agent_tasks_each_under_the_task_budget() -> None:
    sentences = make_sentences(1400, seed=3)  # about 19,000 words: two hours of speech at 160 words a minute
    assert 17_000 < sum(len(s.split()) for s in sentences) < 21_000
    doc = make_doc(sentences)
    plan = build_plan(doc, TransformRequest(mode="clean"), llm=AGENT_PROFILE, glossary=[], chapter_titles=[],
                      plan_id="p1", count_tokens=count_tokens)
    assert plan.path == "long"
    assert plan.contract.max_source_tokens + plan.contract.context_tokens + 700 < AGENT_TASK_TOKENS / 2
    assert 10 <= len(plan.chunks) <= 40, len(plan.chunks)
