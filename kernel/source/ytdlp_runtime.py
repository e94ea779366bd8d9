"""The JavaScript runtime yt-dlp solves YouTube's challenges with, and the age of the installed yt-dlp.

Since late 2025 yt-dlp reads YouTube formats only with an external JavaScript runtime (deno, node, bun or
quickjs) running its challenge-solver scripts (the ``yt-dlp-ejs`` package). The project installs both
(``yt-dlp[default]`` and the PyPI ``deno`` package) and hands the runtime to yt-dlp explicitly.

Invariants:
- ``js_runtimes_option`` is the exact value of yt-dlp's ``js_runtimes`` option: one runtime,
  ``{name: {"path": path or None}}``. ``bundled`` (the default) is the binary of the ``deno`` package,
  located with ``deno.find_deno_bin()``, so the default never depends on PATH. A named runtime without a
  path is looked up by yt-dlp itself (the Python scripts folder, then PATH).
- ``inspect_js_runtime`` asks yt-dlp, offline: its own runtime detection (it runs ``<runtime> --version``)
  and its challenge-solver provider for that runtime (accepted or not, where its solver scripts come
  from). Nothing is downloaded; yt-dlp internals it relies on are guarded, and their absence is reported.
- Nothing here imports yt-dlp at module import time (the preflight of a local file must stay light).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from ..config import BUNDLED_JS_RUNTIME, Settings

# The command that updates yt-dlp and its challenge-solver scripts (yt-dlp[default] pins yt-dlp-ejs).
YTDLP_UPDATE_COMMAND = 'python -m pip install -U "yt-dlp[default]"'
# yt-dlp's release cadence follows YouTube's changes; older than this and YouTube breakage is likely.
YTDLP_STALE_AFTER_DAYS = 60


@dataclass(frozen=True)
class JsRuntimeChoice:
    """The runtime handed to yt-dlp: its yt-dlp name, the executable (None: yt-dlp looks it up) and a
    label for people. ``problem`` says why the configured choice could not be honoured."""

    name: str
    path: str | None
    label: str
    problem: str | None = None


def bundled_deno_path() -> str | None:
    """The deno executable installed by the PyPI ``deno`` package, or None when it is not installed."""
    try:
        import deno  # type: ignore[import-untyped]  # the package ships no type information

        path = os.fsdecode(deno.find_deno_bin())
    except (ImportError, FileNotFoundError):
        return None
    return path if os.access(path, os.X_OK) else None


def choose_js_runtime(settings: Settings) -> JsRuntimeChoice:
    """The runtime the settings ask for (``ytdlp.js_runtime`` / ``YTT_JS_RUNTIME``)."""
    chosen = settings.ytdlp
    if chosen.js_runtime == BUNDLED_JS_RUNTIME:
        path = bundled_deno_path()
        if path is None:
            return JsRuntimeChoice("deno", None, "deno (bundled package missing; looked up by yt-dlp)",
                                   problem="the bundled deno (PyPI package 'deno') is not installed")
        return JsRuntimeChoice("deno", path, "bundled deno")
    if chosen.js_runtime_path:
        return JsRuntimeChoice(chosen.js_runtime, str(Path(chosen.js_runtime_path).expanduser()),
                               f"{chosen.js_runtime} (configured path)")
    return JsRuntimeChoice(chosen.js_runtime, None, f"{chosen.js_runtime} (looked up by yt-dlp)")


def js_runtimes_option(choice: JsRuntimeChoice) -> dict[str, dict[str, str | None]]:
    """yt-dlp's ``js_runtimes`` option for ``choice``: only that runtime is enabled."""
    return {choice.name: {"path": choice.path}}


@dataclass(frozen=True)
class JsRuntimeStatus:
    """What yt-dlp itself says about the chosen runtime.

    ``version`` is None when the runtime could not be run; ``supported`` is yt-dlp's minimum-version
    verdict; ``accepted`` whether yt-dlp's challenge solver for it is available; ``solver_scripts`` where the
    solver scripts come from (e.g. ``python package``), None when there are none.
    """

    choice: JsRuntimeChoice
    version: str | None = None
    supported: bool = False
    accepted: bool = False
    solver_scripts: str | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.accepted and self.solver_scripts is not None


def inspect_js_runtime(choice: JsRuntimeChoice, params: Mapping[str, Any]) -> JsRuntimeStatus:
    """Ask yt-dlp (constructed with ``params``, whose ``js_runtimes`` names ``choice``) about the runtime."""
    import yt_dlp

    with yt_dlp.YoutubeDL(dict(params)) as ydl:
        runtimes = getattr(ydl, "_js_runtimes", None)  # the objects yt-dlp's challenge solvers consult
        if runtimes is None:
            return JsRuntimeStatus(choice, problem="this yt-dlp has no JavaScript runtime support (it is too old)")
        runtime = runtimes.get(choice.name)
        info = runtime.info if runtime is not None else None
        if info is None:
            return JsRuntimeStatus(choice, problem=f"{choice.name} could not be run")
        status = JsRuntimeStatus(choice, version=str(info.version), supported=bool(info.supported))
        if not info.supported:
            minimum = ".".join(str(part) for part in getattr(runtime, "MIN_SUPPORTED_VERSION", ()))
            return replace(status, problem=f"yt-dlp needs {choice.name} {minimum or 'newer'} or later")
        return _with_solver(status, ydl)


def _with_solver(status: JsRuntimeStatus, ydl: Any) -> JsRuntimeStatus:
    """Add what yt-dlp's YouTube challenge-solver provider for the runtime says (internal yt-dlp API)."""
    try:
        from yt_dlp.extractor.youtube.jsc._director import initialize_jsc_director
        from yt_dlp.extractor.youtube.jsc.provider import JsChallengeProviderRejectedRequest
    except ImportError:
        return replace(status, problem="this yt-dlp has no JavaScript challenge solver (it is too old)")
    director = initialize_jsc_director(ydl.get_info_extractor("Youtube"))
    provider = next((p for p in director.providers.values()
                     if getattr(p, "JS_RUNTIME_NAME", None) == status.choice.name), None)
    if provider is None or not provider.is_available():
        return replace(status, problem=f"yt-dlp's challenge solver does not accept {status.choice.name}")
    try:
        sources = {provider._lib_script.source.value, provider._core_script.source.value}
    except JsChallengeProviderRejectedRequest:
        return replace(status, accepted=True,
                        problem="the challenge-solver scripts are missing (the yt-dlp-ejs package)")
    except Exception as exc:  # a changed yt-dlp internal: report, never break preflight
        return replace(status, accepted=True, problem=f"the challenge-solver scripts could not be checked: {exc}")
    return replace(status, accepted=True, solver_scripts=", ".join(sorted(sources)))


# ---------------------------------------------------------------------------------------------------------
# yt-dlp's age
# ---------------------------------------------------------------------------------------------------------


def ytdlp_release_date(version: str) -> date | None:
    """The release date in a yt-dlp version (``2026.10.26``, nightly ``2026.10.26.232748``), else None."""
    match = re.match(r"(\d{4})\.(\d{1,2})\.(\d{1,2})", version.strip())
    if match is None:
        return None
    with contextlib.suppress(ValueError):
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return None


def ytdlp_release_age_days(version: str, today: date) -> int | None:
    """Days since the release of yt-dlp ``version`` (never negative), None when the version holds no date."""
    released = ytdlp_release_date(version)
    return None if released is None else max(0, (today - released).days)
