"""Reading subtitle files and decoding their bytes to text, detecting the encoding when it is not UTF-8.

The encoding is, in this order: the one the caller gives; the one a byte-order mark (UTF-8/16/32) names;
UTF-8 when the bytes are strict UTF-8 without NUL characters; else the one chardet detects. Detection is
limited to the encodings subtitle files are written in (chardet's "modern web" era: UTF-16, the Windows
code pages, GB18030/GBK, Big5, Shift-JIS/CP932, EUC-JP, EUC-KR/CP949, KOI8), so that rare DOS and Mac
code pages do not win on short files, and chardet's supersets are used (latin-1 is read as cp1252, GBK as
GB18030), which decode the same text. A candidate is only taken when it decodes the whole file to text
without control characters.

Invariants:
- ``SubtitleDecoding.confident`` is false only for detection, when the file has too few non-ASCII bytes
  to tell code pages apart, or a close rival decodes it to a different text; then the caller gets an
  ``encoding_uncertain`` warning that names the rivals and ``--subtitle-encoding``. A track language
  (``language``, e.g. from ``talk.fr.srt``) that matches a candidate's language makes that candidate
  the choice, and a confident one.
- Bytes are never decoded leniently: a file no candidate decodes fails with ``subtitle_undecodable``
  (or ``subtitle_not_text`` for binary data), never with replacement characters. The one repair: UTF-8
  text with a few bytes from a legacy code page (valid multi-byte characters outnumber the bad bytes two
  to one) stays UTF-8, and the bad bytes are read as cp1252 and reported (``mixed_encoding``).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kernel.task_runtime.errors import InvalidInputError
from kernel.transcript import SubtitleIssue

from .errors import ENCODING_HINT, ENCODING_OPTION, SubtitleError

EncodingSource = Literal["caller", "byte_order_mark", "utf-8", "detected"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SAMPLE_BYTES = 200_000
# Below this many non-ASCII bytes, single-byte code pages cannot be told apart reliably ("Café" is also
# valid Greek or Hebrew): such a detection is reported as unsure unless the track language confirms it.
_MIN_NON_ASCII_BYTES = 24
# A rival within this share of the best candidate's score that decodes to a different text makes the
# detection unsure.
_RIVAL_SHARE = 0.8
_ASCII_BYTES = bytes(range(0x80))
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")  # bytes that are not UTF-8, under errors="surrogateescape"
_MIN_MIXED_UTF8 = 4
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")


class SubtitleDecoding(BaseModel):
    """How a subtitle file's bytes were decoded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoding: str  # the Python codec used, e.g. "utf-8", "cp1252", "gb18030", "utf-16-le"
    source: EncodingSource
    confident: bool = True
    language: str | None = None  # the detector's guess of the text's language (detection only)
    alternatives: list[str] = Field(default_factory=list)  # rivals decoding to a different text


@dataclass(frozen=True, slots=True)
class DecodedSubtitles:
    """Decoded subtitle text, how it was decoded, and the issues decoding noticed."""

    text: str
    decoding: SubtitleDecoding
    issues: list[SubtitleIssue]


def normalize_encoding_name(name: str) -> str:
    """The Python codec name for a caller's encoding name (``latin1`` -> ``iso8859-1``).

    For validating an intent's ``subtitle_encoding`` before a run starts.

    Raises:
        InvalidInputError: ``invalid_encoding`` for an unknown name or a codec that is not a text encoding.
    """
    try:
        info = codecs.lookup(name.strip())
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise InvalidInputError(
            f"unknown text encoding {name!r}",
            code="invalid_encoding",
            hint="use a Python codec name such as utf-8, utf-16, cp1252, latin-1, gbk, big5 or shift_jis",
            details={"encoding": name},
        )
    return info.name


def read_subtitle_text(
    path: Path, *, encoding: str | None = None, display_name: str | None = None, language: str | None = None
) -> DecodedSubtitles:
    """Read and decode a subtitle file (see ``decode_subtitle_bytes``); messages name ``display_name``
    (default: the file's own name).

    Raises:
        SubtitleError: ``subtitle_not_found``, or a code of ``decode_subtitle_bytes``.
        InvalidInputError: ``invalid_encoding`` for an unknown encoding name.
    """
    name = display_name or path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SubtitleError(
            f"subtitle file {name} does not exist",
            code="subtitle_not_found",
            hint="check the path; it must name an existing .vtt, .srt or .json3 file",
            details={"file": name},
        ) from exc
    except OSError as exc:
        raise SubtitleError(
            f"subtitle file {name} cannot be read ({exc.strerror or exc})",
            code="subtitle_not_found",
            hint="pass a readable regular file, not a directory or a file without read permission",
            details={"file": name},
        ) from exc
    return decode_subtitle_bytes(data, encoding=encoding, display_name=name, language=language)


