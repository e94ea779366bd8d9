"""The one next step on the real yt-transcript pipeline: in each situation a user meets (a fresh run, a
passed gate, a gate degraded by fallback chunks, a permanent failure, a pause, a pending cancel) the next
step says exactly what advance-run does, and the MCP and CLI renderings name only their own vocabulary."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.task_runtime import control
from kernel.task_runtime.api import RuntimeApi
from scripts.cli import cli_next_step
from server.schemas import render_next_step
from tests.conftest import EXAMPLES
from tests.fakes.openai_server import FakeOpenAIServer
from tests.long_text.test_chunk_loop import SENTENCES, write_source
from tests.long_text.test_chunk_loop import make_api as make_llm_api
from tests.task_runtime.test_next_step import assert_next_step_is_what_advance_does


def sidecar_api(tmp_path: Path) -> tuple[RuntimeApi, Path]:
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, tmp_path / name)
    return build_runtime_api(load_settings({"YTT_HOME": str(tmp_path / "home")}, cwd=tmp_path)), tmp_path / "sample.mp4"


def assert_renderings_speak_their_own_words(api: RuntimeApi, run_id: str) -> None:
    view = api.inspect_run(run_id)
    mcp = render_next_step(view.next_step, run_id, view.state)
    cli = cli_next_step(view.next_step, run_id)
    assert "yt-transcript" not in mcp and "--" not in mcp, mcp
    assert not any(tool in cli for tool in ("advance-run", "finalize-run", "resume-run", "apply-control")), cli
    for choice in view.next_step.choices:
        assert choice in mcp or "finalize-run" in mcp or "apply-control" in mcp or "resume-run" in mcp, mcp


def test_a_fresh_run_acts_until_it_is_published(tmp_path: Path) -> None:
    api, media = sidecar_api(tmp_path)
    run_id = api.create_run({"source": str(media), "formats": ["md"]}).run_id
    kinds = []
    for _ in range(10):
        assert_renderings_speak_their_own_words(api, run_id)
        kinds.append(assert_next_step_is_what_advance_does(api, run_id))
        if kinds[-1] == "done":
            break
    assert kinds[-1] == "done" and "choose" not in kinds
    assert api.inspect_run(run_id).state == "completed"


def test_a_paused_run_and_a_pending_cancel(tmp_path: Path) -> None:
    api, media = sidecar_api(tmp_path)
    paused = api.create_run({"source": str(media)}).run_id
    api.apply_control(paused, "pause")
    assert api.inspect_run(paused).next_step.choices == ["resume", "cancel"]
    assert_renderings_speak_their_own_words(api, paused)
    assert assert_next_step_is_what_advance_does(api, paused) == "choose"

    pending = api.create_run({"source": str(media)}).run_id
    control.request(api.resolve(pending).path, "cancel", "left by a process that died", api.clock)
    assert_renderings_speak_their_own_words(api, pending)
    assert assert_next_step_is_what_advance_does(api, pending) == "act"
    assert api.inspect_run(pending).state == "cancelled"


def test_unusable_subtitles_of_a_file_without_audio_fail_for_good_and_offer_no_retry(tmp_path: Path) -> None:
    silent_video = tmp_path / "clip.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=64x64:d=40",
                    "-c:v", "mpeg4", str(silent_video)], check=True)
    cues = "\n".join(f"00:00:{s:02d}.000 --> 00:00:{s + 4:02d}.000\n[Music]\n" for s in range(0, 40, 5))
    (tmp_path / "clip.en.vtt").write_text("WEBVTT\n\n" + cues, encoding="utf-8")
    api = build_runtime_api(load_settings({"YTT_HOME": str(tmp_path / "home")}, cwd=tmp_path))
    run_id = api.create_run({"source": str(silent_video)}).run_id
    assert_next_step_is_what_advance_does(api, run_id)
    view = api.inspect_run(run_id)
    assert view.state == "failed" and view.next_step.choices == ["cancel"]
    assert "run_phase" not in view.allowed_actions and "reroute_to_asr" not in view.allowed_actions
    assert "start a new run" in view.next_step.reason
    assert_renderings_speak_their_own_words(api, run_id)
    assert assert_next_step_is_what_advance_does(api, run_id) == "choose"


def test_a_gate_degraded_by_fallback_chunks_asks_which_remedy(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", SENTENCES[:20])
    with FakeOpenAIServer(behaviour="server_error") as server:
        api = make_llm_api(tmp_path, server, max_retries=0)
        run_id = api.create_run({"source": str(media), "formats": ["md"]}).run_id
        assert_next_step_is_what_advance_does(api, run_id)
        view = api.inspect_run(run_id)
        assert view.state == "awaiting_decision"
        assert view.next_step.choices == ["accept_degraded", "retry_chunk", "replan_remaining", "cancel"]
        assert_renderings_speak_their_own_words(api, run_id)
        requests = len(server.requests)
        assert assert_next_step_is_what_advance_does(api, run_id) == "choose"
        assert len(server.requests) == requests  # a bare advance sent nothing
