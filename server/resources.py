"""Run files as MCP resources (read-only), every one readable in full, in pages.

- ``runs://all``: the runs this server knows (JSON list, newest last).
- ``run://{run_id}{?cursor}``: the files of one run's work_dir, each with its size, MIME type and the URI
  that reads it (JSON; at most ``MAX_LISTED_FILES`` per page, ``next_uri`` for the rest).
- ``run://{run_id}/{+path}{?cursor}``: one file of the work_dir, e.g. ``manifest.json``,
  ``telemetry.jsonl``, ``chunks/<plan_id>/<chunk_id>.json`` or an artifact such as the article.

Invariants:
- Reading never changes anything and never needs the lease.
- URIs carry no raw space or other unsafe character: the path is percent-encoded (UTF-8), and reading
  decodes it. A path must stay inside the run's work_dir after resolving symlinks (the SDK also rejects
  ``..`` and absolute paths).
- Each file is read with its own MIME type (``MIME_TYPES``: ``text/markdown``, ``application/x-subrip``,
  ``text/vtt``, ``application/json``, ...); binary files (media) are refused, never cut.
- No silent truncation. A text file is handed out in pages (``kernel.output.pages``: at most 40,000
  characters and 7,000 tokens, broken at a heading, paragraph or line), addressed by ``?cursor=N``, a
  character offset; the bare URI is the first page. A page's ``_meta`` carries ``cursor``,
  ``next_cursor``, ``next_uri`` and ``total_chars``, and a page that is not the last is followed by a
  second, plain-text content saying which URI continues it. Following ``next_uri`` to the end and
  joining the pages gives the file exactly. The article's pages are the same as
  ``inspect-run(detail='article')``'s for the same cursor.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.resources.templates import DEFAULT_RESOURCE_SECURITY
from mcp.shared.uri_template import UriTemplate

from kernel.output.pages import page_at
from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.errors import RunNotFoundError, YTTError

MAX_LISTED_FILES = 200
MAX_LISTED_RUNS = 100
RUN_LISTING_TEMPLATE = "run://{run_id}{?cursor}"
RUN_FILE_TEMPLATE = "run://{run_id}/{+path}{?cursor}"
BINARY_MIME_TYPE = "application/octet-stream"
MIME_TYPES = {
    ".md": "text/markdown",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".json": "application/json",
    ".json3": "application/json",
    ".jsonl": "application/jsonl",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".toml": "application/toml",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".ass": "text/x-ssa",
    ".ssa": "text/x-ssa",
}
_SNIFF_BYTES = 8192


def mime_type_for(path: str) -> str:
    """The MIME type of a run file by its suffix (``application/octet-stream`` when not a known text type)."""
    return MIME_TYPES.get(PurePosixPath(path).suffix.lower(), BINARY_MIME_TYPE)


def file_uri(run_id: str, rel_path: str, cursor: int | None = None) -> str:
    """The resource URI of a work_dir-relative file (percent-encoded), optionally of the page at ``cursor``."""
    uri = f"run://{quote(run_id, safe='')}/{quote(rel_path, safe='/')}"
    return f"{uri}?cursor={cursor}" if cursor else uri


@dataclass(frozen=True)
class RunFilePage:
    """One page of a run file as a resource read returns it."""

    run_id: str
    path: str
    text: str
    mime_type: str
    cursor: int
    next_cursor: int | None
    total_chars: int
    size_bytes: int
    exact: bool = True  # False when the file is not valid UTF-8 (undecodable bytes were replaced)

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"path": self.path, "cursor": self.cursor, "next_cursor": self.next_cursor,
                                "total_chars": self.total_chars, "size_bytes": self.size_bytes}
        if self.next_cursor is not None:
            meta["next_uri"] = file_uri(self.run_id, self.path, self.next_cursor)
        if not self.exact:
            meta["note"] = "the file is not valid UTF-8; undecodable bytes were replaced"
        return meta

    def contents(self) -> list[ReadResourceContents]:
        # A page of a JSON file is not JSON on its own; every other text type pages into valid pieces.
        partial = self.cursor > 0 or self.next_cursor is not None
        mime = "text/plain" if partial and self.mime_type == "application/json" else self.mime_type
        contents = [ReadResourceContents(content=self.text, mime_type=mime, meta=self.meta())]
        if self.next_cursor is not None:
            contents.append(ReadResourceContents(
                content=(f"[page: characters {self.cursor}-{self.next_cursor} of {self.total_chars}; the file "
                         f"continues at {file_uri(self.run_id, self.path, self.next_cursor)}]"),
                mime_type="text/plain", meta={"continuation_of": self.path}))
        return contents


def list_run_files(work_dir: Path, run_id: str, cursor: int = 0) -> dict[str, Any]:
    """One page of the files under ``work_dir`` (temp and staging files skipped), sorted by path."""
    rows: list[dict[str, Any]] = []
    seen = 0
    for root, dirs, files in os.walk(work_dir):
        dirs[:] = sorted(d for d in dirs if d != "staging")
        for name in sorted(files):
            if name.endswith(".tmp"):
                continue
            seen += 1
            if seen <= cursor:
                continue
            if len(rows) == MAX_LISTED_FILES:
                next_cursor = cursor + MAX_LISTED_FILES
                return {"run_id": run_id, "files": rows, "next_cursor": next_cursor,
                        "next_uri": f"run://{run_id}?cursor={next_cursor}"}
            path = Path(root) / name
            rel = path.relative_to(work_dir).as_posix()
            mime = mime_type_for(rel)
            rows.append({"path": rel, "uri": file_uri(run_id, rel), "size_bytes": path.stat().st_size,
                         "mime_type": mime, "text": mime != BINARY_MIME_TYPE})
    return {"run_id": run_id, "files": rows, "next_cursor": None}


def read_run_file(work_dir: Path, run_id: str, rel_path: str, cursor: int = 0) -> RunFilePage:
    """The page of ``work_dir/rel_path`` that starts at character ``cursor``.

    Raises:
        ResourceNotFoundError: no such file.
        ResourceError: the path leaves the work_dir, the file is binary, or the cursor is past its end.
    """
    target = (work_dir / rel_path).resolve()
    if not target.is_relative_to(work_dir):
        raise ResourceError(f"{rel_path} is outside the run's work_dir")
    if not target.is_file():
        raise ResourceNotFoundError(f"no file {rel_path} in run {run_id} (read run://{run_id} for a list)")
    data = target.read_bytes()
    mime = mime_type_for(rel_path)
    if mime == BINARY_MIME_TYPE:
        if b"\0" in data[:_SNIFF_BYTES]:
            raise ResourceError(f"{rel_path} is a binary file ({len(data)} bytes); only text files are readable")
        mime = "text/plain"
    try:
        text, exact = data.decode("utf-8"), True
    except UnicodeDecodeError:
        text, exact = data.decode("utf-8", errors="replace"), False
    if not 0 <= cursor <= len(text):
        raise ResourceError(f"cursor {cursor} is past the end of {rel_path} ({len(text)} characters)")
    page = page_at(text, cursor)
    return RunFilePage(run_id=run_id, path=rel_path, text=page.text, mime_type=mime, cursor=page.cursor,
                       next_cursor=page.next_cursor, total_chars=page.total_chars, size_bytes=len(data), exact=exact)


class RunFiles:
    """Resolves run-file URIs and reads their pages (used by the server's ``read_resource``)."""

    def __init__(self, api: RuntimeApi) -> None:
        self.api = api
        self._template = UriTemplate.parse(RUN_FILE_TEMPLATE)

    def work_dir(self, run_id: str) -> Path:
        try:
            return self.api.resolve(run_id).path.resolve()
        except RunNotFoundError as exc:
            raise ResourceNotFoundError(f"unknown run {run_id!r}: no run with that id (read runs://all)") from exc
        except YTTError as exc:
            raise ResourceError(f"{exc.code}: {exc.message}") from exc

    def match(self, uri: str) -> tuple[str, str, int] | None:
        """``(run_id, path, cursor)`` when ``uri`` names a run file, else None.

        Raises:
            ResourceNotFoundError: the path fails the SDK's path-safety checks (traversal, absolute).
            ResourceError: the cursor is not a non-negative integer.
        """
        params = self._template.match(uri)
        if params is None:
            return None
        if DEFAULT_RESOURCE_SECURITY.validate(params) is not None:
            raise ResourceNotFoundError(f"Unknown resource: {uri}")
        raw_cursor = params.get("cursor") or "0"
        if not isinstance(raw_cursor, str) or not raw_cursor.isdigit():
            raise ResourceError(f"cursor must be a non-negative integer, got {raw_cursor!r}")
        return str(params["run_id"]), str(params["path"]), int(raw_cursor)

    def read(self, run_id: str, path: str, cursor: int = 0) -> RunFilePage:
        return read_run_file(self.work_dir(run_id), run_id, path, cursor)


def register_resources(server: MCPServer, api: RuntimeApi, files: RunFiles) -> None:
    """Add the run listing and the run-file templates to ``server``."""

    @server.resource(
        "runs://all",
        name="runs",
        title="All runs",
        description="Every run: run_id, state, created_at, source, work_dir (JSON, newest last).",
        mime_type="application/json",
    )
    def all_runs() -> str:
        return json.dumps(api.list_runs()[-MAX_LISTED_RUNS:], ensure_ascii=False, indent=1)

    @server.resource(
        RUN_LISTING_TEMPLATE,
        name="run-files",
        title="Files of a run",
        description=(f"The files in a run's work_dir with their sizes, MIME types and the run:// URI that reads "
                     f"each (JSON; {MAX_LISTED_FILES} per page, next_uri for more)."),
        mime_type="application/json",
    )
    def run_files(run_id: str, cursor: int = 0) -> str:
        return json.dumps(list_run_files(files.work_dir(run_id), run_id, cursor), ensure_ascii=False, indent=1)

    @server.resource(
        RUN_FILE_TEMPLATE,
        name="run-file",
        title="A file of a run",
        description=(
            "One file of a run's work_dir, read with its own MIME type: manifest.json (state, phases, "
            "artifacts), .runtime_task.json (intent), telemetry.jsonl, chunks/<plan_id>/<chunk_id>.json, "
            "artifacts/... (the article and exports are under artifacts/assemble/). Text files come in pages "
            "of at most 40,000 characters: the bare URI is the first page, and _meta.next_uri (also named in "
            "a second content) reads the next one, until the whole file is read."
        ),
        mime_type="text/plain",
    )
    def run_file(run_id: str, path: str, cursor: int = 0) -> str:
        return files.read(run_id, path, cursor).text
