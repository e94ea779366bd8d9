"""Preflight contacts the LLM endpoint a run will use (one bounded request) and fails early, with the cause,
when it does not answer or does not know the model; a run then stops in preflight instead of retrying
every chunk against a dead endpoint."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from kernel.config import load_settings
from kernel.preflight import run_preflight
from tests.conftest import EXAMPLES, REPO_ROOT
from tests.fakes.openai_server import FakeOpenAIServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def llm_settings(tmp_path: Path, base_url: str, model: str = "fake-model") -> dict[str, str]:
    return {"YTT_HOME": str(tmp_path / "home"), "YTT_LLM_BASE_URL": base_url, "YTT_LLM_MODEL": model,
            "YTT_LLM_API_KEY": "test-key"}


def llm_check(tmp_path: Path, base_url: str, model: str = "fake-model") -> dict[str, object]:
    report = run_preflight(load_settings(llm_settings(tmp_path, base_url, model)), ["llm"], require_llm=True,
                           contact_llm=True)
    [check] = [c for c in report.checks if c.name == "llm"]
    return check.model_dump()


def test_a_reachable_endpoint_that_knows_the_model_passes(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        check = llm_check(tmp_path, server.base_url)
    assert check["ok"] and "answers" in str(check["detail"])


def test_an_unreachable_endpoint_fails_with_the_cause(tmp_path: Path) -> None:
    check = llm_check(tmp_path, f"http://127.0.0.1:{free_port()}/v1")
    assert not check["ok"] and "does not answer" in str(check["detail"])
    assert "{option:llm=none}" in str(check["hint"])


def test_an_unknown_model_fails_naming_the_models_offered(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        check = llm_check(tmp_path, server.base_url, model="gpt-nonexistent")
    assert not check["ok"] and "gpt-nonexistent" in str(check["detail"]) and "fake-model" in str(check["detail"])


def test_a_translate_run_against_a_dead_endpoint_stops_in_preflight_with_the_cause(tmp_path: Path) -> None:
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, tmp_path / name)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT),
           **llm_settings(tmp_path, f"http://127.0.0.1:{free_port()}/v1")}
    done = subprocess.run([sys.executable, "-m", "scripts.cli", "run", "sample.mp4", "--mode", "translate",
                           "--target-language", "de", "--json"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "preflight_failed" and "does not answer" in error["message"]
    assert "--llm none" in error["hint"] and "{option" not in error["hint"]
    assert not list((tmp_path / "home").rglob("llm_request*"))
