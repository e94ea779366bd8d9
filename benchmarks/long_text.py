"""Benchmark: the long-text chunk loop, measured through complete runs against the fake OpenAI server.

``python -m benchmarks.long_text [--delay-ms 200] [--large-chunks 2000] [--diagnose] [--only PART]``, from the
repository root (it starts ``tests.fakes.openai_server`` in this process). Every figure comes from real
runs through the runtime API (``build_runtime_api`` + the CLI's ``drive`` loop): a copy of
``examples/sample-sidecar/sample.mp4`` with a synthetic English ``bench.en.vtt`` sidecar, the LLM
pointed at the fake server through the same environment variables and config file a user sets. It
prints one JSON document (``--only concurrency|writes|prompts``, repeatable, limits it to those parts;
``table`` lists each figure beside its anchor, as ``make bench`` prints them):

- ``speedup_8_vs_1``, ``seconds_c1``, ``seconds_c8``: duration of the transform phase (its manifest
  record's ``started_at`` .. ``finished_at``) for a document planned into exactly 64 chunks (context
  window 1024, output limit 256), the server holding every request ``--delay-ms``; concurrency 1 and 8
  against the fake server in its own process, after an untimed warm-up run (``details`` also has the
  same runs against the server in this process). Target: speedup >= 7.
- ``bytes_per_chunk_100``, ``bytes_per_chunk_2000``: bytes per chunk state write, for runs planned into
  100 and ``--large-chunks`` chunks (no latency). O(1) means the two are equal up to text noise.
- ``manifest_writes_during_transform``: manifest commits from the transform phase's start to its
  success, in the large run (``details`` has the 100-chunk figure); it must not grow with the chunks.
- ``prompt_tokens_per_source_token_clean``: tokens of every message of every request the server saw
  (``count_tokens`` per message content; chat framing not counted) over ``count_tokens`` of the
  transcript's sentences, for about 4,000 words with the default LLM profile (context window 8192).
  Target: <= 1.35.

``--diagnose`` repeats the concurrency 1 and 8 runs with ``streaming = false``: comparing the two speedups
tells how much of a shortfall is per-request stream parsing (the fake streams one SSE event per word,
and the client, the loop and this in-process server share one GIL). ``details`` also has each run's
slowest request, the server's peak in-flight count and the loop's milliseconds per chunk without latency.

Writes are observed by wrapping ``kernel.task_runtime.store.atomic_write_bytes``, the primitive every
work_dir JSON and text write goes through, with a recorder that passes each call through unchanged. The
fake server's listen backlog is widened (see ``widen_listen_backlog``). The transcript is word salad from
a seeded generator over a common-word list (with some numbers, percentages and names), so it tokenises
like varied English rather than like a repeated sentence.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kernel.config import Settings, load_settings
from kernel.long_text.contracts import TransformRequest
from kernel.long_text.glossary import build_glossary
from kernel.long_text.plan import build_plan
from kernel.long_text.tokens import count_tokens, token_counter_name
from kernel.output.exports import format_timestamp
from kernel.pipeline import build_runtime_api
from kernel.source.local import discover_local
from kernel.source.normalize import normalize_transcript
from kernel.source.subtitles import parse_subtitle_text
from kernel.task_runtime import store
from kernel.task_runtime.drive import drive
from kernel.task_runtime.errors import YTTError
from kernel.task_runtime.telemetry import read_events
from kernel.task_runtime.workdir import MANIFEST_FILE
from kernel.transcript import NormalizedDocument, TranscriptSegments
from scripts._common import run_json_command
from scripts.cli import reserved_stdout
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest

# Imported now, not inside the first timed run: the openai SDK takes about 0.6 s to import.
importlib.import_module("kernel.long_text.llm_client")

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_MEDIA = REPO_ROOT / "examples" / "sample-sidecar" / "sample.mp4"
SPEEDUP_CHUNKS = 64
SMALL_WINDOW = {"context_window": 1024, "max_output_tokens": 256}
CLEAN_WORDS = 4000
SPEEDUP_TARGET = 7.0
PROMPT_OVERHEAD_TARGET = 1.35
REPAIR_MARKER = "A previous answer had these problems:"  # from prompts/repair.md

_VOCABULARY = ["the", "of", "and", "to", "a", "in", "that", "is", "it", "you", "we", "they", "this", "for", "on", "with", "as", "be", "at", "by", "not", "are", "from", "or", "have", "but", "an", "was", "what", "all", "were", "when", "your", "can", "said", "there", "use", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other", "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make", "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no", "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "its", "now", "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "over", "new", "sound", "take", "only", "little", "work", "know", "place", "year", "live", "me", "back", "give", "most", "very", "after", "thing", "our", "just", "name", "good", "sentence", "man", "think", "say", "great", "where", "help", "through", "much", "before", "line", "right", "too", "mean", "old", "any", "same", "tell", "boy", "follow", "came", "want", "show", "also", "around", "form", "three", "small", "set", "put", "end", "does", "another", "well", "large", "must", "big", "even", "such", "because", "turn", "here", "why", "ask", "went", "men", "read", "need", "land", "different", "home", "us", "move", "try", "kind", "hand", "picture", "again", "change", "off", "play", "spell", "air", "away", "animal", "house", "point", "page", "letter", "mother", "answer", "found", "study", "still", "learn", "should", "world", "high", "every", "near", "add", "food", "between", "own", "below", "country", "plant", "last", "school", "father", "keep", "tree", "never", "start", "city", "earth", "eye", "light", "thought", "head", "under", "story", "saw", "left", "few", "while", "along", "might", "close", "something", "seem", "next", "hard", "open", "example", "begin", "life", "always", "those", "both", "paper", "together", "got", "group", "often", "run", "important", "until", "children", "side", "feet", "car", "mile", "night", "walk", "white", "sea", "began", "grow", "took", "river", "four", "carry", "state", "once", "book", "hear", "stop", "without", "second", "later", "miss", "idea", "enough", "eat", "face", "watch", "far", "really", "almost", "let", "above", "girl", "sometimes", "mountain", "cut", "young", "talk", "soon", "list", "song", "being", "leave", "family", "build", "server", "release", "cache", "budget", "team", "measure", "result", "problem", "system", "update", "project", "version", "network", "memory", "question", "market", "energy"]
_NAMES = ("Maria", "Lisbon", "Kubernetes", "Ahmed", "Python", "Berlin", "Grafana", "Nakamura")


# --------------------------------------------------------------------------- synthetic transcript
def _number(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return str(rng.randint(2, 99))
    if kind == 1:
        return str(rng.randint(1990, 2025))
    if kind == 2:
        return f"{rng.randint(1, 9)}.{rng.randint(0, 9)}"
    return f"{rng.randint(5, 95)}%"


def synthetic_sentences(count: int, seed: int = 11) -> list[str]:
    """``count`` varied English-like sentences; a longer list extends a shorter one (same seed)."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        words = [rng.choice(_VOCABULARY) for _ in range(rng.randint(6, 18))]
        if rng.random() < 0.12:
            words.insert(rng.randint(1, len(words)), _number(rng))
        if rng.random() < 0.08:
            words.insert(rng.randint(1, len(words)), rng.choice(_NAMES))
        if rng.random() < 0.2:
            comma_at = rng.randint(2, len(words) - 2)
            words[comma_at] += ","
        words[0] = words[0][:1].upper() + words[0][1:]
        sentences.append(" ".join(words) + ("?" if rng.random() < 0.08 else "."))
    return sentences


