"""Errors of the LLM text loop."""

from __future__ import annotations

from ..task_runtime.errors import YTTError


class LLMError(YTTError):
    """An LLM request failed in a way retries could not fix. ``details['category']`` classifies it."""

    code = "llm_error"


class BudgetExceededError(LLMError):
    """The run's request or token budget is spent; raise the budget or accept the degraded result."""

    code = "budget_exceeded"
