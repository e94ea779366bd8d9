"""What a pipeline declares to the generic runtime (the runtime never imports a pipeline or domain package).

A pipeline spec is the one place its vocabulary is declared:
- its **intent model** (``intent_model``, a pydantic model): what a run is asked to do; front ends build
  their create options from it;
- its **phases** and which of them is the quality gate;
- its **states**: in-progress states its phases enter (besides the runtime's ``RunState``);
- its **action table** (``actions``): domain actions with their executors and offer rules;
- its **inspect details** (extra read-only pages besides summary, phases and telemetry);
- its **persisted models** (work_dir files with shipped JSON Schemas) and how its quality verdict is read.

A product's pipeline package implements this; the runtime's tests implement a small one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from .actions import ActionTable
from .contracts import Manifest
from .lease import Lease
from .phases import Phase
from .workdir import RunDir

QualityStatus = Literal["pass", "degraded", "fail"]


@dataclass(frozen=True)
class QualityVerdict:
    """The gate's verdict as the runtime needs it: a status, and a small summary for callers to show."""

    status: QualityStatus
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    """What publishing wrote: output name -> file name, file name -> fingerprint, and notes for the caller."""

    files: dict[str, str]
    fingerprints: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class DetailPage(Protocol):
    """An inspect detail page: read-only, paginated by an integer ``cursor``; returns JSON-ready data
    including ``next_cursor`` (None on the last page). ``name`` selects one of several things the page
    can show (None: its default); a page that shows one thing only refuses a name (InvalidInputError)."""

    def __call__(
        self, run_dir: RunDir, manifest: Manifest, *, cursor: int, limit: int, name: str | None = None
    ) -> dict[str, Any]: ...


class PipelineSpec(Protocol):
    name: str

    @property
    def phases(self) -> Sequence[Phase]: ...

    @property
    def gate_phase(self) -> str:
        """The last phase ``run_phase`` drives; phases after it run at finalize."""
        ...

    @property
    def states(self) -> Sequence[str]:
        """The pipeline's own in-progress states (its phases' ``state_on_start``/``state_on_success``)."""
        ...

    @property
    def actions(self) -> ActionTable: ...

    @property
    def intent_model(self) -> type[BaseModel]: ...

    @property
    def details(self) -> Mapping[str, DetailPage]: ...

    @property
    def persisted_models(self) -> Sequence[type[BaseModel]]:
        """The pipeline's work_dir file models (each declares ``schema_file``; see ``schemas``)."""
        ...

    def parse_params(self, raw: Mapping[str, Any], settings: Any) -> BaseModel:
        """Validate a caller's intent (raises InvalidInputError naming the bad field)."""
        ...

    def load_params(self, raw: Mapping[str, Any]) -> BaseModel:
        """Rebuild params already validated at create time."""
        ...

    def quality(self, run_dir: RunDir, manifest: Manifest) -> QualityVerdict | None: ...

    def observe_domain(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any]:
        """Small facts for the policy's offer rules and the summary view (cheap: read per command)."""
        ...

    def notices(self, manifest: Manifest) -> list[str]:
        """What callers should be told about this run with every result (e.g. input that was repaired),
        read from the manifest only."""
        ...

    def progress_counts(self, facts: Mapping[str, Any]) -> dict[str, int]:
        """Work-item counts to show with progress (e.g. items by status), from ``observe_domain``'s facts."""
        ...

    def phase_weights(self, params: Any, settings: Any, manifest: Manifest) -> Mapping[str, float]:
        """Each phase's expected share of the run's time, on any one scale (a phase left out weighs 1),
        from the params and what the manifest knows so far. Read on every progress report: the manifest
        only, no work_dir files. ``Progress.fraction`` is built from it."""
        ...

    def awaiting_input(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any] | None:
        """What the run waits for from the caller (a task the caller does itself), or None. Shown with
        every command result while the run waits."""
        ...

    def recover(self, run_dir: RunDir, manifest: Manifest, lease: Lease, settings: Any) -> dict[str, Any]:
        """Repair domain state after a crash (e.g. work items left running); returns a summary."""
        ...

    def summarize_telemetry(self, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """The pipeline's own counts over the run's events (added to the runtime's summary)."""
        ...

    def publish(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> Published:
        """Copy the assembled outputs to their destination, never replacing a file the run did not write
        (``manifest.output_fingerprints`` says what it wrote before)."""
        ...

    def restore_outputs(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> list[str]:
        """For a finished run: publish again what is missing; returns notes (restored, edited, lost)."""
        ...

    def output_paths(self, params: Any, settings: Any, manifest: Manifest) -> dict[str, str]:
        """Where the published outputs are: output name -> full path (shown to callers, never persisted)."""
        ...


def gate_phases(pipeline: PipelineSpec) -> list[Phase]:
    """The phases ``run_phase`` drives: up to and including the quality gate."""
    names = [p.name for p in pipeline.phases]
    return list(pipeline.phases)[: names.index(pipeline.gate_phase) + 1]


def final_phases(pipeline: PipelineSpec) -> list[Phase]:
    """The phases after the quality gate, run at finalize."""
    names = [p.name for p in pipeline.phases]
    return list(pipeline.phases)[names.index(pipeline.gate_phase) + 1 :]
