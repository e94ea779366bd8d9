"""One runtime, several pipelines: a new run goes to the pipeline the selector names, and every later command
on it uses that pipeline (its phases, states and details), whatever the primary is."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.drive import drive
from kernel.task_runtime.errors import CorruptStateError
from kernel.task_runtime.pipelines import PipelineSet
from tests.task_runtime.toy_pipeline import ToyPipeline


class OtherToy(ToyPipeline):
    name = "other-toy"

    @property
    def states(self) -> tuple[str, ...]:
        return ("counting", "tallying")


def test_each_run_is_served_by_the_pipeline_its_task_names(tmp_path: Path) -> None:
    toy, other = ToyPipeline(), OtherToy()
    for pipeline in (toy, other):
        pipeline.output_dir = tmp_path / "out"
    pipelines = PipelineSet(toy, [other], select=lambda raw: "other-toy" if raw["n"] > 2 else "toy")
    api = RuntimeApi(pipelines, {"start": 1, "factor": 2, "limit": 1000}, runs_root=tmp_path / "runs",
                     allowed_roots=[tmp_path.resolve()])
    small, big = api.create_run({"n": 2}), api.create_run({"n": 3})
    assert [api.pipeline_of(api.resolve(r.run_id).read_task()).name for r in (small, big)] == ["toy", "other-toy"]
    assert drive(api, big.run_id).state == "completed"
    assert "numbers" in api.inspect_run(big.run_id, detail="numbers").data
    assert {run["pipeline"] for run in api.list_runs()} == {"toy", "other-toy"}
    assert "tallying" in api.states


def test_a_task_naming_an_unknown_pipeline_is_corrupt_state() -> None:
    with pytest.raises(CorruptStateError):
        PipelineSet(ToyPipeline()).named("gone")
