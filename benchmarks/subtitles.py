"""Benchmark: parse + de-duplicate + normalize long YouTube auto-caption VTT files.

``python -m benchmarks.subtitles [--repeat N]`` generates a synthetic but realistic rolling
auto-caption VTT (inline word timings, 10 ms transition cues, occasional ``[Music]``, about 150 words a
minute) for 5 h and 10 h, times ``parse_subtitle_text`` + ``normalize_transcript`` (best of N) and
prints one JSON document: ``{"cues_5h", "words_5h", "seconds_5h", "seconds_10h", "ratio"}``.
Targets: 5 h under 1 s, and ``ratio`` (10 h / 5 h) at most about 2.2, i.e. linear time.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from kernel.output.exports import format_timestamp
from kernel.source.normalize import normalize_transcript
from kernel.source.subtitles import parse_subtitle_text
from kernel.transcript import TranscriptSegments
from scripts._common import run_json_command

_VOCABULARY_TEXT = (
    "the of and to a in that is it you we they this for on with as be at by not are from or have but an "
    "was what all were when your can said there use each which she do how their if will up other about "
    "out many then them these so some her would make like him into time has look two more write go see "
    "number no way could people my than first water been call who oil its now find long down day did get "
    "come made may part over new sound take only little work know place year live me back give most very "
    "after thing our just name good sentence man think say great where help through much before line "
    "right too mean old any same tell boy follow came want show also around form three small set put end "
    "does another well large must big even such because turn here why ask went men read need land "
    "different home us move try kind hand picture again change off play spell air away animal house "
    "point page letter mother answer found study still learn should world high every near add food"
)


def generate_auto_caption_vtt(hours: float, seed: int = 7) -> str:
    """A YouTube-shaped rolling auto-caption VTT of the given length (deterministic for a seed)."""
    rng = random.Random(seed)
    vocabulary = _VOCABULARY_TEXT.split()
    total = hours * 3600
    lines: list[tuple[float, list[tuple[float, str]], bool]] = []  # (start, timed words, is_music)
    clock = 0.0
    while clock < total:
        if rng.random() < 0.01:
            lines.append((clock, [(clock, "[Music]")], True))
            clock += rng.uniform(3.0, 8.0)
            continue
        words: list[tuple[float, str]] = []
        for _ in range(rng.randint(10, 16)):
            words.append((clock, rng.choice(vocabulary)))
            clock += rng.uniform(0.25, 0.55)
        lines.append((words[0][0], words, False))
        if rng.random() < 0.25:
            clock += rng.uniform(0.9, 2.0)  # a pause between phrases
    out: list[str] = ["WEBVTT\nKind: captions\nLanguage: en\n\n"]
    previous_plain = ""
    for index, (start, words, is_music) in enumerate(lines):
        end = lines[index + 1][0] if index + 1 < len(lines) else start + 3.0
        cue_end = max(start + 0.02, end - 0.01)
        plain = " ".join(text for _, text in words)
        if is_music:
            timed = plain
        else:
            timed = words[0][1] + "".join(f"<{format_timestamp(at)}><c> {text}</c>" for at, text in words[1:])
        first_line = previous_plain if previous_plain else " "
        out.append(f"{format_timestamp(start)} --> {format_timestamp(cue_end)} align:start position:0%\n{first_line}\n{timed}\n\n")
        out.append(f"{format_timestamp(cue_end)} --> {format_timestamp(cue_end + 0.01)} align:start position:0%\n{plain}\n \n\n")
        previous_plain = plain
    return "".join(out)


def _best_seconds(text: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        segments = parse_subtitle_text(text, "vtt").segments
        normalize_transcript(TranscriptSegments(origin="subtitles", language="en", segments=segments), [])
        best = min(best, time.perf_counter() - began)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.subtitles", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is reported")
    args = parser.parse_args(argv)

    def body() -> dict[str, Any]:
        # Generate each input just before timing it, so the other one does not sit on the heap.
        text_5h = generate_auto_caption_vtt(5)
        cues_5h = text_5h.count(" --> ")
        words_5h = sum(len(s.words or ()) for s in parse_subtitle_text(text_5h, "vtt").segments)
        seconds_5h = _best_seconds(text_5h, args.repeat)
        del text_5h
        seconds_10h = _best_seconds(generate_auto_caption_vtt(10), args.repeat)
        return {
            "cues_5h": cues_5h,
            "words_5h": words_5h,
            "seconds_5h": round(seconds_5h, 3),
            "seconds_10h": round(seconds_10h, 3),
            "ratio": round(seconds_10h / seconds_5h, 2),
        }

    return run_json_command(body)


if __name__ == "__main__":
    raise SystemExit(main())
