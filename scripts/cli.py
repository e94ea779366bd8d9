"""The human CLI, ``yt-transcript`` (console script ``scripts.cli:main``).

    yt-transcript run SOURCE [options of the run intent] [--work-dir DIR] [--json]
    yt-transcript inspect RUN [--detail ... | --draft] [--cursor N] [--json]
    yt-transcript runs [--json]
    yt-transcript resume RUN [--json]
    yt-transcript advance RUN ACTION [--chunk-id ID] [--json]
    yt-transcript pause RUN | cancel RUN | finalize RUN [--accept-degraded]

RUN is a run_id or a work_dir path. Everything goes through ``RuntimeApi`` in this process.

Invariants:
- stdout carries only the command's result (a path, a table, or with ``--json`` exactly one JSON object);
  progress, notes and errors go to stderr, and while the command works anything else written to stdout
  (library prints, child processes) is sent to stderr too.
- ``run`` and ``resume`` drive the run with the library's drive loop (``kernel.task_runtime.drive``), which
  follows the policy's next step; when the gate is degraded they accept it and say so. ``resume`` of a
  failed run retries the failed phase (the user asked for it); ``advance RUN ACTION`` takes any other
  allowed action. The CLI never takes an action the runtime did not list in ``allowed_actions``, and
  every hint it prints names CLI commands and flags only (``cli_next_step``).
- A ``YTTError`` prints ``error[code]: message`` plus its hint on stderr and exits with the error's exit
  code (2 for bad input), never a traceback. Ctrl-C requests a pause (kept at the next safe point) and
  exits 130; ``yt-transcript resume RUN`` continues.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel

from kernel import __version__
from kernel.pipeline import TranscriptPipeline
from kernel.pipeline.intent import CliSpelling, TranscriptParams, intent_fields, literal_values
from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.contracts import FINISHED_STATES, CommandEnvelope, Progress, RunState, RuntimeAction
from kernel.task_runtime.drive import DRIVE_WAIT_SECONDS, RunFailed, RunStopped, drive
from kernel.task_runtime.errors import InvalidInputError, YTTError
from scripts import batch_cli
from scripts.words import cli_error, cli_next_step, cli_text

_PIPELINE = TranscriptPipeline()
DETAILS = batch_cli.detail_choices()  # the inspect details of runs and of batches
DRAFT_DETAIL = "draft"  # the text recognized so far (``kernel.pipeline.draft``)
ACTIONS = _PIPELINE.actions.names()
ACTION_ARGUMENTS = _PIPELINE.actions.arguments()

PAUSE_GRACE_SECONDS = 30.0  # after Ctrl-C: how long to wait for the worker to reach a safe point
EXIT_INTERRUPTED = 130


# --------------------------------------------------------------------------- progress display
class ProgressDisplay:
    """Progress on stderr: a redrawn bar on a terminal, plain lines otherwise, nothing when off."""

    def __init__(self, style: Literal["bar", "lines", "off"], stream: TextIO) -> None:
        self.style = style
        self.stream = stream
        self._last_key: tuple[Any, ...] | None = None
        self._drawn = 0
        self._fraction = 0.0

    @classmethod
    def for_stream(cls, stream: TextIO, *, quiet: bool) -> ProgressDisplay:
        if quiet:
            return cls("off", stream)
        return cls("bar" if stream.isatty() else "lines", stream)

    def update(self, progress: Progress | None) -> None:
        if progress is None or self.style == "off":
            return
        # The bar never moves back when the run learns its work is longer than first estimated.
        self._fraction = max(self._fraction, progress.fraction)
        label = describe_progress(progress)
        if self.style == "bar":
            filled = round(min(self._fraction, 1.0) * 24)
            text = f"[{'#' * filled}{'.' * (24 - filled)}] {label}"[:110]
            self.stream.write("\r" + text + " " * max(0, self._drawn - len(text)))
            self._drawn = len(text)
            self.stream.flush()
            return
        key = (progress.phases_done, progress.current_phase, int((progress.phase_progress or 0.0) * 10))
        if key != self._last_key:
            self._last_key = key
            self.stream.write(f"progress: {label}\n")
            self.stream.flush()

    def note(self, text: str) -> None:
        self.finish()
        self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.style == "bar" and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = 0


def describe_progress(progress: Progress) -> str:
    text = f"{round(progress.fraction * 100)}%, {progress.phases_done}/{progress.phases_total} phases"
    if progress.current_phase:
        text += f", {progress.current_phase}"
        if progress.phase_progress is not None:
            text += f" {round(progress.phase_progress * 100)}%"
    if progress.counts:
        text += " (" + " ".join(f"{k}={v}" for k, v in sorted(progress.counts.items())) + ")"
    if progress.message:
        text += f": {progress.message[:60]}"
    return text


# --------------------------------------------------------------------------- run options from the intent
def add_intent_options(parser: argparse.ArgumentParser, model: type[BaseModel]) -> None:
    """One option per intent field (``--target-language`` for ``target_language``), spelled by its
    ``CliSpelling``: same names, allowed values and help as the model; an absent option means the
    model's default."""
    for name, info in model.model_fields.items():
        spelling = next((m for m in info.metadata if isinstance(m, CliSpelling)), CliSpelling())
        flag = "--" + name.replace("_", "-")
        choices = literal_values(info.annotation) or None
        help_text = info.description or ""
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if default not in (None, []):
            shown = ",".join(map(str, default)) if isinstance(default, list) else default
            help_text += f" (default: {shown})"
        if spelling.positional:
            parser.add_argument(name, metavar=spelling.metavar or name.upper(), help=help_text)
            continue
        kwargs: dict[str, Any] = {"dest": name, "default": None, "help": help_text, "metavar": spelling.metavar}
        if info.annotation is bool:  # a switch: "--retranslate" alone means yes
            parser.add_argument(flag, dest=name, nargs="?", const=True, default=None, type=_switch, metavar="yes|no",
                                help=help_text)
            continue
        if _is_list(info.annotation):
            if spelling.separator:
                separator = spelling.separator
                kwargs["type"] = lambda text, sep=separator: [part.strip() for part in text.split(sep) if part.strip()]
                if choices:
                    kwargs["help"] += f"; from: {', '.join(choices)}"
            else:
                kwargs.update(action="append", choices=choices)
        else:
            kwargs.update(type=int if _is_int(info.annotation) else str, choices=choices)
        if kwargs.get("choices"):
            kwargs["metavar"] = None
        parser.add_argument(flag, **kwargs)
        for alias, value in spelling.aliases:
            parser.add_argument(alias, dest=name, action="store_const", const=value, help=f"same as {flag} {value}")


