"""The draft grows while speech recognition runs: the real CLI recognizes a talk through the real Deepgram SDK
against the local Deepgram-shaped server, which answers one part at a time when the test lets it; between
two answers the test reads ``inspect RUN --draft`` and sees the text recognized so far, and only that."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import cli
from tests.e2e.test_overlap import UTTERANCES, run_env, tone
from tests.fakes.deepgram_server import FakeDeepgramServer
from tests.fakes.openai_server import FakeOpenAIServer

SECONDS = 135  # three parts of 45 s


SPEAKER_LABEL = re.compile(r"Speaker \d+: ")


def draft(run_id: str, home: Path, env: dict[str, str], cursor: int = 0) -> dict[str, Any]:
    """``yt-transcript inspect RUN --draft --json``: the draft page, with the run's state beside it."""
    shown = cli("inspect", run_id, "--draft", "--cursor", str(cursor), "--json", cwd=home, env=env)
    assert shown.returncode == 0, shown.stderr
    envelope = json.loads(shown.stdout)
    page: dict[str, Any] = envelope["data"]["draft"]
    return {**page, "state": envelope["state"], "words_list": SPEAKER_LABEL.sub("", page["text"]).split()}


def wait_for_windows(run_id: str, home: Path, env: dict[str, str], windows: int, process: subprocess.Popen[str],
                     timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        envelope = draft(run_id, home, env)
        if (envelope.get("windows_done") or 0) >= windows:
            return envelope
        time.sleep(0.2)
    raise AssertionError(f"the draft did not reach {windows} window(s)")


def test_the_draft_grows_part_by_part_while_recognition_runs(tmp_path: Path) -> None:
    media = tone(tmp_path / "talk.m4a", SECONDS)
    home = tmp_path / "home"
    with FakeDeepgramServer(utterances=UTTERANCES) as deepgram, FakeOpenAIServer() as llm:
        env = run_env(home, deepgram, llm)
        deepgram.hold_answers(after=1, seconds=120)
        process = subprocess.Popen([sys.executable, "-m", "scripts.cli", "run", str(media), "--asr-backend", "deepgram",
                                    "--llm", "none", "--output-dir", str(home / "out"), "--json"],
                                   cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert deepgram.wait_until_held(timeout=120), "the second part was never asked for"
        (run_dir,) = (home / "runs").iterdir()

        first = wait_for_windows(run_dir.name, home, env, 1, process)
        assert first["state"] == "transcribing" and first["complete"] is False
        first_words = first["words_list"]
        assert first_words[:3] == UTTERANCES[0][0].split()[:3]

        deepgram.allow_more(1)
        second = wait_for_windows(run_dir.name, home, env, 2, process)
        assert second["state"] == "transcribing" and second["complete"] is False
        assert len(second["words_list"]) > len(first_words)
        assert second["words_list"][: len(first_words)] == first_words  # it grew; nothing before changed
        new_words = draft(run_dir.name, home, env, cursor=first["poll_cursor"])["words_list"]
        assert second["words_list"] == first_words + new_words  # polling from poll_cursor gives only the new words

        deepgram.release_answers()
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    final = draft(run_dir.name, home, env)
    assert final["complete"] is True
    segments = json.loads((run_dir / "artifacts" / "transcribe" / "segments.json").read_text(encoding="utf-8"))
    spoken = " ".join(s["text"] for s in segments["segments"] if s.get("kind", "speech") == "speech").split()
    assert final["words_list"] == spoken
