"""The shipped JSON Schemas match the models (``python -m tools.gen_schemas --check``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernel.task_runtime.errors import YTTError
from kernel.task_runtime.schemas import schema_path_of
from tools import gen_schemas


def test_the_shipped_schemas_match_the_models(capsys: pytest.CaptureFixture[str]) -> None:
    code = gen_schemas.main(["--check"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    models = gen_schemas.persisted_models()
    assert len(report["checked"]) == len(models) >= 14
    for model in models:  # each schema ships beside the package that defines its model
        path = schema_path_of(model)
        assert path is not None and path.is_file(), model.__name__


def test_a_missing_changed_or_stale_schema_file_fails_the_check(tmp_path: Path) -> None:
    def sync(check: bool) -> dict[str, object]:
        return gen_schemas.sync_schemas(check=check, schema_dir=tmp_path)

    sync(False)
    sync(True)
    (tmp_path / "manifest.schema.json").write_text("{}\n")
    (tmp_path / "retired.schema.json").write_text("{}\n")
    (tmp_path / "runtime_task.schema.json").unlink()
    with pytest.raises(YTTError) as caught:
        sync(True)
    assert caught.value.code == "schemas_out_of_date"
    assert caught.value.details == {
        "changed": ["manifest.schema.json", "runtime_task.schema.json"],
        "stale": ["retired.schema.json"],
    }
    written = sync(False)
    assert written["removed"] == ["retired.schema.json"]
    sync(True)


def test_schema_files_are_canonical_json_with_sorted_keys() -> None:
    text = gen_schemas.render_schema({"b": 1, "a": {"d": 2, "c": 3}})
    assert text == '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}\n'
