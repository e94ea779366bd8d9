"""Typed tool results: the structured content every MCP tool returns, built from a ``CommandEnvelope``.

Invariants:
- ``RunView`` is self-sufficient: it always carries ``run_id``, ``state``, ``allowed_actions`` and a
  ``next_step`` sentence, so a client that passes only ``structuredContent`` to the model loses nothing.
  The text content carries the same JSON (plus an article or draft page as its own block), so a client that
  passes only the content loses nothing either.
- It stays small: strings, lists and mappings taken from the runtime are trimmed to fixed caps and the
  view (without the three parts below) stays under ``MAX_RESULT_BYTES``. A paged listing (chunks,
  telemetry) that would not fit is shortened to the items that do, and ``next_cursor`` continues right
  after them, so paging still reaches every item; anything else still too large sheds ``data`` (with a
  warning naming what to read instead).
- Four parts are exempt from trimming, each bounded by its own size: ``article`` (one page of a
  published file, ``kernel.output.pages``: at most 40,000 characters and 7,000 tokens), ``draft`` (one page
  of the text recognized so far, ``kernel.pipeline.draft``: at most 32,000 characters and 6,000 tokens),
  ``agent_task`` (what the run waits for the caller to write, as the pipeline describes it) and ``files``
  (one row per published file). Every tool result stays under ``MAX_RESULT_TOKENS`` (a test measures it).
- ``next_step`` and every hint render the policy's words in MCP words (``server.words``: tools and
  arguments); they never widen ``allowed_actions``, which remain the only authority on what may happen next.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from mcp.types import CallToolResult, ContentBlock, ResourceLink, TextContent
from pydantic import BaseModel, ConfigDict, Field

from kernel.task_runtime.contracts import FINISHED_STATES, CommandEnvelope, PhaseRow, Progress

from .resources import file_uri, mime_type_for
from .words import ARTICLE_DETAIL, Vocabulary, call, render_next_step, speak

MAX_RESULT_BYTES = 6_000  # the view without article, draft, agent_task and files
MAX_RESULT_TOKENS = 25_000  # a whole tool result (content and structured content), the clients' usual cap
MAX_STRING_CHARS = 300
MAX_LIST_ITEMS = 20
MAX_MAPPING_ITEMS = 25
MAX_DEPTH = 5
TOOL_PAGE_SIZE = 20  # rows per page for inspect-run's chunks and telemetry listings
INLINE_MAX_CHARS = 20_000  # finalize-run inlines an article this small (if it is also one page)
_EXEMPT = {"article", "draft", "agent_task", "files"}

__all__ = ["MAX_RESULT_BYTES", "MAX_RESULT_TOKENS", "RunView", "render_next_step", "run_view", "tool_result"]


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionView(_View):
    """Which action ran and why (``source`` says whether the caller asked for it or the policy chose it)."""

    chosen: str
    source: Literal["requested", "policy"]
    reason: str


class TransitionView(_View):
    from_state: str
    to_state: str
    reason: str


class ResultView(_View):
    """The outcome of the action: ``running`` means it goes on in the background; call advance-run to follow."""

    action: str | None
    status: Literal["completed", "started", "running", "noop", "failed", "stopped"]
    detail: str
    transition: TransitionView | None = None
    error: dict[str, Any] | None = None


class ChapterView(_View):
    title: str
    level: int = Field(description="2 for a '## ' heading, 3 for '### ' ...")
    cursor: int = Field(description="pass as cursor to read the page that starts with this chapter")
    at: str | None = Field(default=None, description="the time in the video where the chapter starts (mm:ss)")


class ArticleView(_View):
    """A published file, or one page of it."""

    name: str = Field(description="which published file (a key of outputs): markdown is the article")
    text: str | None = Field(description="the page of the file that starts at cursor (the whole file when cursor "
                             "is 0 and next_cursor is null); null when not included")
    cursor: int
    next_cursor: int | None = Field(description="pass as cursor (with the same name) to inspect-run with "
                                    "detail='article' for the next page; null when nothing is left")
    total_chars: int
    chapters: list[ChapterView] = Field(default_factory=list)
    chapters_total: int = 0
    title: str | None = None
    words: int | None = None
    uri: str | None = Field(default=None, description="the resource that reads the file (in pages)")
    mime_type: str | None = None
    size_bytes: int | None = None


class DraftView(_View):
    """One page of the text recognized so far (inspect-run detail='draft'), and how far recognition is."""

    text: str = Field(description="the words recognized from cursor on, as plain paragraphs (empty when "
                      "nothing new is recognized yet)")
    cursor: int = Field(description="the index of the first transcript segment on this page")
    next_cursor: int | None = Field(description="more is recognized already: pass as cursor for the next page; "
                                    "null when this page reaches what is recognized now")
    poll_cursor: int = Field(description="pass as cursor on a later call to get only the words recognized "
                             "after this page")
    segments: int = Field(description="transcript segments on this page")
    segments_total: int = Field(description="transcript segments recognized so far")
    words: int
    start: float | None = Field(default=None, description="seconds into the media where this page starts")
    end: float | None = Field(default=None, description="seconds into the media where this page ends")
    complete: bool = Field(description="recognition is finished: nothing more will be added")
    origin: Literal["speech_recognition", "subtitles"] | None = None
    seconds_done: float | None = Field(default=None, description="seconds of the media recognized so far")
    seconds_total: float | None = Field(default=None, description="the media's length in seconds, when known")
    windows_done: int | None = None
    windows_total: int | None = None
    status: str = Field(description="one line: how far recognition is, or what the run does until it starts")


class FileView(_View):
    name: str
    path: str | None = Field(description="where the file was published")
    uri: str = Field(description="the resource that reads it")
    mime_type: str
    size_bytes: int


class RunView(_View):
    """Structured content of every yt-transcript tool result."""

    run_id: str = Field(description="pass this to every other tool")
    state: str = Field(description="what the run is doing now, or how it ended")
    allowed_actions: list[str] = Field(description="the only actions the runtime accepts now")
    next_step: str = Field(description="what to call next: the runtime's next step, in tools and arguments")
    must_choose: bool = Field(default=False, description="advance-run without an action does nothing now; "
                              "pick one of choices")
    choices: list[str] = Field(default_factory=list, description="the actions to choose from when must_choose")
    work_dir: str
    command: str
    decision: DecisionView | None = None
    result: ResultView | None = None
    progress: Progress | None = None
    phases: list[PhaseRow] | None = None
    artifacts: dict[str, str] | None = Field(default=None, description="artifact key -> work_dir-relative path")
    outputs: dict[str, str] | None = Field(default=None, description="published files: markdown, srt, vtt, json")
    quality: dict[str, Any] | None = None
    agent_task: dict[str, Any] | None = Field(
        default=None, description="what the run waits for you to write before it can go on; next_step says how "
        "to hand it in")
    article: ArticleView | None = Field(default=None, description="the published article (or an export), or "
                                        "one page of it")
    files: list[FileView] | None = Field(default=None, description="every published file with its resource")
    draft: DraftView | None = Field(default=None, description="the text recognized so far, one page "
                                    "(inspect-run detail='draft')")
    next_cursor: int | None = Field(default=None, description="pass as cursor to inspect-run for the next page")
    warnings: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------- trimming
def trim(value: Any, *, depth: int = 0) -> Any:
    """A JSON-ready copy of ``value`` with long strings, lists and mappings cut to the module caps."""
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING_CHARS else value[: MAX_STRING_CHARS - 1] + "…"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return f"{{{len(value)} keys}}"
        items = list(value.items())
        trimmed = {str(k): trim(v, depth=depth + 1) for k, v in items[:MAX_MAPPING_ITEMS]}
        if len(items) > MAX_MAPPING_ITEMS:
            trimmed["…"] = f"{len(items) - MAX_MAPPING_ITEMS} more keys"
        return trimmed
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            return f"[{len(value)} items]"
        kept = [trim(v, depth=depth + 1) for v in value[:MAX_LIST_ITEMS]]
        if len(value) > MAX_LIST_ITEMS:
            kept.append(f"… {len(value) - MAX_LIST_ITEMS} more")
        return kept
    if value is None or isinstance(value, bool | int | float):
        return value
    return trim(str(value), depth=depth)


def speak_all(value: Any, run_id: str, vocabulary: Vocabulary | None) -> Any:
    """``value`` with the hint placeholders of every string in it rendered in MCP words."""
    if isinstance(value, str):
        return speak(value, run_id, vocabulary)
    if isinstance(value, dict):
        return {k: speak_all(v, run_id, vocabulary) for k, v in value.items()}
    if isinstance(value, list):
        return [speak_all(v, run_id, vocabulary) for v in value]
    return value


def _trim_artifacts(artifacts: dict[str, str] | None, warnings: list[str], run_id: str) -> dict[str, str] | None:
    if artifacts is None:
        return None
    kept = dict(artifacts)
    if len(kept) > MAX_MAPPING_ITEMS:
        warnings.append(f"{len(kept) - MAX_MAPPING_ITEMS} more artifacts: read resource run://{run_id}/manifest.json")
        kept = dict(list(kept.items())[:MAX_MAPPING_ITEMS])
    return kept


def view_size(view: RunView) -> int:
    """UTF-8 bytes of the view's JSON without its exempt parts (what ``MAX_RESULT_BYTES`` bounds)."""
    return len(json.dumps(view.model_dump(mode="json", exclude=_EXEMPT), ensure_ascii=False).encode("utf-8"))


