"""Canonical JSON and fingerprints: a documented contract.

Canonical JSON is ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False)`` encoded as UTF-8. Changing this function changes every fingerprint ever recorded,
which re-runs every phase of every existing run: treat it as frozen.

A fingerprint is ``"sha256:" + hexdigest`` of the bytes it covers:
- an artifact file: its raw bytes;
- a config: the canonical JSON of the phase's effective config;
- a phase's inputs: the canonical JSON of ``[[key, artifact_fingerprint], ...]`` sorted by key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ALGORITHM = "sha256"
_READ_BLOCK = 1 << 20


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def fingerprint_bytes(data: bytes) -> str:
    return f"{ALGORITHM}:{hashlib.sha256(data).hexdigest()}"


def fingerprint_value(value: Any) -> str:
    return fingerprint_bytes(canonical_json(value))


def fingerprint_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_READ_BLOCK):
            digest.update(block)
    return f"{ALGORITHM}:{digest.hexdigest()}"


def fingerprint_inputs(artifact_fingerprints: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    pairs = artifact_fingerprints.items() if isinstance(artifact_fingerprints, Mapping) else artifact_fingerprints
    return fingerprint_value(sorted([key, fp] for key, fp in pairs))


def verify_fingerprint(path: Path, expected: str) -> bool:
    """True when the file exists and its bytes still hash to ``expected``."""
    if not expected.startswith(f"{ALGORITHM}:") or not path.is_file():
        return False
    return fingerprint_file(path) == expected