def _switch(text: str) -> bool:
    if text.strip().lower() in ("yes", "true", "1", "on"):
        return True
    if text.strip().lower() in ("no", "false", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")


def _is_list(annotation: Any) -> bool:
    from typing import get_args, get_origin

    return get_origin(annotation) is list or any(get_origin(arg) is list for arg in get_args(annotation))


def _is_int(annotation: Any) -> bool:
    from typing import get_args

    return annotation is int or int in get_args(annotation)


# --------------------------------------------------------------------------- driving a run
def drive_cli(session: Session, run_id: str, notes: list[str], *, first_action: str | None = None) -> CommandEnvelope:
    """Drive ``run_id`` to the end with progress on stderr; notes (automatic remedies) are shown and kept."""

    def note(text: str) -> None:
        notes.append(text)
        session.display.note("note: " + text)

    try:
        if first_action is not None:
            envelope = session.api.advance_run(run_id, action=first_action, wait_seconds=DRIVE_WAIT_SECONDS,
                                               on_progress=session.display.update)
            if envelope.state in FINISHED_STATES:
                return envelope
        accept = bool(getattr(session.args, "accept_degraded", False))
        return drive(session.api, run_id, on_progress=session.display.update, on_note=note, accept_degraded=accept)
    except RunStopped as stopped:
        if stopped.details.get("state") == RunState.AWAITING_INPUT:
            return session.api.inspect_run(run_id)  # the caller writes the text: not an error
        raise cli_error(stopped) from stopped
    except RunFailed as error:
        raise cli_error(error) from error


# --------------------------------------------------------------------------- output helpers
@contextlib.contextmanager
def reserved_stdout() -> Iterator[TextIO]:
    """Yield the real stdout for the result; meanwhile send every other stdout write to stderr."""
    real = sys.stdout
    real.flush()
    saved_fd: int | None = None
    with contextlib.suppress(AttributeError, OSError, ValueError, io.UnsupportedOperation):
        if real.fileno() == 1:
            saved_fd = os.dup(1)
            os.dup2(2, 1)
    out: TextIO = os.fdopen(saved_fd, "w", encoding="utf-8", closefd=False) if saved_fd is not None else real
    sys.stdout = sys.stderr
    try:
        yield out
    finally:
        out.flush()
        sys.stdout = real
        if saved_fd is not None:
            out.close()  # closefd=False: flushes and detaches, the descriptor is closed below
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


def _json_line(out: TextIO, document: dict[str, Any]) -> None:
    out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [headers, *rows]]
    return "\n".join(lines)


