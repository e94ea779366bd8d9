"""Subtitle parsing: real-world VTT/SRT/json3 shapes, rolling duplicates, non-speech cues, bad inputs.

Damaged cues, timestamp variants, speakers and encodings have their own modules
(``test_subtitle_repairs``, ``test_subtitle_speakers``, ``test_subtitle_encodings``).
"""

from __future__ import annotations

import gc
from itertools import pairwise
from pathlib import Path

import pytest

from kernel.source.subtitles import (
    SubtitleError,
    assess_subtitle_usability,
    detect_subtitle_format,
    parse_subtitle_text,
    read_subtitle_file,
    subtitle_display_name,
    subtitle_stats,
)
from kernel.text import count_words, join_text_pieces
from kernel.transcript import Segment, SubtitleTrack
from tests.conftest import FIXTURES

SUBTITLES = FIXTURES / "subtitles"


def speech_texts(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments if s.kind == "speech"]


def all_speech_words(segments: list[Segment]) -> list[str]:
    return " ".join(speech_texts(segments)).split()


# --- YouTube auto-captions -------------------------------------------------------------------------------


def test_rolling_youtube_auto_captions_keep_every_word_exactly_once() -> None:
    segments = read_subtitle_file(SUBTITLES / "youtube_auto.en.vtt").segments

    assert " ".join(speech_texts(segments)) == (
        "hey everyone welcome back to the channel today we're going to talk about sourdough bread and how "
        "to bake it at home & save money no no no no no no"
    )


def test_a_phrase_really_said_twice_survives_rolling_deduplication() -> None:
    segments = read_subtitle_file(SUBTITLES / "youtube_auto.en.vtt").segments

    assert speech_texts(segments)[-2:] == ["no no no", "no no no"]
    assert segments[-2].start == pytest.approx(13.519)
    assert segments[-1].start == pytest.approx(16.01)


def test_ten_millisecond_transition_cues_produce_no_segments() -> None:
    segments = read_subtitle_file(SUBTITLES / "youtube_auto.en.vtt").segments

    assert all(s.end - s.start > 0.05 for s in segments)


def test_inline_word_timings_become_segment_words() -> None:
    segments = read_subtitle_file(SUBTITLES / "youtube_auto.en.vtt").segments
    first_speech = next(s for s in segments if s.kind == "speech")

    assert first_speech.words is not None
    assert [w.text for w in first_speech.words] == first_speech.text.split()
    assert [w.start for w in first_speech.words] == pytest.approx([3.2, 3.52, 3.84, 4.16, 4.4, 4.56, 4.72])
    for word, following in pairwise(first_speech.words):
        assert word.start <= word.end <= following.start
    assert first_speech.words[-1].end <= first_speech.end


def test_caption_word_ends_leave_pauses_visible() -> None:
    text = "WEBVTT\n\n00:00:00.000 --> 00:00:06.000\nso<00:00:00.300><c> then</c><00:00:05.000><c> later</c>\n"

    words = parse_subtitle_text(text).segments[0].words

    assert words is not None
    assert words[1].start == pytest.approx(0.3)
    assert words[1].end < 2.0  # "then" does not stretch over the 4.7 s silence before "later"
    assert words[2].start == pytest.approx(5.0)


def test_rolling_music_cue_becomes_one_non_speech_segment() -> None:
    segments = read_subtitle_file(SUBTITLES / "youtube_auto.en.vtt").segments

    non_speech = [s for s in segments if s.kind == "non_speech"]
    assert [(s.text, s.start, s.end) for s in non_speech] == [("[Music]", 0.0, 3.2)]
    assert all("Music" not in s.text for s in segments if s.kind == "speech")


def test_old_color_style_auto_captions_are_parsed_and_inline_music_is_dropped() -> None:
    segments = read_subtitle_file(SUBTITLES / "youtube_auto_old_style.en.vtt").segments

    assert speech_texts(segments) == ["so in this video", "we will learn knots"]
    assert segments[1].words is not None
    assert [w.text for w in segments[1].words] == ["we", "will", "learn", "knots"]


def test_japanese_auto_captions_join_words_without_spaces() -> None:
    segments = read_subtitle_file(SUBTITLES / "youtube_auto.ja.vtt").segments

    assert speech_texts(segments) == ["こんにちは今日は", "いい天気です"]
    assert segments[1].words is not None
    assert [w.text for w in segments[1].words] == ["いい", "天気", "です"]


def test_rolling_srt_converted_from_auto_captions_loses_and_repeats_nothing() -> None:
    segments = read_subtitle_file(SUBTITLES / "auto_rolling.en.srt").segments

    assert speech_texts(segments) == [
        "so today we're going to",
        "look at the new release",
        "and what changed in it",
    ]
    assert [s.start for s in segments] == pytest.approx([0.08, 2.879, 5.52])


