"""Section titles by the run's writer: the chapter-title request through the endpoint (and the agent),
checked, repaired, and deterministic where an answer does not pass; no request without a writer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kernel.task_runtime.store import read_json
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.scripted_agent import ScriptedAgent
from tests.long_text.article_runs import LONG_LLM, runtime_api, write_talk
from tests.long_text.long_talks import generate_talk
from tests.long_text.test_agent_writer import play
from tests.long_text.test_chunk_loop import run_to_end

HEADING = re.compile(r"^## (.+?) \[\d+:\d\d(?::\d\d)?\]", re.MULTILINE)


def titles_artifact(work_dir: Path) -> dict[str, Any]:
    manifest = read_json(work_dir / "manifest.json")
    chosen: dict[str, Any] = read_json(work_dir / manifest["artifacts"]["titles.chosen"]["path"])
    return chosen


def title_requests(server: FakeOpenAIServer) -> list[Any]:
    return [r for r in server.requests if any("Mode: chapter_titles" in str(m.get("content")) for m in r.messages)]


def test_the_endpoint_titles_every_topic_section_and_the_headings_carry_them(tmp_path: Path) -> None:
    talk = generate_talk(minutes=30, seed=5)
    with FakeOpenAIServer() as server:
        finished = run_to_end(runtime_api(tmp_path, "llm", server, **LONG_LLM), write_talk(tmp_path / "m", talk))
        requests = title_requests(server)
    headings = HEADING.findall(finished.article)
    assert len(requests) == 1 and len(headings) >= 4
    assert all(h.startswith("About ") for h in headings), headings  # the writer's titles, not the key phrases
    chosen = titles_artifact(finished.work_dir)
    assert chosen["origin"] == "writer" and chosen["titles"] == headings


def test_titles_that_fail_the_checks_are_repaired_then_left_deterministic(tmp_path: Path) -> None:
    talk = generate_talk(minutes=30, seed=5)
    with FakeOpenAIServer() as server:
        server.add_rule("Mode: chapter_titles", "wrong_language")  # titles in another script, every time
        finished = run_to_end(runtime_api(tmp_path, "llm", server, **LONG_LLM), write_talk(tmp_path / "m", talk))
        requests = title_requests(server)
    chosen = titles_artifact(finished.work_dir)
    assert len(requests) == 3  # the request and two repairs
    assert chosen["origin"] == "deterministic" and chosen["violations"]
    headings = HEADING.findall(finished.article)
    assert headings == chosen["titles"] and not any(h.startswith("About ") for h in headings)
    assert_every_sentence_kept = finished.quality["sentences_accounted"] == finished.quality["sentences_total"]
    assert assert_every_sentence_kept


def test_no_writer_means_no_title_request_and_key_phrase_titles(tmp_path: Path) -> None:
    talk = generate_talk(minutes=30, seed=5)
    finished = run_to_end(runtime_api(tmp_path, "plain", None), write_talk(tmp_path / "m", talk))
    chosen = titles_artifact(finished.work_dir)
    assert chosen["origin"] == "deterministic" and HEADING.findall(finished.article) == chosen["titles"]


def test_the_agent_is_handed_the_section_titles_after_the_chunks(tmp_path: Path) -> None:
    talk = generate_talk(minutes=30, seed=5)
    api = runtime_api(tmp_path, "agent", None)
    run_id = api.create_run({"source": str(write_talk(tmp_path / "m", talk)), "llm": "agent",
                             "formats": ["md"]}).run_id
    agent = ScriptedAgent()
    report = play(api, run_id, agent)
    kinds = [kind for kind in (a[0] for a in agent.answers)]
    assert kinds[-1] == "titles" and kinds.count("titles") == 1
    assert all(h.startswith("About ") for h in HEADING.findall(report["article"]))
