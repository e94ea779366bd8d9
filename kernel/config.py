"""Settings: defaults < config file < environment < per-run TaskSpec.

The config file is TOML, found at ``$YTT_CONFIG`` or ``$YTT_HOME/config.toml``. Environment variables
override it; the per-run TaskSpec (see ``kernel.pipeline``) overrides both for that run only.

Secrets (LLM and Deepgram keys) come only from the environment (or the config file, for people who
keep one private) and are ``SecretStr``: they never appear in ``repr``, JSON dumps, the work_dir or
telemetry. ``Settings.public_dict()`` is the only form that may be persisted or shown.

Environment variables:
    YTT_HOME                root for runs (``runs/``) and default outputs (``output/``); default ``~/.yt-transcript``
    YTT_CONFIG              path of the TOML config file
    YTT_ALLOWED_ROOTS       extra allowed roots, separated by ``os.pathsep``
    YTT_LLM_BASE_URL, YTT_LLM_API_KEY, YTT_LLM_MODEL, YTT_LLM_PROFILE, YTT_LLM_CONCURRENCY
    YTT_WHISPER_MODEL       ``bundled:base`` (default), a model name, or a model directory
    DEEPGRAM_API_KEY, YTT_DEEPGRAM_BASE_URL
    YTT_PROXY, YTT_COOKIES_FILE, YTT_COOKIES_FROM_BROWSER
    YTT_JS_RUNTIME          JavaScript runtime for yt-dlp's YouTube challenges: ``bundled`` (default: the deno
                            binary of the ``deno`` package), ``deno``, ``node``, ``bun`` or ``quickjs``
    YTT_JS_RUNTIME_PATH     that runtime's executable (default: yt-dlp looks for it)
    YTT_PREFERRED_LANGUAGES comma-separated language codes, most preferred first
    YTT_REQUESTS_PER_SECOND requests per second to one host (network.requests_per_second; YouTube has its own,
                            lower default in network.host_rate_limits)
    YTT_CONCURRENCY         items of a batch processed at once (batch.concurrency; default from the machine)
    YTT_EXECUTOR            how batch items run: ``local`` (a process pool, default) or ``celery``
    YTT_BROKER_URL          the Celery broker (and result backend), e.g. ``redis://host:6379/0``
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from .task_runtime.errors import InvalidInputError


class ConfigError(InvalidInputError):
    """The configuration (file, environment or TaskSpec override) is invalid; the message says where."""

    code = "config_error"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMProfile(_Section):
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    context_window: int = Field(default=8192, ge=1024)
    max_output_tokens: int = Field(default=4096, ge=256)
    timeout_seconds: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=20)
    concurrency: int = Field(default=4, ge=1, le=64)
    temperature: float = Field(default=0.2, ge=0, le=2)
    streaming: bool = True
    max_requests: int | None = Field(default=None, ge=1)
    max_tokens_total: int | None = Field(default=None, ge=1)
    # Optional prices (any currency) per 1,000 tokens; when set, the quality report shows the run's cost.
    price_per_1k_prompt_tokens: float | None = Field(default=None, ge=0)
    price_per_1k_completion_tokens: float | None = Field(default=None, ge=0)

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)

    def prices(self) -> dict[str, float]:
        """The prices that are set, keyed as ``kernel.output.quality.usage_totals`` expects them."""
        prices = {"price_per_1k_prompt_tokens": self.price_per_1k_prompt_tokens,
                  "price_per_1k_completion_tokens": self.price_per_1k_completion_tokens}
        return {key: value for key, value in prices.items() if value is not None}


class WhisperSettings(_Section):
    """faster-whisper settings, chosen with ``python -m benchmarks.asr``: VAD clips decoded in batches (as fast
    as faster-whisper's own batched pipeline with word timestamps, several times faster than sequential
    decoding), beam 5 (smaller beams lost words), word timestamps (subtitle and paragraph times), and a batch
    size that keeps pause and cancel within about 2 s."""

    model: str = "bundled:base"
    compute_type: str = "int8"
    beam_size: int = Field(default=5, ge=1, le=10)
    # true: VAD clips decoded in batches (faster-whisper's batched path, with stop points between model calls);
    # false: faster-whisper's sequential decoding (temperature fallback, timestamp tokens), several times slower.
    batched: bool = True
    batch_size: int = Field(default=0, ge=0, le=64, description="clips per decoder call; 0: one per two usable cores, 1 to 8")
    vad: bool = Field(default=True, description="sequential decoding only; the batched path always uses VAD")
    word_timestamps: bool = True
    window_seconds: float = Field(default=300.0, gt=10, description="audio per checkpoint")
    first_window_seconds: float = Field(default=30.0, gt=5, description="audio in the first checkpoint: the draft's "
                                        "first words come after this much audio is recognized")
    cpu_threads: int = Field(default=0, ge=0, description="0: the CPU cores this process may use")


class DeepgramSettings(_Section):
    api_key: SecretStr | None = None
    base_url: str | None = None
    model: str = "nova-3"
    max_part_seconds: float = Field(default=1800.0, gt=10)


# YouTube flags addresses that fetch many pages fast (bot checks, IP bans after long playlists): one request
# every two seconds to its pages by default; its media servers tolerate more.
DEFAULT_HOST_RATE_LIMITS: dict[str, float] = {"youtube.com": 0.5, "youtu.be": 0.5, "googlevideo.com": 2.0}


class NetworkSettings(_Section):
    proxy: str | None = None
    cookies_file: str | None = None
    # yt-dlp's --cookies-from-browser value: BROWSER[+KEYRING][:PROFILE][::CONTAINER], e.g. "firefox"
    cookies_from_browser: str | None = None
    socket_timeout: float = Field(default=30.0, gt=0)
    # Politeness: requests per second to one host, shared by every process of this YTT_HOME (see
    # kernel.source.politeness). A host matches a key of host_rate_limits when it is that domain or a subdomain.
    requests_per_second: float = Field(default=2.0, gt=0, le=100)
    host_rate_limits: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_HOST_RATE_LIMITS))
    rate_jitter: float = Field(default=0.3, ge=0, le=2)  # each gap is stretched by up to this fraction, at random
    host_block_minutes: float = Field(default=60.0, gt=0)  # how long a bot check stops requests to a host


def default_concurrency() -> int:
    """Items of a batch processed at once by default: one per core, at most 4 (each item may run ASR)."""
    return max(1, min(4, os.cpu_count() or 1))


class BatchSettings(_Section):
    """How batches run their items (``kernel.pipeline.batch``) and how the watch folder behaves."""

    concurrency: int = Field(default_factory=default_concurrency, ge=1, le=64)
    executor: Literal["local", "celery"] = "local"
    broker_url: str | None = None  # the Celery broker and result backend (redis://...)
    watch_stable_seconds: float = Field(default=5.0, ge=0)  # size and mtime unchanged this long: the file is complete
    watch_rescan_seconds: float = Field(default=60.0, gt=0)  # periodic rescan, in case filesystem events are lost
    watch_max_failures: int = Field(default=3, ge=1)  # then the file is marked failed and left alone
    watch_failure_cooldown_seconds: float = Field(default=300.0, ge=0)  # wait before retrying a failed file


JS_RUNTIMES = ("deno", "node", "bun", "quickjs")  # the runtimes yt-dlp can run its challenge solver with
BUNDLED_JS_RUNTIME: Literal["bundled"] = "bundled"


class YtdlpSettings(_Section):
    """How yt-dlp solves YouTube's JavaScript challenges.

    ``js_runtime = "bundled"`` is the deno binary installed with this project (the PyPI ``deno`` package);
    a runtime name uses that runtime, at ``js_runtime_path`` when given, else wherever yt-dlp finds it.
    """

    js_runtime: Literal["bundled", "deno", "node", "bun", "quickjs"] = BUNDLED_JS_RUNTIME
    js_runtime_path: str | None = None

    @model_validator(mode="after")
    def _path_needs_a_named_runtime(self) -> YtdlpSettings:
        if self.js_runtime_path and self.js_runtime == BUNDLED_JS_RUNTIME:
            raise ValueError("js_runtime_path needs js_runtime set to one of " + ", ".join(JS_RUNTIMES))
        return self


class Settings(_Section):
    home: Path
    allowed_roots: list[Path] = Field(default_factory=list)
    preferred_languages: list[str] = Field(default_factory=lambda: ["en"])
    llm: LLMProfile = Field(default_factory=LLMProfile)
    llm_profiles: dict[str, LLMProfile] = Field(default_factory=dict)
    whisper: WhisperSettings = Field(default_factory=WhisperSettings)
    deepgram: DeepgramSettings = Field(default_factory=DeepgramSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    ytdlp: YtdlpSettings = Field(default_factory=YtdlpSettings)
    batch: BatchSettings = Field(default_factory=BatchSettings)
    # The endpoint rewrites settled chunks while speech recognition still runs (kernel.pipeline.overlap);
    # the article is the same either way, only sooner.
    overlap: bool = True

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def default_output_dir(self) -> Path:
        return self.home / "output"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    def llm_profile(self, name: str | None) -> LLMProfile:
        """The named LLM profile, or the default one when ``name`` is None."""
        if name is None:
            return self.llm
        try:
            return self.llm_profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.llm_profiles)) or "none"
            raise ConfigError(f"unknown LLM profile {name!r}; profiles in the config file: {known}",
                              hint=f"use one of the profiles, or add a [llm_profiles.{name}] section (base_url, "
                              "model) to the config file") from None

    def public_dict(self) -> dict[str, Any]:
        """Settings without secrets and without machine paths, safe to persist or show: keys are "set" or
        None, file paths their last component, a proxy URL without its credentials."""
        data = self.model_dump(mode="json", exclude={"home", "allowed_roots"})
        for section in [data["llm"], data["deepgram"], *data["llm_profiles"].values()]:
            section["api_key"] = "set" if section.get("api_key") else None
        for section, key in (("ytdlp", "js_runtime_path"), ("network", "cookies_file")):
            if data[section].get(key):
                data[section][key] = Path(data[section][key]).name
        if data["network"].get("proxy"):
            data["network"]["proxy"] = _without_credentials(data["network"]["proxy"])
        if data["batch"].get("broker_url"):
            data["batch"]["broker_url"] = _without_credentials(data["batch"]["broker_url"])
        return data


def _without_credentials(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


ENV_VARIABLES: list[tuple[str, str | None, str]] = [
        ("YTT_LLM_BASE_URL", "llm", "base_url"),
        ("YTT_LLM_API_KEY", "llm", "api_key"),
        ("YTT_LLM_MODEL", "llm", "model"),
        ("YTT_LLM_CONCURRENCY", "llm", "concurrency"),
        ("YTT_WHISPER_MODEL", "whisper", "model"),
        ("DEEPGRAM_API_KEY", "deepgram", "api_key"),
        ("YTT_DEEPGRAM_BASE_URL", "deepgram", "base_url"),
        ("YTT_PROXY", "network", "proxy"),
        ("YTT_COOKIES_FILE", "network", "cookies_file"),
        ("YTT_COOKIES_FROM_BROWSER", "network", "cookies_from_browser"),
        ("YTT_JS_RUNTIME", "ytdlp", "js_runtime"),
        ("YTT_JS_RUNTIME_PATH", "ytdlp", "js_runtime_path"),
        ("YTT_REQUESTS_PER_SECOND", "network", "requests_per_second"),
        ("YTT_CONCURRENCY", "batch", "concurrency"),
        ("YTT_EXECUTOR", "batch", "executor"),
        ("YTT_BROKER_URL", "batch", "broker_url"),
        ("YTT_OVERLAP", None, "overlap"),
]


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def put(section: str | None, key: str, value: Any) -> None:
        target = out if section is None else out.setdefault(section, {})
        target[key] = value

    for var, section, key in ENV_VARIABLES:
        if env.get(var):
            put(section, key, env[var])
    if env.get("YTT_PREFERRED_LANGUAGES"):
        put(None, "preferred_languages", [p.strip() for p in env["YTT_PREFERRED_LANGUAGES"].split(",") if p.strip()])
    return out


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def default_home(env: Mapping[str, str]) -> Path:
    if env.get("YTT_HOME"):
        return Path(env["YTT_HOME"]).expanduser().resolve()
    return (Path.home() / ".yt-transcript").resolve()


def load_settings(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Build the effective settings.

    Raises:
        ConfigError: the config file is unreadable or a value is invalid (the message names it).
    """
    env = os.environ if env is None else env
    home = default_home(env)
    config_path = Path(env["YTT_CONFIG"]).expanduser() if env.get("YTT_CONFIG") else home / "config.toml"
    file_data: dict[str, Any] = {}
    if config_path.is_file():
        try:
            file_data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {config_path}: {exc}",
                              hint="fix the TOML at the place named (or move the file away to use the defaults)"
                              ) from exc
    data = _merge(file_data, _env_overrides(env))
    if env.get("YTT_LLM_PROFILE"):
        profile = (file_data.get("llm_profiles") or {}).get(env["YTT_LLM_PROFILE"])
        if profile is None:
            known = ", ".join(sorted(file_data.get("llm_profiles") or {})) or "none"
            raise ConfigError(f"YTT_LLM_PROFILE={env['YTT_LLM_PROFILE']!r} names no profile in {config_path} "
                              f"(profiles: {known})",
                              hint="unset YTT_LLM_PROFILE, set it to one of the profiles, or add a "
                              "[llm_profiles.NAME] section to the config file")
        data["llm"] = _merge(profile, data.get("llm", {}))
    roots = [home, (cwd or Path.cwd()).resolve()]
    roots += [Path(r).expanduser().resolve() for r in data.pop("allowed_roots", [])]
    if env.get("YTT_ALLOWED_ROOTS"):
        roots += [Path(r).expanduser().resolve() for r in env["YTT_ALLOWED_ROOTS"].split(os.pathsep) if r]
    try:
        return Settings(home=home, allowed_roots=roots, **data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        variables = [var for var, section, key in ENV_VARIABLES if f"{section}.{key}" == where]
        source = f"the environment ({variables[0]})" if variables and env.get(variables[0]) else f"config file {config_path}"
        raise ConfigError(f"invalid setting {where}: {first['msg']} (from {source})",
                          hint=f"fix {where} in {'that variable' if source.startswith('the environment') else 'the file'}"
                          "; the README's configuration table lists every setting") from exc


def describe_settings(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> dict[str, Any]:
    """The effective settings (``public_dict``) and where each value came from: ``default``, ``config file``
    or the environment variable that set it (the per-run options of a run override them for that run).

    Raises:
        ConfigError: as ``load_settings``.
    """
    env = os.environ if env is None else env
    settings = load_settings(env, cwd)
    home = default_home(env)
    config_path = Path(env["YTT_CONFIG"]).expanduser() if env.get("YTT_CONFIG") else home / "config.toml"
    file_data = tomllib.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    from_env = {(section, key): var for var, section, key in ENV_VARIABLES if env.get(var)}
    if env.get("YTT_PREFERRED_LANGUAGES"):
        from_env[(None, "preferred_languages")] = "YTT_PREFERRED_LANGUAGES"
    rows: list[dict[str, Any]] = []
    for section, values in settings.public_dict().items():
        items = values.items() if isinstance(values, dict) and section != "llm_profiles" else [(None, values)]
        for key, value in items:
            name = f"{section}.{key}" if key is not None else section
            origin_key = (section, key) if key is not None else (None, section)
            in_file = section in file_data if key is None else key in (file_data.get(section) or {})
            source = (f"environment ({from_env[origin_key]})" if origin_key in from_env
                      else "config file" if in_file else "default")
            rows.append({"setting": name, "value": value, "source": source})
    return {"config_file": config_path.name if config_path.is_file() else None,
            "home": "YTT_HOME" if env.get("YTT_HOME") else "default (~/.yt-transcript)",
            "llm_profile": env.get("YTT_LLM_PROFILE"), "settings": rows}


def is_within_allowed_roots(path: Path, settings: Settings) -> bool:
    resolved = path.expanduser().resolve()
    return any(resolved == root or root in resolved.parents for root in settings.allowed_roots)
