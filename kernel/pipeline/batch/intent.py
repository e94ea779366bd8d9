"""The batch intent: many sources, one set of item options, and the batch's own options.

A create request is a batch when it has several sources (``source`` plus ``sources``), a folder, a list file
(``@list.txt``: one source a line, blank lines and ``#`` comments ignored), a playlist, channel or feed URL, or
any batch option (``BATCH_FIELDS``). ``is_batch_request`` decides; it is pure apart from asking whether a path is
a folder.

``BatchParams`` (the batch's TaskSpec.params) holds the sources after ``@`` lists are read, the item options
(every ``TranscriptParams`` field but ``source``, validated with the same ``parse_params`` an ordinary run uses)
and the batch options. Items are validated again, each with its real source, when its run is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...config import Settings, is_within_allowed_roots
from ...source.listing import is_collection_url, normalize_date
from ...source.local import is_media_file
from ...source.urls import is_url, validate_source_url
from ...task_runtime.errors import InvalidInputError, PathNotAllowedError
from ..intent import CliSpelling, TranscriptParams, invalid_option, parse_params

# A syntactically valid URL that is never opened (the .invalid TLD cannot resolve): the item options are
# validated by the one ``parse_params`` an ordinary run uses, with this standing in for the item's source.
OPTIONS_PROBE_SOURCE = "https://options-check.invalid/item"
MAX_LIST_FILE_LINES = 10_000


class BatchOptions(BaseModel):
    """The options only a batch has (front ends add them to the run options; none is an item option)."""

    model_config = ConfigDict(extra="forbid")

    sources: Annotated[list[str] | None, Field(
        description="batches: more sources besides source (URLs, media files, folders, @list.txt files)"),
        CliSpelling(metavar="SOURCE")] = None
    limit: Annotated[int | None, Field(ge=1, description="batches: at most N videos from each playlist or channel"),
                     CliSpelling(metavar="N")] = None
    since: Annotated[str | None, Field(
        description="batches: only videos of playlists and channels uploaded on or after DATE (YYYY-MM-DD)"),
        CliSpelling(metavar="DATE")] = None
    match: Annotated[str | None, Field(
        description="batches: only videos of playlists and channels whose title contains TEXT (any case)"),
        CliSpelling(metavar="TEXT")] = None
    force: Annotated[bool | None, Field(
        description="batches: redo items an earlier run already finished with the same settings")] = None
    concurrency: Annotated[int | None, Field(ge=1, le=64, description="batches: items processed at once "
                                             "(default from the machine)"), CliSpelling(metavar="N")] = None


BATCH_FIELDS: tuple[str, ...] = tuple(BatchOptions.model_fields)


class BatchParams(BaseModel):
    """``TaskSpec.params`` of a batch."""

    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(min_length=1)  # URLs (validated), absolute paths of files and folders
    item: dict[str, Any]  # the item options: TranscriptParams fields except source, as parse_params left them
    limit: int | None = None
    since: str | None = None  # yyyy-mm-dd
    match: str | None = None
    force: bool = False
    concurrency: int | None = None

    def item_params(self, source: str, *, output_dir: str | None = None) -> dict[str, Any]:
        """The raw intent of one item's run."""
        raw = {**self.item, "source": source}
        if output_dir is not None:
            raw["output_dir"] = output_dir
        return raw

    def output_path(self, settings: Settings) -> Path:
        folder = self.item.get("output_dir")
        return Path(folder) if folder else settings.default_output_dir


def _given(raw: Mapping[str, Any], name: str) -> bool:
    value = raw.get(name)
    return value is not None and value != [] and value is not False


def is_batch_request(raw: Mapping[str, Any]) -> bool:
    """Whether a create request makes a batch (see the module docstring)."""
    if any(_given(raw, name) for name in BATCH_FIELDS):
        return True
    source = str(raw.get("source") or "").strip()
    if not source:
        return False
    if source.startswith("@"):
        return True
    if is_url(source):
        return is_collection_url(source)
    return Path(source).expanduser().is_dir()


