"""Line shaping of translated and bilingual cues: within the script's width, nothing lost, timings kept."""

from __future__ import annotations

from kernel.output.cue_lines import (
    bilingual_cues,
    display_width,
    limits_for,
    pair_by_time,
    reading_speed_stats,
    translated_cues,
    wrap_cue_text,
)
from kernel.output.exports import to_srt
from kernel.text import join_text_pieces
from kernel.transcript import Segment

CHINESE = "我们今天讨论模型训练数据质量以及发布计划，大家关心价格服务器稳定性工程师测试结果。"
GERMAN = "Heute sprechen wir über die neue Version und was sie für die Leute bedeutet, die sie betreiben."


def test_cjk_lines_stay_within_the_width_counting_each_character_as_two_columns() -> None:
    limit = limits_for("zh-Hans").max_columns
    wrapped = wrap_cue_text(CHINESE, limit)
    lines = wrapped.split("\n")
    assert len(lines) >= 2
    assert all(display_width(line) <= limit for line in lines)
    assert display_width("模型") == 4
    assert "".join(lines) == CHINESE  # nothing dropped, added or reordered, no spaces put between characters


def test_latin_lines_are_balanced_within_the_width_and_keep_every_word() -> None:
    wrapped = wrap_cue_text(GERMAN, 42)
    lines = wrapped.split("\n")
    assert len(lines) >= 2 and all(len(line) <= 42 for line in lines)
    assert join_text_pieces(lines) == GERMAN
    two = wrap_cue_text("Heute sprechen wir über die neue Version, die alle betrifft.", 42).split("\n")
    assert len(two) == 2 and abs(len(two[0]) - len(two[1])) < 20
    assert wrap_cue_text("Kurz.", 42) == "Kurz."


def test_translated_cues_keep_the_source_timings_and_speakers() -> None:
    source = [Segment(start=1.0, end=3.5, text="Hello there.", speaker="A"),
              Segment(start=4.0, end=5.0, text="[music]", kind="non_speech")]
    translated = [Segment(start=1.0, end=3.5, text=CHINESE, speaker="A"),
                  Segment(start=4.0, end=5.0, text="[music]", kind="non_speech")]
    shaped = translated_cues(translated, "zh-Hans")
    assert [(c.start, c.end, c.kind, c.speaker) for c in shaped] == [(s.start, s.end, s.kind, s.speaker) for s in source]
    srt = to_srt(shaped)
    assert "00:00:01,000 --> 00:00:03,500" in srt and "\n\n\n" not in srt.strip()
    stats = reading_speed_stats(shaped, "zh-Hans")
    assert stats["cues_over_reading_speed"] == 1 and stats["widest_line_columns"] <= 32


def test_a_bilingual_cue_has_its_source_line_above_its_translation() -> None:
    source = [Segment(start=0.0, end=2.0, text="We start now."), Segment(start=2.0, end=3.0, text="[music]",
                                                                          kind="non_speech")]
    target = [Segment(start=0.0, end=2.0, text="Wir fangen jetzt an."),
              Segment(start=2.0, end=3.0, text="[music]", kind="non_speech")]
    cues = bilingual_cues(source, target, "en", "de")
    assert [c.text for c in cues] == ["We start now.\nWir fangen jetzt an.", "[music]"]


def test_a_separately_timed_track_is_paired_by_overlap_with_every_source_cue() -> None:
    source = [Segment(start=0.0, end=2.0, text="one"), Segment(start=2.0, end=4.0, text="two"),
              Segment(start=4.0, end=6.0, text="three")]
    target = [Segment(start=0.1, end=1.9, text="eins"), Segment(start=2.2, end=5.9, text="zwei drei")]
    assert pair_by_time(source, target) == ["eins", "zwei drei", "zwei drei"]
