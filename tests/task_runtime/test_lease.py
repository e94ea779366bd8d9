"""The ownership lease across real processes: live holders are never broken, dead ones are taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kernel.task_runtime.clock import ManualClock, SystemClock
from kernel.task_runtime.contracts import Manifest
from kernel.task_runtime.errors import LeaseHeldError, LeaseLostError
from kernel.task_runtime.lease import Lease, read_lease
from kernel.task_runtime.workdir import RunDir

from .toy_pipeline import make_api

REPO = Path(__file__).resolve().parents[2]

_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kernel.task_runtime.clock import SystemClock
    from kernel.task_runtime.lease import Lease
    lease = Lease.acquire(Path(sys.argv[1]), clock=SystemClock(), ttl_seconds=600, command="holder")
    print(lease.generation, flush=True)
    time.sleep(600)
    """
)


def start_holder(work_dir: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(work_dir)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    generation = int(proc.stdout.readline())
    return proc, generation


def test_a_second_process_gets_an_owned_by_error_and_takes_over_after_the_holder_dies(tmp_path: Path) -> None:
    api, _ = make_api(tmp_path)
    run_id = api.create_run({"n": 2}).run_id
    work_dir = api.resolve(run_id).path
    holder, generation = start_holder(work_dir)
    try:
        with pytest.raises(LeaseHeldError) as owned:
            api.advance_run(run_id, action="run_phase", wait_seconds=5)
        assert owned.value.code == "run_owned"
        assert owned.value.details["owner_pid"] == holder.pid
        assert "owned by" in owned.value.message
        with pytest.raises(LeaseHeldError):
            api.resume_run(run_id)  # a live holder is never broken, not even by resume
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    recovered = api.resume_run(run_id)
    takeover = recovered.data["recovery"]["lease_takeover"]
    assert takeover["generation"] == generation + 1
    assert "not running" in takeover["reason"]
    finished = api.advance_run(run_id, wait_seconds=30)
    assert finished.result is not None and finished.result.status == "completed"


def test_a_holder_whose_heartbeat_is_older_than_the_ttl_is_taken_over(tmp_path: Path) -> None:
    clock = ManualClock()
    work_dir = tmp_path / "run"
    work_dir.mkdir()
    # Pretend another host holds it: pid liveness cannot be checked across hosts, only the heartbeat.
    first = Lease.acquire(work_dir, clock=clock, ttl_seconds=30, host="other-host")
    with pytest.raises(LeaseHeldError):
        Lease.acquire(work_dir, clock=clock, ttl_seconds=30)
    clock.advance(31)
    second = Lease.acquire(work_dir, clock=clock, ttl_seconds=30)
    assert second.generation == first.generation + 1
    assert second.took_over_from is not None and "heartbeat" in second.took_over_from


def test_an_old_holder_cannot_commit_after_a_takeover(tmp_path: Path) -> None:
    clock = ManualClock()
    work_dir = tmp_path / "run"
    work_dir.mkdir()
    run_dir = RunDir(work_dir, clock)
    old = Lease.acquire(work_dir, clock=clock, ttl_seconds=5)
    run_dir.commit(Manifest(run_id="r1", state="created"), old)
    clock.advance(6)
    new = Lease.acquire(work_dir, clock=clock, ttl_seconds=5)
    committed = run_dir.commit(run_dir.read_manifest(), new)
    assert committed.writer_generation == new.generation
    with pytest.raises(LeaseLostError):
        run_dir.commit(run_dir.read_manifest(), old)
    assert run_dir.read_manifest().writer_generation == new.generation


def test_a_released_lease_is_reacquired_with_the_next_generation(tmp_path: Path) -> None:
    work_dir = tmp_path / "run"
    work_dir.mkdir()
    with Lease.acquire(work_dir, clock=SystemClock()) as first:
        pass
    assert read_lease(work_dir) is None
    second = Lease.acquire(work_dir, clock=SystemClock())
    assert second.generation == first.generation + 1
    assert second.took_over_from is None
