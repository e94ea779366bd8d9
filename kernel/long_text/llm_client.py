"""The LLM client: one chat completion per call, over the openai SDK, with our own retry policy.

Invariants:

- The SDK's own retries are off (``max_retries=0``); this module owns the policy. Every failure is
  classified into a ``category`` and, when it reaches the caller, a ``remedy`` that tells the processing
  loop what to do with the chunk next:

  | category       | cause                                              | retried            | remedy  |
  | -------------- | -------------------------------------------------- | ------------------ | ------- |
  | rate_limit     | 429 (Retry-After / retry-after-ms, capped 120 s)   | yes                | retry   |
  | timeout        | no answer within ``timeout_seconds``; 408          | at most 2 times    | replan  |
  | server_error   | 5xx, error event inside a stream                   | yes                | retry   |
  | connection     | server unreachable, connection dropped             | yes                | retry   |
  | bad_output     | empty reply, no choices, unparseable body          | once               | repair  |
  | context_length | prompt does not fit (400 context_length_exceeded)  | no                 | replan  |
  | content_filter | finish_reason content_filter, 400 content policy   | no                 | stop    |
  | auth           | 401, 403, exhausted quota                          | no                 | stop    |
  | bad_request    | any other 4xx (unknown model, bad parameter)       | no                 | stop    |
  | budget         | the run's RunBudget refuses the next request       | no                 | stop    |

  ``stop`` for content_filter means "fall back to the deterministic text for this chunk"; for auth,
  bad_request and budget it means "no further request can succeed until the configuration changes".
  All retries of one call together never exceed ``profile.max_retries``.
- ``finish_reason == "length"`` is not an error: the result is returned and the verifier judges it.
- Streaming is used when ``profile.streaming``; if the server rejects it (a 4xx mentioning ``stream``)
  or answers a streaming request with something that is not SSE, the client switches to non-streaming
  for this call and every later one (the switch is not counted as a retry, but the extra request is).
  A streamed body is read to its end after ``[DONE]`` (briefly bounded), so its keep-alive connection
  serves the next request instead of being closed.
- Usage comes from the server; if it is missing it is estimated with ``count_tokens`` and the result
  says ``usage_estimated``.
- Safe for many concurrent asyncio tasks: counters change only between awaits. Rate limiting is
  reported through ``on_event`` (``category == "rate_limit"``) so the caller can lower its concurrency.
- The API key never appears in events, errors or results; server messages are redacted before use.
- TLS is verified as the SDK does by default; the context (the CA store) is loaded once per process and
  shared by every client (``shared_tls_context``).
- Waiting goes through the injected ``sleep``; jitter through the injected ``rng``.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import logging
import os
import random
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

import httpx2
import openai
from pydantic import BaseModel, ConfigDict

from kernel.config import LLMProfile
from kernel.long_text.budget import RunBudget
from kernel.long_text.errors import BudgetExceededError, LLMError
from kernel.long_text.tokens import count_tokens

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

logger = logging.getLogger(__name__)

Category = Literal[
    "rate_limit",
    "timeout",
    "context_length",
    "content_filter",
    "server_error",
    "bad_output",
    "auth",
    "budget",
    "connection",
    "bad_request",
]
Remedy = Literal["retry", "repair", "replan", "stop"]

REMEDIES: dict[Category, Remedy] = {
    "rate_limit": "retry",
    "timeout": "replan",
    "context_length": "replan",
    "content_filter": "stop",
    "server_error": "retry",
    "bad_output": "repair",
    "auth": "stop",
    "budget": "stop",
    "connection": "retry",
    "bad_request": "stop",
}
# Per-category retry caps inside one call (the overall cap is profile.max_retries). A timeout usually
# means the chunk is too slow for the server, so after two more tries replanning is the better fix.
_CATEGORY_RETRY_CAP: dict[Category, int] = {
    "rate_limit": 1_000,
    "server_error": 1_000,
    "connection": 1_000,
    "timeout": 2,
    "bad_output": 1,
}
_HINTS: dict[Category, str] = {
    "rate_limit": "the provider is rate limiting: lower llm.concurrency or retry the chunk later",
    "timeout": "the server did not answer within llm.timeout_seconds: replan with smaller chunks or raise the timeout",
    "context_length": "the prompt does not fit the model's context: replan with smaller chunks or set "
    "llm.context_window to the model's real size",
    "content_filter": "the provider refused this text: the chunk falls back to deterministic formatting",
    "server_error": "the LLM server failed: check it and retry the chunk",
    "connection": "could not reach the LLM server: check that it runs and that llm.base_url is right",
    "bad_output": "the model returned no usable text: repair or retry the chunk",
    "auth": "check YTT_LLM_API_KEY (or the profile's api_key) and the account's access and quota",
    "bad_request": "the server refused the request: check llm.model and llm.base_url",
    "budget": "raise the budget in the config or TaskSpec, or accept the degraded result",
}
_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "too many tokens",
    "context length",
    "context window",
    "context size",
    "prompt is too long",
)
_CONTENT_FILTER_MARKERS = ("content_filter", "content filter", "content policy", "content management policy")
_NO_KEY_PLACEHOLDER = "sk-no-key-required"
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0
MAX_WAIT_S = 120.0
DRAIN_TIMEOUT_S = 0.1  # reading the rest of a streamed body after [DONE] (the SDK's own stream waits as long)
_MESSAGE_OVERHEAD_TOKENS = 4


class CompletionResult(BaseModel):
    """One successful completion. ``attempts`` counts tries including the successful one."""

    model_config = ConfigDict(frozen=True)

    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    model: str
    streamed: bool
    attempts: int
    usage_estimated: bool = False


class LLMCallError(LLMError):
    """A call failed for good. ``category`` says why, ``remedy`` what to do with the chunk next.

    ``code`` is ``llm_<category>`` (``budget_exceeded`` for the budget); ``details`` repeats category,
    remedy, attempts and, when known, the HTTP status.
    """

    def __init__(
        self,
        message: str,
        *,
        category: Category,
        attempts: int,
        status_code: int | None = None,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.category: Category = category
        self.remedy: Remedy = REMEDIES[category]
        self.attempts = attempts
        self.status_code = status_code
        all_details: dict[str, Any] = {"category": category, "remedy": self.remedy, "attempts": attempts}
        if status_code is not None:
            all_details["status_code"] = status_code
        all_details.update(details or {})
        code = "budget_exceeded" if category == "budget" else f"llm_{category}"
        super().__init__(message, hint=hint or _HINTS[category], code=code, details=all_details)


class LLMBudgetError(LLMCallError, BudgetExceededError):
    """The run's budget refused the next request (also catchable as ``BudgetExceededError``)."""


