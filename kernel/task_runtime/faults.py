"""Crash points for crash tests: ``YTT_CRASH_AT=<point>`` makes this process SIGKILL itself there.

The runtime names its points ``phase:<name>:started|published|committed``; a pipeline's long phases name
their own (each documents its points where it calls ``crash_point``). This is the only fault hook; it costs one
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
