"""Typed contracts of the generic run runtime: what is persisted in a work_dir and what commands return.

Invariants:
- Every persisted model carries ``schema_version``; the JSON Schemas shipped in ``schemas/`` are generated
  from these models (``python -m tools.gen_schemas``) and a test keeps them in sync.
- Paths inside persisted models are work_dir-relative POSIX strings.
- Nothing here knows about any domain: a pipeline's meaning lives in ``TaskSpec.params`` (its intent
  model), in artifacts, in ``Manifest.domain``, and in the states and actions its spec declares. States
  and action names are therefore plain strings here; the runtime's own are ``RunState`` and
  ``RuntimeAction``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunState(StrEnum):
    """The lifecycle states every pipeline has. A pipeline may add its own in-progress states (activity
    names such as ``downloading``) that its phases enter when they start; ``Manifest.state`` holds one
    of these or one of the pipeline's."""

    CREATED = "created"
    PROCESSING = "processing"  # work is under way (pipelines may name the activity more precisely)
    READY = "ready"  # every phase up to the quality gate is done and the gate passed: finalize next
    AWAITING_DECISION = "awaiting_decision"  # the caller must choose (e.g. a degraded or failed gate)
    AWAITING_INPUT = "awaiting_input"  # a phase waits for input only the caller can give (its request is shown)
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FAILED = "failed"
    COMPLETED = "completed"
    COMPLETED_DEGRADED = "completed_degraded"


TERMINAL_STATES: frozenset[str] = frozenset({RunState.COMPLETED, RunState.COMPLETED_DEGRADED, RunState.CANCELLED})
FINISHED_STATES: frozenset[str] = frozenset({RunState.COMPLETED, RunState.COMPLETED_DEGRADED})


class RuntimeAction(StrEnum):
    """The runtime's own actions. A pipeline adds domain actions through its action table
    (``kernel.task_runtime.actions``); every action name the policy can offer has an executor."""

    RUN_PHASE = "run_phase"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    ACCEPT_DEGRADED = "accept_degraded"
    FINALIZE = "finalize"


class TaskSpec(Contract):
    """``.runtime_task.json``: the run's intent and stable identity. Written once, by create-run."""

    schema_file: ClassVar[str] = "runtime_task"

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


# "waiting": the phase stopped because it needs input from the caller (it runs again once given).
PhaseStatus = Literal["running", "succeeded", "failed", "interrupted", "invalidated", "waiting"]


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

    schema_file: ClassVar[str] = "manifest"

    schema_version: int = SCHEMA_VERSION
    run_id: str
    state: str = Field(pattern=r"^[a-z][a-z_]*$")  # a RunState or a state the pipeline declares
    state_before_pause: str | None = None
    revision: int = 0
    writer_generation: int = 0
    phases: dict[str, PhaseRecord] = Field(default_factory=dict)
    artifacts: dict[str, ArtifactRef] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)  # published file names, relative to output_dir
    output_fingerprints: dict[str, str] = Field(default_factory=dict)  # published file name -> what was written
    failure: dict[str, Any] | None = None
    degraded_accepted: bool = False
    domain: dict[str, Any] = Field(default_factory=dict)  # small pipeline-owned facts; the runtime never reads them
    updated_at: str | None = None


class LeaseRecord(Contract):
    """``.runtime_owner.json``: who may mutate the run."""

    schema_file: ClassVar[str] = "runtime_owner"

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

    schema_file: ClassVar[str] = "runtime_control"

    schema_version: int = SCHEMA_VERSION
    signal: Literal["pause", "cancel"]
    reason: str | None = None
    requested_at: str


class LifecycleTransition(Contract):
    from_state: str
    to_state: str
    reason: str
    at: str


class WorkerStatus(Contract):
    running: bool = False
    action: str | None = None
    phase: str | None = None
    progress: float | None = None  # 0..1 within the current phase
    message: str | None = None


class Failure(Contract):
    """Why the run is failed: the failed phase and its cause's code. ``permanent`` means retrying the
    same step cannot succeed (the input itself is unusable); the policy then offers no retry."""

    phase: str | None = None
    code: str
    message: str = ""
    permanent: bool = False


class Observation(Contract):
    """What the policy sees: a pure snapshot of persisted state plus live facts (lease, worker, control)."""

    run_id: str
    state: str
    next_phase: str | None
    due_phases: list[str]
    failure: Failure | None
    pause_requested: bool
    cancel_requested: bool
    lease_live: bool
    lease_owned_here: bool
    worker: WorkerStatus
    gate_phase_done: bool  # every phase up to and including the quality gate has succeeded and is current
    quality_status: Literal["pass", "degraded", "fail"] | None
    degraded_accepted: bool
    domain: dict[str, Any] = Field(default_factory=dict)  # the pipeline's own facts (``observe_domain``)


NextStepKind = Literal["act", "wait", "choose", "busy", "done"]


class NextStep(Contract):
    """The one answer to "what happens next", derived by the policy. Front ends only render it.

    - ``act``: advance-run without an action runs ``action`` (the policy takes it by itself).
    - ``wait``: work is in progress in this process; advance-run without an action follows it.
    - ``busy``: another process drives the run; only ``choices`` (pause, cancel) can be sent meanwhile.
    - ``choose``: nothing runs by itself; the caller must pick one of ``choices`` (``must_choose``).
    - ``done``: the run is over; nothing can change it.
    ``choices`` are always a subset of the allowed actions.
    """

    kind: NextStepKind
    action: str | None = None
    must_choose: bool = False
    choices: list[str] = Field(default_factory=list)
    reason: str


class PolicyEvaluation(Contract):
    allowed_actions: list[str]
    next_step: NextStep
    reasons: dict[str, str] = Field(default_factory=dict)

    @property
    def recommended(self) -> str | None:
        return self.next_step.action if self.next_step.kind == "act" else None


class DecisionRecord(Contract):
    requested: str | None
    chosen: str
    source: Literal["requested", "policy"]
    reason: str
    allowed_actions: list[str]


class ActionResult(Contract):
    action: str | None  # None for a noop (nothing was run)
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
    counts: dict[str, int] = Field(default_factory=dict)  # the pipeline's work-item counts (e.g. by status)
    # The share of the run's expected work done, 0..1: finished phases plus the running one's progress,
    # each weighted by the time the pipeline expects it to take (``PipelineSpec.phase_weights``).
    fraction: float = 0.0


class CommandEnvelope(Contract):
    """The result shape of every runtime command (MCP tools, CLI ``--json``, scripts)."""

    command: str
    run_id: str
    work_dir: str
    state: str
    allowed_actions: list[str]
    next_step: NextStep
    ok: bool = True
    decision: DecisionRecord | None = None
    result: ActionResult | None = None
    progress: Progress | None = None
    phases: list[PhaseRow] | None = None
    artifacts: dict[str, str] | None = None
    outputs: dict[str, str] | None = None
    # What the pipeline waits for from the caller before it can go on (e.g. a piece of work the caller
    # does itself), exactly as the pipeline describes it; None when it waits for nothing.
    awaiting_input: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
