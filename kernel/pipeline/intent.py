"""The yt-transcript run intent (TaskSpec.params): the single declaration of what a run is asked to do.

``TranscriptParams`` is validated once at create-run, then trusted. The MCP ``create-run`` input schema
and the CLI ``run`` options are generated from its fields (names, allowed values, defaults and help text
come from here; ``CliSpelling`` metadata says how a field is spelled on the command line), and a test
checks the three agree. Cross-field rules live in the model's validator, once.

Precedence: defaults < config file < environment < these per-run values. ``None`` means "use the
settings". Paths are checked against the allowed roots at create time (``parse_params``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from ..config import Settings, is_within_allowed_roots
from ..language_tags import normalize_language_tag
from ..long_text.contracts import TransformMode
from ..output.formats import ALL_FORMATS, OutputFormat, applies, formats_for_mode
from ..source.routing import ForceRoute
from ..source.urls import is_url, validate_source_url
from ..task_runtime.errors import InvalidInputError, PathNotAllowedError, YTTError
from ..transcript import AsrBackend

# endpoint: the configured OpenAI-compatible endpoint; agent: the calling agent writes each chunk (one task
# at a time, verified like an endpoint's reply); none: deterministic formatting.
LlmChoice = Literal["endpoint", "agent", "none"]
Writer = Literal["endpoint", "agent"]


@dataclass(frozen=True)
class CliSpelling:
    """How a field is spelled on the command line (metadata for the CLI generator; ignored elsewhere).

    ``positional``: an argument, not a ``--flag``; ``separator``: a list given as one comma-separated
    value (else the flag is repeated once per item); ``aliases``: extra flags that set a fixed value.
    """

    metavar: str | None = None
    positional: bool = False
    separator: str | None = None
    aliases: tuple[tuple[str, str], ...] = ()


class TranscriptParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, Field(min_length=1, description="a video URL or a local media file path"),
                      CliSpelling(metavar="SOURCE", positional=True)]
    mode: Annotated[TransformMode, Field(
        description="clean (the spoken language, cleaned up), translate (into target_language) or bilingual "
        "(each paragraph followed by its translation)")] = "clean"
    target_language: Annotated[str | None, Field(
        description="language code for translate and bilingual, e.g. 'de' or 'zh-Hans'", validate_default=True),
        CliSpelling(metavar="LANG")] = None
    source_language: Annotated[str | None, Field(description="the spoken language, if known (e.g. 'en')"),
                               CliSpelling(metavar="LANG")] = None
    route: Annotated[ForceRoute, Field(
        description="auto (subtitles when they are a real transcript, else speech recognition), "
        "subtitles or asr")] = "auto"
    asr_backend: Annotated[AsrBackend, Field(
        description="whisper (local) or deepgram (cloud; needs DEEPGRAM_API_KEY)")] = "whisper"
    preferred_languages: Annotated[list[str] | None, Field(
        description="subtitle languages to prefer, most preferred first (default from the settings)"),
        CliSpelling(metavar="LANG,LANG", separator=",")] = None
    output_dir: Annotated[str | None, Field(description="folder for the published outputs"),
                          CliSpelling(metavar="DIR")] = None
    subtitle_encoding: Annotated[str | None, Field(
        description="the text encoding of a local subtitle file that is not UTF-8, when detection is unsure "
        "(e.g. cp1252, utf-16-le, gbk)"), CliSpelling(metavar="ENCODING")] = None
    formats: Annotated[list[OutputFormat], Field(
        description="files to publish: md (the article, always), srt, vtt, json (the transcript's language); "
        "translated_srt, translated_vtt (every cue translated, <name>.<lang>.srt; modes translate and "
        "bilingual); bilingual_srt, bilingual_vtt (source line above its translation, <name>.bi.srt; mode "
        "bilingual); default: every file the mode makes"),
        CliSpelling(metavar="FORMATS", separator=",")] = Field(default_factory=lambda: list(ALL_FORMATS))
    retranslate: Annotated[bool, Field(
        description="translate the subtitle cues even when the source has a manual subtitle track in the "
        "target language (by default that track is used for the translated subtitle files)")] = False
    llm: Annotated[LlmChoice | None, Field(
        description="who rewrites the text: endpoint (the configured OpenAI-compatible endpoint), agent (you, "
        "the caller: each chunk is handed to you as a task and your text is verified) or none (deterministic "
        "formatting); default: endpoint when one is configured, else none"),
        CliSpelling(aliases=(("--no-llm", "none"),))] = None
    llm_profile: Annotated[str | None, Field(
        description="a named [llm_profiles.NAME] section of the config file (default: the [llm] section)"),
        CliSpelling(metavar="NAME")] = None
    timestamps: Annotated[Literal["sections", "paragraphs", "none"], Field(
        description="source times in the article: on section headings (sections), also on every paragraph "
        "(paragraphs), or none; deep links to the video for URL sources")] = "sections"
    glossary: Annotated[list[str], Field(description="names and terms to keep spelled exactly as given"),
                        CliSpelling(metavar="TERM")] = Field(default_factory=list)
    max_llm_requests: Annotated[int | None, Field(ge=1, description="LLM request budget of this run"),
                                CliSpelling(metavar="N")] = None
    max_llm_tokens: Annotated[int | None, Field(ge=1, description="LLM token budget of this run"),
                              CliSpelling(metavar="N")] = None

    @field_validator("target_language", "source_language")
    @classmethod
    def _language_code(cls, value: str | None) -> str | None:
        return None if value is None else normalize_language_tag(value)

    @field_validator("preferred_languages")
    @classmethod
    def _language_codes(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [normalize_language_tag(code) for code in value]

    @field_validator("subtitle_encoding")
    @classmethod
    def _subtitle_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from ..source.subtitles.decode import normalize_encoding_name

        try:
            return normalize_encoding_name(value)
        except YTTError as exc:
            raise ValueError(exc.message) from exc

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[OutputFormat]) -> list[OutputFormat]:
        return sorted({"md", *value}, key=ALL_FORMATS.index)

    @field_validator("target_language")
    @classmethod
    def _target_language_for_translation(cls, value: str | None, info: ValidationInfo) -> str | None:
        mode = info.data.get("mode")
        if mode in ("translate", "bilingual") and not value:
            raise ValueError(f"mode {mode} needs target_language (e.g. 'de' or 'zh-Hans')")
        return value

    @property
    def source_kind(self) -> Literal["url", "file"]:
        return "url" if is_url(self.source) else "file"

    def writer(self, settings: Settings) -> Writer | None:
        """Who rewrites the text: the endpoint, the calling agent, or None (deterministic formatting).
        Unset ``llm`` means the endpoint when one is configured."""
        if self.llm in ("none", "agent"):
            return None if self.llm == "none" else "agent"
        return "endpoint" if settings.llm_profile(self.llm_profile).configured else None

    def output_formats(self) -> list[OutputFormat]:
        """The files this run makes: ``formats`` less those its mode does not make (the default lists all;
        an explicit list was checked against the mode)."""
        return formats_for_mode(self.formats, self.mode)

    def preferred(self, settings: Settings) -> list[str]:
        langs = list(self.preferred_languages or settings.preferred_languages)
        if self.source_language and self.source_language not in langs:
            langs.insert(0, self.source_language)
        return langs

    def output_path(self, settings: Settings) -> Path:
        return Path(self.output_dir).expanduser() if self.output_dir else settings.default_output_dir


def intent_fields() -> list[str]:
    """The intent's field names, in declaration order (what create-run and ``run`` accept)."""
    return list(TranscriptParams.model_fields)


