"""Speech recognition with Deepgram's pre-recorded API (deepgram-sdk 7.x), part by part, with a response cache.

Audio longer than ``DeepgramSettings.max_part_seconds`` is cut at quiet points into parts that are
uploaded separately; the parts' results are shifted by their start time and concatenated.

Invariants:
- Each part's response JSON is cached in ``checkpoint_dir`` under a request fingerprint (the part's audio
  bytes and every request option), written atomically before it is parsed. A crash, a re-run or a stop
  never re-uploads a part that already has an answer; a changed option or file never reuses one.
- The API key is read from the settings only when a request is needed and is never put into an error,
  a log record or a file. The cache holds Deepgram's response, which does not echo it.
- ``should_stop`` is checked before every upload and every 0.2 s while one is in flight; a stop abandons
  the in-flight request (its answer is never written), so a pause or cancel does not wait for an upload.
- Retries (5xx, 408, 429, connection errors) are ours, with an injectable ``sleep``; the SDK's own retry
  loop is disabled so the total number of attempts is exactly ``max_attempts``.
- Speakers are ``"Speaker 1"``, ``"Speaker 2"``... from Deepgram's 0-based diarization numbers. Numbers are
  assigned per request, so across parts the same number is not guaranteed to be the same voice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kernel.config import DeepgramSettings, Settings
from kernel.task_runtime.canonical import fingerprint_bytes, fingerprint_value
from kernel.task_runtime.errors import CorruptStateError
from kernel.task_runtime.store import atomic_write_json, read_json
from kernel.transcript import Segment, TranscriptSegments, Word

from .base import (
    ProgressCallback,
    StopCheck,
    TimeWindow,
    TranscriberError,
    WindowCallback,
    WindowResult,
    raise_if_stop_requested,
)
from .windows import DEFAULT_SEARCH_SECONDS, plan_windows, wav_frame_energies, wav_part_bytes

logger = logging.getLogger(__name__)

PART_CACHE_SCHEMA_VERSION = 1
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_SECONDS = 2.0
DEFAULT_TIMEOUT_SECONDS = 600.0
_RETRYABLE_STATUS = frozenset({408, 429})
_STOP_POLL_SECONDS = 0.2


class DeepgramPartResponse(BaseModel):
    """A cached Deepgram answer for one uploaded part (``deepgram-p<index>-<fingerprint>.json``)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = PART_CACHE_SCHEMA_VERSION
    request_fingerprint: str
    part: TimeWindow
    response: dict[str, Any] = Field(description="Deepgram's JSON response, as received")


