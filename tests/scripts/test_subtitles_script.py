"""``python -m scripts.subtitles parse``: one JSON document on stdout, JSON errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import FIXTURES, REPO_ROOT


def run_script(*args: str) -> tuple[int, dict[str, Any], str]:
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.subtitles", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed.returncode, json.loads(completed.stdout), completed.stderr


def test_parse_prints_segments_stats_and_usability_as_one_json_document() -> None:
    code, document, _ = run_script("parse", str(FIXTURES / "subtitles" / "youtube_auto.en.vtt"))

    assert code == 0
    assert document["ok"] is True
    assert document["file"] == "youtube_auto.en.vtt"
    assert document["format"] == "vtt"
    assert document["segments"][0] == {"start": 0.0, "end": 3.2, "text": "[Music]", "kind": "non_speech"}
    assert document["segments"][1]["words"][0] == {"start": 3.2, "end": 3.52, "text": "hey"}
    assert document["stats"]["speech_cues"] == 6
    assert document["usability"]["usable"] is True


def test_parse_honours_explicit_format_encoding_and_duration(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("1\r\n00:00:01,000 --> 00:00:03,000\r\nCafé au lait\r\n".encode("cp1252"))

    code, document, _ = run_script("parse", str(path), "--format", "srt", "--encoding", "cp1252", "--duration", "600")

    assert code == 0
    assert document["format"] == "srt"
    assert [s["text"] for s in document["segments"]] == ["Café au lait"]
    assert document["usability"]["usable"] is False  # 3 words over 10 minutes


def test_missing_file_is_a_json_error_with_a_non_zero_exit(tmp_path: Path) -> None:
    code, document, _ = run_script("parse", str(tmp_path / "missing.vtt"))

    assert code != 0
    assert document["ok"] is False
    assert document["error"]["code"] == "subtitle_not_found"


def test_non_utf8_file_is_a_json_error_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "legacy.srt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nCafé\n".encode("cp1252"))

    code, document, _ = run_script("parse", str(path))

    assert code != 0
    assert document["error"]["code"] == "subtitle_not_utf8"
    assert document["error"]["hint"]


def test_bad_arguments_are_a_json_invalid_input_error() -> None:
    code, document, _ = run_script("parse", "x.vtt", "--format", "ass")

    assert code == 2
    assert document["ok"] is False
    assert document["error"]["code"] == "invalid_input"