def test_live_captions_that_grow_a_line_keep_only_the_new_words() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nwe are\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\nwe are live\n\n"
        "3\n00:00:03,000 --> 00:00:04,000\nwe are live from Paris\n\n"
        "4\n00:00:04,000 --> 00:00:05,000\nwe are live from Paris\ntoday\n"
    )

    segments = parse_subtitle_text(text).segments

    assert " ".join(speech_texts(segments)) == "we are live from Paris today"


# --- manual WebVTT and SRT -------------------------------------------------------------------------------


def test_manual_vtt_skips_header_style_region_note_and_cue_identifiers() -> None:
    segments = read_subtitle_file(SUBTITLES / "manual.en.vtt").segments
    joined = " ".join(s.text for s in segments)

    for block_text in ("color", "yellow", "fred", "width", "hand", "intro-1", "Lecture"):
        assert block_text not in joined
    assert speech_texts(segments)[0] == "We are in New York City"


def test_voice_tags_become_segment_speakers() -> None:
    segments = read_subtitle_file(SUBTITLES / "manual.en.vtt").segments

    assert [s.speaker for s in segments[:3]] == ["Roger Bingham", "Roger Bingham", "Neil deGrasse Tyson"]
    assert segments[3].speaker is None


def test_html_entities_are_decoded() -> None:
    segments = read_subtitle_file(SUBTITLES / "manual.en.vtt").segments

    assert segments[1].text == "We're actually at the Lucern Hotel, just down the street"
    assert segments[2].text == "Tom & Jerry > everything else"


def test_formatting_tags_and_inline_annotations_are_removed_from_speech() -> None:
    segments = read_subtitle_file(SUBTITLES / "manual.en.vtt").segments

    assert segments[3].text == "Italic and bold text stays clean"
    assert segments[3].kind == "speech"


def test_non_speech_cues_are_marked_and_never_mixed_into_speech() -> None:
    segments = read_subtitle_file(SUBTITLES / "manual.en.vtt").segments

    non_speech = [(s.text, s.kind) for s in segments if s.kind == "non_speech"]
    assert non_speech == [("[applause]", "non_speech"), ("(laughter)", "non_speech"), ("♪♪", "non_speech")]


def test_cue_with_music_and_speech_lines_is_split_into_two_segments() -> None:
    text = "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n♪ la la la ♪\nAnd we are back.\n"

    segments = parse_subtitle_text(text).segments

    assert [(s.kind, s.text) for s in segments] == [("non_speech", "♪ la la la ♪"), ("speech", "And we are back.")]
    assert segments[0].end <= segments[1].start


def test_unpadded_hours_and_minute_only_timestamps_are_read() -> None:
    segments = read_subtitle_file(SUBTITLES / "manual.en.vtt").segments

    assert (segments[-2].start, segments[-2].end) == (17.5, 19.0)
    assert (segments[-1].start, segments[-1].end) == (3723.0, 3725.5)


def test_srt_with_crlf_comma_millis_and_markup_is_parsed() -> None:
    assert b"\r\n" in (SUBTITLES / "manual_crlf.en.srt").read_bytes()

    segments = read_subtitle_file(SUBTITLES / "manual_crlf.en.srt").segments

    assert [(s.start, s.end, s.kind, s.text) for s in segments] == [
        (1.0, 3.5, "speech", "Hello and welcome."),
        (3.5, 6.0, "speech", "This is Dr. Smith, speaking from the lab."),
        (6.5, 8.0, "non_speech", "[MUSIC PLAYING]"),
        (8.0, 10.25, "speech", "The result was 3.5 times better."),
    ]


def test_srt_without_blank_lines_between_cues_still_separates_them() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nFirst line.\n2\n00:00:02,500 --> 00:00:03,000\nSecond line.\n"

    segments = parse_subtitle_text(text).segments

    assert speech_texts(segments) == ["First line.", "Second line."]


def test_identical_touching_cues_stay_two_utterances() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nNo.\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\nNo.\n\n"
        "3\n00:00:09,000 --> 00:00:10,000\nNo.\n"
    )

    parsed = parse_subtitle_text(text)

    assert [(s.start, s.end, s.text) for s in parsed.segments] == [(1.0, 2.0, "No."), (2.0, 3.0, "No."), (9.0, 10.0, "No.")]
    assert parsed.issues == []


def test_a_file_of_repeated_short_answers_is_not_mistaken_for_rolling_captions() -> None:
    text = "".join(f"{i}\n00:00:{i:02d},000 --> 00:00:{i:02d},800\nNo.\n\n" for i in range(1, 6))

    parsed = parse_subtitle_text(text)

    assert [s.text for s in parsed.segments] == ["No."] * 5
    assert parsed.issues == []


