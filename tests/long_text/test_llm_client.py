"""The LLM client through the real openai SDK against the fault-injecting fake server."""

from __future__ import annotations

import asyncio
import random
import re
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from pydantic import SecretStr

from kernel.config import LLMProfile
from kernel.long_text.budget import RunBudget
from kernel.long_text.errors import BudgetExceededError
from kernel.long_text.llm_client import (
    BACKOFF_CAP_S,
    CompletionResult,
    LLMCallError,
    LLMClient,
    LLMNotConfiguredError,
    backoff_delay,
    classify_exception,
    parse_retry_after,
    shared_tls_context,
)
from tests.fakes.openai_server import FakeOpenAIServer, clean_text

pytestmark = pytest.mark.anyio

API_KEY = "sk-test-secret-key-1234"
SOURCE = "we ship version 2.4 on 2024-06-01.  see https://example.com/notes for details\n\nthanks to Alice"
CJK = re.compile(r"[\u4e00-\u9fff]")
ClientFactory = Callable[..., LLMClient]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(max_hang_s=1.5) as fake:
        yield fake


class Recorder:
    """Collects what the client reports: sleeps it asked for and events it emitted."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.events: list[dict[str, Any]] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def of(self, name: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["event"] == name]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _profile(base_url: str, **overrides: Any) -> LLMProfile:
    settings: dict[str, Any] = {
        "base_url": base_url,
        "model": "fake-model",
        "api_key": SecretStr(API_KEY),
        "max_retries": 3,
        "timeout_seconds": 10.0,
    }
    return LLMProfile(**(settings | overrides))


@pytest.fixture
async def make_client(server: FakeOpenAIServer, recorder: Recorder) -> AsyncIterator[ClientFactory]:
    clients: list[LLMClient] = []

    def build(budget: RunBudget | None = None, base_url: str | None = None, **overrides: Any) -> LLMClient:
        client = LLMClient(
            _profile(base_url or server.base_url, **overrides),
            budget=budget,
            sleep=recorder.sleep,
            on_event=recorder.events.append,
            rng=random.Random(7),
        )
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


def _messages(source: str = SOURCE, header: str = "Mode: clean") -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You tidy transcripts. Answer with the text only."},
        {"role": "user", "content": f"{header}\n<source>{source}</source>"},
    ]


async def _failure(client: LLMClient, **kwargs: Any) -> LLMCallError:
    with pytest.raises(LLMCallError) as caught:
        await client.complete(_messages(), max_tokens=200, **kwargs)
    return caught.value


@pytest.mark.parametrize("streaming", [True, False])
async def test_a_clean_completion_returns_the_text_and_server_usage(
    make_client: ClientFactory, server: FakeOpenAIServer, recorder: Recorder, streaming: bool
) -> None:
    client = make_client(streaming=streaming)
    result = await client.complete(_messages(), max_tokens=200, temperature=0.0)
    assert result.text == clean_text(SOURCE)
    assert result.streamed is streaming
    assert (result.finish_reason, result.attempts, result.model, result.usage_estimated) == (
        "stop",
        1,
        "fake-model",
        False,
    )
    assert result.completion_tokens == len(result.text) // 4
    sent = server.requests[0]
    assert sent.stream is streaming
    assert sent.params["max_tokens"] == 200 and sent.params["temperature"] == 0.0
    if streaming:
        assert sent.params["stream_options"] == {"include_usage": True}
    assert client.usage == {
        "requests": 1,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "retries": 0,
        "rate_limited": 0,
        "errors": 0,
    }
    [event] = recorder.of("llm_request")
    assert event["completion_tokens"] == result.completion_tokens and "text" not in event


async def test_profile_temperature_is_used_when_the_call_gives_none(
    make_client: ClientFactory, server: FakeOpenAIServer
) -> None:
    await make_client(temperature=0.7).complete(_messages(), max_tokens=50)
    assert server.requests[0].params["temperature"] == 0.7


async def test_rate_limit_waits_for_the_servers_retry_after_then_succeeds(
    make_client: ClientFactory, server: FakeOpenAIServer, recorder: Recorder
) -> None:
    server.enqueue("rate_limit", retry_after=3)
    result = await make_client().complete(_messages(), max_tokens=200)
    assert result.attempts == 2
    assert recorder.sleeps == [3.0]
    [retry] = recorder.of("llm_retry")
    assert (retry["category"], retry["wait_s"], retry["attempt"]) == ("rate_limit", 3.0, 1)


async def test_retry_after_ms_takes_precedence_over_retry_after(
    make_client: ClientFactory, server: FakeOpenAIServer, recorder: Recorder
) -> None:
    server.enqueue("rate_limit", retry_after=9, retry_after_ms=250)
    client = make_client()
    await client.complete(_messages(), max_tokens=200)
    assert recorder.sleeps == [0.25]
    assert client.usage["rate_limited"] == 1 and client.usage["retries"] == 1


async def test_server_errors_are_retried_with_capped_jittered_backoff(
    make_client: ClientFactory, server: FakeOpenAIServer, recorder: Recorder
) -> None:
    server.enqueue("server_error")
    server.enqueue("server_error")
    result = await make_client().complete(_messages(), max_tokens=200)
    assert result.attempts == 3 and result.text == clean_text(SOURCE)
    assert len(recorder.sleeps) == 2
    assert 0.5 <= recorder.sleeps[0] <= 1.0 and 1.0 <= recorder.sleeps[1] <= 2.0


async def test_server_errors_give_up_after_max_retries_with_remedy_retry(
    make_client: ClientFactory, server: FakeOpenAIServer, recorder: Recorder
) -> None:
    server.set_default("server_error")
    error = await _failure(make_client(max_retries=2))
    assert (error.code, error.category, error.remedy, error.attempts) == (
        "llm_server_error",
        "server_error",
        "retry",
        3,
    )
    assert len(server.requests) == 3
    [final] = recorder.of("llm_error")
    assert final["category"] == "server_error" and final["attempt"] == 3


async def test_a_hanging_server_is_a_timeout_with_remedy_replan(
    make_client: ClientFactory, server: FakeOpenAIServer
) -> None:
    server.set_default("hang", seconds=1.5)
    error = await _failure(make_client(timeout_seconds=0.5, max_retries=0))
    assert (error.code, error.category, error.remedy) == ("llm_timeout", "timeout", "replan")


async def test_timeouts_are_retried_at_most_twice(make_client: ClientFactory, server: FakeOpenAIServer) -> None:
    server.set_default("hang", seconds=1.5)
    error = await _failure(make_client(timeout_seconds=0.2, max_retries=5, streaming=False))
    assert error.category == "timeout" and error.attempts == 3


async def test_context_length_errors_are_not_retried_and_ask_for_a_replan(
    make_client: ClientFactory, server: FakeOpenAIServer, recorder: Recorder
) -> None:
    server.set_default("context_error")
    error = await _failure(make_client())
    assert (error.code, error.category, error.remedy, error.attempts) == (
        "llm_context_length",
        "context_length",
        "replan",
        1,
    )
    assert len(server.requests) == 1 and recorder.sleeps == []


@pytest.mark.parametrize("streaming", [True, False])
async def test_content_filter_stops_without_retry(
    make_client: ClientFactory, server: FakeOpenAIServer, streaming: bool
) -> None:
    server.set_default("content_filter")
    error = await _failure(make_client(streaming=streaming))
    assert (error.category, error.remedy, error.attempts) == ("content_filter", "stop", 1)


async def test_an_empty_reply_is_retried_once_then_reported_for_repair(
    make_client: ClientFactory, server: FakeOpenAIServer
) -> None:
    server.set_default("empty")
    budget = RunBudget()
    error = await _failure(make_client(budget=budget, max_retries=4))
    assert (error.code, error.category, error.remedy) == ("llm_bad_output", "bad_output", "repair")
    assert len(server.requests) == 2
    single_prompt = max(1, sum(len(m["content"]) for m in _messages()) // 4)
    assert budget.snapshot()["prompt_tokens"] == 2 * single_prompt  # unusable answers still cost tokens


async def test_a_truncated_reply_is_returned_not_raised(make_client: ClientFactory, server: FakeOpenAIServer) -> None:
    server.set_default("truncate")
    result = await make_client().complete(_messages(), max_tokens=200)
    assert result.finish_reason == "length"
    assert result.text == clean_text(SOURCE)[: len(clean_text(SOURCE)) // 2]


async def test_a_server_that_rejects_streaming_gets_plain_requests_from_then_on(
    make_client: ClientFactory, server: FakeOpenAIServer, recorder: Recorder
) -> None:
    server.set_default("no_stream")
    client = make_client(streaming=True)
    first = await client.complete(_messages(), max_tokens=200)
    second = await client.complete(_messages(), max_tokens=200)
    assert first.text == second.text == clean_text(SOURCE)
    assert not first.streamed and not client.streaming
    assert [r.stream for r in server.requests] == [True, False, False]
    assert first.attempts == 1 and client.usage["retries"] == 0 and client.usage["requests"] == 3
    assert len(recorder.of("llm_stream_fallback")) == 1


async def test_a_non_sse_answer_to_a_streaming_request_falls_back_to_plain_requests(
    make_client: ClientFactory, server: FakeOpenAIServer
) -> None:
    server.set_default("no_sse")
    client = make_client(streaming=True)
    result = await client.complete(_messages(), max_tokens=200)
    assert result.text == clean_text(SOURCE) and not client.streaming
    assert [r.stream for r in server.requests] == [True, False]


@pytest.mark.parametrize("streaming", [True, False])
async def test_consecutive_completions_share_one_kept_alive_connection(
    make_client: ClientFactory, server: FakeOpenAIServer, streaming: bool
) -> None:
    client = make_client(streaming=streaming)
    for _ in range(3):
        result = await client.complete(_messages(), max_tokens=200)
        assert result.text == clean_text(SOURCE) and result.streamed is streaming
    assert len(server.requests) == 3
    assert server.connections == 1


def test_clients_share_one_verifying_tls_context_per_certificate_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    default = shared_tls_context()
    assert shared_tls_context() is default
    assert default.verify_mode == ssl.CERT_REQUIRED and default.check_hostname
    cafile = ssl.get_default_verify_paths().openssl_cafile
    if not Path(cafile).is_file():
        pytest.skip("no system CA file to point SSL_CERT_FILE at")
    monkeypatch.setenv("SSL_CERT_FILE", cafile)
    chosen = shared_tls_context()
    assert chosen is not default and chosen.verify_mode == ssl.CERT_REQUIRED


async def test_auth_failure_stops_at_once_and_never_reveals_the_key(
    make_client: ClientFactory, server: FakeOpenAIServer, recorder: Recorder
) -> None:
    server.set_default("auth")
    error = await _failure(make_client())
    assert (error.code, error.category, error.remedy, error.attempts) == ("llm_auth", "auth", "stop", 1)
    assert len(server.requests) == 1
    assert API_KEY not in str(error) and API_KEY not in repr(error.to_dict())
    assert API_KEY not in repr(recorder.events)


async def test_an_unreachable_server_is_a_connection_error_after_retries(
    make_client: ClientFactory, recorder: Recorder
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    error = await _failure(make_client(base_url=f"http://127.0.0.1:{closed_port}/v1", max_retries=1))
    assert (error.code, error.category, error.remedy, error.attempts) == ("llm_connection", "connection", "retry", 2)
    assert len(recorder.sleeps) == 1


async def test_missing_usage_is_estimated_and_flagged(make_client: ClientFactory, server: FakeOpenAIServer) -> None:
    server.set_default("clean", omit_usage=True)
    result = await make_client().complete(_messages(), max_tokens=200)
    assert result.usage_estimated
    assert result.prompt_tokens > 0 and result.completion_tokens > 0


async def test_request_budget_refuses_before_sending(make_client: ClientFactory, server: FakeOpenAIServer) -> None:
    budget = RunBudget(max_requests=1)
    client = make_client(budget=budget)
    await client.complete(_messages(), max_tokens=200)
    with pytest.raises(BudgetExceededError) as caught:
        await client.complete(_messages(), max_tokens=200)
    error = caught.value
    assert isinstance(error, LLMCallError)
    assert (error.code, error.category, error.remedy) == ("budget_exceeded", "budget", "stop")
    assert error.details["limit"] == "max_requests"
    assert len(server.requests) == 1
    assert budget.snapshot()["requests"] == 1


async def test_token_budget_refuses_a_prompt_that_would_pass_it(
    make_client: ClientFactory, server: FakeOpenAIServer
) -> None:
    budget = RunBudget(max_tokens_total=10)
    with pytest.raises(BudgetExceededError) as caught:
        await make_client(budget=budget).complete(_messages(), max_tokens=200)
    assert caught.value.details["limit"] == "max_tokens_total"
    assert server.requests == []


async def test_budget_records_the_tokens_of_every_success(make_client: ClientFactory) -> None:
    budget = RunBudget(max_tokens_total=100_000)
    client = make_client(budget=budget)
    first = await client.complete(_messages(), max_tokens=200)
    second = await client.complete(_messages(), max_tokens=200)
    snapshot = budget.snapshot()
    assert snapshot["tokens_total"] == sum(r.prompt_tokens + r.completion_tokens for r in (first, second))
    assert snapshot["requests"] == 2


async def test_budget_exhaustion_during_retries_stops_the_call(
    make_client: ClientFactory, server: FakeOpenAIServer
) -> None:
    server.set_default("server_error")
    with pytest.raises(BudgetExceededError):
        await make_client(budget=RunBudget(max_requests=2), max_retries=5).complete(_messages(), max_tokens=200)
    assert len(server.requests) == 2


async def test_concurrent_calls_each_get_their_own_answer_and_rate_limits_are_reported(
    make_client: ClientFactory, server: FakeOpenAIServer, recorder: Recorder
) -> None:
    sources = [f"chunk {index} talks about item {index * 11}" for index in range(6)]
    server.add_rule("chunk 3 ", "rate_limit", times=1, retry_after=2)
    client = make_client()
    results: list[CompletionResult] = await asyncio.gather(
        *(client.complete(_messages(source), max_tokens=100) for source in sources)
    )
    assert [r.text for r in results] == [clean_text(source) for source in sources]
    assert [r.attempts for r in results] == [1, 1, 1, 2, 1, 1]
    assert client.usage["requests"] == 7 and client.usage["rate_limited"] == 1
    assert [e["category"] for e in recorder.of("llm_retry")] == ["rate_limit"]


async def test_translation_through_the_client_comes_back_in_the_target_script(make_client: ClientFactory) -> None:
    header = "Mode: translate\nTarget language: Chinese (zh)"
    result = await make_client().complete(_messages(header=header), max_tokens=400)
    assert CJK.search(result.text)
    for anchor in ("2.4", "2024-06-01", "https://example.com/notes", "Alice"):
        assert anchor in result.text


async def test_a_failing_event_observer_does_not_break_the_call(server: FakeOpenAIServer) -> None:
    def broken_observer(event: dict[str, Any]) -> None:
        raise RuntimeError("observer bug")

    client = LLMClient(_profile(server.base_url), on_event=broken_observer)
    try:
        assert (await client.complete(_messages(), max_tokens=100)).text == clean_text(SOURCE)
    finally:
        await client.aclose()


def test_an_unconfigured_profile_is_refused() -> None:
    with pytest.raises(LLMNotConfiguredError) as caught:
        LLMClient(LLMProfile())
    assert caught.value.code == "llm_not_configured"


@pytest.mark.parametrize(
    ("status", "error", "streaming", "category", "stream_rejected"),
    [
        (429, {"message": "You exceeded your current quota", "code": "insufficient_quota"}, False, "auth", False),
        (400, {"message": "the request exceeds the available context size"}, False, "context_length", False),
        (413, {"message": "Payload Too Large"}, False, "context_length", False),
        (400, {"message": "Rejected by our content management policy"}, False, "content_filter", False),
        (404, {"message": "The model `x` does not exist", "code": "model_not_found"}, False, "bad_request", False),
        (400, {"message": "streaming is not supported", "param": "stream"}, True, "bad_request", True),
        (400, {"message": "streaming is not supported", "param": "stream"}, False, "bad_request", False),
        (503, {"message": "overloaded"}, False, "server_error", False),
        (403, {"message": "forbidden"}, False, "auth", False),
    ],
)
def test_provider_errors_are_classified_by_status_and_wording(
    status: int, error: dict[str, str], streaming: bool, category: str, stream_rejected: bool
) -> None:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx2.Response(status, request=request, json={"error": error})
    exception = openai.APIStatusError(f"Error code: {status} - {error['message']}", response=response, body=error)
    failure = classify_exception(exception, streaming=streaming, now=0.0)
    assert (failure.category, failure.stream_rejected, failure.status_code) == (category, stream_rejected, status)


def test_retry_after_accepts_seconds_milliseconds_and_http_dates() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    in_ten = format_datetime(now + timedelta(seconds=10), usegmt=True)
    assert parse_retry_after({"Retry-After": "4"}, now=now.timestamp()) == 4.0
    assert parse_retry_after({"retry-after-ms": "1500", "Retry-After": "9"}, now=now.timestamp()) == 1.5
    assert parse_retry_after({"Retry-After": in_ten}, now=now.timestamp()) == pytest.approx(10.0)
    assert parse_retry_after({"Retry-After": "soon"}, now=now.timestamp()) is None
    assert parse_retry_after({}, now=now.timestamp()) is None


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, rng) for n in range(1, 12)]
    assert 0.5 <= delays[0] <= 1.0 and 2.0 <= delays[2] <= 4.0
    assert all(delay <= BACKOFF_CAP_S for delay in delays)
    assert delays[-1] >= BACKOFF_CAP_S / 2


def test_run_budget_never_grants_more_requests_than_its_limit_across_threads() -> None:
    budget = RunBudget(max_requests=50)
    granted: list[int] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait(timeout=10)
        for _ in range(20):
            try:
                budget.reserve_request()
            except BudgetExceededError:
                continue
            granted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(granted) == 50
    assert budget.snapshot()["requests"] == 50


def test_run_budget_seeded_counters_carry_over_a_resume() -> None:
    budget = RunBudget(max_requests=3, used_requests=3)
    with pytest.raises(BudgetExceededError) as caught:
        budget.reserve_request()
    assert caught.value.code == "budget_exceeded"
    assert caught.value.details == {"limit": "max_requests", "used": 3, "max": 3}
