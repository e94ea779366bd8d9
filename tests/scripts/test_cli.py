"""The ``yt-transcript`` CLI: real subprocesses on the bundled sample, and the toy pipeline in-process for
the interrupt path (a run held open at a phase so Ctrl-C lands mid-run deterministically)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from kernel.config import ConfigError, load_settings
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.api import ProgressCallback, RuntimeApi
from kernel.task_runtime.contracts import CommandEnvelope, Progress, RunState
from kernel.task_runtime.errors import (
    ActionNotAllowedError,
    InvalidInputError,
    PathNotAllowedError,
    RunNotFoundError,
)
from scripts import cli
from tests.conftest import EXAMPLES
from tests.scripts.test_cli_words import assert_cli_words
from tests.task_runtime.toy_pipeline import make_api


def yt_transcript(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, tmp_path / name)
    return tmp_path / "sample.mp4"


def assert_cli_error(proc: subprocess.CompletedProcess[str], code: str, exit_code: int) -> None:
    assert proc.returncode == exit_code, proc.stderr
    assert proc.stderr.startswith(f"error[{code}]: "), proc.stderr
    assert "Traceback" not in proc.stderr


def test_run_with_json_prints_one_object_and_publishes_every_output(sample: Path, tmp_path: Path) -> None:
    proc = yt_transcript("run", sample.name, "--output-dir", "out", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # exactly one JSON document: anything else fails to parse
    assert result["state"] in ("completed", "completed_degraded")
    assert {"markdown", "srt", "vtt", "json"} <= set(result["outputs"])
    assert all(Path(path).is_file() for path in result["outputs"].values())
    assert Path(result["outputs"]["markdown"]).parent == (tmp_path / "out").resolve()

    inspected = yt_transcript("inspect", result["run_id"], "--json", cwd=tmp_path)
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["state"] == result["state"]
    table = yt_transcript("inspect", result["work_dir"], "--detail", "phases", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert result["run_id"] in table.stdout and "assemble" in table.stdout
    runs = yt_transcript("runs", "--json", cwd=tmp_path)
    assert [run["run_id"] for run in json.loads(runs.stdout)["runs"]] == [result["run_id"]]


def test_run_without_json_prints_the_markdown_path_and_progress_on_stderr(sample: Path, tmp_path: Path) -> None:
    proc = yt_transcript("run", str(sample), "--no-llm", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    markdown = Path(proc.stdout.strip())
    assert markdown.suffix == ".md" and markdown.is_file()
    assert "progress:" in proc.stderr


def test_a_missing_source_file_is_reported_with_its_error_code(tmp_path: Path) -> None:
    proc = yt_transcript("run", "no-such-video.mp4", cwd=tmp_path)
    assert_cli_error(proc, "media_not_found", InvalidInputError.exit_code)


def test_a_directory_without_media_as_source_is_refused(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "notes.txt").write_text("no media here\n", encoding="utf-8")
    proc = yt_transcript("run", "videos", cwd=tmp_path)
    assert_cli_error(proc, "folder_has_no_media", InvalidInputError.exit_code)


def test_an_unknown_mode_is_a_usage_error(tmp_path: Path) -> None:
    proc = yt_transcript("run", "sample.mp4", "--mode", "summarize", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--mode" in proc.stderr and proc.stdout == ""


def test_a_source_outside_the_allowed_roots_is_refused(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "talk.mp4"
    shutil.copy(EXAMPLES / "sample-sidecar" / "sample.mp4", outside)
    proc = yt_transcript("run", str(outside), cwd=tmp_path)
    assert_cli_error(proc, "path_not_allowed", PathNotAllowedError.exit_code)


def test_an_unknown_run_is_reported_as_unknown_run_also_in_json(tmp_path: Path) -> None:
    proc = yt_transcript("inspect", "r20990101-000000-nosuch", "--json", cwd=tmp_path)
    assert_cli_error(proc, "unknown_run", RunNotFoundError.exit_code)
    assert json.loads(proc.stdout)["error"]["code"] == "unknown_run"


def test_an_invalid_config_file_is_an_error_not_a_traceback(tmp_path: Path, isolated_home: Path) -> None:
    (isolated_home / "config.toml").write_text("llm = [broken\n")
    proc = yt_transcript("runs", cwd=tmp_path)
    assert_cli_error(proc, "config_error", ConfigError.exit_code)


def test_an_unknown_llm_profile_names_the_profiles_the_config_file_has(
    sample: Path, tmp_path: Path, isolated_home: Path
) -> None:
    (isolated_home / "config.toml").write_text('[llm_profiles.local]\nbase_url = "http://127.0.0.1:9/v1"\n'
                                               'model = "m"\n')
    proc = yt_transcript("run", sample.name, "--llm-profile", "cloud", cwd=tmp_path)
    assert_cli_error(proc, "config_error", ConfigError.exit_code)
    assert "'cloud'" in proc.stderr and "local" in proc.stderr
    assert not any((isolated_home / "runs").glob("*"))  # no run was created


def test_a_budget_below_one_request_is_refused_before_a_run_is_created(sample: Path, tmp_path: Path) -> None:
    proc = yt_transcript("run", sample.name, "--max-llm-requests", "0", "--json", cwd=tmp_path)
    assert proc.returncode != 0
    error = json.loads(proc.stdout)["error"]
    assert "max_llm_requests" in error["message"]


def test_inspect_draft_prints_a_status_line_and_the_text_and_detail_draft_json_is_the_envelope(
    sample: Path, tmp_path: Path
) -> None:
    result = json.loads(yt_transcript("run", sample.name, "--output-dir", "out", "--json", cwd=tmp_path).stdout)

    shown = yt_transcript("inspect", result["run_id"], "--draft", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    status, _, text = shown.stdout.partition("\n\n")
    assert status.startswith("the transcript comes from subtitles (") and "\n" not in status
    segments = json.loads((Path(result["work_dir"]) / "artifacts/transcribe/segments.json").read_text("utf-8"))
    assert text.startswith(segments["segments"][0]["text"]) and "more:" not in text
    as_json = yt_transcript("inspect", result["run_id"], "--detail", "draft", "--json", "--cursor", "1", cwd=tmp_path)
    envelope = json.loads(as_json.stdout)
    assert envelope["run_id"] == result["run_id"] and envelope["data"]["detail"] == "draft"
    assert envelope["data"]["draft"]["cursor"] == 1 and envelope["data"]["draft"]["complete"] is True
    both = yt_transcript("inspect", result["run_id"], "--draft", "--detail", "chunks", cwd=tmp_path)
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_inspect_draft_of_a_run_that_has_not_started_says_what_it_is_doing_in_cli_words(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = build_runtime_api(load_settings(cwd=tmp_path))
    run_id = api.create_run({"source": str(sample)}).run_id

    assert cli.main(["inspect", run_id, "--draft"], api_factory=lambda: api) == 0
    out = capsys.readouterr().out
    assert out.startswith("nothing recognized yet: the run is created\nnext: ")
    assert f"`yt-transcript inspect {run_id} --draft` shows the words once they are recognized" in out
    assert_cli_words(out)


class InterruptingApi(RuntimeApi):
    """Raises KeyboardInterrupt in the waiting loop once the held phase is entered (a Ctrl-C mid-run)."""

    entered: threading.Event
    interrupted = False

    def advance_run(
        self,
        run_ref: str,
        *,
        action: str | None = None,
        wait_seconds: float | None = None,
        on_progress: ProgressCallback | None = None,
        args: dict[str, Any] | None = None,
    ) -> CommandEnvelope:
        def interrupting(progress: Progress) -> None:
            if not self.interrupted and self.entered.is_set():
                self.interrupted = True
                raise KeyboardInterrupt
            if on_progress is not None:
                on_progress(progress)

        return super().advance_run(
            run_ref, action=action, wait_seconds=wait_seconds, on_progress=interrupting, args=args
        )


def test_ctrl_c_pauses_the_run_and_resume_finishes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gate, entered = threading.Event(), threading.Event()
    toy, _ = make_api(tmp_path, block=gate, entered=entered)
    api = InterruptingApi(toy.pipeline, toy.settings, runs_root=toy.runs_root, allowed_roots=toy.allowed_roots)
    api.entered = entered
    run_id = api.create_run({"n": 2}).run_id

    # `resume` drives a fresh run exactly like `run` does; the toy pipeline has no media source.
    assert cli.main(["resume", run_id], api_factory=lambda: api) == cli.EXIT_INTERRUPTED
    assert f"yt-transcript resume {run_id}" in capsys.readouterr().err
    assert api.inspect_run(run_id).state == RunState.PAUSED

    gate.set()
    assert cli.main(["resume", run_id, "--json"], api_factory=lambda: api) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "completed"


def test_a_degraded_quality_gate_stops_with_exit_3_unless_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api, _ = make_api(tmp_path, limit=3)  # 2 4: the biggest number is over the limit, the gate is degraded
    run_id = api.create_run({"n": 2}).run_id
    assert cli.main(["resume", run_id, "--json"], api_factory=lambda: api) == 3
    stopped = capsys.readouterr()
    assert json.loads(stopped.out)["error"]["code"] == "run_stopped"
    assert f"yt-transcript finalize {run_id} --accept-degraded" in stopped.err
    assert cli.main(["resume", run_id, "--json", "--accept-degraded"], api_factory=lambda: api) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["state"] == "completed_degraded"
    assert len(result["warnings"]) == 1


def test_pause_and_cancel_commands_signal_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    assert cli.main(["pause", run_id], api_factory=lambda: api) == 0
    assert api.inspect_run(run_id).state == RunState.PAUSED
    assert cli.main(["cancel", run_id, "--json"], api_factory=lambda: api) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["state"] == "cancelled"
    assert cli.main(["finalize", run_id], api_factory=lambda: api) == ActionNotAllowedError.exit_code
    assert capsys.readouterr().err.startswith("error[action_not_allowed]")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_redrawn_bar_on_a_terminal_and_lines_elsewhere() -> None:
    progress = Progress(phases_done=3, phases_total=11, current_phase="acquire", phase_progress=0.5, fraction=0.3)
    terminal, log = _Terminal(), io.StringIO()
    for stream in (terminal, log):
        display = cli.ProgressDisplay.for_stream(stream, quiet=False)
        display.update(progress)
        display.update(progress)
        display.finish()
    assert terminal.getvalue().count("\r[") == 2 and terminal.getvalue().endswith("\n")
    assert log.getvalue() == "progress: 30%, 3/11 phases, acquire 50%\n"
    quiet = io.StringIO()
    cli.ProgressDisplay.for_stream(quiet, quiet=True).update(progress)
    assert quiet.getvalue() == ""
