"""Media for the delivery tests: a long talk with chapters and a sidecar subtitle file, so a run needs
no network, no speech recognition and no LLM, and its article is long enough to need several pages.

The media itself is silent audio (ffmpeg's ``anullsrc``) carrying chapter marks; the words come from the
sidecar ``<stem>.<lang>.vtt`` beside it (the subtitle route), formatted deterministically.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import imageio_ffmpeg

from kernel.output.exports import format_timestamp

WORDS = ["river", "garden", "window", "engine", "market", "silver", "paper", "camera", "planet", "orange",
         "ladder", "pencil", "rocket", "forest", "kitten", "signal", "marble", "harbor", "violin", "crystal"]
HANZI = "今天我们讨论长文本的分页方法以及每一页应该在哪里结束这个问题很有意思因为读者需要完整的文章"
CUE_SECONDS = 2.5


def english_sentences(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return [f"Item {i} links the {' and the '.join(rng.sample(WORDS, 3))} near the {rng.choice(WORDS)}."
            for i in range(count)]


def chinese_sentences(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(HANZI) for _ in range(rng.randint(18, 30))) + "。" for _ in range(count)]


def long_talk(folder: Path, sentences: list[str], *, language: str = "en",
              chapters: tuple[str, ...] = ("Opening", "The middle part", "What we learned")) -> Path:
    """``folder/talk.m4a`` (silent, with ``chapters`` spread evenly) and ``folder/talk.<language>.vtt``."""
    folder.mkdir(parents=True, exist_ok=True)
    duration = len(sentences) * CUE_SECONDS + 5
    meta = [";FFMETADATA1"]
    step = duration / max(len(chapters), 1)
    for index, title in enumerate(chapters):
        meta += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(index * step * 1000)}",
                 f"END={round((index + 1) * step * 1000)}", f"title={title}"]
    (folder / "chapters.txt").write_text("\n".join(meta) + "\n", encoding="utf-8")
    media = folder / "talk.m4a"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "anullsrc=r=8000:cl=mono", "-i", str(folder / "chapters.txt"), "-map", "0", "-map_metadata", "1",
                    "-map_chapters", "1", "-t", f"{duration:g}", "-c:a", "aac", "-b:a", "8k", str(media)], check=True)
    cues = ["WEBVTT", ""]
    for index, sentence in enumerate(sentences):
        start = index * CUE_SECONDS
        cues += [f"{format_timestamp(start)} --> {format_timestamp(start + 2.0)}", sentence, ""]
    (folder / f"talk.{language}.vtt").write_text("\n".join(cues), encoding="utf-8")
    return media
