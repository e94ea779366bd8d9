"""The chunk loop end to end (real pipeline, real openai SDK) against the fault-injecting fake server.

Every fake-server behaviour has one defined outcome (retry, repair, replan or fallback), and in every
case the article holds each source sentence's content exactly once.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kernel.config import load_settings
from kernel.output.exports import format_timestamp
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.contracts import RunState, RuntimeAction
from kernel.task_runtime.store import read_json
from kernel.task_runtime.telemetry import read_events
from tests.conftest import EXAMPLES
from tests.fakes.openai_server import FakeOpenAIServer

WORDS = ["river", "garden", "window", "engine", "market", "silver", "paper", "camera", "planet", "orange", "ladder", "pencil", "rocket", "forest", "kitten", "signal", "marble", "harbor", "violin", "crystal", "meadow", "copper", "lantern", "puzzle", "tunnel"]


def make_sentences(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    sentences = []
    for index in range(count):
        words = rng.sample(WORDS, 5)
        extra = f" in {1990 + index}" if index % 3 == 0 else ""
        sentences.append(f"Item {index} links the {words[0]} with the {words[1]} and a {words[2]} near "
                         f"the {words[3]}{extra}.")
    return sentences


def write_source(folder: Path, sentences: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / "talk.mp4"
    shutil.copy(EXAMPLES / "sample-sidecar" / "sample.mp4", media)
    cues = ["WEBVTT", ""]
    for index, sentence in enumerate(sentences):
        start, end = index * 2.5, index * 2.5 + 2.0
        cues += [f"{format_timestamp(start)} --> {format_timestamp(end)}", sentence, ""]
    (folder / "talk.en.vtt").write_text("\n".join(cues), encoding="utf-8")
    return media


def make_api(tmp_path: Path, server: FakeOpenAIServer, **llm: Any) -> RuntimeApi:
    profile = {"base_url": server.base_url, "model": "fake-model", "api_key": "test-key", "context_window": 2048,
               "max_output_tokens": 512, "timeout_seconds": 5.0, "max_retries": 3, "concurrency": 1, **llm}
    lines = ["[llm]"] + [f"{k} = {json.dumps(v)}" for k, v in profile.items()]
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    settings = load_settings({"YTT_HOME": str(home), "YTT_CONFIG": str(config)}, cwd=tmp_path)
    return build_runtime_api(settings)


@dataclass
class Finished:
    run_id: str
    work_dir: Path
    state: str
    article: str
    quality: dict[str, Any]
    transform: dict[str, Any]


def run_to_end(api: RuntimeApi, media: Path, **params: Any) -> Finished:
    run_id = api.create_run({"source": str(media), "formats": ["md"], **params}).run_id
    for _ in range(20):
        envelope = api.advance_run(run_id, wait_seconds=50)
        assert envelope.result is not None
        assert envelope.result.status != "failed", envelope.result
        if envelope.result.status == "completed" and envelope.result.action == RuntimeAction.RUN_PHASE:
            break
    allowed = api.inspect_run(run_id).allowed_actions
    final = api.finalize_run(run_id, accept_degraded=RuntimeAction.FINALIZE not in allowed, wait_seconds=50)
    run_dir = api.resolve(run_id)
    manifest = run_dir.read_manifest()
    article = Path(final.outputs["markdown"]).read_text(encoding="utf-8")  # type: ignore[index]
    quality = read_json(run_dir.path / manifest.artifacts["quality.report"].path)
    transform = read_json(run_dir.path / manifest.artifacts["transform.result"].path)
    return Finished(run_id, run_dir.path, final.state, article, quality, transform)


def normalized(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def assert_every_sentence_exactly_once(article: str, sentences: list[str]) -> None:
    body = normalized(article.split("\n---\n", 1)[-1])
    counts = {sentence: body.count(normalized(sentence)) for sentence in sentences}
    assert all(count == 1 for count in counts.values()), {s: c for s, c in counts.items() if c != 1}


def chunk_states(finished: Finished) -> list[dict[str, Any]]:
    return [read_json(finished.work_dir / path) for path in finished.transform["chunk_states"].values()]


SENTENCES = make_sentences(60)


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return write_source(tmp_path / "media", SENTENCES)


def test_a_well_behaved_model_transforms_every_chunk_and_passes(tmp_path: Path, media: Path) -> None:
    with FakeOpenAIServer() as server:
        finished = run_to_end(make_api(tmp_path, server), media)
    states = chunk_states(finished)
    assert len(states) >= 3
    assert {s["status"] for s in states} == {"succeeded"}
    assert {s["output_origin"] for s in states} == {"llm"}
    assert finished.state == RunState.COMPLETED
    assert finished.quality["status"] == "pass" and finished.quality["llm_used"] is True
    assert_every_sentence_exactly_once(finished.article, SENTENCES)
    # The prompt contract: source in <source>, reference context in <context>, the transformed text only.
    user = server.requests[1].messages[-1]["content"]
    assert "<source>" in user and "</source>" in user and "<context>" in user


@pytest.mark.parametrize(
    ("behaviour", "count", "outcome"),
    [
        ("latency", 2, "retry"),
        ("rate_limit", 2, "retry"),
        ("server_error", 1, "retry"),
        ("no_stream", 1, "retry"),
        ("empty", 2, "retry"),
        ("drop_half", 1, "repair"),
        ("drop_numbers", 1, "repair"),
        ("loop", 1, "repair"),
        ("preamble", 1, "repair"),
        ("truncate", 2, "replan"),
        ("context_error", 1, "replan"),
        ("hang", 3, "replan"),
        ("content_filter", 1, "fallback"),
    ],
)
def test_each_fault_has_its_defined_outcome_and_keeps_every_sentence_once(
    tmp_path: Path, media: Path, behaviour: str, count: int, outcome: str
) -> None:
    params = {"retry_after": 0} if behaviour == "rate_limit" else {"seconds": 2.0} if behaviour == "hang" else {}
    if behaviour == "latency":
        params = {"delay_ms": 30}
    llm = {"timeout_seconds": 0.5} if behaviour == "hang" else {}
    with FakeOpenAIServer(max_hang_s=2.5) as server:
        for _ in range(count):
            server.enqueue(behaviour, **params)
        finished = run_to_end(make_api(tmp_path, server, **llm), media)
    events = Counter(e["event"] for e in read_events(finished.work_dir))
    states = chunk_states(finished)
    statuses = Counter(s["status"] for s in states)
    assert_every_sentence_exactly_once(finished.article, SENTENCES)
    if outcome == "retry":
        assert statuses == Counter({"succeeded": len(states)})
        assert finished.quality["status"] == "pass"
        if behaviour not in ("latency", "no_stream", "empty"):
            assert events["llm_retry"] >= 1
        if behaviour == "no_stream":
            assert events["llm_stream_fallback"] == 1
    elif outcome == "repair":
        assert statuses == Counter({"succeeded": len(states)})
        first = states[0]
        assert [a["kind"] for a in first["attempts"]] == ["initial", "repair"]
        assert first["attempts"][0]["violations"], "the first answer must have been caught by verification"
        # The repair prompt names the violations found.
        assert "<source>" in server.requests[1].messages[-1]["content"]
    elif outcome == "replan":
        assert events["replan"] == 1
        assert finished.transform["plan_id"] == "p2"
        assert statuses["fallback"] == 0
        assert finished.quality["status"] == "pass"
    else:
        assert statuses["fallback"] == 1
        assert finished.state == RunState.COMPLETED_DEGRADED
        assert len(finished.quality["fallback_chunks"]) == 1


def test_a_model_that_never_complies_falls_back_per_chunk_after_bounded_repairs(tmp_path: Path, media: Path) -> None:
    with FakeOpenAIServer(behaviour="drop_half") as server:
        finished = run_to_end(make_api(tmp_path, server), media)
    states = chunk_states(finished)
    assert {s["status"] for s in states} == {"fallback"}
    # initial + one repair; the repair repeated the rejected answer word for word, so asking again is pointless
    assert all([a["kind"] for a in s["attempts"]] == ["initial", "repair"] for s in states)
    assert finished.state == RunState.COMPLETED_DEGRADED
    assert finished.quality["status"] == "degraded"
    assert_every_sentence_exactly_once(finished.article, SENTENCES)


def test_rejected_credentials_stop_all_requests_and_every_chunk_falls_back(tmp_path: Path, media: Path) -> None:
    with FakeOpenAIServer(behaviour="auth") as server:
        finished = run_to_end(make_api(tmp_path, server), media)
        assert len(server.requests) == 1
    assert {s["status"] for s in chunk_states(finished)} == {"fallback"}
    assert_every_sentence_exactly_once(finished.article, SENTENCES)
    assert "test-key" not in (finished.work_dir / "telemetry.jsonl").read_text()


def test_a_spent_request_budget_stops_sending_and_lists_the_fallbacks(tmp_path: Path, media: Path) -> None:
    with FakeOpenAIServer() as server:
        finished = run_to_end(make_api(tmp_path, server), media, max_llm_requests=2)
        assert len(server.requests) == 2
    statuses = Counter(s["status"] for s in chunk_states(finished))
    assert statuses["succeeded"] == 2 and statuses["fallback"] >= 1
    assert len(finished.quality["fallback_chunks"]) == statuses["fallback"]
    assert_every_sentence_exactly_once(finished.article, SENTENCES)


def test_rate_limiting_reduces_concurrency(tmp_path: Path, media: Path) -> None:
    with FakeOpenAIServer() as server:
        for _ in range(3):
            server.enqueue("rate_limit", retry_after=0)
        finished = run_to_end(make_api(tmp_path, server, concurrency=4), media)
    assert finished.transform["usage"]["concurrency_reductions"] >= 1
    assert_every_sentence_exactly_once(finished.article, SENTENCES)


def test_the_loop_starts_at_full_concurrency_and_never_exceeds_it(tmp_path: Path, media: Path) -> None:
    with FakeOpenAIServer(behaviour="hold", max_hang_s=30) as server:
        api = make_api(tmp_path, server, concurrency=4, context_window=1024, max_output_tokens=256, timeout_seconds=60.0)
        finished: list[Finished] = []
        runner = threading.Thread(target=lambda: finished.append(run_to_end(api, media)))
        runner.start()
        try:
            # Held requests are recorded only when they are answered: four arriving before any answer were
            # in flight at once, from the first chunks on.
            assert server.wait_for_requests(4, timeout=20)
            assert server.requests == []
        finally:
            server.release_held()
            runner.join(timeout=60)
    assert len(chunk_states(finished[0])) > 4
    assert server.max_in_flight == 4
    assert finished[0].transform["usage"]["peak_concurrency"] == 4
    assert_every_sentence_exactly_once(finished[0].article, SENTENCES)


@pytest.mark.parametrize("target", ["zh-Hans", "de"])
def test_translation_passes_verification_with_a_well_behaved_model(tmp_path: Path, media: Path, target: str) -> None:
    with FakeOpenAIServer() as server:
        finished = run_to_end(make_api(tmp_path, server), media, mode="translate", target_language=target)
    assert {s["status"] for s in chunk_states(finished)} == {"succeeded"}
    assert finished.quality["status"] == "pass"
    assert f"target_language: {target}" in finished.article
    if target == "zh-Hans":
        assert sum("\u4e00" <= ch <= "\u9fff" for ch in finished.article) > 500


def test_bilingual_output_pairs_every_paragraph(tmp_path: Path, media: Path) -> None:
    with FakeOpenAIServer() as server:
        finished = run_to_end(make_api(tmp_path, server), media, mode="bilingual", target_language="zh-Hans")
    assert {s["status"] for s in chunk_states(finished)} == {"succeeded"}
    body = finished.article.split("\n---\n", 1)[-1]
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip() and not p.strip().startswith("#")]
    is_cjk = [sum("\u4e00" <= ch <= "\u9fff" for ch in p) > len(p) / 3 for p in paragraphs]
    assert len(paragraphs) % 2 == 0
    assert is_cjk == [False, True] * (len(paragraphs) // 2)  # each source paragraph then its translation
    assert_every_sentence_exactly_once(finished.article, SENTENCES)


def test_a_two_hour_transcript_takes_the_long_path_end_to_end(tmp_path: Path) -> None:
    sentences = make_sentences(2600, seed=11)  # about 2 h of speech at 2.5 s per sentence-cue
    media = write_source(tmp_path / "media", sentences)
    with FakeOpenAIServer() as server:
        api = make_api(tmp_path, server, context_window=8192, max_output_tokens=4096, concurrency=4)
        finished = run_to_end(api, media)
    plan = read_json(finished.work_dir / finished.transform["plan_path"])
    assert plan["path"] == "long"
    assert len(plan["chunks"]) >= 10
    assert finished.quality["status"] == "pass"
    assert_every_sentence_exactly_once(finished.article, sentences)


@pytest.mark.parametrize("action", ["retry_chunk", "replan_remaining"])
def test_fallback_chunks_can_be_sent_again_once_the_endpoint_works(tmp_path: Path, media: Path, action: str) -> None:
    with FakeOpenAIServer(behaviour="server_error") as server:
        api = make_api(tmp_path, server, max_retries=0)
        run_id = api.create_run({"source": str(media), "formats": ["md"]}).run_id
        gate = api.advance_run(run_id, wait_seconds=50)
        assert gate.result is not None and gate.result.status == "completed"
        degraded = api.inspect_run(run_id)
        assert "retry_chunk" in degraded.allowed_actions
        assert "replan_remaining" in degraded.allowed_actions
        assert RuntimeAction.FINALIZE not in degraded.allowed_actions

        server.set_default("clean")  # the endpoint is back
        sent_before = len(server.requests)
        again = api.advance_run(run_id, action=action, wait_seconds=50)
        assert again.result is not None and again.result.status == "completed", again.result
        assert len(server.requests) > sent_before
        final = api.finalize_run(run_id, wait_seconds=50)
    assert final.state == RunState.COMPLETED
    manifest = api.resolve(run_id).read_manifest()
    quality = read_json(api.resolve(run_id).path / manifest.artifacts["quality.report"].path)
    assert quality["status"] == "pass" and quality["fallback_chunks"] == []
    article = Path(final.outputs["markdown"]).read_text(encoding="utf-8")  # type: ignore[index]
    assert_every_sentence_exactly_once(article, SENTENCES)


def test_an_answer_in_the_wrong_language_is_repaired(tmp_path: Path, media: Path) -> None:
    with FakeOpenAIServer() as server:
        server.enqueue("wrong_language")
        finished = run_to_end(make_api(tmp_path, server), media, mode="translate", target_language="zh-Hans")
    states = chunk_states(finished)
    assert {s["status"] for s in states} == {"succeeded"}
    first = states[0]
    assert [a["kind"] for a in first["attempts"]] == ["initial", "repair"]
    assert "wrong_script" in [v["code"] for v in first["attempts"][0]["violations"]]
    assert finished.quality["status"] == "pass"


def test_a_chunk_gets_up_to_two_repairs_while_the_answers_change(tmp_path: Path, media: Path) -> None:
    with FakeOpenAIServer() as server:
        server.enqueue("drop_half")
        server.enqueue("loop")
        finished = run_to_end(make_api(tmp_path, server), media)
    first = chunk_states(finished)[0]
    assert first["status"] == "succeeded"
    assert [a["kind"] for a in first["attempts"]] == ["initial", "repair", "repair"]
    assert_every_sentence_exactly_once(finished.article, SENTENCES)


def test_configured_prices_give_the_run_cost_in_the_quality_report(tmp_path: Path, media: Path) -> None:
    with FakeOpenAIServer() as server:
        api = make_api(tmp_path, server, price_per_1k_prompt_tokens=0.5, price_per_1k_completion_tokens=2.0)
        finished = run_to_end(api, media)
    usage = finished.quality["usage"]
    assert usage["requests"] >= 1 and usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    expected = usage["prompt_tokens"] / 1000 * 0.5 + usage["completion_tokens"] / 1000 * 2.0
    assert usage["cost"] == pytest.approx(expected, abs=1e-6)
    assert not any(key.startswith("price_") for key in usage)


def test_without_prices_the_report_gives_tokens_and_no_cost(tmp_path: Path, media: Path) -> None:
    with FakeOpenAIServer() as server:
        finished = run_to_end(make_api(tmp_path, server), media)
    assert finished.quality["usage"]["total_tokens"] > 0
    assert "cost" not in finished.quality["usage"]
