"""A real CLI process killed inside the chunk loop: resume re-sends only the unfinished chunks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from kernel.task_runtime.telemetry import read_events
from tests.conftest import REPO_ROOT
from tests.fakes.openai_server import FakeOpenAIServer

from .test_chunk_loop import SENTENCES, write_source


def cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def environment(tmp_path: Path, name: str, server: FakeOpenAIServer, **extra: str) -> tuple[dict[str, str], Path]:
    home = tmp_path / name
    home.mkdir()
    config = home / "config.toml"
    config.write_text(
        "[llm]\n"
        f'base_url = "{server.base_url}"\nmodel = "fake-model"\napi_key = "test-key"\n'
        "context_window = 2048\nmax_output_tokens = 512\nconcurrency = 1\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YTT_", "DEEPGRAM_"))}
    env.update(YTT_HOME=str(home), YTT_CONFIG=str(config), PYTHONPATH=str(REPO_ROOT), **extra)
    return env, home


def test_a_kill_in_the_chunk_loop_resends_only_unfinished_chunks_and_gives_the_same_article(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", SENTENCES)
    with FakeOpenAIServer() as server:
        env, home = environment(tmp_path, "reference", server)
        reference = cli("run", str(media), "--json", "--output-dir", str(home / "out"), cwd=tmp_path, env=env)
        assert reference.returncode == 0, reference.stderr
        expected = Path(json.loads(reference.stdout)["outputs"]["markdown"]).read_text(encoding="utf-8")

        env, home = environment(tmp_path, "crashed", server, YTT_CRASH_AT="chunk:2:committed")
        crashed = cli("run", str(media), "--json", "--output-dir", str(home / "out"), cwd=tmp_path, env=env)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        env.pop("YTT_CRASH_AT")
        run_id = json.loads(cli("runs", "--json", cwd=tmp_path, env=env).stdout)["runs"][0]["run_id"]
        resumed = cli("resume", run_id, "--json", cwd=tmp_path, env=env)
        assert resumed.returncode == 0, resumed.stderr

    result = json.loads(resumed.stdout)
    assert Path(result["outputs"]["markdown"]).read_text(encoding="utf-8") == expected
    events = read_events(Path(result["work_dir"]))
    requests_per_chunk = Counter(e["chunk_id"] for e in events if e["event"] == "llm_request")
    assert len(requests_per_chunk) >= 3
    assert set(requests_per_chunk.values()) == {1}, requests_per_chunk  # no finished chunk was sent again
    finished_before_crash = [e["chunk_id"] for e in events if e["event"] == "chunk_finished"][:2]
    assert all(requests_per_chunk[c] == 1 for c in finished_before_crash)


def quality_report(work_dir: Path) -> dict[str, object]:
    manifest = json.loads((work_dir / "manifest.json").read_text(encoding="utf-8"))
    return json.loads((work_dir / manifest["artifacts"]["quality.report"]["path"]).read_text(encoding="utf-8"))


def test_the_request_budget_and_usage_totals_carry_over_a_kill_and_resume(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", SENTENCES)
    with FakeOpenAIServer() as server:
        env, home = environment(tmp_path, "budget", server, YTT_CRASH_AT="chunk:2:committed")
        with (home / "config.toml").open("a", encoding="utf-8") as config:
            config.write("max_requests = 3\n")
        crashed = cli("run", str(media), "--json", "--output-dir", str(home / "out"), cwd=tmp_path, env=env)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        env.pop("YTT_CRASH_AT")
        run_id = json.loads(cli("runs", "--json", cwd=tmp_path, env=env).stdout)["runs"][0]["run_id"]
        resumed = cli("resume", run_id, "--json", "--accept-degraded", cwd=tmp_path, env=env)
        assert resumed.returncode == 0, resumed.stderr
        sent = len(server.requests)

    work_dir = Path(json.loads(resumed.stdout)["work_dir"])
    # Two requests before the kill and one after: the resumed process did not get a fresh budget of three.
    assert sent == 3
    events = read_events(work_dir)
    assert sum(1 for e in events if e["event"] == "llm_request") == 3
    assert [e["category"] for e in events if e["event"] == "llm_error"] == ["budget"]
    report = quality_report(work_dir)
    assert report["usage"]["requests"] == 3  # type: ignore[index]
    assert report["status"] == "degraded"
