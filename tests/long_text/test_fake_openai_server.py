"""The fake OpenAI-compatible server: its deterministic transforms, scripting, recording and protocol."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.fakes.openai_server import (
    PREAMBLE,
    FakeOpenAIServer,
    bilingual_text,
    clean_text,
    faulty_reply,
    read_instruction,
    translate_text,
)

SOURCE = (
    "welcome back, today Alice shows Python 3.11 and https://example.com/docs?page=2 to us.  "
    "it is 20% faster than v1.2.3\n\n"
    "the release ships on 2024-05-01 at 10:30. we thank Bob for the help"
)
ANCHORS = ["3.11", "https://example.com/docs?page=2", "20%", "v1.2.3", "2024-05-01", "10:30", "Alice", "Bob", "Python"]
CJK = re.compile(r"[\u4e00-\u9fff]")
KANA = re.compile(r"[\u3040-\u30ff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _prompt(mode: str = "clean", target: str | None = None, source: str = SOURCE) -> list[dict[str, Any]]:
    header = f"Mode: {mode}\n" + (f"Target language: {target}\n" if target else "")
    return [
        {"role": "system", "content": "Answer with the transformed text only."},
        {"role": "user", "content": f"{header}<context>earlier words</context>\n<source>{source}</source>"},
    ]


def _words(text: str) -> list[str]:
    return [token.strip(".,") for token in text.lower().split()]


def _post(server: FakeOpenAIServer, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer test-key"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _chat(server: FakeOpenAIServer, marker: str = "", **extra: Any) -> tuple[int, dict[str, Any]]:
    status, _, body = _post(server, {"model": "m", "messages": _prompt(source=SOURCE + marker), **extra})
    return status, json.loads(body)


def test_clean_keeps_every_word_and_the_paragraphs() -> None:
    cleaned = clean_text(SOURCE)
    assert _words(cleaned) == _words(SOURCE)
    assert cleaned.count("\n\n") == 1
    assert cleaned.startswith("Welcome back")
    assert "It is 20% faster" in cleaned
    assert cleaned.endswith("help.")
    for anchor in ANCHORS:
        assert anchor in cleaned


@pytest.mark.parametrize(("code", "script"), [("zh-Hans", CJK), ("ja", KANA), ("ru", CYRILLIC)])
def test_translation_is_written_in_the_target_script_and_keeps_anchors(code: str, script: re.Pattern[str]) -> None:
    translated = translate_text(SOURCE, code)
    assert script.search(translated)
    assert translated.count("\n\n") == SOURCE.count("\n\n")
    for anchor in ANCHORS:
        assert anchor in translated
    assert "welcome" not in translated.lower()


def test_chinese_translation_ends_sentences_with_a_full_stop_and_is_mostly_cjk() -> None:
    translated = translate_text("we talk about the weather. it is nice today", "zh")
    assert translated.endswith("。")
    assert len(CJK.findall(translated)) >= 8
    assert not re.search(r"[A-Za-z]", translated)


def test_european_translation_stays_latin_and_maps_common_words() -> None:
    translated = translate_text("this is the plan and we like it", "de")
    assert translated == "Dies ist der plan und wir like es."
    french = translate_text(SOURCE, "fr")
    assert "Il est 20% faster" in french and "pour le help" in french
    assert not CJK.search(french) and not CYRILLIC.search(french)


def test_bilingual_pairs_each_source_paragraph_with_its_translation() -> None:
    paragraphs = bilingual_text(SOURCE, "zh").split("\n\n")
    assert len(paragraphs) == 4
    assert paragraphs[0] == clean_text(SOURCE).split("\n\n")[0]
    assert CJK.search(paragraphs[1]) and not CJK.search(paragraphs[2]) and CJK.search(paragraphs[3])


def test_instruction_is_read_from_the_prompt_contract_markers() -> None:
    instruction = read_instruction(_prompt("translate", "Chinese (Simplified) (zh-Hans)"))
    assert (instruction.mode, instruction.target_code, instruction.source) == ("translate", "zh-Hans", SOURCE)
    assert read_instruction([{"role": "user", "content": "just text"}]).source == "just text"


def test_text_faults_damage_the_reply_in_their_own_way() -> None:
    instruction = read_instruction(_prompt())
    good = clean_text(SOURCE)
    assert faulty_reply("truncate", instruction) == (good[: len(good) // 2], "length")
    assert faulty_reply("empty", instruction) == ("", "stop")
    assert faulty_reply("content_filter", instruction)[1] == "content_filter"
    assert not re.search(r"\d", faulty_reply("drop_numbers", instruction)[0])
    assert faulty_reply("preamble", instruction)[0] == PREAMBLE + good
    assert len(faulty_reply("drop_half", instruction)[0]) < len(good) * 0.7
    looped = faulty_reply("loop", instruction)[0]
    assert looped.count("Welcome back") == 30
    assert CJK.search(faulty_reply("wrong_language", instruction)[0])
    wrong_for_chinese = faulty_reply("wrong_language", read_instruction(_prompt("translate", "Chinese (zh)")))[0]
    assert CYRILLIC.search(wrong_for_chinese) and not CJK.search(wrong_for_chinese)


def test_non_streaming_reply_has_the_chat_completion_shape_and_usage() -> None:
    with FakeOpenAIServer() as server:
        status, body = _chat(server)
    assert status == 200
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == clean_text(SOURCE)
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == len(clean_text(SOURCE)) // 4


def test_streaming_reply_is_sse_with_a_usage_chunk_only_when_asked() -> None:
    with FakeOpenAIServer() as server:
        streams = [
            _post(server, {"model": "m", "messages": _prompt(), "stream": True, **options})
            for options in ({"stream_options": {"include_usage": True}}, {})
        ]
    for index, (status, headers, raw) in enumerate(streams):
        assert status == 200
        assert headers["Content-Type"] == "text/event-stream"
        events = [line.removeprefix("data: ") for line in raw.decode().split("\n\n") if line]
        assert events[-1] == "[DONE]"
        chunks = [json.loads(event) for event in events[:-1]]
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        assert text == clean_text(SOURCE)
        assert any(c.get("usage") for c in chunks) is (index == 0)


def test_models_are_listed() -> None:
    with FakeOpenAIServer() as server, urllib.request.urlopen(f"{server.base_url}/models", timeout=10) as response:
        assert json.loads(response.read())["data"][0]["id"] == "fake-model"


def test_rules_by_marker_take_precedence_and_run_out_after_their_count() -> None:
    with FakeOpenAIServer() as server:
        server.add_rule("[chunk-2]", "server_error", times=2)
        server.enqueue("auth")
        statuses = [_chat(server, marker)[0] for marker in ("[chunk-2]", "[chunk-1]", "[chunk-2]", "[chunk-2]")]
        behaviours = [request.behaviour for request in server.requests]
    assert statuses == [500, 401, 500, 200]
    assert behaviours == ["server_error", "auth", "server_error", "clean"]


def test_rate_limit_sends_retry_after_in_the_openai_error_shape() -> None:
    with FakeOpenAIServer(behaviour="rate_limit", retry_after=7) as server:
        status, headers, raw = _post(server, {"model": "m", "messages": _prompt()})
    assert status == 429
    assert headers["Retry-After"] == "7"
    assert json.loads(raw)["error"]["code"] == "rate_limit_exceeded"


def test_context_error_and_stream_rejection_use_openai_error_codes() -> None:
    with FakeOpenAIServer(behaviour="context_error") as server:
        assert _chat(server)[1]["error"]["code"] == "context_length_exceeded"
        server.set_default("no_stream")
        assert _chat(server, stream=True)[0] == 400
        assert _chat(server)[0] == 200


def test_requests_are_recorded_and_concurrency_is_measured() -> None:
    with FakeOpenAIServer(behaviour="hold") as server:
        threads = [threading.Thread(target=_chat, args=(server, f"[{i}]")) for i in range(3)]
        for thread in threads:
            thread.start()
        assert server.wait_for_requests(3, timeout=10)
        server.release_held()
        for thread in threads:
            thread.join(timeout=10)
        recorded = server.requests
    assert server.max_in_flight == 3
    assert len(recorded) == 3
    assert all(r.params["model"] == "m" and r.messages[0]["role"] == "system" for r in recorded)


def test_runs_as_a_script_and_announces_its_address_on_stdout() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server", "--port", "0", "--behaviour", "clean"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())
        with urllib.request.urlopen(f"{announced['base_url']}/models", timeout=10) as response:
            assert response.status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
