"""The CLI's batch commands (``scripts.cli`` wires them in):

    yt-transcript run SOURCE [SOURCE...] [--limit N] [--since DATE] [--match TEXT] [--force] [--concurrency N]
    yt-transcript runs                      batches with their item counts (their items are listed by inspect)
    yt-transcript inspect BATCH --detail items
    yt-transcript watch DIR [--output-dir OUT] [--mode M] [--target-language L] [--llm W] [--concurrency N] [--no-events]
    yt-transcript worker [--concurrency N]  a Celery worker (pip install yt-transcript[celery]; YTT_BROKER_URL)

A ``run`` with several sources, a folder, ``@list.txt``, a playlist or channel URL, or a batch option creates
a batch (``kernel.pipeline.batch``) and drives it like any run: ``resume``, ``pause`` and ``cancel`` of the
batch's id apply to the whole batch. stdout carries only the result (the outputs index path, or one JSON
object with ``--json``); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel.pipeline.batch.intent import BATCH_FIELDS, BatchOptions, is_batch_request
from kernel.pipeline.batch.items import ITEM_RUNS_DIR
from kernel.pipeline.batch.spec import BATCH_PIPELINE_NAME
from kernel.pipeline.intent import TranscriptParams, intent_fields, literal_values
from kernel.task_runtime.contracts import CommandEnvelope
from kernel.task_runtime.errors import InvalidInputError

if TYPE_CHECKING:
    from kernel.task_runtime.api import RuntimeApi
    from scripts.cli import Session

ITEM_HEADERS = ["item", "status", "run_id", "source / article"]


# --------------------------------------------------------------------------- parser
def detail_choices() -> list[str]:
    """inspect's ``--detail`` values: a run's and a batch's."""
    from kernel.pipeline import TranscriptPipeline
    from kernel.pipeline.batch.spec import BatchPipeline
    from kernel.task_runtime.views import detail_names

    return list(dict.fromkeys([*detail_names(TranscriptPipeline()), *detail_names(BatchPipeline())]))


def add_batch_options(run: argparse.ArgumentParser) -> None:
    """``run``'s batch options, from ``BatchOptions`` (names and help from the model)."""
    fields = BatchOptions.model_fields
    run.add_argument("sources", nargs="*", metavar="SOURCE", help=fields["sources"].description)
    for name in ("limit", "concurrency"):
        run.add_argument("--" + name, dest=name, type=int, metavar="N", help=fields[name].description)
    run.add_argument("--since", metavar="DATE", help=fields["since"].description)
    run.add_argument("--match", metavar="TEXT", help=fields["match"].description)
    run.add_argument("--force", action="store_true", default=None, help=fields["force"].description)


def add_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """The ``watch`` and ``worker`` commands (``add`` is the CLI's sub-command helper)."""
    watch = add("watch", "process media that appear in a folder, once each, until Ctrl-C",
                run_arg=False, json_flag=False)
    watch.add_argument("folder", metavar="DIR", help="the folder to watch (subfolders too)")
    watch.add_argument("--output-dir", metavar="OUT", help="folder for the outputs (default: the settings')")
    watch.add_argument("--concurrency", type=int, metavar="N", help=BatchOptions.model_fields["concurrency"].description)
    intent = TranscriptParams.model_fields
    watch.add_argument("--mode", choices=literal_values(intent["mode"].annotation), help=intent["mode"].description)
    watch.add_argument("--target-language", metavar="LANG", help=intent["target_language"].description)
    watch.add_argument("--llm", choices=literal_values(intent["llm"].annotation), help=intent["llm"].description)
    watch.add_argument("--no-events", dest="events", action="store_false",
                       help="find new files by rescanning only (for network folders that report no changes)")
    worker = add("worker", "start a Celery worker that advances batch items (needs yt-transcript[celery] and "
                 "YTT_BROKER_URL)", run_arg=False, json_flag=False)
    worker.add_argument("--concurrency", type=int, default=1, metavar="N", help="items this worker runs at once")
    worker.add_argument("--name", metavar="NAME", help="the worker's name (default: from the pid and host)")


def batch_request(args: argparse.Namespace) -> dict[str, Any] | None:
    """The raw create request when ``run``'s arguments make a batch, else None."""
    raw = {name: getattr(args, name) for name in intent_fields() if getattr(args, name, None) is not None}
    for name in BATCH_FIELDS:
        value = getattr(args, name, None)
        if value is not None and value != []:
            raw[name] = value
    return raw if is_batch_request(raw) else None


# --------------------------------------------------------------------------- run / runs / inspect
def cmd_run_batch(session: Session, raw: dict[str, Any]) -> int:
    from scripts.cli import drive_cli

    created = session.api.create_run(raw, work_dir=session.args.work_dir)
    session.run_id = created.run_id
    if not session.as_json:
        sys.stderr.write(f"batch {created.run_id} (work_dir {created.work_dir})\n")
    envelope = drive_cli(session, created.run_id, [])
    return report_batch(session, envelope)


def is_batch(envelope: CommandEnvelope, api: Any) -> bool:
    return bool(api.pipeline_of(api.resolve(envelope.run_id).read_task()).name == BATCH_PIPELINE_NAME)


