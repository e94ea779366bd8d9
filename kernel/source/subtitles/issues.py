"""Recording what parsing repaired, dropped or noticed, and summing it up for warnings and reports.

Every ``SubtitleIssue`` message starts with the display name and, for a cue, its line
(``talk.en.srt line 12: ...``), so it makes sense wherever it is shown on its own.
``summarize_subtitle_issues`` turns many issues into one line per file and kind, listing the first lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from kernel.output.exports import format_timestamp
from kernel.transcript import SubtitleIssue, SubtitleIssueAction, SubtitleIssueKind

Severity = Literal["warning", "info"]

# How several issues of one kind read in a summary: "<file>: <count> <phrase> (lines ...)".
_SUMMARY_PHRASES: dict[SubtitleIssueKind, str] = {
    "timing_unreadable": "cues have a timing line that cannot be read; their times were taken from the "
    "neighbouring cues",
    "negative_time": "cues have negative times; they were moved to 0",
    "end_before_start": "cues end before they start; their ends were taken from the next cue",
    "out_of_order": "cues start before the cue above them; they were moved into time order",
    "overlap": "cues start before the previous cue ends; they were kept as they are",
    "duplicate_cue": "cues repeat the previous cue's text and times exactly; the copies were dropped",
    "empty_cue": "cues have a timing line but no text",
    "speaker_label": "speaker labels were read as speakers",
}
_LISTED_LINES = 5


def clock(seconds: float) -> str:
    """A time as it appears in subtitle files (``00:01:05.250``); negative times keep their sign."""
    return ("-" if seconds < 0 else "") + format_timestamp(abs(seconds))


class IssueLog:
    """Collects the issues of one file; ``file`` is the display name every message starts with."""

    __slots__ = ("file", "issues")

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[SubtitleIssue] = []

    def add(
        self,
        kind: SubtitleIssueKind,
        severity: Severity,
        action: SubtitleIssueAction,
        what: str,
        *,
        line: int | None = None,
        start: float | None = None,
    ) -> None:
        where = f"{self.file} line {line}" if line is not None else self.file
        self.issues.append(SubtitleIssue(kind=kind, severity=severity, action=action, file=self.file, line=line,
                                         start=None if start is None else round(start, 3),
                                         message=f"{where}: {what}"))


def summarize_subtitle_issues(issues: Iterable[SubtitleIssue], *, severity: Severity | None = "warning") -> list[str]:
    """One line per file and kind, in first-seen order: the issue's own message when it is alone, else a
    count with the first few lines (``talk.en.srt: 3 cues ... (lines 12, 40, 77)``).

    ``severity`` keeps only that severity (default: warnings, for a run's warnings); ``None`` keeps all.
    """
    groups: dict[tuple[str, SubtitleIssueKind], list[SubtitleIssue]] = {}
    for issue in issues:
        if severity is None or issue.severity == severity:
            groups.setdefault((issue.file, issue.kind), []).append(issue)
    lines: list[str] = []
    for (file, kind), group in groups.items():
        phrase = _SUMMARY_PHRASES.get(kind)
        if len(group) == 1 or phrase is None:
            lines.extend(issue.message for issue in group)
            continue
        lines.append(f"{file}: {len(group)} {phrase} ({_line_list(group)})")
    return lines


def _line_list(group: Sequence[SubtitleIssue]) -> str:
    numbers = [str(issue.line) for issue in group if issue.line is not None]
    if not numbers:
        return f"{len(group)} in all"
    listed = ", ".join(numbers[:_LISTED_LINES])
    more = len(numbers) - _LISTED_LINES
    return f"lines {listed}" + (f" and {more} more" if more > 0 else "")
