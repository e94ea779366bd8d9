"""Helpers for end-to-end tests: the real ``yt-transcript`` CLI in a subprocess with a clean environment,
a local site publishing the bundled sample talk, and readers for the CLI's JSON and the run's files.

The CLI's environment never inherits ``YTT_*`` or ``DEEPGRAM_*`` settings from the outer shell: each call
names its own ``YTT_HOME`` and whatever else the test sets.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, REPO_ROOT
from tests.source.site import PageTrack, Site, serve_site, write_page

SCRIPT: dict[str, Any] = json.loads((EXAMPLES / "sample-script.json").read_text(encoding="utf-8"))
SCRIPT_TEXT = " ".join(cue["text"] for cue in SCRIPT["cues"])

# A German track for the talk page, so routing has to choose between two languages.
GERMAN_VTT = """WEBVTT

00:00:00.500 --> 00:00:04.766
Willkommen zu diesem kurzen Bericht darüber, wie unser Team seine Builds beschleunigt hat.

00:00:05.166 --> 00:00:11.465
Im März 2024 dauerte ein vollständiger Build unseres Hauptprojekts etwa 42 Minuten.
"""


def cli(*args: str, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``yt-transcript ARGS`` as a real process."""
    return subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def environment(home: Path, **extra: str) -> dict[str, str]:
    """The outer environment minus every ``YTT_*`` / ``DEEPGRAM_*`` variable, plus ``YTT_HOME`` and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YTT_", "DEEPGRAM_"))}
    env.update(YTT_HOME=str(home), PYTHONPATH=str(REPO_ROOT), **extra)
    return env


def json_result(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The one JSON object a ``--json`` command prints (anything else on stdout fails to parse)."""
    document = json.loads(proc.stdout)
    assert isinstance(document, dict)
    return document


def inspect_run(run: str, *, cwd: Path, env: dict[str, str], detail: str = "summary") -> dict[str, Any]:
    """``yt-transcript inspect RUN --json --detail DETAIL``: the inspect-run envelope."""
    proc = cli("inspect", run, "--json", "--detail", detail, cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    return json_result(proc)


def phase_table(envelope: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``inspect --json``'s phases by name (status, runs, skips, note)."""
    return {phase["name"]: phase for phase in envelope["phases"]}


def front_matter(markdown: str) -> dict[str, str]:
    """The article's front matter as ``key -> raw value`` (quotes removed)."""
    match = re.match(r"---\n(.*?)\n---\n", markdown, re.S)
    assert match, markdown[:200]
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip().strip("'\"")
    return fields


def content_words(text: str) -> set[str]:
    """Distinct lower-case words longer than three letters (digits kept), punctuation ignored."""
    return {w for w in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower()) if len(w) > 3}


def word_recall(expected: str, actual: str) -> float:
    """The share of ``expected``'s content words that occur in ``actual``."""
    wanted = content_words(expected)
    return len(wanted & content_words(actual)) / len(wanted)


def files_containing(folder: Path, needle: str) -> list[Path]:
    """Every file under ``folder`` whose bytes contain ``needle``."""
    data = needle.encode()
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and data in p.read_bytes()]


@pytest.fixture(scope="session")
def talk_site_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files for a site that publishes the sample talk (treat as read-only).

    Pages: ``talk-with-tracks.html`` (sample.mp4 with English and German ``<track>``s),
    ``talk-no-subs.html`` (sample.m4a, no tracks), ``talk-no-media.html`` (text only),
    ``two-videos.html`` (two ``<video>`` elements).
    """
    root = tmp_path_factory.mktemp("talk-site")
    shutil.copy(EXAMPLES / "sample-sidecar" / "sample.mp4", root / "talk.mp4")
    shutil.copy(EXAMPLES / "sample-sidecar" / "sample.en.vtt", root / "talk.en.vtt")
    shutil.copy(EXAMPLES / "sample-speech" / "sample.m4a", root / "talk.m4a")
    (root / "talk.de.vtt").write_text(GERMAN_VTT, encoding="utf-8")
    write_page(root, "talk-with-tracks.html", media="talk.mp4", title=SCRIPT["title"], tracks=[
        PageTrack("talk.en.vtt", "en", "English"), PageTrack("talk.de.vtt", "de", "Deutsch")])
    write_page(root, "talk-no-subs.html", media="talk.m4a", title=SCRIPT["title"], media_tag="audio")
    write_page(root, "talk-no-media.html", media=None, title="Just text")
    (root / "two-videos.html").write_text(
        '<html><body><video src="talk.mp4"></video><video src="talk.m4a"></video></body></html>', encoding="utf-8")
    return root


@pytest.fixture
def talk_site(talk_site_root: Path) -> Iterator[Site]:
    """The talk site, served fresh for one test (its own request log and faults)."""
    with serve_site(talk_site_root) as running:
        yield running
