"""Publishing a run's files into its output folder, never replacing a file the run did not write itself.

Invariants:
- All of a run's files share one stem: the first of ``<stem>``, ``<stem> [<tag>]``, ``<stem> [<tag>] (2)``,
  ... for which every target either does not exist or still holds exactly what this run published there
  (its fingerprint was recorded). So a second video with the same title gets its own names, and a file
  someone edited after publishing is never overwritten.
- Restoring a published run copies back only missing files; an edited file is left as it is and reported.
- Every copy is atomic (``atomic_copy``); a folder that cannot be written gives ``output_dir_not_writable``
  naming the folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..task_runtime.canonical import fingerprint_file
from ..task_runtime.errors import YTTError
from ..task_runtime.store import atomic_copy

MAX_STEM_CANDIDATES = 50


class PublishError(YTTError):
    """The outputs cannot be written into the output folder (``details['folder']`` names it)."""

    code = "output_dir_not_writable"


@dataclass(frozen=True)
class Publication:
    files: dict[str, str]  # output name -> published file name
    fingerprints: dict[str, str]  # published file name -> fingerprint of what was written
    notes: list[str] = field(default_factory=list)


def _is_ours(target: Path, owned: Mapping[str, str]) -> bool:
    recorded = owned.get(target.name)
    return recorded is not None and target.is_file() and fingerprint_file(target) == recorded


def choose_stem(output_dir: Path, stem: str, tag: str | None, suffixes: list[str], owned: Mapping[str, str]) -> str:
    """The first stem whose every file name is free in ``output_dir`` or already this run's own."""
    candidates = [stem]
    if tag:
        candidates += [f"{stem} [{tag}]"] + [f"{stem} [{tag}] ({n})" for n in range(2, MAX_STEM_CANDIDATES)]
    else:
        candidates += [f"{stem} ({n})" for n in range(2, MAX_STEM_CANDIDATES)]
    for candidate in candidates:
        targets = [output_dir / f"{candidate}{suffix}" for suffix in suffixes]
        if all(not target.exists() or _is_ours(target, owned) for target in targets):
            return candidate
    raise PublishError(f"{output_dir} already holds {MAX_STEM_CANDIDATES} sets of files named like {stem!r}",
                       hint="move some of them away, or choose another folder with {option:output_dir}",
                       details={"folder": str(output_dir)})


def publish_files(sources: Mapping[str, Path], stem: str, output_dir: Path, *, tag: str | None = None,
                  owned: Mapping[str, str] | None = None) -> Publication:
    """Copy each ``sources`` file (output name -> artifact whose name starts with ``stem``) into
    ``output_dir`` under one free stem.

    Raises:
        PublishError: the folder cannot be created or written.
    """
    owned = owned or {}
    suffixes = {name: path.name[len(stem):] for name, path in sources.items()}
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        chosen = choose_stem(output_dir, stem, tag, list(suffixes.values()), owned)
        files: dict[str, str] = {}
        fingerprints: dict[str, str] = {}
        for name, source in sorted(sources.items()):
            target = output_dir / f"{chosen}{suffixes[name]}"
            if not _is_ours(target, owned) or fingerprint_file(target) != fingerprint_file(source):
                atomic_copy(source, target)
            files[name] = target.name
            fingerprints[target.name] = fingerprint_file(target)
    except OSError as exc:
        raise _not_writable(output_dir, exc) from exc
    notes = [f"{stem!r} was taken in {output_dir.name}: published as {chosen!r}"] if chosen != stem else []
    return Publication(files=files, fingerprints=fingerprints, notes=notes)


def restore_files(sources: Mapping[str, Path], files: Mapping[str, str], fingerprints: Mapping[str, str],
                  output_dir: Path) -> list[str]:
    """Copy back every published file that is missing; returns notes on what was restored or left alone.

    Raises:
        PublishError: the folder cannot be written.
    """
    notes: list[str] = []
    for name, file_name in sorted(files.items()):
        target = output_dir / file_name
        source = sources.get(name)
        if target.is_file():
            if fingerprints.get(file_name) and fingerprint_file(target) != fingerprints[file_name]:
                notes.append(f"{file_name} was changed after publishing; left as it is")
            continue
        if source is None or not source.is_file():
            notes.append(f"{file_name} is missing and the run no longer has its source file; start a new run")
            continue
        try:
            atomic_copy(source, target)
        except OSError as exc:
            raise _not_writable(output_dir, exc) from exc
        notes.append(f"{file_name} was missing; published it again")
    return notes


def _not_writable(folder: Path, exc: OSError) -> PublishError:
    return PublishError(
        f"cannot write the outputs into {folder}: {exc.strerror or exc}",
        hint="make the folder writable (or free some space), then {resume}; the finished work is kept",
        details={"folder": str(folder), "errno": exc.errno},
    )