def parse_params(raw: Mapping[str, Any], settings: Settings) -> TranscriptParams:
    """Validate a caller's run intent.

    Raises:
        InvalidInputError: an unknown option, a bad value (names the field and the accepted values).
        PathNotAllowedError: the source or output_dir is outside the allowed roots.
    """
    data = dict(raw)
    source = str(data.get("source") or "").strip()
    if not source:
        raise InvalidInputError("source is required: a URL or a local media file path", code="missing_source",
                                details={"field": "source"})
    if is_url(source):
        data["source"] = validate_source_url(source)
    else:
        path = Path(source).expanduser()
        if not is_within_allowed_roots(path, settings):
            raise PathNotAllowedError(
                f"source {source} is outside the allowed roots",
                hint="move the file under YTT_HOME or the current directory, or add its folder to YTT_ALLOWED_ROOTS",
                details={"field": "source"},
            )
        if not path.exists():
            raise InvalidInputError(f"source file {source} does not exist", code="media_not_found",
                                    hint="check the path; relative paths are taken from the current directory",
                                    details={"field": "source"})
        if path.is_dir():
            raise InvalidInputError(f"source {source} is a directory, not a media file", code="media_is_directory",
                                    hint="pass the media file itself", details={"field": "source"})
        data["source"] = str(path.resolve())
    if data.get("output_dir"):
        out = Path(str(data["output_dir"])).expanduser()
        if not is_within_allowed_roots(out, settings):
            raise PathNotAllowedError(f"output_dir {data['output_dir']} is outside the allowed roots",
                                      hint="choose a folder under YTT_HOME or the current directory, or set "
                                      "YTT_ALLOWED_ROOTS", details={"field": "output_dir"})
        data["output_dir"] = str(out.resolve())
    try:
        params = TranscriptParams.model_validate(data)
    except ValidationError as exc:
        raise invalid_option(exc) from exc
    # The default (every format, which some clients send as given) lets the mode pick its own; a list the
    # caller chose must not ask for a file the mode cannot make.
    chosen = set(params.formats) != set(ALL_FORMATS)
    misplaced = [fmt for fmt in params.formats if not applies(fmt, params.mode)] if chosen else []
    if misplaced:
        raise InvalidInputError(
            f"invalid value for formats: {', '.join(misplaced)} cannot be made in mode {params.mode}",
            code="invalid_option",
            hint="translated_srt and translated_vtt need mode translate or bilingual; bilingual_srt and "
            "bilingual_vtt need mode bilingual",
            details={"field": "formats", "allowed": [f for f in ALL_FORMATS if applies(f, params.mode)]},
        )
    profile = settings.llm_profile(params.llm_profile)  # raises ConfigError for an unknown profile
    if params.llm == "endpoint" and not profile.configured:
        raise InvalidInputError(
            "llm is endpoint, but no LLM endpoint is configured",
            code="llm_not_configured",
            hint="set YTT_LLM_BASE_URL and YTT_LLM_MODEL (and YTT_LLM_API_KEY) or an llm profile in the config "
            "file, or let the calling agent write the text: {option:llm=agent}",
            details={"field": "llm"},
        )
    if params.mode in ("translate", "bilingual") and params.writer(settings) is None:
        raise InvalidInputError(
            f"mode {params.mode} needs an LLM, and none is configured" if params.llm != "none"
            else f"mode {params.mode} needs an LLM, and llm is none",
            code="llm_required",
            hint="let the calling agent translate ({option:llm=agent}), or set YTT_LLM_BASE_URL and "
            "YTT_LLM_MODEL (and YTT_LLM_API_KEY) or an llm profile in the config file",
            details={"field": "llm"},
        )
    return params