def subtitle_vtt(sentences: list[str], seed: int = 5) -> str:
    """A manual-subtitle VTT: one cue per sentence, about 150 words a minute, some longer pauses."""
    rng = random.Random(seed)
    out = ["WEBVTT\n\n"]
    clock = 0.5
    for sentence in sentences:
        duration = 0.4 * len(sentence.split())
        out.append(f"{format_timestamp(clock)} --> {format_timestamp(clock + duration)}\n{sentence}\n\n")
        clock += duration + (rng.uniform(1.2, 2.0) if rng.random() < 0.2 else 0.3)
    return "".join(out)


# --------------------------------------------------------------------------- sizing the document
def planned_chunks(vtt: str, media: Path, settings: Settings) -> int:
    """How many chunks the plan phase will make of ``vtt`` (the same kernel calls as the phases)."""
    info, _ = discover_local(media)
    segments = parse_subtitle_text(vtt, "vtt").segments
    doc = normalize_transcript(TranscriptSegments(origin="subtitles", language="en", segments=segments),
                               info.chapters)
    glossary = build_glossary(info.title, info.description, [c.title for c in info.chapters], doc, [])
    request = TransformRequest(mode="clean", source_language=doc.language)
    plan = build_plan(doc, request, llm=settings.llm, glossary=glossary,
                      chapter_titles=[c.title for c in doc.chapters], plan_id="p1", count_tokens=count_tokens)
    return len(plan.chunks)