def read_list_file(path_text: str, settings: Settings) -> list[str]:
    """The sources a ``@list.txt`` names, in order.

    Raises:
        InvalidInputError: the file is missing, unreadable, empty, names another list, or is too long.
        PathNotAllowedError: it is outside the allowed roots.
    """
    path = Path(path_text).expanduser()
    if not is_within_allowed_roots(path, settings):
        raise PathNotAllowedError(f"list file {path_text} is outside the allowed roots", details={"field": "source"},
                                  hint="move it under YTT_HOME or the current directory, or add its folder to "
                                  "YTT_ALLOWED_ROOTS")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read list file {path_text}: {exc}", code="list_file_unreadable",
                                hint="pass a UTF-8 text file with one URL or path per line",
                                details={"field": "source"}) from exc
    sources = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not sources:
        raise InvalidInputError(f"list file {path_text} names no source", code="list_file_empty",
                                hint="write one URL or media path per line", details={"field": "source"})
    if len(sources) > MAX_LIST_FILE_LINES:
        raise InvalidInputError(f"list file {path_text} has {len(sources)} sources; at most "
                                f"{MAX_LIST_FILE_LINES} are read", code="list_file_too_long",
                                details={"field": "source"}, hint="split it into several lists")
    if any(source.startswith("@") for source in sources):
        raise InvalidInputError(f"list file {path_text} names another list file", code="list_file_nested",
                                hint="put the sources themselves in one list", details={"field": "source"})
    # Relative paths in a list are relative to the list's folder.
    return [s if is_url(s) or Path(s).expanduser().is_absolute() else str(path.parent / s) for s in sources]


def check_source(source: str, settings: Settings) -> str:
    """A batch source as it is stored: a validated URL, or the absolute path of a file or folder.

    Raises:
        InvalidInputError: a bad URL, or a path that does not exist (code ``media_not_found``).
        PathNotAllowedError: a path outside the allowed roots.
    """
    if is_url(source):
        return validate_source_url(source)
    path = Path(source).expanduser()
    if not is_within_allowed_roots(path, settings):
        raise PathNotAllowedError(f"source {source} is outside the allowed roots", details={"field": "source"},
                                  hint="move it under YTT_HOME or the current directory, or add its folder to "
                                  "YTT_ALLOWED_ROOTS")
    if not path.exists():
        raise InvalidInputError(f"source {source} does not exist", code="media_not_found",
                                hint="check the path; relative paths are taken from the current directory",
                                details={"field": "source"})
    if path.is_dir() and not any(is_media_file(p) for p in path.rglob("*")):
        raise InvalidInputError(f"folder {source} holds no media file", code="folder_has_no_media",
                                hint="pass a folder with video or audio files (subfolders are searched too)",
                                details={"field": "source"})
    return str(path.resolve())


def parse_batch_params(raw: Mapping[str, Any], settings: Settings) -> BatchParams:
    """Validate a batch request.

    Raises:
        InvalidInputError: an unknown option, a bad value or source (names the field), a bad list file.
        PathNotAllowedError: a source, list file or output_dir outside the allowed roots.
    """
    data = dict(raw)
    unknown = sorted(set(data) - set(TranscriptParams.model_fields) - set(BATCH_FIELDS))
    if unknown:
        raise InvalidInputError(f"unknown option {unknown[0]!r}", code="unknown_option", details={"field": unknown[0]})
    try:
        options = BatchOptions.model_validate({name: data.pop(name) for name in BATCH_FIELDS if name in data})
    except ValidationError as exc:
        raise invalid_option(exc) from exc
    given = [str(data.pop("source", "") or "").strip(), *(s.strip() for s in options.sources or [])]
    given = [s for s in given if s]
    if not given:
        raise InvalidInputError("source is required: a URL, a media file, a folder or @list.txt",
                                code="missing_source", details={"field": "source"})
    sources: list[str] = []
    for source in given:
        expanded = read_list_file(source[1:], settings) if source.startswith("@") else [source]
        for one in expanded:
            checked = check_source(one, settings)
            if checked not in sources:
                sources.append(checked)
    item = parse_params({**data, "source": OPTIONS_PROBE_SOURCE}, settings).model_dump(mode="json")
    item.pop("source")
    since = None
    if options.since:
        try:
            since = normalize_date(options.since)
        except ValueError as exc:
            raise InvalidInputError(f"invalid value for since: {exc}", code="invalid_option",
                                    hint="write the date as YYYY-MM-DD", details={"field": "since"}) from exc
    match = options.match.strip() if options.match and options.match.strip() else None
    return BatchParams(sources=sources, item=item, limit=options.limit, since=since, match=match,
                       force=bool(options.force), concurrency=options.concurrency)
