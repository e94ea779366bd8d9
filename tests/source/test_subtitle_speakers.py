"""Speakers from subtitles: voice spans over whole cues, and [Name] / NAME: / Name: labels told apart from
sound annotations and ordinary text with a colon."""

from __future__ import annotations

import pytest

from kernel.output.exports import to_srt
from kernel.source.subtitles import parse_subtitle_text
from kernel.transcript import Segment


def vtt(*cues: str) -> str:
    return "WEBVTT\n\n" + "\n".join(
        f"00:00:{2 * i:02d}.000 --> 00:00:{2 * i + 1:02d}.500\n{cue}\n" for i, cue in enumerate(cues, 1)
    )


def speakers_and_texts(text: str) -> list[tuple[str | None, str, str]]:
    return [(s.speaker, s.kind, s.text) for s in parse_subtitle_text(text).segments]


# --- voice spans --------------------------------------------------------------------------------------------


def test_a_voice_span_names_the_speaker_of_every_line_of_its_cue() -> None:
    segments = parse_subtitle_text(vtt("<v Esme>It's a blue apple tree!\nNo way!\nHee!</v>")).segments

    assert [(s.speaker, s.text) for s in segments] == [("Esme", "It's a blue apple tree! No way! Hee!")]


def test_a_voice_span_without_a_closing_tag_lasts_to_the_end_of_its_cue_only() -> None:
    text = vtt("<v.loud Mary>First line\nsecond line", "Next cue, no voice.")

    assert speakers_and_texts(text) == [
        ("Mary", "speech", "First line second line"),
        (None, "speech", "Next cue, no voice."),
    ]


def test_two_voices_in_one_cue_give_two_segments() -> None:
    text = vtt("<v Alice>Are you coming?</v>\n<v Bob>In a minute.</v>")

    assert speakers_and_texts(text) == [("Alice", "speech", "Are you coming?"), ("Bob", "speech", "In a minute.")]


def test_a_closed_voice_span_does_not_name_the_following_line() -> None:
    text = vtt("<v Alice>Hello.</v>\nSomeone else, unnamed.")

    assert speakers_and_texts(text) == [("Alice", "speech", "Hello."), (None, "speech", "Someone else, unnamed.")]


# --- bracketed and colon labels -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "speaker", "text"),
    [
        ("[John] Where were you?", "John", "Where were you?"),
        ("[John]: Where were you?", "John", "Where were you?"),
        ("[Dr. Jane O'Brien] Take a seat.", "Dr. Jane O'Brien", "Take a seat."),
        ("[Neil deGrasse Tyson] Look up.", "Neil deGrasse Tyson", "Look up."),
        ("[Speaker 2] Thanks.", "Speaker 2", "Thanks."),
        ("[NARRATOR] Long ago...", "NARRATOR", "Long ago..."),
        ("- [Jean-Luc] Engage.", "Jean-Luc", "Engage."),
        ("JOHN: Where were you?", "JOHN", "Where were you?"),
        ("DR. SMITH: Breathe in.", "DR. SMITH", "Breathe in."),
        ("WOMAN 2: Over here!", "WOMAN 2", "Over here!"),
        (">> ANNA: Back to you.", "ANNA", "Back to you."),
    ],
)
def test_a_speaker_label_at_the_start_of_a_cue_becomes_the_speaker(line: str, speaker: str, text: str) -> None:
    assert speakers_and_texts(vtt(line)) == [(speaker, "speech", text)]


@pytest.mark.parametrize(
    "line",
    [
        "[Music] And we're back.",
        "[APPLAUSE] Thank you!",
        "[laughs] That's funny.",
        "[Door slams] Who's there?",
        "[PHONE RINGING] Hello?",
        "[Spanish] Hola.",
        "[音乐] 大家好",
        "[inaudible] said it twice",
    ],
)
def test_sound_annotations_in_brackets_are_not_speakers_and_are_removed_from_speech(line: str) -> None:
    [(speaker, kind, text)] = speakers_and_texts(vtt(line))

    assert speaker is None and kind == "speech"
    assert "[" not in text


