"""``python -m benchmarks.asr``: our whisper path against faster-whisper's own batched pipeline, plus memory and stop latency.

Needs ``espeak-ng`` on PATH (``apt-get install espeak-ng``): the speech is synthesized at benchmark time from
``benchmarks/asr_script.txt`` (about 640 words, 3.6 minutes), so every word error rate (WER, with ``jiwer``
after lower-casing and removing punctuation) is measured against the exact text read. Works offline with the
bundled whisper-base model. Figures:

- speed: ``WhisperTranscriber.transcribe`` with the default settings (fresh checkpoint directory each time,
  so window planning, fingerprinting and checkpoint writes count) against
  ``BatchedInferencePipeline.transcribe`` on the same WAV and the same loaded model, once with word timestamps
  like ours and once with the pipeline's defaults (no word timestamps). A warm-up call first, then the three
  alternate ``--repeats`` times; medians of wall time (and of CPU seconds, which other load on the machine
  disturbs less) are compared. Target: ratio at most 1.0 at no worse WER.
- candidates: time (median of ``--candidate-repeats``) and WER of other settings of ours (beam size, batch
  size, the sequential decoder), the evidence for the defaults. ``--candidate-repeats 0`` skips them.
- stop latency: a stop requested 3, 8 and 13 s into transcribing 10 minutes of speech, measured from the
  request to ``StopRequested``. Target: at most 2 s.
- memory: peak RSS of a fresh process transcribing 10 minutes and 3 hours of audio built from the same speech
  (every 5 minutes: 30 s of it, then silence, so the 3 hours take minutes rather than an hour of compute), and
  10 minutes of continuous speech (``VmHWM``). Target: 3 hours within 10 % of 10 minutes. ``--skip-memory``
  skips it, ``--only-memory`` runs nothing else.

Prints one JSON document; ``table`` lists each figure beside its anchor (also printed to stderr). Timings
depend on machine load: run it when the machine is quiet.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kernel.config import Settings, load_settings
from kernel.source.asr.whisper import WhisperTranscriber, usable_cpu_count
from kernel.source.asr.whisper_model import resolve_whisper_model
from kernel.source.asr.windows import read_wav_info
from kernel.source.audio import extract_audio_wav
from kernel.task_runtime.errors import StopRequested, YTTError
from scripts._common import run_json_command

SCRIPT = Path(__file__).resolve().with_name("asr_script.txt")
VOICE, SPEED_WPM = "en-us", 165
STOP_AFTER_SECONDS = (3.0, 8.0, 13.0)
LONG_BLOCK_SECONDS, LONG_SPEECH_SECONDS = 300, 30
_RATE = 16000


class BenchmarkSetupError(YTTError):
    """Something the benchmark needs is missing on this machine."""

    code = "benchmark_setup_failed"


def synthesize_speech(target: Path, *, voice: str = VOICE, speed: int = SPEED_WPM) -> float:
    """Read ``asr_script.txt`` with espeak-ng into a 16 kHz mono WAV at ``target``; returns its duration.

    Raises:
        BenchmarkSetupError: espeak-ng is missing or fails.
    """
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise BenchmarkSetupError(
            "espeak-ng is not installed; the ASR benchmark synthesizes its speech with it",
            hint="install it (apt-get install espeak-ng) and run python -m benchmarks.asr again",
        )
    raw = target.with_suffix(".espeak.wav")
    done = subprocess.run(
        [espeak, "-v", voice, "-s", str(speed), "-f", str(SCRIPT), "-w", str(raw)],
        stdin=subprocess.DEVNULL, capture_output=True, check=False,
    )
    if done.returncode != 0:
        raise BenchmarkSetupError(
            f"espeak-ng failed (exit code {done.returncode})",
            hint="run espeak-ng --version to check the installation",
            details={"stderr": done.stderr.decode(errors="replace")[-1000:]},
        )
    extract_audio_wav(raw, target)
    raw.unlink()
    return read_wav_info(target).duration


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer

    def normalize(text: str) -> str:
        return " ".join("".join(c if c.isalnum() or c == "'" else " " for c in text.lower()).split())

    return round(float(jiwer.wer(normalize(reference), normalize(hypothesis))), 4)


def repeat_speech(speech: Path, target: Path, *, seconds: float, block: float | None = None,
                  speech_per_block: float | None = None) -> float:
    """Write ``seconds`` of audio built from ``speech``, block by block (never all in memory).

    Without ``block`` the speech repeats back to back; with it, each ``block`` seconds hold the first
    ``speech_per_block`` seconds of the speech followed by silence.
    """
    with wave.open(str(speech), "rb") as reader:
        pcm = reader.readframes(reader.getnframes())
    if block is not None and speech_per_block is not None:
        voiced = pcm[: 2 * round(speech_per_block * _RATE)]
        pcm = voiced + bytes(2 * round(block * _RATE) - len(voiced))
    remaining = 2 * round(seconds * _RATE)
    with wave.open(str(target), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(_RATE)
        while remaining > 0:
            piece = pcm[:remaining]
            writer.writeframes(piece)
            remaining -= len(piece)
    return read_wav_info(target).duration


def _settings(**whisper: Any) -> Settings:
    settings = load_settings()
    return settings.model_copy(update={"whisper": settings.whisper.model_copy(update=whisper)})


def _load_model(settings: Settings) -> Any:
    from faster_whisper import WhisperModel

    transcriber = WhisperTranscriber(settings)
    model_dir = resolve_whisper_model(settings.whisper.model, settings.models_dir)
    return WhisperModel(model_dir, device="cpu", compute_type=settings.whisper.compute_type,
                        cpu_threads=transcriber.cpu_threads, local_files_only=True)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(action: Callable[[], str]) -> tuple[float, str]:
    started = time.perf_counter()
    text = action()
    return time.perf_counter() - started, text


def compare_speed(model: Any, wav: Path, scratch: Path, reference_text: str, repeats: int) -> dict[str, Any]:
    from faster_whisper import BatchedInferencePipeline

    settings = _settings()
    pipeline = BatchedInferencePipeline(model)
    transcriber = WhisperTranscriber(settings, model=model)
    runs = 0

    def ours() -> str:
        nonlocal runs
        runs += 1
        result = transcriber.transcribe(wav, language=None, initial_prompt=None,
                                        checkpoint_dir=scratch / f"speed-{runs}")
        return " ".join(s.text for s in result.segments)

    def pipeline_run(words: bool) -> Callable[[], str]:
        def run() -> str:
            segments, _ = pipeline.transcribe(str(wav), word_timestamps=words)
            return " ".join(s.text for s in segments)

        return run

    variants = {
        "ours": ours,
        "pipeline_words": pipeline_run(settings.whisper.word_timestamps),
        "pipeline_default": pipeline_run(False),
    }
    variants["pipeline_words"]()  # warm-up: first-call costs (VAD model load, allocator) belong to no side
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu_times: dict[str, list[float]] = {name: [] for name in variants}
    texts: dict[str, str] = {}
    for _ in range(repeats):  # interleaved, so drifting machine load hits every side alike
        for name, action in variants.items():
            cpu_before = _cpu_seconds()
            seconds, texts[name] = _timed(action)
            cpu_times[name].append(round(_cpu_seconds() - cpu_before, 3))
            times[name].append(round(seconds, 3))
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu = {name: statistics.median(values) for name, values in cpu_times.items()}
    return {
        # CPU seconds (user + system, all threads) move less than wall time when other work shares the cores.
        "cpu_ratio_vs_pipeline_words": round(cpu["ours"] / cpu["pipeline_words"], 3),
        "cpu_ratio_vs_pipeline_default": round(cpu["ours"] / cpu["pipeline_default"], 3),
        "cpu_s": cpu_times,
        "ours_s": round(medians["ours"], 3),
        "pipeline_words_s": round(medians["pipeline_words"], 3),
        "pipeline_default_s": round(medians["pipeline_default"], 3),
        "ratio_vs_pipeline_words": round(medians["ours"] / medians["pipeline_words"], 3),
        "ratio_vs_pipeline_default": round(medians["ours"] / medians["pipeline_default"], 3),
        "wer": {name: word_error_rate(reference_text, text) for name, text in texts.items()},
        "times_s": times,
        "settings": {"beam_size": settings.whisper.beam_size, "batch_size": transcriber.batch_size,
                     "cpu_threads": transcriber.cpu_threads, "word_timestamps": settings.whisper.word_timestamps},
    }


CANDIDATES: list[dict[str, Any]] = [
    {"beam_size": 5, "batch_size": 1},
    {"beam_size": 5, "batch_size": 8},
    {"beam_size": 3},
    {"beam_size": 2},
    {"beam_size": 1},
    {"batched": False},  # faster-whisper's sequential decoding (the default before)
]


def measure_candidates(model: Any, wav: Path, scratch: Path, reference_text: str, repeats: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, overrides in enumerate(CANDIDATES):
        transcriber = WhisperTranscriber(_settings(**overrides), model=model)
        times: list[float] = []
        text = ""
        for attempt in range(repeats):
            checkpoints = scratch / f"candidate-{number}-{attempt}"

            def run(t: WhisperTranscriber = transcriber, directory: Path = checkpoints) -> str:
                result = t.transcribe(wav, language=None, initial_prompt=None, checkpoint_dir=directory)
                return " ".join(s.text for s in result.segments)

            seconds, text = _timed(run)
            times.append(round(seconds, 3))
        rows.append({"settings": overrides, "batch_size": transcriber.batch_size,
                     "seconds": statistics.median(times), "wer": word_error_rate(reference_text, text)})
    return rows


def measure_stop_latency(model: Any, wav: Path, scratch: Path) -> list[float]:
    """Seconds from a stop request to ``StopRequested``, for a request at each of ``STOP_AFTER_SECONDS``."""
    latencies: list[float] = []
    for number, delay in enumerate(STOP_AFTER_SECONDS):
        transcriber = WhisperTranscriber(_settings(), model=model)
        requested = threading.Event()
        requested_at: list[float] = []

        def request(event: threading.Event = requested, at: list[float] = requested_at) -> None:
            at.append(time.perf_counter())
            event.set()

        timer = threading.Timer(delay, request)
        timer.start()
        try:
            transcriber.transcribe(wav, language=None, initial_prompt=None, checkpoint_dir=scratch / f"stop-{number}",
                                   should_stop=requested.is_set)
        except StopRequested:
            latencies.append(round(time.perf_counter() - requested_at[0], 3))
        finally:
            timer.cancel()
    return latencies


def measure_memory(speech: Path, scratch: Path) -> dict[str, Any]:
    cases = {
        "10min": dict(seconds=600.0, block=LONG_BLOCK_SECONDS, speech_per_block=LONG_SPEECH_SECONDS),
        "3h": dict(seconds=3 * 3600.0, block=LONG_BLOCK_SECONDS, speech_per_block=LONG_SPEECH_SECONDS),
        "10min_continuous": dict(seconds=600.0),
    }
    results: dict[str, Any] = {}
    for name, shape in cases.items():
        wav = scratch / f"memory-{name}.wav"
        repeat_speech(speech, wav, **shape)
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.asr", "--rss-child", str(wav), str(scratch / f"memory-{name}")],
            capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parent.parent,
        )
        wav.unlink()
        try:
            results[name] = json.loads(done.stdout)
        except json.JSONDecodeError:
            results[name] = {"error": done.stderr[-1000:]}
    return results


def peak_rss_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` where Linux has it: ``ru_maxrss`` would carry over the
    parent's peak through fork and exec."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_child(wav: Path, checkpoints: Path) -> dict[str, Any]:
    started = time.perf_counter()
    result = WhisperTranscriber(load_settings()).transcribe(wav, language="en", initial_prompt=None,
                                                           checkpoint_dir=checkpoints)
    return {
        "peak_rss_mb": peak_rss_mb(),
        "audio_seconds": round(read_wav_info(wav).duration, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "windows": result.stats["windows_total"],
        "segments": len(result.segments),
    }


def build_table(report: dict[str, Any]) -> list[dict[str, Any]]:
    speed, rows = report["speed"], []
    wer = speed["wer"]
    rows.append({"figure": "ours / batched pipeline, both with word timestamps (median wall time)",
                 "value": speed["ratio_vs_pipeline_words"], "anchor": "<= 1.0",
                 "met": speed["ratio_vs_pipeline_words"] <= 1.0})
    rows.append({"figure": "ours / batched pipeline with its defaults (no word timestamps)",
                 "value": speed["ratio_vs_pipeline_default"], "anchor": "<= 1.0",
                 "met": speed["ratio_vs_pipeline_default"] <= 1.0})
    rows.append({"figure": "same two ratios in CPU seconds (less sensitive to other load)",
                 "value": f"{speed['cpu_ratio_vs_pipeline_words']} / {speed['cpu_ratio_vs_pipeline_default']}",
                 "anchor": "<= 1.0", "met": None})
    best_reference = min(wer["pipeline_words"], wer["pipeline_default"])
    rows.append({"figure": "WER ours", "value": wer["ours"], "anchor": f"<= pipeline's {best_reference}",
                 "met": wer["ours"] <= best_reference})
    rows.append({"figure": "WER batched pipeline (with words / defaults)",
                 "value": f"{wer['pipeline_words']} / {wer['pipeline_default']}", "anchor": "reference", "met": None})
    if report.get("stop_latency_s"):
        worst = max(report["stop_latency_s"])
        rows.append({"figure": f"stop latency, worst of {len(report['stop_latency_s'])} (s)", "value": worst,
                     "anchor": "<= 2.0", "met": worst <= 2.0})
    memory = report.get("memory") or {}
    short, long_ = memory.get("10min", {}).get("peak_rss_mb"), memory.get("3h", {}).get("peak_rss_mb")
    if short and long_:
        rows.append({"figure": "peak RSS 10 min (MB)", "value": short, "anchor": "reference", "met": None})
        rows.append({"figure": "peak RSS 3 h (MB)", "value": long_, "anchor": f"<= 1.1 x 10 min = {short * 1.1:.0f}",
                     "met": long_ <= short * 1.1})
        continuous = memory.get("10min_continuous", {}).get("peak_rss_mb")
        if continuous:
            rows.append({"figure": "peak RSS 10 min continuous speech (MB)", "value": continuous,
                         "anchor": "about the same", "met": None})
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    width = max(len(row["figure"]) for row in rows)
    lines = [f"{'figure':<{width}}  {'value':>14}  {'anchor':<28} met"]
    for row in rows:
        met = {True: "yes", False: "NO", None: ""}[row["met"]]
        lines.append(f"{row['figure']:<{width}}  {row['value']!s:>14}  {row['anchor']:<28} {met}")
    return "\n".join(lines)


def run_benchmark(repeats: int, candidate_repeats: int, skip_memory: bool) -> dict[str, Any]:
    settings = _settings()
    model = _load_model(settings)
    reference_text = SCRIPT.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as scratch_name:
        scratch = Path(scratch_name)
        speech = scratch / "speech.wav"
        duration = synthesize_speech(speech)
        report: dict[str, Any] = {"audio_seconds": round(duration, 1), "cpu_cores": usable_cpu_count()}
        report["speed"] = compare_speed(model, speech, scratch, reference_text, repeats)
        if candidate_repeats > 0:
            report["candidates"] = measure_candidates(model, speech, scratch, reference_text, candidate_repeats)
        ten_minutes = scratch / "ten-minutes.wav"
        repeat_speech(speech, ten_minutes, seconds=600.0)
        report["stop_latency_s"] = measure_stop_latency(model, ten_minutes, scratch)
        if not skip_memory:
            del model
            report["memory"] = measure_memory(speech, scratch)
    report["table"] = build_table(report)
    print(format_table(report["table"]), file=sys.stderr)
    return report


def run_memory_only() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as scratch_name:
        scratch = Path(scratch_name)
        speech = scratch / "speech.wav"
        synthesize_speech(speech)
        memory = measure_memory(speech, scratch)
    return {"memory": memory}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.asr", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per side of the speed comparison (median)")
    parser.add_argument("--candidate-repeats", type=int, default=1, help="runs per candidate setting; 0 skips them")
    parser.add_argument("--skip-memory", action="store_true", help="skip the 10 min / 3 h peak memory runs")
    parser.add_argument("--only-memory", action="store_true", help="run only the peak memory figures")
    parser.add_argument("--rss-child", nargs=2, metavar=("WAV", "CHECKPOINTS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        return run_json_command(lambda: rss_child(Path(args.rss_child[0]), Path(args.rss_child[1])))
    if args.only_memory:
        return run_json_command(run_memory_only)
    return run_json_command(lambda: run_benchmark(max(1, args.repeats), max(0, args.candidate_repeats),
                                                  args.skip_memory))


if __name__ == "__main__":
    sys.exit(main())
