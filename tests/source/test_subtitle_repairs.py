"""Damaged cues are kept or reported, never lost silently; common timestamp variants are read."""

from __future__ import annotations

import pytest

from kernel.source.subtitles import (
    SubtitleError,
    parse_subtitle_text,
    read_subtitle_file,
    summarize_subtitle_issues,
)
from kernel.transcript import SubtitleIssue
from tests.conftest import FIXTURES

DAMAGED = FIXTURES / "subtitles" / "damaged.en.srt"


def srt(*cues: tuple[str, str]) -> str:
    """An SRT document of (timing line, text) cues."""
    return "\n".join(f"{index}\n{timing}\n{text}\n" for index, (timing, text) in enumerate(cues, 1))


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line of ``text`` containing ``needle``."""
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def kinds(issues: list[SubtitleIssue]) -> list[str]:
    return [issue.kind for issue in issues]


# --- timing lines that cannot be read ----------------------------------------------------------------------


def test_a_cue_whose_timing_line_cannot_be_read_is_kept_between_its_neighbours_and_reported() -> None:
    text = srt(
        ("00:00:01,000 --> 00:00:02,000", "Before."),
        ("00:00:0?,000 --> 00:00:0?,500", "The damaged cue."),
        ("00:00:06,000 --> 00:00:07,000", "After."),
    )

    parsed = parse_subtitle_text(text, display_name="talk.en.srt")

    assert [(s.start, s.end, s.text) for s in parsed.segments] == [
        (1.0, 2.0, "Before."),
        (2.0, 6.0, "The damaged cue."),
        (6.0, 7.0, "After."),
    ]
    [issue] = parsed.issues
    assert (issue.kind, issue.severity, issue.action) == ("timing_unreadable", "warning", "repaired")
    assert (issue.file, issue.line) == ("talk.en.srt", line_of(text, "0?"))
    assert issue.message.startswith(f"talk.en.srt line {issue.line}: ")
    assert "The damaged cue." in issue.message


def test_the_readable_half_of_a_damaged_timing_line_is_kept() -> None:
    text = srt(
        ("00:00:01,000 --> 00:00:02,000", "Before."),
        ("00:00:03,000 --> 00:00:0x,500", "Start readable."),
        ("00:00:06,000 --> 00:00:07,000", "After."),
    )

    segment = parse_subtitle_text(text).segments[1]

    assert (segment.start, segment.end) == (3.0, 6.0)


def test_a_timing_line_with_a_malformed_arrow_is_read_and_reported() -> None:
    text = srt(
        ("00:00:01,000 --> 00:00:02,000", "Before."),
        ("00:00:03,000 -> 00:00:04,500", "Short arrow."),
        ("00:00:06,000 --> 00:00:07,000", "After."),
    )

    parsed = parse_subtitle_text(text)

    assert (parsed.segments[1].start, parsed.segments[1].end, parsed.segments[1].text) == (3.0, 4.5, "Short arrow.")
    assert kinds(parsed.issues) == ["timing_unreadable"]
    assert parsed.issues[0].line == line_of(text, " -> ")
    assert "read as 00:00:03.000 --> 00:00:04.500" in parsed.issues[0].message


def test_a_damaged_timing_line_inside_a_cue_opens_a_new_cue_instead_of_becoming_text() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nFirst.\n00:00:03,000 --> 00:00:0x,000\nSecond.\n"

    parsed = parse_subtitle_text(text)

    assert [s.text for s in parsed.segments] == ["First.", "Second."]
    assert kinds(parsed.issues) == ["timing_unreadable"]


def test_text_whose_only_timing_lines_are_damaged_is_garbled_and_the_message_names_the_line() -> None:
    with pytest.raises(SubtitleError) as caught:
        parse_subtitle_text("1\n00:00:01 -> 00:00:02\nbroken arrow\n", display_name="talk.en.srt")

    assert caught.value.code == "subtitle_garbled"
    assert "talk.en.srt" in str(caught.value) and "line 2" in str(caught.value)


# --- impossible times ---------------------------------------------------------------------------------------


def test_a_negative_start_is_moved_to_zero_and_reported() -> None:
    text = srt(("-00:00:00,500 --> 00:00:01,500", "Too early."), ("00:00:02,000 --> 00:00:03,000", "On time."))

    parsed = parse_subtitle_text(text)

    assert [(s.start, s.end, s.text) for s in parsed.segments] == [(0.0, 1.5, "Too early."), (2.0, 3.0, "On time.")]
    assert kinds(parsed.issues) == ["negative_time"]
    assert parsed.issues[0].line == 2


def test_a_cue_entirely_before_zero_keeps_its_text_at_the_start() -> None:
    text = srt(("-00:00:03,000 --> -00:00:01,000", "Way too early."), ("00:00:02,000 --> 00:00:03,000", "On time."))

    parsed = parse_subtitle_text(text)

    assert [(s.start, s.end, s.text) for s in parsed.segments] == [(0.0, 2.0, "Way too early."), (2.0, 3.0, "On time.")]
    assert kinds(parsed.issues) == ["negative_time"]


def test_a_cue_that_ends_before_it_starts_ends_where_the_next_cue_starts() -> None:
    text = srt(("00:00:05,000 --> 00:00:04,000", "Backwards."), ("00:00:07,000 --> 00:00:08,000", "Next."))

    parsed = parse_subtitle_text(text)

    assert (parsed.segments[0].start, parsed.segments[0].end) == (5.0, 7.0)
    assert kinds(parsed.issues) == ["end_before_start"]
    assert "00:00:04.000" in parsed.issues[0].message and "00:00:07.000" in parsed.issues[0].message


def test_the_last_cue_with_an_unreadable_end_gets_an_end_estimated_from_its_length() -> None:
    text = srt(("00:00:01,000 --> 00:00:02,000", "First."), ("00:00:05,000 --> 00:00:0x,000", "A last cue of thirty chars."))

    segment = parse_subtitle_text(text).segments[-1]

    assert segment.start == 5.0
    assert 6.0 <= segment.end <= 11.0


# --- order, overlaps, repeats -------------------------------------------------------------------------------


def test_out_of_order_cues_are_put_in_time_order_and_each_moved_cue_is_reported() -> None:
    text = srt(
        ("00:00:01,000 --> 00:00:02,000", "One."),
        ("00:00:05,000 --> 00:00:06,000", "Three."),
        ("00:00:03,000 --> 00:00:04,000", "Two."),
        ("00:00:07,000 --> 00:00:08,000", "Four."),
    )

    parsed = parse_subtitle_text(text)

    assert [s.text for s in parsed.segments] == ["One.", "Two.", "Three.", "Four."]
    assert kinds(parsed.issues) == ["out_of_order"]
    assert parsed.issues[0].line == line_of(text, "00:00:03,000")
    assert f"line {line_of(text, '00:00:05,000')}" in parsed.issues[0].message


def test_overlapping_cues_are_both_kept_and_the_overlap_is_reported() -> None:
    text = srt(("00:00:01,000 --> 00:00:04,000", "Talking."), ("00:00:03,000 --> 00:00:05,000", "Interrupting."))

    parsed = parse_subtitle_text(text)

    assert [(s.start, s.end) for s in parsed.segments] == [(1.0, 4.0), (3.0, 5.0)]
    assert [(i.kind, i.action, i.line) for i in parsed.issues] == [("overlap", "kept", line_of(text, "00:00:03,000"))]


def test_a_few_milliseconds_of_overlap_is_rounding_not_an_overlap() -> None:
    text = srt(("00:00:01,000 --> 00:00:02,020", "One."), ("00:00:02,000 --> 00:00:03,000", "Two."))

    assert parse_subtitle_text(text).issues == []


def test_an_exact_duplicate_cue_is_dropped_and_reported() -> None:
    text = srt(
        ("00:00:01,000 --> 00:00:02,000", "Said once."),
        ("00:00:01,000 --> 00:00:02,000", "Said once."),
        ("00:00:03,000 --> 00:00:04,000", "Next."),
    )

    parsed = parse_subtitle_text(text)

    assert [s.text for s in parsed.segments] == ["Said once.", "Next."]
    assert [(i.kind, i.action) for i in parsed.issues] == [("duplicate_cue", "dropped")]


def test_rolling_auto_captions_overlap_by_design_and_are_not_reported_as_overlaps() -> None:
    parsed = read_subtitle_file(FIXTURES / "subtitles" / "youtube_auto.en.vtt")

    assert [(i.kind, i.severity) for i in parsed.issues] == [("rolling_captions", "info")]


def test_a_timing_line_without_text_is_noted_as_an_empty_cue() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n\n00:00:03.000 --> 00:00:04.000\nText.\n"

    parsed = parse_subtitle_text(text)

    assert [s.text for s in parsed.segments] == ["Text."]
    assert [(i.kind, i.severity, i.line) for i in parsed.issues] == [("empty_cue", "info", 3)]


def test_a_json3_event_without_a_start_time_is_placed_after_the_event_before_it() -> None:
    text = (
        '{"events": [{"tStartMs": 1000, "dDurationMs": 1000, "segs": [{"utf8": "first"}]},'
        ' {"dDurationMs": 1000, "segs": [{"utf8": "no start"}]},'
        ' {"tStartMs": 4000, "dDurationMs": 1000, "segs": [{"utf8": "last"}]}]}'
    )

    parsed = parse_subtitle_text(text, display_name="talk.en.json3")

    assert [s.text for s in parsed.segments] == ["first", "no start", "last"]
    assert kinds(parsed.issues) == ["timing_unreadable"]
    assert "event 2" in parsed.issues[0].message


def test_json3_events_out_of_order_are_sorted_and_reported() -> None:
    text = (
        '{"events": [{"tStartMs": 3000, "dDurationMs": 1000, "segs": [{"utf8": "second"}]},'
        ' {"tStartMs": 1000, "dDurationMs": 1000, "segs": [{"utf8": "first"}]}]}'
    )

    parsed = parse_subtitle_text(text)

    assert [s.text for s in parsed.segments] == ["first", "second"]
    assert kinds(parsed.issues) == ["out_of_order"]
    assert "event 2" in parsed.issues[0].message


def test_replacement_characters_from_an_earlier_bad_conversion_are_reported_with_their_line() -> None:
    text = srt(("00:00:01,000 --> 00:00:02,000", "Fine."), ("00:00:03,000 --> 00:00:04,000", "Caf\ufffd cr\ufffdme"))

    parsed = parse_subtitle_text(text)

    assert [(i.kind, i.line) for i in parsed.issues] == [("replacement_characters", line_of(text, "\ufffd"))]


# --- a realistic damaged file -------------------------------------------------------------------------------


def test_every_repair_in_a_damaged_file_is_reported_with_the_file_and_line() -> None:
    parsed = read_subtitle_file(DAMAGED)
    text = DAMAGED.read_text(encoding="utf-8")

    assert [s.text for s in parsed.segments] == [
        "Welcome back to the workshop.",
        "This cue has a damaged timing line.",
        "No.",
        "No.",
        "And this one belongs before it.",
        "This cue came out of order.",
        "This cue ends before it starts.",
        "Thank you all for coming.",
    ]
    assert sorted((i.kind, i.line) for i in parsed.issues) == sorted([
        ("timing_unreadable", line_of(text, "0x,500")),
        ("out_of_order", line_of(text, "00:00:08,000")),
        ("end_before_start", line_of(text, "00:00:12,000 --> 00:00:11,000")),
    ])
    assert all(i.file == "damaged.en.srt" and i.severity == "warning" for i in parsed.issues)
    assert all(a.start <= b.start for a, b in zip(parsed.segments, parsed.segments[1:], strict=False))


def test_many_issues_of_one_kind_are_summed_up_in_one_line_with_their_first_lines() -> None:
    cues = [(f"00:00:{10 + i:02d},000 --> 00:00:{10 + i:02d},500", f"Cue {i}.") for i in range(8)]
    cues += [(f"00:00:0{i},000 --> 00:00:0{i},500", f"Early {i}.") for i in range(1, 8)]
    parsed = parse_subtitle_text(srt(*cues), display_name="talk.en.srt")

    summary = summarize_subtitle_issues(parsed.issues)

    assert len(parsed.issues) == 7
    assert len(summary) == 1
    assert summary[0].startswith("talk.en.srt: 7 cues start before the cue above them")
    assert "and 2 more" in summary[0]
    assert summarize_subtitle_issues(parsed.issues, severity="info") == []


# --- timestamp variants -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timing", "start", "end"),
    [
        ("00:00:01,500 --> 00:00:02,250", 1.5, 2.25),
        ("00:00:01.500 --> 00:00:02.250", 1.5, 2.25),
        ("00:00:01:500 --> 00:00:02:250", 1.5, 2.25),
        ("00:00:01.5000 --> 00:00:02.2500", 1.5, 2.25),
        ("00:00:01,5 --> 00:00:02,25", 1.5, 2.25),
        ("00:01.500 --> 00:02.250", 1.5, 2.25),
        ("0:00:01.500 --> 0:00:02.250", 1.5, 2.25),
        ("00:00:01 --> 00:00:02", 1.0, 2.0),
        ("00:00:01,500-->00:00:02,250", 1.5, 2.25),
        ("100:00:01,500 --> 100:00:02,250", 360001.5, 360002.25),
    ],
    ids=["srt", "vtt", "colon-fraction", "four-digit-fraction", "short-fraction", "no-hours", "one-digit-hours",
         "no-fraction", "no-spaces", "three-digit-hours"],
)
def test_common_timestamp_variants_are_read(timing: str, start: float, end: float) -> None:
    segment = parse_subtitle_text(srt((timing, "Hello."))).segments[0]

    assert (segment.start, segment.end) == (start, end)


def test_colon_fractions_are_noted_once_as_read_in_a_non_obvious_way() -> None:
    text = srt(("00:00:01:500 --> 00:00:02:250", "One."), ("00:00:03:000 --> 00:00:04:000", "Two."))

    parsed = parse_subtitle_text(text)

    assert [(i.kind, i.severity, i.line) for i in parsed.issues] == [("timestamp_variant", "info", 2)]