def format_envelope(envelope: CommandEnvelope) -> str:
    """A readable view of an inspect result: summary lines, then the detail's table."""
    lines = [
        f"run        {envelope.run_id}",
        f"state      {envelope.state}",
        f"work_dir   {envelope.work_dir}",
    ]
    if envelope.progress is not None:
        lines.append(f"progress   {describe_progress(envelope.progress)}")
    lines.append(f"allowed    {', '.join(envelope.allowed_actions) or 'none'}")
    lines.append(f"next       {cli_next_step(envelope.next_step, envelope.run_id)}")
    for name, path in (envelope.outputs or {}).items():
        lines.append(f"output     {name}: {path}")
    failure = envelope.data.get("failure")
    if isinstance(failure, dict):
        lines.append(f"failure    {failure.get('phase', '?')}: {failure.get('code', '')} {failure.get('message', '')}")
    route = (envelope.data.get("domain") or {}).get("route") if isinstance(envelope.data.get("domain"), dict) else None
    if isinstance(route, dict):
        lines.append(f"route      {route.get('route')} ({route.get('language') or '?'})")
        lines += [f"           - {reason}" for reason in route.get("reasons") or []]
    lines += [f"warning    {cli_text(w, envelope.run_id)}" for w in envelope.warnings]
    detail = envelope.data.get("detail", "summary")
    if detail in ("summary", "phases") and envelope.phases:
        rows = [[p.name, p.status, str(p.runs), str(p.skips), p.note or ""] for p in envelope.phases]
        lines += ["", _table(rows, ["phase", "status", "runs", "skips", "note"])]
    elif detail == "chunks":
        chunks = envelope.data.get("chunks") or []
        rows = [
            [str(c.get("chunk_id")), str(c.get("status")), str(c.get("attempts", "")),
             ",".join(map(str, c.get("violations") or []))]
            for c in chunks
        ]
        lines += ["", _table(rows, ["chunk", "status", "attempts", "violations"]) if rows else "no chunks yet"]
    elif detail == "items":
        lines += batch_cli.item_lines(envelope)
    elif detail == "telemetry":
        for event in envelope.data.get("events") or []:
            extra = " ".join(f"{k}={v}" for k, v in event.items() if k not in ("ts", "run_id", "event"))
            lines.append(f"{event.get('ts', '')}  {event.get('event', '')}  {extra}"[:200])
    if envelope.data.get("next_cursor") is not None:
        lines.append(f"\nmore: --cursor {envelope.data['next_cursor']}")
    return "\n".join(lines)