def decode_subtitle_bytes(
    data: bytes, *, encoding: str | None = None, display_name: str = "subtitle text", language: str | None = None
) -> DecodedSubtitles:
    """Decode subtitle bytes: the given encoding, a byte-order mark, strict UTF-8, else detection.

    ``language`` is the track's language when known; it settles close calls between code pages.

    Raises:
        SubtitleError: ``subtitle_decode_failed`` (the given encoding does not decode the bytes),
            ``subtitle_undecodable`` (no encoding given and none detected), ``subtitle_not_text`` (binary).
        InvalidInputError: ``invalid_encoding`` for an unknown encoding name.
    """
    data = data.rstrip(b"\x1a")  # a DOS end-of-file mark is not text
    if encoding is not None:
        codec = normalize_encoding_name(encoding)
        return DecodedSubtitles(_decode_given(data, codec, display_name), SubtitleDecoding(encoding=codec,
                                source="caller"), [])
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = _decode_given(data, codec, display_name)
            return DecodedSubtitles(text, SubtitleDecoding(encoding=codec, source="byte_order_mark"), [])
    if b"\x00" not in data:
        try:
            return DecodedSubtitles(data.decode("utf-8"), SubtitleDecoding(encoding="utf-8", source="utf-8"), [])
        except UnicodeDecodeError:
            mixed = _decode_mostly_utf8(data, display_name)
            if mixed is not None:
                return mixed
    text, decoding = _detect(data, display_name, language)
    return DecodedSubtitles(text, decoding, [_decoding_issue(decoding, display_name)])


def _decode_given(data: bytes, codec: str, display_name: str) -> str:
    try:
        return data.decode(codec).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise SubtitleError(
            f"{display_name} cannot be decoded as {codec} (invalid bytes at offset {exc.start})",
            code="subtitle_decode_failed",
            hint=f"{ENCODING_HINT}; or leave the encoding out to have it detected",
            details={"file": display_name, "encoding": codec, "offset": exc.start},
        ) from exc


