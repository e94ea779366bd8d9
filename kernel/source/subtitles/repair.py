"""Cue times the file got wrong: fill them from the neighbours, put cues in time order, report overlaps.

Invariants:
- Every cue changed here is reported once, with its line: ``fill_times`` (unreadable timing, negative
  times, an end before the start), ``order_cues`` (out of order), ``check_overlaps`` (overlap: kept;
  an exact duplicate of the previous cue: dropped).
- A missing start is the previous cue's end (0 for the first cue); a missing end is the next cue's start
  when that is later, else the start plus a length estimate (70 ms a character, 1 to 6 s). Neighbours are
  taken in file order, before ordering, so a damaged cue stays where the file put it.
- After ``order_cues`` cues are sorted by start (a stable sort: equal starts keep file order) with
  ``start <= end``.
- Work is linear in the number of cues (a missing end looks at most 8 cues ahead).
"""

from __future__ import annotations

import math

from .cues import ScanResult, _Cue, quoted
from .issues import IssueLog, clock

_LOOK_AHEAD = 8
_MIN_ESTIMATE_S = 1.0
_MAX_ESTIMATE_S = 6.0
_SECONDS_PER_CHAR = 0.07
_TOUCHING_GAP = 0.05  # overlaps up to this are rounding, not overlaps


def fill_times(scan: ScanResult, log: IssueLog) -> None:
    """Give every cue with an unknown (NaN) start or end a time from its neighbours, and report it."""
    cues = scan.cues
    for repair in scan.repairs:
        cue = cues[repair.cue_index]
        start_missing, end_missing = math.isnan(cue.start), math.isnan(cue.end)
        if start_missing:
            cue.start = cues[repair.cue_index - 1].end if repair.cue_index > 0 else 0.0
        if end_missing:
            cue.end = _next_start(cues, repair.cue_index, cue) or cue.start + _estimate(cue)
        text = quoted(" ".join(line.text for line in cue.lines))
        timed = f"{clock(cue.start)} --> {clock(cue.end)}"
        if repair.kind == "timing_unreadable":
            if start_missing and end_missing:
                what = f"the timing line {quoted(repair.timing_text)} cannot be read; the cue {text} was timed " \
                       f"{timed} from its neighbours"
            elif not start_missing and not end_missing:
                what = f"the timing line {quoted(repair.timing_text)} is malformed; the cue {text} was read as {timed}"
            else:
                part = "start" if start_missing else "end"
                what = f"the timing line {quoted(repair.timing_text)} cannot be read in full; the cue {text} was " \
                       f"timed {timed}, its {part} taken from its neighbours"
            log.add("timing_unreadable", "warning", "repaired", what, line=cue.line, start=cue.start)
        elif repair.kind == "negative_time":
            log.add("negative_time", "warning", "repaired", f"the timing line {quoted(repair.timing_text)} has a "
                    f"negative time; the cue {text} was timed {timed}", line=cue.line, start=cue.start)
        else:
            written = clock(repair.written_end) if repair.written_end is not None else "?"
            log.add("end_before_start", "warning", "repaired", f"the cue {text} ends ({written}) before it starts "
                    f"({clock(cue.start)}); its end was set to {clock(cue.end)}", line=cue.line, start=cue.start)


def _next_start(cues: list[_Cue], index: int, cue: _Cue) -> float | None:
    for later in cues[index + 1 : index + 1 + _LOOK_AHEAD]:
        if not math.isnan(later.start):
            return later.start if later.start > cue.start else None
    return None


def _estimate(cue: _Cue) -> float:
    chars = sum(len(line.text) for line in cue.lines)
    return min(_MAX_ESTIMATE_S, max(_MIN_ESTIMATE_S, _SECONDS_PER_CHAR * chars))


def order_cues(cues: list[_Cue], log: IssueLog) -> None:
    """Sort cues by start in place, reporting each cue that starts before the cue above it in the file."""
    latest: _Cue | None = None
    moved = False
    for cue in cues:
        if latest is not None and cue.start < latest.start:
            moved = True
            log.add("out_of_order", "warning", "reordered", f"the cue {quoted(cue.lines[0].text)} starts at "
                    f"{clock(cue.start)}, before the cue at line {latest.line} ({clock(latest.start)}); it was moved "
                    "into time order", line=cue.line, start=cue.start)
        else:
            latest = cue
    if moved:
        cues.sort(key=lambda cue: cue.start)


def check_overlaps(cues: list[_Cue], log: IssueLog) -> list[_Cue]:
    """Report cues that start before the previous one ends (kept), drop exact duplicates (reported).

    For files that are not rolling auto-captions, where overlapping cues are the display mechanism.
    Expects cues in time order.
    """
    kept: list[_Cue] = []
    for cue in cues:
        previous = kept[-1] if kept else None
        if previous is None:
            kept.append(cue)
            continue
        if cue.start == previous.start and cue.end == previous.end and _texts(cue) == _texts(previous):
            log.add("duplicate_cue", "warning", "dropped", f"the cue {quoted(cue.lines[0].text)} repeats the cue "
                    f"at line {previous.line} with the same times; the copy was dropped", line=cue.line,
                    start=cue.start)
            continue
        if cue.start < previous.end - _TOUCHING_GAP:
            log.add("overlap", "warning", "kept", f"the cue {quoted(cue.lines[0].text)} starts at {clock(cue.start)}, "
                    f"before the cue at line {previous.line} ends ({clock(previous.end)}); both were kept",
                    line=cue.line, start=cue.start)
        kept.append(cue)
    return kept


def _texts(cue: _Cue) -> list[tuple[str, str | None]]:
    return [(line.text, line.speaker) for line in cue.lines]
