"""Kill the real CLI with SIGKILL at chosen points; ``yt-transcript resume`` must finish with the same files.

The crash points are the runtime's named fault points (``YTT_CRASH_AT``, see kernel/task_runtime/faults.py):
the process kills itself there, exactly as an OOM kill or a power cut would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO_ROOT


def cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YTT_", "DEEPGRAM_"))}
    env.update(YTT_HOME=str(home), PYTHONPATH=str(REPO_ROOT), **extra)
    return env


def output_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    for item in (EXAMPLES / "sample-sidecar").iterdir():
        shutil.copy(item, folder / item.name)
    return folder / "sample.mp4"


@pytest.fixture(scope="module")
def reference(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    home = tmp_path_factory.mktemp("ref-home")
    out = home / "out"
    done = cli("run", str(sample), "--output-dir", str(out), "--json", cwd=sample.parent, env=environment(home))
    assert done.returncode == 0, done.stderr
    return output_files(out)


CRASH_POINTS = [
    "phase:discover:started",
    "phase:transcribe:published",
    "phase:normalize:committed",
    "chunk:1:committed",
    "phase:verify:published",
    "phase:assemble:committed",
]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_run_killed_at_any_point_resumes_to_identical_output(
    point: str, sample: Path, reference: dict[str, bytes], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    out = home / "out"
    crashed = cli("run", str(sample), "--output-dir", str(out), "--json", cwd=sample.parent,
                  env=environment(home, YTT_CRASH_AT=point))
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr

    listed = cli("runs", "--json", cwd=sample.parent, env=environment(home))
    runs = json.loads(listed.stdout)["runs"]
    assert len(runs) == 1
    resumed = cli("resume", runs[0]["run_id"], "--json", cwd=sample.parent, env=environment(home))
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["state"] == "completed"
    assert output_files(out) == reference
