"""How long each phase is expected to take, so one progress bar moves with the time a run spends.

Weights are expected seconds on the reference machine (2 cores, whisper-base int8) only to keep every
phase on one scale; they are never shown as times. They come from the params and from what finished
phases recorded in their manifest summaries (duration, route, chunk count), so a report reads no other
file. Before discovery knows the duration a 10-minute source is assumed; before routing, speech
recognition is assumed, so choosing subtitles moves the bar forward rather than back.
"""

from __future__ import annotations

from ..config import Settings
from ..task_runtime.contracts import Manifest
from .cue_phases import cue_formats
from .intent import TranscriptParams

ASSUMED_DURATION_S = 600.0
# Speech recognition, seconds per audio second: local whisper-base int8 on 2 cores (batched 0.055,
# sequential beam 5 about 0.13; the middle is kept as estimates go), and a cloud upload plus reply.
LOCAL_ASR_RATIO = 0.09
CLOUD_ASR_RATIO = 0.02
DOWNLOAD_RATIO = 0.01  # seconds per audio second to fetch or extract the audio
SECONDS_PER_CHUNK = 25.0  # one chunk through a writer: request, verify, sometimes a repair
SPOKEN_SECONDS_PER_CHUNK = 420.0  # a chunk of about 1,500 tokens holds about 7 minutes of speech
SECONDS_PER_CUE_GROUP = 15.0
SPOKEN_SECONDS_PER_CUE_GROUP = 120.0
SMALL = 0.5  # a phase that reads and writes a few files


def phase_weights(params: TranscriptParams, settings: Settings, manifest: Manifest) -> dict[str, float]:
    summaries = {name: record.summary for name, record in manifest.phases.items()}
    duration = _number(summaries.get("discover", {}).get("duration_s")) or ASSUMED_DURATION_S
    route = summaries.get("route", {})
    recognizes = route.get("route", "asr") == "asr"
    backend = route.get("asr_backend") or params.asr_backend
    writes = params.writer(settings) is not None
    chunks = _number(summaries.get("plan", {}).get("chunks")) or max(1.0, duration / SPOKEN_SECONDS_PER_CHUNK)
    asr_ratio = CLOUD_ASR_RATIO if backend == "deepgram" else LOCAL_ASR_RATIO
    return {
        "preflight": 1.0,
        "discover": 2.0 if params.source_kind == "url" else SMALL,
        "route": SMALL,
        "acquire": 1.0 + (duration * DOWNLOAD_RATIO if recognizes else 0.0),
        "transcribe": duration * asr_ratio if recognizes else SMALL,
        "normalize": SMALL,
        "plan": 1.0,
        "transform": chunks * SECONDS_PER_CHUNK if writes else SMALL,
        "titles": SECONDS_PER_CHUNK if writes else SMALL,
        "merge": SMALL,
        "translate_cues": (max(1.0, duration / SPOKEN_SECONDS_PER_CUE_GROUP) * SECONDS_PER_CUE_GROUP
                           if writes and cue_formats(params) else SMALL),
        "verify": SMALL,
        "assemble": 1.0,
    }


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value > 0 else None

