"""Reading subtitle files and decoding their bytes to text.

The encoding is the one given, else the one a byte-order mark (UTF-8/16/32) names, else strict UTF-8:
bytes are never decoded by guessing, so a legacy file without an encoding is refused with a hint.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from kernel.task_runtime.errors import InvalidInputError

from .errors import SubtitleError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_subtitle_text(path: Path, encoding: str | None = None) -> str:
    """Read and decode a subtitle file (see ``decode_subtitle_bytes``).

    Raises:
        SubtitleError: ``subtitle_not_found``, ``subtitle_not_utf8`` or ``subtitle_decode_failed``.
        InvalidInputError: ``invalid_encoding`` for an unknown encoding name.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SubtitleError(
            f"subtitle file {path.name} does not exist",
            code="subtitle_not_found",
            hint="check the path; it must name an existing .vtt, .srt or .json3 file",
            details={"file": path.name},
        ) from exc
    except OSError as exc:
        raise SubtitleError(
            f"subtitle file {path.name} cannot be read ({exc.strerror or exc})",
            code="subtitle_not_found",
            hint="pass a readable regular file, not a directory or a file without read permission",
            details={"file": path.name},
        ) from exc
    return decode_subtitle_bytes(data, encoding=encoding, source_name=path.name)


def decode_subtitle_bytes(data: bytes, *, encoding: str | None = None, source_name: str = "subtitle text") -> str:
    """Decode subtitle bytes: the given encoding, else a byte-order mark (UTF-8/16/32), else strict UTF-8.

    Raises:
        SubtitleError: ``subtitle_not_utf8`` (no encoding given and not UTF-8), ``subtitle_decode_failed``.
        InvalidInputError: ``invalid_encoding`` for an unknown encoding name.
    """
    codec = encoding
    if codec is None:
        codec = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if codec is not None:
        try:
            codecs.lookup(codec)
        except LookupError as exc:
            raise InvalidInputError(
                f"unknown text encoding {codec!r} for {source_name}",
                code="invalid_encoding",
                hint="use a Python codec name such as utf-8, utf-16, cp1252 or latin-1",
            ) from exc
        try:
            return data.decode(codec).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            raise SubtitleError(
                f"{source_name} cannot be decoded as {codec} (invalid bytes at offset {exc.start})",
                code="subtitle_decode_failed",
                hint="pass the file's real encoding, or re-save it as UTF-8",
                details={"file": source_name, "encoding": codec, "offset": exc.start},
            ) from exc
    hint = "re-save the file as UTF-8, or give its real encoding (for example cp1252) where one can be given"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubtitleError(
            f"{source_name} is not UTF-8 text (invalid byte at offset {exc.start})",
            code="subtitle_not_utf8",
            hint=hint,
            details={"file": source_name, "offset": exc.start},
        ) from exc
    if "\x00" in text:
        raise SubtitleError(
            f"{source_name} contains NUL characters: it looks like UTF-16 text without a byte-order mark",
            code="subtitle_not_utf8",
            hint="re-save the file as UTF-8, or give its real encoding (utf-16-le) where one can be given",
            details={"file": source_name},
        )
    return text
