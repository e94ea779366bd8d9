"""Typed contracts of the generic run runtime: what is persisted in a work_dir and what commands return.

Invariants:
- Every persisted model carries ``schema_version``; the JSON Schemas shipped in ``schemas/`` are generated
  from these models (``python -m tools.gen_schemas``) and a test keeps them in sync.
- Paths inside persisted models are work_dir-relative POSIX strings.
- Nothing here knows about videos, transcripts or LLMs: domain meaning lives in ``TaskSpec.params``
  (validated by the pipeline) and in artifacts.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LifecycleState(StrEnum):
    CREATED = "created"
    PREFLIGHTED = "preflighted"
    SOURCED = "sourced"
    NORMALIZED = "normalized"
    PLANNED = "planned"
    PROCESSING = "processing"
    VERIFYING = "verifying"
    ASSEMBLED = "assembled"
    COMPLETED = "completed"
    COMPLETED_DEGRADED = "completed_degraded"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FAILED = "failed"


TERMINAL_STATES = frozenset({LifecycleState.COMPLETED, LifecycleState.COMPLETED_DEGRADED, LifecycleState.CANCELLED})


class Action(StrEnum):
    """Every action the policy can offer; each one has an executor in the runtime or the pipeline."""

    RUN_PHASE = "run_phase"
    PROCESS_CHUNKS = "process_chunks"
    RETRY_CHUNK = "retry_chunk"
    REPAIR_CHUNK = "repair_chunk"
    REPLAN_REMAINING = "replan_remaining"
    REROUTE_TO_ASR = "reroute_to_asr"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    ACCEPT_DEGRADED = "accept_degraded"
    FINALIZE = "finalize"


class TaskSpec(Contract):
    """``.runtime_task.json``: the run's intent and stable identity. Written once, by create-run."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: str
    pipeline: str
    params: dict[str, Any]


class ArtifactRef(Contract):
    key: str
    path: str  # work_dir-relative
    kind: Literal["json", "text", "file"]
    fingerprint: str
    size_bytes: int = Field(ge=0)
    phase: str
    meta: dict[str, Any] = Field(default_factory=dict)


PhaseStatus = Literal["running", "succeeded", "failed", "interrupted", "invalidated"]


class PhaseRecord(Contract):
    name: str
    version: str
    status: PhaseStatus
    inputs_fingerprint: str | None = None
    config_fingerprint: str | None = None
    outputs: list[str] = Field(default_factory=list)
    runs: int = 0
    skips: int = 0
    last_skip_reason: str | None = None
    run_reason: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: dict[str, Any] | None = None
    summary: dict[str, Any] = Field(default_factory=dict)


class Manifest(Contract):
    """``manifest.json``: execution truth. Only the lease holder writes it, checking its generation."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    state: LifecycleState
    state_before_pause: LifecycleState | None = None
    revision: int = 0
    writer_generation: int = 0
    phases: dict[str, PhaseRecord] = Field(default_factory=dict)
    artifacts: dict[str, ArtifactRef] = Field(default_factory=dict)
    current_plan_id: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict)  # published file names, relative to output_dir
    failure: dict[str, Any] | None = None
    degraded_accepted: bool = False
    domain: dict[str, Any] = Field(default_factory=dict)  # small pipeline-owned facts (e.g. rejected tracks)
    updated_at: str | None = None


class LeaseRecord(Contract):
    """``.runtime_owner.json``: who may mutate the run."""

    schema_version: int = SCHEMA_VERSION
    owner_id: str
    pid: int
    host: str
    process_start: float | None  # process start time (clock ticks since boot) to detect pid reuse
    acquired_at: str
    heartbeat_at: str
    heartbeat_monotonic_hint: float = 0.0
    generation: int = Field(ge=1)
    ttl_seconds: float = Field(gt=0)
    command: str = ""


class ControlRequest(Contract):
    """``.runtime_pause.json`` / ``.runtime_cancel.json``: an out-of-band request, honoured at safe points."""

    schema_version: int = SCHEMA_VERSION
    signal: Literal["pause", "cancel"]
    reason: str | None = None
    requested_at: str


class LifecycleTransition(Contract):
    from_state: LifecycleState
    to_state: LifecycleState
    reason: str
    at: str


class WorkerStatus(Contract):
    running: bool = False
    action: str | None = None
    phase: str | None = None
    progress: float | None = None  # 0..1 within the current phase
    message: str | None = None


class Observation(Contract):
    """What the policy sees: a pure snapshot of persisted state plus live facts (lease, worker, control)."""

    run_id: str
    state: LifecycleState
    next_phase: str | None
    due_phases: list[str]
    failed_phase: str | None
    pause_requested: bool
    cancel_requested: bool
    lease_live: bool
    lease_owned_here: bool
    worker: WorkerStatus
    gate_phase_done: bool  # every phase before the finalize gate has succeeded and is current
    quality_status: Literal["pass", "degraded", "fail"] | None
    degraded_accepted: bool
    domain: dict[str, Any] = Field(default_factory=dict)


class PolicyEvaluation(Contract):
    allowed_actions: list[Action]
    recommended: Action | None
    reasons: dict[str, str] = Field(default_factory=dict)


class DecisionRecord(Contract):
    requested: str | None
    chosen: Action
    source: Literal["requested", "policy"]
    reason: str
    allowed_actions: list[Action]


class ActionResult(Contract):
    action: Action
    status: Literal["completed", "started", "running", "noop", "failed", "stopped"]
    detail: str
    transition: LifecycleTransition | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class PhaseRow(Contract):
    name: str
    status: str
    runs: int
    skips: int
    note: str | None = None


class Progress(Contract):
    phases_done: int
    phases_total: int
    current_phase: str | None
    phase_progress: float | None
    message: str | None = None
    chunks: dict[str, int] = Field(default_factory=dict)


class CommandEnvelope(Contract):
    """The result shape of every runtime command (MCP tools, CLI ``--json``, scripts)."""

    command: str
    run_id: str
    work_dir: str
    state: LifecycleState
    allowed_actions: list[Action]
    ok: bool = True
    decision: DecisionRecord | None = None
    result: ActionResult | None = None
    progress: Progress | None = None
    phases: list[PhaseRow] | None = None
    artifacts: dict[str, str] | None = None
    outputs: dict[str, str] | None = None
    warnings: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
