"""Source failures through the real CLI (``--json``): each has its own error code, a message naming the
URL and a hint, and a failure after something was downloaded keeps it for ``yt-transcript resume``.

URLs that are not http(s) or not well formed are refused before a run exists and before yt-dlp sees them.
yt-dlp failures fail the ``discover`` phase of a created run; the run records the classified code
(``inspect`` shows it as ``data.failure``). Retryable failures here answer ``Retry-After: 0`` so the
bounded retries cost no waiting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    SCRIPT,
    cli,
    environment,
    inspect_run,
    json_result,
    phase_table,
)
from tests.fakes.deepgram_server import FakeDeepgramServer
from tests.source.site import Site

NO_WAIT = {"Retry-After": "0"}


def error_code(document: dict[str, Any]) -> str:
    """The most specific error code of a failed command's JSON.

    A failed phase is reported as ``phase_failed`` wrapping the phase's own error; the classified code is
    then the innermost ``cause`` (``error.details.error.details.cause.code``).
    """
    error = document["error"]
    code = str(error["code"])
    nested = error
    while code == "phase_failed":
        details = nested.get("details") or {}
        nested = details.get("cause") or details.get("error")
        if not isinstance(nested, dict):
            break
        code = str(nested.get("code"))
    return code


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("file:///etc/passwd", "url_scheme_not_allowed"),
        ("ftp://example.com/talk.mp4", "url_scheme_not_allowed"),
        ("http://", "url_malformed"),
        ("https:// bad host/watch", "url_malformed"),
    ],
    ids=["file", "ftp", "no-host", "spaces"],
)
def test_a_url_that_is_not_http_or_not_well_formed_is_refused_before_a_run_is_created(
    url: str, code: str, tmp_path: Path
) -> None:
    env = environment(tmp_path)
    proc = cli("run", url, "--json", cwd=tmp_path, env=env)

    assert proc.returncode == 2, proc.stderr
    document = json_result(proc)
    assert document["ok"] is False and "run_id" not in document
    assert document["error"]["code"] == code
    assert document["error"]["hint"]
    assert proc.stderr.startswith(f"error[{code}]: ") and "Traceback" not in proc.stderr
    assert json_result(cli("runs", "--json", cwd=tmp_path, env=env))["runs"] == []


@pytest.mark.parametrize(
    ("path", "fault", "code", "requests"),
    [
        ("talk-no-media.html", None, "no_media", 1),
        ("status/404", None, "video_unavailable", 1),
        ("status/403", None, "forbidden", 1),
        ("status/401", None, "sign_in_required", 1),
        ("talk-with-tracks.html", 429, "rate_limited", 3),  # retried twice (bounded), then reported
        ("two-videos.html", None, "unsupported_url", 1),
    ],
    ids=["no-media", "404", "403", "401", "429", "playlist"],
)
def test_each_ytdlp_failure_fails_discovery_with_its_own_code_and_a_hint(
    path: str, fault: int | None, code: str, requests: int, talk_site: Site, tmp_path: Path
) -> None:
    if fault is not None:
        talk_site.fail(path, fault, headers=NO_WAIT)
    env = environment(tmp_path)
    url = talk_site.url(path)

    proc = cli("run", url, "--json", cwd=tmp_path, env=env)

    assert proc.returncode == 1, proc.stderr
    document = json_result(proc)
    assert document["ok"] is False
    assert error_code(document) == code
    assert url in document["error"]["message"]
    assert "Traceback" not in proc.stderr
    assert talk_site.count(path) == requests

    failure = inspect_run(document["run_id"], cwd=tmp_path, env=env)["data"]["failure"]
    assert (failure["phase"], failure["code"]) == ("discover", code)
    assert failure["hint"] and url in failure["message"]


def test_a_subtitle_download_that_keeps_failing_resumes_without_redoing_discovery_or_routing(
    talk_site: Site, tmp_path: Path
) -> None:
    env = environment(tmp_path)
    # A server error passes (unlike a refused subtitle file, which reroutes to speech recognition).
    talk_site.fail("talk.en.vtt", 503, headers=NO_WAIT)

    failed = cli("run", talk_site.url("talk-with-tracks.html"), "--output-dir", "out", "--json", cwd=tmp_path,
                 env=env)

    assert failed.returncode == 1, failed.stderr
    document = json_result(failed)
    assert error_code(document) == "download_failed"
    run_id = document["run_id"]
    before = inspect_run(run_id, cwd=tmp_path, env=env)
    assert (before["state"], before["data"]["failure"]["phase"]) == ("failed", "acquire")
    assert "reroute_to_asr" not in before["allowed_actions"]  # a passing server error is worth resuming
    assert talk_site.count("talk.en.vtt") == 9  # 3 bounded attempts, each with yt-dlp's own 2 retries

    talk_site.clear_faults()
    resumed = cli("resume", run_id, "--json", cwd=tmp_path, env=env)

    assert resumed.returncode == 0, resumed.stderr
    result = json_result(resumed)
    assert result["state"] == "completed"
    assert SCRIPT["cues"][3]["text"] in Path(result["outputs"]["markdown"]).read_text(encoding="utf-8")
    phases = phase_table(inspect_run(run_id, cwd=tmp_path, env=env, detail="phases"))
    assert {name: phases[name]["runs"] for name in ("preflight", "discover", "route", "acquire")} == {
        "preflight": 1, "discover": 1, "route": 1, "acquire": 2}
    assert all(phases[name]["skips"] >= 1 for name in ("discover", "route"))


def test_audio_downloaded_before_a_transcription_failure_is_not_downloaded_again_on_resume(
    talk_site: Site, tmp_path: Path
) -> None:
    with FakeDeepgramServer(api_key="dg-right-key") as deepgram:
        env = environment(tmp_path, YTT_DEEPGRAM_BASE_URL=deepgram.base_url)
        failed = cli("run", talk_site.url("talk-no-subs.html"), "--asr-backend", "deepgram", "--output-dir", "out",
                     "--json", cwd=tmp_path, env={**env, "DEEPGRAM_API_KEY": "dg-wrong-key"})

        assert failed.returncode == 1, failed.stderr
        document = json_result(failed)
        assert error_code(document) == "deepgram_auth"
        downloads = talk_site.count("talk.m4a")
        assert downloads >= 1

        resumed = cli("resume", document["run_id"], "--json", cwd=tmp_path,
                      env={**env, "DEEPGRAM_API_KEY": "dg-right-key"})

    assert resumed.returncode == 0, resumed.stderr
    assert json_result(resumed)["state"] in ("completed", "completed_degraded")
    assert talk_site.count("talk.m4a") == downloads
    phases = phase_table(inspect_run(document["run_id"], cwd=tmp_path, env=env, detail="phases"))
    assert (phases["acquire"]["runs"], phases["transcribe"]["runs"]) == (1, 2)


def test_resuming_a_run_a_sign_in_wall_stopped_tries_the_host_again(talk_site: Site, tmp_path: Path) -> None:
    env = environment(tmp_path)
    talk_site.fail("talk-with-tracks.html", 401)
    failed = cli("run", talk_site.url("talk-with-tracks.html"), "--output-dir", "out", "--json", cwd=tmp_path, env=env)
    assert failed.returncode == 1, failed.stderr
    run_id = json_result(failed)["run_id"]
    assert error_code(json_result(failed)) == "sign_in_required"
    # The wall stops requests to the host for everyone on this YTT_HOME: a second run sends nothing.
    other = cli("run", talk_site.url("talk-no-subs.html"), "--json", cwd=tmp_path, env=env)
    assert error_code(json_result(other)) == "sign_in_required" and talk_site.count("talk-no-subs.html") == 0

    talk_site.clear_faults()  # e.g. the user signed in (cookies) and resumes
    resumed = cli("resume", run_id, "--json", cwd=tmp_path, env=env)

    assert resumed.returncode == 0, resumed.stderr
    assert json_result(resumed)["state"] == "completed"