def invalid_option(exc: ValidationError) -> InvalidInputError:
    """The caller-facing error for the first problem pydantic found: field, allowed values, input."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "params"
    top = field.split(".")[0]
    details: dict[str, Any] = {"field": field, "input": repr(first.get("input"))[:200]}
    allowed = allowed_values(top)
    if allowed:
        details["allowed"] = allowed
    message = first["msg"].removeprefix("Value error, ")
    given = first.get("input")
    shown = f" ({given!r})" if isinstance(given, str | int | float) and not isinstance(given, bool) else ""
    info = TranscriptParams.model_fields.get(top)
    if allowed:
        hint = f"use one of: {', '.join(allowed)}"
    elif info is not None and info.description:
        hint = f"give {{option:{top}}} a valid value: {info.description}"
    else:
        hint = "see the run options for what each accepts"
    return InvalidInputError(
        f"invalid value for {field}{shown}: {message}",
        code="unknown_option" if first["type"] == "extra_forbidden" else "invalid_option",
        hint=hint,
        details=details,
    )


def allowed_values(field: str) -> list[str]:
    """The allowed values of a field whose type is a Literal (or a list or optional of one); else []."""
    info = TranscriptParams.model_fields.get(field)
    if info is None:
        return []
    return literal_values(info.annotation)


def literal_values(annotation: Any) -> list[str]:
    from typing import get_args, get_origin

    origin = get_origin(annotation)
    if origin is Literal:
        return [str(v) for v in get_args(annotation)]
    values: list[str] = []
    for arg in get_args(annotation):
        values.extend(v for v in literal_values(arg) if v not in values)
    return values
