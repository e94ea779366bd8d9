"""The JavaScript runtime for YouTube's challenges: handed to yt-dlp explicitly (``js_runtimes``) and
checked with yt-dlp's own detection, offline."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import deno  # type: ignore[import-untyped]
import pytest

from kernel.config import ConfigError, load_settings
from kernel.source.ytdlp import _base_options, js_runtime_status
from kernel.source.ytdlp_runtime import bundled_deno_path, ytdlp_release_age_days, ytdlp_release_date
from tests.conftest import REPO_ROOT


def _fake_runtime(folder: Path, name: str, version_line: str) -> Path:
    script = folder / name
    script.write_text(f"#!/bin/sh\necho '{version_line}'\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_by_default_ytdlp_gets_the_deno_binary_of_the_deno_package(tmp_path: Path) -> None:
    settings = load_settings({"YTT_HOME": str(tmp_path)}, cwd=tmp_path)

    options = _base_options(settings)

    assert options["js_runtimes"] == {"deno": {"path": os.fsdecode(deno.find_deno_bin())}}
    assert bundled_deno_path() == options["js_runtimes"]["deno"]["path"]


def test_ytdlp_detects_the_bundled_deno_and_its_challenge_solver_accepts_it(tmp_path: Path) -> None:
    status = js_runtime_status(load_settings({"YTT_HOME": str(tmp_path)}, cwd=tmp_path))

    assert status.ok, status
    assert (status.choice.name, status.choice.label) == ("deno", "bundled deno")
    assert status.version == metadata.version("deno")  # what `deno --version` said to yt-dlp
    assert status.supported and status.accepted
    assert status.solver_scripts == "python package"  # yt-dlp-ejs, nothing downloaded


def test_the_bundled_runtime_is_found_with_nothing_on_path(tmp_path: Path) -> None:
    probe = ("from kernel.config import load_settings; from kernel.source.ytdlp import js_runtime_status; "
             "import json; s = js_runtime_status(load_settings()); "
             "print(json.dumps({'ok': s.ok, 'version': s.version, 'problem': s.problem}))")
    env = {"PATH": "", "YTT_HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}

    completed = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True,
                               text=True, timeout=120, check=False)

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {"ok": True, "version": metadata.version("deno"), "problem": None}


def test_a_runtime_of_ones_own_is_handed_over_with_its_path_and_checked_by_ytdlp(tmp_path: Path) -> None:
    node = _fake_runtime(tmp_path, "node", "v22.3.0")
    settings = load_settings({"YTT_HOME": str(tmp_path), "YTT_JS_RUNTIME": "node",
                              "YTT_JS_RUNTIME_PATH": str(node)}, cwd=tmp_path)

    options = _base_options(settings)
    status = js_runtime_status(settings)

    assert options["js_runtimes"] == {"node": {"path": str(node)}}  # only this runtime, not yt-dlp's default
    assert (status.version, status.supported, status.accepted) == ("22.3.0", True, True)
    assert status.choice.label == "node (configured path)"


def test_a_named_runtime_without_a_path_is_left_to_ytdlps_own_lookup(tmp_path: Path) -> None:
    settings = load_settings({"YTT_HOME": str(tmp_path), "YTT_JS_RUNTIME": "bun"}, cwd=tmp_path)

    assert _base_options(settings)["js_runtimes"] == {"bun": {"path": None}}


@pytest.mark.parametrize("env", [{"YTT_JS_RUNTIME_PATH": "/opt/node/bin/node"}, {"YTT_JS_RUNTIME": "rhino"}],
                         ids=["path-without-runtime", "unknown-runtime"])
def test_a_js_runtime_setting_ytdlp_cannot_use_is_a_config_error(env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"YTT_HOME": str(tmp_path), **env}, cwd=tmp_path)

    assert caught.value.code == "config_error"


@pytest.mark.parametrize(("version", "days"), [("2026.10.26", 36), ("2026.10.26.232748", 36),
                                               ("2026.12.24", 0), ("unknown", None)])
def test_ytdlps_age_is_read_from_its_dated_version(version: str, days: int | None) -> None:
    from datetime import date

    assert ytdlp_release_age_days(version, date(2026, 12, 1)) == days
    assert (ytdlp_release_date(version) is None) is (days is None)
