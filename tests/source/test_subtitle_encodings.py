"""Subtitle files in legacy encodings: detected (and said how sure), or decoded as the caller says.

The files under ``fixtures/subtitles/encodings`` are real encoded files: the same short talks written in
cp1252, latin-1, UTF-16 (with and without a byte-order mark, both byte orders), GBK, Big5 and Shift-JIS.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.source.routing import REROUTABLE_SUBTITLE_FAILURES
from kernel.source.subtitles import (
    SubtitleError,
    decode_subtitle_bytes,
    normalize_encoding_name,
    read_subtitle_file,
)
from kernel.task_runtime.errors import InvalidInputError
from scripts.words import cli_text
from tests.conftest import FIXTURES

ENCODED = FIXTURES / "subtitles" / "encodings"


def first_text(path: Path, **options: str) -> str:
    return read_subtitle_file(path, **options).segments[0].text  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "language", "encoding", "first_line"),
    [
        ("talk.fr.srt", None, "cp1252", "« Bonjour à tous », dit-elle – bienvenue dans l’émission."),
        ("talk.es.srt", "es", "cp1252", "¿Qué tal, señor? Mañana vamos a la montaña."),  # latin-1 bytes
        ("talk.en.srt", "en", "cp1252", "“Well,” she said, “it’s time — let’s go…”"),
        ("talk_le.de.srt", None, "utf-16-le", "Grüß Gott! Wir fahren über die Brücke."),
        ("talk_be.fr.vtt", None, "utf-16-be", "« Bonjour à tous », dit-elle – bienvenue dans l’émission."),
        ("talk.zh-Hans.srt", None, "gb18030", "大家好，欢迎来到我们的节目。"),  # GBK bytes; GB18030 is its superset
        ("talk.zh-Hant.srt", None, "big5hkscs", "大家好，歡迎來到我們的節目。"),  # Big5 bytes
        ("talk.ja.srt", None, "cp932", "こんにちは、今日はいい天気ですね。"),  # Shift-JIS bytes
    ],
)
def test_files_in_legacy_encodings_are_detected_and_the_encoding_is_reported(
    name: str, language: str | None, encoding: str, first_line: str
) -> None:
    parsed = read_subtitle_file(ENCODED / name, language=language)

    assert parsed.segments[0].text == first_line
    assert parsed.decoding is not None
    assert (parsed.decoding.encoding, parsed.decoding.source, parsed.decoding.confident) == (encoding, "detected", True)
    [issue] = parsed.issues
    assert (issue.kind, issue.severity, issue.file) == ("encoding_detected", "info", name)
    assert encoding in issue.message


def test_utf16_with_a_byte_order_mark_needs_no_detection() -> None:
    parsed = read_subtitle_file(ENCODED / "talk_bom.de.vtt")

    assert parsed.segments[0].text == "Grüß Gott! Wir fahren über die Brücke."
    assert parsed.decoding is not None and parsed.decoding.source == "byte_order_mark"
    assert parsed.issues == []


def test_utf8_files_are_read_as_utf8_without_detection(tmp_path: Path) -> None:
    path = tmp_path / "talk.fr.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nÀ bientôt, crème brûlée\n", encoding="utf-8")

    parsed = read_subtitle_file(path)

    assert parsed.decoding is not None and (parsed.decoding.encoding, parsed.decoding.source) == ("utf-8", "utf-8")
    assert parsed.issues == []


def test_a_utf8_byte_order_mark_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "bom8.vtt"
    path.write_bytes(b"\xef\xbb\xbf" + "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nCafé crème\n".encode())

    assert first_text(path) == "Café crème"


def test_a_short_latin_file_without_a_language_is_read_but_flagged_as_unsure_naming_the_option() -> None:
    parsed = read_subtitle_file(ENCODED / "talk.es.srt")

    assert parsed.segments[0].text == "¿Qué tal, señor? Mañana vamos a la montaña."
    assert parsed.decoding is not None and not parsed.decoding.confident
    assert parsed.decoding.alternatives
    [issue] = parsed.issues
    assert (issue.kind, issue.severity) == ("encoding_uncertain", "warning")
    assert "{option:subtitle_encoding}" in issue.message  # each front end names its own spelling
    assert "--subtitle-encoding" in cli_text(issue.message)


def test_the_track_language_settles_a_close_call_between_code_pages() -> None:
    unsure = read_subtitle_file(ENCODED / "talk.en.srt")
    sure = read_subtitle_file(ENCODED / "talk.en.srt", language="en-US")

    assert unsure.decoding is not None and not unsure.decoding.confident
    assert sure.decoding is not None and sure.decoding.confident and sure.decoding.encoding == "cp1252"


def test_an_explicit_encoding_is_used_as_given_without_detection() -> None:
    parsed = read_subtitle_file(ENCODED / "talk.es.srt", encoding="latin-1")

    assert parsed.segments[0].text == "¿Qué tal, señor? Mañana vamos a la montaña."
    assert parsed.decoding is not None
    assert (parsed.decoding.encoding, parsed.decoding.source) == ("iso8859-1", "caller")
    assert parsed.issues == []


def test_non_ascii_text_far_into_a_long_file_is_still_detected(tmp_path: Path) -> None:
    head = "".join(f"{i}\n{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d},000 --> {i // 3600:02d}:{i // 60 % 60:02d}:"
                   f"{i % 60:02d},500\nPlain words.\n\n" for i in range(1, 5000))
    tail = "5000\n02:00:00,000 --> 02:00:01,000\nÀ la fin, un café crème et une crêpe, s'il vous plaît, très chère.\n"
    path = tmp_path / "long.fr.srt"
    path.write_bytes((head + tail).encode("cp1252"))
    assert path.stat().st_size > 200_000

    parsed = read_subtitle_file(path, language="fr")

    assert parsed.segments[-1].text.startswith("À la fin, un café crème")
    assert parsed.decoding is not None and parsed.decoding.encoding == "cp1252"


def test_utf8_with_a_few_legacy_bytes_stays_utf8_and_the_odd_line_is_reported(tmp_path: Path) -> None:
    utf8 = "".join(f"{i}\n00:00:{i:02d},000 --> 00:00:{i:02d},500\nÇa va très bien, phrase n° {i}.\n\n" for i in range(1, 6))
    path = tmp_path / "joined.fr.srt"
    path.write_bytes(utf8.encode("utf-8") + "6\n00:00:07,000 --> 00:00:08,000\nUn café crème.\n".encode("cp1252"))

    parsed = read_subtitle_file(path)

    assert [s.text for s in parsed.segments] == [f"Ça va très bien, phrase n° {i}." for i in range(1, 6)] + [
        "Un café crème."
    ]
    [issue] = parsed.issues
    assert (issue.kind, issue.severity, issue.line) == ("mixed_encoding", "warning", 23)
    assert "--subtitle-encoding" in cli_text(issue.message)


# --- failures -----------------------------------------------------------------------------------------------


def test_a_binary_file_is_not_text_and_transcribing_the_audio_is_the_way_out() -> None:
    with pytest.raises(SubtitleError) as caught:
        read_subtitle_file(ENCODED / "picture.en.srt")

    assert caught.value.code == "subtitle_not_text"
    assert "picture.en.srt" in str(caught.value)
    assert caught.value.code in REROUTABLE_SUBTITLE_FAILURES


def test_a_cut_off_utf16_file_is_undecodable_with_a_hint_naming_the_option(tmp_path: Path) -> None:
    path = tmp_path / "cut.de.srt"
    path.write_bytes((ENCODED / "talk_le.de.srt").read_bytes()[:-1])

    with pytest.raises(SubtitleError) as caught:
        read_subtitle_file(path)

    assert caught.value.code == "subtitle_undecodable"
    assert "cut.de.srt" in str(caught.value) and "utf-16-le" in str(caught.value)
    assert caught.value.hint is not None and "--subtitle-encoding" in cli_text(caught.value.hint)
    assert caught.value.code in REROUTABLE_SUBTITLE_FAILURES


def test_a_wrong_explicit_encoding_is_reported_and_not_rerouted() -> None:
    with pytest.raises(SubtitleError) as caught:
        read_subtitle_file(ENCODED / "talk.fr.srt", encoding="utf-8", display_name="talk.fr.srt")

    assert caught.value.code == "subtitle_decode_failed"
    assert caught.value.details["encoding"] == "utf-8"
    assert caught.value.code not in REROUTABLE_SUBTITLE_FAILURES


def test_garbage_after_an_explicit_encoding_says_which_encoding_was_used() -> None:
    with pytest.raises(SubtitleError) as caught:
        read_subtitle_file(ENCODED / "talk_le.de.srt", encoding="cp1252")

    assert caught.value.code == "subtitle_garbled"
    assert caught.value.details["decoded_as"] == "cp1252"
    assert caught.value.hint is not None and "--subtitle-encoding" in cli_text(caught.value.hint)


@pytest.mark.parametrize("name", ["no-such-codec", "rot13", "base64", ""])
def test_unknown_or_non_text_encoding_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        normalize_encoding_name(name)
    assert caught.value.code == "invalid_encoding"

    with pytest.raises(InvalidInputError):
        decode_subtitle_bytes(b"1\n00:00:01,000 --> 00:00:02,000\nhi\n", encoding=name)


def test_encoding_names_are_normalized_to_python_codec_names() -> None:
    assert [normalize_encoding_name(n) for n in ("UTF8", "latin1", "Windows-1252", "sjis", "GBK")] == [
        "utf-8", "iso8859-1", "cp1252", "shift_jis", "gbk",
    ]


def test_a_dos_end_of_file_mark_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "old.srt"
    path.write_bytes(b"1\r\n00:00:01,000 --> 00:00:02,000\r\nOld file.\r\n\x1a")

    parsed = read_subtitle_file(path)

    assert [s.text for s in parsed.segments] == ["Old file."]
