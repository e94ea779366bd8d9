"""Out-of-band control: pause and cancel requests as files, honoured at safe points.

apply-control only writes a request file (it never needs the lease), so an agent can pause a run that
another process is driving. The lease holder checks ``stop_requested()`` between phases and at the
safe points inside long phases, and stops there; finished work is already persisted. ``resume`` removes the pause request.
A cancel request is final.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Literal

from .clock import Clock
from .contracts import ControlRequest
from .errors import CorruptStateError
from .schemas import read_model
from .store import atomic_write_json

PAUSE_FILE = ".runtime_pause.json"
CANCEL_FILE = ".runtime_cancel.json"

Signal = Literal["pause", "cancel"]


def _path(work_dir: Path, signal: Signal) -> Path:
    return work_dir / (PAUSE_FILE if signal == "pause" else CANCEL_FILE)


def request(work_dir: Path, signal: Signal, reason: str | None, clock: Clock) -> ControlRequest:
    record = ControlRequest(signal=signal, reason=reason, requested_at=clock.now().isoformat())
    atomic_write_json(_path(work_dir, signal), record.model_dump(mode="json"))
    return record


def pending(work_dir: Path, signal: Signal) -> ControlRequest | None:
    path = _path(work_dir, signal)
    if not path.exists():
        return None
    try:
        return read_model(path, ControlRequest)
    except CorruptStateError:
        # A damaged request still expresses the intent to stop; honour it.
        return ControlRequest(signal=signal, reason="unreadable request file", requested_at="")
    except FileNotFoundError:
        return None


def clear(work_dir: Path, signal: Signal) -> bool:
    path = _path(work_dir, signal)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        return True
    return False


def stop_requested(work_dir: Path) -> Signal | None:
    """The signal to honour now, if any (cancel wins over pause)."""
    if _path(work_dir, "cancel").exists():
        return "cancel"
    if _path(work_dir, "pause").exists():
        return "pause"
    return None
