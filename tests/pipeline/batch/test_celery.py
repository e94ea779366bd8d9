"""The Celery executor on a real Redis broker: two ``yt-transcript worker`` processes split a batch of 8 items;
one worker dies mid-item (SIGKILL at a crash point) and every item still completes exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import cli, environment, json_result
from tests.pipeline.batch.conftest import all_item_runs, completions, item_states, media_folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    pytest.importorskip("celery")
    import redis

    port = free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=20)


def start_worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen([sys.executable, "-m", "scripts.cli", "worker", "--name", name], env=env,
                                cwd=log.parent, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)


def test_two_celery_workers_complete_a_batch_of_eight_with_one_killed_mid_item(tmp_path: Path, redis_url: str) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    media_folder(tmp_path / "media", 8)
    shared = {"YTT_EXECUTOR": "celery", "YTT_BROKER_URL": redis_url}
    doomed = start_worker("doomed@test", environment(home, **shared, YTT_CRASH_AT="phase:transcribe:started"),
                          tmp_path / "doomed.log")
    survivor = start_worker("survivor@test", environment(home, **shared), tmp_path / "survivor.log")
    try:
        done = cli("run", str(tmp_path / "media"), "--output-dir", str(out), "--concurrency", "4", "--json",
                   cwd=tmp_path, env=environment(home, **shared), timeout=240)
        assert doomed.wait(timeout=60) == -signal.SIGKILL  # it died in the middle of its first item
        assert done.returncode == 0, done.stderr + (tmp_path / "survivor.log").read_text(errors="replace")[-3000:]
        result = json_result(done)
        assert result["state"] == "completed" and result["items"] == {"finished": 8}
    finally:
        for worker in (doomed, survivor):
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait(timeout=10)
    runs = all_item_runs(home)
    assert len(runs) == 8
    assert [completions(run) for run in runs] == [1] * 8
    states = item_states(next(home.glob("runs/*/items")).parent)
    assert {state["status"] for state in states.values()} == {"finished"}
    assert any(state["submissions"] > 1 for state in states.values())  # the killed worker's item was handed on
    assert len(list(out.glob("*.md"))) == 8 + 1
