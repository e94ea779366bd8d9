"""Several pipelines behind one runtime: each run is served by the pipeline its ``TaskSpec.pipeline`` names.

A product may declare more than one pipeline over the same runs folder (say, one for a single work item and
one that fans a collection out into many runs of the first). ``PipelineSet`` holds them:

- ``primary`` is the pipeline whose intent front ends advertise first; ``others`` add theirs;
- ``select(raw_params)`` names the pipeline a new run belongs to (default: always the primary);
- ``for_run(task)`` is the pipeline of an existing run; an unknown name is a corrupt task file.

Invariants:
- Pipeline names are unique; every run is read, evaluated and advanced with its own pipeline only.
- ``states`` is the union of every pipeline's states (a manifest may hold any of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .errors import CorruptStateError
from .pipeline_spec import PipelineSpec

Selector = Callable[[Mapping[str, Any]], str]


class PipelineSet:
    def __init__(self, primary: PipelineSpec, others: Sequence[PipelineSpec] = (),
                 select: Selector | None = None) -> None:
        self.primary = primary
        self._by_name: dict[str, PipelineSpec] = {}
        for pipeline in (primary, *others):
            if pipeline.name in self._by_name:
                raise ValueError(f"two pipelines are named {pipeline.name!r}")
            self._by_name[pipeline.name] = pipeline
        self._select = select

    def __iter__(self) -> Iterator[PipelineSpec]:
        return iter(self._by_name.values())

    def names(self) -> list[str]:
        return list(self._by_name)

    def named(self, name: str) -> PipelineSpec:
        """The pipeline called ``name``.

        Raises:
            CorruptStateError: no pipeline has that name (the task file names one this runtime does not serve).
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise CorruptStateError(
                f"the run's task file names pipeline {name!r}, which this runtime does not serve "
                f"(it serves {', '.join(self._by_name)})",
                hint="open the run with the version of the program that created it",
                details={"file": ".runtime_task.json", "pointer": "/pipeline"},
            ) from None

    def for_create(self, raw_params: Mapping[str, Any]) -> PipelineSpec:
        """The pipeline a new run with ``raw_params`` belongs to."""
        return self.named(self._select(raw_params)) if self._select else self.primary

    @property
    def states(self) -> frozenset[str]:
        return frozenset(state for pipeline in self for state in pipeline.states)
