"""``SubtitleError``, its codes, and the hints shared by decoding and parsing.

Every message names the subtitles by the caller's display name (a sidecar's own file name such as
``talk.en.srt``, or a track label), never by a work_dir copy. Hints name run options as placeholders
(``{option:subtitle_encoding}``, ``{option:route=asr}``; see ``kernel.task_runtime.hints``), which each
front end renders in its own words (``--subtitle-encoding`` on the command line, ``subtitle_encoding``
over MCP).
"""

from __future__ import annotations

from typing import Any

from kernel.source.errors import SourceError

# How a caller names an encoding (rendered by each front end: a CLI flag, an MCP argument).
ENCODING_OPTION = "{option:subtitle_encoding}"
ENCODING_HINT = f"give the file's encoding ({ENCODING_OPTION}), for example cp1252, gbk, big5 or shift_jis"
_TRANSCRIBE_HINT = "or transcribe the audio instead ({option:route=asr})"


class SubtitleError(SourceError):
    """A subtitle file or text cannot be used.

    Codes:
        ``subtitle_not_found``: the file is missing or unreadable.
        ``subtitle_empty``: nothing but whitespace, headers or cues without text.
        ``subtitle_garbled``: text without any parsable cue.
        ``subtitle_not_text``: binary data (an image, a media file), not text in any encoding.
        ``subtitle_undecodable``: not UTF-8, no encoding was given, and none could be detected.
        ``subtitle_decode_failed``: the encoding the caller gave does not decode the bytes.

    ``details`` always has ``file`` (the display name); decoding errors add what was tried.
    """

    code = "subtitle_error"


_EXPECTED_SHAPES = (
    "expected WebVTT ('WEBVTT' header, cues like '00:00:01.000 --> 00:00:02.500'), SRT (numbered cues "
    "like '00:00:01,000 --> 00:00:02,500') or YouTube json3 (a JSON object with an 'events' list)"
)


def _empty(display_name: str, what: str) -> SubtitleError:
    return SubtitleError(
        f"{display_name}: the subtitles {what}",
        code="subtitle_empty",
        hint=f"choose another subtitle track, {_TRANSCRIBE_HINT}",
        details={"file": display_name},
    )


def _garbled(display_name: str, what: str, *, decoded_as: str | None = None) -> SubtitleError:
    details: dict[str, Any] = {"file": display_name, "reason": what}
    hint = f"check that {display_name} is a WebVTT, SRT or YouTube json3 subtitle file, {_TRANSCRIBE_HINT}"
    if decoded_as is not None:
        # A wrong encoding guess (UTF-16 read as a single-byte code page) also looks like garbage.
        details["decoded_as"] = decoded_as
        hint = f"if {decoded_as} is not the file's encoding, {ENCODING_HINT}; otherwise {hint}"
    return SubtitleError(
        f"{display_name}: the subtitles cannot be parsed: {what}; {_EXPECTED_SHAPES}",
        code="subtitle_garbled",
        hint=hint,
        details=details,
    )
