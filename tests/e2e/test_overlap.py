"""Speech recognition and the LLM overlapped, through the real CLI: the endpoint rewrites settled chunks while
recognition still runs, and the article is byte-identical to the one a sequential run makes; a run killed
during overlapped work resumes to that same article.

Recognition is the real Deepgram SDK against the local Deepgram-shaped server (one request per minute of
audio); the LLM is the real openai SDK against the local OpenAI-compatible server. The Deepgram server holds
its answers after the first 13 minutes until the test has seen an early chunk saved, so overlap is shown
without any timing assumption.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kernel.source.audio import ffmpeg_exe
from tests.e2e.conftest import cli, environment, json_result
from tests.fakes.deepgram_server import FakeDeepgramServer
from tests.fakes.openai_server import FakeOpenAIServer

MINUTES = 15  # 20 requests of 45 s (the parts are cut a quarter short of the 60 s maximum, at quiet points)
ANSWERED_BEFORE_HOLD = 17  # 12:45 recognized before the Deepgram server holds: the first section settles
UTTERANCES = [
    ("Ada Lovelace wrote the first published program for the Analytical Engine.", 0),
    ("Charles Babbage designed that engine but never finished building it.", 0),
    ("The program computed Bernoulli numbers with a loop of operations.", 0),
    ("Lovelace also saw that the engine could handle symbols, not only numbers.", 0),
    ("Babbage called her the enchantress of numbers in a letter.", 0),
    ("Her notes were three times longer than the paper she translated.", 0),
    ("Historians still argue about how much of the work was hers.", 0),
    ("Most agree that Note G holds the famous program.", 0),
    ("The Analytical Engine had a store and a mill, like memory and a processor.", 0),
    ("Punched cards, borrowed from the Jacquard loom, carried its instructions.", 0),
]
CONFIG = """
[deepgram]
max_part_seconds = 60

[llm]
context_window = 2048
max_output_tokens = 512
concurrency = 4
"""


def tone(media: Path, seconds: float) -> Path:
    """``seconds`` of a quiet tone at ``media``: the Deepgram-shaped server supplies the words."""
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=220:duration={seconds}",
                    "-ac", "1", "-ar", "16000", "-c:a", "aac", "-b:a", "32k", str(media)], check=True)
    return media


@pytest.fixture(scope="module")
def long_talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tone(tmp_path_factory.mktemp("media") / "lecture.m4a", MINUTES * 60)


@pytest.fixture
def servers() -> Iterator[tuple[FakeDeepgramServer, FakeOpenAIServer]]:
    with FakeDeepgramServer(utterances=UTTERANCES) as deepgram, FakeOpenAIServer() as llm:
        yield deepgram, llm


def run_env(home: Path, deepgram: FakeDeepgramServer, llm: FakeOpenAIServer, **extra: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(CONFIG, encoding="utf-8")
    return environment(home, YTT_DEEPGRAM_BASE_URL=deepgram.base_url, DEEPGRAM_API_KEY="test-deepgram-key",
                       YTT_LLM_BASE_URL=llm.base_url, YTT_LLM_API_KEY="test-key", YTT_LLM_MODEL="fake-model",
                       **extra)


def run_args(media: Path, out: Path) -> list[str]:
    return ["run", str(media), "--asr-backend", "deepgram", "--output-dir", str(out), "--json"]


def start(media: Path, out: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "scripts.cli", *run_args(media, out)], cwd=media.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def only_run(home: Path) -> Path:
    runs = [p for p in (home / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def wait_for_early_answer(home: Path, process: subprocess.Popen[str], timeout: float = 180) -> None:
    """Until a chunk answered during recognition is saved (or the process ends)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        runs = list((home / "runs").glob("*/chunks/early/*.json"))
        if any(json.loads(p.read_text(encoding="utf-8")).get("status") == "succeeded" for p in runs):
            return
        time.sleep(0.1)
    raise AssertionError(f"no early chunk was saved (exit {process.poll()})")


def article(out: Path) -> bytes:
    (markdown,) = sorted(out.glob("*.md"))
    return markdown.read_bytes()


def telemetry(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "telemetry.jsonl").read_text(encoding="utf-8").splitlines()]


def llm_requests(events: list[dict[str, Any]]) -> int:
    return sum(1 for e in events if e["event"] == "llm_request")


@dataclass(frozen=True)
class Sequential:
    article: bytes
    llm_requests: int


@pytest.fixture
def sequential(long_talk: Path, servers: tuple[FakeDeepgramServer, FakeOpenAIServer], tmp_path: Path) -> Sequential:
    deepgram, llm = servers
    home = tmp_path / "sequential"
    out = home / "out"
    done = cli(*run_args(long_talk, out), cwd=long_talk.parent, env=run_env(home, deepgram, llm, YTT_OVERLAP="false"))
    assert done.returncode == 0, done.stderr
    events = telemetry(only_run(home))
    assert not any(e["event"] in ("early_chunk_finished", "early_chunks_adopted") for e in events)
    return Sequential(article(out), llm_requests(events))


def test_an_overlapped_run_writes_the_same_article_as_a_sequential_one(
    long_talk: Path, servers: tuple[FakeDeepgramServer, FakeOpenAIServer], sequential: Sequential, tmp_path: Path
) -> None:
    deepgram, llm = servers
    home = tmp_path / "overlapped"
    out = home / "out"
    deepgram.hold_answers(after=ANSWERED_BEFORE_HOLD, seconds=120)
    process = start(long_talk, out, run_env(home, deepgram, llm))
    wait_for_early_answer(home, process)
    deepgram.release_answers()
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert json.loads(stdout)["state"] == "completed"

    events = telemetry(only_run(home))
    transcribed = next(e for e in events if e["event"] == "phase_succeeded" and e.get("phase") == "transcribe")
    early = [e for e in events if e["event"] == "early_chunk_finished"]
    assert early and all(e["ts"] < transcribed["ts"] for e in early)  # answered while recognition ran
    adopted = sum(e["chunks"] for e in events if e["event"] == "early_chunks_adopted")
    assert adopted == len(early)  # every early answer was the answer to a chunk of the final plan
    assert llm_requests(events) == sequential.llm_requests  # and nothing was asked twice
    assert article(out) == sequential.article


def test_a_run_killed_during_overlapped_work_resumes_to_the_same_article(
    long_talk: Path, servers: tuple[FakeDeepgramServer, FakeOpenAIServer], sequential: Sequential, tmp_path: Path
) -> None:
    deepgram, llm = servers
    home = tmp_path / "killed"
    out = home / "out"
    deepgram.hold_answers(after=ANSWERED_BEFORE_HOLD, seconds=120)
    crashed = start(long_talk, out, run_env(home, deepgram, llm, YTT_CRASH_AT="early_chunk:1:committed"))
    _, stderr = crashed.communicate(timeout=300)
    assert crashed.returncode < 0, stderr  # killed at the crash point, with recognition unfinished
    deepgram.release_answers()
    run_dir = only_run(home)
    assert list((run_dir / "chunks" / "early").glob("*.json"))

    resumed = cli("resume", run_dir.name, "--json", cwd=long_talk.parent, env=run_env(home, deepgram, llm))
    assert resumed.returncode == 0, resumed.stderr
    assert json_result(resumed)["state"] == "completed"
    assert article(out) == sequential.article
