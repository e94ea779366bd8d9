"""Discover a URL with yt-dlp: ``python -m scripts.discover URL``.

Prints one JSON document on stdout: ``{"ok": true, "info": SourceInfo, "tracks": SourceTracks}``, or
``{"ok": false, "error": {"code", "message", "hint", "details"}}`` (see scripts/_common.py). Nothing is
downloaded; failures carry the classified codes of ``kernel.source.ytdlp.DownloadError``
(``sign_in_required``, ``rate_limited``, ``video_unavailable``, ...) or ``url_scheme_not_allowed`` /
``url_malformed``.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from kernel.config import load_settings
from kernel.source.ytdlp import discover_url
from kernel.task_runtime.errors import InvalidInputError
from scripts._common import run_json_command


class _JsonArgumentParser(argparse.ArgumentParser):
    """Reports usage errors as ``invalid_input`` JSON instead of argparse's text on stderr."""

    def error(self, message: str) -> NoReturn:
        raise InvalidInputError(f"invalid arguments: {message}", hint=self.format_usage().strip())


def _parser() -> argparse.ArgumentParser:
    parser = _JsonArgumentParser(prog="python -m scripts.discover",
                                 description="Describe a video URL (metadata and subtitle tracks) as JSON.")
    parser.add_argument("url", help="an http(s) URL of a video page")
    return parser


def main(argv: list[str] | None = None) -> int:
    def body() -> dict[str, Any]:
        args = _parser().parse_args(argv)
        info, tracks = discover_url(args.url, load_settings())
        return {"info": info.model_dump(mode="json"), "tracks": tracks.model_dump(mode="json")}

    return run_json_command(body)


if __name__ == "__main__":
    raise SystemExit(main())