def format_draft(envelope: CommandEnvelope) -> str:
    """The text recognized so far: a status line, the page's paragraphs, and the command for what follows."""
    page = envelope.data.get("draft") or {}
    run_id = envelope.run_id
    lines = [str(page.get("status") or "")]
    if page.get("text"):
        lines += ["", str(page["text"])]
    if page.get("next_cursor") is not None:
        lines += ["", f"more: `yt-transcript inspect {run_id} --draft --cursor {page['next_cursor']}`"]
    elif not page.get("complete"):
        if page.get("segments_total"):
            lines += ["", f"the words recognized after these: `yt-transcript inspect {run_id} --draft --cursor "
                          f"{page.get('poll_cursor', 0)}`"]
        else:
            lines += [f"next: {cli_next_step(envelope.next_step, run_id)}",
                      f"`yt-transcript inspect {run_id} --draft` shows the words once they are recognized"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- commands
class Session:
    """One CLI invocation: the api (built lazily), the result stream and the progress display."""

    def __init__(self, args: argparse.Namespace, out: TextIO, api_factory: Callable[[], RuntimeApi]) -> None:
        self.args = args
        self.out = out
        self.as_json: bool = bool(getattr(args, "json", False))
        self.display = ProgressDisplay.for_stream(sys.stderr, quiet=self.as_json)
        self._api_factory = api_factory
        self._api: RuntimeApi | None = None
        self.run_id: str | None = None

    @property
    def has_api(self) -> bool:
        return self._api is not None

    @property
    def api(self) -> RuntimeApi:
        if self._api is None:
            self._api = self._api_factory()
        return self._api

    def report_completed(self, envelope: CommandEnvelope, notes: list[str]) -> int:
        """The result of a command that drove a run: the outputs, or the agent task it waits for."""
        self.display.finish()
        if envelope.state == RunState.AWAITING_INPUT:
            return self.report_awaiting(envelope, notes)
        warnings = [cli_text(w, envelope.run_id) for w in [*notes, *envelope.warnings]]
        if self.as_json:
            _json_line(self.out, {"run_id": envelope.run_id, "work_dir": envelope.work_dir,
                                  "state": envelope.state, "outputs": envelope.outputs or {},
                                  "warnings": warnings})
            return 0
        for warning in envelope.warnings:
            sys.stderr.write(f"warning: {cli_text(warning, envelope.run_id)}\n")
        outputs = envelope.outputs or {}
        for name, path in outputs.items():
            if name != "markdown":
                sys.stderr.write(f"{name}: {path}\n")
        if envelope.state == RunState.COMPLETED_DEGRADED:
            sys.stderr.write("done (degraded quality accepted)\n")
        self.out.write((outputs.get("markdown") or outputs.get("index") or envelope.work_dir) + "\n")
        return 0


    def report_awaiting(self, envelope: CommandEnvelope, notes: list[str]) -> int:
        task = envelope.awaiting_input or {}
        if self.as_json:
            _json_line(self.out, {"run_id": envelope.run_id, "work_dir": envelope.work_dir, "state": envelope.state,
                                  "agent_task": task, "next_step": cli_next_step(envelope.next_step, envelope.run_id),
                                  "warnings": [cli_text(w, envelope.run_id) for w in [*notes, *envelope.warnings]]})
            return 0
        sys.stderr.write(f"waiting for your text: {cli_next_step(envelope.next_step, envelope.run_id)}\n")
        self.out.write(envelope.work_dir + "\n")
        return 0


def cmd_run(session: Session) -> int:
    args = session.args
    batch = batch_cli.batch_request(args)
    if batch is not None:
        return batch_cli.cmd_run_batch(session, batch)
    raw = {name: getattr(args, name) for name in intent_fields() if getattr(args, name, None) is not None}
    created = session.api.create_run(raw, work_dir=args.work_dir)
    session.run_id = created.run_id
    if not session.as_json:
        sys.stderr.write(f"run {created.run_id} (work_dir {created.work_dir})\n")
    notes: list[str] = []
    envelope = drive_cli(session, created.run_id, notes)
    return session.report_completed(envelope, notes)


def cmd_resume(session: Session) -> int:
    recovered = session.api.resume_run(session.args.run)
    session.run_id = recovered.run_id
    recovery = recovered.data.get("recovery") or {}
    if recovery and not session.as_json:
        sys.stderr.write(f"recovered: {json.dumps(recovery, ensure_ascii=False)}\n")
    notes: list[str] = []
    if recovered.state in FINISHED_STATES:
        return session.report_completed(recovered, notes)
    step = recovered.next_step
    # Resuming a failed run is the user's request to retry the failed phase.
    retry = RuntimeAction.RUN_PHASE if step.kind == "choose" and RuntimeAction.RUN_PHASE in step.choices else None
    envelope = drive_cli(session, recovered.run_id, notes, first_action=retry)
    return session.report_completed(envelope, notes)


def cmd_advance(session: Session) -> int:
    args = session.args
    session.run_id = args.run
    extra = {"chunk_id": args.chunk_id} if args.chunk_id else {}
    if args.action == "submit_chunk":
        raise InvalidInputError("submit a chunk with `yt-transcript submit-chunk RUN CHUNK_ID FILE`",
                                code="invalid_option", details={"field": "action"})
    envelope = session.api.advance_run(args.run, action=args.action, wait_seconds=DRIVE_WAIT_SECONDS,
                                       on_progress=session.display.update, args=extra)
    notes: list[str] = []
    if envelope.state not in FINISHED_STATES and envelope.state != RunState.CANCELLED:
        envelope = drive_cli(session, envelope.run_id, notes)
    if envelope.state == RunState.CANCELLED:
        session.display.finish()
        session.out.write(f"{envelope.run_id}: cancelled\n")
        return 0
    return session.report_completed(envelope, notes)


def cmd_finalize(session: Session) -> int:
    session.run_id = session.args.run
    api = session.api
    envelope = api.finalize_run(session.args.run, accept_degraded=session.args.accept_degraded,
                                wait_seconds=DRIVE_WAIT_SECONDS, on_progress=session.display.update)
    if envelope.result is not None and envelope.result.status == "failed":
        raise cli_error(YTTError(f"run {envelope.run_id} could not be finalized: {envelope.result.detail}",
                                 code="finalize_failed", details={"run_id": envelope.run_id,
                                                                  "next_step": envelope.next_step.model_dump()}))
    if envelope.state not in FINISHED_STATES:
        envelope = drive_cli(session, envelope.run_id, [])
    return session.report_completed(envelope, [])


def cmd_agent_task(session: Session) -> int:
    """Print the task the run waits for (llm agent) as one JSON object; ``agent_task`` is null when none."""
    envelope = session.api.inspect_run(session.args.run)
    session.run_id = envelope.run_id
    _json_line(session.out, {"run_id": envelope.run_id, "state": envelope.state, "agent_task": envelope.awaiting_input,
                             "next_step": cli_next_step(envelope.next_step, envelope.run_id)})
    return 0


def cmd_submit_chunk(session: Session) -> int:
    """Submit the text for the waiting chunk from FILE (``-``: stdin), then print the next task or the end."""
    args = session.args
    session.run_id = args.run
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {args.file}: {exc}", code="submission_unreadable",
                                hint="pass a UTF-8 text file, or - to read the text from stdin") from exc
    envelope = session.api.advance_run(args.run, action="submit_chunk", wait_seconds=DRIVE_WAIT_SECONDS,
                                       args={"chunk_id": args.chunk_id, "text": text})
    notes: list[str] = []
    if envelope.state not in FINISHED_STATES and envelope.state != RunState.AWAITING_INPUT:
        envelope = drive_cli(session, envelope.run_id, notes)
    session.as_json = True
    return session.report_completed(envelope, notes)


