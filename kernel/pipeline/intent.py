"""The yt-transcript run intent (TaskSpec.params): validated once at create-run, then trusted.

Precedence: defaults < config file < environment < these per-run values. ``None`` here means "use
the settings". Paths are checked against the allowed roots at create time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import Settings, is_within_allowed_roots
from ..task_runtime.errors import InvalidInputError, PathNotAllowedError

OutputName = Literal["markdown", "srt", "vtt", "json"]
ALL_OUTPUTS: list[OutputName] = ["markdown", "srt", "vtt", "json"]


class TranscriptParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    source_kind: Literal["url", "file"]
    mode: Literal["clean", "translate", "bilingual"] = "clean"
    target_language: str | None = None
    source_language: str | None = None
    route: Literal["auto", "subtitles", "asr"] = "auto"
    asr_backend: Literal["whisper", "deepgram"] = "whisper"
    preferred_languages: list[str] | None = None
    output_dir: str | None = None
    outputs: list[OutputName] = Field(default_factory=lambda: list(ALL_OUTPUTS))
    llm_profile: str | None = None
    use_llm: bool = True
    glossary: list[str] = Field(default_factory=list)
    max_llm_requests: int | None = Field(default=None, ge=1)
    max_llm_tokens: int | None = Field(default=None, ge=1)
    # Source times in the article: on section headings (default), also on every paragraph, or none.
    timestamps: Literal["sections", "paragraphs", "none"] = "sections"

    @field_validator("target_language", "source_language")
    @classmethod
    def _language_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value or len(value) > 20 or not all(c.isalnum() or c == "-" for c in value):
            raise ValueError("must be a language code such as 'en', 'de' or 'zh-Hans'")
        return value

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, value: list[OutputName]) -> list[OutputName]:
        if "markdown" not in value:
            value = ["markdown", *value]
        return sorted(set(value), key=ALL_OUTPUTS.index)

    def preferred(self, settings: Settings) -> list[str]:
        langs = list(self.preferred_languages or settings.preferred_languages)
        if self.source_language and self.source_language not in langs:
            langs.insert(0, self.source_language)
        return langs

    def output_path(self, settings: Settings) -> Path:
        return Path(self.output_dir).expanduser() if self.output_dir else settings.default_output_dir


def parse_params(raw: Mapping[str, Any], settings: Settings) -> TranscriptParams:
    """Validate a caller's run intent.

    Raises:
        InvalidInputError: an unknown option, a bad value (names the field and the accepted values).
        PathNotAllowedError: the source or output_dir is outside the allowed roots.
        SourceError: a local source is missing or a directory.
    """
    data = dict(raw)
    source = str(data.get("source") or "").strip()
    if not source:
        raise InvalidInputError("source is required: a URL or a local media file path", code="missing_source")
    from ..source.urls import is_url, validate_source_url

    if is_url(source):
        data["source"] = validate_source_url(source)
        data["source_kind"] = "url"
    else:
        path = Path(source).expanduser()
        if not is_within_allowed_roots(path, settings):
            raise PathNotAllowedError(
                f"source {source} is outside the allowed roots",
                hint="move the file under YTT_HOME or the current directory, or add its folder to YTT_ALLOWED_ROOTS",
            )
        if not path.exists():
            raise InvalidInputError(f"source file {source} does not exist", code="media_not_found",
                              hint="check the path; relative paths are taken from the current directory")
        if path.is_dir():
            raise InvalidInputError(f"source {source} is a directory, not a media file", code="media_is_directory",
                              hint="pass the media file itself")
        data["source"] = str(path.resolve())
        data["source_kind"] = "file"
    if data.get("output_dir"):
        out = Path(str(data["output_dir"])).expanduser()
        if not is_within_allowed_roots(out, settings):
            raise PathNotAllowedError(f"output_dir {data['output_dir']} is outside the allowed roots",
                                      hint="choose a folder under YTT_HOME or the current directory, or set YTT_ALLOWED_ROOTS")
        data["output_dir"] = str(out.resolve())
    try:
        params = TranscriptParams.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "params"
        raise InvalidInputError(
            f"invalid value for {field}: {first['msg']}",
            code="invalid_option",
            hint=_option_hint(field),
            details={"field": field, "input": repr(first.get("input"))[:200]},
        ) from exc
    if params.mode in ("translate", "bilingual") and not params.target_language:
        raise InvalidInputError(f"mode {params.mode} needs target_language (e.g. 'de' or 'zh-Hans')",
                                code="invalid_option", details={"field": "target_language"})
    profile = settings.llm_profile(params.llm_profile)  # raises ConfigError for an unknown profile
    if params.mode in ("translate", "bilingual") and not (params.use_llm and profile.configured):
        raise InvalidInputError(
            f"mode {params.mode} needs an LLM, and none is configured",
            code="llm_required",
            hint="set YTT_LLM_BASE_URL and YTT_LLM_MODEL (and YTT_LLM_API_KEY) or an llm profile in the config file",
        )
    return params


def _option_hint(field: str) -> str:
    hints = {
        "mode": "use one of: clean, translate, bilingual",
        "route": "use one of: auto, subtitles, asr",
        "asr_backend": "use one of: whisper, deepgram",
        "outputs": "choose from: markdown, srt, vtt, json",
        "timestamps": "use one of: sections, paragraphs, none",
    }
    return hints.get(field.split(".")[0], "see `yt-transcript run --help` for accepted values")