class DeepgramTranscriber:
    """The Deepgram backend. ``sleep`` is injectable so retry back-off costs nothing in tests."""

    name = "deepgram"

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._settings = settings.deepgram
        self._sleep = sleep
        self._max_attempts = max(1, max_attempts)
        self._backoff_seconds = backoff_seconds
        self._timeout_seconds = timeout_seconds
        self.requests_sent = 0  # HTTP requests made by this instance (retries included; cache hits excluded)

    def transcribe(
        self,
        audio_path: Path,
        *,
        language: str | None,
        initial_prompt: str | None,
        checkpoint_dir: Path,
        progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
        on_window: WindowCallback | None = None,
    ) -> TranscriptSegments:
        """Transcribe a 16 kHz mono WAV; see ``Transcriber.transcribe``. ``initial_prompt`` is not used.

        Each uploaded part is one window for ``on_window``.

        Raises:
            TranscriberError: ``deepgram_key_missing``, ``deepgram_auth``, ``deepgram_unavailable``,
                ``asr_bad_audio`` or ``asr_failed``.
            StopRequested: ``should_stop()`` was true between parts.
        """
        energies, info = wav_frame_energies(audio_path)
        parts = plan_parts(energies, duration=info.duration, max_part_seconds=self._settings.max_part_seconds)
        options = self.request_options(language)
        segments: list[Segment] = []
        languages: Counter[str] = Counter()
        from_cache = 0
        with _LazyClient(self._settings, self._timeout_seconds) as client:
            for part in parts:
                audio = wav_part_bytes(audio_path, part)
                fingerprint = fingerprint_value(
                    {"cache_schema": PART_CACHE_SCHEMA_VERSION, "audio": fingerprint_bytes(audio), "options": options}
                )
                path = part_cache_file(checkpoint_dir, part, fingerprint)
                cached = _load_part(path, fingerprint)
                reused = cached is not None
                if cached is None:
                    stop = partial(raise_if_stop_requested, should_stop, done_windows=part.index, total_windows=len(parts))
                    stop()
                    response = self._request_until_stopped(client, audio, options, part, should_stop, stop)
                    cached = DeepgramPartResponse(request_fingerprint=fingerprint, part=part, response=response)
                    atomic_write_json(path, cached.model_dump(mode="json"))
                else:
                    from_cache += 1
                part_segments, part_language = segments_from_response(cached.response, offset=part.start)
                segments.extend(part_segments)
                if part_language:
                    languages[part_language] += max(1, round(part.duration))
                if progress is not None:
                    progress(part.end, info.duration)
                if on_window is not None:
                    on_window(
                        WindowResult(
                            window=part,
                            windows_total=len(parts),
                            language=language or part_language,
                            segments=part_segments,
                            from_checkpoint=reused,
                        )
                    )
        detected = languages.most_common(1)[0][0] if languages else None
        return TranscriptSegments(
            origin="deepgram",
            language=language or detected,
            segments=segments,
            stats={
                "windows_total": len(parts),
                "windows_from_checkpoint": from_cache,
                "audio_seconds": round(info.duration, 3),
                "model": self._settings.model,
                "segments": len(segments),
                "speakers": len({s.speaker for s in segments if s.speaker}),
            },
        )

    def ensure_configured(self) -> None:
        """Fail fast (for preflight) when no API key is configured.

        Raises:
            TranscriberError: code ``deepgram_key_missing``.
        """
        deepgram_api_key(self._settings)

    def request_options(self, language: str | None) -> dict[str, Any]:
        """The query options sent with every part (also part of the cache key)."""
        options: dict[str, Any] = {
            "model": self._settings.model,
            "smart_format": True,
            "punctuate": True,
            "diarize": True,
            "utterances": True,
            "paragraphs": True,
        }
        if language:
            options["language"] = language
        else:
            options["detect_language"] = True
        return options

    def _redacted(self, text: str) -> str:
        # Service messages are not expected to echo the key; this makes sure one never does.
        secret = self._settings.api_key
        key = secret.get_secret_value().strip() if secret is not None else ""
        return text.replace(key, "[redacted]") if key else text

    def _request_until_stopped(
        self,
        client: _LazyClient,
        audio: bytes,
        options: dict[str, Any],
        part: TimeWindow,
        should_stop: StopCheck | None,
        stop: Callable[[], None],
    ) -> dict[str, Any]:
        """``_request`` in a worker thread, checking ``should_stop`` every ``_STOP_POLL_SECONDS`` meanwhile.

        A stop abandons the request: its answer, if one comes, is dropped (the worker writes nothing), and
        the part is uploaded again on resume.
        """
        if should_stop is None:
            return self._request(client, audio, options, part)
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["response"] = self._request(client, audio, options, part)
            except BaseException as exc:  # handed to the caller's thread below
                outcome["error"] = exc

        worker = threading.Thread(target=call, name=f"deepgram-part-{part.index}", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(_STOP_POLL_SECONDS)
            if worker.is_alive():
                stop()
        if "error" in outcome:
            raise outcome["error"]
        response: dict[str, Any] = outcome["response"]
        return response

    def _request(self, client: _LazyClient, audio: bytes, options: dict[str, Any], part: TimeWindow) -> dict[str, Any]:
        from deepgram.core.api_error import ApiError

        last_problem = ""
        last_status: int | None = None
        for attempt in range(1, self._max_attempts + 1):
            try:
                media = client.get().listen.v1.media
                self.requests_sent += 1
                response = media.transcribe_file(request=audio, **options)
                return _response_json(response)
            except ApiError as exc:
                status = exc.status_code
                if status in (401, 403):
                    raise TranscriberError(
                        f"Deepgram refused the API key (HTTP {status})",
                        code="deepgram_auth",
                        hint="check DEEPGRAM_API_KEY: the key is wrong, expired or lacks the listen scope",
                    ) from None
                if status is None or not (status >= 500 or status in _RETRYABLE_STATUS):
                    raise TranscriberError(
                        f"Deepgram rejected part {part.index + 1} ({part.start:.0f}-{part.end:.0f} s): "
                        f"HTTP {status}: {self._redacted(_error_text(exc.body))}",
                        code="asr_failed",
                        hint="check the audio file and the deepgram settings (model, language)",
                        details={"status": status, "part": part.index},
                    ) from None
                last_status, last_problem = status, f"HTTP {status}"
            except _transport_errors() as exc:
                last_status, last_problem = None, type(exc).__name__
            if attempt < self._max_attempts:
                delay = self._backoff_seconds * 2 ** (attempt - 1)
                logger.warning("Deepgram %s on part %d; retrying in %.1f s", last_problem, part.index + 1, delay)
                self._sleep(delay)
        raise TranscriberError(
            f"Deepgram is unavailable ({last_problem} after {self._max_attempts} attempts)",
            code="deepgram_unavailable",
            hint="retry later (finished parts are cached), or use the whisper backend",
            details={"status": last_status, "attempts": self._max_attempts, "part": part.index},
        )


def deepgram_api_key(settings: DeepgramSettings) -> str:
    """The configured API key (for the SDK only: never log, store or echo it).

    Raises:
        TranscriberError: code ``deepgram_key_missing`` when no key is configured.
    """
    key = settings.api_key.get_secret_value().strip() if settings.api_key is not None else ""
    if not key:
        raise TranscriberError(
            "No Deepgram API key is configured",
            code="deepgram_key_missing",
            hint="set DEEPGRAM_API_KEY in the environment, or use the whisper backend",
        )
    return key


def plan_parts(energies: Any, *, duration: float, max_part_seconds: float) -> list[TimeWindow]:
    """Upload parts no longer than ``max_part_seconds``, cut at quiet points just before that limit."""
    zone = min(DEFAULT_SEARCH_SECONDS, max_part_seconds / 4)
    return plan_windows(
        energies, duration=duration, target_seconds=max_part_seconds - zone, max_seconds=max_part_seconds
    )


def part_cache_file(checkpoint_dir: Path, part: TimeWindow, fingerprint: str) -> Path:
    return checkpoint_dir / f"deepgram-p{part.index:04d}-{fingerprint.split(':', 1)[-1][:16]}.json"


def segments_from_response(response: dict[str, Any], *, offset: float) -> tuple[list[Segment], str | None]:
    """Segments (absolute times) and the detected language from one Deepgram response.

    Utterances are preferred; without them, paragraph sentences; without those, the whole transcript.
    """
    results = response.get("results") or {}
    channels = results.get("channels") or [{}]
    channel = channels[0] or {}
    language = channel.get("detected_language")
    utterances = results.get("utterances")
    if utterances:
        return [_utterance_segment(u, offset) for u in utterances if (u.get("transcript") or "").strip()], language
    alternative = (channel.get("alternatives") or [{}])[0] or {}
    paragraphs = (alternative.get("paragraphs") or {}).get("paragraphs") or []
    segments: list[Segment] = []
    for paragraph in paragraphs:
        speaker = _speaker_label(paragraph.get("speaker"))
        for sentence in paragraph.get("sentences") or []:
            text = (sentence.get("text") or "").strip()
            if text:
                start = _shift(sentence.get("start"), offset)
                segments.append(
                    Segment(
                        start=start, end=max(start, _shift(sentence.get("end"), offset)), text=text, speaker=speaker
                    )
                )
    if not segments and (alternative.get("transcript") or "").strip():
        words = [_word(w, offset) for w in alternative.get("words") or []]
        start = words[0].start if words else round(offset, 3)
        end = words[-1].end if words else start
        segments.append(Segment(start=start, end=end, text=alternative["transcript"].strip(), words=words or None))
    return segments, language


def _utterance_segment(utterance: dict[str, Any], offset: float) -> Segment:
    words = [_word(w, offset) for w in utterance.get("words") or []]
    start = _shift(utterance.get("start"), offset)
    return Segment(
        start=start,
        end=max(start, _shift(utterance.get("end"), offset)),
        text=utterance["transcript"].strip(),
        speaker=_speaker_label(utterance.get("speaker")),
        words=words or None,
    )


def _word(word: dict[str, Any], offset: float) -> Word:
    start = _shift(word.get("start"), offset)
    confidence = word.get("confidence")
    return Word(
        start=start,
        end=max(start, _shift(word.get("end"), offset)),
        text=str(word.get("punctuated_word") or word.get("word") or ""),
        probability=None if confidence is None else round(float(confidence), 4),
        speaker=_speaker_label(word.get("speaker")),
    )


def _speaker_label(number: Any) -> str | None:
    return None if number is None else f"Speaker {int(number) + 1}"


def _shift(seconds: Any, offset: float) -> float:
    return round(offset + max(0.0, float(seconds or 0.0)), 3)


def _response_json(response: Any) -> dict[str, Any]:
    if not hasattr(response, "results"):
        raise TranscriberError(
            "Deepgram accepted the request for later delivery instead of answering it",
            code="asr_failed",
            hint="do not configure a Deepgram callback for this tool",
        )
    data = response.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not isinstance(data, dict):
        raise TranscriberError("Deepgram returned an unexpected response", code="asr_failed")
    return data


def _error_text(body: Any) -> str:
    if isinstance(body, dict):
        for field in ("err_msg", "message", "error", "reason"):
            if body.get(field):
                return str(body[field])[:300]
    return str(body)[:300] if body else "no details"


def _load_part(path: Path, fingerprint: str) -> DeepgramPartResponse | None:
    if not path.is_file():
        return None
    try:
        cached = DeepgramPartResponse.model_validate(read_json(path))
    except (CorruptStateError, ValidationError) as exc:
        logger.warning("ignoring unreadable Deepgram cache %s: %s", path.name, exc)
        return None
    return cached if cached.request_fingerprint == fingerprint else None


def _transport_errors() -> tuple[type[Exception], ...]:
    import httpx

    return (httpx.TransportError,)


class _LazyClient:
    """Builds the SDK client on first use (so a fully cached run needs no key) and closes its HTTP pool."""

    def __init__(self, settings: DeepgramSettings, timeout_seconds: float) -> None:
        self._settings = settings
        self._timeout_seconds = timeout_seconds
        self._client: Any | None = None
        self._http: Any | None = None

    def __enter__(self) -> _LazyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._http is not None:
            self._http.close()

    def get(self) -> Any:
        if self._client is None:
            self._client = self._build()
        return self._client

    def _build(self) -> Any:
        key = deepgram_api_key(self._settings)
        import httpx
        from deepgram import DeepgramClient, DeepgramClientEnvironment

        self._http = httpx.Client(timeout=self._timeout_seconds, follow_redirects=True)
        kwargs: dict[str, Any] = {"api_key": key, "httpx_client": self._http, "max_retries": 0}
        if self._settings.base_url:
            base = self._settings.base_url.rstrip("/")
            production = DeepgramClientEnvironment.PRODUCTION
            kwargs["environment"] = DeepgramClientEnvironment(
                base=base,
                production="ws" + base[4:] if base.startswith("http") else production.production,
                agent=production.agent,
                agent_rest=production.agent_rest,
            )
        return DeepgramClient(**kwargs)