# --------------------------------------------------------------------------- views
def article_view(page: Mapping[str, Any], run_id: str) -> ArticleView:
    """An ``ArticleView`` from the article detail's data (``kernel.pipeline.spec.article_page``)."""
    path = str(page.get("path") or "")
    return ArticleView(
        name=str(page["name"]), text=page.get("text"), cursor=int(page.get("cursor") or 0),
        next_cursor=page.get("next_cursor"), total_chars=int(page.get("total_chars") or 0),
        chapters=[ChapterView(**chapter) for chapter in page.get("chapters") or []],
        chapters_total=int(page.get("chapters_total") or 0), title=page.get("title"), words=page.get("words"),
        uri=file_uri(run_id, path) if path else None, mime_type=mime_type_for(path) if path else None,
        size_bytes=page.get("size_bytes"),
    )


def file_views(rows: Any, run_id: str, outputs: Mapping[str, str] | None) -> list[FileView] | None:
    if not isinstance(rows, list):
        return None
    return [FileView(name=str(row["name"]), path=(outputs or {}).get(str(row["name"])),
                     uri=file_uri(run_id, str(row["path"])), mime_type=mime_type_for(str(row["path"])),
                     size_bytes=int(row.get("size_bytes") or 0))
            for row in rows if isinstance(row, dict) and row.get("name") and row.get("path")]


