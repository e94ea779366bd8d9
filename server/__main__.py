"""``python -m server``: the yt-transcript MCP server over stdio.

stdout carries MCP messages only:
- logging goes to stderr, configured before anything else is imported;
- while importing and building the server, Python-level ``print`` is redirected to stderr;
- while serving, the SDK's stdio transport keeps a private duplicate of fd 1 for the wire and points fd 1
  itself at stderr, so stray writes from libraries and child processes (yt-dlp, ffmpeg) land on stderr;
- ``sys.stdout`` is made unbuffered first: a buffered ``print`` would otherwise be flushed at exit, after
  the transport has pointed fd 1 back at the wire.

Environment: ``YTT_LOG_LEVEL`` (default WARNING) and the settings variables of ``kernel.config``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys


def _configure_logging() -> None:
    level = os.environ.get("YTT_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(
        stream=sys.stderr,
        level=level if level in logging.getLevelNamesMapping() else "WARNING",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _unbuffered_stdout() -> None:
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    sys.stdout = io.TextIOWrapper(io.FileIO(fd, "wb", closefd=False), encoding="utf-8", write_through=True)


def main() -> int:
    _configure_logging()
    _unbuffered_stdout()
    with contextlib.redirect_stdout(sys.stderr):
        from kernel.task_runtime.errors import YTTError
        from server.app import build_server

        try:
            server = build_server()
        except YTTError as exc:
            sys.stderr.write(f"error[{exc.code}]: {exc.message}\n")
            if exc.hint:
                sys.stderr.write(f"  hint: {exc.hint}\n")
            return exc.exit_code
    server.run("stdio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
