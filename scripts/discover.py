"""Discover a URL with yt-dlp: ``python -m scripts.discover URL``.

Prints one JSON document on stdout: ``{"ok": true, "info": SourceInfo, "tracks": SourceTracks}``, or
``{"ok": false, "error": {"code", "message", "hint", "details"}}`` (see scripts/_common.py). Nothing is
downloaded; failures carry the classified codes of ``kernel.source.ytdlp_errors.DownloadError``
(``sign_in_required``, ``rate_limited``, ``video_unavailable``, ...) or ``url_scheme_not_allowed`` /
``url_malformed``.
"""

from __future__ import annotations

import argparse
from typing import Any

from kernel.config import load_settings
from kernel.source.ytdlp import discover_url
from scripts._common import JsonArgumentParser, run_json_command


def _parser() -> argparse.ArgumentParser:
    parser = JsonArgumentParser(prog="python -m scripts.discover",
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