def run_view(envelope: CommandEnvelope, vocabulary: Vocabulary | None = None, *,
             page_cursor: int | None = None) -> RunView:
    """The compact, self-sufficient tool result for ``envelope``. ``page_cursor`` is the cursor the
    listing in ``envelope.data`` (if any) starts at, so a listing too large to show whole can be
    shortened and continued exactly."""
    run_id = envelope.run_id
    warnings = [trim(speak(w, run_id, vocabulary)) for w in envelope.warnings[:MAX_LIST_ITEMS]]
    data = dict(envelope.data)
    quality = data.pop("quality", None)
    next_cursor = data.pop("next_cursor", None)
    paged = "next_cursor" in envelope.data
    article_page = data.pop("article", None)
    draft_page = data.pop("draft", None)
    file_rows = data.pop("files", None)
    result = None
    if envelope.result is not None:
        res = envelope.result
        error = res.data.get("error") if isinstance(res.data.get("error"), dict) else None
        result = ResultView(
            action=res.action,
            status=res.status,
            detail=trim(speak(res.detail, run_id, vocabulary)),
            transition=TransitionView(**res.transition.model_dump(exclude={"at"})) if res.transition else None,
            error=trim(speak_all(error, run_id, vocabulary)) if error else None,
        )
        if res.data.get("outputs") and not envelope.outputs:
            data.setdefault("published", res.data["outputs"])
    decision = None
    if envelope.decision is not None:
        decision = DecisionView(chosen=envelope.decision.chosen, source=envelope.decision.source,
                                reason=trim(speak(envelope.decision.reason, run_id, vocabulary)))
    view = RunView(
        run_id=run_id,
        state=envelope.state,
        allowed_actions=list(envelope.allowed_actions),
        next_step=render_next_step(envelope.next_step, run_id, envelope.state, vocabulary, envelope.awaiting_input),
        must_choose=envelope.next_step.must_choose,
        choices=list(envelope.next_step.choices),
        work_dir=envelope.work_dir,
        command=envelope.command,
        decision=decision,
        result=result,
        progress=envelope.progress,
        phases=[row.model_copy(update={"note": trim(speak(row.note, run_id, vocabulary)) if row.note else None})
                for row in envelope.phases] if envelope.phases is not None else None,
        artifacts=_trim_artifacts(envelope.artifacts, warnings, run_id),
        outputs=envelope.outputs,
        quality=trim(quality) if isinstance(quality, dict) else None,
        agent_task=envelope.awaiting_input,
        article=article_view(article_page, run_id) if isinstance(article_page, dict) else None,
        files=file_views(file_rows, run_id, envelope.outputs),
        draft=DraftView.model_validate(draft_page) if isinstance(draft_page, dict) else None,
        next_cursor=next_cursor if isinstance(next_cursor, int) else None,
        warnings=warnings,
        data=trim(speak_all(data, run_id, vocabulary)),
    )
    if view_size(view) > MAX_RESULT_BYTES and paged and page_cursor is not None:
        view = _fit_listing(view, page_cursor)
    if view_size(view) > MAX_RESULT_BYTES:
        dropped = sorted(view.data)
        view = view.model_copy(update={
            "data": {"trimmed": dropped},
            "warnings": [*view.warnings, f"data trimmed to stay small; read resource run://{run_id}/"
                                         "manifest.json or page with inspect-run(cursor=...) for detail"],
        })
    return view


