"""Align a chunk's output paragraphs back to the source sentences of its core, for paragraph times.

A model may merge, split, reorder within reason or translate paragraphs, so output paragraphs are not
source paragraphs. Each output paragraph is given the source sentence it starts with by a monotonic
alignment (dynamic time warping) of output sentences against source sentences, with a cost per pair of:

- position: the difference between where each sits in its text (share of weighted length before its
  middle, ``languages.weighted_length``), which is all a translation into another script leaves; and
- anchors: the overlap of terms that survive a rewrite or a translation, namely numbers, Latin-script
  words (names, brands, and every content word in a same-language clean), and CJK character bigrams.

Invariants:
- The result is monotone (never earlier than the paragraph before), starts at 0 for the first
  paragraph, and every value is a valid index into the source sentences: a time can only come from the
  source.
- Deterministic and pure; work is bounded (a band around the diagonal for large chunks).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from .keyphrases import lexical_terms
from .languages import weighted_length

POSITION_WEIGHT = 2.0
ANCHOR_WEIGHT = 1.0
MAX_FULL_CELLS = 40_000
BAND = 0.25  # share of the text, each side of the diagonal, when the full matrix is too large

_OUTPUT_SENTENCE = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


def _anchor_terms(text: str) -> frozenset[str]:
    return frozenset([*lexical_terms(text), *_NUMBER.findall(text)])


def _positions(texts: Sequence[str]) -> list[float]:
    """Share of the total weighted length before each text's middle."""
    lengths = [max(weighted_length(text), 1.0) for text in texts]
    total = sum(lengths)
    positions: list[float] = []
    before = 0.0
    for length in lengths:
        positions.append((before + length / 2) / total)
        before += length
    return positions


def _overlap(left: frozenset[str], right: frozenset[str]) -> float:
    if not left or not right:
        return 0.0
    return len(left & right) / math.sqrt(len(left) * len(right))


def paragraph_source_starts(paragraphs: Sequence[str], sources: Sequence[str]) -> list[int]:
    """For each output paragraph, the index (into ``sources``) of the source sentence it starts with."""
    if not paragraphs:
        return []
    if len(sources) <= 1:
        return [0] * len(paragraphs)
    units: list[str] = []
    first_unit: list[int] = []
    for paragraph in paragraphs:
        pieces = [piece for piece in _OUTPUT_SENTENCE.split(paragraph) if piece.strip()] or [paragraph]
        first_unit.append(len(units))
        units.extend(pieces)
    mapped = _align(units, sources)
    starts: list[int] = []
    for unit in first_unit:
        value = mapped[unit]
        starts.append(max(value, starts[-1]) if starts else 0)
    return starts


def _align(units: Sequence[str], sources: Sequence[str]) -> list[int]:
    """For each output unit, the first source index the warping path pairs it with."""
    rows, cols = len(sources), len(units)
    source_at, unit_at = _positions(sources), _positions(units)
    source_terms = [_anchor_terms(text) for text in sources]
    unit_terms = [_anchor_terms(text) for text in units]
    banded = rows * cols > MAX_FULL_CELLS
    infinity = float("inf")
    cost = [[infinity] * cols for _ in range(rows)]
    move = [[0] * cols for _ in range(rows)]  # 0 diagonal, 1 from above (next source), 2 from left
    for i in range(rows):
        for j in range(cols):
            if banded and abs(source_at[i] - unit_at[j]) > BAND and not (i == 0 and j == 0):
                continue
            local = POSITION_WEIGHT * abs(source_at[i] - unit_at[j])
            local += ANCHOR_WEIGHT * (1.0 - _overlap(source_terms[i], unit_terms[j]))
            if i == 0 and j == 0:
                cost[i][j] = local
                continue
            best, step = infinity, 0
            for candidate, direction in (
                (cost[i - 1][j - 1] if i and j else infinity, 0),
                (cost[i - 1][j] if i else infinity, 1),
                (cost[i][j - 1] if j else infinity, 2),
            ):
                if candidate < best:
                    best, step = candidate, direction
            if best < infinity:
                cost[i][j] = best + local
                move[i][j] = step
    if cost[rows - 1][cols - 1] == infinity:  # the band cut every path (cannot happen on the diagonal)
        return [min(rows - 1, math.floor(unit_at[j] * rows)) for j in range(cols)]
    first: list[int] = [rows - 1] * cols
    i, j = rows - 1, cols - 1
    while True:
        first[j] = min(first[j], i)
        if i == 0 and j == 0:
            break
        step = move[i][j]
        if step == 0:
            i, j = i - 1, j - 1
        elif step == 1:
            i -= 1
        else:
            j -= 1
    return first
