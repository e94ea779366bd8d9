"""Cue groups for translation: they read as sentences, stay within their limits and hold every speech cue once."""

from __future__ import annotations

import pytest

from kernel.long_text.cues import MAX_GROUP_CUES, CueGroup, group_cues, split_group
from kernel.transcript import Segment


def cues(texts: list[str], *, gap: float = 0.2, speakers: list[str | None] | None = None,
         pauses: dict[int, float] | None = None) -> list[Segment]:
    lines, clock = [], 0.0
    for index, text in enumerate(texts):
        clock += (pauses or {}).get(index, gap if index else 0.0)
        kind = "non_speech" if text.startswith("[") else "speech"
        lines.append(Segment(start=round(clock, 3), end=round(clock + 2.0, 3), text=text, kind=kind,
                             speaker=speakers[index] if speakers else None))
        clock += 2.0
    return lines


def members(groups: list[CueGroup]) -> list[int]:
    return [index for group in groups for index in range(group.first, group.stop)]


SENTENCES = [f"this is part {n} of a longer thought that" if n % 3 else f"Sentence {n} ends here." for n in range(40)]


def test_every_speech_cue_is_in_exactly_one_group_in_order_and_non_speech_cues_in_none() -> None:
    texts = [*SENTENCES[:10], "[music]", *SENTENCES[10:30]]
    lines = cues(texts)
    groups = group_cues(lines)
    assert members(groups) == [i for i, line in enumerate(lines) if line.kind == "speech"]
    assert all(group.stop <= 10 or group.first > 10 for group in groups)  # no group spans the music


def test_groups_end_at_sentence_ends_and_never_pass_the_cue_limit() -> None:
    texts = [f"Short sentence number {n}." for n in range(30)]
    groups = group_cues(cues(texts))
    assert all(texts[group.stop - 1].endswith(".") for group in groups)
    assert all(group.size >= 2 for group in groups[:-1])  # short sentences are grouped, not sent one by one
    run_on = [f"and then word {n} follows" for n in range(35)]
    assert all(group.size <= MAX_GROUP_CUES for group in group_cues(cues(run_on)))


def test_a_speaker_change_or_a_long_pause_starts_a_new_group() -> None:
    texts = ["we were talking about", "the plan for next year", "and I think", "it is fine"]
    by_speaker = group_cues(cues(texts, speakers=["A", "A", "B", "B"]))
    assert [(g.first, g.stop) for g in by_speaker] == [(0, 2), (2, 4)]
    by_pause = group_cues(cues(texts, pauses={3: 2.5}))
    assert [(g.first, g.stop) for g in by_pause] == [(0, 3), (3, 4)]


def test_without_punctuation_pauses_act_as_sentence_ends() -> None:
    texts = [f"so this is line {n} of the talk and it goes on" for n in range(12)]
    groups = group_cues(cues(texts, pauses={5: 1.0, 10: 1.0}))  # five lines hold enough text for a group
    assert [g.stop for g in groups] == [5, 10, 12]


def test_group_ids_name_their_first_and_last_cue_numbers_and_split_halves_never_collide() -> None:
    lines = cues([f"Sentence {n} is here, and it goes on." for n in range(6)])
    group = CueGroup.of(0, 6)
    assert group.group_id == "g00001-00006"
    left, right = split_group(group, lines)
    assert (left.first, left.stop, right.first, right.stop) == (0, 3, 3, 6)
    ids = {group.group_id, left.group_id, right.group_id, *(g.group_id for g in split_group(left, lines))}
    assert len(ids) == 5
    with pytest.raises(ValueError):
        split_group(CueGroup.of(2, 3), lines)
