from __future__ import annotations

import itertools
import json
import re
from typing import Any

from kernel.output.exports import speaker_label, timed_cues, to_json_export, to_srt, to_vtt
from kernel.transcript import Chapter, NormalizedDocument, Segment, Sentence, SourceInfo

_SRT_TIMING = re.compile(r"^(\d{2,}):(\d{2}):(\d{2}),(\d{3}) --> (\d{2,}):(\d{2}):(\d{2}),(\d{3})$")


def _seg(start: float, end: float, text: str, **extra: Any) -> Segment:
    return Segment(start=start, end=end, text=text, **extra)


def _srt_times(srt: str) -> list[tuple[int, int]]:
    times = []
    for line in srt.splitlines():
        match = _SRT_TIMING.match(line)
        if match:
            h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups())
            times.append(((h1 * 3600 + m1 * 60 + s1) * 1000 + ms1, (h2 * 3600 + m2 * 60 + s2) * 1000 + ms2))
    return times


def test_srt_numbers_cues_from_one_with_comma_milliseconds() -> None:
    srt = to_srt([_seg(1.0, 2.5, "Hello there."), _seg(2.5, 4.0, "General Kenobi.")])
    assert srt == (
        "1\n00:00:01,000 --> 00:00:02,500\nHello there.\n\n"
        "2\n00:00:02,500 --> 00:00:04,000\nGeneral Kenobi.\n"
    )


def test_hours_above_nine_and_long_media_are_formatted_without_drift() -> None:
    lines = [_seg(36000 + i * 1.1, 36000 + i * 1.1 + 1.0, f"cue {i}") for i in range(2000)]
    srt = to_srt(lines)
    times = _srt_times(srt)
    assert srt.startswith("1\n10:00:00,000 --> 10:00:01,000\n")
    # each time is rounded independently from the float seconds: the last cue is exactly where it should be
    assert times[-1] == (round((36000 + 1999 * 1.1) * 1000), round((36000 + 1999 * 1.1 + 1.0) * 1000))
    assert srt.splitlines()[-2] == "10:36:38,900 --> 10:36:39,900"


def test_overlapping_cues_are_trimmed_so_none_overlap_and_none_is_lost() -> None:
    lines = [
        _seg(0.0, 3.0, "one"),
        _seg(2.0, 4.0, "two"),
        _seg(2.0, 5.0, "three starts with two"),
        _seg(4.9996, 6.0, "four"),
    ]
    srt = to_srt(lines)
    times = _srt_times(srt)
    assert len(times) == 4
    assert [text for text in ("one", "two", "three starts with two", "four") if text in srt] == [
        "one",
        "two",
        "three starts with two",
        "four",
    ]
    for (start, end), (next_start, _) in itertools.pairwise(times):
        assert start <= end <= next_start
    assert times[0] == (0, 2000)


def test_negative_times_are_clamped_to_zero() -> None:
    cues = timed_cues(
        [Segment.model_construct(start=-0.2, end=0.5, text="early", kind="speech", speaker=None, words=None)]
    )
    assert (cues[0].start_ms, cues[0].end_ms) == (0, 500)


def test_speakers_are_labelled_only_when_more_than_one_talks() -> None:
    two = to_srt(
        [
            _seg(0, 1, "Hi.", speaker="0"),
            _seg(1, 2, "Hello.", speaker="1"),
            _seg(2, 3, "[music]", kind="non_speech"),
        ]
    )
    assert "[Speaker 1] Hi." in two and "[Speaker 2] Hello." in two
    assert "\n[music]\n" in two
    one = to_srt([_seg(0, 1, "Hi.", speaker="0"), _seg(1, 2, "Again.", speaker="0")])
    assert "Speaker" not in one


def test_speaker_ids_become_readable_labels() -> None:
    assert speaker_label("0") == "Speaker 1"
    assert speaker_label("SPEAKER_01") == "Speaker 2"
    assert speaker_label("Speaker 1") == "Speaker 1"  # already a label (Deepgram backend): not shifted
    assert speaker_label("Ada  Lovelace") == "Ada Lovelace"


def test_blank_lines_inside_a_cue_do_not_split_it() -> None:
    srt = to_srt([_seg(0, 1, "first line\n\n\nsecond line"), _seg(1, 2, "   "), _seg(2, 3, "a --> b")])
    assert (
        srt == "1\n00:00:00,000 --> 00:00:01,000\nfirst line\nsecond line\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\na -> b\n"
    )


def test_vtt_has_header_dot_milliseconds_voice_tags_and_escaping() -> None:
    vtt = to_vtt(
        [
            _seg(3725.0, 3726.25, "Tom & Jerry <3 -> fun", speaker="0"),
            _seg(3726.25, 3727.0, "[applause]", kind="non_speech"),
        ]
    )
    assert vtt == (
        "WEBVTT\n\n"
        "01:02:05.000 --> 01:02:06.250\n<v Speaker 1>Tom &amp; Jerry &lt;3 -&gt; fun\n\n"
        "01:02:06.250 --> 01:02:07.000\n[applause]\n"
    )


def test_vtt_without_speakers_has_no_voice_tags_and_empty_input_is_just_the_header() -> None:
    assert "<v" not in to_vtt([_seg(0, 1, "Plain.")])
    assert to_vtt([]) == "WEBVTT\n"
    assert to_srt([]) == ""


def test_json_export_carries_source_segments_sentences_and_chapters() -> None:
    info = SourceInfo(
        id="abc",
        title="Talk",
        source="talk.mp4",
        source_kind="file",
        duration=12.0,
        description="long text that does not belong in the export",
        chapters=[Chapter(title="Intro", start=0.0, end=6.0)],
    )
    doc = NormalizedDocument(
        language="en",
        origin="whisper",
        sentences=[
            Sentence(index=0, start=0.0004, end=1.23456, text="Hello there.", speaker="0", chapter_index=0),
            Sentence(index=1, start=1.5, end=2.0, text="Bye.", speaker="1", chapter_index=0),
        ],
        subtitle_lines=[
            _seg(0.0, 1.5, "Hello there.", speaker="0"),
            _seg(1.2, 2.0, "Bye.", speaker="1"),
            _seg(2.0, 3.0, "[music]", kind="non_speech"),
        ],
    )
    exported = to_json_export(info, doc)
    assert json.loads(json.dumps(exported)) == exported
    assert exported["schema_version"] == 1
    assert exported["source"]["title"] == "Talk" and "description" not in exported["source"]
    assert (exported["language"], exported["origin"]) == ("en", "whisper")
    assert exported["segments"] == [
        {"start": 0.0, "end": 1.2, "text": "Hello there.", "kind": "speech", "speaker": "0"},
        {"start": 1.2, "end": 2.0, "text": "Bye.", "kind": "speech", "speaker": "1"},
        {"start": 2.0, "end": 3.0, "text": "[music]", "kind": "non_speech", "speaker": None},
    ]
    assert exported["sentences"][0] == {
        "index": 0,
        "start": 0.0,
        "end": 1.235,
        "text": "Hello there.",
        "speaker": "0",
        "chapter_index": 0,
    }
    assert exported["chapters"] == [{"title": "Intro", "start": 0.0, "end": 6.0}]