def test_chinese_lines_of_one_cue_join_without_spaces() -> None:
    segments = read_subtitle_file(SUBTITLES / "chinese.zh.vtt").segments

    assert [(s.kind, s.text) for s in segments] == [
        ("speech", "大家好"),
        ("speech", "今天我们来聊一聊人工智能"),
        ("non_speech", "[音乐]"),
    ]


def test_youtube_json3_events_become_timed_segments() -> None:
    segments = read_subtitle_file(SUBTITLES / "youtube.en.json3").segments

    assert [(s.kind, s.text) for s in segments] == [
        ("non_speech", "[Music]"),
        ("speech", "welcome to the show"),
        ("speech", "tonight we cook"),
    ]
    words = segments[1].words
    assert words is not None
    assert [w.start for w in words] == pytest.approx([4.12, 4.52, 4.68, 4.92])
    assert segments[1].end <= segments[2].start


def test_format_is_detected_from_the_content() -> None:
    assert detect_subtitle_format("\ufeffWEBVTT\n\n00:01.000 --> 00:02.000\nhi\n") == "vtt"
    assert detect_subtitle_format("1\n00:00:01,000 --> 00:00:02,000\nhi\n") == "srt"
    assert detect_subtitle_format('{"events": []}') == "json3"
    assert detect_subtitle_format("just some words") is None


