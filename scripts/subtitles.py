"""Script-first subtitle commands (one JSON document on stdout).

``python -m scripts.subtitles parse FILE [--format vtt|srt|json3] [--encoding ENC] [--duration SECONDS]``
parses a WebVTT, SRT or YouTube json3 file the same way the pipeline does and prints
``{"ok": true, "file", "format", "segments", "stats", "usability"}``; errors print
``{"ok": false, "error": {"code", "message", "hint"}}`` and exit non-zero (2 for bad arguments).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kernel.source.subtitles import (
    assess_subtitle_usability,
    detect_subtitle_format,
    parse_subtitle_text,
    read_subtitle_text,
    subtitle_stats,
)
from scripts._common import JsonArgumentParser, run_json_command


def _parser() -> argparse.ArgumentParser:
    parser = JsonArgumentParser(prog="python -m scripts.subtitles", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=JsonArgumentParser)
    parse = commands.add_parser("parse", help="parse a subtitle file into timed segments")
    parse.add_argument("file", type=Path, help="a .vtt, .srt or .json3 subtitle file")
    parse.add_argument("--format", choices=["vtt", "srt", "json3"], help="skip format detection")
    parse.add_argument("--encoding", help="text encoding when the file is not UTF-8 (for example cp1252)")
    parse.add_argument(
        "--duration", type=float, help="media duration in seconds, for the words-per-minute usability check"
    )
    return parser


def _parse_command(args: argparse.Namespace) -> dict[str, Any]:
    path: Path = args.file
    text = read_subtitle_text(path, args.encoding)
    fmt = args.format or detect_subtitle_format(text)
    segments = parse_subtitle_text(text, fmt, source_name=path.name)
    return {
        "file": path.name,
        "format": fmt,
        "segments": [segment.model_dump(mode="json", exclude_none=True) for segment in segments],
        "stats": subtitle_stats(segments),
        "usability": assess_subtitle_usability(segments, args.duration).model_dump(mode="json"),
    }


def main(argv: list[str] | None = None) -> int:
    def body() -> dict[str, Any]:
        args = _parser().parse_args(argv)
        return _parse_command(args)

    return run_json_command(body)


if __name__ == "__main__":
    raise SystemExit(main())