def cmd_control(session: Session) -> int:
    signal = session.args.command
    envelope = session.api.apply_control(session.args.run, signal, reason=f"{signal} requested from the CLI")
    if session.as_json:
        _json_line(session.out, envelope.model_dump(mode="json"))
    else:
        detail = envelope.result.detail if envelope.result else signal
        session.out.write(f"{envelope.run_id}: {detail} (state {envelope.state})\n")
    return 0


def cmd_inspect(session: Session) -> int:
    args = session.args
    envelope = session.api.inspect_run(args.run, detail=args.detail, cursor=args.cursor)
    if session.as_json:
        _json_line(session.out, envelope.model_dump(mode="json"))
    elif args.detail == DRAFT_DETAIL:
        session.out.write(format_draft(envelope) + "\n")
    else:
        session.out.write(format_envelope(envelope) + "\n")
    return 0


def _age(text: str) -> float:
    units = {"d": 86400.0, "h": 3600.0, "m": 60.0}
    value, unit = text[:-1], text[-1:].lower()
    if unit not in units or not value.replace(".", "", 1).isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an age such as 30d, 12h or 90m")
    return float(value) * units[unit]


def cmd_prune(session: Session) -> int:
    args = session.args
    result = session.api.prune_runs(args.older_than, dry_run=args.dry_run)
    if session.as_json:
        _json_line(session.out, result)
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    for run in result["runs"]:
        session.out.write(f"{verb} {run['run_id']} ({run['freed_bytes'] / 1e6:.1f} MB)\n")
    session.out.write(f"{verb} {len(result['runs'])} run(s), {result['freed_bytes'] / 1e6:.1f} MB\n")
    return 0


def cmd_delete(session: Session) -> int:
    result = session.api.delete_run(session.args.run)
    if session.as_json:
        _json_line(session.out, result)
    else:
        session.out.write(f"deleted {result['run_id']} ({result['freed_bytes'] / 1e6:.1f} MB)\n")
    return 0