@pytest.mark.parametrize(
    "line",
    [
        "Note: this recipe needs two days.",
        "Step 1: mix the flour.",
        "Warning: hot surface.",
        "Here's the thing: nobody knew.",
        "At 10:30 we start.",
        "See https://example.com for more.",
        "Ingredients: flour, water, salt.",
        "so he said: fine.",
        "A: the first option.",
    ],
)
def test_ordinary_text_with_a_colon_keeps_its_words_and_has_no_speaker(line: str) -> None:
    assert speakers_and_texts(vtt(line)) == [(None, "speech", line)]


def test_a_title_case_name_label_counts_only_when_it_labels_two_cues() -> None:
    once = vtt("Interviewer: Where did it start?", "It started in a garage.")
    twice = vtt("Interviewer: Where did it start?", "Anna: In a garage.", "Interviewer: And then?")

    assert [s for s, _, _ in speakers_and_texts(once)] == [None, None]
    assert speakers_and_texts(twice) == [
        ("Interviewer", "speech", "Where did it start?"),
        (None, "speech", "Anna: In a garage."),
        ("Interviewer", "speech", "And then?"),
    ]


def test_a_label_names_the_following_lines_of_its_cue_until_a_dialogue_dash() -> None:
    text = vtt("[Sam] I told you.\nYou never listen.\n- I do listen!")

    assert speakers_and_texts(text) == [
        ("Sam", "speech", "I told you. You never listen."),
        (None, "speech", "- I do listen!"),
    ]


def test_dialogue_lines_with_their_own_labels_get_their_own_speakers() -> None:
    text = vtt("- [Sam] Ready?\n- [Alex] Always.")

    assert speakers_and_texts(text) == [("Sam", "speech", "Ready?"), ("Alex", "speech", "Always.")]


def test_a_label_alone_on_its_line_names_the_lines_after_it() -> None:
    assert speakers_and_texts(vtt("MARIA:\nWe cached the dependencies.")) == [
        ("MARIA", "speech", "We cached the dependencies.")
    ]
    assert speakers_and_texts(vtt("[Maria]\nWe cached the dependencies.")) == [
        ("Maria", "speech", "We cached the dependencies.")
    ]


def test_a_recurring_title_case_label_alone_on_its_line_names_the_next_lines_but_never_swallows_text() -> None:
    text = vtt("Host:\nWelcome back.", "[Sam] Thanks.\nGlad to be here.", "Host:", "Host: Let's start.")

    assert speakers_and_texts(text) == [
        ("Host", "speech", "Welcome back."),
        ("Sam", "speech", "Thanks. Glad to be here."),
        (None, "speech", "Host:"),
        ("Host", "speech", "Let's start."),
    ]


def test_a_bracketed_name_alone_in_its_cue_stays_an_annotation() -> None:
    assert speakers_and_texts(vtt("[Maria]", "Hello.")) == [(None, "non_speech", "[Maria]"), (None, "speech", "Hello.")]


def test_labels_read_as_speakers_are_noted_once_per_name() -> None:
    parsed = parse_subtitle_text(vtt("[Sam] One.", "[Sam] Two.", "ALEX: Three."), display_name="talk.en.vtt")

    assert sorted((i.kind, i.severity, i.message) for i in parsed.issues) == [
        ("speaker_label", "info", "talk.en.vtt line 3: the label 'Sam' was read as a speaker (2 lines)"),
        ("speaker_label", "info", "talk.en.vtt line 9: the label 'ALEX' was read as a speaker (1 line)"),
    ]


def test_our_own_srt_export_reads_back_with_its_speakers() -> None:
    exported = to_srt([
        Segment(start=1.0, end=2.0, text="Welcome.", speaker="Speaker 1"),
        Segment(start=2.5, end=4.0, text="Thanks for having me.", speaker="Speaker 2"),
    ])

    assert speakers_and_texts(exported) == [
        ("Speaker 1", "speech", "Welcome."),
        ("Speaker 2", "speech", "Thanks for having me."),
    ]
