"""Line shaping of the translated and bilingual subtitle cues; the cue timings are never changed.

Limits per script (``LINE_LIMITS``, after the usual broadcast and streaming subtitle guidelines): the widest
line in display columns, where a wide character (Han, kana, Hangul, full-width forms) counts two columns as
a player's font shows it, and the reading speed in characters per second:

- Latin and the other alphabets: 42 columns, 17 characters per second;
- Chinese and Japanese: 32 columns (16 characters), 9 characters per second;
- Korean: 32 columns, 12 characters per second.

A bilingual cue holds one line per language where it can: each side may take twice its line width (as the
source exports' cues do) before it wraps.

Invariants:
- ``wrap_cue_text`` only distributes the text's tokens (words; single CJK characters, punctuation staying
  with the character before it) over lines: nothing is dropped, added or reordered, and re-joining the
  lines gives the one-line text. A line exceeds the width only when a single token alone does.
- A text that needs two lines is broken where both lines are most even, preferring punctuation.
- The translated and bilingual cues keep the start, end, kind and speaker of the cue they come from, so
  the exports' timing rules (``exports.timed_cues``) give them the source export's timings. Because the
  timings stay, a cue over the reading speed is counted (``reading_speed_stats``), not retimed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from ..long_text.languages import Script, expected_script
from ..text import ends_clause, ends_sentence, join_text_pieces, split_text_tokens
from ..transcript import Segment

_PUNCTUATION_BONUS = 6  # columns of imbalance worth a break after punctuation
BILINGUAL_WIDTH_FACTOR = 2


@dataclass(frozen=True)
class LineLimits:
    max_columns: int
    max_chars_per_second: float


DEFAULT_LIMITS = LineLimits(max_columns=42, max_chars_per_second=17.0)
LINE_LIMITS: dict[Script, LineLimits] = {
    "cjk": LineLimits(max_columns=32, max_chars_per_second=9.0),
    "hangul": LineLimits(max_columns=32, max_chars_per_second=12.0),
}


def limits_for(language: str | None) -> LineLimits:
    return LINE_LIMITS.get(expected_script(language), DEFAULT_LIMITS)


def display_width(text: str) -> int:
    """Columns ``text`` takes in a fixed-width font: wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def wrap_cue_text(text: str, max_columns: int) -> str:
    """The cue text broken into lines of at most ``max_columns`` columns (see the module docstring)."""
    tokens = split_text_tokens(" ".join(text.split()), cjk_chars=True)
    if not tokens or display_width(join_text_pieces(tokens)) <= max_columns:
        return join_text_pieces(tokens)
    lines: list[list[str]] = [[]]
    for token in tokens:
        candidate = join_text_pieces([*lines[-1], token])
        if lines[-1] and display_width(candidate) > max_columns:
            lines.append([token])
        else:
            lines[-1].append(token)
    if len(lines) == 2:
        lines = _balanced(tokens, max_columns) or lines
    return "\n".join(join_text_pieces(line) for line in lines)


def _balanced(tokens: list[str], max_columns: int) -> list[list[str]] | None:
    best: tuple[int, int] | None = None
    best_cut = 0
    for cut in range(1, len(tokens)):
        widths = display_width(join_text_pieces(tokens[:cut])), display_width(join_text_pieces(tokens[cut:]))
        if max(widths) > max_columns:
            continue
        punctuated = ends_sentence(tokens[cut - 1], tokens[cut]) or ends_clause(tokens[cut - 1])
        key = (max(widths) - (_PUNCTUATION_BONUS if punctuated else 0), -cut)
        if best is None or key < best:
            best, best_cut = key, cut
    return [tokens[:best_cut], tokens[best_cut:]] if best is not None else None


def _shaped(line: Segment, text: str) -> Segment:
    return Segment(start=line.start, end=line.end, text=text, kind=line.kind, speaker=line.speaker)


def translated_cues(cues: list[Segment], language: str | None) -> list[Segment]:
    """The target-language cues with their lines shaped for ``language``'s script."""
    limit = limits_for(language).max_columns
    return [_shaped(cue, wrap_cue_text(cue.text, limit)) for cue in cues]


def pair_by_time(source_lines: list[Segment], target_cues: list[Segment]) -> list[str]:
    """The target text for each source cue: by position when the two lists have the same timings (a cue-for-
    cue translation), else each target cue goes to the source cue it overlaps most (a separate track), and a
    source cue no target cue went to borrows the text of the target cue overlapping it most."""
    if len(source_lines) == len(target_cues) and all(
            (s.start, s.end) == (t.start, t.end) for s, t in zip(source_lines, target_cues, strict=True)):
        return [cue.text for cue in target_cues]
    assigned: list[list[str]] = [[] for _ in source_lines]

    def overlap(a: Segment, b: Segment) -> float:
        return min(a.end, b.end) - max(a.start, b.start)

    for cue in target_cues:
        scores = [overlap(line, cue) for line in source_lines]
        if scores and max(scores) > 0:
            assigned[scores.index(max(scores))].append(" ".join(cue.text.split()))
    texts = []
    for line, pieces in zip(source_lines, assigned, strict=True):
        if not pieces:
            scored = [(overlap(line, cue), cue.text) for cue in target_cues if overlap(line, cue) > 0]
            pieces = [" ".join(max(scored)[1].split())] if scored else []
        texts.append(join_text_pieces(pieces))
    return texts


def bilingual_cues(source_lines: list[Segment], target_cues: list[Segment], source_language: str | None,
                   target_language: str | None) -> list[Segment]:
    """One cue per source cue: its source text above its translation, normally one line each: a side is
    wrapped only past twice its script's line width (the two languages share the cue's two-line space).
    Non-speech cues (``[music]``) and cues without a translation show their source text once."""
    source_limit = BILINGUAL_WIDTH_FACTOR * limits_for(source_language).max_columns
    target_limit = BILINGUAL_WIDTH_FACTOR * limits_for(target_language).max_columns
    cues = []
    for line, translation in zip(source_lines, pair_by_time(source_lines, target_cues), strict=True):
        original = wrap_cue_text(line.text, source_limit)
        if line.kind != "speech" or not translation.strip() or " ".join(translation.split()) == " ".join(
                line.text.split()):
            cues.append(_shaped(line, original))
        else:
            cues.append(_shaped(line, original + "\n" + wrap_cue_text(translation, target_limit)))
    return cues


def reading_speed_stats(cues: list[Segment], language: str | None) -> dict[str, float | int]:
    """How the shaped target cues sit against ``language``'s limits: cues, cues over the reading speed, the
    widest line (columns) and the limits."""
    limits = limits_for(language)
    over = 0
    widest = 0
    for cue in cues:
        if cue.kind != "speech":
            continue
        chars = sum(1 for char in cue.text if not char.isspace())
        seconds = max(cue.end - cue.start, 0.001)
        over += chars / seconds > limits.max_chars_per_second
        widest = max([widest, *(display_width(line) for line in cue.text.split("\n"))])
    return {"cues": len(cues), "cues_over_reading_speed": over, "widest_line_columns": widest,
            "max_line_columns": limits.max_columns, "max_chars_per_second": limits.max_chars_per_second}
