from __future__ import annotations

import stat
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path

import pytest
from yt_dlp.version import __version__ as ytdlp_version

from kernel.config import Settings, load_settings
from kernel.preflight import PreflightCheck, PreflightReport, run_preflight, ytdlp_release_check
from kernel.source.ytdlp_runtime import bundled_deno_path, ytdlp_release_date
from kernel.task_runtime.errors import InvalidInputError

UPDATE_COMMAND = 'python -m pip install -U "yt-dlp[default]"'


def _settings(home: Path, **env: str) -> Settings:
    return load_settings(env={"YTT_HOME": str(home), **env}, cwd=home)


def _checks(report: PreflightReport) -> dict[str, bool]:
    return {check.name: check.ok for check in report.checks}


def _check(report: PreflightReport, name: str) -> PreflightCheck:
    return next(check for check in report.checks if check.name == name)


def _released() -> date:
    released = ytdlp_release_date(ytdlp_version)
    assert released is not None, ytdlp_version
    return released


def _fake_runtime(folder: Path, name: str, version_line: str) -> Path:
    """An executable that answers ``--version`` like a real runtime would (yt-dlp runs it to detect it)."""
    script = folder / name
    script.write_text(f"#!/bin/sh\necho '{version_line}'\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_url_path_checks_home_disk_yt_dlp_its_age_and_the_js_runtime(isolated_home: Path) -> None:
    report = run_preflight(_settings(isolated_home), ["url", "subtitles"])
    assert report.ok
    assert report.needs == ["url", "subtitles"]
    assert set(_checks(report)) == {"ytt_home", "disk_space", "yt_dlp", "ytdlp_release", "js_runtime"}
    assert not _check(report, "ytdlp_release").required and not _check(report, "js_runtime").required


def test_the_bundled_deno_is_reported_as_accepted_by_ytdlp_with_its_version(isolated_home: Path) -> None:
    report = run_preflight(_settings(isolated_home), ["url"])

    check = _check(report, "js_runtime")
    assert check.ok, check
    assert "bundled deno" in check.detail and metadata.version("deno") in check.detail  # yt-dlp ran it
    assert "python package" in check.detail  # the solver scripts come from yt-dlp-ejs
    deno = bundled_deno_path()
    assert deno is not None and str(Path(deno).parent) not in report.model_dump_json()


def test_a_js_runtime_too_old_for_ytdlp_is_reported_but_does_not_block_the_run(
    isolated_home: Path, tmp_path: Path
) -> None:
    node = _fake_runtime(tmp_path, "node", "v18.19.0")
    report = run_preflight(_settings(isolated_home, YTT_JS_RUNTIME="node", YTT_JS_RUNTIME_PATH=str(node)), ["url"])

    check = _check(report, "js_runtime")
    assert not check.ok and not check.required and report.ok
    assert "18.19.0" in check.detail and "22" in check.detail  # yt-dlp's own minimum for node
    assert check.hint and "YTT_JS_RUNTIME" in check.hint
    assert str(tmp_path) not in report.model_dump_json()


def test_a_js_runtime_that_cannot_be_run_is_reported(isolated_home: Path, tmp_path: Path) -> None:
    report = run_preflight(_settings(isolated_home, YTT_JS_RUNTIME="bun",
                                     YTT_JS_RUNTIME_PATH=str(tmp_path / "no-such-bun")), ["url"])

    check = _check(report, "js_runtime")
    assert not check.ok and "could not be run" in check.detail


def test_a_fresh_ytdlp_passes_and_a_stale_one_says_how_to_update(isolated_home: Path) -> None:
    fresh = run_preflight(_settings(isolated_home), ["url"], today=_released() + timedelta(days=10))
    stale = run_preflight(_settings(isolated_home), ["url"], today=_released() + timedelta(days=90))

    assert _check(fresh, "ytdlp_release").ok and "10 days old" in _check(fresh, "ytdlp_release").detail
    check = _check(stale, "ytdlp_release")
    assert not check.ok and not check.required and stale.ok  # informs, never blocks
    assert "90 days old" in check.detail and check.hint and UPDATE_COMMAND in check.hint


@pytest.mark.parametrize(("version", "age", "ok"), [("2026.01.05", 30, True), ("2026.01.05.232748", 30, True),
                                                    ("2025.10.01", 126, False), ("1.0.dev0", None, False)])
def test_ytdlp_release_age_comes_from_its_dated_version(version: str, age: int | None, ok: bool) -> None:
    check = ytdlp_release_check(version, date(2026, 2, 4))

    assert check.ok is ok
    assert (f"{age} days old" in check.detail) if age is not None else "unknown" in check.detail


def test_an_unsupported_browser_for_cookies_fails_the_ytdlp_check(isolated_home: Path) -> None:
    report = run_preflight(_settings(isolated_home, YTT_COOKIES_FROM_BROWSER="netscape"), ["url"])

    assert not report.ok
    check = _check(report, "yt_dlp")
    assert not check.ok and check.required and "netscape" in check.detail
    assert check.hint and "firefox" in check.hint


def test_local_whisper_path_checks_ffmpeg_pyav_and_the_bundled_model(isolated_home: Path) -> None:
    report = run_preflight(_settings(isolated_home), ["whisper", "local_media", "whisper"])
    assert report.ok, report.model_dump()
    assert report.needs == ["local_media", "whisper"]
    assert _checks(report) == {
        "ytt_home": True,
        "disk_space": _checks(report)["disk_space"],
        "ffmpeg": True,
        "pyav": True,
        "faster_whisper": True,
        "whisper_model": True,
    }
    assert not (isolated_home / "models").exists()  # the bundled model is checked, never built or loaded


def test_deepgram_without_a_key_fails_a_required_check_with_a_hint(isolated_home: Path) -> None:
    report = run_preflight(_settings(isolated_home), ["deepgram"])
    assert not report.ok
    failed = [check for check in report.checks if not check.ok and check.required]
    assert [check.name for check in failed] == ["deepgram_key"]
    assert failed[0].hint and "DEEPGRAM_API_KEY" in failed[0].hint


def test_deepgram_key_is_reported_present_but_never_shown(isolated_home: Path) -> None:
    secret = "dg-secret-value-123"
    report = run_preflight(_settings(isolated_home, DEEPGRAM_API_KEY=secret), ["deepgram"])
    assert _checks(report)["deepgram_key"] is True
    assert secret not in report.model_dump_json()


def test_missing_llm_is_only_informative_unless_required(isolated_home: Path) -> None:
    optional = run_preflight(_settings(isolated_home), ["url", "llm"])
    assert optional.ok and _checks(optional)["llm"] is False
    required = run_preflight(_settings(isolated_home), ["url"], require_llm=True)
    assert not required.ok
    assert [c.name for c in required.checks if c.required and not c.ok] == ["llm"]


def test_configured_llm_is_not_contacted_and_its_key_is_not_shown(isolated_home: Path) -> None:
    settings = _settings(
        isolated_home,
        YTT_LLM_BASE_URL="http://user:pw@127.0.0.1:9/v1",
        YTT_LLM_MODEL="tiny",
        YTT_LLM_API_KEY="sk-hidden",
    )
    report = run_preflight(settings, ["llm"], require_llm=True)
    assert report.ok  # port 9 has no server: a request would have failed
    dumped = report.model_dump_json()
    assert "sk-hidden" not in dumped and "pw" not in dumped


def test_missing_home_is_created_and_an_unusable_home_fails(tmp_path: Path) -> None:
    fresh = tmp_path / "new" / "home"
    assert run_preflight(_settings(fresh), []).ok
    assert fresh.is_dir()

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    report = run_preflight(_settings(blocker), [])
    assert not report.ok
    home_check = next(check for check in report.checks if check.name == "ytt_home")
    assert not home_check.ok and home_check.hint


def test_whisper_model_directory_without_model_bin_fails(isolated_home: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "my-model"
    model_dir.mkdir()
    report = run_preflight(_settings(isolated_home, YTT_WHISPER_MODEL=str(model_dir)), ["whisper"])
    assert _checks(report)["whisper_model"] is False and not report.ok
    assert str(tmp_path) not in report.model_dump_json()

    (model_dir / "model.bin").write_bytes(b"\0")
    report = run_preflight(_settings(isolated_home, YTT_WHISPER_MODEL=str(model_dir)), ["whisper"])
    assert _checks(report)["whisper_model"] is True


def test_unknown_need_is_refused(isolated_home: Path) -> None:
    with pytest.raises(InvalidInputError) as caught:
        run_preflight(_settings(isolated_home), ["url", "telepathy"])
    assert caught.value.code == "unknown_preflight_need"
