"""Speech recognition and the chunk loop, overlapped: the LLM works on the text while the audio is recognized.

Three stages, as in a producer / consumer / finalizer pipeline:
1. the transcriber (producer) hands out each finished window (``Transcriber.transcribe(on_window=...)``);
2. the early chunk worker (consumer, its own thread and event loop) plans the text recognized so far as if
   it were the whole transcript, picks the chunks more text cannot change (``long_text.early``) and sends
   them to the endpoint with the profile's concurrency, saving each answer under ``chunks/early/``;
3. the transform phase (finalizer), on the plan of the whole transcript, adopts every early answer whose
   request is exactly its own and sends only the rest.

Invariants:
- Timing never changes the result: the plan is always made from the whole transcript by the plan phase, and
  an early answer is used only for an identical request (see ``long_text.early``). A run with overlap on or
  off (``overlap = false`` in the config, or ``YTT_OVERLAP=false``) gives the same chunks and article, given
  an endpoint that answers the same request the same way.
- Backpressure: at most ``max_waiting`` settled chunks wait for a free request slot; while that many wait,
  the transcriber is held in ``on_window`` (recognition pauses) until one is sent, a stop is requested or
  the worker ends. Text not yet settled (the last section, which waits for more text) is not counted.
- A pause or cancel stops the worker from sending new chunks; chunks in flight finish and are saved, as
  in the chunk loop. ``finish`` waits for them, so the transcribe phase ends with its early answers saved;
  a process killed meanwhile loses only requests in flight, and a resumed run hands out the finished
  windows again (from their checkpoints), re-plans, and skips chunks already answered.
- The worker never fails the run: an error there (logged and recorded as ``early_chunks_failed``) only
  leaves more work to the transform phase.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from typing import Any

from ..config import LLMProfile
from ..long_text.chunk_files import load_chunk_state
from ..long_text.early import EarlyChunkItem, early_key, early_state_path, settled_chunks
from ..long_text.limiter import AdaptiveLimiter
from ..long_text.process import ItemLoop, process_item, run_budget, with_llm_client
from ..source.asr.base import WindowResult
from ..task_runtime.phases import PhaseContext
from ..transcript import Segment, SourceInfo, TranscriptSegments

logger = logging.getLogger(__name__)

STABLE_TAIL_SENTENCES = 2  # the last sentences of the text so far may still grow with the next window
WAIT_SECONDS = 0.5  # how often a held transcriber looks at the stop signal


class EarlyChunkWorker:
    """The consumer stage: ``on_window`` from the transcriber's thread, ``finish`` when it returns."""

    def __init__(self, ctx: PhaseContext, info: SourceInfo, llm: LLMProfile, *, max_waiting: int | None = None) -> None:
        self.ctx = ctx
        self.info = info
        self.llm = llm
        self.max_waiting = max_waiting or max(2, llm.concurrency)
        self._segments: list[Segment] = []
        self._language: str | None = None
        self._windows = 0
        self._waiting = 0  # settled chunks not yet sent
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="early-chunks", daemon=True)
        self.sent = 0
        self.error: str | None = None

    # ------------------------------------------------------------------ the transcriber's side
    def start(self) -> EarlyChunkWorker:
        self._thread.start()
        return self

    def on_window(self, result: WindowResult) -> None:
        """Take a finished window; hold the transcriber while ``max_waiting`` chunks wait to be sent."""
        with self._changed:
            self._segments.extend(result.segments)
            self._language = self._language or result.language
            self._windows += 1
            self._changed.notify_all()
            while (self._waiting >= self.max_waiting and not self._closed and self._thread.is_alive()
                   and not self.ctx.should_stop()):
                self._changed.wait(WAIT_SECONDS)

    def finish(self) -> dict[str, Any]:
        """No more windows: send nothing new, wait for the chunks in flight; what the worker did."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        return {"early_chunks_sent": self.sent, **({"early_chunks_error": self.error} if self.error else {})}

    # ------------------------------------------------------------------ the worker's side
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # the transform phase does whatever was not done here
            self.error = f"{type(exc).__name__}: {exc}"
            logger.warning("early chunk work stopped: %s", self.error, exc_info=True)
            self.ctx.emit("early_chunks_failed", error=self.error)
        finally:
            with self._changed:
                self._waiting = 0
                self._changed.notify_all()

    async def _main(self) -> None:
        budget, usage = run_budget(self.ctx.run_dir.path, self.llm)
        loop = ItemLoop(self.ctx, finished_event="early_chunk_finished", crash_label="early_chunk")
        await with_llm_client(loop, self.llm, budget, usage, lambda client, limiter: self._body(loop, client, limiter))

    async def _body(self, loop: ItemLoop, client: Any, limiter: AdaptiveLimiter) -> None:
        known: set[str] = set()
        tasks: set[asyncio.Task[None]] = set()
        seen = 0
        while True:
            windows, closed = await asyncio.to_thread(self._wait_for_windows, seen)
            if closed or not loop.may_start():
                break
            if windows == seen:
                continue
            seen = windows
            for item in await asyncio.to_thread(lambda: list(self._new_items(known))):
                with self._changed:
                    self._waiting += 1
                task = asyncio.create_task(self._send(loop, client, limiter, item))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    def _wait_for_windows(self, seen: int) -> tuple[int, bool]:
        with self._changed:
            if self._windows == seen and not self._closed:
                self._changed.wait(WAIT_SECONDS)
            return self._windows, self._closed

    async def _send(self, loop: ItemLoop, client: Any, limiter: AdaptiveLimiter, item: EarlyChunkItem) -> None:
        async with limiter:
            with self._changed:
                self._waiting -= 1
                self._changed.notify_all()
            if self._closed or not loop.may_start():
                return
            self.sent += 1
            state = await process_item(loop, client, item, self.llm)
            if state is not None and state.status == "succeeded":
                limiter.succeeded()

    def _new_items(self, known: set[str]) -> Iterator[EarlyChunkItem]:
        """Settled chunks of the text so far that were neither sent nor answered before (CPU work: planning)."""
        from ..source.normalize import normalize_transcript
        from .text_phases import plan_document

        with self._changed:
            transcript = TranscriptSegments(origin=self.ctx.params.asr_backend, language=self._language,
                                            segments=list(self._segments))
        whole = normalize_transcript(transcript, self.info.chapters)
        doc = whole.model_copy(update={"sentences": whole.sentences[:-STABLE_TAIL_SENTENCES]})
        if not doc.sentences:
            return
        plan = plan_document(doc, self.info, self.ctx.params, self.ctx.settings)
        run_path = self.ctx.run_dir.path
        for chunk in settled_chunks(plan, doc):
            key = early_key(plan, chunk, doc)
            if key in known:
                continue
            known.add(key)
            answered = load_chunk_state(early_state_path(run_path, key))
            if answered is None or not answered.is_final:
                yield EarlyChunkItem(plan, chunk, doc, key=key)


def early_worker_for(ctx: PhaseContext, info: SourceInfo) -> EarlyChunkWorker | None:
    """The worker for this run's speech recognition, or None when nothing would use it: overlap is off, or
    the text is not written by the endpoint (the agent writes one task at a time; deterministic text is
    instant)."""
    from .text_phases import effective_llm

    if not ctx.settings.overlap or ctx.params.writer(ctx.settings) != "endpoint":
        return None
    llm = effective_llm(ctx.params, ctx.settings)
    return EarlyChunkWorker(ctx, info, llm) if llm is not None else None
