"""The watch folder through the real CLI: a file copied in slow pieces is processed once, after it is complete;
a broken file is tried N times, then marked failed and left alone; ``.scan_now`` triggers a rescan; SIGTERM
stops the watcher cleanly."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kernel.source.local import local_source_id
from tests.e2e.conftest import environment
from tests.pipeline.batch.conftest import SIDECAR, TONE

STABLE_SECONDS = 3.0
MAX_FAILURES = 2


def wait_for(condition: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def file_state(folder: Path, name: str) -> dict[str, Any] | None:
    for path in (folder / ".yt-transcript" / "files").glob("*.json"):
        state = json.loads(path.read_text(encoding="utf-8"))
        if state["path"] == name:
            return state  # type: ignore[no-any-return]
    return None


def runs_for(home: Path, source: Path) -> list[Path]:
    found = []
    for task in sorted(home.glob("runs/*/.runtime_task.json")):
        if json.loads(task.read_text(encoding="utf-8"))["params"].get("source") == str(source):
            found.append(task.parent)
    return found


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        f"[batch]\nwatch_stable_seconds = {STABLE_SECONDS}\nwatch_rescan_seconds = 600\n"
        f"watch_max_failures = {MAX_FAILURES}\nwatch_failure_cooldown_seconds = 0.5\n", encoding="utf-8")

    def start(folder: Path, *extra: str) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-m", "scripts.cli", "watch", str(folder), "--output-dir",
                                    str(tmp_path / "out"), *extra], cwd=tmp_path, env=environment(home),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_a_slowly_copied_file_is_processed_once_after_it_is_complete_and_a_broken_file_is_left_alone(
        tmp_path: Path, watch: Callable[..., subprocess.Popen[str]]) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher = watch(inbox)
    shutil.copyfile(SIDECAR, inbox / "lecture.en.vtt")
    data = TONE.read_bytes()
    target = inbox / "lecture.m4a"
    with target.open("wb") as handle:  # copied in slow pieces, each well within the stable time
        for start in range(0, len(data), len(data) // 4 + 1):
            handle.write(data[start:start + len(data) // 4 + 1])
            handle.flush()
            time.sleep(0.5)
    (inbox / "broken.m4a").write_bytes(b"this is not media at all " * 40)

    done = wait_for(lambda: (s := file_state(inbox, "lecture.m4a")) and s["status"] == "done" and s)
    assert Path(done["outputs"]["markdown"]).is_file()
    home = tmp_path / "home"
    runs = runs_for(home, target)
    assert len(runs) == 1  # processed once...
    info = json.loads(next(runs[0].glob("artifacts/discover/*info*.json")).read_text(encoding="utf-8"))
    assert info["id"] == local_source_id(target)  # ...and only once it was complete

    failed = wait_for(lambda: (s := file_state(inbox, "broken.m4a")) and s["status"] == "failed" and s)
    assert failed["failures"] == MAX_FAILURES and failed["error"]["code"]
    (inbox / ".scan_now").touch()
    wait_for(lambda: not (inbox / ".scan_now").exists())
    time.sleep(STABLE_SECONDS + 1)
    assert len(runs_for(home, inbox / "broken.m4a")) == MAX_FAILURES  # left alone
    assert len(runs_for(home, target)) == 1

    watcher.send_signal(signal.SIGTERM)
    out, err = watcher.communicate(timeout=90)
    assert watcher.returncode == 0, err
    assert "done=1" in out and "failed=1" in out


def test_scan_now_finds_a_file_no_event_reported(tmp_path: Path, watch: Callable[..., subprocess.Popen[str]]) -> None:
    inbox = tmp_path / "share"
    inbox.mkdir()
    watcher = watch(inbox, "--no-events")
    assert watcher.stderr is not None
    assert "watching" in watcher.stderr.readline()
    time.sleep(1.0)  # the start-up scan is over: only a rescan can find what comes now
    shutil.copyfile(SIDECAR, inbox / "talk.en.vtt")
    shutil.copyfile(TONE, inbox / "talk.m4a")
    time.sleep(STABLE_SECONDS + 1.5)
    assert file_state(inbox, "talk.m4a") is None  # no events, no periodic rescan yet: not seen
    (inbox / ".scan_now").touch()
    done = wait_for(lambda: (s := file_state(inbox, "talk.m4a")) and s["status"] == "done" and s)
    assert not (inbox / ".scan_now").exists()
    assert Path(done["outputs"]["markdown"]).is_file()
    watcher.send_signal(signal.SIGINT)
    watcher.communicate(timeout=90)
    assert watcher.returncode == 0


def test_a_file_whose_outputs_exist_or_that_has_a_subtitle_in_the_target_language_is_skipped_and_says_so(
        tmp_path: Path, watch: Callable[..., subprocess.Popen[str]]) -> None:
    inbox, german_inbox = tmp_path / "inbox", tmp_path / "german-inbox"
    for folder, name in ((inbox, "done"), (german_inbox, "german")):
        folder.mkdir()
        shutil.copyfile(SIDECAR, folder / f"{name}.en.vtt")
        shutil.copyfile(TONE, folder / f"{name}.m4a")
    (german_inbox / "german.de.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHallo.\n", encoding="utf-8")
    first = subprocess.run([sys.executable, "-m", "scripts.cli", "run", str(inbox / "done.m4a"), "--output-dir",
                            str(tmp_path / "out")], cwd=tmp_path, env=environment(tmp_path / "home"),
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    watcher = watch(inbox)
    done = wait_for(lambda: (s := file_state(inbox, "done.m4a")) and s["status"] == "skipped" and s)
    assert "outputs exist" in done["reason"]
    watcher.send_signal(signal.SIGTERM)
    _, err = watcher.communicate(timeout=90)
    assert "skipped: done.m4a: its outputs exist" in err
    assert len(runs_for(tmp_path / "home", inbox / "done.m4a")) == 1

    translating = watch(german_inbox, "--mode", "translate", "--target-language", "de", "--llm", "agent")
    german = wait_for(lambda: (s := file_state(german_inbox, "german.m4a")) and s["status"] == "skipped" and s)
    assert "subtitle in de" in german["reason"]
    assert runs_for(tmp_path / "home", german_inbox / "german.m4a") == []
    translating.send_signal(signal.SIGTERM)
    translating.communicate(timeout=90)
