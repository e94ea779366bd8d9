"""Preflight: fast local checks that the chosen path (source kind, ASR backend, LLM) can run here.

Invariants:
- Only the checks the requested needs call for are run; ``ytt_home`` and ``disk_space`` always run.
- Fast and side-effect free beyond creating ``YTT_HOME``: no model loading (the whisper check looks at files
  only), no subprocess other than ``ffmpeg -version`` and the JavaScript runtime's ``--version``, run by
  yt-dlp's own runtime detection, and one network request at most: with ``contact_llm`` the LLM endpoint's
  model list is asked for (``LLM_CONTACT_TIMEOUT_SECONDS``), so an unreachable endpoint, a refused key or
  an unknown model fails before any work is done.
- The ``url`` need reports yt-dlp (required: it imports and the yt-dlp settings are valid), its release age
  (informative: older than ``YTDLP_STALE_AFTER_DAYS`` says how to update it) and the JavaScript runtime for
  YouTube's challenges (informative: only YouTube needs it), as yt-dlp itself sees them.
- Nothing secret and no machine path appears in a report: a key is reported as present or missing, a
  path by its last component, a URL by its scheme and host.
- ``ok`` is true when every *required* check passed. Non-required checks (low disk space, an LLM that is
  optional because the run falls back to deterministic formatting) only inform.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import ClassVar, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from .config import LLMProfile, Settings
from .source.ytdlp_runtime import (
    YTDLP_STALE_AFTER_DAYS,
    YTDLP_UPDATE_COMMAND,
    JsRuntimeStatus,
    ytdlp_release_age_days,
)
from .task_runtime.errors import InvalidInputError, YTTError

PREFLIGHT_SCHEMA_VERSION = 1
LOW_DISK_BYTES = 1 << 30
FFMPEG_TIMEOUT_SECONDS = 10.0

PreflightNeed = Literal["local_media", "url", "subtitles", "whisper", "deepgram", "llm"]
PREFLIGHT_NEEDS: tuple[str, ...] = get_args(PreflightNeed)


class PreflightCheck(BaseModel):
    name: str
    ok: bool
    required: bool
    detail: str
    hint: str | None = None


class PreflightReport(BaseModel):
    """The ``preflight.report`` artifact."""

    schema_file: ClassVar[str] = "preflight_report"

    schema_version: int = PREFLIGHT_SCHEMA_VERSION
    ok: bool
    needs: list[str]
    checks: list[PreflightCheck] = Field(default_factory=list)

    def failed_required(self) -> list[PreflightCheck]:
        return [check for check in self.checks if check.required and not check.ok]


class PreflightFailed(YTTError):
    """A required preflight check failed. ``details['report']`` holds the whole report."""

    code = "preflight_failed"


def parse_needs(needs: Iterable[str]) -> list[str]:
    """The needs, de-duplicated, in canonical order.

    Raises:
        InvalidInputError: code ``unknown_preflight_need`` for a name outside ``PREFLIGHT_NEEDS``.
    """
    given = {need.strip() for need in needs if need.strip()}
    unknown = sorted(given - set(PREFLIGHT_NEEDS))
    if unknown:
        raise InvalidInputError(
            f"unknown preflight need(s): {', '.join(unknown)}",
            code="unknown_preflight_need",
            hint=f"Use some of: {', '.join(PREFLIGHT_NEEDS)}",
        )
    return [need for need in PREFLIGHT_NEEDS if need in given]


def run_preflight(
    settings: Settings,
    needs: Iterable[str],
    *,
    require_llm: bool = False,
    contact_llm: bool = False,
    llm_profile: str | None = None,
    today: date | None = None,
) -> PreflightReport:
    """Run the checks ``needs`` call for (names from ``PreflightNeed``) and report them all.

    ``require_llm`` makes the LLM configuration a required check (it implies the ``llm`` need);
    ``contact_llm`` also asks the endpoint for its models (bounded), so the check says whether it answers,
    takes the key and knows the model; ``today`` (default: the local date) is what yt-dlp's release age is
    measured against.

    Raises:
        InvalidInputError: an unknown need (``unknown_preflight_need``), or ``llm_profile`` names no profile.
    """
    chosen = parse_needs([*needs, "llm"] if require_llm else needs)
    checks = [_check_home(settings.home), _check_disk_space(settings.home)]
    if {"local_media", "whisper", "deepgram"} & set(chosen):
        checks.append(_check_ffmpeg())
        checks.append(_check_import("pyav", "av", "av", "PyAV"))
    if "url" in chosen:
        checks += _check_ytdlp(settings, today or date.today())
    if "whisper" in chosen:
        checks.append(_check_import("faster_whisper", "faster_whisper", "faster-whisper", "faster-whisper"))
        checks.append(_check_whisper_model(settings))
    if "deepgram" in chosen:
        checks.append(_check_deepgram_key(settings))
        checks.append(_check_import("deepgram_sdk", "deepgram", "deepgram-sdk", "the Deepgram SDK"))
    if "llm" in chosen:
        checks.append(_check_llm(settings.llm_profile(llm_profile), required=require_llm, contact=contact_llm))
    return PreflightReport(ok=all(c.ok for c in checks if c.required), needs=chosen, checks=checks)


def _check_home(home: Path) -> PreflightCheck:
    hint = "Set YTT_HOME to a folder you can write to, or fix the permissions of this one."
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".preflight-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        return PreflightCheck(
            name="ytt_home",
            ok=False,
            required=True,
            hint=hint,
            detail=f"YTT_HOME ({home.name}) is not writable: {exc.strerror or exc}",
        )
    return PreflightCheck(
        name="ytt_home", ok=True, required=True, detail=f"YTT_HOME ({home.name}) is writable"
    )


def _check_disk_space(home: Path) -> PreflightCheck:
    try:
        free = shutil.disk_usage(home).free
    except OSError as exc:
        return PreflightCheck(
            name="disk_space",
            ok=False,
            required=False,
            detail=f"free space unknown: {exc}",
            hint="Make sure YTT_HOME exists on a mounted disk.",
        )
    free_gb = f"{free / (1 << 30):.1f} GB free"
    if free < LOW_DISK_BYTES:
        return PreflightCheck(
            name="disk_space",
            ok=False,
            required=False,
            detail=f"only {free_gb} under YTT_HOME",
            hint="Free some space (downloaded media and audio need a few hundred MB per hour).",
        )
    return PreflightCheck(name="disk_space", ok=True, required=False, detail=f"{free_gb} under YTT_HOME")


def _check_ffmpeg() -> PreflightCheck:
    hint = "Reinstall the project's dependencies (imageio-ffmpeg ships the ffmpeg binary): pip install -e ."
    try:
        import imageio_ffmpeg

        executable = imageio_ffmpeg.get_ffmpeg_exe()
        completed = subprocess.run(
            [executable, "-hide_banner", "-version"],
            capture_output=True,
            timeout=FFMPEG_TIMEOUT_SECONDS,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (ImportError, RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return PreflightCheck(
            name="ffmpeg",
            ok=False,
            required=True,
            hint=hint,
            detail=f"the bundled ffmpeg cannot run: {type(exc).__name__}: {exc}",
        )
    first_line = completed.stdout.decode("utf-8", errors="replace").partition("\n")[0]
    if completed.returncode != 0 or not first_line.startswith("ffmpeg version"):
        return PreflightCheck(
            name="ffmpeg",
            ok=False,
            required=True,
            hint=hint,
            detail=f"the bundled ffmpeg exited with code {completed.returncode}",
        )
    version = first_line.split(" Copyright")[0].removeprefix("ffmpeg version ").strip()
    return PreflightCheck(name="ffmpeg", ok=True, required=True, detail=f"bundled ffmpeg {version} runs")


def _check_import(name: str, module: str, distribution: str, label: str) -> PreflightCheck:
    try:
        importlib.import_module(module)
    except Exception as exc:  # a broken native extension raises OSError and others, not only ImportError
        return PreflightCheck(
            name=name,
            ok=False,
            required=True,
            detail=f"{label} cannot be imported: {type(exc).__name__}: {exc}",
            hint="Reinstall the project's dependencies in this environment: pip install -e .",
        )
    try:
        version = f" {metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        version = ""
    return PreflightCheck(name=name, ok=True, required=True, detail=f"{label}{version} imports")


def _check_ytdlp(settings: Settings, today: date) -> list[PreflightCheck]:
    checks = [_check_import("yt_dlp", "yt_dlp", "yt-dlp", "yt-dlp")]
    if not checks[0].ok:
        return checks
    from .source.ytdlp import cookies_from_browser_option, js_runtime_status

    if settings.network.cookies_from_browser:
        try:
            cookies_from_browser_option(settings.network.cookies_from_browser)
        except YTTError as exc:
            checks[0] = checks[0].model_copy(update={"ok": False, "detail": exc.message, "hint": exc.hint})
    from yt_dlp.version import __version__

    checks.append(ytdlp_release_check(str(__version__), today))
    try:
        checks.append(_check_js_runtime(js_runtime_status(settings)))
    except Exception as exc:  # yt-dlp's detection must never break preflight; say what happened instead
        checks.append(PreflightCheck(name="js_runtime", ok=False, required=False,
                                     detail=f"yt-dlp's JavaScript runtime detection failed: {type(exc).__name__}: {exc}",
                                     hint="Fix the yt-dlp settings above, or reinstall: pip install -e ."))
    return checks


def ytdlp_release_check(version: str, today: date) -> PreflightCheck:
    """The ``ytdlp_release`` check: how old yt-dlp ``version`` (a date) is on ``today``; older than
    ``YTDLP_STALE_AFTER_DAYS`` fails (informatively) with the update command as the hint."""
    age = ytdlp_release_age_days(version, today)
    update = f"Update yt-dlp in this environment: {YTDLP_UPDATE_COMMAND}"
    if age is None:
        return PreflightCheck(name="ytdlp_release", ok=False, required=False, hint=update,
                              detail=f"yt-dlp {version}: its release date is unknown (not a dated release)")
    if age > YTDLP_STALE_AFTER_DAYS:
        return PreflightCheck(
            name="ytdlp_release", ok=False, required=False, hint=update + " (YouTube changes often break older yt-dlp)",
            detail=f"yt-dlp {version} is {age} days old (more than {YTDLP_STALE_AFTER_DAYS})")
    return PreflightCheck(name="ytdlp_release", ok=True, required=False, detail=f"yt-dlp {version} is {age} days old")


def _check_js_runtime(status: JsRuntimeStatus) -> PreflightCheck:
    choice = status.choice
    hint = ("Only YouTube needs it. Reinstall the project's dependencies for the bundled deno (pip install -e .), "
            "or set YTT_JS_RUNTIME (deno, node, bun, quickjs) and YTT_JS_RUNTIME_PATH to a runtime yt-dlp supports")
    if status.ok:
        return PreflightCheck(
            name="js_runtime", ok=True, required=False,
            detail=f"{choice.label} {status.version}: yt-dlp accepts it for YouTube's challenges "
            f"(solver scripts from the {status.solver_scripts})")
    version = f" {status.version}" if status.version else ""
    problems = "; ".join(p for p in (choice.problem, status.problem) if p) or "not accepted by yt-dlp"
    if status.accepted and status.solver_scripts is None:
        hint = f"Reinstall yt-dlp with its solver scripts: {YTDLP_UPDATE_COMMAND}"
    return PreflightCheck(name="js_runtime", ok=False, required=False, hint=hint,
                          detail=f"{choice.label}{version}: {problems}")


def _check_whisper_model(settings: Settings) -> PreflightCheck:
    from .source.asr.base import TranscriberError
    from .source.asr.whisper_model import (
        BUNDLED_SPEC,
        bundled_model_sources,
        model_display_name,
        resolve_whisper_model,
    )

    spec = settings.whisper.model.strip()
    shown = model_display_name(spec)
    try:
        if spec == BUNDLED_SPEC:
            # Only the files are checked: joining the parts is the transcribe phase's job.
            bundled_model_sources()
        else:
            # A directory or a cached model name: only files are looked at (local_files_only, no download).
            resolve_whisper_model(spec, settings.models_dir)
    except TranscriberError as exc:
        return PreflightCheck(
            name="whisper_model",
            ok=False,
            required=True,
            detail=exc.message,
            hint=exc.hint or "Set YTT_WHISPER_MODEL to 'bundled:base' or a model directory.",
        )
    return PreflightCheck(
        name="whisper_model", ok=True, required=True, detail=f"whisper model {shown} is available"
    )


def _check_deepgram_key(settings: Settings) -> PreflightCheck:
    key = settings.deepgram.api_key
    if key is None or not key.get_secret_value().strip():
        return PreflightCheck(
            name="deepgram_key",
            ok=False,
            required=True,
            detail="DEEPGRAM_API_KEY is not set",
            hint="Export DEEPGRAM_API_KEY=<your key> (or choose the whisper backend).",
        )
    return PreflightCheck(name="deepgram_key", ok=True, required=True, detail="DEEPGRAM_API_KEY is set")


def _check_llm(profile: LLMProfile, *, required: bool, contact: bool = False) -> PreflightCheck:
    if not profile.configured:
        missing = [
            name
            for name, value in (("YTT_LLM_BASE_URL", profile.base_url), ("YTT_LLM_MODEL", profile.model))
            if not value
        ]
        fallback = "" if required else "; the run will use deterministic formatting"
        return PreflightCheck(
            name="llm",
            ok=False,
            required=required,
            detail=f"no LLM configured ({', '.join(missing)} not set){fallback}",
            hint="Set YTT_LLM_BASE_URL and YTT_LLM_MODEL (and YTT_LLM_API_KEY if the server "
            "needs one) or an [llm] section in the config file.",
        )
    where = f"LLM {profile.model} at {_url_origin(profile.base_url or '')}"
    if not contact:
        return PreflightCheck(name="llm", ok=True, required=required, detail=f"{where} (not contacted)")
    problem, hint = _contact_llm(profile)
    if problem is not None:
        return PreflightCheck(name="llm", ok=False, required=required, detail=f"{where}: {problem}", hint=hint)
    return PreflightCheck(name="llm", ok=True, required=required, detail=f"{where} answers and knows the model")


LLM_CONTACT_TIMEOUT_SECONDS = 5.0


def _contact_llm(profile: LLMProfile) -> tuple[str | None, str | None]:
    """(problem, hint) after one bounded models request to the endpoint; (None, None) when it is fine.

    An endpoint without a model list (404) is taken as reachable: the model is then checked by use."""
    import openai

    key = profile.api_key.get_secret_value() if profile.api_key else "not-needed"
    client = openai.OpenAI(base_url=profile.base_url, api_key=key, timeout=LLM_CONTACT_TIMEOUT_SECONDS,
                           max_retries=0)
    try:
        models = [model.id for model in client.models.list()]
    except openai.AuthenticationError:
        return ("the endpoint refused the key (401)",
                "check YTT_LLM_API_KEY (or api_key in the config file) for this endpoint")
    except openai.PermissionDeniedError:
        return ("the endpoint refused access (403)", "check that the key may use this endpoint and model")
    except openai.NotFoundError:
        return None, None
    except (openai.APIConnectionError, openai.APITimeoutError) as exc:
        return (f"the endpoint does not answer ({type(exc).__name__}: {str(exc)[:120]})",
                "start the LLM server or fix YTT_LLM_BASE_URL; or run without it ({option:llm=none}) or let "
                "the calling agent write ({option:llm=agent})")
    except openai.APIStatusError as exc:
        return (f"the endpoint answered HTTP {exc.status_code} to the model list",
                "check YTT_LLM_BASE_URL: it must be the OpenAI-compatible API root, e.g. http://host:port/v1")
    finally:
        client.close()
    if models and profile.model not in models:
        shown = ", ".join(sorted(models)[:8])
        return (f"the endpoint has no model {profile.model!r} (it offers: {shown})",
                "set YTT_LLM_MODEL (or model in the config file) to one of the models it offers")
    return None, None


def _url_origin(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{port}" if parts.scheme else host