class LLMNotConfiguredError(LLMError):
    """The LLM profile has no base_url or model."""

    code = "llm_not_configured"


@dataclass(frozen=True)
class Failure:
    """One failed attempt, classified. ``stream_rejected``: the server refused or broke streaming."""

    category: Category
    detail: str
    status_code: int | None = None
    retry_after_s: float | None = None
    stream_rejected: bool = False


class _AttemptFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


@dataclass
class _Reply:
    text: str
    finish_reason: str | None
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    streamed: bool


def parse_retry_after(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``Retry-After`` (seconds or HTTP-date); ``now`` is epoch."""
    lowered = {key.lower(): value for key, value in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = lowered.get(name)
        if raw is None:
            continue
        try:
            value = float(raw.strip())
        except ValueError:
            continue
        if value == value and value >= 0:  # rejects NaN and negatives
            return value / divisor
    raw_date = lowered.get("retry-after")
    if raw_date:
        try:
            when = email.utils.parsedate_to_datetime(raw_date.strip())
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, when.timestamp() - now)
    return None


def backoff_delay(retry_number: int, rng: random.Random) -> float:
    """Exponential backoff with jitter: base * 2^(n-1), capped, scaled by a factor in [0.5, 1)."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, retry_number - 1))
    return ceiling * (0.5 + rng.random() * 0.5)


def _mentions(text: str, markers: tuple[str, ...]) -> bool:
    return any(marker in text for marker in markers)


def classify_exception(exc: openai.OpenAIError, *, streaming: bool, now: float) -> Failure:
    """Map an SDK exception to a ``Failure``. Pure apart from reading the exception."""
    if isinstance(exc, openai.APITimeoutError):
        return Failure("timeout", "no answer before the timeout")
    if isinstance(exc, openai.APIConnectionError):
        return Failure("connection", f"connection failed: {exc.message}")
    if isinstance(exc, openai.APIResponseValidationError):
        return Failure("bad_output", "the reply is not a valid chat completion", status_code=exc.status_code)
    if not isinstance(exc, openai.APIError):
        return Failure("bad_output", f"{type(exc).__name__}: {exc}")
    status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
    text = f"{exc.code or ''} {exc.type or ''} {exc.message} {exc.body or ''}".lower()
    detail = exc.message
    if status == 429:
        if "insufficient_quota" in text:
            return Failure("auth", f"quota exhausted: {detail}", status_code=status)
        retry_after = (
            parse_retry_after(exc.response.headers, now=now) if isinstance(exc, openai.APIStatusError) else None
        )
        return Failure("rate_limit", detail, status_code=status, retry_after_s=retry_after)
    if status in (401, 403):
        return Failure("auth", detail, status_code=status)
    if status == 408:
        return Failure("timeout", detail, status_code=status)
    if status == 413 or _mentions(text, _CONTEXT_MARKERS):
        return Failure("context_length", detail, status_code=status)
    if _mentions(text, _CONTENT_FILTER_MARKERS) or (status == 400 and "policy" in text):
        return Failure("content_filter", detail, status_code=status)
    if status is None or status >= 500:
        return Failure("server_error", detail, status_code=status)
    if streaming and "stream" in text:
        return Failure("bad_request", detail, status_code=status, stream_rejected=True)
    return Failure("bad_request", detail, status_code=status)


def estimate_prompt_tokens(messages: list[dict[str, str]]) -> int:
    """Prompt size estimate used for budget checks and when the server reports no usage."""
    return sum(count_tokens(message.get("content", "")) + _MESSAGE_OVERHEAD_TOKENS for message in messages)


def _public_url(url: str) -> str:
    """``url`` without user:password, safe for messages."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def shared_tls_context() -> ssl.SSLContext:
    """The verifying TLS context the SDK would build for each client (system CA store, or
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), built once per process and per those two settings: loading the
    CA store takes about 20 ms, which every chunk pass and every titles request paid before connecting."""
    return _tls_context_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_context_for(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx2.create_ssl_context()  # reads the same two variables: the arguments key the cache


async def _read_to_end(lines: AsyncIterator[str]) -> None:
    """Read what follows ``[DONE]`` (the body's closing chunk) so the HTTP/1.1 connection goes back to the
    pool: a streamed response left unread is closed, and every later request would connect anew. Bounded by
    ``DRAIN_TIMEOUT_S``; the reply is complete already, so a failure here only costs the connection."""
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            async for _ in lines:
                pass
    except (TimeoutError, httpx2.HTTPError, httpx2.StreamError):
        pass


class LLMClient:
    """Async chat-completion client for one LLM profile; share one instance between concurrent tasks."""

    def __init__(
        self,
        profile: LLMProfile,
        *,
        budget: RunBudget | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Raises: LLMNotConfiguredError: the profile has no base_url or model."""
        if not profile.base_url or not profile.model:
            raise LLMNotConfiguredError(
                "no LLM is configured (llm.base_url and llm.model are required)",
                hint="set YTT_LLM_BASE_URL and YTT_LLM_MODEL, or choose a profile with YTT_LLM_PROFILE",
            )
        self.profile = profile
        self.model: str = profile.model
        self.budget = budget
        self._sleep = sleep
        self._on_event = on_event
        self._rng = rng or random.Random()
        self._api_key = profile.api_key.get_secret_value() if profile.api_key else ""
        self._public_base_url = _public_url(profile.base_url)
        self._streaming = profile.streaming
        self._client = openai.AsyncOpenAI(
            base_url=profile.base_url,
            api_key=self._api_key or _NO_KEY_PLACEHOLDER,
            timeout=profile.timeout_seconds,
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(
                base_url=profile.base_url, timeout=profile.timeout_seconds, verify=shared_tls_context()
            ),
        )
        self._usage: Counter[str] = Counter(
            requests=0, prompt_tokens=0, completion_tokens=0, retries=0, rate_limited=0, errors=0
        )

    @property
    def usage(self) -> dict[str, int]:
        """Totals since creation: requests, prompt_tokens, completion_tokens, retries, rate_limited, errors."""
        return dict(self._usage)

    @property
    def streaming(self) -> bool:
        """Whether the next call streams (false after the server refused streaming)."""
        return self._streaming

    async def aclose(self) -> None:
        await self._client.close()

    async def complete(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float | None = None
    ) -> CompletionResult:
        """Send one chat completion, retrying per the module's policy.

        Raises:
            LLMCallError: the call failed for good; ``category`` and ``remedy`` classify it.
            LLMBudgetError: the run's budget refused a request (an ``LLMCallError`` with category budget).
        """
        # Counting the prompt's tokens costs about a millisecond per request on the event loop; only a
        # token limit needs the estimate before sending (without one the server's usage is recorded).
        needs_estimate = self.budget is not None and self.budget.max_tokens_total is not None
        prompt_estimate = estimate_prompt_tokens(messages) if needs_estimate else 0
        retries_by_category: Counter[str] = Counter()
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                reply = await self._attempt(messages, max_tokens, temperature, prompt_estimate, attempt)
            except _AttemptFailed as failed:
                failure = failed.failure
                if failure.category == "rate_limit":
                    self._usage["rate_limited"] += 1
                cap = min(self.profile.max_retries, _CATEGORY_RETRY_CAP.get(failure.category, 0))
                if retries_by_category[failure.category] < cap and attempt <= self.profile.max_retries:
                    retries_by_category[failure.category] += 1
                    await self._wait_before_retry(failure, attempt)
                    continue
                raise self._final_error(failure, attempt) from None
            return self._succeed(reply, messages, attempt, time.monotonic() - started)

    async def _wait_before_retry(self, failure: Failure, attempt: int) -> None:
        if failure.retry_after_s is not None:
            wait_s = min(failure.retry_after_s, MAX_WAIT_S)
        else:
            wait_s = backoff_delay(attempt, self._rng)
        self._usage["retries"] += 1
        self._emit(
            {
                "event": "llm_retry",
                "category": failure.category,
                "wait_s": round(wait_s, 3),
                "attempt": attempt,
                "status_code": failure.status_code,
                "model": self.model,
            }
        )
        await self._sleep(wait_s)

    def _final_error(self, failure: Failure, attempt: int) -> LLMCallError:
        self._usage["errors"] += 1
        self._emit(
            {
                "event": "llm_error",
                "category": failure.category,
                "remedy": REMEDIES[failure.category],
                "wait_s": 0.0,
                "attempt": attempt,
                "status_code": failure.status_code,
                "model": self.model,
            }
        )
        message = (
            f"LLM request to {self._public_base_url} (model {self.model}) failed after {attempt} "
            f"attempt(s): {failure.category}: {self._redact(failure.detail)[:300]}"
        )
        return LLMCallError(message, category=failure.category, attempts=attempt, status_code=failure.status_code)

    def _succeed(
        self, reply: _Reply, messages: list[dict[str, str]], attempt: int, latency_s: float
    ) -> CompletionResult:
        prompt_tokens, completion_tokens, estimated = self._account(reply, messages)
        result = CompletionResult(
            text=reply.text,
            finish_reason=reply.finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=round(latency_s, 4),
            model=reply.model or self.model,
            streamed=reply.streamed,
            attempts=attempt,
            usage_estimated=estimated,
        )
        self._emit({"event": "llm_request", **result.model_dump(exclude={"text"})})
        return result

    def _account(self, reply: _Reply, messages: list[dict[str, str]]) -> tuple[int, int, bool]:
        """Add a reply's tokens to the totals and the budget; (prompt, completion, estimated)."""
        estimated = reply.prompt_tokens is None or reply.completion_tokens is None
        prompt_tokens = reply.prompt_tokens if reply.prompt_tokens is not None else estimate_prompt_tokens(messages)
        completion_tokens = reply.completion_tokens if reply.completion_tokens is not None else count_tokens(reply.text)
        self._usage["prompt_tokens"] += prompt_tokens
        self._usage["completion_tokens"] += completion_tokens
        if self.budget is not None:
            self.budget.record(prompt_tokens, completion_tokens)
        return prompt_tokens, completion_tokens, estimated

    async def _attempt(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        temperature: float | None,
        prompt_estimate: int,
        attempt: int,
    ) -> _Reply:
        self._reserve(prompt_estimate, attempt)
        reply: _Reply | None = None
        if self._streaming:
            try:
                reply = await self._send(messages, max_tokens, temperature, stream=True)
            except _AttemptFailed as failed:
                if not failed.failure.stream_rejected:
                    raise
                self._streaming = False
                self._emit({"event": "llm_stream_fallback", "reason": self._redact(failed.failure.detail)[:200]})
                self._reserve(prompt_estimate, attempt)
        if reply is None:
            reply = await self._send(messages, max_tokens, temperature, stream=False)
        if reply.finish_reason == "content_filter" or not reply.text.strip():
            self._account(reply, messages)  # an unusable answer still used (and may bill) tokens
            if reply.finish_reason == "content_filter":
                raise _AttemptFailed(Failure("content_filter", "finish_reason=content_filter"))
            raise _AttemptFailed(Failure("bad_output", f"empty reply (finish_reason={reply.finish_reason})"))
        return reply

    def _reserve(self, prompt_estimate: int, attempt: int) -> None:
        if self.budget is not None:
            try:
                self.budget.reserve_request(prompt_estimate)
            except BudgetExceededError as exc:
                self._usage["errors"] += 1
                self._emit(
                    {
                        "event": "llm_error",
                        "category": "budget",
                        "remedy": "stop",
                        "wait_s": 0.0,
                        "attempt": attempt,
                        "status_code": None,
                        "model": self.model,
                    }
                )
                raise LLMBudgetError(
                    exc.message, category="budget", attempts=attempt, hint=exc.hint, details=exc.details
                ) from None
        self._usage["requests"] += 1

    async def _send(
        self, messages: list[dict[str, str]], max_tokens: int, temperature: float | None, *, stream: bool
    ) -> _Reply:
        sdk_messages = cast("list[ChatCompletionMessageParam]", messages)
        temperature_value = self.profile.temperature if temperature is None else temperature
        try:
            if stream:
                return await self._send_streaming(sdk_messages, max_tokens, temperature_value)
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=sdk_messages,
                max_tokens=max_tokens,
                temperature=temperature_value,
                stream=False,
            )
        except openai.OpenAIError as exc:
            raise _AttemptFailed(classify_exception(exc, streaming=stream, now=time.time())) from None
        if not isinstance(completion, openai.types.chat.ChatCompletion) or not completion.choices:
            raise _AttemptFailed(Failure("bad_output", "the reply has no choices"))
        choice = completion.choices[0]
        usage = completion.usage
        return _Reply(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason,
            model=completion.model,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            streamed=False,
        )

    async def _send_streaming(
        self, messages: list[ChatCompletionMessageParam], max_tokens: int, temperature: float
    ) -> _Reply:
        # The SDK's typed stream builds a pydantic object per event (tens of ms per reply); reading the raw
        # SSE lines through ``with_streaming_response`` keeps the SDK's auth, URLs and error mapping and
        # costs a json.loads per event.
        async with self._client.chat.completions.with_streaming_response.create(
            model=self.model,
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            stream=True,
            stream_options={"include_usage": True},
        ) as response:
            content_type = response.headers.get("content-type", "")
            if "text/event-stream" not in content_type.lower():
                raise _AttemptFailed(
                    Failure(
                        "bad_request",
                        f"non-SSE reply to a streaming request ({content_type or 'none'})",
                        stream_rejected=True,
                    )
                )
            parts: list[str] = []
            finish_reason: str | None = None
            model = ""
            prompt_tokens: int | None = None
            completion_tokens: int | None = None
            lines = response.iter_lines()
            async for line in lines:
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    await _read_to_end(lines)
                    break
                try:
                    chunk = json.loads(payload)
                except json.JSONDecodeError:
                    raise _AttemptFailed(Failure("bad_output", "an unreadable event in the reply stream")) from None
                if not isinstance(chunk, dict):
                    continue
                if chunk.get("error"):
                    error = chunk["error"]
                    message = error.get("message") if isinstance(error, dict) else str(error)
                    raise _AttemptFailed(Failure("server_error", f"error in the reply stream: {message}"))
                model = chunk.get("model") or model
                usage = chunk.get("usage")
                if isinstance(usage, dict):
                    prompt_tokens = usage.get("prompt_tokens", prompt_tokens)
                    completion_tokens = usage.get("completion_tokens", completion_tokens)
                for choice in chunk.get("choices") or []:
                    if choice.get("index", 0) != 0:
                        continue
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        parts.append(content)
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
        return _Reply(
            text="".join(parts),
            finish_reason=finish_reason,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            streamed=True,
        )

    def _redact(self, text: str) -> str:
        if len(self._api_key) >= 4:
            text = text.replace(self._api_key, "***")
        return text

    def _emit(self, event: dict[str, Any]) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:  # a broken observer must not break the request
            logger.exception("on_event callback failed for %s", event.get("event"))
