"""Download a URL's subtitles or audio: ``python -m scripts.download URL (--subtitles [--lang L] | --audio)
--dest DIR``.

``--subtitles`` picks the track routing would pick (or, with ``--lang``, the best non-translated track in
that language) and saves it as ``DIR/subtitles.<kind>.<language>.<ext>``; ``--audio`` saves the best audio
as 16 kHz mono ``DIR/audio.wav``. Complete files already in DIR are reused. Prints
``{"ok": true, "path": ..., "track"?: SubtitleTrack}`` or ``{"ok": false, "error": {...}}``; error codes
are those of ``kernel.source.ytdlp_errors.DownloadError`` plus ``no_subtitles`` when no track fits.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kernel.config import Settings, load_settings
from kernel.source.routing import RoutingError, decide_route, language_key, languages_match
from kernel.source.ytdlp import discover_url, download_audio, download_subtitles
from kernel.task_runtime.errors import InvalidInputError
from kernel.transcript import SubtitleTrack
from scripts._common import JsonArgumentParser, run_json_command


def _parser() -> argparse.ArgumentParser:
    parser = JsonArgumentParser(prog="python -m scripts.download",
                                 description="Download a video's subtitles or its audio (as 16 kHz WAV).")
    parser.add_argument("url", help="an http(s) URL of a video page")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--subtitles", action="store_true", help="download one subtitle track")
    what.add_argument("--audio", action="store_true", help="download the audio as 16 kHz mono WAV")
    parser.add_argument("--lang", help="subtitle language (default: the track routing would choose)")
    parser.add_argument("--dest", type=Path, required=True, help="folder to write into")
    return parser


def choose_track(tracks: list[SubtitleTrack], language: str) -> SubtitleTrack | None:
    """The best non-translated track in ``language``: exact code before variants, manual before automatic."""
    matching = [t for t in tracks if not t.is_translation and languages_match(t.language, language)]
    matching.sort(key=lambda t: (language_key(t.language) != language_key(language), t.kind != "manual"))
    return matching[0] if matching else None


def _subtitles(url: str, language: str | None, dest: Path, settings: Settings) -> dict[str, Any]:
    info, tracks = discover_url(url, settings)
    if language:
        track = choose_track(tracks.subtitles, language)
        if track is None:
            available = sorted({t.language or "unknown" for t in tracks.subtitles if not t.is_translation})
            raise RoutingError(f"{url} has no subtitles in {language}", code="no_subtitles",
                               hint=f"available languages: {', '.join(available) or 'none'}")
    else:
        decision = decide_route(info, tracks, preferred_languages=settings.preferred_languages, force="subtitles")
        assert decision.track is not None
        track = decision.track
    path = download_subtitles(url, track, dest, settings)
    return {"path": str(dest / path.name), "track": track.model_dump(mode="json")}


def main(argv: list[str] | None = None) -> int:
    def body() -> dict[str, Any]:
        args = _parser().parse_args(argv)
        settings = load_settings()
        if args.lang and not args.subtitles:
            raise InvalidInputError("--lang applies to --subtitles only", hint="drop --lang or use --subtitles")
        if args.subtitles:
            return _subtitles(args.url, args.lang, args.dest, settings)
        path = download_audio(args.url, args.dest, settings)
        return {"path": str(args.dest / path.name)}

    return run_json_command(body)


if __name__ == "__main__":
    raise SystemExit(main())
