"""The client goes away in the middle of speech recognition: the server exits cleanly by itself (no abort
from native threads torn down mid-call) and the run resumes to the same article as an uninterrupted run.

The server is a real ``python -m server`` subprocess spoken to in raw JSON-RPC over its stdin/stdout, so
the test controls exactly when stdin closes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mcp.types import LATEST_PROTOCOL_VERSION

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.drive import drive
from kernel.task_runtime.telemetry import read_events
from tests.conftest import EXAMPLES, REPO_ROOT

EXIT_GRACE_SECONDS = 30.0  # generous: a busy machine; the server itself waits at most 1.5 s


class RawSession:
    def __init__(self, cwd: Path, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("YTT_", "DEEPGRAM_"))}
        env.update(YTT_HOME=str(home), PYTHONPATH=str(REPO_ROOT), YTT_LOG_LEVEL="INFO")
        self.process = subprocess.Popen([sys.executable, "-m", "server"], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._next_id = 0

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        self.send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            assert line, "the server closed stdout"
            message = json.loads(line)
            if message.get("id") == self._next_id:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = self.request("tools/call", {"name": tool, "arguments": arguments})
        assert not result.get("isError"), result
        structured: dict[str, Any] = result["structuredContent"]
        return structured


def test_closing_stdin_during_transcription_exits_cleanly_and_the_run_resumes_to_the_same_article(
    tmp_path: Path,
) -> None:
    media = tmp_path / "talk.m4a"
    shutil.copy(EXAMPLES / "sample-speech" / "sample.m4a", media)
    home = tmp_path / "home"
    session = RawSession(tmp_path, home)
    session.request("initialize", {"protocolVersion": LATEST_PROTOCOL_VERSION, "capabilities": {},
                                   "clientInfo": {"name": "disconnect-test", "version": "1"}})
    session.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    run_id = session.call("create-run", {"source": str(media), "formats": ["md"]})["run_id"]
    work_dir = home / "runs" / run_id
    view = session.call("advance-run", {"run_id": run_id, "wait_seconds": 1})
    deadline = time.monotonic() + 120
    while not any(e.get("phase") == "transcribe" for e in read_events(work_dir, event="phase_started")):
        assert time.monotonic() < deadline, view
        view = session.call("advance-run", {"run_id": run_id, "wait_seconds": 0.5})
    time.sleep(2.0)  # let whisper load and start decoding
    assert session.process.stdin is not None
    session.process.stdin.close()  # the client goes away while whisper is working
    returncode = session.process.wait(timeout=EXIT_GRACE_SECONDS)
    stderr = session.process.stderr.read() if session.process.stderr else ""
    assert returncode == 0, stderr[-2000:]
    assert "terminate called" not in stderr and "Traceback" not in stderr, stderr[-2000:]
    assert f"stopped background work of runs {run_id}" in stderr, stderr[-2000:]
    assert read_events(work_dir, event="phase_succeeded")[-1]["phase"] != "verify"  # it really stopped mid-run

    api = build_runtime_api(load_settings({"YTT_HOME": str(home)}, cwd=tmp_path))
    api.resume_run(run_id)
    resumed = drive(api, run_id)
    article = Path(resumed.outputs["markdown"]).read_text(encoding="utf-8")  # type: ignore[index]

    other_home = tmp_path / "home-uninterrupted"
    reference_api = build_runtime_api(load_settings({"YTT_HOME": str(other_home)}, cwd=tmp_path))
    reference = drive(reference_api, reference_api.create_run({"source": str(media), "formats": ["md"]}).run_id)
    assert article == Path(reference.outputs["markdown"]).read_text(encoding="utf-8")  # type: ignore[index]
