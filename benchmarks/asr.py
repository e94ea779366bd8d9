"""``python -m benchmarks.asr [--seconds 60] [--repeats 2]``: our whisper path vs faster-whisper alone.

Builds about ``--seconds`` of speech by concatenating the speech fixtures, loads the bundled model once,
then times (best of ``--repeats``) two ways of transcribing the same WAV with the same settings:

- ``direct``: ``WhisperModel.transcribe(path, ...)`` with every segment consumed, as a user would call it;
- ``ours``: ``WhisperTranscriber.transcribe`` with a fresh checkpoint directory each time (WAV read,
  fingerprint, window planning, checkpoint writes included).

A warm-up call comes first and the two variants alternate. Prints ``{"ok": true, "direct_s", "ours_s", "overhead_pct", "audio_seconds", "windows", ...}``. The target is
an overhead of at most 5 %. Timings depend on machine load: run it when the machine is quiet.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kernel.config import load_settings
from kernel.source.asr.whisper import WhisperTranscriber
from kernel.source.asr.whisper_model import resolve_whisper_model
from kernel.source.asr.windows import read_wav_pcm16
from scripts._common import run_json_command

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "speech"


def build_speech_wav(target: Path, seconds: float) -> float:
    """Concatenate the speech fixtures (with 0.5 s gaps) until ``seconds`` is reached; returns the duration."""
    sources = [read_wav_pcm16(path) for path in sorted(FIXTURES.glob("*_en.wav"))]
    gap = np.zeros(8000, dtype="<i2")
    pieces: list[np.ndarray] = []
    total = 0
    while total < seconds * 16000:
        for samples in sources:
            pieces.extend([samples, gap])
            total += len(samples) + len(gap)
    audio = np.concatenate(pieces)
    with wave.open(str(target), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(audio.tobytes())
    return len(audio) / 16000


def run_benchmark(seconds: float, repeats: int) -> dict[str, Any]:
    from faster_whisper import WhisperModel

    settings = load_settings()
    options = settings.whisper
    model_dir = resolve_whisper_model(options.model, settings.models_dir)
    model = WhisperModel(model_dir, device="cpu", compute_type=options.compute_type, cpu_threads=options.cpu_threads)
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as scratch:
        wav = Path(scratch) / "speech.wav"
        duration = build_speech_wav(wav, seconds)

        def direct() -> None:
            segments, _ = model.transcribe(
                str(wav),
                beam_size=options.beam_size,
                word_timestamps=options.word_timestamps,
                vad_filter=options.vad,
            )
            for _ in segments:
                pass

        transcriber = WhisperTranscriber(settings, model=model)
        runs = 0
        windows = 0

        def ours() -> None:
            nonlocal runs, windows
            runs += 1
            result = transcriber.transcribe(
                wav, language=None, initial_prompt=None, checkpoint_dir=Path(scratch) / f"checkpoints-{runs}"
            )
            windows = int(result.stats["windows_total"])

        direct()  # warm-up: first-call costs (VAD model load, allocator) belong to neither side
        direct_times: list[float] = []
        ours_times: list[float] = []
        for _ in range(repeats):  # interleaved, so drifting machine load hits both sides alike
            direct_times.append(_timed(direct))
            ours_times.append(_timed(ours))
        direct_s, ours_s = min(direct_times), min(ours_times)
    return {
        "direct_s": round(direct_s, 3),
        "ours_s": round(ours_s, 3),
        "overhead_pct": round(100 * (ours_s - direct_s) / direct_s, 2),
        "audio_seconds": round(duration, 1),
        "windows": windows,
        "repeats": repeats,
        "compute_type": options.compute_type,
        "beam_size": options.beam_size,
    }


def _timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.asr", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the benchmark audio")
    parser.add_argument("--repeats", type=int, default=2, help="runs per variant; the best one counts")
    args = parser.parse_args(argv)
    return run_json_command(lambda: run_benchmark(args.seconds, max(1, args.repeats)))


if __name__ == "__main__":
    sys.exit(main())