def report_batch(session: Session, envelope: CommandEnvelope) -> int:
    """A finished batch: its counts on stderr, the outputs index path (or one JSON object) on stdout."""
    from scripts.cli import _json_line

    session.display.finish()
    quality = session.api.inspect_run(envelope.run_id).data.get("domain") or {}
    counts = quality.get("items") or {}
    if session.as_json:
        _json_line(session.out, {"run_id": envelope.run_id, "work_dir": envelope.work_dir, "state": envelope.state,
                                 "items": counts, "outputs": envelope.outputs or {}, "warnings": envelope.warnings})
        return 0
    sys.stderr.write("items: " + ", ".join(f"{n} {status}" for status, n in counts.items()) + "\n")
    session.out.write(((envelope.outputs or {}).get("index") or envelope.work_dir) + "\n")
    return 0


def runs_with_batches(api: RuntimeApi) -> list[dict[str, Any]]:
    """``api.list_runs()`` with each row's ``kind`` (run or batch) and a batch's item counts; a batch's
    own item runs are left out (``inspect BATCH --detail items`` lists them)."""
    runs = [run for run in api.list_runs() if Path(run["work_dir"]).parent.name != ITEM_RUNS_DIR]
    for run in runs:
        if run.get("pipeline") == BATCH_PIPELINE_NAME:
            domain = api.inspect_run(run["run_id"]).data.get("domain") or {}
            run["kind"], run["items"] = "batch", domain.get("items") or {}
            run["source"] = ", ".join(api.resolve(run["run_id"]).read_task().params.get("sources") or [])
        else:
            run["kind"] = "run"
    return runs


def describe_counts(counts: dict[str, int] | None) -> str:
    return " ".join(f"{status}={n}" for status, n in (counts or {}).items())


def item_lines(envelope: CommandEnvelope) -> list[str]:
    """inspect's ``items`` page as a table."""
    from scripts.cli import _table

    rows = []
    for item in envelope.data.get("items") or []:
        where = item.get("markdown") or item.get("source") or ""
        error = item.get("error") or {}
        if error.get("code"):
            where += f"  [{error['code']}]"
        rows.append([str(item.get("item_id")), str(item.get("status")), str(item.get("run_id") or
                                                                            item.get("reused_from") or "-"), where])
    lines = ["", _table(rows, ITEM_HEADERS) if rows else "no items yet"]
    for item in envelope.data.get("items") or []:
        hint = (item.get("error") or {}).get("hint")
        if hint:
            lines.append(f"hint ({item.get('item_id')}): {hint}")
            break
    return lines


# --------------------------------------------------------------------------- watch / worker
def cmd_watch(session: Session) -> int:
    from kernel.pipeline.batch.intent import OPTIONS_PROBE_SOURCE
    from kernel.pipeline.batch.process import make_executor
    from kernel.pipeline.batch.watch import Watcher
    from kernel.pipeline.intent import parse_params

    args = session.args
    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise InvalidInputError(f"{args.folder} is not a folder", code="media_not_found",
                                hint="pass the folder to watch", details={"field": "folder"})
    api = session.api
    settings = api.settings
    options: dict[str, Any] = {name: getattr(args, name) for name in ("mode", "target_language", "llm")
                               if getattr(args, name) is not None}
    if args.output_dir:
        options["output_dir"] = args.output_dir
    parse_params({**options, "source": OPTIONS_PROBE_SOURCE}, settings)  # bad options: refused now, not per file
    output = Path(args.output_dir).expanduser() if args.output_dir else None
    concurrency = args.concurrency or settings.batch.concurrency
    executor = make_executor(settings, concurrency)
    watcher = Watcher(folder, api, settings, options, executor, output_dir=output, concurrency=concurrency,
                      events=args.events, log=_log_line)

    def stop(signum: int, frame: object) -> None:
        sys.stderr.write("stopping: runs in flight pause at their next safe point; the next watch resumes them\n")
        watcher.stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, lambda signum, frame: watcher.request_rescan())
    sys.stderr.write(f"watching {folder} (touch {folder / '.scan_now'} or send SIGHUP to rescan; Ctrl-C stops)\n")
    try:
        counts = watcher.run()
    finally:
        executor.shutdown(wait=False)
    session.out.write("watch stopped: " + (describe_counts(counts) or "nothing processed") + "\n")
    return 0


def _log_line(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def cmd_worker(session: Session) -> int:
    settings = session.api.settings
    if not settings.batch.broker_url:
        raise InvalidInputError("no broker is configured for the worker", code="config_error",
                                hint="set YTT_BROKER_URL (batch.broker_url) to the Redis URL, e.g. "
                                "redis://localhost:6379/0")
    try:
        import celery  # noqa: F401

        from kernel.task_runtime.celery_executor import run_worker
    except ImportError as exc:
        raise InvalidInputError("the worker needs Celery", code="celery_not_installed",
                                hint="pip install 'yt-transcript[celery]'") from exc
    sys.stderr.write("worker started; Ctrl-C stops it after the item at hand\n")
    return run_worker(settings.batch.broker_url, concurrency=session.args.concurrency, name=session.args.name)
