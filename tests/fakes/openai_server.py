"""A local OpenAI-compatible chat completions server that can inject faults, for tests and demos.

``POST /v1/chat/completions`` (streaming SSE and plain JSON) and ``GET /v1/models``. The reply to each
request is chosen, in this order, by: the first rule whose marker occurs in the request's text (and
whose count is not spent), then the queue (``enqueue``), then the default behaviour. Rules keyed on a
marker keep concurrent tests deterministic: ``server.add_rule("chunk-3", "rate_limit", times=1)``.

Behaviours (parameters in brackets):
``clean`` well-behaved transformer of the ``<source>`` text of the last user message (cleans, or
pseudo-translates for ``Mode: translate`` + ``Target language: Name (code)`` lines, or pairs source and
pseudo-translation paragraphs for ``Mode: bilingual``, or pseudo-translates numbered lines one for one for
``Mode: subtitles``; every number, URL, version and capitalised Latin
name is kept verbatim) [omit_usage]; ``latency`` [delay_ms]; ``hold`` (wait for ``release_held()``);
``rate_limit`` [retry_after, retry_after_ms]; ``server_error``; ``hang`` [seconds] (bounded by
``max_hang_s``); ``truncate``; ``empty``; ``drop_half``; ``drop_numbers``; ``loop``; ``wrong_language``;
``preamble``; ``merge_paragraphs`` (a good answer with all its paragraphs run into one: speaker
turns are lost); ``split_paragraphs`` (a good answer with a paragraph break after every sentence);
``untranslated`` (the ``<source>`` text back as it came); ``context_error``; ``content_filter``;
``no_stream`` (400 for stream=true);
``no_sse`` (plain JSON even for stream=true); ``auth`` (401).

Every request is recorded in ``requests``; ``max_in_flight`` is the peak number handled at once;
``connections`` counts the TCP connections accepted (keep-alive reuse shows as fewer than requests).
Usage numbers are characters / 4. Run it by hand:
``python -m tests.fakes.openai_server --port 8766 --behaviour clean``; it prints one JSON line with
``base_url`` on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_WAITS = ("latency", "hold", "hang")
_HTTP_FAULTS = ("rate_limit", "server_error", "context_error", "no_stream", "auth")
_TEXT_FAULTS = (
    "truncate",
    "empty",
    "drop_half",
    "drop_numbers",
    "loop",
    "wrong_language",
    "preamble",
    "content_filter",
    "merge_paragraphs",
    "split_paragraphs",
    "untranslated",
)
BEHAVIOURS = frozenset(("clean", "no_sse", *_WAITS, *_HTTP_FAULTS, *_TEXT_FAULTS))
PREAMBLE = "Sure! Here is the cleaned text:\n\n"
_CREATED = 1_700_000_000
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？])\s+")
_URL = re.compile(r"^(https?://|www\.)", re.IGNORECASE)
_CJK_RANGE = (0x4E00, 0x9FA5)
_CYRILLIC, _HANGUL = (0x0430, 0x044F), (0xAC00, 0xD7A3)
_SCRIPT_RANGES = {"ko": _HANGUL, "ru": _CYRILLIC, "uk": _CYRILLIC, "bg": _CYRILLIC, "el": (0x03B1, 0x03C9)}
_COMMON = ["the", "and", "is", "of", "to", "in", "this", "that", "we", "you", "it", "with", "for", "not", "are", "was"]
_LATIN_WORDS = {
    "de": "der und ist von zu in dies dass wir ihr es mit für nicht sind war",
    "fr": "le et est de à dans ce que nous vous il avec pour pas sont était",
    "es": "el y es de a en esto que nosotros usted eso con para no son era",
    "it": "il e è di a in questo che noi voi esso con per non sono era",
    "pt": "o e é de para em isto que nós você isso com por não são era",
    "nl": "de en is van naar in dit dat wij jij het met voor niet zijn was",
}


# --- deterministic text transforms (pure) -------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]


def _sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_SPLIT.split(paragraph) if s]


def _core(word: str) -> str:
    return word.strip(".,;:!?\"'()[]")


def proper_nouns(text: str) -> frozenset[str]:
    """Capitalised Latin words seen somewhere other than at a sentence start: names kept verbatim."""
    return frozenset(
        core
        for paragraph in _paragraphs(text)
        for sentence in _sentences(paragraph)
        for core in map(_core, sentence.split()[1:])
        if core[:1].isascii() and core[:1].isupper()
    )


def _is_kept_verbatim(word: str, *, sentence_start: bool, names: frozenset[str]) -> bool:
    core = _core(word)
    if not core or _URL.match(core) or any(ch.isdigit() for ch in core):
        return True
    if core[:1].isascii() and core[:1].isupper():
        return not sentence_start or core in names or (core.isupper() and len(core) > 1)
    return False


def clean_paragraph(paragraph: str) -> str:
    out = []
    for sentence in _sentences(paragraph):
        if sentence[0].islower() and not _URL.match(sentence):
            sentence = sentence[0].upper() + sentence[1:]
        out.append(sentence)
    cleaned = " ".join(out)
    last_word = cleaned.split()[-1] if cleaned else ""
    if cleaned and cleaned[-1].isalnum() and not _URL.match(last_word):
        cleaned += "。" if 0x3000 <= ord(cleaned[-1]) <= 0x9FFF else "."
    return cleaned


def clean_text(text: str) -> str:
    return "\n\n".join(clean_paragraph(p) for p in _paragraphs(text))


def _hash_chars(word: str, low: int, high: int, count: int) -> str:
    digest = hashlib.sha256(word.lower().encode()).digest()
    return "".join(chr(low + int.from_bytes(digest[2 * i : 2 * i + 2], "big") % (high - low + 1)) for i in range(count))


def _translate_word(word: str, code: str) -> str:
    core = _core(word)
    lang = code.split("-")[0].lower()
    if lang in ("zh", "ja"):
        digest = hashlib.sha256(core.lower().encode()).digest()
        mapped = _hash_chars(core, *_CJK_RANGE, 1 + digest[-1] % 2)
        if lang == "ja" and core.lower() in _COMMON:  # function words become kana particles
            mapped = _hash_chars(core, 0x3041, 0x3093, 1)
        return mapped + ("，" if word.endswith(",") else "")
    if lang in _SCRIPT_RANGES:
        # Hangul syllables carry about two Latin letters each; alphabets map letter for letter.
        length = (len(core) + 1) // 2 if lang == "ko" else len(core)
        return word.replace(core, _hash_chars(core, *_SCRIPT_RANGES[lang], max(1, min(length, 7))))
    vocabulary = dict(zip(_COMMON, _LATIN_WORDS.get(lang, " ".join(_COMMON)).split(), strict=True))
    mapped = vocabulary.get(core.lower(), core)
    if core[:1].isupper():
        mapped = mapped[:1].upper() + mapped[1:]
    return word.replace(core, mapped) if core else word


def _join_cjk(pieces: list[str]) -> str:
    joined = ""
    for piece in pieces:
        glued = joined and ord(joined[-1]) >= 0x3000 and ord(piece[0]) >= 0x3000
        joined += piece if glued or not joined else " " + piece
    return joined.rstrip(".!?,") + "。"


_SPEAKER_LABEL = re.compile(r"^\*\*[^*\n]{1,40}:\*\* ")


def translate_paragraph(paragraph: str, code: str, names: frozenset[str] = frozenset()) -> str:
    label = _SPEAKER_LABEL.match(paragraph)
    if label:  # a speaker label is kept as written, as the prompt asks
        return label.group(0) + translate_paragraph(paragraph[label.end() :], code, names)
    cjk = code.split("-")[0].lower() in ("zh", "ja")
    sentences = []
    for sentence in _sentences(clean_paragraph(paragraph)):
        words = sentence.split()
        pieces = [
            word if _is_kept_verbatim(word, sentence_start=index == 0, names=names) else _translate_word(word, code)
            for index, word in enumerate(words)
        ]
        sentences.append(_join_cjk(pieces) if cjk else " ".join(pieces))
    return ("" if cjk else " ").join(sentences)


def translate_text(text: str, code: str) -> str:
    names = proper_nouns(text)
    return "\n\n".join(translate_paragraph(p, code, names) for p in _paragraphs(text))


_NUMBERED_LINE = re.compile(r"^\s*(\d+)\.\s*(.*)$")


def translate_cue_lines(text: str, code: str) -> str:
    """``Mode: subtitles``: each numbered line ``N. text`` pseudo-translated on its own line, numbers kept."""
    names = proper_nouns(" ".join(_NUMBERED_LINE.sub(r"\2", line) for line in text.splitlines()))
    out = []
    for line in text.strip().splitlines():
        match = _NUMBERED_LINE.match(line)
        if match:
            out.append(f"{match.group(1)}. {translate_paragraph(match.group(2), code, names)}")
    return "\n".join(out)


def bilingual_text(text: str, code: str) -> str:
    names = proper_nouns(text)
    return "\n\n".join(f"{clean_paragraph(p)}\n\n{translate_paragraph(p, code, names)}" for p in _paragraphs(text))


@dataclass(frozen=True)
class Instruction:
    """What the request asks for, read from the prompt contract's markers."""

    source: str
    mode: str = "clean"
    target_code: str | None = None


