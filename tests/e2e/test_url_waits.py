"""A yt-dlp retry wait (here a 429 with a long ``Retry-After``) does not hold up a pause: the run pauses at
once, and after resume the same page is read again and the run completes."""

from __future__ import annotations

import time
from pathlib import Path

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.source.politeness import HostLimiter
from kernel.task_runtime.contracts import RunState
from kernel.task_runtime.telemetry import read_events
from tests.e2e.conftest import SCRIPT
from tests.source.site import Site


def test_a_pause_during_a_rate_limit_wait_takes_effect_before_the_wait_ends(talk_site: Site, tmp_path: Path) -> None:
    page = "talk-with-tracks.html"
    talk_site.fail(page, 429, headers={"Retry-After": "110"})
    api = build_runtime_api(load_settings({"YTT_HOME": str(tmp_path / "home")}, cwd=tmp_path))
    run_id = api.create_run({"source": talk_site.url(page), "formats": ["md"], "llm": "none"}).run_id
    api.advance_run(run_id, wait_seconds=0)
    work_dir = api.resolve(run_id).path
    deadline = time.monotonic() + 30
    while not read_events(work_dir, event="download_retry_wait") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [e["seconds"] for e in read_events(work_dir, event="download_retry_wait")] == [110]

    api.apply_control(run_id, "pause")
    paused = api.advance_run(run_id, wait_seconds=30)  # far less than the 110 s the server asked for
    assert paused.state == RunState.PAUSED
    assert talk_site.count(page) == 1  # the wait was cut short, not followed by another attempt

    talk_site.clear_faults()
    # The 429's Retry-After holds every request to the site (kernel.source.politeness); lift it, as if the
    # 110 s had passed.
    HostLimiter.for_settings(api.settings).clear_backoff("127.0.0.1")
    api.resume_run(run_id)
    envelope = api.advance_run(run_id, wait_seconds=50)
    while envelope.result is not None and envelope.result.status == "running":
        envelope = api.advance_run(run_id, wait_seconds=50)
    final = api.finalize_run(run_id, wait_seconds=50)
    assert final.state == RunState.COMPLETED
    article = Path(final.outputs["markdown"]).read_text(encoding="utf-8")  # type: ignore[index]
    assert SCRIPT["cues"][0]["text"] in article
