"""Speech recognition through the real CLI: Deepgram (real SDK, local fake service) with speakers, a
whisper run killed mid-transcription that resumes from its last window checkpoint, and the draft of the
text recognized so far growing window by window.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from tests.e2e.conftest import (
    SCRIPT_TEXT,
    cli,
    environment,
    files_containing,
    front_matter,
    inspect_run,
    json_result,
    word_recall,
)
from tests.fakes.deepgram_server import FakeDeepgramServer

DEEPGRAM_KEY = "dg-test-key-7f3a91c2e5"  # distinctive, so a leak anywhere is found by a byte search
DIALOGUE = [
    ("Welcome to this short update on our builds.", 0),
    ("Thanks. How long did a build take before?", 1),
    ("About 42 minutes, mostly downloading packages.", 0),
    ("And after the cache it took nine minutes?", 1),
]


@pytest.fixture
def speech(tmp_path: Path) -> Path:
    target = tmp_path / "talk.m4a"
    shutil.copy(EXAMPLES / "sample-speech" / "sample.m4a", target)
    return target


def test_a_deepgram_run_labels_both_speakers_in_the_article_and_subtitles_and_never_stores_the_key(
    speech: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with FakeDeepgramServer(api_key=DEEPGRAM_KEY, utterances=DIALOGUE) as deepgram:
        env = environment(home, DEEPGRAM_API_KEY=DEEPGRAM_KEY, YTT_DEEPGRAM_BASE_URL=deepgram.base_url)
        proc = cli("run", speech.name, "--route", "asr", "--asr-backend", "deepgram", "--output-dir", "out",
                   "--json", cwd=tmp_path, env=env)
        listened = deepgram.listen_requests(authorized_only=False)

    assert proc.returncode == 0, proc.stderr
    result = json_result(proc)
    assert result["state"] in ("completed", "completed_degraded")
    assert listened and all(request.authorized and request.status == 200 for request in listened)

    markdown = Path(result["outputs"]["markdown"]).read_text(encoding="utf-8")
    assert front_matter(markdown)["transcript_source"].startswith("deepgram (")
    assert "**Speaker 1:** Welcome to this short update on our builds." in markdown
    assert "**Speaker 2:** Thanks. How long did a build take before?" in markdown
    srt = Path(result["outputs"]["srt"]).read_text(encoding="utf-8")
    assert "[Speaker 1] Welcome" in srt and "[Speaker 2] Thanks." in srt
    vtt = Path(result["outputs"]["vtt"]).read_text(encoding="utf-8")
    assert "<v Speaker 1>Welcome" in vtt and "<v Speaker 2>Thanks." in vtt

    envelope = inspect_run(result["run_id"], cwd=tmp_path, env=environment(home))
    route = envelope["data"]["domain"]["route"]
    assert (route["route"], route["backend"]) == ("asr", "deepgram") and route["reasons"]
    work_dir = Path(result["work_dir"])
    assert (work_dir / "telemetry.jsonl").is_file()
    assert files_containing(work_dir, DEEPGRAM_KEY) == []
    assert files_containing(tmp_path / "out", DEEPGRAM_KEY) == []
    assert DEEPGRAM_KEY not in proc.stdout + proc.stderr


def test_a_run_killed_after_the_first_whisper_window_resumes_from_that_checkpoint(
    speech: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    config = tmp_path / "config.toml"
    config.write_text("[whisper]\nwindow_seconds = 15\n", encoding="utf-8")
    env = environment(home, YTT_CONFIG=str(config))

    crashed = cli("run", speech.name, "--route", "asr", "--output-dir", "out", "--json", cwd=tmp_path,
                  env={**env, "YTT_CRASH_AT": "asr:window:1:saved"})

    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    runs = json_result(cli("runs", "--json", cwd=tmp_path, env=env))["runs"]
    assert len(runs) == 1
    work_dir = Path(inspect_run(runs[0]["run_id"], cwd=tmp_path, env=env)["work_dir"])
    saved = [p.name for p in work_dir.rglob("whisper-w*.json")]
    assert len(saved) == 1 and saved[0].startswith("whisper-w0000-"), saved

    resumed = cli("resume", runs[0]["run_id"], cwd=tmp_path, env=env)  # with progress lines on stderr

    assert resumed.returncode == 0, resumed.stderr
    result = inspect_run(runs[0]["run_id"], cwd=tmp_path, env=env)
    assert result["state"] in ("completed", "completed_degraded")
    manifest = json.loads((work_dir / "manifest.json").read_text(encoding="utf-8"))
    transcribe = manifest["phases"]["transcribe"]
    assert transcribe["summary"]["windows_from_checkpoint"] == 1
    assert transcribe["summary"]["windows_total"] > 1
    assert transcribe["runs"] == 2  # interrupted once, then finished; the first window was not redone
    # Progress names only phases that run: the finished ones checked and skipped on resume never show.
    shown = {m.group(4) for line in resumed.stderr.splitlines() if (m := PROGRESS_LINE.match(line))}
    assert "transcribe" in shown and not shown & {"preflight", "discover", "route", "acquire"}, resumed.stderr
    markdown = Path(result["outputs"]["markdown"]).read_text(encoding="utf-8")
    assert word_recall(SCRIPT_TEXT, markdown.split("\n---\n", 1)[1]) >= 0.7


PROGRESS_LINE = re.compile(r"^progress: (\d+)%, (\d+)/(\d+) phases(?:, (\w+)(?: (\d+)%)?)?")


def test_speech_recognition_moves_the_bar_in_proportion_to_the_audio_done(speech: Path, tmp_path: Path) -> None:
    # Whisper windows of 15 s give several reports inside the one phase that takes most of the time.
    config = tmp_path / "config.toml"
    config.write_text("[whisper]\nwindow_seconds = 15\n", encoding="utf-8")
    env = environment(tmp_path / "home", YTT_CONFIG=str(config))

    proc = cli("run", speech.name, "--route", "asr", "--output-dir", "out", cwd=tmp_path, env=env)

    assert proc.returncode == 0, proc.stderr
    rows = [m.groups() for line in proc.stderr.splitlines() if (m := PROGRESS_LINE.match(line))]
    overall = [int(row[0]) for row in rows]
    assert overall == sorted(overall) and overall[-1] == 100, proc.stderr
    during = [(int(row[4]), int(row[0])) for row in rows if row[3] == "transcribe" and row[4] is not None]
    assert len(during) >= 2, proc.stderr
    # Within the phase the bar moves with the audio: each step of audio done moves it forward, and by
    # about the phase's share of the whole run (most of it, on a local whisper run without an LLM).
    assert all(b[1] > a[1] for a, b in pairwise(during) if b[0] > a[0])
    positions = [i for i, row in enumerate(rows) if row[3] == "transcribe"]
    started, after = int(rows[positions[0]][0]), int(rows[positions[-1] + 1][0])
    assert after - started >= 25, proc.stderr


def draft_page(run: str, *, cwd: Path, env: dict[str, str], cursor: int = 0) -> dict[str, Any]:
    """``yt-transcript inspect RUN --draft --cursor N --json``: the envelope's draft page."""
    proc = cli("inspect", run, "--draft", "--cursor", str(cursor), "--json", cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    envelope = json_result(proc)
    assert envelope["state"] == "transcribing" or envelope["data"]["draft"]["complete"], envelope["state"]
    page: dict[str, Any] = envelope["data"]["draft"]
    return page


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def test_the_draft_grows_window_by_window_while_whisper_runs_and_ends_as_the_transcript(
    speech: Path, tmp_path: Path
) -> None:
    # Three windows of about 15 s. Each run is killed as a window's checkpoint is saved, before that window
    # reaches the draft: first after one window, then (resumed: its finished windows come back from their
    # checkpoints first) after two. Every look at the draft falls inside the transcribe phase, whatever
    # the machine's speed.
    config = tmp_path / "config.toml"
    config.write_text("[whisper]\nwindow_seconds = 15\n", encoding="utf-8")
    env = environment(tmp_path / "home", YTT_CONFIG=str(config))
    seen: list[int] = []

    first = cli("run", speech.name, "--route", "asr", "--output-dir", "out", "--json", cwd=tmp_path,
                env={**env, "YTT_CRASH_AT": "asr:window:2:saved"})
    assert first.returncode == -signal.SIGKILL, first.stderr
    run_id = json_result(cli("runs", "--json", cwd=tmp_path, env=env))["runs"][0]["run_id"]
    early = draft_page(run_id, cwd=tmp_path, env=env)
    assert (early["complete"], early["windows_done"]) == (False, 1) and early["windows_total"] >= 3
    seen.append(early["segments_total"])

    second = cli("resume", run_id, cwd=tmp_path, env={**env, "YTT_CRASH_AT": "asr:window:1:saved"})
    assert second.returncode == -signal.SIGKILL, second.stderr
    grown = draft_page(run_id, cwd=tmp_path, env=env)
    new = draft_page(run_id, cwd=tmp_path, env=env, cursor=early["poll_cursor"])
    assert (grown["complete"], grown["windows_done"]) == (False, 2)
    seen.append(grown["segments_total"])
    assert grown["text"].startswith(early["text"])  # the regrown draft keeps what was read before
    # Polling from poll_cursor hands out only the words recognized since.
    assert new["cursor"] == early["poll_cursor"] and new["text"]
    assert words(new["text"]) == words(grown["text"])[len(words(early["text"])):]
    phases = {p["name"]: p["status"] for p in inspect_run(run_id, cwd=tmp_path, env=env)["phases"]}
    assert phases["transcribe"] != "succeeded"

    assert seen[0] > 0 and seen[1] > seen[0], seen
    finished = cli("resume", run_id, cwd=tmp_path, env=env)
    assert finished.returncode == 0, finished.stderr
    final = draft_page(run_id, cwd=tmp_path, env=env)
    assert final["complete"] and final["next_cursor"] is None
    assert final["status"].startswith("recognition finished: all ")
    work_dir = Path(inspect_run(run_id, cwd=tmp_path, env=env)["work_dir"])
    transcript = json.loads((work_dir / "artifacts" / "transcribe" / "segments.json").read_text(encoding="utf-8"))
    assert words(final["text"]) == words(" ".join(s["text"] for s in transcript["segments"]))
    assert final["segments_total"] == len(transcript["segments"])
