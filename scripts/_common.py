"""Shared plumbing for the script-first commands: one JSON document on stdout, JSON errors, exit codes.

Contract for every ``python -m scripts.X``:
- success: exit 0 and ``{"ok": true, ...}`` on stdout;
- failure: a non-zero exit (2 for bad input, 1 otherwise) and ``{"ok": false, "error": {"code", "message",
  "hint"?, "details"?}}`` on stdout. Diagnostics go to stderr only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from kernel.task_runtime.errors import InvalidInputError, YTTError


class JsonArgumentParser(argparse.ArgumentParser):
    """Reports usage errors as ``invalid_input`` JSON (via ``run_json_command``) instead of argparse text."""

    def error(self, message: str) -> NoReturn:
        raise InvalidInputError(f"invalid arguments: {message}", hint=self.format_usage().strip())


def emit(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def run_json_command(body: Callable[[], dict[str, Any]]) -> int:
    """Run ``body`` and print its result (with ``ok: true``) or the error as JSON. Returns the exit code."""
    try:
        result = body()
    except YTTError as exc:
        from scripts.words import cli_error

        emit({"ok": False, "error": cli_error(exc).to_dict()})
        return exc.exit_code
    emit({"ok": True, **result})
    return 0
