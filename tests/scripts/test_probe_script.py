from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.probe import main
from tests.conftest import EXAMPLES, REPO_ROOT

EMBEDDED_MKV = EXAMPLES / "sample-embedded" / "sample.mkv"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object], str]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out), out


def test_local_file_gives_probe_info_and_tracks_in_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    code, document, raw = _run(capsys, str(EMBEDDED_MKV))

    assert code == 0
    assert document["ok"] is True
    probe, info, tracks = document["probe"], document["info"], document["tracks"]
    assert isinstance(probe, dict) and isinstance(info, dict) and isinstance(tracks, dict)
    assert probe["file_name"] == "sample.mkv"
    assert info["source"] == "sample.mkv"
    assert len(info["chapters"]) == 3
    assert tracks["subtitles"][0]["origin"] == "embedded"
    assert str(REPO_ROOT) not in raw


def test_url_is_refused_with_a_pointer_to_discover(capsys: pytest.CaptureFixture[str]) -> None:
    code, document, _ = _run(capsys, "https://www.youtube.com/watch?v=abc123")

    assert code == 2
    assert document["ok"] is False
    error = document["error"]
    assert isinstance(error, dict)
    assert error["code"] == "use_discover_for_urls"
    assert "scripts.discover" in error["hint"]


def test_missing_file_is_a_json_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, document, _ = _run(capsys, str(tmp_path / "missing.mp4"))

    assert code == 1
    error = document["error"]
    assert isinstance(error, dict)
    assert error["code"] == "media_not_found"


def test_command_line_prints_nothing_but_the_json_document(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.mkv"
    truncated.write_bytes(EMBEDDED_MKV.read_bytes()[:8000])

    completed = subprocess.run(
        [sys.executable, "-m", "scripts.probe", str(truncated)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 1
    assert json.loads(completed.stdout)["error"]["code"] == "media_unreadable"
