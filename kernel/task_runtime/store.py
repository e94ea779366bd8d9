"""Durable file primitives: the only way anything writes into a work_dir.

Invariants:
- ``atomic_write_*`` never leaves a half-written target: it writes a temp file in the same directory,
  flushes and fsyncs it, ``os.replace``-s it over the target and fsyncs the directory. A crash at any
  point leaves either the old file or the new one.
- ``append_jsonl`` first repairs a torn last line (a crash mid-append) by truncating back to the last
  newline, then appends one complete line and fsyncs.
- ``read_json`` raises ``CorruptStateError`` naming the file (and, with a schema, the JSON pointer of
  the first violation) instead of returning garbage. Schema validation is memoized by a digest of the
  file's exact text and the schema object: the same bytes against the same schema validate the same
  way, so phases re-reading one large document pay for validation once per
  process, while any edit (one changed byte) is validated afresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import CorruptStateError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; published output files must honour the user's umask instead.
_FILE_MODE = 0o666 & ~_current_umask()


def fsync_path(path: Path) -> None:
    """fsync a file, or a directory (which makes a rename inside it durable).

    Not all platforms allow opening a directory; there the call does nothing.
    """
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_path(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def dumps_json(data: Any) -> str:
    """The on-disk JSON form: indented for people, keys in model order, UTF-8 kept readable."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, dumps_json(data))


def atomic_copy(source: Path, target: Path) -> None:
    """Copy a (possibly large) file into place atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            while block := src.read(1 << 20):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_path(target.parent)


def read_json(path: Path, schema: dict[str, Any] | None = None) -> Any:
    """Read and (optionally) validate a JSON file.

    Raises:
        FileNotFoundError: the file does not exist.
        CorruptStateError: it is not valid JSON, or it violates ``schema``; ``details`` has ``file``
            and ``pointer`` (RFC 6901, ``""`` for the whole document).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _corrupt(path, "", f"not UTF-8 text ({exc.reason})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _corrupt(path, "", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    if schema is not None:
        key = (id(schema), hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest())
        with _VALID_LOCK:
            known_valid = key in _VALID_TEXTS
            if known_valid:
                _VALID_TEXTS.move_to_end(key)
        if not known_valid:
            validate_against(path, data, schema)
            with _VALID_LOCK:
                _VALID_TEXTS[key] = schema  # holds the schema, so its id cannot be reused meanwhile
                if len(_VALID_TEXTS) > _VALID_TEXTS_MAX:
                    _VALID_TEXTS.popitem(last=False)
    return data


# (id of a schema object, digest of a file's text) -> that schema, for texts that passed validation.
_VALID_TEXTS: OrderedDict[tuple[int, bytes], dict[str, Any]] = OrderedDict()
_VALID_TEXTS_MAX = 1024
_VALID_LOCK = threading.Lock()


def validate_against(path: Path, data: Any, schema: dict[str, Any]) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        first = errors[0]
        pointer = "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in first.absolute_path)
        raise _corrupt(path, pointer, first.message)


def _corrupt(path: Path, pointer: str, problem: str) -> CorruptStateError:
    where = f"{path.name} at JSON pointer '{pointer or '/'}'"
    return CorruptStateError(
        f"{path} is not valid: {where}: {problem}",
        hint="restore the file from its last good content or undo the hand edit; nothing else was changed",
        details={"file": path.name, "path": str(path), "pointer": pointer, "problem": problem},
    )


def _repair_torn_tail(handle: Any) -> None:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    if size == 0:
        return
    handle.seek(size - 1)
    if handle.read(1) == b"\n":
        return
    # Walk back to the last newline; everything after it is a torn, partial record.
    position = size
    block = 4096
    while position > 0:
        start = max(0, position - block)
        handle.seek(start)
        window = handle.read(position - start)
        newline = window.rfind(b"\n")
        if newline != -1:
            handle.truncate(start + newline + 1)
            return
        position = start
    handle.truncate(0)


_APPEND_LOCK = threading.Lock()


def append_jsonl(path: Path, record: Any, *, durable: bool = True) -> None:
    """Append one JSON record as a line, repairing a torn last line first.

    Appends from threads of one process are serialized, so the torn-tail repair never mistakes another
    thread's append for a crash; across processes each line is one ``write`` to an ``O_APPEND`` file.
    With ``durable=False`` the line is written but not fsynced: it survives a killed process (the
    kernel has it), not a power cut — right for history, wrong for state.
    """
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    with _APPEND_LOCK, _open_for_append(path) as handle:
        _repair_torn_tail(handle)
        handle.seek(0, os.SEEK_END)
        handle.write(line)
        handle.flush()
        if durable:
            os.fsync(handle.fileno())


def _open_for_append(path: Path) -> Any:
    # The folder is made only when missing: a mkdir per append (telemetry, per event) costs more than the write.
    try:
        return path.open("a+b")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("a+b")


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield complete records; a torn last line (no newline) is skipped, not an error."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield record
