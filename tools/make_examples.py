"""Regenerate the bundled example media in ``examples/`` (a developer tool; CI only uses the committed files).

Needs ``espeak-ng`` on PATH (e.g. ``apt-get install espeak-ng``) and the ffmpeg bundled with imageio-ffmpeg.

    python -m tools.make_examples [--out-dir examples]

Each sentence of a fixed script is synthesized separately, its leading and trailing silence trimmed, and
the sentences joined with known pauses (0.4 s between sentences, 1.2 s between sections), so every cue's
start and end are exact. Outputs:

- ``sample-sidecar/sample.mp4`` + ``sample-sidecar/sample.en.vtt`` (audio-only MP4 with a WebVTT sidecar);
- ``sample-embedded/sample.mkv`` (embedded English SubRip track, one chapter per section, title tag);
- ``sample-speech/sample.m4a`` (speech only: no subtitles, no tags, language undetermined);
- ``sample-script.json`` (the ground truth: title, chapters and every cue's timing and text).

Prints one JSON document (the files written and their sizes) on stdout, like every ``scripts.*`` command.
"""

from __future__ import annotations

import argparse
import array
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kernel.output.exports import format_timestamp
from kernel.source.audio import ffmpeg_exe
from kernel.task_runtime.errors import YTTError
from kernel.task_runtime.store import atomic_copy, atomic_write_json, atomic_write_text
from kernel.transcript import Chapter
from scripts._common import run_json_command

DEFAULT_OUT_DIR = Path(__file__).resolve().parent.parent / "examples"

TITLE = "How We Cut Our Build Time"
RELEASE_DATE = "2024-07-01"
SECTIONS: list[tuple[str, list[str]]] = [
    (
        "Where we started",
        [
            "Welcome to this short update on how our team made its builds faster.",
            "In March 2024, a full build of our main project took about 42 minutes.",
            "Most of that time was spent downloading the same packages again and again.",
        ],
    ),
    (
        "What we changed",
        [
            "Maria Lopez suggested that we cache the dependencies between runs.",
            "We also moved every service to Python 3.11, which was noticeably faster on its own.",
            "Finally, the test suite was split into 4 groups that run at the same time.",
        ],
    ),
    (
        "The results",
        [
            "By June 14, a full build was finishing in under 12 minutes.",
            "That is a 70% reduction, and nobody had to buy new hardware.",
            "Next, we plan to share the cache across all 3 teams in the office.",
            "Thank you for listening.",
        ],
    ),
]

SENTENCE_PAUSE = 0.4
SECTION_PAUSE = 1.2
LEAD_IN = 0.5
TAIL = 0.8
SILENCE_THRESHOLD = 300  # 16-bit amplitude below which espeak's padding counts as silence
AUDIO_BITRATE = "40k"


class ExampleBuildError(YTTError):
    code = "example_build_failed"


class ExampleCue(BaseModel):
    start: float
    end: float
    text: str
    section: int


class ExampleScript(BaseModel):
    """The ground truth of the bundled examples: what is said, and exactly when."""

    title: str
    release_date: str
    language: str
    duration: float
    chapters: list[Chapter]
    cues: list[ExampleCue]


def trim_silence(samples: array.array[int], threshold: int = SILENCE_THRESHOLD) -> array.array[int]:
    """Drop the leading and trailing samples quieter than ``threshold``."""
    loud = [i for i, value in enumerate(samples) if abs(value) >= threshold]
    if not loud:
        return array.array("h")
    return samples[loud[0] : loud[-1] + 1]


def assemble_timeline(
    sentence_audio: list[list[array.array[int]]], sample_rate: int
) -> tuple[array.array[int], list[ExampleCue], list[Chapter]]:
    """Join per-section sentence audio with the fixed pauses; return the audio, cues and chapters.

    Times are rounded to milliseconds; chapters start at 0 and at the first cue of every later section.
    """

    def silence(seconds: float) -> array.array[int]:
        return array.array("h", bytes(2 * round(seconds * sample_rate)))

    audio = silence(LEAD_IN)
    cues: list[ExampleCue] = []
    chapter_starts: list[float] = []
    for section_index, ((_, sentences), clips) in enumerate(zip(SECTIONS, sentence_audio, strict=True)):
        if section_index > 0:
            audio += silence(SECTION_PAUSE - SENTENCE_PAUSE)
        for sentence_index, (text, clip) in enumerate(zip(sentences, clips, strict=True)):
            if sentence_index > 0 or section_index > 0:
                audio += silence(SENTENCE_PAUSE)
            start = len(audio) / sample_rate
            audio += clip
            end = len(audio) / sample_rate
            cues.append(ExampleCue(start=round(start, 3), end=round(end, 3), text=text, section=section_index))
            if sentence_index == 0:
                chapter_starts.append(0.0 if section_index == 0 else round(start, 3))
    audio += silence(TAIL)
    duration = round(len(audio) / sample_rate, 3)
    chapter_ends = [*chapter_starts[1:], duration]
    chapters = [
        Chapter(title=title, start=start, end=end)
        for (title, _), start, end in zip(SECTIONS, chapter_starts, chapter_ends, strict=True)
    ]
    return audio, cues, chapters


def format_vtt(cues: list[ExampleCue]) -> str:
    blocks = [f"{format_timestamp(c.start, '.')} --> {format_timestamp(c.end, '.')}\n{c.text}" for c in cues]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + "\n"


def format_srt(cues: list[ExampleCue]) -> str:
    blocks = [
        f"{n}\n{format_timestamp(c.start, ',')} --> {format_timestamp(c.end, ',')}\n{c.text}" for n, c in enumerate(cues, start=1)
    ]
    return "\n\n".join(blocks) + "\n"


