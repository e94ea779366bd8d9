"""Inspect a run: ``python -m scripts.inspect RUN [--detail DETAIL] [--cursor N] [--limit N]``.

DETAIL is one of the runtime's and the pipeline's inspect details (``summary``, ``phases``, ``telemetry``,
``chunks``, ``article``, ``draft``; ``--help`` lists them).

Prints one JSON document on stdout: ``{"ok": true, ...the CommandEnvelope...}`` (state, allowed_actions,
progress, phase table, artifacts, and the detail's data with ``next_cursor`` for pages), or
``{"ok": false, "error": {...}}`` (see scripts/_common.py). Read-only: it never changes the run.
Run it as a module (``python -m``): as a file path its name would shadow the standard ``inspect`` module.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kernel.pipeline import TranscriptPipeline
from kernel.task_runtime.errors import InvalidInputError
from kernel.task_runtime.views import detail_names
from scripts._common import run_json_command

DETAILS = detail_names(TranscriptPipeline())


def inspect_run(run: str, *, detail: str, cursor: int, limit: int) -> dict[str, Any]:
    """The run's envelope as JSON-ready data.

    Raises:
        RunNotFoundError: no run with that id or work_dir (code ``unknown_run``).
        PathNotAllowedError: a work_dir outside the allowed roots.
        CorruptStateError: a work_dir file does not validate (names the file and JSON pointer).
    """
    if cursor < 0 or limit < 1:
        raise InvalidInputError("--cursor must be 0 or more and --limit 1 or more", code="invalid_option")
    from kernel.pipeline import build_runtime_api

    api = build_runtime_api()
    envelope = api.inspect_run(run, detail=detail, cursor=cursor, limit=limit)
    data: dict[str, Any] = envelope.model_dump(mode="json")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.inspect", description="Print a run's state as one JSON document."
    )
    parser.add_argument("run", metavar="RUN", help="a run_id or a work_dir path")
    parser.add_argument("--detail", choices=DETAILS, default="summary")
    parser.add_argument("--cursor", type=int, default=0, help="page start for chunks and telemetry")
    parser.add_argument("--limit", type=int, default=50, help="page size for chunks and telemetry")
    args = parser.parse_args(argv)
    return run_json_command(lambda: inspect_run(args.run, detail=args.detail, cursor=args.cursor, limit=args.limit))


if __name__ == "__main__":
    sys.exit(main())
