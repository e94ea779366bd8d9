"""Shared test set-up: every test gets its own YTT_HOME and no ambient secrets or LLM settings."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

_AMBIENT = [
    "YTT_CONFIG",
    "YTT_ALLOWED_ROOTS",
    "YTT_LLM_BASE_URL",
    "YTT_LLM_API_KEY",
    "YTT_LLM_MODEL",
    "YTT_LLM_PROFILE",
    "YTT_LLM_CONCURRENCY",
    "YTT_WHISPER_MODEL",
    "DEEPGRAM_API_KEY",
    "YTT_DEEPGRAM_BASE_URL",
    "YTT_PROXY",
    "YTT_COOKIES_FILE",
    "YTT_COOKIES_FROM_BROWSER",
    "YTT_JS_RUNTIME",
    "YTT_JS_RUNTIME_PATH",
    "YTT_REQUESTS_PER_SECOND",
    "YTT_CONCURRENCY",
    "YTT_EXECUTOR",
    "YTT_BROKER_URL",
    "YTT_PREFERRED_LANGUAGES",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ytt-home"
    home.mkdir()
    monkeypatch.setenv("YTT_HOME", str(home))
    for name in _AMBIENT:
        monkeypatch.delenv(name, raising=False)
    return home
