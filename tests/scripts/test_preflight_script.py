from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from scripts.preflight import main
from tests.conftest import REPO_ROOT


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_passing_preflight_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, "--needs", "url,subtitles")
    assert code == 0
    assert document["ok"] is True
    assert document["report"]["ok"] is True
    assert document["report"]["needs"] == ["url", "subtitles"]


def test_the_url_need_shows_the_js_runtime_ytdlp_accepts_and_ytdlps_age(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, "--needs", "url")
    assert code == 0
    checks = {check["name"]: check for check in document["report"]["checks"]}
    assert checks["js_runtime"]["ok"] is True
    assert checks["js_runtime"]["detail"].startswith("bundled deno ")
    assert "yt-dlp accepts it" in checks["js_runtime"]["detail"]
    assert "days old" in checks["ytdlp_release"]["detail"]


def test_required_llm_missing_is_a_json_error_carrying_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, "--needs", "url", "--require-llm")
    assert code == 1
    error = document["error"]
    assert error["code"] == "preflight_failed"
    assert "YTT_LLM_BASE_URL" in error["hint"]
    checks = {check["name"]: check for check in error["details"]["report"]["checks"]}
    assert checks["llm"]["ok"] is False and checks["llm"]["required"] is True


def test_unknown_need_exits_with_the_bad_input_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, "--needs", "url,nope")
    assert code == 2
    assert document["error"]["code"] == "unknown_preflight_need"


def test_command_line_failure_exits_non_zero_with_only_json_on_stdout() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.preflight", "--needs", "local_media,deepgram"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    document = json.loads(completed.stdout)
    assert document["error"]["code"] == "preflight_failed"
    failed = [
        c["name"] for c in document["error"]["details"]["report"]["checks"] if c["required"] and not c["ok"]
    ]
    assert failed == ["deepgram_key"]
