"""``SubtitleError`` and the two errors parsing raises: empty subtitles and garbled (unparsable) text."""

from __future__ import annotations

from kernel.source.errors import SourceError


class SubtitleError(SourceError):
    """A subtitle file or text cannot be used.

    Codes: ``subtitle_not_found`` (missing or unreadable file), ``subtitle_empty`` (nothing but
    whitespace, headers or empty cues), ``subtitle_garbled`` (text without any parsable cue),
    ``subtitle_not_utf8`` (not UTF-8 and no encoding given), ``subtitle_decode_failed`` (the given
    encoding does not decode the bytes).
    """

    code = "subtitle_error"


_EXPECTED_SHAPES = (
    "expected WebVTT ('WEBVTT' header, cues like '00:00:01.000 --> 00:00:02.500'), SRT (numbered cues "
    "like '00:00:01,000 --> 00:00:02,500') or YouTube json3 (a JSON object with an 'events' list)"
)


def _empty(source_name: str, what: str) -> SubtitleError:
    return SubtitleError(
        f"subtitles {source_name} {what}",
        code="subtitle_empty",
        hint="choose another subtitle track, or transcribe the audio with speech recognition",
        details={"file": source_name},
    )


def _garbled(source_name: str, what: str) -> SubtitleError:
    return SubtitleError(
        f"subtitles {source_name} cannot be parsed: {what}; {_EXPECTED_SHAPES}",
        code="subtitle_garbled",
        hint="check that the file really is a subtitle file (if detection guessed wrong, give its format where one "
        "can be given)",
        details={"file": source_name},
    )
