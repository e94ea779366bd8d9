"""Normalization: sentences from punctuated and unpunctuated transcripts, chapters, pauses, stats."""

from __future__ import annotations

import pytest

from kernel.source.normalize import normalize_transcript
from kernel.source.subtitles import read_subtitle_file
from kernel.text import ends_sentence
from kernel.transcript import Chapter, Segment, TranscriptSegments, Word
from tests.conftest import FIXTURES

SUBTITLES = FIXTURES / "subtitles"


def transcript(*segments: Segment, origin: str = "whisper") -> TranscriptSegments:
    return TranscriptSegments.model_validate({"origin": origin, "language": "en", "segments": list(segments)})


def timed_words(text: str, start: float, step: float = 0.4) -> list[Word]:
    return [Word(start=start + i * step, end=start + i * step + 0.3, text=w) for i, w in enumerate(text.split())]


def test_punctuated_text_splits_at_sentence_ends_but_not_at_abbreviations_or_decimals() -> None:
    text = (
        "Dr. Smith measured 3.5 liters, e.g. in the lab. Was it enough? Yes! Then Mr. Jones arrived at 5 p.m. and left."
    )
    doc = normalize_transcript(transcript(Segment(start=0.0, end=20.0, text=text)), [])

    assert [s.text for s in doc.sentences] == [
        "Dr. Smith measured 3.5 liters, e.g. in the lab.",
        "Was it enough?",
        "Yes!",
        "Then Mr. Jones arrived at 5 p.m. and left.",
    ]


def test_sentence_times_come_from_the_words_they_contain() -> None:
    text = "First we mix. Then we wait a while."
    segment = Segment(start=10.0, end=14.0, text=text, words=timed_words(text, start=10.2))

    doc = normalize_transcript(transcript(segment), [])

    assert [(s.start, s.end) for s in doc.sentences] == [(10.2, 11.3), (11.4, 13.3)]


def test_cjk_sentence_punctuation_splits_sentences_inside_a_segment() -> None:
    segment = Segment(start=0.0, end=9.0, text="大家好。今天我们聊一聊人工智能，好吗？当然可以！")

    doc = normalize_transcript(transcript(segment), [])

    assert [s.text for s in doc.sentences] == ["大家好。", "今天我们聊一聊人工智能，好吗？", "当然可以！"]
    assert doc.sentences[0].start == 0.0
    assert doc.sentences[-1].end == 9.0


def test_unpunctuated_captions_split_at_long_pauses() -> None:
    doc = normalize_transcript(
        transcript(
            Segment(start=0.0, end=2.0, text="so today we talk about bread"),
            Segment(start=2.1, end=4.0, text="and how to bake it"),
            Segment(start=5.5, end=7.0, text="first you need flour"),
            origin="subtitles",
        ),
        [],
    )

    assert [s.text for s in doc.sentences] == [
        "so today we talk about bread and how to bake it",
        "first you need flour",
    ]
    assert doc.sentences[1].pause_before == pytest.approx(1.5)
    assert doc.stats["sentence_split"] == "pauses"


def test_long_unpunctuated_speech_without_pauses_is_capped_at_good_boundaries() -> None:
    segments = [
        Segment(start=i * 3.0, end=i * 3.0 + 3.0, text=f"this is caption line number {i} without any stop")
        for i in range(40)
    ]

    doc = normalize_transcript(transcript(*segments, origin="subtitles"), [])

    assert len(doc.sentences) > 5
    all_words = " ".join(s.text for s in segments).split()
    assert " ".join(s.text for s in doc.sentences).split() == all_words
    for sentence in doc.sentences:
        assert len(sentence.text.split()) <= 40
        assert sentence.end - sentence.start <= 25.0
    for sentence in doc.sentences[:-1]:
        assert sentence.text.endswith("stop")  # cut at segment boundaries, never mid-line


def test_long_unpunctuated_cjk_speech_is_capped_by_characters() -> None:
    line = "我们今天继续讲这个很长的话题"  # 14 characters, no punctuation
    segments = [Segment(start=i * 2.0, end=i * 2.0 + 2.0, text=line) for i in range(30)]

    doc = normalize_transcript(transcript(*segments, origin="subtitles"), [])

    assert "".join(s.text for s in doc.sentences).replace("，", "") == line * 30
    assert all(len(s.text.replace("，", "")) <= 80 for s in doc.sentences)
    assert all(s.text.count("，") == s.text.count(line) - 1 for s in doc.sentences)  # one comma per cue boundary


def test_chinese_cues_are_joined_with_a_comma_and_japanese_with_a_touten() -> None:
    chinese = TranscriptSegments(origin="subtitles", language="zh", segments=[
        Segment(start=0.0, end=2.0, text="很多人都听说过比特币"),
        Segment(start=2.0, end=4.0, text="它是一种数字货币"),
        Segment(start=4.0, end=6.0, text="今天我们 来聊一聊"),
    ])
    japanese = TranscriptSegments(origin="subtitles", language="ja", segments=[
        Segment(start=0.0, end=2.0, text="こんにちは"), Segment(start=2.0, end=4.0, text="今日はいい天気です"),
    ])

    assert normalize_transcript(chinese, []).sentences[0].text == "很多人都听说过比特币，它是一种数字货币，今天我们，来聊一聊"
    assert normalize_transcript(japanese, []).sentences[0].text == "こんにちは、今日はいい天気です"


def test_recognized_chinese_words_are_joined_without_commas() -> None:
    words = [Word(start=i * 0.3, end=i * 0.3 + 0.25, text=w) for i, w in enumerate(["很多", "人", "都", "听说过"])]
    segment = Segment(start=0.0, end=1.2, text="很多人都听说过", words=words)
    doc = normalize_transcript(TranscriptSegments(origin="whisper", language="zh", segments=[segment]), [])

    assert doc.sentences[0].text == "很多人都听说过"


