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
import signal
import sys
from typing import TYPE_CHECKING


def _configure_logging() -> None:
    level = os.environ.get("YTT_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(
        stream=sys.stderr,
        level=level if level in logging.getLevelNamesMapping() else "WARNING",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


if TYPE_CHECKING:
    from kernel.task_runtime.api import RuntimeApi

SHUTDOWN_TIMEOUT_SECONDS = 1.5  # clients allow about 2 s after closing stdin


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
        from kernel.pipeline import build_runtime_api
        from kernel.task_runtime.errors import YTTError
        from server.app import build_server

        try:
            api = build_runtime_api()
            server = build_server(api)
        except YTTError as exc:
            sys.stderr.write(f"error[{exc.code}]: {exc.message}\n")
            if exc.hint:
                sys.stderr.write(f"  hint: {exc.hint}\n")
            return exc.exit_code
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        server.run("stdio")
    finally:
        _stop_background_work(api)
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)  # unwinds through main's finally: background work is stopped first


def _stop_background_work(api: RuntimeApi) -> None:
    """The client went away (stdin closed) or the process was asked to stop. Background work (speech
    recognition runs in native threads) stops at its next safe point; the runs keep their state and
    finished work, and resume-run continues them. Clients kill a server a few seconds after closing its
    stdin, so the wait is short; native code still inside a call after it must not be torn down by the
    interpreter's finalizers (that aborts the process), so the process then ends without them."""
    stopped = api.shutdown(timeout=SHUTDOWN_TIMEOUT_SECONDS)
    if stopped:
        logging.getLogger("server").warning("stopped background work of runs %s; resume-run continues them",
                                            ", ".join(stopped))
    if api.busy():
        logging.shutdown()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