def _fit_listing(view: RunView, page_cursor: int) -> RunView:
    """The view with its listing (the longest list in ``data``) cut to the items that fit, and
    ``next_cursor`` pointing right after them."""
    key = max((k for k, v in view.data.items() if isinstance(v, list) and v),
              key=lambda k: len(view.data[k]), default=None)
    if key is None:
        return view
    items = list(view.data[key])

    def with_items(count: int, rows: list[Any] | None = None) -> RunView:
        shortened = count < len(items)
        note = f"this page shows {count} of {len(items)} {key} to stay small; next_cursor continues after them"
        return view.model_copy(update={
            "data": {**view.data, key: rows if rows is not None else items[:count]},
            "next_cursor": page_cursor + count if shortened else view.next_cursor,
            "warnings": [*view.warnings, note] if shortened else view.warnings,
        })

    low, high = 0, len(items)  # the largest count that fits is in low..high
    while low < high:
        middle = (low + high + 1) // 2
        if view_size(with_items(middle)) <= MAX_RESULT_BYTES:
            low = middle
        else:
            high = middle - 1
    if low == 0:  # not even one item fits: show a stub for it, so paging still moves on
        stub = {"…": f"item {page_cursor} is too large to show here; the run's files are listed by run://{view.run_id}"}
        return with_items(1, [stub])
    return with_items(low)


def with_delivery(view: RunView, page: RunView | None) -> RunView:
    """A finished run's view with its article delivered: title, words, chapters and every published file
    with its resource; the article's text too when it is small (``INLINE_MAX_CHARS``, one page), else the
    cursor of its first page. ``page`` is the run's first article page (inspect-run detail='article')."""
    if page is None or page.article is None or view.state not in FINISHED_STATES:
        return view
    article = page.article
    inline = article.cursor == 0 and article.next_cursor is None and article.total_chars <= INLINE_MAX_CHARS
    delivered = article.model_copy(update={"text": article.text if inline else None,
                                           "next_cursor": None if inline else 0})
    read = call("inspect-run", view.run_id, detail=ARTICLE_DETAIL, cursor=0)
    export = next((f.name for f in page.files or [] if f.name != article.name), None)
    exports = (f"; an export reads the same way with its name, e.g. "
               f"{call('inspect-run', view.run_id, detail=ARTICLE_DETAIL, name=export)}" if export else "")
    if inline:
        step = f"done: the article is in article.text (and at outputs.{article.name}){exports}"
    else:
        step = (f"done: read the article page by page with {read} (pass next_cursor as cursor for the next "
                f"page){exports}; the files are also in outputs")
    return view.model_copy(update={"article": delivered, "files": page.files, "next_step": step})


# --------------------------------------------------------------------------- tool results
def tool_result(view: RunView, *, links: bool = False) -> CallToolResult:
    """The tool result: ``view`` as structured content, the same JSON as text (an article or draft page as
    its own text block instead of inside the JSON), and with ``links`` a resource link per published file."""
    shown = view.model_dump(mode="json", exclude_none=True)
    page_text = view.article.text if view.article is not None else None
    if page_text is not None:
        shown["article"]["text"] = "(in the next text block)"
    elif view.draft is not None and view.draft.text:
        page_text = view.draft.text
        shown["draft"]["text"] = "(in the next text block)"
    content: list[ContentBlock] = [TextContent(type="text", text=json.dumps(shown, ensure_ascii=False))]
    if page_text is not None:
        content.append(TextContent(type="text", text=page_text))
    if links:
        content.extend(
            ResourceLink(type="resource_link", name=f.name, title=f"{f.name} of run {view.run_id}", uri=f.uri,
                         mime_type=f.mime_type, size=f.size_bytes,
                         description=f"published at {f.path}" if f.path else None)
            for f in view.files or [])
    return CallToolResult(content=content, structured_content=view.model_dump(mode="json"))
