"""Script-first subtitle commands (one JSON document on stdout).

``python -m scripts.subtitles parse FILE [--format vtt|srt|json3] [--subtitle-encoding ENC] [--language L]
[--duration SECONDS]`` parses a WebVTT, SRT or YouTube json3 file the same way the pipeline does and prints
``{"ok": true, "file", "format", "decoding", "segments", "stats", "usability", "issues", "warnings"}``:
``decoding`` says which encoding was used, how it was chosen and whether detection was sure; ``issues``
lists every cue that was repaired, reordered or dropped (with its line) and how the file was read;
``warnings`` sums up the warning-level issues, one line per kind. Errors print
``{"ok": false, "error": {"code", "message", "hint"}}`` and exit non-zero (2 for bad arguments).
``--encoding`` is accepted as another name for ``--subtitle-encoding``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kernel.source.subtitles import (
    assess_subtitle_usability,
    read_subtitle_file,
    subtitle_stats,
    summarize_subtitle_issues,
)
from scripts._common import JsonArgumentParser, run_json_command


def _parser() -> argparse.ArgumentParser:
    parser = JsonArgumentParser(prog="python -m scripts.subtitles", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=JsonArgumentParser)
    parse = commands.add_parser("parse", help="parse a subtitle file into timed segments")
    parse.add_argument("file", type=Path, help="a .vtt, .srt or .json3 subtitle file")
    parse.add_argument("--format", choices=["vtt", "srt", "json3"], help="skip format detection")
    parse.add_argument("--subtitle-encoding", "--encoding", dest="encoding", metavar="ENC",
                       help="the file's text encoding (for example cp1252); default: detected")
    parse.add_argument("--language", metavar="L", help="the subtitles' language, if known; helps encoding detection")
    parse.add_argument(
        "--duration", type=float, help="media duration in seconds, for the words-per-minute usability check"
    )
    return parser


def _parse_command(args: argparse.Namespace) -> dict[str, Any]:
    path: Path = args.file
    parsed = read_subtitle_file(path, encoding=args.encoding, language=args.language, fmt=args.format)
    return {
        "file": path.name,
        "format": parsed.format,
        "decoding": parsed.decoding.model_dump(mode="json") if parsed.decoding else None,
        "segments": [segment.model_dump(mode="json", exclude_none=True) for segment in parsed.segments],
        "stats": subtitle_stats(parsed.segments),
        "usability": assess_subtitle_usability(parsed.segments, args.duration).model_dump(mode="json"),
        "issues": [issue.model_dump(mode="json", exclude_none=True) for issue in parsed.issues],
        "warnings": summarize_subtitle_issues(parsed.issues),
    }


def main(argv: list[str] | None = None) -> int:
    def body() -> dict[str, Any]:
        args = _parser().parse_args(argv)
        return _parse_command(args)

    return run_json_command(body)


if __name__ == "__main__":
    raise SystemExit(main())