def sentences_for_chunks(target: int, media: Path, settings: Settings) -> list[str]:
    """The shortest prefix of the synthetic sentence stream that is planned into ``target`` chunks.

    Raises:
        YTTError: no sentence count gives exactly ``target`` chunks (the count jumped over it).
    """
    def chunks(count: int) -> int:
        return planned_chunks(subtitle_vtt(synthetic_sentences(count)), media, settings)

    low, high = 1, 16
    while chunks(high) < target:
        low, high = high, high * 2
    while high - low > 1:  # invariant: chunks(low) < target <= chunks(high)
        middle = (low + high) // 2
        if chunks(middle) < target:
            low = middle
        else:
            high = middle
    if chunks(high) != target:
        raise YTTError(f"no document size gives exactly {target} chunks ({high} sentences give {chunks(high)})",
                       code="bench_sizing_failed")
    return synthetic_sentences(high)


# --------------------------------------------------------------------------- observing writes
@dataclass(frozen=True)
class Write:
    path: Path
    size: int
    manifest_revision: int | None = None
    transform_status: str | None = None


@contextlib.contextmanager
def recording_writes() -> Iterator[list[Write]]:
    """Record every ``atomic_write_bytes`` call (path, size; for manifests their revision and the
    transform phase's status) while passing it through unchanged."""
    original = store.atomic_write_bytes
    writes: list[Write] = []
    lock = threading.Lock()

    def recorder(path: Path, data: bytes) -> None:
        original(path, data)
        write = Write(path, len(data))
        if path.name == MANIFEST_FILE:
            manifest = json.loads(data)
            record = manifest.get("phases", {}).get("transform") or {}
            write = Write(path, len(data), int(manifest["revision"]), record.get("status"))
        with lock:
            writes.append(write)

    store.atomic_write_bytes = recorder
    try:
        yield writes
    finally:
        store.atomic_write_bytes = original


@dataclass
class TransformWrites:
    manifest_writes: int
    chunk_writes: int
    chunk_bytes: int
    largest_chunk_write: int
    other_writes: dict[str, int] = field(default_factory=dict)  # path -> bytes

    @property
    def bytes_per_chunk(self) -> float:
        return self.chunk_bytes / self.chunk_writes if self.chunk_writes else 0.0


def transform_writes(writes: list[Write], work_dir: Path) -> TransformWrites:
    """The writes from the commit that starts the transform phase to the one recording its success."""
    own = [w for w in writes if w.path.is_relative_to(work_dir)]
    start = next(i for i, w in enumerate(own) if w.transform_status == "running")
    end = next(i for i in range(start, len(own)) if own[i].transform_status == "succeeded")
    window = own[start : end + 1]
    chunks = [w for w in window if w.path.is_relative_to(work_dir / "chunks")]
    others: dict[str, int] = {}
    for w in window:
        if w.path.name != MANIFEST_FILE and w not in chunks:
            key = w.path.relative_to(work_dir).as_posix()
            others[key] = others.get(key, 0) + w.size
    return TransformWrites(
        manifest_writes=sum(1 for w in window if w.path.name == MANIFEST_FILE),
        chunk_writes=len(chunks),
        chunk_bytes=sum(w.size for w in chunks),
        largest_chunk_write=max((w.size for w in chunks), default=0),
        other_writes=others,
    )