def cmd_tracks(session: Session) -> int:
    """The subtitle tracks and audio streams a source offers, as discovery (and routing) sees them."""
    from kernel.config import load_settings
    from kernel.pipeline.intent import parse_params
    from kernel.source.local import discover_local
    from kernel.source.ytdlp import discover_url

    settings = load_settings()
    params = parse_params({"source": session.args.source}, settings)  # the same checks as a run's source
    if params.source_kind == "url":
        info, tracks = discover_url(params.source, settings)
    else:
        info, tracks = discover_local(Path(params.source))
    if session.as_json:
        _json_line(session.out, {"source": info.source, "title": info.title, "language": info.language,
                                 **tracks.model_dump(mode="json")})
        return 0
    session.out.write(f"{info.title} ({info.language or 'language unknown'}); audio: "
                      f"{'yes' if tracks.has_audio else 'no'}\n")
    rows = [[t.language or "?", t.kind, t.origin, t.ext, "machine translation" if t.is_translation else "",
             t.name or t.path or ""] for t in tracks.subtitles]
    session.out.write((_table(rows, ["language", "kind", "origin", "format", "note", "name"]) if rows
                       else "no subtitle tracks") + "\n")
    return 0


def cmd_config(session: Session) -> int:
    from kernel.config import describe_settings

    described = describe_settings()
    if session.as_json:
        _json_line(session.out, described)
        return 0
    session.out.write(f"config file: {described['config_file'] or 'none'}; YTT_HOME: {described['home']}\n")
    rows = [[r["setting"], json.dumps(r["value"], ensure_ascii=False), r["source"]] for r in described["settings"]]
    session.out.write(_table(rows, ["setting", "value", "from"]) + "\n")
    return 0


def cmd_runs(session: Session) -> int:
    """Runs and batches (with item counts), damaged ones with the file at fault; a batch's own item runs
    are left to ``inspect BATCH --detail items``."""
    if getattr(session.args, "runs_command", None) == "prune":
        return cmd_prune(session)
    runs = batch_cli.runs_with_batches(session.api)
    if session.as_json:
        _json_line(session.out, {"runs": runs})
    elif not runs:
        session.out.write("no runs yet (yt-transcript run SOURCE starts one)\n")
    else:
        rows = [[r["run_id"], r["kind"], r["state"], batch_cli.describe_counts(r.get("items")),
                 str(r.get("created_at") or "")[:19],
                 str(r.get("source") or "")[:80] if r["state"] != "damaged" else
                 f"{r['damaged'].get('file', '')} {r['damaged'].get('pointer', '')}: {r['damaged']['code']}"]
                for r in runs]
        session.out.write(_table(rows, ["run_id", "kind", "state", "items", "created", "source"]) + "\n")
    return 0


