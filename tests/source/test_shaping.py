"""Segment shaping: stable subtitle lines that keep every word, respect limits and never overlap."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from kernel.source.shaping import shape_subtitle_lines
from kernel.task_runtime.errors import InvalidInputError
from kernel.transcript import Segment, Word

LONG_TEXT = (
    "Welcome back to the kitchen. Today we are going to look at how sourdough works, why it rises so "
    "slowly, and what the starter actually does inside the dough while it ferments overnight in a cold "
    "fridge. Then we shape it, score it and bake it in a very hot oven until the crust is dark."
)


def speech_words(lines: list[Segment]) -> list[str]:
    return " ".join(line.text for line in lines if line.kind == "speech").split()


def timed_words(text: str, start: float, step: float = 0.4, length: float = 0.3) -> list[Word]:
    return [Word(start=start + i * step, end=start + i * step + length, text=w) for i, w in enumerate(text.split())]


def assert_well_formed(lines: list[Segment]) -> None:
    for line in lines:
        assert line.start <= line.end
    for line, following in pairwise(lines):
        assert line.end <= following.start


def test_long_segment_without_words_is_split_within_limits_keeping_every_word() -> None:
    segment = Segment(start=10.0, end=40.0, text=LONG_TEXT)

    lines = shape_subtitle_lines([segment])

    assert len(lines) > 3
    assert speech_words(lines) == LONG_TEXT.split()
    assert all(len(line.text) <= 84 and line.end - line.start <= 7.0 for line in lines)
    assert lines[0].start == 10.0 and lines[-1].end == 40.0
    assert_well_formed(lines)


def test_splits_prefer_sentence_ends_then_commas_over_plain_word_boundaries() -> None:
    text = (
        "The first sentence here has quite a few words in it. The second one is a bit longer, "
        "and it carries on with more words after a comma so the line must be split somewhere"
    )

    lines = shape_subtitle_lines([Segment(start=0.0, end=12.0, text=text)], max_duration=30.0, max_chars=70)

    assert lines[0].text == "The first sentence here has quite a few words in it."
    assert lines[1].text == "The second one is a bit longer,"
    assert speech_words(lines) == text.split()


def test_a_tiny_sentence_at_the_start_is_not_stranded_on_its_own_line() -> None:
    text = "Yes. " + "and then we kept talking about the weather for quite a long time without any pause at all"

    lines = shape_subtitle_lines([Segment(start=0.0, end=6.0, text=text)], max_duration=30.0, max_chars=60)

    assert lines[0].text != "Yes."
    assert speech_words(lines) == text.split()


def test_word_timings_give_the_line_boundaries() -> None:
    words = timed_words(LONG_TEXT, start=100.0)
    segment = Segment(start=100.0, end=words[-1].end, text=LONG_TEXT, words=words)

    lines = shape_subtitle_lines([segment])

    starts_of_words = {word.start for word in words}
    assert all(line.start in starts_of_words for line in lines)
    for line in lines:
        assert line.words is not None
        assert " ".join(w.text for w in line.words) == line.text
    assert [w.text for line in lines for w in line.words or ()] == LONG_TEXT.split()


def test_short_pieces_are_merged_with_a_neighbour_when_limits_allow() -> None:
    segments = [
        Segment(start=0.0, end=0.4, text="Okay."),
        Segment(start=0.5, end=3.0, text="Let us begin with the basics."),
        Segment(start=10.0, end=12.0, text="Much later, a separate line."),
    ]

    lines = shape_subtitle_lines(segments)

    assert [line.text for line in lines] == ["Okay. Let us begin with the basics.", "Much later, a separate line."]
    assert (lines[0].start, lines[0].end) == (0.0, 3.0)


def test_a_short_line_that_cannot_merge_is_shown_longer_but_never_over_the_next() -> None:
    segments = [
        Segment(start=0.0, end=0.3, text="Hi!"),
        Segment(start=0.6, end=2.0, text="[Music]", kind="non_speech"),
        Segment(start=5.0, end=5.2, text="Bye."),
    ]

    lines = shape_subtitle_lines(segments)

    assert [(line.text, line.start, line.end) for line in lines] == [
        ("Hi!", 0.0, 0.6),
        ("[Music]", 0.6, 2.0),
        ("Bye.", 5.0, 6.0),
    ]


def test_non_speech_segments_stay_lines_of_their_own() -> None:
    segments = [
        Segment(start=0.0, end=2.0, text="so here we go"),
        Segment(start=2.0, end=2.5, text="[applause]", kind="non_speech"),
        Segment(start=2.5, end=3.0, text="thank you"),
    ]

    lines = shape_subtitle_lines(segments)

    assert [(line.kind, line.text) for line in lines] == [
        ("speech", "so here we go"),
        ("non_speech", "[applause]"),
        ("speech", "thank you"),
    ]


def test_overlapping_segments_become_ordered_non_overlapping_lines() -> None:
    segments = [
        Segment(start=5.0, end=9.0, text="second speaker talks over", speaker="B"),
        Segment(start=1.0, end=6.0, text="first speaker starts", speaker="A"),
        Segment(start=5.0, end=7.0, text="same start as the second", speaker="C"),
    ]

    lines = shape_subtitle_lines(segments)

    assert [line.speaker for line in lines] == ["A", "B", "C"]
    assert_well_formed(lines)
    assert sorted(speech_words(lines)) == sorted(" ".join(s.text for s in segments).split())


def test_a_speaker_change_inside_a_segment_starts_a_new_line() -> None:
    words = [
        Word(start=0.0, end=0.3, text="Are", speaker="0"),
        Word(start=0.4, end=0.7, text="you", speaker="0"),
        Word(start=0.8, end=1.1, text="ready?", speaker="0"),
        Word(start=1.5, end=1.8, text="Yes,", speaker="1"),
        Word(start=1.9, end=2.2, text="totally.", speaker="1"),
    ]
    segment = Segment(start=0.0, end=2.2, text="Are you ready? Yes, totally.", words=words)

    lines = shape_subtitle_lines([segment], min_duration=0.0)

    assert [(line.speaker, line.text) for line in lines] == [("0", "Are you ready?"), ("1", "Yes, totally.")]


def test_cjk_text_is_split_between_characters_without_adding_spaces() -> None:
    text = (
        "今天我们来聊一聊人工智能的发展历史，从最早的符号主义到后来的连接主义，再到今天的大模型时代。"
        "这是一个很长的故事我们慢慢讲给大家听希望大家能够喜欢这个系列的视频内容也欢迎大家在评论区留言讨论"
    )

    lines = shape_subtitle_lines([Segment(start=0.0, end=30.0, text=text)], max_chars=30, max_duration=10.0)

    assert "".join(line.text for line in lines) == text
    assert all(" " not in line.text and len(line.text) <= 30 for line in lines)
    assert lines[0].text.endswith("，")


def test_random_transcripts_keep_every_word_in_order_within_limits() -> None:
    vocabulary = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "mu.", "nu,", "xi", "omicron", "pi?"]
    for seed in range(5):
        rng = random.Random(seed)
        segments: list[Segment] = []
        clock = 0.0
        for _ in range(40):
            count = rng.randint(1, 40)
            text = " ".join(rng.choice(vocabulary) for _ in range(count))
            with_words = rng.random() < 0.5
            words = timed_words(text, clock, step=0.35, length=0.3) if with_words else None
            end = clock + count * 0.35
            segments.append(Segment(start=round(clock, 3), end=round(end, 3), text=text, words=words))
            clock = end + rng.choice([0.0, 0.2, 1.5])

        lines = shape_subtitle_lines(segments)

        assert speech_words(lines) == " ".join(s.text for s in segments).split()
        assert_well_formed(lines)
        assert all(len(line.text) <= 84 and line.end - line.start <= 7.0 + 1e-6 for line in lines)


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        shape_subtitle_lines([], max_chars=0)

    assert caught.value.code == "invalid_shaping_limits"
