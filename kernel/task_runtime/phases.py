"""The phase contract and the runner that applies the six re-run rules.

A phase declares ``name``, ``version``, ``requires(params)`` / ``optional_inputs(params)`` (artifact keys),
``provides(params)``, ``config(params, settings)`` (its effective config only) and
``run(ctx, inputs) -> PhaseResult``. It never opens another phase's files by name: inputs arrive as
``ArtifactRef``s from the manifest's registry, and outputs are returned for the runner to publish.

A phase re-runs if and only if (checked in this order; the first that holds is the recorded reason):
    1. there is no record; 2. its status is not ``succeeded``; 3. its version changed;
    4. its inputs fingerprint changed; 5. its config fingerprint changed;
    6. an output artifact is missing or no longer matches its fingerprint.
Otherwise it is skipped and the skip reason is recorded. Input fingerprints are computed from the
registry before the phase runs. Running a phase invalidates every phase after it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from .canonical import fingerprint_file, fingerprint_inputs, fingerprint_value
from .clock import Clock
from .contracts import ArtifactRef, Manifest, PhaseRecord, RunState
from .errors import InputRequired, PhaseFailedError, StopRequested, YTTError
from .faults import crash_point
from .lease import Lease
from .schemas import read_model
from .store import atomic_write_json, atomic_write_text
from .telemetry import Telemetry
from .workdir import RunDir

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class PhaseOutput:
    """One artifact a phase returns. ``file`` outputs must already be written inside ``ctx.staging_dir``."""

    kind: Literal["json", "text", "file"]
    filename: str
    value: Any = None
    source_file: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, filename: str, **meta: Any) -> PhaseOutput:
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        return cls(kind="json", filename=filename, value=value, meta=meta)

    @classmethod
    def text(cls, text: str, filename: str, **meta: Any) -> PhaseOutput:
        return cls(kind="text", filename=filename, value=text, meta=meta)

    @classmethod
    def file(cls, path: Path, filename: str | None = None, **meta: Any) -> PhaseOutput:
        return cls(kind="file", filename=filename or path.name, source_file=path, meta=meta)


@dataclass
class PhaseResult:
    outputs: dict[str, PhaseOutput]
    summary: dict[str, Any] = field(default_factory=dict)
    domain_updates: dict[str, Any] = field(default_factory=dict)  # merged into Manifest.domain


@dataclass
class PhaseContext:
    """What a running phase may use. Long phases call ``checkpoint()`` at safe points."""

    run_id: str
    run_dir: RunDir
    params: Any
    settings: Any
    scratch_dir: Path
    staging_dir: Path
    telemetry: Telemetry
    clock: Clock
    lease: Lease
    domain: dict[str, Any]
    stop_signal: Callable[[], str | None]
    report_progress: Callable[[float | None, str | None], None]

    def should_stop(self) -> bool:
        return self.stop_signal() is not None

    def checkpoint(self) -> None:
        """A safe point: raise ``StopRequested`` if a pause or cancel was requested; verify the lease."""
        signal = self.stop_signal()
        if signal is not None:
            raise StopRequested(f"{signal} requested; stopping at a safe point", details={"signal": signal})
        self.lease.check()

    def path_of(self, ref: ArtifactRef) -> Path:
        return self.run_dir.path / ref.path

    def load_model(self, ref: ArtifactRef, model: type[M]) -> M:
        return read_model(self.path_of(ref), model)

    def emit(self, event: str, **fields: Any) -> None:
        self.telemetry.emit(event, **fields)


class Phase:
    """Base class for phases; subclasses set ``name``/``version`` and implement ``run``.

    ``state_on_start`` is the run state while the phase runs (one of the pipeline's declared states);
    without one the run is ``processing``.
    """

    name: str = ""
    version: str = "1"
    state_on_start: str | None = None

    def requires(self, params: Any) -> Sequence[str]:
        return ()

    def optional_inputs(self, params: Any) -> Sequence[str]:
        return ()

    def provides(self, params: Any) -> Sequence[str]:
        return ()

    def config(self, params: Any, settings: Any) -> dict[str, Any]:
        return {}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        raise NotImplementedError


@dataclass(frozen=True)
class RunDecision:
    run: bool
    reason: str
    inputs_fingerprint: str | None
    config_fingerprint: str
    missing_inputs: tuple[str, ...] = ()


def gather_inputs(phase: Phase, manifest: Manifest, params: Any) -> tuple[dict[str, ArtifactRef], list[str]]:
    inputs: dict[str, ArtifactRef] = {}
    missing: list[str] = []
    for key in phase.requires(params):
        ref = manifest.artifacts.get(key)
        if ref is None:
            missing.append(key)
        else:
            inputs[key] = ref
    for key in phase.optional_inputs(params):
        if key in manifest.artifacts:
            inputs[key] = manifest.artifacts[key]
    return inputs, missing


def output_problem(run_dir: RunDir, ref: ArtifactRef | None, key: str, *, deep: bool) -> str | None:
    if ref is None:
        return f"output {key} is not registered"
    path = run_dir.path / ref.path
    if not path.is_file():
        return f"output {key} ({ref.path}) is missing"
    if path.stat().st_size != ref.size_bytes:
        return f"output {key} ({ref.path}) changed size"
    if deep and fingerprint_file(path) != ref.fingerprint:
        return f"output {key} ({ref.path}) no longer matches its fingerprint"
    return None


def decide_phase(
    phase: Phase, manifest: Manifest, run_dir: RunDir, params: Any, settings: Any, *, deep: bool
) -> RunDecision:
    """Apply the six re-run rules. ``deep`` re-hashes outputs (the runner); shallow checks size (inspect)."""
    inputs, missing = gather_inputs(phase, manifest, params)
    inputs_fp = None if missing else fingerprint_inputs({k: r.fingerprint for k, r in inputs.items()})
    config_fp = fingerprint_value(phase.config(params, settings))
    record = manifest.phases.get(phase.name)

    def run(reason: str) -> RunDecision:
        return RunDecision(True, reason, inputs_fp, config_fp, tuple(missing))

    if record is None:
        return run("no record: never ran")
    if record.status != "succeeded":
        return run(f"last status is {record.status}")
    if record.version != phase.version:
        return run(f"version changed {record.version} -> {phase.version}")
    if inputs_fp != record.inputs_fingerprint:
        return run("inputs fingerprint changed")
    if config_fp != record.config_fingerprint:
        return run("config fingerprint changed")
    for key in record.outputs:
        problem = output_problem(run_dir, manifest.artifacts.get(key), key, deep=deep)
        if problem:
            return run(problem)
    return RunDecision(
        False, "inputs, config, version and outputs unchanged since the last success", inputs_fp, config_fp
    )


class PhaseRunner:
    """Runs one phase under the lease: decide, invalidate downstream, run, publish, record."""

    def __init__(
        self,
        run_dir: RunDir,
        lease: Lease,
        phases: Sequence[Phase],
        params: Any,
        settings: Any,
        telemetry: Telemetry,
        clock: Clock,
    ) -> None:
        self.run_dir = run_dir
        self.lease = lease
        self.phases = list(phases)
        self.params = params
        self.settings = settings
        self.telemetry = telemetry
        self.clock = clock

    def _downstream(self, phase: Phase) -> list[Phase]:
        index = [p.name for p in self.phases].index(phase.name)
        return self.phases[index + 1 :]

    def execute(
        self,
        phase: Phase,
        manifest: Manifest,
        *,
        stop_signal: Callable[[], str | None],
        report_progress: Callable[[float | None, str | None], None],
        on_start: Callable[[], None] = lambda: None,
    ) -> tuple[Manifest, bool]:
        """Run or skip ``phase``. Returns the committed manifest and whether it ran. ``on_start`` is
        called once the phase is known to run (never for a skipped one).

        Raises:
            StopRequested: a pause/cancel was honoured inside the phase (record: interrupted).
            InputRequired: the phase waits for the caller's input (record: waiting; run: awaiting_input).
            PhaseFailedError: the phase raised (record: failed, run state: failed).
            LeaseLostError: another process took the run over; nothing more is written.
        """
        decision = decide_phase(phase, manifest, self.run_dir, self.params, self.settings, deep=True)
        record = manifest.phases.get(phase.name)
        if not decision.run:
            assert record is not None
            skipped = record.model_copy(update={"skips": record.skips + 1, "last_skip_reason": decision.reason})
            manifest = self.run_dir.commit(_with_record(manifest, skipped), self.lease)
            self.telemetry.emit("phase_skipped", phase=phase.name, reason=decision.reason)
            return manifest, False
        if decision.missing_inputs:
            raise PhaseFailedError(
                f"phase {phase.name} cannot run: inputs {', '.join(decision.missing_inputs)} are missing",
                hint="run the earlier phases first ({action:run_phase})",
                details={"phase": phase.name, "missing": list(decision.missing_inputs)},
            )
        inputs, _ = gather_inputs(phase, manifest, self.params)
        phases = dict(manifest.phases)
        for later in self._downstream(phase):
            if later.name in phases and phases[later.name].status == "succeeded":
                phases[later.name] = phases[later.name].model_copy(update={"status": "invalidated"})
        started = PhaseRecord(
            name=phase.name,
            version=phase.version,
            status="running",
            outputs=record.outputs if record else [],
            runs=(record.runs if record else 0) + 1,
            skips=record.skips if record else 0,
            run_reason=decision.reason,
            started_at=self.clock.now().isoformat(),
        )
        phases[phase.name] = started
        manifest = self.run_dir.commit(manifest.model_copy(update={"phases": phases, "failure": None}), self.lease)
        manifest, _ = self.run_dir.transition(
            manifest, phase.state_on_start or RunState.PROCESSING, f"phase {phase.name} started", self.lease
        )
        self.telemetry.emit("phase_started", phase=phase.name, reason=decision.reason)
        on_start()
        crash_point(f"phase:{phase.name}:started")

        staging = self.run_dir.path / "staging" / phase.name
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        scratch = self.run_dir.scratch_dir(phase.name)
        scratch.mkdir(parents=True, exist_ok=True)
        ctx = PhaseContext(
            run_id=manifest.run_id,
            run_dir=self.run_dir,
            params=self.params,
            settings=self.settings,
            scratch_dir=scratch,
            staging_dir=staging,
            telemetry=self.telemetry,
            clock=self.clock,
            lease=self.lease,
            domain=dict(manifest.domain),
            stop_signal=stop_signal,
            report_progress=report_progress,
        )
        try:
            result = phase.run(ctx, inputs)
        except StopRequested:
            interrupted = started.model_copy(
                update={"status": "interrupted", "finished_at": self.clock.now().isoformat()}
            )
            manifest = self.run_dir.commit(_with_record(manifest, interrupted), self.lease)
            self.telemetry.emit("phase_interrupted", phase=phase.name)
            raise
        except InputRequired as waiting:
            record = started.model_copy(update={"status": "waiting", "finished_at": self.clock.now().isoformat(),
                                                "summary": waiting.details})
            manifest = self.run_dir.commit(_with_record(manifest, record), self.lease)
            self.telemetry.emit("phase_waiting", phase=phase.name, **waiting.details)
            self.run_dir.transition(manifest, RunState.AWAITING_INPUT, f"phase {phase.name} waits for input",
                                    self.lease)
            raise
        except Exception as exc:  # a phase failure must be recorded whatever it is
            error = exc.to_dict() if isinstance(exc, YTTError) else {"code": "internal_error", "message": repr(exc)}
            failed = started.model_copy(
                update={"status": "failed", "error": error, "finished_at": self.clock.now().isoformat()}
            )
            manifest = self.run_dir.commit(
                _with_record(manifest, failed).model_copy(update={"failure": {"phase": phase.name, **error}}),
                self.lease,
            )
            self.telemetry.emit("phase_failed", phase=phase.name, error=error)
            self.run_dir.transition(
                manifest, RunState.FAILED, f"phase {phase.name} failed: {error['code']}", self.lease
            )
            if isinstance(exc, YTTError):
                raise PhaseFailedError(
                    f"phase {phase.name} failed: {exc.message}",
                    hint=exc.hint,
                    details={"phase": phase.name, "cause": error},
                    permanent=exc.permanent,
                ) from exc
            raise PhaseFailedError(
                f"phase {phase.name} failed with an internal error: {exc!r}",
                hint="this is a bug; once it is fixed, retry with {action:run_phase}",
                details={"phase": phase.name, "cause": error},
            ) from exc

        artifacts = dict(manifest.artifacts)
        for key in started.outputs:  # keys this phase provided before but not now (e.g. route changed)
            if key not in result.outputs:
                artifacts.pop(key, None)
        for key, output in result.outputs.items():
            artifacts[key] = self._publish(phase.name, key, output)
        shutil.rmtree(staging, ignore_errors=True)
        crash_point(f"phase:{phase.name}:published")
        succeeded = started.model_copy(
            update={
                "status": "succeeded",
                "inputs_fingerprint": decision.inputs_fingerprint,
                "config_fingerprint": decision.config_fingerprint,
                "outputs": sorted(result.outputs),
                "finished_at": self.clock.now().isoformat(),
                "summary": result.summary,
            }
        )
        update: dict[str, Any] = {
            "artifacts": artifacts,
            "domain": {**manifest.domain, **result.domain_updates},
        }
        manifest = self.run_dir.commit(_with_record(manifest, succeeded).model_copy(update=update), self.lease)
        self.telemetry.emit("phase_succeeded", phase=phase.name, outputs=sorted(result.outputs))
        crash_point(f"phase:{phase.name}:committed")
        return manifest, True

    def _publish(self, phase_name: str, key: str, output: PhaseOutput) -> ArtifactRef:
        target_dir = self.run_dir.artifacts_dir(phase_name)
        target = target_dir / output.filename
        self.lease.check()
        if output.kind == "json":
            atomic_write_json(target, output.value)
        elif output.kind == "text":
            atomic_write_text(target, str(output.value))
        else:
            assert output.source_file is not None
            target_dir.mkdir(parents=True, exist_ok=True)
            os.replace(output.source_file, target)  # staging is inside the work_dir: same filesystem
        return ArtifactRef(
            key=key,
            path=target.relative_to(self.run_dir.path).as_posix(),
            kind=output.kind,
            fingerprint=fingerprint_file(target),
            size_bytes=target.stat().st_size,
            phase=phase_name,
            meta=output.meta,
        )


def _with_record(manifest: Manifest, record: PhaseRecord) -> Manifest:
    return manifest.model_copy(update={"phases": {**manifest.phases, record.name: record}})