def _decode_mostly_utf8(data: bytes, display_name: str) -> DecodedSubtitles | None:
    """UTF-8 text with a few bytes from a legacy code page (a file edited or joined in two editors).

    Taken when the valid multi-byte UTF-8 characters outnumber the invalid bytes at least two to one: a
    legacy-encoded file almost never forms valid UTF-8 sequences by chance. The invalid bytes are read as
    cp1252 (latin-1 for the five bytes cp1252 leaves undefined) and reported with their lines, instead of
    decoding the whole file in a code page that garbles every UTF-8 character.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    runs = list(_ESCAPED_BYTES.finditer(text))
    bad = sum(len(run.group()) for run in runs)
    good = len(text) - len(text.encode("ascii", errors="ignore")) - bad  # non-ASCII characters that are UTF-8
    if good < _MIN_MIXED_UTF8 or good < 2 * bad:
        return None
    newline = "\n" if "\n" in text else "\r"
    lines = sorted({text.count(newline, 0, run.start()) + 1 for run in runs})
    repaired = _ESCAPED_BYTES.sub(_legacy_bytes_as_text, text).removeprefix("\ufeff")
    listed = ", ".join(str(line) for line in lines[:5]) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
    issue = SubtitleIssue(
        kind="mixed_encoding", severity="warning", action="repaired", file=display_name, line=lines[0],
        message=f"{display_name} line {lines[0]}: the file is UTF-8 except for {bad} byte(s) on line(s) {listed}; "
        f"they were read as cp1252. If they look wrong, pass the file's encoding with {ENCODING_OPTION}",
    )
    return DecodedSubtitles(repaired, SubtitleDecoding(encoding="utf-8", source="utf-8", confident=False,
                                                       alternatives=["cp1252"]), [issue])


def _legacy_bytes_as_text(run: re.Match[str]) -> str:
    raw = run.group().encode("utf-8", errors="surrogateescape")
    return "".join(_legacy_byte(byte) for byte in raw)


def _legacy_byte(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return bytes([byte]).decode("latin-1")


@dataclass(slots=True)
class _Candidate:
    encoding: str
    score: float
    language: str | None
    sample_text: str


def _detection_sample(data: bytes) -> bytes:
    """What chardet looks at: the file's head when it has NUL bytes (UTF-16), else its non-ASCII lines.

    Only non-ASCII bytes tell code pages apart, and in a long mostly-English file they may all lie past
    the head; lines keep enough context around them.
    """
    if b"\x00" in data[:4096] or len(data) <= _SAMPLE_BYTES:
        return data[:_SAMPLE_BYTES]
    picked: list[bytes] = []
    size = 0
    for line in data.split(b"\n"):
        if not line.isascii():
            picked.append(line)
            size += len(line) + 1
            if size >= _SAMPLE_BYTES:
                break
    return b"\n".join(picked)


def _detect(data: bytes, display_name: str, language: str | None) -> tuple[str, SubtitleDecoding]:
    import chardet  # loads its language models: only for files that need it

    sample = _detection_sample(data)
    results = chardet.detect_all(
        sample, encoding_era=chardet.EncodingEra.MODERN_WEB, prefer_superset=True, compat_names=False
    )
    candidates: list[_Candidate] = []
    failed: list[tuple[str, int]] = []  # (encoding, offset of the first bad byte)
    for result in results:
        name = result["encoding"]
        if name is None:
            continue
        try:
            sample_text = sample.decode(name)
        except UnicodeDecodeError as exc:
            failed.append((name, exc.start))
            continue
        except LookupError:
            continue
        if _CONTROL.search(sample_text) is None:
            candidates.append(_Candidate(codecs.lookup(name).name, result["confidence"], result["language"],
                                         sample_text))
    wanted = _base_language(language)
    # The track's language, when a candidate reads the text as that language, beats the scores.
    ordered = sorted(candidates, key=lambda c: 0 if wanted and _base_language(c.language) == wanted else 1)
    for chosen in ordered:
        try:
            text = data.decode(chosen.encoding).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            failed.append((chosen.encoding, exc.start))
            continue  # the sample decoded, the whole file does not
        if _CONTROL.search(text) is not None:
            continue
        best_score = max(c.score for c in candidates)
        rivals = [c.encoding for c in candidates
                  if c is not chosen and c.sample_text != chosen.sample_text and c.score >= _RIVAL_SHARE * best_score]
        by_language = bool(wanted) and _base_language(chosen.language) == wanted
        wide = chosen.encoding.startswith(("utf-16", "utf-32"))  # told apart by NUL bytes, not statistics
        enough = wide or len(sample.translate(None, _ASCII_BYTES)) >= _MIN_NON_ASCII_BYTES
        confident = by_language or (enough and not rivals)
        alternatives = rivals or ([c.encoding for c in candidates if c is not chosen
                                   and c.sample_text != chosen.sample_text][:3] if not confident else [])
        return text, SubtitleDecoding(encoding=chosen.encoding, source="detected", confident=confident,
                                      language=chosen.language, alternatives=alternatives[:3])
    if results and results[0]["encoding"] is None:
        raise SubtitleError(
            f"{display_name} is not a text file (it looks like {results[0].get('mime_type') or 'binary data'})",
            code="subtitle_not_text",
            hint="use a WebVTT, SRT or json3 subtitle file, or transcribe the audio instead ({option:route=asr})",
            details={"file": display_name, "mime_type": results[0].get("mime_type")},
        )
    why = "its encoding could not be detected"
    if failed:
        encoding, offset = failed[0]
        why = f"it looks like {encoding} but has invalid bytes at offset {offset} (a damaged or cut-off file?)"
    raise SubtitleError(
        f"{display_name} is not UTF-8 and {why}",
        code="subtitle_undecodable",
        hint=f"{ENCODING_HINT}; or re-save the file as UTF-8",
        details={"file": display_name, "tried": [name for name, _ in failed][:5]},
    )


def _base_language(code: str | None) -> str | None:
    if not code:
        return None
    return code.strip().lower().replace("_", "-").split("-", 1)[0] or None


def _decoding_issue(decoding: SubtitleDecoding, display_name: str) -> SubtitleIssue:
    language = f", {decoding.language} text" if decoding.language else ""
    if decoding.confident:
        return SubtitleIssue(
            kind="encoding_detected", severity="info", action="read", file=display_name,
            message=f"{display_name} is not UTF-8; it was read as {decoding.encoding} (detected{language})",
        )
    others = f" (it could also be {', '.join(decoding.alternatives)})" if decoding.alternatives else ""
    return SubtitleIssue(
        kind="encoding_uncertain", severity="warning", action="read", file=display_name,
        message=f"{display_name} is not UTF-8; it was read as {decoding.encoding}{language}, but detection was "
        f"not sure{others}: if the text looks wrong, pass the file's encoding with {ENCODING_OPTION}",
    )
