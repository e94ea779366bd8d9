"""Subtitle statistics, and whether subtitles carry the speech well enough to skip speech recognition."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kernel.transcript import Segment

from ...text import TextSize, measure_text

_MAX_NON_SPEECH_SHARE = 0.6
_MIN_WORDS_PER_MINUTE = 15.0
_MIN_SECONDS_FOR_RATE = 60.0


class SubtitleUsability(BaseModel):
    """Whether subtitles can stand in for speech recognition, and why not when they cannot."""

    usable: bool
    reasons: list[str] = Field(default_factory=list)
    speech_words: int
    non_speech_share: float
    words_per_minute: float | None = None


def _speech_size(segments: list[Segment]) -> TextSize:
    size = TextSize()
    for segment in segments:
        if segment.kind == "speech":
            size = size + measure_text(segment.text)
    return size


def _covered_seconds(segments: list[Segment]) -> float:
    """Length of the union of the segments' time ranges."""
    covered = 0.0
    current_start = current_end = -1.0
    for segment in sorted(segments, key=lambda s: s.start):
        if segment.start > current_end:
            covered += max(0.0, current_end - current_start)
            current_start, current_end = segment.start, segment.end
        else:
            current_end = max(current_end, segment.end)
    covered += max(0.0, current_end - current_start)
    return round(covered, 3)


def subtitle_stats(segments: list[Segment]) -> dict[str, int | float]:
    """Counts for reports: cues, speech_cues, non_speech_cues, words, duration_covered (seconds)."""
    speech = sum(1 for segment in segments if segment.kind == "speech")
    return {
        "cues": len(segments),
        "speech_cues": speech,
        "non_speech_cues": len(segments) - speech,
        "words": _speech_size(segments).words,
        "duration_covered": _covered_seconds(segments),
    }


def assess_subtitle_usability(segments: list[Segment], duration: float | None) -> SubtitleUsability:
    """Decide whether subtitles carry the speech well enough to skip speech recognition.

    Unusable when there are no cues or no speech, when more than 60% of the cues or of their covered
    time are non-speech, or when there are fewer than 15 words per minute over at least a minute (the
    media ``duration`` when known, else the span the cues cover). CJK text counts two characters a word.
    """
    reasons: list[str] = []
    speech_words = _speech_size(segments).words
    speech_cues = [s for s in segments if s.kind == "speech"]
    non_speech_cues = len(segments) - len(speech_cues)
    non_speech_seconds = sum(s.end - s.start for s in segments if s.kind == "non_speech")
    all_seconds = sum(s.end - s.start for s in segments)
    cue_share = non_speech_cues / len(segments) if segments else 0.0
    time_share = non_speech_seconds / all_seconds if all_seconds > 0 else cue_share
    non_speech_share = round(max(cue_share, time_share), 3)

    span = (max(s.end for s in segments) - min(s.start for s in segments)) if segments else 0.0
    effective = duration if duration and duration > 0 else span
    words_per_minute = round(speech_words / (effective / 60), 1) if effective > 0 else None

    if not segments:
        reasons.append("The subtitles contain no cues.")
    elif not speech_words:
        reasons.append("The subtitles contain no speech, only non-speech cues such as [Music].")
    else:
        if non_speech_share > _MAX_NON_SPEECH_SHARE:
            reasons.append(
                f"{non_speech_share:.0%} of the subtitle cues (or of the time they cover) are non-speech "
                "cues such as [Music], so the speech is probably not transcribed."
            )
        if (
            words_per_minute is not None
            and effective >= _MIN_SECONDS_FOR_RATE
            and words_per_minute < _MIN_WORDS_PER_MINUTE
        ):
            reasons.append(
                f"The subtitles have only {words_per_minute:g} words per minute over {effective / 60:.1f} "
                "minutes (speech usually has 100 to 180), so most of the speech is missing."
            )
    return SubtitleUsability(
        usable=not reasons,
        reasons=reasons,
        speech_words=speech_words,
        non_speech_share=non_speech_share,
        words_per_minute=words_per_minute,
    )
