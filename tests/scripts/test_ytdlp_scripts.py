from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts import discover, download, route
from tests.conftest import FIXTURES, REPO_ROOT
from tests.source import site as local_site
from tests.source.site import SITE_FIXTURES, Site

site, site_root = local_site.site, local_site.site_root  # fixtures
YTDLP_FIXTURES = FIXTURES / "ytdlp"


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _run(capsys: pytest.CaptureFixture[str], main: Any, *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(list(argv))
    out = capsys.readouterr().out
    document: dict[str, Any] = json.loads(out)  # exactly one JSON document, nothing else
    return code, document


def test_discover_prints_info_and_tracks(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, discover.main, site.url("page-with-tracks.html"))

    assert code == 0 and document["ok"] is True
    assert document["info"]["source"] == site.url("page-with-tracks.html")
    assert [t["language"] for t in document["tracks"]["subtitles"]] == ["en", "de"]


def test_discover_reports_a_classified_failure_as_json(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, discover.main, site.url("status/404"))

    assert code == 1
    assert document["ok"] is False
    assert document["error"]["code"] == "video_unavailable"
    assert document["error"]["details"]["retryable"] is False
    assert document["error"]["hint"]


def test_discover_refuses_a_file_url_with_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, discover.main, "file:///etc/passwd")

    assert code == 2
    assert document["error"]["code"] == "url_scheme_not_allowed"


def test_discover_usage_errors_are_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, discover.main)

    assert code == 2
    assert document["error"]["code"] == "invalid_input"


def test_route_chooses_manual_subtitles_from_a_saved_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, route.main, str(YTDLP_FIXTURES / "youtube_german_was_live.json"), "--prefer", "en,de")

    assert code == 0
    decision = document["decision"]
    assert decision["route"] == "subtitles"
    assert (decision["track"]["kind"], decision["track"]["language"]) == ("manual", "en")
    assert decision["reasons"]


def test_route_without_captions_picks_the_requested_asr_backend(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, route.main, str(YTDLP_FIXTURES / "youtube_no_captions.json"),
                          "--backend", "deepgram")

    assert code == 0
    assert (document["decision"]["route"], document["decision"]["asr_backend"]) == ("asr", "deepgram")


def test_route_reports_no_usable_source_for_an_upcoming_stream(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, route.main, str(YTDLP_FIXTURES / "youtube_upcoming_live.json"))

    assert code == 1
    assert document["error"]["code"] == "no_usable_source"


@pytest.mark.parametrize(("content", "code"), [(None, "info_json_not_found"), ("{not json", "info_json_invalid"),
                                               ('["a list"]', "info_json_invalid")])
def test_route_rejects_missing_or_invalid_info_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, code: str
) -> None:
    path = tmp_path / "info.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    exit_code, document = _run(capsys, route.main, str(path))

    assert exit_code == 2
    assert document["error"]["code"] == code


def test_download_subtitles_in_a_chosen_language(site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "out"

    code, document = _run(capsys, download.main, site.url("page-with-tracks.html"), "--subtitles", "--lang", "de",
                          "--dest", str(dest))

    assert code == 0
    assert Path(document["path"]).read_text(encoding="utf-8") == (SITE_FIXTURES / "talk.de.vtt").read_text(
        encoding="utf-8")
    assert document["track"]["language"] == "de"


def test_download_subtitles_defaults_to_the_routed_track(site: Site, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, download.main, site.url("page-with-tracks.html"), "--subtitles",
                          "--dest", str(tmp_path / "out"))

    assert code == 0
    assert document["track"]["language"] == "en"  # the configured preferred language


def test_download_subtitles_in_a_missing_language_is_no_subtitles(site: Site, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, download.main, site.url("page-with-tracks.html"), "--subtitles", "--lang", "ja",
                          "--dest", str(tmp_path / "out"))

    assert code == 1
    assert document["error"]["code"] == "no_subtitles"


def test_a_refused_subtitle_file_is_reported_as_a_subtitle_block_with_the_way_out(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.fail("talk.en.vtt", 403)

    code, document = _run(capsys, download.main, site.url("page-with-tracks.html"), "--subtitles",
                          "--dest", str(tmp_path / "out"))

    assert code == 1
    assert document["error"]["code"] == "subtitles_forbidden"
    assert "transcribe the audio instead" in document["error"]["hint"]


def test_download_audio_writes_a_wav(site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, download.main, site.url("page-no-subs.html"), "--audio", "--dest", str(tmp_path / "a"))

    assert code == 0
    assert document["path"].endswith("audio.wav") and Path(document["path"]).is_file()


def test_download_needs_exactly_one_of_subtitles_or_audio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(capsys, download.main, "https://example.com/v", "--subtitles", "--audio",
                          "--dest", str(tmp_path))

    assert code == 2
    assert document["error"]["code"] == "invalid_input"


def test_discover_as_a_subprocess_prints_only_one_json_document(site: Site, tmp_path: Path) -> None:
    env = {**os.environ, "YTT_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-m", "scripts.discover", site.url("page-with-tracks.html")],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True


def test_route_given_a_folder_says_so_and_names_it(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    exit_code, document = _run(capsys, route.main, ".")

    assert exit_code == 2
    assert document["error"]["code"] == "info_json_invalid"
    assert document["error"]["message"] == ". is a folder, not an info JSON file"
    assert "details" not in document["error"] or "rendered_for_cli" not in document["error"]["details"]
