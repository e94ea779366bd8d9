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


def test_a_legacy_encoded_file_is_detected_and_the_decoding_is_reported() -> None:
    code, document, _ = run_script("parse", str(FIXTURES / "subtitles" / "encodings" / "talk.fr.srt"))

    assert code == 0
    assert document["decoding"]["encoding"] == "cp1252"
    assert document["decoding"]["source"] == "detected" and document["decoding"]["confident"] is True
    assert document["segments"][0]["text"].startswith("« Bonjour à tous »")
    assert [issue["kind"] for issue in document["issues"]] == ["encoding_detected"]


def test_the_subtitle_encoding_option_and_its_short_alias_are_honoured(tmp_path: Path) -> None:
    path = tmp_path / "legacy.srt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nCafé\n".encode("cp1252"))

    for flag in ("--subtitle-encoding", "--encoding"):
        code, document, _ = run_script("parse", str(path), flag, "cp1252")
        assert code == 0
        assert document["decoding"] == {"encoding": "cp1252", "source": "caller", "confident": True,
                                        "language": None, "alternatives": []}


def test_damaged_cues_are_listed_with_their_lines_and_summed_up_as_warnings() -> None:
    code, document, _ = run_script("parse", str(FIXTURES / "subtitles" / "damaged.en.srt"))

    assert code == 0
    assert sorted(issue["kind"] for issue in document["issues"]) == ["end_before_start", "out_of_order",
                                                                     "timing_unreadable"]
    assert all(issue["file"] == "damaged.en.srt" and issue["line"] >= 1 for issue in document["issues"])
    assert len(document["warnings"]) == 3
    assert all(line.startswith("damaged.en.srt line ") for line in document["warnings"])


def test_a_binary_file_is_a_json_error_with_its_own_code(tmp_path: Path) -> None:
    code, document, _ = run_script("parse", str(FIXTURES / "subtitles" / "encodings" / "picture.en.srt"))

    assert code != 0
    assert document["error"]["code"] == "subtitle_not_text"
    assert document["error"]["hint"]


def test_bad_arguments_are_a_json_invalid_input_error() -> None:
    code, document, _ = run_script("parse", "x.vtt", "--format", "ass")

    assert code == 2
    assert document["ok"] is False
    assert document["error"]["code"] == "invalid_input"
