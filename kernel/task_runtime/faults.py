"""Crash points for crash tests: ``YTT_CRASH_AT=<point>`` makes this process SIGKILL itself there.

Points are named ``phase:<name>:started|published|committed``, ``chunk:<n>:committed`` (after the n-th
chunk state commit of a process) and ``asr:window:<n>:saved`` (after the n-th ASR window checkpoint). This is the only fault hook in the runtime; it costs one
environment lookup per point and does nothing unless the variable is set. Tests use it to kill a real
process at a chosen moment and then check that ``resume`` completes with the same output.
"""

from __future__ import annotations

import os
import signal

_ENV = "YTT_CRASH_AT"


def crash_point(name: str) -> None:
    wanted = os.environ.get(_ENV)
    if wanted and wanted == name:
        os.kill(os.getpid(), signal.SIGKILL)
