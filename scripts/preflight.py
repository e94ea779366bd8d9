"""Check that this machine can run a chosen path.

Usage: ``python -m scripts.preflight [--needs local_media,whisper,...] [--require-llm]``.

Prints one JSON document on stdout (see scripts/_common.py): ``{"ok": true, "report": PreflightReport}``
when every required check passes; otherwise exit code 1 and ``{"ok": false, "error": {"code":
"preflight_failed", ..., "details": {"report": PreflightReport}}}``, whose hint says what to fix.
Needs: local_media, url, subtitles, whisper, deepgram, llm (default: local_media,whisper).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kernel.config import load_settings
from kernel.preflight import PREFLIGHT_NEEDS, PreflightFailed, run_preflight
from scripts._common import run_json_command

DEFAULT_NEEDS = "local_media,whisper"


def preflight(needs: list[str], *, require_llm: bool = False) -> dict[str, Any]:
    """The preflight report for ``needs`` as JSON-ready data.

    Raises:
        PreflightFailed: a required check failed (``details['report']`` is the whole report).
        InvalidInputError: an unknown need (``unknown_preflight_need``) or invalid settings
            (``config_error``).
    """
    report = run_preflight(load_settings(), needs, require_llm=require_llm, contact_llm=require_llm)
    data = report.model_dump(mode="json")
    failed = report.failed_required()
    if failed:
        raise PreflightFailed(
            "preflight failed: " + "; ".join(f"{check.name}: {check.detail}" for check in failed),
            hint=" ".join(check.hint for check in failed if check.hint) or None,
            details={"report": data},
        )
    return {"report": data}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.preflight",
        description="Check, quickly and offline, that the tools a run needs are installed and configured.",
    )
    parser.add_argument(
        "--needs",
        default=DEFAULT_NEEDS,
        help=f"comma-separated: {','.join(PREFLIGHT_NEEDS)} (default: {DEFAULT_NEEDS})",
    )
    parser.add_argument("--require-llm", action="store_true", help="fail when no LLM is configured or the endpoint does not answer (one bounded request)")
    args = parser.parse_args(argv)
    needs = [need for need in args.needs.split(",") if need.strip()]
    return run_json_command(lambda: preflight(needs, require_llm=args.require_llm))


if __name__ == "__main__":
    sys.exit(main())
