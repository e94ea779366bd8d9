from __future__ import annotations

from pathlib import Path

import pytest

from kernel.config import Settings, load_settings
from kernel.preflight import PreflightReport, run_preflight
from kernel.task_runtime.errors import InvalidInputError


def _settings(home: Path, **env: str) -> Settings:
    return load_settings(env={"YTT_HOME": str(home), **env}, cwd=home)


def _checks(report: PreflightReport) -> dict[str, bool]:
    return {check.name: check.ok for check in report.checks}


def test_url_path_checks_only_home_disk_and_yt_dlp(isolated_home: Path) -> None:
    report = run_preflight(_settings(isolated_home), ["url", "subtitles"])
    assert report.ok
    assert report.needs == ["url", "subtitles"]
    assert set(_checks(report)) == {"ytt_home", "disk_space", "yt_dlp"}


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
