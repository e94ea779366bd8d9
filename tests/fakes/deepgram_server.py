"""A local stand-in for Deepgram's pre-recorded API (``POST /v1/listen``), for tests and demos.

It answers with the real response shape (``metadata``; ``results.channels[0].alternatives[0]`` with
transcript, words and paragraphs; ``detected_language``; ``results.utterances``), timed across the
uploaded WAV's duration (read from its header). It is scriptable:

- ``utterances``: the (text, speaker) pairs every answer contains, spread evenly over the upload;
- ``fail_next(status, times)``: answer the next requests with an error status (e.g. 500 once);
- ``requests``: what was received (query parameters, body size, audio seconds, whether the key matched).

Requests without ``Authorization: Token <api_key>`` get 401, like the real service.

Run it by hand: ``python -m tests.fakes.deepgram_server --port 8765 [--api-key KEY]``, then point
``YTT_DEEPGRAM_BASE_URL=http://127.0.0.1:8765`` and ``DEEPGRAM_API_KEY=KEY`` at it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import threading
import uuid
import wave
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_API_KEY = "test-deepgram-key"
DEFAULT_UTTERANCES: list[tuple[str, int]] = [
    ("Welcome to the show.", 0),
    ("Thanks for having me here today.", 1),
]
_MODEL_UUID = "1ed36bac-f71c-4f3f-a31f-02fd6525c489"


@dataclass
class RecordedRequest:
    path: str
    query: dict[str, list[str]]
    body_size: int
    audio_seconds: float | None
    authorized: bool
    status: int


@dataclass
class _Fault:
    status: int
    remaining: int


@dataclass
class FakeDeepgramState:
    api_key: str = DEFAULT_API_KEY
    utterances: list[tuple[str, int]] = field(default_factory=lambda: list(DEFAULT_UTTERANCES))
    language: str = "en"
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # While ``hold`` is set, the transcription requests received after the ``hold_after``-th one wait (up to
    # ``hold_seconds``) on ``gate`` until released or let through (``allow_more``); ``held`` marks one waiting.
    hold: bool = False
    hold_after: int = 0
    hold_seconds: float = 30.0
    received: int = 0
    gate: threading.Condition = field(default_factory=threading.Condition)
    held: threading.Event = field(default_factory=threading.Event)


class FakeDeepgramServer:
    """Threaded HTTP server on 127.0.0.1 (random port by default). Use as a context manager."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        utterances: list[tuple[str, int]] | None = None,
        language: str = "en",
        port: int = 0,
    ) -> None:
        self.state = FakeDeepgramState(api_key=api_key, language=language)
        if utterances is not None:
            self.state.utterances = list(utterances)
        handler = type("BoundHandler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-deepgram", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def listen_requests(self, *, authorized_only: bool = True) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/listen" and (r.authorized or not authorized_only)]

    def script(self, utterances: list[tuple[str, int]]) -> None:
        with self.state.lock:
            self.state.utterances = list(utterances)

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        with self.state.lock:
            self.state.faults.append(_Fault(status=status, remaining=times))

    def hold_answers(self, *, after: int = 0, seconds: float = 30.0) -> None:
        """Make transcription requests wait, unanswered, until ``release_answers`` (a slow upload or service);
        with ``after``, the next ``after`` requests are answered at once and only later ones wait."""
        with self.state.gate:
            self.state.hold = True
            self.state.hold_after = self.state.received + after
            self.state.hold_seconds = seconds
            self.state.held.clear()

    def allow_more(self, count: int = 1) -> None:
        """Let ``count`` more held (or future) requests through, keeping the hold for the rest."""
        with self.state.gate:
            self.state.hold_after += count
            self.state.held.clear()
            self.state.gate.notify_all()

    def wait_until_held(self, timeout: float = 30.0) -> bool:
        """True once a transcription request is waiting on ``hold_answers``."""
        return self.state.held.wait(timeout)

    def release_answers(self) -> None:
        with self.state.gate:
            self.state.hold = False
            self.state.gate.notify_all()

    def start(self) -> FakeDeepgramServer:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the command-line mode)."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        self.release_answers()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeDeepgramServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    state: FakeDeepgramState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read ``requests`` instead
        return

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = parse_qs(url.query)
        authorized = self.headers.get("Authorization") == f"Token {self.state.api_key}"
        seconds = _wav_seconds(body)
        status, payload = self._answer(url.path, query, body, seconds, authorized)
        with self.state.lock:
            self.state.requests.append(
                RecordedRequest(
                    path=url.path,
                    query=query,
                    body_size=len(body),
                    audio_seconds=seconds,
                    authorized=authorized,
                    status=status,
                )
            )
        self._send(status, payload)

    def _answer(
        self, path: str, query: dict[str, list[str]], body: bytes, seconds: float | None, authorized: bool
    ) -> tuple[int, dict[str, Any]]:
        if path != "/v1/listen":
            return 404, {"err_code": "NOT_FOUND", "err_msg": f"No route for {path}"}
        if not authorized:
            return 401, {
                "err_code": "INVALID_AUTH",
                "err_msg": "Invalid credentials.",
                "request_id": str(uuid.uuid4()),
            }
        with self.state.gate:
            self.state.received += 1
            number = self.state.received

            def let_through() -> bool:
                return not self.state.hold or number <= self.state.hold_after

            if not let_through():
                self.state.held.set()
                self.state.gate.wait_for(let_through, timeout=self.state.hold_seconds)
        with self.state.lock:
            fault = next((f for f in self.state.faults if f.remaining > 0), None)
            if fault is not None:
                fault.remaining -= 1
            utterances = list(self.state.utterances)
        if fault is not None:
            return fault.status, {"err_code": "INTERNAL_SERVER_ERROR", "err_msg": "Injected fault."}
        if seconds is None:
            return 400, {
                "err_code": "Bad Request",
                "err_msg": "Bad Request: failed to process audio: corrupt or unsupported data",
            }
        detect = _flag(query, "detect_language")
        return 200, build_response(
            utterances,
            duration=seconds,
            body=body,
            language=self.state.language if detect else None,
            model=(query.get("model") or ["nova-3"])[0],
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def build_response(
    utterances: list[tuple[str, int]], *, duration: float, body: bytes, language: str | None, model: str
) -> dict[str, Any]:
    """A Deepgram pre-recorded response whose utterances are spread evenly over ``duration``."""
    slot = duration / max(1, len(utterances))
    utterance_items: list[dict[str, Any]] = []
    all_words: list[dict[str, Any]] = []
    paragraphs: list[dict[str, Any]] = []
    for index, (text, speaker) in enumerate(utterances):
        start = round(index * slot + slot * 0.05, 3)
        end = round((index + 1) * slot - slot * 0.05, 3)
        tokens = text.split()
        step = (end - start) / max(1, len(tokens))
        words = [
            {
                "word": token.strip(".,!?").lower(),
                "start": round(start + i * step, 3),
                "end": round(start + (i + 1) * step, 3),
                "confidence": 0.98,
                "speaker": speaker,
                "speaker_confidence": 0.9,
                "punctuated_word": token,
            }
            for i, token in enumerate(tokens)
        ]
        all_words.extend(words)
        utterance_items.append(
            {
                "start": start,
                "end": end,
                "confidence": 0.97,
                "channel": 0,
                "transcript": text,
                "words": words,
                "speaker": speaker,
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{index}:{text}")),
            }
        )
        paragraphs.append(
            {
                "sentences": [{"text": text, "start": start, "end": end}],
                "speaker": speaker,
                "num_words": len(tokens),
                "start": start,
                "end": end,
            }
        )
    transcript = " ".join(text for text, _ in utterances)
    channel: dict[str, Any] = {
        "alternatives": [
            {
                "transcript": transcript,
                "confidence": 0.97,
                "words": all_words,
                "paragraphs": {
                    "transcript": "".join(f"\nSpeaker {s}: {t}\n" for t, s in utterances),
                    "paragraphs": paragraphs,
                },
            }
        ]
    }
    if language:
        channel["detected_language"] = language
        channel["language_confidence"] = 0.99
    return {
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": str(uuid.uuid4()),
            "sha256": hashlib.sha256(body).hexdigest(),
            "created": "2025-01-01T00:00:00.000Z",
            "duration": round(duration, 6),
            "channels": 1,
            "models": [_MODEL_UUID],
            "model_info": {_MODEL_UUID: {"name": f"general-{model}", "version": "2025-01-01.0", "arch": model}},
        },
        "results": {"channels": [channel], "utterances": utterance_items},
    }


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return (query.get(name) or ["false"])[0].lower() == "true"


def _wav_seconds(body: bytes) -> float | None:
    try:
        with wave.open(io.BytesIO(body), "rb") as reader:
            return reader.getnframes() / reader.getframerate()
    except (wave.Error, EOFError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a fake Deepgram pre-recorded API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--language", default="en")
    args = parser.parse_args(argv)
    server = FakeDeepgramServer(api_key=args.api_key, language=args.language, port=args.port)
    print(f"fake Deepgram listening on {server.base_url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