def format_ffmetadata(title: str, date: str, chapters: list[Chapter]) -> str:
    lines = [";FFMETADATA1", f"title={title}", f"date={date}"]
    for chapter in chapters:
        end = chapter.end if chapter.end is not None else chapter.start
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(chapter.start * 1000)}",
            f"END={round(end * 1000)}",
            f"title={chapter.title}",
        ]
    return "\n".join(lines) + "\n"


def _run(command: list[str]) -> None:
    completed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if completed.returncode != 0:
        raise ExampleBuildError(
            f"{Path(command[0]).name} failed (exit code {completed.returncode})",
            hint="Read details['stderr']; the bundled ffmpeg and espeak-ng must both work.",
            details={"stderr": completed.stderr.decode("utf-8", errors="replace")[-2000:]},
        )


def _synthesize(espeak: str, text: str, voice: str, speed: int, wav_path: Path) -> tuple[array.array[int], int]:
    _run([espeak, "-v", voice, "-s", str(speed), "-w", str(wav_path), text])
    with wave.open(str(wav_path), "rb") as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ExampleBuildError(f"espeak-ng wrote an unexpected WAV format: {wav.getparams()}")
        samples = array.array("h", wav.readframes(wav.getnframes()))
        return trim_silence(samples), wav.getframerate()


def _encode(inputs: list[str], extra: list[str], target: Path) -> None:
    """Encode into a temp file, then copy into place atomically (the examples folder is committed)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_target = Path(tmp) / target.name
        command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
        for source in inputs:
            command += ["-i", source]
        command += ["-fflags", "+bitexact", "-flags:a", "+bitexact", *extra, str(tmp_target)]
        _run(command)
        atomic_copy(tmp_target, target)


def build_examples(out_dir: Path, *, espeak: str, voice: str, speed: int) -> dict[str, Any]:
    aac = ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ac", "1"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        clips: list[list[array.array[int]]] = []
        sample_rate = 0
        for section_index, (_, sentences) in enumerate(SECTIONS):
            section_clips = []
            for sentence_index, text in enumerate(sentences):
                clip, sample_rate = _synthesize(
                    espeak, text, voice, speed, tmp / f"s{section_index}-{sentence_index}.wav"
                )
                section_clips.append(clip)
            clips.append(section_clips)
        audio, cues, chapters = assemble_timeline(clips, sample_rate)

        speech_wav = tmp / "speech.wav"
        with wave.open(str(speech_wav), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(sample_rate)
            wav.writeframes(audio.tobytes())
        srt_path = tmp / "sample.srt"
        srt_path.write_text(format_srt(cues), encoding="utf-8")
        metadata_path = tmp / "metadata.txt"
        metadata_path.write_text(format_ffmetadata(TITLE, RELEASE_DATE, chapters), encoding="utf-8")

        sidecar_mp4 = out_dir / "sample-sidecar" / "sample.mp4"
        _encode(
            [str(speech_wav)],
            [
                *aac,
                "-metadata",
                f"title={TITLE}",
                "-metadata",
                f"date={RELEASE_DATE}",
                "-metadata:s:a:0",
                "language=eng",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
            ],
            sidecar_mp4,
        )
        atomic_write_text(out_dir / "sample-sidecar" / "sample.en.vtt", format_vtt(cues))

        embedded_mkv = out_dir / "sample-embedded" / "sample.mkv"
        _encode(
            [str(speech_wav), str(srt_path), str(metadata_path)],
            [
                "-map",
                "0:a",
                "-map",
                "1:s",
                "-map_metadata",
                "2",
                "-map_chapters",
                "2",
                *aac,
                "-c:s",
                "srt",
                "-metadata:s:a:0",
                "language=eng",
                "-metadata:s:s:0",
                "language=eng",
                "-metadata:s:s:0",
                "title=English",
                "-f",
                "matroska",
            ],
            embedded_mkv,
        )

        speech_m4a = out_dir / "sample-speech" / "sample.m4a"
        _encode([str(speech_wav)], [*aac, "-map_metadata", "-1", "-f", "ipod"], speech_m4a)

    script = ExampleScript(
        title=TITLE,
        release_date=RELEASE_DATE,
        language="en",
        duration=round(len(audio) / sample_rate, 3),
        chapters=chapters,
        cues=cues,
    )
    atomic_write_json(out_dir / "sample-script.json", script.model_dump(mode="json"))
    written = [
        sidecar_mp4,
        out_dir / "sample-sidecar" / "sample.en.vtt",
        embedded_mkv,
        speech_m4a,
        out_dir / "sample-script.json",
    ]
    for path in written:
        path.chmod(0o644)  # the temp-file helpers create 0600 files; these are shared, committed examples
    return {
        "duration": script.duration,
        "cues": len(cues),
        "files": {path.relative_to(out_dir).as_posix(): path.stat().st_size for path in written},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.make_examples", description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--voice", default="en-us")
    parser.add_argument("--speed", type=int, default=150, help="espeak-ng words per minute")
    args = parser.parse_args(argv)

    def body() -> dict[str, Any]:
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            raise ExampleBuildError(
                "espeak-ng was not found on PATH",
                code="espeak_ng_missing",
                hint="Install it (apt-get install espeak-ng); the committed examples need no regeneration.",
            )
        return build_examples(args.out_dir, espeak=espeak, voice=args.voice, speed=args.speed)

    return run_json_command(body)


if __name__ == "__main__":
    sys.exit(main())