COMMANDS: dict[str, Callable[[Session], int]] = {
    "run": cmd_run,
    "resume": cmd_resume,
    "advance": cmd_advance,
    "agent-task": cmd_agent_task,
    "delete": cmd_delete,
    "tracks": cmd_tracks,
    "config": cmd_config,
    "submit-chunk": cmd_submit_chunk,
    "finalize": cmd_finalize,
    "pause": cmd_control,
    "cancel": cmd_control,
    "inspect": cmd_inspect,
    "runs": cmd_runs,
    "watch": batch_cli.cmd_watch,
    "worker": batch_cli.cmd_worker,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="yt-transcript",
        description="Turn a video (URL or local media file) into a Markdown article plus SRT/VTT/JSON exports.",
    )
    parser.add_argument("--version", action="version", version=f"yt-transcript {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, *, run_arg: bool = True, json_flag: bool = True) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        if run_arg:
            command.add_argument("run", metavar="RUN", help="a run_id (see `yt-transcript runs`) or a work_dir path")
        if json_flag:
            command.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        return command

    run = add("run", "create a run and drive it to completion", run_arg=False)
    add_intent_options(run, TranscriptParams)
    batch_cli.add_batch_options(run)
    run.add_argument("--work-dir", metavar="DIR", help="an empty folder for the run's state")
    run.add_argument("--accept-degraded", action="store_true", help="finalize even when the quality gate is "
                     "degraded (the degraded parts are listed in the quality report); without it the run stops "
                     "there and the command exits with 3")

    inspect = add("inspect", "show a run's state, phases, chunks, history, or the text recognized so far")
    shown = inspect.add_mutually_exclusive_group()
    shown.add_argument("--detail", choices=DETAILS, default="summary")
    shown.add_argument("--draft", dest="detail", action="store_const", const=DRAFT_DETAIL,
                       help="the text recognized so far, readable while speech recognition runs "
                       "(--detail draft)")
    inspect.add_argument("--cursor", type=int, default=0, metavar="N",
                         help="page start for chunks, telemetry, items and the draft")
    runs = add("runs", "list runs (damaged ones too, with the file at fault)", run_arg=False)
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="prune")
    prune = runs_sub.add_parser("prune", help="delete old finished, cancelled and failed runs (outputs stay)",
                                description="delete old finished, cancelled and failed runs (outputs stay)")
    prune.add_argument("--older-than", metavar="AGE", required=True, type=_age,
                       help="age such as 30d, 12h or 90m (runs created before that)")
    prune.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    prune.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add("delete", "delete one run's work_dir (its published outputs stay)")
    tracks = add("tracks", "list the subtitle tracks and audio of a source, without running anything",
                 run_arg=False)
    tracks.add_argument("source", metavar="SOURCE", help="a video URL or a local media file")
    add("config", "show the effective settings and where each came from (secrets shown as set or not)",
        run_arg=False)
    resume = add("resume", "recover an interrupted, paused or failed run (a failed phase is retried) and drive it "
                 "to completion")
    resume.add_argument("--accept-degraded", action="store_true", help="finalize even when the quality gate is "
                        "degraded")
    advance = add("advance", "take one allowed action on a run (see `yt-transcript inspect RUN`), then drive it on")
    advance.add_argument("action", metavar="ACTION", choices=ACTIONS, help=f"one of: {', '.join(ACTIONS)}")
    advance.add_argument("--chunk-id", dest="chunk_id", metavar="ID", help=ACTION_ARGUMENTS["chunk_id"])
    add("agent-task", "print the task a run with --llm agent waits for (one JSON object)", json_flag=False)
    submit = add("submit-chunk", "submit your text for the waiting chunk of a run with --llm agent, then print "
                 "the next task (one JSON object)", json_flag=False)
    submit.add_argument("chunk_id", metavar="CHUNK_ID", help="the chunk_id of the task")
    submit.add_argument("file", metavar="FILE", help="a UTF-8 file with your text, or - for stdin")
    add("pause", "pause a run at its next safe point (resume continues)")
    add("cancel", "cancel a run for good")
    finalize_cmd = add("finalize", "assemble and publish the outputs of a run at the quality gate")
    finalize_cmd.add_argument("--accept-degraded", action="store_true", help="accept a degraded quality gate")
    batch_cli.add_commands(add)
    return parser


def _print_error(exc: YTTError, session: Session | None) -> int:
    if session is not None:
        session.display.finish()
    exc = cli_error(exc, session.run_id if session is not None else None)
    sys.stderr.write(f"error[{exc.code}]: {exc.message}\n")
    if exc.hint:
        sys.stderr.write(f"  hint: {exc.hint}\n")
    if session is not None and session.as_json:
        document: dict[str, Any] = {"ok": False, "error": exc.to_dict()}
        if session.run_id:
            document["run_id"] = session.run_id
        _json_line(session.out, document)
    return exc.exit_code


def _interrupted(session: Session) -> int:
    session.display.finish()
    run_id = session.run_id
    if run_id is None or not session.has_api:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    sys.stderr.write("\ninterrupted: pausing the run at its next safe point (Ctrl-C again to quit now)\n")
    try:
        session.api.apply_control(run_id, "pause", reason="interrupted (Ctrl-C)")
        session.api.advance_run(run_id, wait_seconds=PAUSE_GRACE_SECONDS)
    except YTTError as exc:
        sys.stderr.write(f"note: {exc.message}\n")
    except KeyboardInterrupt:
        pass
    sys.stderr.write(f"paused. `yt-transcript resume {run_id}` continues.\n")
    return EXIT_INTERRUPTED


def _default_api() -> RuntimeApi:
    from kernel.pipeline import build_runtime_api

    return build_runtime_api()


def main(argv: list[str] | None = None, *, api_factory: Callable[[], RuntimeApi] | None = None) -> int:
    """Run one CLI command; returns the process exit code."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
        return exc.code if isinstance(exc.code, int) else 2
    if getattr(args, "cursor", 0) < 0:
        return _print_error(InvalidInputError("--cursor must be 0 or more",
                                              hint="start at 0, or pass the next cursor a previous page printed"), None)
    with reserved_stdout() as out:
        session = Session(args, out, api_factory or _default_api)
        try:
            return COMMANDS[args.command](session)
        except YTTError as exc:
            return _print_error(exc, session)
        except KeyboardInterrupt:
            return _interrupted(session)


if __name__ == "__main__":
    sys.exit(main())