def test_a_speaker_change_always_starts_a_new_sentence() -> None:
    words = [
        Word(start=0.0, end=0.3, text="so", speaker="0"),
        Word(start=0.3, end=0.6, text="what", speaker="0"),
        Word(start=0.6, end=0.9, text="now", speaker="1"),
        Word(start=0.9, end=1.2, text="we", speaker="1"),
        Word(start=1.2, end=1.5, text="wait", speaker="1"),
    ]
    doc = normalize_transcript(transcript(Segment(start=0.0, end=1.5, text="so what now we wait", words=words)), [])

    assert [(s.speaker, s.text) for s in doc.sentences] == [("0", "so what"), ("1", "now we wait")]
    assert doc.stats["speakers"] == 2


def test_segment_speakers_are_kept_on_sentences() -> None:
    doc = normalize_transcript(
        transcript(
            Segment(start=0.0, end=2.0, text="Hello there.", speaker="Ann"),
            Segment(start=2.0, end=4.0, text="Hi Ann", speaker="Bob"),
            Segment(start=4.0, end=6.0, text="how are you?", speaker="Bob"),
        ),
        [],
    )

    assert [(s.speaker, s.text) for s in doc.sentences] == [("Ann", "Hello there."), ("Bob", "Hi Ann how are you?")]


def test_chapter_index_follows_chapter_start_times() -> None:
    chapters = [Chapter(title="Intro", start=5.0), Chapter(title="Main", start=20.0)]
    doc = normalize_transcript(
        transcript(
            Segment(start=1.0, end=3.0, text="Before the first chapter."),
            Segment(start=6.0, end=8.0, text="Inside the intro."),
            Segment(start=19.8, end=22.0, text="Right at the main chapter."),
            Segment(start=30.0, end=32.0, text="Deep in the main chapter."),
        ),
        list(reversed(chapters)),
    )

    assert [s.chapter_index for s in doc.sentences] == [0, 0, 1, 1]
    assert [c.title for c in doc.chapters] == ["Intro", "Main"]


def test_without_chapters_the_chapter_index_is_empty() -> None:
    doc = normalize_transcript(transcript(Segment(start=0.0, end=1.0, text="Hi.")), [])

    assert doc.sentences[0].chapter_index is None


def test_indexes_are_contiguous_and_pauses_measure_silence_between_sentences() -> None:
    doc = normalize_transcript(
        transcript(
            Segment(start=0.0, end=2.0, text="One."),
            Segment(start=2.5, end=4.0, text="Two."),
            Segment(start=7.0, end=8.0, text="Three."),
        ),
        [],
    )

    assert [s.index for s in doc.sentences] == [0, 1, 2]
    assert [s.pause_before for s in doc.sentences] == [0.0, 0.5, 3.0]


def test_youtube_auto_captions_normalize_without_losing_words_or_mixing_in_music() -> None:
    segments = read_subtitle_file(SUBTITLES / "youtube_auto.en.vtt").segments

    doc = normalize_transcript(transcript(*segments, origin="subtitles"), [])

    speech = [s.text for s in segments if s.kind == "speech"]
    assert " ".join(s.text for s in doc.sentences).split() == " ".join(speech).split()
    assert all("Music" not in s.text for s in doc.sentences)
    assert [line.text for line in doc.subtitle_lines if line.kind == "non_speech"] == ["[Music]"]
    assert doc.stats["non_speech_cues"] == 1
    assert doc.origin == "subtitles"


def test_stats_describe_the_document() -> None:
    doc = normalize_transcript(
        transcript(
            Segment(start=0.0, end=2.0, text="Hello world.", speaker="A"),
            Segment(start=2.0, end=3.0, text="[Music]", kind="non_speech"),
            Segment(start=3.0, end=5.0, text="Good bye now.", speaker="B"),
        ),
        [],
    )

    assert doc.stats == {
        "sentences": 2,
        "words": 5,
        "characters": len("Hello world.") + len("Good bye now."),
        "duration": 5.0,
        "non_speech_cues": 1,
        "speakers": 2,
        "sentence_split": "punctuation",
    }


def test_only_non_speech_gives_no_sentences_but_keeps_subtitle_lines() -> None:
    doc = normalize_transcript(transcript(Segment(start=0.0, end=5.0, text="[Music]", kind="non_speech")), [])

    assert doc.sentences == []
    assert [line.text for line in doc.subtitle_lines] == ["[Music]"]


def test_the_same_input_always_gives_the_same_output() -> None:
    segments = read_subtitle_file(SUBTITLES / "manual.en.vtt").segments
    chapters = [Chapter(title="Start", start=0.0), Chapter(title="End", start=3000.0)]

    first = normalize_transcript(transcript(*segments, origin="subtitles"), chapters)
    second = normalize_transcript(transcript(*segments, origin="subtitles"), list(chapters))

    assert first.model_dump_json() == second.model_dump_json()


@pytest.mark.parametrize(
    ("token", "following", "expected"),
    [
        ("lab.", "Then", True),
        ("Dr.", "Smith", False),
        ("e.g.", "in", False),
        ("J.", "Smith", False),
        ("now.", "and", False),
        ("really?", None, True),
        ("“Stop!”", "He", True),
        ("好。", None, True),
        ("wait...", "Then", False),
        ("3.5", "liters", False),
    ],
)
def test_sentence_end_detection(token: str, following: str | None, expected: bool) -> None:
    assert ends_sentence(token, following) is expected
