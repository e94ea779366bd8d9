"""``python -m benchmarks.overlap``: speech recognition and the LLM overlapped, and the time to the first draft words.

Needs ``espeak-ng`` (``apt-get install espeak-ng``): the speech is ``benchmarks/asr_script.txt`` read by
espeak-ng and repeated back to back to ``--minutes`` of audio. Speech recognition is the default whisper path
with the bundled model; the LLM is the fake OpenAI-compatible endpoint in its own process, holding every
request a fixed latency, at concurrency ``--concurrency`` with a 2048-token context window.

1. Calibration: a sequential run (``overlap = false``) at 500 ms per request gives the speech recognition
   time (the transcribe phase) and the chunk loop time (the transform phase); the latency is then scaled so
   the LLM stage alone takes about as long as speech recognition alone.
2. At that latency, a sequential run and an overlapped run (the default). Figures: each run's time from the
   start of recognition to the end of the chunk loop; ``overlap_ratio`` = the overlapped one divided by the
   longer of the sequential run's two stages (anchor: at most 1.15; the sum of the two is 2.0), and whether
   both articles are byte-identical.
3. Time to the first draft words: seconds from creating the run to the first line of ``draft.jsonl`` (the
   first recognized window), in the overlapped run; also from the start of the transcribe phase.

The chunks of the last sections can only be planned once the text ends (a section's end needs its look-ahead,
see ``kernel.long_text.sections``), so the part the LLM does after recognition shrinks with the length of the
audio: the ratio falls as ``--minutes`` grows. Timings depend on machine load: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.asr import repeat_speech, synthesize_speech
from benchmarks.long_text import bench_settings, external_fake_server
from kernel.config import Settings
from kernel.pipeline import build_runtime_api
from kernel.task_runtime import store
from kernel.task_runtime.drive import drive
from kernel.task_runtime.workdir import MANIFEST_FILE
from scripts._common import run_json_command

CALIBRATION_DELAY_MS = 500
LLM_WINDOW = {"context_window": 2048, "max_output_tokens": 512}
OVERLAP_ANCHOR = 1.15


def _seconds(start: str, end: str) -> float:
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)


def timed_run(settings: Settings, media: Path, out: Path) -> dict[str, Any]:
    """One clean-mode run of ``media`` driven to its end; its stage times and article."""
    api = build_runtime_api(settings)
    created = api.create_run({"source": str(media), "mode": "clean", "formats": ["md"], "output_dir": str(out)})
    work_dir = Path(created.work_dir)
    first_words: list[str] = []

    def watch_draft() -> None:  # the first recognized window, as a reader polling the work_dir sees it
        draft = work_dir / "draft.jsonl"
        while not first_words and not done.is_set():
            if draft.is_file() and draft.stat().st_size > 0:
                first_words.append(datetime.now(UTC).isoformat())
            time.sleep(0.05)

    done = threading.Event()
    watcher = threading.Thread(target=watch_draft, daemon=True)
    watcher.start()
    final = drive(api, created.run_id, accept_degraded=True)
    done.set()
    watcher.join()
    manifest = store.read_json(work_dir / MANIFEST_FILE)
    phases = manifest["phases"]
    transcribe, transform = phases["transcribe"], phases["transform"]
    plan = store.read_json(work_dir / manifest["artifacts"]["plan.current"]["path"])
    (markdown,) = sorted(out.glob("*.md"))
    return {
        "state": final.state,
        "asr_seconds": _seconds(transcribe["started_at"], transcribe["finished_at"]),
        "llm_seconds": _seconds(transform["started_at"], transform["finished_at"]),
        "asr_start_to_llm_end_seconds": _seconds(transcribe["started_at"], transform["finished_at"]),
        "chunks": len(plan["chunks"]),
        "early_chunks_sent": transcribe.get("summary", {}).get("early_chunks_sent", 0),
        "first_draft_words_s": _seconds(created_at(work_dir), first_words[0]) if first_words else None,
        "first_draft_words_after_asr_start_s": _seconds(transcribe["started_at"], first_words[0]) if first_words else None,
        "article": markdown.read_bytes(),
    }


def created_at(work_dir: Path) -> str:
    task = store.read_json(work_dir / ".runtime_task.json")
    return str(task["created_at"])


def settings_for(root: Path, name: str, base_url: str, concurrency: int, *, overlap: bool) -> Settings:
    settings = bench_settings(root, name, base_url, concurrency, LLM_WINDOW)
    return settings.model_copy(update={"overlap": overlap})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overlap", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the speech (default 30)")
    parser.add_argument("--concurrency", type=int, default=4, help="LLM requests at once (default 4)")
    args = parser.parse_args(argv)

    def body() -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="bench-overlap-") as tmp:
            root = Path(tmp).resolve()
            base = root / "speech.wav"
            synthesize_speech(base)
            media = root / "talk.wav"
            repeat_speech(base, media, seconds=args.minutes * 60)
            with external_fake_server(CALIBRATION_DELAY_MS) as base_url:
                calibration = timed_run(settings_for(root, "calibrate", base_url, args.concurrency, overlap=False),
                                        media, root / "calibrate" / "out")
            delay_ms = max(20, round(CALIBRATION_DELAY_MS * calibration["asr_seconds"] / calibration["llm_seconds"]))
            with external_fake_server(delay_ms) as base_url:
                sequential = timed_run(settings_for(root, "sequential", base_url, args.concurrency, overlap=False),
                                       media, root / "sequential" / "out")
                overlapped = timed_run(settings_for(root, "overlapped", base_url, args.concurrency, overlap=True),
                                       media, root / "overlapped" / "out")
        longer = max(sequential["asr_seconds"], sequential["llm_seconds"])
        ratio = round(overlapped["asr_start_to_llm_end_seconds"] / longer, 3)
        identical = overlapped.pop("article") == sequential.pop("article")
        calibration.pop("article")
        return {
            "minutes": args.minutes,
            "delay_ms": delay_ms,
            "overlap_ratio": ratio,
            "sequential_ratio": round(sequential["asr_start_to_llm_end_seconds"] / longer, 3),
            "articles_identical": identical,
            "first_draft_words_s": overlapped["first_draft_words_s"],
            "details": {"calibration": calibration, "sequential": sequential, "overlapped": overlapped},
            "table": [
                {"figure": f"speech + LLM overlapped / longer of the two ({args.minutes:g} min)", "value": ratio,
                 "anchor": f"<= {OVERLAP_ANCHOR} (sequential: {round(sequential['asr_start_to_llm_end_seconds'] / longer, 2)})"},
                {"figure": "overlapped and sequential articles byte-identical", "value": identical, "anchor": "true"},
                {"figure": "time to the first draft words (s from create-run)", "value": overlapped["first_draft_words_s"],
                 "anchor": "within seconds"},
            ],
        }

    return run_json_command(body)


if __name__ == "__main__":
    raise SystemExit(main())
