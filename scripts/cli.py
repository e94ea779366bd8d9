"""The human CLI, ``yt-transcript`` (console script ``scripts.cli:main``).

    yt-transcript run SOURCE [--mode ...] [--target-language L] [--output-dir DIR] [--no-llm] [--json]
    yt-transcript inspect RUN [--detail summary|phases|chunks|telemetry] [--cursor N] [--json]
    yt-transcript runs [--json]
    yt-transcript resume RUN [--json]
    yt-transcript pause RUN | cancel RUN | finalize RUN [--accept-degraded]

RUN is a run_id or a work_dir path. Everything goes through ``RuntimeApi`` in this process.

Invariants:
- stdout carries only the command's result (a path, a table, or with ``--json`` exactly one JSON object);
  progress, notes and errors go to stderr, and while the command works anything else written to stdout
  (library prints, child processes) is sent to stderr too.
- ``run`` and ``resume`` drive the run with ``advance_run`` until the quality gate, then finalize; when
  the gate is degraded and only ``accept_degraded`` is allowed, they accept it and say so. The CLI never
  chooses an action the runtime did not list in ``allowed_actions``.
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
from typing import Any, Literal, TextIO

from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.contracts import TERMINAL_STATES, Action, CommandEnvelope, LifecycleState, Progress
from kernel.task_runtime.errors import InvalidInputError, YTTError

DRIVE_WAIT_SECONDS = 5.0  # how long each in-process advance waits before the loop looks again
PAUSE_GRACE_SECONDS = 30.0  # after Ctrl-C: how long to wait for the worker to reach a safe point
MAX_IDLE_ADVANCES = 3  # consecutive advances that change nothing before the CLI gives up
EXIT_INTERRUPTED = 130

_AUTOMATIC = {Action.RUN_PHASE, Action.PROCESS_CHUNKS, Action.RETRY_CHUNK, Action.REPAIR_CHUNK,
              Action.REPLAN_REMAINING, Action.REROUTE_TO_ASR}


# --------------------------------------------------------------------------- progress display
class ProgressDisplay:
    """Progress on stderr: a redrawn bar on a terminal, plain lines otherwise, nothing when off."""

    def __init__(self, style: Literal["bar", "lines", "off"], stream: TextIO) -> None:
        self.style = style
        self.stream = stream
        self._last_key: tuple[Any, ...] | None = None
        self._drawn = 0

    @classmethod
    def for_stream(cls, stream: TextIO, *, quiet: bool) -> ProgressDisplay:
        if quiet:
            return cls("off", stream)
        return cls("bar" if stream.isatty() else "lines", stream)

    def update(self, progress: Progress | None) -> None:
        if progress is None or self.style == "off":
            return
        fraction = (progress.phases_done + (progress.phase_progress or 0.0)) / max(progress.phases_total, 1)
        label = describe_progress(progress)
        if self.style == "bar":
            filled = round(min(max(fraction, 0.0), 1.0) * 24)
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
    text = f"{progress.phases_done}/{progress.phases_total} phases"
    if progress.current_phase:
        text += f", {progress.current_phase}"
        if progress.phase_progress is not None:
            text += f" {round(progress.phase_progress * 100)}%"
    if progress.chunks:
        text += " (chunks " + " ".join(f"{k}={v}" for k, v in sorted(progress.chunks.items())) + ")"
    if progress.message:
        text += f": {progress.message[:60]}"
    return text


# --------------------------------------------------------------------------- driving a run
class RunStopped(YTTError):
    """The run stopped without outputs (paused or cancelled elsewhere, or it needs a decision)."""

    code = "run_stopped"


def _failure_error(envelope: CommandEnvelope) -> YTTError:
    result = envelope.result
    found = result.data.get("error") if result is not None else None
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    # A phase failure wraps the error that caused it; report the cause's own code and advice.
    details = error.get("details")
    cause = details.get("cause") if isinstance(details, dict) else None
    cause = cause if isinstance(cause, dict) else error
    resume = f"then `yt-transcript resume {envelope.run_id}` retries (finished phases are skipped)"
    hint = f"{cause['hint']}; {resume}" if cause.get("hint") else f"fix the cause, {resume}"
    return YTTError(
        f"run {envelope.run_id} failed: {result.detail if result else 'see inspect'}",
        code=str(cause.get("code") or error.get("code") or "phase_failed"),
        hint=hint,
        details={"run_id": envelope.run_id, **({"error": error} if error else {})},
    )


def finalize(
    api: RuntimeApi, run_id: str, display: ProgressDisplay, *, accept_degraded: bool = False
) -> CommandEnvelope:
    """Finalize and follow the background assembly to its end.

    Raises:
        ActionNotAllowedError: finalize (or accept_degraded) is not allowed now.
        YTTError: the assembly failed.
    """
    envelope = api.finalize_run(
        run_id, accept_degraded=accept_degraded, wait_seconds=DRIVE_WAIT_SECONDS, on_progress=display.update
    )
    while envelope.result is not None and envelope.result.status == "running":
        envelope = api.advance_run(run_id, wait_seconds=DRIVE_WAIT_SECONDS, on_progress=display.update)
    display.update(envelope.progress)
    if envelope.result is not None and envelope.result.status == "failed":
        raise _failure_error(envelope)
    return envelope


def drive(api: RuntimeApi, run_id: str, display: ProgressDisplay, notes: list[str]) -> CommandEnvelope:
    """Advance ``run_id`` until it is completed (finalizing at the gate) and return the last envelope.

    Raises:
        YTTError: a phase failed (its code), or the run stopped without outputs (``run_stopped``).
    """
    rerouted = False
    idle = 0
    last: tuple[Any, ...] | None = None
    while True:
        envelope = api.advance_run(run_id, wait_seconds=DRIVE_WAIT_SECONDS, on_progress=display.update)
        display.update(envelope.progress)
        status = envelope.result.status if envelope.result else None
        allowed = set(envelope.allowed_actions)
        if envelope.state in TERMINAL_STATES:
            if envelope.state == LifecycleState.CANCELLED:
                raise RunStopped(f"run {run_id} was cancelled", hint="create a new run to start again")
            return envelope
        if status == "running":
            idle = 0
            continue
        if status == "failed":
            if Action.REROUTE_TO_ASR in allowed and not rerouted:
                rerouted = True
                notes.append("the subtitles are not a usable transcript; transcribing the audio instead")
                display.note("note: " + notes[-1])
                continue
            raise _failure_error(envelope)
        if envelope.state == LifecycleState.PAUSED or Action.RESUME in allowed:
            raise RunStopped(f"run {run_id} is paused", hint=f"`yt-transcript resume {run_id}` continues")
        if Action.FINALIZE in allowed:
            return finalize(api, run_id, display)
        if Action.ACCEPT_DEGRADED in allowed:
            notes.append("the quality gate is degraded; accepted it (the degraded parts are in the quality report)")
            display.note("note: " + notes[-1])
            return finalize(api, run_id, display, accept_degraded=True)
        progress = envelope.progress
        key = (envelope.state, progress.phases_done if progress else None, status)
        idle = idle + 1 if key == last else 0
        last = key
        if status == "noop" or not (allowed & _AUTOMATIC) or idle >= MAX_IDLE_ADVANCES:
            names = ", ".join(a.value for a in envelope.allowed_actions) or "none"
            raise RunStopped(
                f"run {run_id} needs a decision (state {envelope.state.value}; allowed: {names})",
                hint=f"`yt-transcript inspect {run_id}` shows why",
                details={"allowed_actions": [a.value for a in envelope.allowed_actions]},
            )


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
        f"state      {envelope.state.value}",
        f"work_dir   {envelope.work_dir}",
    ]
    if envelope.progress is not None:
        lines.append(f"progress   {describe_progress(envelope.progress)}")
    lines.append(f"allowed    {', '.join(a.value for a in envelope.allowed_actions) or 'none'}")
    for name, path in (envelope.outputs or {}).items():
        lines.append(f"output     {name}: {path}")
    failure = envelope.data.get("failure")
    if isinstance(failure, dict):
        lines.append(f"failure    {failure.get('phase', '?')}: {failure.get('code', '')} {failure.get('message', '')}")
    route = (envelope.data.get("domain") or {}).get("route") if isinstance(envelope.data.get("domain"), dict) else None
    if isinstance(route, dict):
        lines.append(f"route      {route.get('route')} ({route.get('language') or '?'})")
        lines += [f"           - {reason}" for reason in route.get("reasons") or []]
    lines += [f"warning    {w}" for w in envelope.warnings]
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
    elif detail == "telemetry":
        for event in envelope.data.get("events") or []:
            extra = " ".join(f"{k}={v}" for k, v in event.items() if k not in ("ts", "run_id", "event"))
            lines.append(f"{event.get('ts', '')}  {event.get('event', '')}  {extra}"[:200])
    if envelope.data.get("next_cursor") is not None:
        lines.append(f"\nmore: --cursor {envelope.data['next_cursor']}")
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
        self.display.finish()
        if self.as_json:
            _json_line(self.out, {"run_id": envelope.run_id, "work_dir": envelope.work_dir,
                                  "state": envelope.state.value, "outputs": envelope.outputs or {},
                                  "warnings": [*notes, *envelope.warnings]})
            return 0
        outputs = envelope.outputs or {}
        for name, path in outputs.items():
            if name != "markdown":
                sys.stderr.write(f"{name}: {path}\n")
        if envelope.state == LifecycleState.COMPLETED_DEGRADED:
            sys.stderr.write("done (degraded quality accepted)\n")
        self.out.write((outputs.get("markdown") or envelope.work_dir) + "\n")
        return 0


def cmd_run(session: Session) -> int:
    args = session.args
    raw: dict[str, Any] = {"source": args.source}
    for field in ("mode", "target_language", "source_language", "route", "asr_backend", "output_dir",
                  "llm_profile", "glossary", "max_llm_requests", "max_llm_tokens"):
        if getattr(args, field) is not None:
            raw[field] = getattr(args, field)
    if args.no_llm:
        raw["use_llm"] = False
    created = session.api.create_run(raw, work_dir=args.work_dir)
    session.run_id = created.run_id
    if not session.as_json:
        sys.stderr.write(f"run {created.run_id} (work_dir {created.work_dir})\n")
    notes: list[str] = []
    envelope = drive(session.api, created.run_id, session.display, notes)
    return session.report_completed(envelope, notes)


def cmd_resume(session: Session) -> int:
    recovered = session.api.resume_run(session.args.run)
    session.run_id = recovered.run_id
    recovery = recovered.data.get("recovery") or {}
    if recovery and not session.as_json:
        sys.stderr.write(f"recovered: {json.dumps(recovery, ensure_ascii=False)}\n")
    notes: list[str] = []
    if recovered.state in (LifecycleState.COMPLETED, LifecycleState.COMPLETED_DEGRADED):
        return session.report_completed(recovered, notes)
    envelope = drive(session.api, recovered.run_id, session.display, notes)
    return session.report_completed(envelope, notes)


def cmd_finalize(session: Session) -> int:
    session.run_id = session.args.run
    envelope = finalize(session.api, session.args.run, session.display, accept_degraded=session.args.accept_degraded)
    if envelope.state not in (LifecycleState.COMPLETED, LifecycleState.COMPLETED_DEGRADED):
        raise RunStopped(f"run {envelope.run_id} did not complete (state {envelope.state.value})",
                         hint=f"`yt-transcript inspect {envelope.run_id}` shows why")
    return session.report_completed(envelope, [])


def cmd_control(session: Session) -> int:
    signal = session.args.command
    envelope = session.api.apply_control(session.args.run, signal, reason=f"{signal} requested from the CLI")
    if session.as_json:
        _json_line(session.out, envelope.model_dump(mode="json"))
    else:
        detail = envelope.result.detail if envelope.result else signal
        session.out.write(f"{envelope.run_id}: {detail} (state {envelope.state.value})\n")
    return 0


def cmd_inspect(session: Session) -> int:
    args = session.args
    envelope = session.api.inspect_run(args.run, detail=args.detail, cursor=args.cursor)
    if session.as_json:
        _json_line(session.out, envelope.model_dump(mode="json"))
    else:
        session.out.write(format_envelope(envelope) + "\n")
    return 0


def cmd_runs(session: Session) -> int:
    runs = session.api.list_runs()
    if session.as_json:
        _json_line(session.out, {"runs": runs})
    elif not runs:
        session.out.write("no runs yet (yt-transcript run SOURCE starts one)\n")
    else:
        rows = [[r["run_id"], r["state"], str(r.get("created_at") or "")[:19], str(r.get("source") or "")]
                for r in runs]
        session.out.write(_table(rows, ["run_id", "state", "created", "source"]) + "\n")
    return 0


COMMANDS: dict[str, Callable[[Session], int]] = {
    "run": cmd_run,
    "resume": cmd_resume,
    "finalize": cmd_finalize,
    "pause": cmd_control,
    "cancel": cmd_control,
    "inspect": cmd_inspect,
    "runs": cmd_runs,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="yt-transcript",
        description="Turn a video (URL or local media file) into a Markdown article plus SRT/VTT/JSON exports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, *, run_arg: bool = True, json_flag: bool = True) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        if run_arg:
            command.add_argument("run", metavar="RUN", help="a run_id (see `yt-transcript runs`) or a work_dir path")
        if json_flag:
            command.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        return command

    run = add("run", "create a run and drive it to completion", run_arg=False)
    run.add_argument("source", metavar="SOURCE", help="a video URL or a local media file")
    run.add_argument("--mode", choices=["clean", "translate", "bilingual"], help="default: clean")
    run.add_argument("--target-language", metavar="L", help="language code for translate/bilingual, e.g. de")
    run.add_argument("--source-language", metavar="L", help="the spoken language, if known")
    run.add_argument("--route", choices=["auto", "subtitles", "asr"], help="default: auto")
    run.add_argument("--asr-backend", choices=["whisper", "deepgram"], help="default: whisper")
    run.add_argument("--output-dir", metavar="DIR", help="where to publish the outputs")
    run.add_argument("--work-dir", metavar="DIR", help="an empty folder for the run's state")
    run.add_argument("--no-llm", action="store_true", help="format deterministically, without an LLM")
    run.add_argument("--llm-profile", metavar="NAME", help="a [llm_profiles.NAME] section of the config file")
    run.add_argument("--glossary", metavar="TERM", action="append", help="a name or term to keep as written "
                     "(repeatable)")
    run.add_argument("--max-llm-requests", type=int, metavar="N", help="request budget of this run")
    run.add_argument("--max-llm-tokens", type=int, metavar="N", help="token budget of this run")

    inspect = add("inspect", "show a run's state, phases, chunks or history")
    inspect.add_argument("--detail", choices=["summary", "phases", "chunks", "telemetry"], default="summary")
    inspect.add_argument("--cursor", type=int, default=0, metavar="N", help="page start for chunks/telemetry")
    add("runs", "list runs", run_arg=False)
    add("resume", "recover an interrupted or paused run and drive it to completion")
    add("pause", "pause a run at its next safe point (resume continues)")
    add("cancel", "cancel a run for good")
    finalize_cmd = add("finalize", "assemble and publish the outputs of a run at the quality gate")
    finalize_cmd.add_argument("--accept-degraded", action="store_true", help="accept a degraded quality gate")
    return parser


def _print_error(exc: YTTError, session: Session | None) -> int:
    if session is not None:
        session.display.finish()
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
        return _print_error(InvalidInputError("--cursor must be 0 or more"), None)
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
