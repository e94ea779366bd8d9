"""The yt-transcript run states: what the run is doing while its phases run.

The runtime's own states (``RunState``: created, processing, ready, awaiting_decision, paused, cancelled,
failed, completed, completed_degraded) are shared by every pipeline; these name the yt-transcript
activities, so ``state`` says what is running now. The chunk loop (``transform``) uses the runtime's
``processing``.
"""

from __future__ import annotations

from enum import StrEnum


class TranscriptState(StrEnum):
    CHECKING = "checking"  # preflight
    SOURCING = "sourcing"  # discover, route, acquire (metadata, tracks, downloads)
    TRANSCRIBING = "transcribing"  # subtitles parsed or speech recognized
    PLANNING = "planning"  # normalize, plan
    VERIFYING = "verifying"  # merge, quality gate
    ASSEMBLING = "assembling"  # article and exports


STATES: tuple[str, ...] = tuple(state.value for state in TranscriptState)