def read_instruction(messages: list[dict[str, Any]]) -> Instruction:
    user = [m for m in messages if m.get("role") == "user"]
    last = _content(user[-1]) if user else ""
    # The instructions may mention the tag itself ("the text inside <source>"): the payload is the last
    # <source>...</source> block whose body contains no other opening tag.
    blocks = list(re.finditer(r"<source>((?:(?!<source>).)*?)</source>", last, re.DOTALL))
    found = blocks[-1] if blocks else None
    source = found.group(1) if found else last
    everything = "\n".join(_content(m) for m in messages)
    rest = everything.replace(found.group(0), "") if found else everything
    mode = re.search(r"^\s*Mode:\s*(\w+)", rest, re.MULTILINE | re.IGNORECASE)
    target = re.search(r"^\s*Target language:.*?\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)\)", rest, re.MULTILINE)
    return Instruction(source, mode.group(1).lower() if mode else "clean", target.group(1) if target else None)


def section_titles(source: str, code: str | None) -> str:
    """A numbered title per ``N. (current title: ...)`` / ``N. (key words: ...)`` header of a chapter-title
    request: the hint, pseudo-translated when the target is another language."""
    titles = []
    for match in re.finditer(r"^(\d+)\.(?: \((?:current title|key words): (.*?)\))?$", source, re.MULTILINE):
        hint = "About " + (match.group(2) or f"topic {match.group(1)}").strip().lower()
        title = translate_paragraph(hint, code) if code and code.split("-")[0] != "en" else hint
        titles.append(f"{match.group(1)}. {title.rstrip('.')}")
    return "\n".join(titles)


