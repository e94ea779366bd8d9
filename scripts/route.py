"""Route a saved yt-dlp info JSON: ``python -m scripts.route INFO_JSON [--prefer en,de]
[--backend whisper|deepgram] [--route auto|subtitles|asr]``.

Reads an info JSON as written by ``yt-dlp -J URL`` (or ``--write-info-json``), applies the same routing
rules as the pipeline and prints ``{"ok": true, "decision": RouteDecision}`` (the full track list is
what ``scripts.discover`` prints). ``--prefer`` defaults to the configured preferred languages. Errors:
``info_json_not_found``, ``info_json_invalid``, and the routing codes ``no_usable_source``,
``no_subtitles``, ``no_audio``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from kernel.config import load_settings
from kernel.source.routing import decide_route
from kernel.source.ytdlp_info import info_to_source
from kernel.task_runtime.errors import InvalidInputError
from scripts._common import JsonArgumentParser, run_json_command


def _parser() -> argparse.ArgumentParser:
    parser = JsonArgumentParser(prog="python -m scripts.route",
                                 description="Choose subtitles or speech recognition for a saved yt-dlp info JSON.")
    parser.add_argument("info_json", type=Path, help="a yt-dlp info JSON file (yt-dlp -J URL > info.json)")
    parser.add_argument("--prefer", help="preferred languages, most preferred first, comma-separated (en,de)")
    parser.add_argument("--backend", choices=["whisper", "deepgram"], default="whisper",
                        help="speech recognition backend if the route is ASR")
    parser.add_argument("--route", choices=["auto", "subtitles", "asr"], default="auto",
                        help="force subtitles or speech recognition (default: auto)")
    return parser


def load_info_json(path: Path) -> dict[str, Any]:
    """Read a yt-dlp info JSON file.

    Raises:
        InvalidInputError: ``info_json_not_found`` or ``info_json_invalid``.
    """
    shown = path.name or str(path)  # "." and "" have no name
    if path.is_dir():
        raise InvalidInputError(f"{shown} is a folder, not an info JSON file", code="info_json_invalid",
                                hint="pass the file yt-dlp -J wrote, e.g. info.json")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"info JSON file {shown} does not exist", code="info_json_not_found",
                                hint="save one with: yt-dlp -J URL > info.json") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read info JSON file {shown}: {exc}", code="info_json_invalid",
                                hint="pass the file yt-dlp -J wrote") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{shown} is not JSON: {exc}", code="info_json_invalid",
                                hint="pass the file yt-dlp -J wrote") from exc
    if not isinstance(data, dict) or "id" not in data:
        raise InvalidInputError(f"{shown} is not a yt-dlp info JSON (no 'id' field)", code="info_json_invalid",
                                hint="pass the file yt-dlp -J wrote for a single video")
    return data


def main(argv: list[str] | None = None) -> int:
    def body() -> dict[str, Any]:
        args = _parser().parse_args(argv)
        preferred = ([p.strip() for p in args.prefer.split(",") if p.strip()] if args.prefer
                     else load_settings().preferred_languages)
        info, tracks = info_to_source(load_info_json(args.info_json))
        decision = decide_route(info, tracks, preferred_languages=preferred, asr_backend=args.backend,
                                force=args.route)
        return {"decision": decision.model_dump(mode="json")}

    return run_json_command(body)


if __name__ == "__main__":
    raise SystemExit(main())