# --- bad inputs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "",
        "   \n\n\t\n",
        "WEBVTT\n",
        "WEBVTT\nKind: captions\nLanguage: en\n\nNOTE nothing here yet\n\nSTYLE\n::cue { color: red; }\n",
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n \n\n00:00:03.000 --> 00:00:04.000\n<c></c>\n",
        '{"events": [{"tStartMs": 0, "dDurationMs": 10, "segs": [{"utf8": "\\n"}]}]}',
    ],
    ids=["empty", "whitespace", "header", "header-and-blocks", "empty-cues", "json3-no-text"],
)
def test_empty_subtitles_are_reported_as_empty(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.vtt"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(SubtitleError) as caught:
        read_subtitle_file(path)

    assert caught.value.code == "subtitle_empty"


@pytest.mark.parametrize(
    "content",
    [
        "this is just a paragraph of prose\nwith no timing at all\n",
        "WEBVTT\n\nhello there\nno cue timings\n",
        "{not json at all",
        '{"wireMagic": "pb3"}',
        "1\n00:00:01 -> 00:00:02\nbroken arrow\n",
    ],
    ids=["prose", "vtt-without-timings", "bad-json", "json-without-events", "bad-arrow"],
)
def test_text_without_parsable_cues_is_reported_as_garbled(content: str) -> None:
    with pytest.raises(SubtitleError) as caught:
        parse_subtitle_text(content, display_name="sample.vtt")

    assert caught.value.code == "subtitle_garbled"
    assert caught.value.hint


def test_missing_file_or_directory_is_reported_as_not_found(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.vtt", tmp_path):
        with pytest.raises(SubtitleError) as caught:
            read_subtitle_file(path)
        assert caught.value.code == "subtitle_not_found"


def test_errors_and_issues_name_the_users_file_not_the_work_dir_copy(tmp_path: Path) -> None:
    copy = tmp_path / "subtitles.srt"
    copy.write_text("1\n00:00:01,000 --> 00:00:02,000\nOne.\n\n2\n00:00:0x,000 --> 00:00:03,000\nTwo.\n", "utf-8")
    parsed = read_subtitle_file(copy, display_name="talk.en.srt")
    garbled = tmp_path / "subtitles.vtt"
    garbled.write_text("no cues here at all\n", encoding="utf-8")

    with pytest.raises(SubtitleError) as caught:
        read_subtitle_file(garbled, display_name="talk.en.vtt")

    assert [issue.file for issue in parsed.issues] == ["talk.en.srt"]
    assert "subtitles.srt" not in parsed.issues[0].message
    assert "talk.en.vtt" in str(caught.value) and "subtitles.vtt" not in str(caught.value)
    assert caught.value.details["file"] == "talk.en.vtt"


def test_tracks_are_named_in_messages_by_what_the_user_knows() -> None:
    sidecar = SubtitleTrack(language="en", origin="sidecar", ext="srt", path="talk.en.srt")
    embedded = SubtitleTrack(language="de", origin="embedded", ext="vtt", stream_index=2)
    remote = SubtitleTrack(language="en", kind="automatic", origin="remote", ext="vtt", url="https://x/t.vtt")

    assert subtitle_display_name(sidecar, "talk.mp4") == "talk.en.srt"
    assert subtitle_display_name(embedded, "talk.mkv") == "subtitle stream #2 of talk.mkv"
    assert subtitle_display_name(remote, "How we made builds faster") == (
        "the en automatic captions of How we made builds faster"
    )


# --- statistics and usability --------------------------------------------------------------------------


def test_subtitle_stats_count_cues_words_and_covered_time() -> None:
    segments = read_subtitle_file(SUBTITLES / "manual_crlf.en.srt").segments

    assert subtitle_stats(segments) == {
        "cues": 4,
        "speech_cues": 3,
        "non_speech_cues": 1,
        "words": 17,
        "duration_covered": 8.75,
    }


def _speech(start: float, end: float, text: str) -> Segment:
    return Segment(start=start, end=end, text=text)


def test_normal_subtitles_are_usable() -> None:
    segments = [_speech(i * 4.0, i * 4.0 + 4.0, "this is a normal line of speech with ten words") for i in range(30)]

    usability = assess_subtitle_usability(segments, duration=120.0)

    assert usability.usable
    assert usability.reasons == []
    assert usability.words_per_minute == pytest.approx(150.0)


def test_no_cues_is_unusable() -> None:
    usability = assess_subtitle_usability([], duration=300.0)

    assert not usability.usable
    assert usability.reasons


def test_subtitles_that_are_mostly_music_are_unusable() -> None:
    segments = [Segment(start=i * 5.0, end=i * 5.0 + 5.0, text="[Music]", kind="non_speech") for i in range(8)]
    segments.append(_speech(40.0, 42.0, "thanks for watching everyone see you next time"))

    usability = assess_subtitle_usability(segments, duration=45.0)

    assert not usability.usable
    assert usability.non_speech_share > 0.6


def test_far_too_few_words_for_the_duration_is_unusable() -> None:
    segments = [_speech(10.0, 12.0, "hello"), _speech(300.0, 302.0, "bye now")]

    usability = assess_subtitle_usability(segments, duration=600.0)

    assert not usability.usable
    assert usability.words_per_minute == pytest.approx(0.3)
    assert len(usability.reasons) == 1


def test_short_clips_are_not_judged_by_word_rate() -> None:
    usability = assess_subtitle_usability([_speech(0.0, 2.0, "hi")], duration=30.0)

    assert usability.usable


def test_cjk_subtitles_count_two_characters_as_a_word() -> None:
    line = "今天我们来聊一聊人工智能的历史"  # 15 characters -> 8 words
    dense = [_speech(i * 2.0, i * 2.0 + 2.0, line) for i in range(30)]  # 450 chars in 60 s

    usability = assess_subtitle_usability(dense, duration=60.0)

    assert usability.usable
    assert usability.speech_words == 225
    assert not assess_subtitle_usability(dense[:1], duration=600.0).usable


# --- text helpers ----------------------------------------------------------------------------------------


def test_joining_pieces_never_puts_spaces_between_cjk_characters() -> None:
    assert join_text_pieces(["今天", "我们", "来聊一聊。", "好的"]) == "今天我们来聊一聊。好的"
    assert join_text_pieces(["こんにちは", "世界"]) == "こんにちは世界"
    assert join_text_pieces([" hello ", "", "world ", ",", "again"]) == "hello world, again"
    assert join_text_pieces(["我们用", "Python", "。"]) == "我们用 Python。"


def test_word_counts_work_for_latin_and_cjk_text() -> None:
    assert count_words("Don't stop: it's 3.5 times state-of-the-art!") == 6
    assert count_words("人工智能") == 2
    assert count_words("我用 Python 写代码") == 1 + 3  # 1 Latin word + 5 CJK characters (rounded up)


def test_speaker_change_chevrons_are_removed_from_speech() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n&gt;&gt; Welcome back.\n>> Thanks for having me.\n"

    segments = parse_subtitle_text(text).segments

    assert speech_texts(segments) == ["Welcome back. Thanks for having me."]


def test_parsing_leaves_the_garbage_collector_as_it_was() -> None:
    assert gc.isenabled()
    read_subtitle_file(SUBTITLES / "youtube_auto.en.vtt")
    with pytest.raises(SubtitleError):
        parse_subtitle_text('{"events": []}')

    assert gc.isenabled()


def test_sound_descriptions_in_parentheses_are_removed_but_parenthetical_speech_stays() -> None:
    text = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nSo I said (laughs) no way [APPLAUSE]\n\n"
        "00:00:03.000 --> 00:00:05.000\nIt was (and still is) great\n"
    )

    assert speech_texts(parse_subtitle_text(text).segments) == ["So I said no way", "It was (and still is) great"]