def transform(instruction: Instruction) -> str:
    if instruction.mode == "chapter_titles":
        return section_titles(instruction.source, instruction.target_code)
    if instruction.mode == "translate" and instruction.target_code:
        return translate_text(instruction.source, instruction.target_code)
    if instruction.mode == "subtitles" and instruction.target_code:
        return translate_cue_lines(instruction.source, instruction.target_code)
    if instruction.mode == "bilingual" and instruction.target_code:
        return bilingual_text(instruction.source, instruction.target_code)
    return clean_text(instruction.source)


def _content(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def faulty_reply(name: str, instruction: Instruction) -> tuple[str, str]:
    """(text, finish_reason) for the behaviours that answer 200 with a damaged text."""
    good = transform(instruction)
    sentences = [s for p in good.split("\n\n") for s in _sentences(p)]
    if name == "truncate":
        return good[: len(good) // 2], "length"
    if name == "empty":
        return "", "stop"
    if name == "content_filter":
        return "", "content_filter"
    if name == "drop_half":
        return " ".join(sentences[: max(1, len(sentences) // 2)]), "stop"
    if name == "drop_numbers":
        return re.sub(r"\d", "", good), "stop"
    if name == "loop":
        return " ".join([sentences[0] if sentences else "again"] * 30), "stop"
    if name == "wrong_language":
        wrong = "ru" if (instruction.target_code or "").split("-")[0] in ("zh", "ja", "ko") else "zh"
        translate = translate_cue_lines if instruction.mode == "subtitles" else translate_text
        return translate(instruction.source, wrong), "stop"
    if name == "untranslated":  # the source handed back as it came
        return instruction.source.strip(), "stop"
    if name == "preamble":
        return PREAMBLE + good, "stop"
    if name == "merge_paragraphs":
        return " ".join(_paragraphs(good)), "stop"
    if name == "split_paragraphs":
        return "\n\n".join(sentences), "stop"
    return good, "stop"


# --- server -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {self.name!r}; known: {sorted(BEHAVIOURS)}")


@dataclass
class _Rule:
    marker: str
    behaviour: Behaviour
    remaining: int | None


@dataclass(frozen=True)
class RecordedRequest:
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    stream: bool
    behaviour: str
    status: int


class FakeOpenAIServer:
    """Threaded HTTP server on 127.0.0.1 (random port by default). Use as a context manager."""

    def __init__(self, *, behaviour: str = "clean", port: int = 0, max_hang_s: float = 5.0, **params: Any) -> None:
        self.default = Behaviour(behaviour, params)
        self.max_hang_s = max_hang_s
        self.stopping = threading.Event()
        self.released = threading.Event()
        self._queue: list[Behaviour] = []
        self._rules: list[_Rule] = []
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self.max_in_flight = 0
        self.connections = 0
        self._lock = threading.Condition()
        handler = type("BoundHandler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def set_default(self, name: str, **params: Any) -> None:
        with self._lock:
            self.default = Behaviour(name, params)

    def enqueue(self, name: str, **params: Any) -> None:
        with self._lock:
            self._queue.append(Behaviour(name, params))

    def add_rule(self, marker: str, name: str, *, times: int | None = None, **params: Any) -> None:
        """Use ``name`` for requests containing ``marker`` (the first ``times`` of them, or always)."""
        with self._lock:
            self._rules.append(_Rule(marker, Behaviour(name, params), times))

    def release_held(self) -> None:
        self.released.set()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` requests have arrived (recorded or in flight)."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._requests) + self._in_flight >= count, timeout)

    def choose(self, request_text: str) -> Behaviour:
        with self._lock:
            for rule in self._rules:
                if rule.marker in request_text and (rule.remaining is None or rule.remaining > 0):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule.behaviour
            return self._queue.pop(0) if self._queue else self.default

    def connected(self) -> None:
        with self._lock:
            self.connections += 1

    def enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            self._lock.notify_all()

    def leave(self, record: RecordedRequest | None) -> None:
        with self._lock:
            self._in_flight -= 1
            if record is not None:
                self._requests.append(record)
            self._lock.notify_all()

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the command-line mode)."""
        try:
            self._server.serve_forever()
        finally:
            self.stopping.set()
            self._server.server_close()

    def stop(self) -> None:
        self.stopping.set()
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    # A real server's listen backlog: with the standard library's 5, a burst of concurrent connections
    # gets SYNs dropped and retried a second later, which would be charged to the client under test.
    request_queue_size = 128
    daemon_threads = True


def _error_body(message: str, kind: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


_CONTEXT_MESSAGE = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens."
_ERRORS: dict[str, tuple[int, str, str, str | None, str | None]] = {  # status, message, type, code, param
    "server_error": (500, "The server had an error while processing your request.", "server_error", None, None),
    "auth": (401, "Incorrect API key provided: {key}.", "invalid_request_error", "invalid_api_key", None),
    "context_error": (400, _CONTEXT_MESSAGE, "invalid_request_error", "context_length_exceeded", "messages"),
    "no_stream": (
        400,
        "stream is not supported by this server",
        "invalid_request_error",
        "unsupported_parameter",
        "stream",
    ),
    "rate_limit": (429, "Rate limit reached. Please retry.", "requests", "rate_limit_exceeded", None),
}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as real servers set it: the headers and the body go out in two writes, and with Nagle's
    # algorithm the body waits for the client's delayed ACK of the headers (40 ms on Linux) on every reply
    # of a kept-alive connection, which would be charged to the client under test.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read ``requests`` instead
        return

    def setup(self) -> None:  # once per accepted connection; requests on it follow in ``handle``
        super().setup()
        self.fake.connected()

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self._send(*_json(404, _error_body(f"no route {self.path}", "invalid_request_error", "not_found")))
            return
        model = {"id": "fake-model", "object": "model", "created": _CREATED, "owned_by": "fake"}
        self._send(*_json(200, {"object": "list", "data": [model]}))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(*_json(404, _error_body(f"no route {self.path}", "invalid_request_error", "not_found")))
            return
        try:
            payload = json.loads(body)
            messages = list(payload.pop("messages"))
        except (ValueError, KeyError, TypeError):
            self._send(*_json(400, _error_body("invalid JSON body", "invalid_request_error", None)))
            return
        stream = bool(payload.get("stream"))
        behaviour = self.fake.choose("\n".join(_content(m) for m in messages))
        self.fake.enter()
        reply: tuple[int, dict[str, str], bytes] | None = None
        try:
            reply = self._answer(behaviour, messages, payload, stream)
        finally:
            # Recorded before the reply is sent, so a client that got its answer always finds its request.
            status = reply[0] if reply else 500
            self.fake.leave(RecordedRequest(messages, payload, stream, behaviour.name, status))
        self._send(*reply)

    def _answer(
        self, behaviour: Behaviour, messages: list[dict[str, Any]], payload: dict[str, Any], stream: bool
    ) -> tuple[int, dict[str, str], bytes]:
        name, params = behaviour.name, behaviour.params
        if name == "latency":
            self.fake.stopping.wait(float(params.get("delay_ms", 100)) / 1000)
        elif name == "hold":
            self.fake.released.wait(self.fake.max_hang_s)
        elif name == "hang":
            self.fake.stopping.wait(min(float(params.get("seconds", 1.5)), self.fake.max_hang_s))
        elif name in _ERRORS and (name != "no_stream" or stream):
            status, message, kind, code, param = _ERRORS[name]
            headers = {"Retry-After": str(params.get("retry_after", 1))} if name == "rate_limit" else {}
            if "retry_after_ms" in params:
                headers["retry-after-ms"] = str(params["retry_after_ms"])
            # Like the real service, the 401 message echoes the key it got, so clients must redact it.
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            return _json(status, _error_body(message.replace("{key}", key), kind, code, param), headers)
        text, finish_reason = faulty_reply(name, read_instruction(messages))
        model = str(payload.get("model") or "fake-model")
        prompt_tokens, completion_tokens = max(1, sum(len(_content(m)) for m in messages) // 4), len(text) // 4
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
        usage["total_tokens"] = prompt_tokens + completion_tokens
        if params.get("omit_usage"):
            usage = {}
        if stream and name != "no_sse":
            include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
            return _sse(model, text, finish_reason, usage if include_usage else {})
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
        completion = {"id": "chatcmpl-fake", "object": "chat.completion", "created": _CREATED, "model": model}
        completion |= {"choices": [choice | {"logprobs": None}]} | ({"usage": usage} if usage else {})
        return _json(200, completion)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout)
            self.close_connection = True
        if headers.get("Connection") == "close":
            self.close_connection = True


def _json(
    status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(payload).encode()
    return status, {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})}, data


def _sse(model: str, text: str, finish_reason: str, usage: dict[str, int]) -> tuple[int, dict[str, str], bytes]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": _CREATED, "model": model}
    pieces = [{"role": "assistant", "content": ""}] + [{"content": p} for p in re.findall(r"\S*\s*", text) if p]
    chunks: list[dict[str, Any]] = [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in pieces
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]})
    if usage:
        chunks.append({**base, "choices": [], "usage": usage})
    body = ("".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n").encode()
    # Chunked transfer on a kept-alive connection, as real endpoints stream (one HTTP chunk holds every event).
    framed = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    return 200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "Transfer-Encoding": "chunked"}, framed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--behaviour", default="clean", choices=sorted(BEHAVIOURS))
    parser.add_argument("--delay-ms", type=int, default=None, help="for --behaviour latency")
    args = parser.parse_args(argv)
    params = {"delay_ms": args.delay_ms} if args.delay_ms is not None else {}
    server = FakeOpenAIServer(behaviour=args.behaviour, port=args.port, **params)
    print(json.dumps({"base_url": server.base_url, "behaviour": args.behaviour}), flush=True)
    print(f"fake OpenAI server on {server.base_url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