# --------------------------------------------------------------------------- one run
@dataclass
class RunFacts:
    work_dir: Path
    state: str
    chunks: int
    transform_seconds: float
    manifest_revision: int
    requests: list[RecordedRequest]
    quality: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"state": self.state, "chunks": self.chunks, "requests": len(self.requests),
                "transform_seconds": round(self.transform_seconds, 3), "manifest_revision": self.manifest_revision,
                "quality_status": self.quality.get("status"), **self.extra}


def bench_settings(root: Path, name: str, base_url: str, concurrency: int, llm: dict[str, int]) -> Settings:
    """Settings as a user would give them: ``YTT_LLM_*`` variables plus an ``[llm]`` table in YTT_CONFIG."""
    home = root / name
    home.mkdir()
    config = home / "config.toml"
    config.write_text("[llm]\n" + "".join(f"{key} = {value}\n" for key, value in llm.items()), encoding="utf-8")
    env = {
        "YTT_HOME": str(home),
        "YTT_CONFIG": str(config),
        "YTT_LLM_BASE_URL": base_url,
        "YTT_LLM_MODEL": "fake-model",
        "YTT_LLM_API_KEY": "bench-key-not-secret",
        "YTT_LLM_CONCURRENCY": str(concurrency),
    }
    return load_settings(env, cwd=root)


def media_folder(root: Path, name: str, sentences: list[str]) -> Path:
    """``<root>/<name>/bench.mp4`` (the sample media) with the transcript as its ``bench.en.vtt`` sidecar."""
    folder = root / name
    folder.mkdir()
    media = folder / "bench.mp4"
    shutil.copyfile(SAMPLE_MEDIA, media)
    (folder / "bench.en.vtt").write_text(subtitle_vtt(sentences), encoding="utf-8")
    return media


def complete_run(settings: Settings, media: Path, server: FakeOpenAIServer) -> RunFacts:
    """Create a clean-mode run of ``media`` and drive it to its end, as ``yt-transcript run`` does."""
    api = build_runtime_api(settings)
    seen = len(server.requests)
    created = api.create_run({"source": str(media), "mode": "clean", "formats": ["md"]})
    final = drive(api, created.run_id, accept_degraded=True)
    work_dir = Path(created.work_dir)
    manifest = store.read_json(work_dir / MANIFEST_FILE)
    record = manifest["phases"]["transform"]
    seconds = (datetime.fromisoformat(record["finished_at"]) - datetime.fromisoformat(record["started_at"]))
    plan = store.read_json(work_dir / manifest["artifacts"]["plan.current"]["path"])
    quality = store.read_json(work_dir / manifest["artifacts"]["quality.report"]["path"])
    return RunFacts(work_dir=work_dir, state=final.state, chunks=len(plan["chunks"]),
                    transform_seconds=seconds.total_seconds(), manifest_revision=int(manifest["revision"]),
                    requests=server.requests[seen:], quality=quality)


def prompt_tokens(requests: list[RecordedRequest]) -> int:
    return sum(count_tokens(str(message.get("content") or "")) for r in requests for message in r.messages)


def _expect(facts: RunFacts, chunks: int | None = None) -> None:
    if chunks is not None and facts.chunks != chunks:
        raise YTTError(f"run {facts.work_dir.name} was planned into {facts.chunks} chunks, not {chunks}",
                       code="bench_sizing_failed")
    if facts.state not in ("completed", "completed_degraded"):
        raise YTTError(f"run {facts.work_dir.name} ended {facts.state}", code="bench_run_failed")


