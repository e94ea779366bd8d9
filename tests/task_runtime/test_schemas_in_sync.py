"""The shipped JSON Schemas match the models (``python -m tools.gen_schemas --check``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernel.task_runtime.errors import YTTError
from kernel.task_runtime.schemas import registered_schemas
from tools import gen_schemas


def test_the_shipped_schemas_match_the_models(capsys: pytest.CaptureFixture[str]) -> None:
    code = gen_schemas.main(["--check"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert report["checked"] == sorted(f"{name}.schema.json" for name in registered_schemas())


def test_a_missing_changed_or_stale_schema_file_fails_the_check(tmp_path: Path) -> None:
    gen_schemas.sync_schemas(tmp_path, check=False)
    gen_schemas.sync_schemas(tmp_path, check=True)
    (tmp_path / "manifest.schema.json").write_text("{}\n")
    (tmp_path / "retired.schema.json").write_text("{}\n")
    (tmp_path / "runtime_task.schema.json").unlink()
    with pytest.raises(YTTError) as caught:
        gen_schemas.sync_schemas(tmp_path, check=True)
    assert caught.value.code == "schemas_out_of_date"
    assert caught.value.details == {
        "changed": ["manifest.schema.json", "runtime_task.schema.json"],
        "stale": ["retired.schema.json"],
    }
    written = gen_schemas.sync_schemas(tmp_path, check=False)
    assert written["removed"] == ["retired.schema.json"]
    gen_schemas.sync_schemas(tmp_path, check=True)


def test_schema_files_are_canonical_json_with_sorted_keys() -> None:
    text = gen_schemas.render_schema({"b": 1, "a": {"d": 2, "c": 3}})
    assert text == '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}\n'
