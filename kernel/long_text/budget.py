"""A run's LLM budget: request and token counters against optional limits.

Invariants:

- ``reserve_request`` is called before every request is sent and counts it; it refuses (raises
  ``RunBudgetExceededError``) instead of sending a request that would go past a limit. A request that
  was sent counts even if it failed: the provider may bill it.
- The token limit is checked against tokens already recorded plus the caller's estimate of the new
  request's prompt; completion tokens are only known afterwards, so one request may end slightly past
  the token limit, never more than one.
- Counters only grow; they can be seeded (``used_*`` arguments) so a resumed run keeps what it spent.
- All methods are thread-safe, so one budget can be shared by every concurrent chunk request.
"""

from __future__ import annotations

import threading

from kernel.long_text.errors import BudgetExceededError

_RAISE_HINT = (
    "raise the limit (llm.max_requests / llm.max_tokens_total in the config file or the run's TaskSpec) "
    "and resume, or accept the degraded result"
)


class RunBudgetExceededError(BudgetExceededError):
    """The next request would pass ``details['limit']`` (``max_requests`` or ``max_tokens_total``)."""


class RunBudget:
    """Thread-safe request/token counters for one run; ``None`` limits mean unlimited."""

    def __init__(
        self,
        *,
        max_requests: int | None = None,
        max_tokens_total: int | None = None,
        used_requests: int = 0,
        used_prompt_tokens: int = 0,
        used_completion_tokens: int = 0,
    ) -> None:
        self.max_requests = max_requests
        self.max_tokens_total = max_tokens_total
        self._requests = used_requests
        self._prompt_tokens = used_prompt_tokens
        self._completion_tokens = used_completion_tokens
        self._lock = threading.Lock()

    def reserve_request(self, estimated_prompt_tokens: int = 0) -> None:
        """Count one request about to be sent.

        Raises:
            RunBudgetExceededError: the request limit is reached, or the tokens used so far plus
                ``estimated_prompt_tokens`` would pass the token limit. Nothing is counted then.
        """
        with self._lock:
            if self.max_requests is not None and self._requests + 1 > self.max_requests:
                raise RunBudgetExceededError(
                    f"LLM request budget spent: {self._requests} of max_requests={self.max_requests} "
                    "requests already sent",
                    hint=_RAISE_HINT,
                    details={"limit": "max_requests", "used": self._requests, "max": self.max_requests},
                )
            used_tokens = self._prompt_tokens + self._completion_tokens
            if self.max_tokens_total is not None and used_tokens + estimated_prompt_tokens > self.max_tokens_total:
                raise RunBudgetExceededError(
                    f"LLM token budget spent: {used_tokens} tokens used, the next request needs about "
                    f"{estimated_prompt_tokens} more, max_tokens_total={self.max_tokens_total}",
                    hint=_RAISE_HINT,
                    details={
                        "limit": "max_tokens_total",
                        "used": used_tokens,
                        "requested": estimated_prompt_tokens,
                        "max": self.max_tokens_total,
                    },
                )
            self._requests += 1

    def record(self, prompt_tokens: int, completion_tokens: int) -> None:
        """Add the tokens a finished request used."""
        with self._lock:
            self._prompt_tokens += max(0, prompt_tokens)
            self._completion_tokens += max(0, completion_tokens)

    def snapshot(self) -> dict[str, int | None]:
        """Counters and limits, JSON-ready (for telemetry and the quality report)."""
        with self._lock:
            return {
                "requests": self._requests,
                "max_requests": self.max_requests,
                "prompt_tokens": self._prompt_tokens,
                "completion_tokens": self._completion_tokens,
                "tokens_total": self._prompt_tokens + self._completion_tokens,
                "max_tokens_total": self.max_tokens_total,
            }