# --------------------------------------------------------------------------- the three measurements
def widen_listen_backlog(server: FakeOpenAIServer, backlog: int = 128) -> None:
    """Give the fake server a real server's listen backlog.

    It listens with the standard library's default backlog of 5. When its accept thread waits for the
    GIL while 8 connections arrive at once (as the client opens its connections), Linux drops a SYN and
    the client retries it a second later: one request then takes about 1.2 s instead of 0.2 s, an
    artifact of the fixture that would be charged to the loop.
    """
    server._server.socket.listen(backlog)  # listen() again on a listening socket only resizes its queue


def listen_overflows() -> int | None:
    """Linux's count of connections dropped because a listen queue was full (None where unknown)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for header, values in zip(lines[::2], lines[1::2], strict=False):
        if header.startswith("TcpExt:") and "ListenOverflows" in header.split():
            return int(values.split()[header.split().index("ListenOverflows")])
    return None


def speedup_runs(root: Path, server: FakeOpenAIServer, sentences: list[str], llm: dict[str, Any],
                 tag: str) -> dict[int, RunFacts]:
    runs: dict[int, RunFacts] = {}
    for concurrency in (1, 8):
        name = f"{tag}-c{concurrency}"
        settings = bench_settings(root, f"home-{name}", server.base_url, concurrency, llm)
        server.max_in_flight = 0
        overflows = listen_overflows()
        facts = complete_run(settings, media_folder(root, f"media-{name}", sentences), server)
        _expect(facts, SPEEDUP_CHUNKS)
        facts.extra["server_max_in_flight"] = server.max_in_flight
        facts.extra["slowest_request_s"] = max(
            (float(e.get("latency_s") or 0) for e in read_events(facts.work_dir, event="llm_request")), default=0.0)
        after = listen_overflows()
        facts.extra["listen_overflows"] = None if overflows is None or after is None else after - overflows
        runs[concurrency] = facts
    return runs


@contextlib.contextmanager
def external_fake_server(delay_ms: int) -> Iterator[str]:
    """The fake endpoint in its own process, as a real LLM server is: its CPU time is not ours."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server", "--behaviour", "latency", "--delay-ms", str(delay_ms)],
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        yield str(json.loads(proc.stdout.readline())["base_url"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def external_run(root: Path, base_url: str, name: str, concurrency: int, sentences: list[str]) -> tuple[float, int]:
    """One complete run against the external endpoint: its transform seconds and planned chunk count."""
    settings = bench_settings(root, f"home-{name}", base_url, concurrency, SMALL_WINDOW)
    api = build_runtime_api(settings)
    media = media_folder(root, f"media-{name}", sentences)
    created = api.create_run({"source": str(media), "mode": "clean", "formats": ["md"]})
    drive(api, created.run_id, accept_degraded=True)
    manifest = store.read_json(Path(created.work_dir) / MANIFEST_FILE)
    record = manifest["phases"]["transform"]
    plan = store.read_json(Path(created.work_dir) / manifest["artifacts"]["plan.current"]["path"])
    seconds = (datetime.fromisoformat(record["finished_at"]) - datetime.fromisoformat(record["started_at"]))
    return seconds.total_seconds(), len(plan["chunks"])


def external_speedup_runs(root: Path, base_url: str, sentences: list[str]) -> dict[int, float]:
    # An untimed run first: the process's one-time costs (the SDK's imports on its first request, the TLS
    # context, about 0.1 s) are not the loop's, and would otherwise all fall on the first timed run.
    external_run(root, base_url, "external-warm-up", 8, sentences[: len(sentences) // 8])
    seconds: dict[int, float] = {}
    for concurrency in (1, 8):
        seconds[concurrency], chunks = external_run(root, base_url, f"external-c{concurrency}", concurrency, sentences)
        if chunks != SPEEDUP_CHUNKS:
            raise YTTError(f"external run planned {chunks} chunks", code="bench_sizing_failed")
    return seconds


def measure_concurrency(root: Path, server: FakeOpenAIServer, delay_ms: int, diagnose: bool) -> dict[str, Any]:
    sizing = bench_settings(root, "sizing-64", server.base_url, 1, SMALL_WINDOW)
    sentences = sentences_for_chunks(SPEEDUP_CHUNKS, media_folder(root, "media-sizing-64", sentences=[]), sizing)
    with external_fake_server(delay_ms) as base_url:
        external = external_speedup_runs(root, base_url, sentences)
    server.set_default("latency", delay_ms=delay_ms)
    runs = speedup_runs(root, server, sentences, SMALL_WINDOW, "stream")
    details: dict[str, Any] = {
        "delay_ms": delay_ms,
        "sentences": len(sentences),
        "ideal_seconds_c1": round(SPEEDUP_CHUNKS * delay_ms / 1000, 3),
        **{f"c{c}": facts.summary() for c, facts in runs.items()},
    }
    if diagnose:  # the same runs with non-streaming requests: how much of the gap is stream parsing
        plain = speedup_runs(root, server, sentences, {**SMALL_WINDOW, "streaming": "false"}, "json")
        details["streaming_off"] = {
            "speedup_8_vs_1": round(plain[1].transform_seconds / plain[8].transform_seconds, 2),
            **{f"c{c}": facts.summary() for c, facts in plain.items()},
        }
    server.set_default("clean")
    # The headline figure uses the out-of-process endpoint; the in-process runs stay in the details,
    # where the fake server's own CPU time competes with the loop for this process's GIL.
    details["in_process_server_speedup_8_vs_1"] = round(runs[1].transform_seconds / runs[8].transform_seconds, 2)
    return {
        "speedup_8_vs_1": round(external[1] / external[8], 2),
        "seconds_c1": round(external[1], 3),
        "seconds_c8": round(external[8], 3),
        "details": details,
    }


def measure_writes(root: Path, server: FakeOpenAIServer, sizes: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for size in sizes:
        sizing = bench_settings(root, f"sizing-{size}", server.base_url, 8, SMALL_WINDOW)
        sentences = sentences_for_chunks(size, media_folder(root, f"media-sizing-{size}", sentences=[]), sizing)
        settings = bench_settings(root, f"home-{size}", server.base_url, 8, SMALL_WINDOW)
        media = media_folder(root, f"media-{size}", sentences)
        with recording_writes() as writes:
            facts = complete_run(settings, media, server)
        _expect(facts, size)
        observed = transform_writes(writes, facts.work_dir)
        out[f"bytes_per_chunk_{size}"] = round(observed.bytes_per_chunk, 1)
        details[str(size)] = {
            **facts.summary(),
            "loop_ms_per_chunk": round(facts.transform_seconds / size * 1000, 1),
            "sentences": len(sentences),
            "chunk_state_writes": observed.chunk_writes,
            "largest_chunk_state_write": observed.largest_chunk_write,
            "manifest_writes_during_transform": observed.manifest_writes,
            "other_writes_during_transform": observed.other_writes,
        }
    out["manifest_writes_during_transform"] = details[str(sizes[-1])]["manifest_writes_during_transform"]
    out["details"] = details
    return out


def measure_prompt_overhead(root: Path, server: FakeOpenAIServer) -> dict[str, Any]:
    sentences: list[str] = []
    for sentence in synthetic_sentences(2000, seed=23):
        if sum(len(s.split()) for s in sentences) >= CLEAN_WORDS:
            break
        sentences.append(sentence)
    settings = bench_settings(root, "home-clean", server.base_url, 4, {})
    facts = complete_run(settings, media_folder(root, "media-clean", sentences), server)
    _expect(facts)
    manifest = store.read_json(facts.work_dir / MANIFEST_FILE)
    doc = NormalizedDocument.model_validate(
        store.read_json(facts.work_dir / manifest["artifacts"]["doc.normalized"]["path"]))
    source_tokens = count_tokens(" ".join(s.text for s in doc.sentences))
    sent = prompt_tokens(facts.requests)
    repairs = sum(1 for r in facts.requests if any(REPAIR_MARKER in str(m.get("content")) for m in r.messages))
    return {
        "prompt_tokens_per_source_token_clean": round(sent / source_tokens, 3),
        "details": {
            **facts.summary(),
            "words": sum(len(s.split()) for s in sentences),
            "source_tokens": source_tokens,
            "prompt_tokens": sent,
            "prompt_tokens_per_request": round(sent / max(1, len(facts.requests)), 1),
            "repair_requests": repairs,
            "token_counter": token_counter_name(),
        },
    }


PARTS = ("concurrency", "writes", "prompts")


def build_table(report: dict[str, Any], large_chunks: int) -> list[dict[str, Any]]:
    """Each figure the report has beside its anchor (``make bench`` prints these rows)."""
    rows: list[dict[str, Any]] = []
    if "speedup_8_vs_1" in report:
        speedup = report["speedup_8_vs_1"]
        rows.append({"figure": f"{SPEEDUP_CHUNKS} chunks, concurrency 8 vs 1 (transform phase, {report['seconds_c1']} s"
                               f" / {report['seconds_c8']} s)",
                     "value": speedup, "anchor": f">= {SPEEDUP_TARGET:g}x", "met": speedup >= SPEEDUP_TARGET})
    if "bytes_per_chunk_100" in report:
        small, large = report["bytes_per_chunk_100"], report[f"bytes_per_chunk_{large_chunks}"]
        rows.append({"figure": f"bytes per chunk state write, 100 / {large_chunks} chunks", "value": f"{small} / {large}",
                     "anchor": "equal up to text noise", "met": None})
        rows.append({"figure": f"manifest writes during the transform ({large_chunks} chunks)",
                     "value": report["manifest_writes_during_transform"], "anchor": "does not grow with chunks",
                     "met": None})
    if "prompt_tokens_per_source_token_clean" in report:
        ratio = report["prompt_tokens_per_source_token_clean"]
        rows.append({"figure": "prompt tokens per source token, clean mode", "value": ratio,
                     "anchor": f"<= {PROMPT_OVERHEAD_TARGET}", "met": ratio <= PROMPT_OVERHEAD_TARGET})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.long_text", description=__doc__)
    parser.add_argument("--delay-ms", type=int, default=200, help="fake server latency per request (speedup runs)")
    parser.add_argument("--large-chunks", type=int, default=2000, help="chunk count of the large write run")
    parser.add_argument("--diagnose", action="store_true",
                        help="also time concurrency 1 and 8 with streaming off (attributes the gap to stream parsing)")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this measurement (repeatable); default: all of them")
    args = parser.parse_args(argv)
    if args.large_chunks <= 100:
        parser.error("--large-chunks must be more than 100 (the small write run has 100 chunks)")
    parts = set(args.only or PARTS)

    def body() -> dict[str, Any]:
        report: dict[str, Any] = {}
        details: dict[str, Any] = {}
        with reserved_stdout(), tempfile.TemporaryDirectory(prefix="bench-long-text-") as tmp, \
                FakeOpenAIServer(behaviour="clean") as server:
            widen_listen_backlog(server)
            root = Path(tmp).resolve()
            if "concurrency" in parts:
                speed = measure_concurrency(root, server, args.delay_ms, args.diagnose)
                report |= {key: speed[key] for key in ("speedup_8_vs_1", "seconds_c1", "seconds_c8")}
                details["concurrency"] = speed["details"]
            if "writes" in parts:
                writes = measure_writes(root, server, (100, args.large_chunks))
                report |= {key: writes[key] for key in ("bytes_per_chunk_100", f"bytes_per_chunk_{args.large_chunks}",
                                                        "manifest_writes_during_transform")}
                details["writes"] = writes["details"]
            if "prompts" in parts:
                prompts = measure_prompt_overhead(root, server)
                report["prompt_tokens_per_source_token_clean"] = prompts["prompt_tokens_per_source_token_clean"]
                details["clean"] = prompts["details"]
        return {**report, "table": build_table(report, args.large_chunks), "details": details}

    return run_json_command(body)


if __name__ == "__main__":
    raise SystemExit(main())
