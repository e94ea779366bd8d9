"""Shared plumbing for the script-first commands: one JSON document on stdout, JSON errors, exit codes.

Contract for every ``python -m scripts.X``:
- success: exit 0 and ``{"ok": true, ...}`` on stdout;
- failure: a non-zero exit (2 for bad input, 1 otherwise) and ``{"ok": false, "error": {"code", "message",
  "hint"?, "details"?}}`` on stdout. Diagnostics go to stderr only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from kernel.task_runtime.errors import YTTError


def emit(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def run_json_command(body: Callable[[], dict[str, Any]]) -> int:
    """Run ``body`` and print its result (with ``ok: true``) or the error as JSON. Returns the exit code."""
    try:
        result = body()
    except YTTError as exc:
        emit({"ok": False, "error": exc.to_dict()})
        return exc.exit_code
    emit({"ok": True, **result})
    return 0
