"""Durable writes: atomic replace, torn JSONL tails, validated reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.task_runtime.canonical import canonical_json, fingerprint_inputs, fingerprint_value
from kernel.task_runtime.errors import CorruptStateError
from kernel.task_runtime.store import append_jsonl, atomic_write_json, iter_jsonl, read_json


def test_atomic_write_leaves_only_the_target_file(tmp_path: Path) -> None:
    target = tmp_path / "run" / "state.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": 2})
    assert read_json(target) == {"a": 2}
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_a_torn_last_line_is_repaired_before_the_next_append(tmp_path: Path) -> None:
    log = tmp_path / "telemetry.jsonl"
    append_jsonl(log, {"n": 1})
    with log.open("ab") as handle:
        handle.write(b'{"n": 2, "half')  # a crash in the middle of an append
    assert [r["n"] for r in iter_jsonl(log)] == [1]
    append_jsonl(log, {"n": 3})
    assert [r["n"] for r in iter_jsonl(log)] == [1, 3]
    assert log.read_bytes().count(b"\n") == 2


def test_reading_a_schema_violation_names_the_json_pointer(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    atomic_write_json(path, {"items": [{"n": 1}, {"n": "two"}]})
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": {
        "type": "object", "properties": {"n": {"type": "integer"}}}}}}
    with pytest.raises(CorruptStateError) as corrupt:
        read_json(path, schema)
    assert corrupt.value.details["pointer"] == "/items/1/n"
    assert corrupt.value.details["file"] == "x.json"


def test_canonical_json_and_fingerprints_follow_the_documented_contract() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    assert fingerprint_value({"a": 1}).startswith("sha256:")
    assert fingerprint_inputs({"y": "sha256:2", "x": "sha256:1"}) == fingerprint_value([["x", "sha256:1"], ["y", "sha256:2"]])


def test_a_file_validated_once_is_still_checked_again_after_any_edit(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    path = tmp_path / "x.json"
    atomic_write_json(path, {"n": 1})
    assert read_json(path, schema) == {"n": 1}
    assert read_json(path, schema) == {"n": 1}  # the same text again: known valid
    path.write_text('{"n": "1"}', encoding="utf-8")  # a hand edit of one value
    with pytest.raises(CorruptStateError) as corrupt:
        read_json(path, schema)
    assert corrupt.value.details["pointer"] == "/n"
    other = {"type": "object", "properties": {"n": {"type": "string"}}}
    assert read_json(path, other) == {"n": "1"}  # validity is per schema
    atomic_write_json(path, {"n": 1})
    with pytest.raises(CorruptStateError):
        read_json(path, other)
